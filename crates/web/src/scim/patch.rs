//! PATCH (RFC 7644 §3.5.2) applied to a resource's SCIM representation, tolerating what real
//! identity providers send: `op` in any case (`Replace`), a replace without `path` whose value
//! is an object of attributes, value-filter paths (`emails[type eq "work"].value`), and
//! extension attributes named by their schema URN.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter;
use super::{ENTERPRISE_SCHEMA, PATCH_SCHEMA};

/// A PATCH body.
#[derive(Deserialize)]
pub(crate) struct PatchRequest {
    #[serde(default)]
    schemas: Vec<String>,
    #[serde(rename = "Operations", alias = "operations")]
    pub(crate) operations: Vec<PatchOp>,
}

/// One operation.
#[derive(Deserialize)]
pub(crate) struct PatchOp {
    pub(crate) op: String,
    #[serde(default)]
    pub(crate) path: Option<String>,
    #[serde(default)]
    pub(crate) value: Option<Value>,
}

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Add,
    Replace,
    Remove,
}

impl PatchRequest {
    /// Refuses a body without the PatchOp schema or without operations.
    pub(crate) fn check(&self) -> Result<(), ScimError> {
        if !self.schemas.iter().any(|s| s == PATCH_SCHEMA) {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("schemas: a PATCH body names {PATCH_SCHEMA}"),
            ));
        }
        if self.operations.is_empty() {
            return Err(ScimError::bad(
                "invalidSyntax",
                "Operations: give at least one",
            ));
        }
        Ok(())
    }
}

impl PatchOp {
    /// `add`, `replace` or `remove`, in any case.
    pub(crate) fn kind(&self) -> Result<Kind, ScimError> {
        match self.op.to_ascii_lowercase().as_str() {
            "add" => Ok(Kind::Add),
            "replace" => Ok(Kind::Replace),
            "remove" => Ok(Kind::Remove),
            other => Err(ScimError::bad(
                "invalidSyntax",
                format!("op: {other:?} is not add, replace or remove"),
            )),
        }
    }
}

/// A parsed path: `[urn:]attr[.sub]`, or `attr[filter][.sub]`.
#[derive(Debug)]
pub(crate) struct Path {
    /// The object the attribute lives in: the resource itself, or an extension's object.
    pub(crate) extension: Option<&'static str>,
    pub(crate) attr: String,
    pub(crate) filter: Option<filter::Filter>,
    pub(crate) sub: Option<String>,
}

/// Parses a path; `400 invalidPath` when it is not one.
pub(crate) fn parse_path(
    path: &str,
    extensions: &[&'static str],
    core: &str,
) -> Result<Path, ScimError> {
    let bad = |why: &str| ScimError::bad("invalidPath", format!("path {path:?}: {why}"));
    let mut rest = path.trim();
    let mut extension = None;
    let lower = rest.to_ascii_lowercase();
    for e in extensions {
        if lower.starts_with(&format!("{}:", e.to_ascii_lowercase())) {
            extension = Some(*e);
            rest = &rest[e.len() + 1..];
            break;
        }
    }
    if extension.is_none() && lower.starts_with(&format!("{}:", core.to_ascii_lowercase())) {
        rest = &rest[core.len() + 1..];
    }
    let (head, filter, sub) = match rest.find('[') {
        Some(open) => {
            let close = rest.rfind(']').ok_or_else(|| bad("'[' is not closed"))?;
            if close < open {
                return Err(bad("']' before '['"));
            }
            let f = filter::parse(&rest[open + 1..close]).map_err(|e| bad(&e.detail))?;
            let after = &rest[close + 1..];
            let sub = match after.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_owned()),
                None if after.is_empty() => None,
                _ => return Err(bad("expected .subAttribute after ']'")),
            };
            (&rest[..open], Some(f), sub)
        }
        None => match rest.split_once('.') {
            Some((a, s)) => (a, None, Some(s.to_owned())),
            None => (rest, None, None),
        },
    };
    if head.is_empty()
        || !head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
    {
        return Err(bad("not an attribute name"));
    }
    Ok(Path {
        extension,
        attr: head.to_owned(),
        filter,
        sub,
    })
}

