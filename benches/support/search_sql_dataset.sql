-- The SQL-generated 1M-user data set behind the "Search" table in docs/benchmarks.md (psql -f).
DROP DATABASE IF EXISTS clientele_bench_sql WITH (FORCE);
CREATE DATABASE clientele_bench_sql ENCODING 'UTF8';
\c clientele_bench_sql
CREATE TABLE customer_user (id serial primary key, login varchar(191) not null, email varchar(150) not null, customer_id varchar(150) not null, pw varchar(128), title varchar(50), first_name varchar(100) not null, last_name varchar(100) not null, valid_id smallint not null);
\timing on
INSERT INTO customer_user (login,email,customer_id,first_name,last_name,valid_id)
SELECT lower(translate(f,'áàâäãåéèêëíìîïıóòôöõøúùûüñńçčłśšżźž','aaaaaaeeeeiiiiiooooooouuuunncclsszzz')) || '.' || lower(translate(replace(replace(l,' ',''),'''',''),'áàâäãåéèêëíìîïıóòôöõøúùûüñńçčłśšżźžÁÉÍÓÚÖØÇ','aaaaaaeeeeiiiiiooooooouuuunncclsszzzaeiouooc')) || i AS login,
 'u' || i || '@' || cid || '.example', cid, f, l, CASE WHEN i % 20 = 0 THEN 2 ELSE 1 END
FROM (SELECT i,
  (ARRAY['Anna','José','Zoë','Jürgen','Renée','Łukasz','Søren','Chloé','Mikael','Ines','François','Björn','Ana','Mateo','Élodie','Hannah','Dmitri','Agnès','Oliver','Lena','Tomáš','Małgorzata','Noémie','Giuseppe','Sofía','Kai','Émile','Greta','Jonas','Annika','Raúl','Marta','Yusuf','Aoife','Henrik','Camille','Paolo','Ingrid','Matthias','Leïla'])[1 + (hashint4(i) & 2147483647) % 40] AS f,
  (ARRAY['Müller','García','Núñez','O''Brien','Smith','Dupont','Schröder','Kowalski','Johansson','Rossi','Fernández','Novák','Østergaard','Lefèvre','Papadopoulos','Nowak','Meyer','Jensen','Martínez','Bianchi','Dubois','Weiß','Kovačević','Ní Bhriain','Hernández','Schmidt','Lindqvist','Moreau','Horváth','Yılmaz','Brown','Wagner','Costa','Gonçalves','Fischer','Andersson','Ferrari','Laurent','Sánchez','Becker','Virtanen','Zieliński','Hoffmann','De Vries','Kuznetsova','Ó Súilleabháin','Popescu','Berg','Çelik','Janssen'])[1 + (hashint4(i+7) & 2147483647) % 50] AS l,
  (ARRAY['acme','globex','initech','umbrella','hooli','stark','wayne','tyrell','cyberdyne','soylent','wonka','gringotts','aperture','vandelay','oscorp','monarch'])[1 + (i/40) % 16] || '-' || lpad(((i/40)/16)::text, 4, '0') AS cid
  FROM generate_series(0, 999999) i) s;
CREATE UNIQUE INDEX customer_user_login ON customer_user (login);
CREATE UNIQUE INDEX customer_user_login_lower ON customer_user (lower(login));
CREATE INDEX customer_user_email_lower ON customer_user (lower(email));
CREATE TABLE otobo_customer_user AS SELECT * FROM customer_user;
CREATE UNIQUE INDEX otobo_customer_user_login ON otobo_customer_user (login);
SET maintenance_work_mem = '512MB';
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX customer_user_login_trgm ON customer_user USING gin (lower(login) gin_trgm_ops);
CREATE INDEX customer_user_first_name_trgm ON customer_user USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX customer_user_last_name_trgm ON customer_user USING gin (lower(last_name) gin_trgm_ops);
CREATE INDEX customer_user_customer_id_trgm ON customer_user USING gin (lower(customer_id) gin_trgm_ops);
CREATE INDEX customer_user_login_lower_prefix ON customer_user (lower(login) text_pattern_ops);
CREATE INDEX customer_user_first_name_lower_prefix ON customer_user (lower(first_name) text_pattern_ops);
CREATE INDEX customer_user_last_name_lower_prefix ON customer_user (lower(last_name) text_pattern_ops);
CREATE INDEX customer_user_customer_id_lower_prefix ON customer_user (lower(customer_id) text_pattern_ops);
CREATE INDEX customer_user_login_c ON customer_user (login COLLATE "C");
ANALYZE customer_user; ANALYZE otobo_customer_user;
