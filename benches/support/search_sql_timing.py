# Writes timing.sql/explain.sql: the exact Clientele and OTOBO statements of docs/benchmarks.md "Search", for psql.
F=["login","first_name","last_name","customer_id"]
def ours(fields, pat, op="LIKE"):
    parts=[]
    for c in fields:
        cmp = f"LOWER(\"{c}\") LIKE LOWER('{pat}') ESCAPE '\\'" if op=="LIKE" else f"LOWER(\"{c}\") = LOWER('{pat}')"
        parts.append(f"(\"{c}\" IS NOT NULL AND \"{c}\" <> '' AND {cmp})")
    # The first 250 matches in whatever order is cheapest, then only those sorted by login.
    return "SELECT * FROM (SELECT * FROM customer_user WHERE (" + " OR ".join(parts) + ") AND \"valid_id\" IN (1) LIMIT 250) AS \"clientele_hits\" ORDER BY \"login\" COLLATE \"C\" ASC;"
def otobo(table, fields, pat, op="LIKE", paren=True):
    parts=[f"LOWER({c}) LIKE LOWER('{pat}')" if op=="LIKE" else f"LOWER({c}) = LOWER('{pat}')" for c in fields]
    cond=" OR ".join(parts)
    if paren: cond="(("+cond+"))"
    return f"SELECT login, first_name, last_name, email FROM {table} WHERE {cond} AND valid_id IN (1) LIMIT 250;"
cases=[("rare *98765*",F,"%98765%","LIKE",True),("common *ann*",F,"%ann%","LIKE",True),("prefix smi*",F,"smi%","LIKE",True),
("exact email",["email"],"u666666@wonka-1041.example","=",False),("customer-id globex-001*",["customer_id"],"globex-001%","LIKE",False)]
R=7
out=["\\timing on","\\o /dev/null"]
for name,f,p,op,paren in cases:
    for label,q in [("clientele",ours(f,p,op)),("otobo",otobo("otobo_customer_user",f,p,op,paren)),("otobo_idx",otobo("customer_user",f,p,op,paren))]:
        out.append(f"\\echo CASE {name}|{label}")
        out += [q]*R
open("/tmp/timing.sql","w").write("\n".join(out)+"\n")
ex=["\\o"]
for name,f,p,op,paren in cases:
    ex.append(f"\\echo ==== {name} clientele")
    ex.append("EXPLAIN (ANALYZE, COSTS OFF) "+ours(f,p,op))
    ex.append(f"\\echo ==== {name} otobo (OTOBO schema)")
    ex.append("EXPLAIN (ANALYZE, COSTS OFF) "+otobo("otobo_customer_user",f,p,op,paren))
open("/tmp/explain.sql","w").write("\n".join(ex)+"\n")