/// The member `name` of `o`, found ignoring case, created as `Null` when missing.
fn member<'o>(o: &'o mut Map<String, Value>, name: &str) -> &'o mut Value {
    let key = o
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned());
    o.entry(key).or_insert(Value::Null)
}

fn remove_member(o: &mut Map<String, Value>, name: &str) {
    if let Some(key) = o.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() {
        o.remove(&key);
    }
}

/// Merges `value` into `target`: objects member by member (names ignoring case), anything
/// else replaced; `add` appends to a list where `replace` replaces it.
fn merge(target: &mut Value, value: Value, kind: Kind) {
    match (target, value) {
        (Value::Object(t), Value::Object(v)) => {
            for (k, v) in v {
                merge(member(t, &k), v, kind);
            }
        }
        (Value::Array(t), Value::Array(v)) if kind == Kind::Add => {
            for item in v {
                if !t.contains(&item) {
                    t.push(item);
                }
            }
        }
        (t, v) => *t = v,
    }
}

/// Applies the operations to `doc`, a resource's SCIM representation.
pub(crate) fn apply(
    doc: &mut Value,
    ops: &[PatchOp],
    extensions: &[&'static str],
    core: &str,
) -> Result<(), ScimError> {
    let root = doc
        .as_object_mut()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "the resource is not an object"))?;
    for op in ops {
        let kind = op.kind()?;
        let Some(path) = op.path.as_deref().filter(|p| !p.trim().is_empty()) else {
            // No path: the value holds attributes (and extension objects) to set.
            if kind == Kind::Remove {
                return Err(ScimError::bad("noTarget", "remove needs a path"));
            }
            let Some(Value::Object(values)) = op.value.clone() else {
                return Err(ScimError::bad(
                    "invalidValue",
                    "value: without a path, give an object of attributes",
                ));
            };
            for (k, v) in values {
                let exact_extension = extensions.iter().find(|e| k.eq_ignore_ascii_case(e));
                if let Some(e) = exact_extension {
                    merge(member(root, e), v, kind);
                } else if k.contains(['.', '[', ':']) {
                    // Entra writes `name.givenName` and `urn:…:User:attr` keys here.
                    let p = parse_path(&k, extensions, core)?;
                    apply_at(container_of(root, &p)?, &p, kind, Some(v), extensions)?;
                } else {
                    merge(member(root, &k), v, kind);
                }
            }
            continue;
        };
        let p = parse_path(path, extensions, core)?;
        let container = container_of(root, &p)?;
        apply_at(container, &p, kind, op.value.clone(), extensions)?;
    }
    Ok(())
}

/// The object a path's attribute lives in: the resource, or its extension's object (made an
/// object when missing).
fn container_of<'o>(
    root: &'o mut Map<String, Value>,
    p: &Path,
) -> Result<&'o mut Map<String, Value>, ScimError> {
    let Some(e) = p.extension else {
        return Ok(root);
    };
    let ext = member(root, e);
    if !ext.is_object() {
        *ext = Value::Object(Map::new());
    }
    ext.as_object_mut()
        .ok_or_else(|| ScimError::bad("invalidPath", format!("{e} is not an object")))
}

