//! Search result entries: read from the wire without panicking, values kept in the server's
//! order as raw bytes until they are decoded from the source charset.

use ldap3::ResultEntry;

use crate::charset::Charset;
use crate::error::LdapSourceError;

/// An entry as the server sent it (the two-step form [`read_entry`] is checked against).
#[cfg(test)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawEntry {
    pub(crate) dn: String,
    pub(crate) attrs: Vec<(String, Vec<Vec<u8>>)>,
}

/// An entry with every value decoded; attribute names compared case-insensitively.
///
/// The attributes stay a short list in the server's order, names as the server wrote them: an
/// entry holds the ten or so attributes a search asked for, and a look-up compares names
/// without case in place, so reading an entry allocates nothing besides the values themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) dn: String,
    values: Vec<(String, Vec<String>)>,
}

impl Entry {
    /// Where an attribute's values are, if the entry has it.
    fn position(&self, attr: &str) -> Option<usize> {
        self.values
            .iter()
            .position(|(name, _)| name.eq_ignore_ascii_case(attr))
    }

    /// All values of an attribute, in the server's order (empty when absent).
    pub(crate) fn values(&self, attr: &str) -> &[String] {
        self.position(attr)
            .map(|i| self.values[i].1.as_slice())
            .unwrap_or_default()
    }

