//! The directory's charset (OTOBO `SourceCharset`): decoding values read and encoding values
//! written into filters.
//!
//! LDAPv3 says directory strings are UTF-8, but old directories hold ISO-8859-1 (or other)
//! bytes. OTOBO converts every value from `SourceCharset` after reading and every search value
//! into it before searching; so does this module. A value that is not valid in the charset is an
//! error — nothing is replaced or guessed.

use std::borrow::Cow;
use std::fmt;

/// A resolved source charset.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// UTF-8 (the LDAPv3 rule and the default).
    Utf8,
    /// ISO-8859-1, decoded exactly (every byte is the code point of the same number). Not
    /// windows-1252, which the WHATWG encoding standard substitutes for the `iso-8859-1` label.
    Latin1,
    /// Any other single- or multi-byte charset known to `encoding_rs`.
    Other(&'static encoding_rs::Encoding),
}

impl fmt::Debug for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Charset {
    /// The charset for a label such as `utf-8`, `iso-8859-1`, `latin1`, `windows-1252`,
    /// `iso-8859-15`, `koi8-r` or `shift_jis`. `None` for unknown labels and for UTF-16 (whose
    /// values `encoding_rs` cannot encode back).
    pub(crate) fn from_label(label: &str) -> Option<Self> {
        let l = label.trim().to_ascii_lowercase();
        match l.as_str() {
            "utf-8" | "utf8" => return Some(Charset::Utf8),
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "iso-ir-100" | "latin1" | "latin-1"
            | "l1" => return Some(Charset::Latin1),
            _ => {}
        }
        let enc = encoding_rs::Encoding::for_label(l.as_bytes())?;
        if enc == encoding_rs::UTF_8 {
            Some(Charset::Utf8)
        } else if enc.output_encoding() != enc || enc == encoding_rs::REPLACEMENT {
            None
        } else {
            Some(Charset::Other(enc))
        }
    }

    /// The charset's canonical name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Latin1 => "ISO-8859-1",
            Charset::Other(e) => e.name(),
        }
    }

    /// Decodes a value read from the directory; `None` when the bytes are not valid in the
    /// charset.
    pub(crate) fn decode(&self, bytes: Vec<u8>) -> Option<String> {
        match self {
            Charset::Utf8 => String::from_utf8(bytes).ok(),
            Charset::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            Charset::Other(enc) => enc
                .decode_without_bom_handling_and_without_replacement(&bytes)
                .map(Cow::into_owned),
        }
    }

    /// Encodes a search value into the charset; `None` when it has characters the charset
    /// cannot represent (such a value can match nothing in the directory).
    pub(crate) fn encode<'a>(&self, value: &'a str) -> Option<Cow<'a, [u8]>> {
        match self {
            Charset::Utf8 => Some(Cow::Borrowed(value.as_bytes())),
            Charset::Latin1 => value
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect::<Option<Vec<u8>>>()
                .map(Cow::Owned),
            Charset::Other(enc) => {
                let (bytes, _, had_errors) = enc.encode(value);
                (!had_errors).then_some(bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUERGEN_LATIN1: &[u8] = b"J\xfcrgen M\xfcller";

    #[test]
    fn labels() {
        assert_eq!(Charset::from_label("UTF-8"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label(" iso-8859-1 "), Some(Charset::Latin1));
        assert_eq!(Charset::from_label("latin1"), Some(Charset::Latin1));
        assert_eq!(
            Charset::from_label("windows-1252").unwrap().name(),
            "windows-1252"
        );
        assert_eq!(
            Charset::from_label("iso-8859-15").unwrap().name(),
            "ISO-8859-15"
        );
        assert_eq!(Charset::from_label("utf-16le"), None);
        assert_eq!(Charset::from_label("no-such-charset"), None);
    }

    #[test]
    fn latin1_is_exact() {
        assert_eq!(
            Charset::Latin1.decode(JUERGEN_LATIN1.to_vec()).as_deref(),
            Some("Jürgen Müller")
        );
        // 0x80 is a C1 control in ISO-8859-1 (windows-1252 would make it €).
        assert_eq!(
            Charset::Latin1.decode(vec![0x80]).as_deref(),
            Some("\u{80}")
        );
        assert_eq!(
            Charset::Latin1.encode("Jürgen Müller").as_deref(),
            Some(JUERGEN_LATIN1)
        );
        assert_eq!(Charset::Latin1.encode("カスミ"), None);
    }

    #[test]
    fn utf8_refuses_invalid_bytes() {
        assert_eq!(Charset::Utf8.decode(JUERGEN_LATIN1.to_vec()), None);
        assert_eq!(
            Charset::Utf8
                .decode("Jürgen".as_bytes().to_vec())
                .as_deref(),
            Some("Jürgen")
        );
    }

    #[test]
    fn other_charsets() {
        let cp1252 = Charset::from_label("windows-1252").unwrap();
        assert_eq!(cp1252.decode(vec![0x80]).as_deref(), Some("€"));
        assert_eq!(
            cp1252.decode(JUERGEN_LATIN1.to_vec()).as_deref(),
            Some("Jürgen Müller")
        );
        let sjis = Charset::from_label("shift_jis").unwrap();
        // A lone lead byte is invalid Shift_JIS.
        assert_eq!(sjis.decode(vec![0x82]), None);
        assert_eq!(cp1252.encode("カ"), None);
    }
}