fn apply_at(
    o: &mut Map<String, Value>,
    p: &Path,
    kind: Kind,
    value: Option<Value>,
    extensions: &[&'static str],
) -> Result<(), ScimError> {
    let need_value = || {
        value
            .clone()
            .ok_or_else(|| ScimError::bad("invalidValue", "value: required for add and replace"))
    };
    match (&p.filter, &p.sub) {
        (None, None) => match kind {
            Kind::Remove => remove_member(o, &p.attr),
            _ => {
                let v = need_value()?;
                let target = member(o, &p.attr);
                if kind == Kind::Replace {
                    *target = v;
                } else {
                    merge(target, v, kind);
                }
            }
        },
        (None, Some(sub)) => {
            let target = member(o, &p.attr);
            match target {
                Value::Object(m) => match kind {
                    Kind::Remove => remove_member(m, sub),
                    _ => *member(m, sub) = need_value()?,
                },
                // `emails.value` on a list: every item.
                Value::Array(items) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        match kind {
                            Kind::Remove => remove_member(item, sub),
                            _ => *member(item, sub) = need_value()?,
                        }
                    }
                }
                other => {
                    if kind != Kind::Remove {
                        let mut m = Map::new();
                        m.insert(sub.clone(), need_value()?);
                        *other = Value::Object(m);
                    }
                }
            }
        }
        (Some(f), sub) => {
            let target = member(o, &p.attr);
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            let Value::Array(items) = target else {
                return Ok(());
            };
            let hit = |i: &Value| filter::matches(f, i, extensions);
            match (kind, sub) {
                (Kind::Remove, None) => items.retain(|i| !hit(i)),
                (Kind::Remove, Some(sub)) => {
                    for item in items.iter_mut().filter(|i| hit(i)) {
                        if let Some(m) = item.as_object_mut() {
                            remove_member(m, sub);
                        }
                    }
                }
                (_, sub) => {
                    let v = need_value()?;
                    let mut found = false;
                    for item in items.iter_mut().filter(|i| hit(i)) {
                        found = true;
                        match (sub, item.as_object_mut()) {
                            (Some(sub), Some(m)) => *member(m, sub) = v.clone(),
                            (None, _) => merge(item, v.clone(), Kind::Replace),
                            (Some(_), None) => {}
                        }
                    }
                    if !found {
                        // Nothing matched: a new item with what the filter's `eq`s say.
                        let mut item = Map::new();
                        seed(f, &mut item);
                        match sub {
                            Some(sub) => {
                                item.insert(sub.clone(), v);
                            }
                            None => {
                                if let Value::Object(m) = v {
                                    item.extend(m);
                                }
                            }
                        }
                        items.push(Value::Object(item));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `attr eq value` comparisons of a value filter, as members of a new item.
fn seed(f: &filter::Filter, item: &mut Map<String, Value>) {
    match f {
        filter::Filter::And(a, b) => {
            seed(a, item);
            seed(b, item);
        }
        filter::Filter::Compare {
            attr,
            op: filter::Op::Eq,
            value,
        } => {
            item.insert(attr.clone(), value.clone());
        }
        _ => {}
    }
}

/// The extensions a user patch may name.
pub(crate) const USER_EXTENSIONS: [&str; 2] = [ENTERPRISE_SCHEMA, super::CLIENTELE_SCHEMA];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(v: Value) -> Vec<PatchOp> {
        serde_json::from_value::<PatchRequest>(v)
            .unwrap()
            .operations
    }

    const CORE: &str = super::super::USER_SCHEMA;

    #[test]
    fn entra_style_operations() {
        let mut doc = json!({"userName": "a", "active": true,
            "emails": [{"value": "a@x.org", "type": "work", "primary": true}]});
        let o = ops(json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@x.org"},
            {"op": "Replace", "value": {"active": "False", "name.givenName": "x"}},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "value": "Acme"},
            {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1"},
        ]}));
        apply(&mut doc, &o, &USER_EXTENSIONS, CORE).unwrap();
        assert_eq!(doc["emails"][0]["value"], "b@x.org");
        assert_eq!(doc["active"], "False");
        assert_eq!(doc[ENTERPRISE_SCHEMA]["organization"], "Acme");
        assert_eq!(
            doc["phoneNumbers"][0],
            json!({"type": "mobile", "value": "+1"})
        );
    }

    #[test]
    fn remove_and_bad_ops() {
        let mut doc = json!({"userName": "a", "name": {"givenName": "A", "familyName": "B"}});
        let o = ops(json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "remove", "path": "name.givenName"}]}));
        apply(&mut doc, &o, &USER_EXTENSIONS, CORE).unwrap();
        assert!(doc["name"].get("givenName").is_none());
        let o =
            ops(json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "move", "path": "x"}]}));
        assert!(apply(&mut doc, &o, &USER_EXTENSIONS, CORE).is_err());
        let o =
            ops(json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "add", "path": "a[b"}]}));
        assert_eq!(
            apply(&mut doc, &o, &USER_EXTENSIONS, CORE)
                .unwrap_err()
                .scim_type,
            Some("invalidPath")
        );
    }
}