    /// The first non-empty value of an attribute.
    pub(crate) fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr)
            .iter()
            .map(String::as_str)
            .find(|v| !v.is_empty())
    }

    /// Takes an attribute's values out of the entry (empty when absent), leaving it without
    /// values for that attribute.
    pub(crate) fn take(&mut self, attr: &str) -> Vec<String> {
        self.position(attr)
            .map(|i| std::mem::take(&mut self.values[i].1))
            .unwrap_or_default()
    }

    /// Adds values to an attribute (after the ones it has), keeping the name as first seen.
    fn extend(&mut self, attr: String, values: Vec<String>) {
        match self.position(&attr) {
            Some(i) => self.values[i].1.extend(values),
            None => self.values.push((attr, values)),
        }
    }

    #[cfg(test)]
    pub(crate) fn named(dn: &str) -> Self {
        Entry {
            dn: dn.to_owned(),
            values: Vec::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn with(mut self, attr: &str, values: &[&str]) -> Self {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        match self.position(attr) {
            Some(i) => self.values[i].1 = values,
            None => self.values.push((attr.to_owned(), values)),
        }
        self
    }
}

/// Reads a `SearchResultEntry` (RFC 4511 §4.5.2) and decodes its values from the source
/// charset in one pass: [`decode`]`(`[`parse_entry`]`(re)?, charset)` without the intermediate
/// [`RawEntry`]. A malformed entry is a `MalformedEntry` error even when a value before the
/// flaw is also invalid in the charset, as in the two-step form.
pub(crate) fn read_entry(re: ResultEntry, charset: Charset) -> Result<Entry, LdapSourceError> {
    let bad = |what: &str| LdapSourceError::MalformedEntry(what.to_owned());
    let mut parts =
        re.0.match_id(4)
            .and_then(|t| t.expect_constructed())
            .ok_or_else(|| bad("not a search result entry"))?
            .into_iter();
    let dn = parts
        .next()
        .and_then(|t| t.expect_primitive())
        .ok_or_else(|| bad("missing DN"))?;
    let dn = String::from_utf8(dn).map_err(|_| bad("the DN is not UTF-8"))?;
    let list = parts
        .next()
        .and_then(|t| t.expect_constructed())
        .ok_or_else(|| bad("missing attribute list"))?;
    let mut entry = Entry {
        dn,
        values: Vec::with_capacity(list.len()),
    };
    // The first value invalid in the charset: (attribute, reported after the whole entry
    // was found well-formed).
    let mut invalid: Option<String> = None;
    for partial in list {
        let mut pa = partial
            .expect_constructed()
            .ok_or_else(|| bad("attribute is not a sequence"))?
            .into_iter();
        let name = pa
            .next()
            .and_then(|t| t.expect_primitive())
            .and_then(|n| String::from_utf8(n).ok())
            .ok_or_else(|| bad("attribute without a readable name"))?;
        let set = pa
            .next()
            .and_then(|t| t.expect_constructed())
            .ok_or_else(|| bad("attribute without a value set"))?;
        let mut decoded = Vec::with_capacity(set.len());
        for v in set {
            let v = v
                .expect_primitive()
                .ok_or_else(|| bad("attribute value is not an octet string"))?;
            if invalid.is_some() {
                continue;
            }
            match charset.decode(v) {
                Some(s) => decoded.push(s),
                None => invalid = Some(name.clone()),
            }
        }
        if invalid.is_none() {
            entry.extend(name, decoded);
        }
    }
    match invalid {
        Some(attribute) => Err(LdapSourceError::Charset {
            attribute,
            dn: entry.dn,
            charset: charset.name().to_owned(),
        }),
        None => Ok(entry),
    }
}

/// Reads a `SearchResultEntry` (RFC 4511 §4.5.2) — what `ldap3::SearchEntry::construct` does,
/// but returning an error instead of panicking on a malformed entry and keeping non-UTF-8
/// values in order with the others.
#[cfg(test)]
pub(crate) fn parse_entry(re: ResultEntry) -> Result<RawEntry, LdapSourceError> {
    let bad = |what: &str| LdapSourceError::MalformedEntry(what.to_owned());
    let mut parts =
        re.0.match_id(4)
            .and_then(|t| t.expect_constructed())
            .ok_or_else(|| bad("not a search result entry"))?
            .into_iter();
    let dn = parts
        .next()
        .and_then(|t| t.expect_primitive())
        .ok_or_else(|| bad("missing DN"))?;
    let dn = String::from_utf8(dn).map_err(|_| bad("the DN is not UTF-8"))?;
    let list = parts
        .next()
        .and_then(|t| t.expect_constructed())
        .ok_or_else(|| bad("missing attribute list"))?;
    let mut attrs = Vec::with_capacity(list.len());
    for partial in list {
        let mut pa = partial
            .expect_constructed()
            .ok_or_else(|| bad("attribute is not a sequence"))?
            .into_iter();
        let name = pa
            .next()
            .and_then(|t| t.expect_primitive())
            .and_then(|n| String::from_utf8(n).ok())
            .ok_or_else(|| bad("attribute without a readable name"))?;
        let values = pa
            .next()
            .and_then(|t| t.expect_constructed())
            .ok_or_else(|| bad("attribute without a value set"))?
            .into_iter()
            .map(|v| v.expect_primitive())
            .collect::<Option<Vec<Vec<u8>>>>()
            .ok_or_else(|| bad("attribute value is not an octet string"))?;
        attrs.push((name, values));
    }
    Ok(RawEntry { dn, attrs })
}

/// Decodes every value from the source charset; a value that is invalid there is an error
/// naming the attribute and the entry. Attributes the server sent twice (in any case) are
/// merged, values in the order they came.
#[cfg(test)]
pub(crate) fn decode(raw: RawEntry, charset: Charset) -> Result<Entry, LdapSourceError> {
    let mut entry = Entry {
        dn: raw.dn,
        values: Vec::with_capacity(raw.attrs.len()),
    };
    for (name, vals) in raw.attrs {
        let mut decoded = Vec::with_capacity(vals.len());
        for v in vals {
            match charset.decode(v) {
                Some(s) => decoded.push(s),
                None => {
                    return Err(LdapSourceError::Charset {
                        attribute: name,
                        dn: entry.dn,
                        charset: charset.name().to_owned(),
                    });
                }
            }
        }
        entry.extend(name, decoded);
    }
    Ok(entry)
}

/// A DN in a form that compares equal for equal DNs written differently: hex and backslash
/// escapes resolved, spaces around separators dropped, lower case, and the specials escaped
/// one canonical way. (Enough for comparing a group's member values with entry DNs; full
/// RFC 4517 `distinguishedNameMatch` would need the schema.)
pub(crate) fn normalise_dn(dn: &str) -> String {
    fn flush(token: &mut Vec<u8>, out: &mut String) {
        let text = String::from_utf8_lossy(token).trim().to_lowercase();
        for c in text.chars() {
            if matches!(c, '\\' | ',' | '+' | '=' | '"' | '<' | '>' | ';' | '#') {
                out.push_str(&format!("\\{:02x}", u32::from(c)));
            } else {
                out.push(c);
            }
        }
        token.clear();
    }
    let bytes = dn.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = String::with_capacity(dn.len());
    let mut token = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => {
                match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                        let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                        token.push(u8::try_from(v).unwrap_or(0));
                        i += 3;
                        continue;
                    }
                    (Some(&c), _) => {
                        token.push(c);
                        i += 2;
                        continue;
                    }
                    (None, _) => {}
                }
                i += 1;
            }
            b',' | b'+' | b'=' | b';' => {
                flush(&mut token, &mut out);
                out.push(if b == b';' { ',' } else { char::from(b) });
                i += 1;
            }
            _ => {
                token.push(b);
                i += 1;
            }
        }
    }
    flush(&mut token, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lber_like::*;
    use ldap3::asn1::{PL, StructureTag};

    /// Minimal builders for the BER structures `parse_entry` reads.
    mod lber_like {
        use ldap3::asn1::{PL, StructureTag, TagClass};

        pub fn prim(id: u64, v: &[u8]) -> StructureTag {
            StructureTag {
                class: TagClass::Universal,
                id,
                payload: PL::P(v.to_vec()),
            }
        }
        pub fn cons(class: TagClass, id: u64, inner: Vec<StructureTag>) -> StructureTag {
            StructureTag {
                class,
                id,
                payload: PL::C(inner),
            }
        }
        pub fn entry(dn: &[u8], attrs: Vec<(&str, Vec<&[u8]>)>) -> StructureTag {
            let attrs = attrs
                .into_iter()
                .map(|(n, vs)| {
                    cons(
                        TagClass::Universal,
                        16,
                        vec![
                            prim(4, n.as_bytes()),
                            cons(
                                TagClass::Universal,
                                17,
                                vs.into_iter().map(|v| prim(4, v)).collect(),
                            ),
                        ],
                    )
                })
                .collect();
            cons(
                TagClass::Application,
                4,
                vec![prim(4, dn), cons(TagClass::Universal, 16, attrs)],
            )
        }
    }

    #[test]
    fn reads_entries_in_order_with_binary_values() {
        let tag = entry(
            b"uid=latin1,ou=people",
            vec![
                ("uid", vec![b"latin1"]),
                ("audio", vec![b"J\xfcrgen", b"ok"]),
            ],
        );
        let raw = parse_entry(ResultEntry::new(tag)).unwrap();
        assert_eq!(raw.dn, "uid=latin1,ou=people");
        assert_eq!(raw.attrs[1].1, vec![b"J\xfcrgen".to_vec(), b"ok".to_vec()]);

        let e = decode(raw.clone(), Charset::Latin1).unwrap();
        assert_eq!(e.values("AUDIO"), ["Jürgen", "ok"]);
        assert_eq!(e.first("uid"), Some("latin1"));

        let err = decode(raw, Charset::Utf8).unwrap_err();
        assert!(
            matches!(&err, LdapSourceError::Charset { attribute, .. } if attribute == "audio"),
            "{err}"
        );
    }

    #[test]
    fn attributes_sent_twice_are_merged_in_order() {
        let tag = entry(
            b"uid=x,ou=people",
            vec![
                ("mail", vec![b"a@x"]),
                ("uid", vec![b"x"]),
                ("MAIL", vec![b"b@x"]),
            ],
        );
        let e = decode(parse_entry(ResultEntry::new(tag)).unwrap(), Charset::Utf8).unwrap();
        assert_eq!(e.values("Mail"), ["a@x", "b@x"]);
        assert_eq!(e.values("cn"), [] as [String; 0]);
        let mut e = e;
        assert_eq!(e.take("UID"), ["x"]);
        assert_eq!(e.first("uid"), None);
    }

    /// The one-pass reader gives what the two steps give, errors included.
    #[test]
    fn reading_in_one_pass_agrees_with_the_two_steps() {
        let shapes = vec![
            entry(
                b"uid=a,ou=p",
                vec![("uid", vec![b"a"]), ("cn", vec![b"A", b"\xc3\xa4"])],
            ),
            entry(
                b"uid=b,ou=p",
                vec![("UID", vec![b"b"]), ("uid", vec![b"B"])],
            ),
            entry(
                b"uid=c,ou=p",
                vec![("cn", vec![b"J\xfcrgen"]), ("sn", vec![b"x"])],
            ),
            entry(b"uid=d,ou=p", vec![]),
            entry(b"cn=\xff", vec![]),
            // A value invalid in UTF-8, then a malformed attribute: the malformed entry wins.
            cons(
                ldap3::asn1::TagClass::Application,
                4,
                vec![
                    prim(4, b"uid=e"),
                    cons(
                        ldap3::asn1::TagClass::Universal,
                        16,
                        vec![
                            cons(
                                ldap3::asn1::TagClass::Universal,
                                16,
                                vec![
                                    prim(4, b"cn"),
                                    cons(
                                        ldap3::asn1::TagClass::Universal,
                                        17,
                                        vec![prim(4, b"\xff")],
                                    ),
                                ],
                            ),
                            prim(4, b"not a sequence"),
                        ],
                    ),
                ],
            ),
        ];
        for tag in shapes {
            for charset in [Charset::Utf8, Charset::Latin1] {
                let one = read_entry(ResultEntry::new(tag.clone()), charset);
                let two =
                    parse_entry(ResultEntry::new(tag.clone())).and_then(|raw| decode(raw, charset));
                assert_eq!(format!("{one:?}"), format!("{two:?}"));
            }
        }
    }

    #[test]
    fn malformed_entries_are_errors_not_panics() {
        let not_entry = StructureTag {
            class: ldap3::asn1::TagClass::Application,
            id: 5,
            payload: PL::C(vec![]),
        };
        assert!(parse_entry(ResultEntry::new(not_entry)).is_err());
        let no_attrs = StructureTag {
            class: ldap3::asn1::TagClass::Application,
            id: 4,
            payload: PL::C(vec![prim(4, b"cn=x")]),
        };
        assert!(parse_entry(ResultEntry::new(no_attrs)).is_err());
        let bad_dn = entry(b"cn=\xff", vec![]);
        assert!(parse_entry(ResultEntry::new(bad_dn)).is_err());
    }

    #[test]
    fn dn_normalisation() {
        let n = normalise_dn;
        assert_eq!(
            n("uid=jdoe,ou=people,dc=example,dc=org"),
            n("UID=JDoe, ou=People , dc=example,dc=org")
        );
        assert_eq!(n(r"uid=x*(y)\5Cz,ou=people"), n(r"uid=x*(y)\\z,ou=people"));
        assert_ne!(n(r"cn=a\,b,ou=x"), n("cn=a,b=,ou=x"));
        assert_eq!(n("uid=jmüller,ou=p"), n("uid=JMÜLLER,ou=p"));
        assert_eq!(n(r"uid=j\c3\bcrgen"), n("uid=jürgen"));
    }
}
