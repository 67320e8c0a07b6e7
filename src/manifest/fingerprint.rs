//! Datapoint identity. A fingerprint is blake3 over a canonical, tagged, length-prefixed
//! encoding of everything that defines a datapoint, so the same content gives the same
//! key on every machine, in any manifest order, whatever the local file is called.
//!
//! Encoding (version 1; documented in docs/manifests.md): a sequence of fields, each
//! `tag: u8, len: u64 little-endian, payload[len]`, in this order:
//!
//! | tag | field | payload |
//! |-----|-------|---------|
//! | `V` | version | `rapidata.datapoint.v1` |
//! | `A` | assets (in order) | the asset fields, concatenated |
//! | `X` | context asset (if any) | one asset field |
//! | `C` | context (if any) | UTF-8 text |
//! | `M` | private metadata (if any) | per entry, sorted by key: `K` key field, `W` value field |
//! | `G` | group (if any) | UTF-8 text |
//! | `S` | sentence (if any) | UTF-8 text |
//!
//! An asset field is `F` with the file's blake3 hex, `U` with the URL, `T` with the text, or
//! `R` with the remote `fileName` of an uploaded file (`{uploaded: ...}`).
//! Absent optional fields are omitted, so "absent" and "empty" differ.

use std::collections::BTreeMap;

use super::model::Asset;

/// Prefix of keys derived from the fingerprint; explicit keys may not use it.
pub const FINGERPRINT_KEY_PREFIX: &str = "fp-";

/// The parts of a datapoint that define it.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub assets: &'a [Asset],
    pub context: Option<&'a str>,
    pub context_asset: Option<&'a Asset>,
    pub private_metadata: &'a BTreeMap<String, String>,
    pub group: Option<&'a str>,
    pub sentence: Option<&'a str>,
}

pub(super) fn field(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
}

pub(super) fn asset_field(out: &mut Vec<u8>, a: &Asset) {
    match a {
        Asset::File { content_hash, .. } => field(out, b'F', content_hash.as_bytes()),
        Asset::Url(u) => field(out, b'U', u.as_bytes()),
        Asset::Text(t) => field(out, b'T', t.as_bytes()),
        Asset::Uploaded(name) => field(out, b'R', name.as_bytes()),
    }
}

/// The canonical encoding (exposed so tests and docs can pin it).
pub fn encode(c: &Content<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    field(&mut out, b'V', b"rapidata.datapoint.v1");
    let mut assets = Vec::new();
    for a in c.assets {
        asset_field(&mut assets, a);
    }
    field(&mut out, b'A', &assets);
    if let Some(a) = c.context_asset {
        let mut buf = Vec::new();
        asset_field(&mut buf, a);
        field(&mut out, b'X', &buf);
    }
    if let Some(t) = c.context {
        field(&mut out, b'C', t.as_bytes());
    }
    if !c.private_metadata.is_empty() {
        let mut buf = Vec::new();
        for (k, v) in c.private_metadata {
            field(&mut buf, b'K', k.as_bytes());
            field(&mut buf, b'W', v.as_bytes());
        }
        field(&mut out, b'M', &buf);
    }
    if let Some(g) = c.group {
        field(&mut out, b'G', g.as_bytes());
    }
    if let Some(s) = c.sentence {
        field(&mut out, b'S', s.as_bytes());
    }
    out
}

/// blake3 of [`encode`], lowercase hex (64 characters).
pub fn fingerprint(c: &Content<'_>) -> String {
    hex(blake3::hash(&encode(c)).as_bytes()).as_str().to_owned()
}

/// The fingerprint a datapoint carries remotely when its task adds answer options to it
/// (a classification): its own fingerprint and the options, so changing the options
/// changes every datapoint. See `plan::identity`.
pub fn with_answer_options(fingerprint: &str, answer_options: &[String]) -> String {
    hex(answer_options_hash(fingerprint, answer_options).as_bytes())
        .as_str()
        .to_owned()
}

/// [`with_answer_options`] as a hash (compared without allocating).
pub fn answer_options_hash(fingerprint: &str, answer_options: &[String]) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"rapidata-fp-v1\0");
    h.update(fingerprint.as_bytes());
    for o in answer_options {
        h.update(&(o.len() as u64).to_le_bytes());
        h.update(o.as_bytes());
    }
    h.finalize()
}

/// The key of a datapoint without an explicit one: `fp-` and the first 32 hex characters
/// (128 bits) of its fingerprint.
pub fn fingerprint_key(fingerprint: &str) -> String {
    let head = &fingerprint[..32.min(fingerprint.len())];
    let mut key = String::with_capacity(FINGERPRINT_KEY_PREFIX.len() + head.len());
    key.push_str(FINGERPRINT_KEY_PREFIX);
    key.push_str(head);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(assets: &[Asset], context: Option<&str>) -> String {
        let meta = BTreeMap::new();
        fingerprint(&Content {
            assets,
            context,
            context_asset: None,
            private_metadata: &meta,
            group: None,
            sentence: None,
        })
    }

    #[test]
    fn absent_and_empty_differ_and_fields_do_not_bleed() {
        let a = [Asset::Text("ab".into())];
        assert_ne!(fp(&a, None), fp(&a, Some("")));
        let b = [Asset::Text("a".into()), Asset::Text("b".into())];
        assert_ne!(fp(&a, None), fp(&b, None));
        assert_ne!(
            fp(&[Asset::Url("x".into())], None),
            fp(&[Asset::Text("x".into())], None)
        );
        assert_eq!(fingerprint_key(&fp(&a, None)).len(), 35);
        // An uploaded file is its own kind of asset: not a URL, a text or a local file.
        let up = fp(&[Asset::Uploaded("x".into())], None);
        assert_ne!(up, fp(&[Asset::Url("x".into())], None));
        assert_ne!(up, fp(&[Asset::Text("x".into())], None));
    }

    #[test]
    fn uploaded_asset_field_is_tag_r_and_the_file_name() {
        let meta = BTreeMap::new();
        let bytes = encode(&Content {
            assets: &[Asset::Uploaded("ab12_cat.png".into())],
            context: None,
            context_asset: None,
            private_metadata: &meta,
            group: None,
            sentence: None,
        });
        let mut want = Vec::new();
        field(&mut want, b'V', b"rapidata.datapoint.v1");
        let mut a = vec![b'R'];
        a.extend_from_slice(&12u64.to_le_bytes());
        a.extend_from_slice(b"ab12_cat.png");
        field(&mut want, b'A', &a);
        assert_eq!(bytes, want);
    }
}

/// A fingerprint held compactly: 64 lowercase hex characters (what blake3 gives) as their
/// 32 bytes, anything else as written. A million of them are 40 MB instead of 104.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hex64 {
    Bytes([u8; 32]),
    Text(Box<str>),
}

impl Hex64 {
    pub fn new(hex: &str) -> Hex64 {
        // Only the canonical form (what blake3 writes: 64 lowercase hex digits) is held as
        // bytes, so `as_str` gives back exactly what was written.
        match parse_hex(hex) {
            Some(b) => Hex64::Bytes(b),
            None => Hex64::Text(hex.into()),
        }
    }

    /// As written (lowercase hex for the bytes form).
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Hex64::Bytes(b) => std::borrow::Cow::Owned(hex(b).as_str().to_owned()),
            Hex64::Text(s) => std::borrow::Cow::Borrowed(s),
        }
    }

    /// Whether this is `other`, without allocating.
    pub fn is(&self, other: &str) -> bool {
        match self {
            Hex64::Bytes(b) => parse_hex(other).is_some_and(|o| o == *b),
            Hex64::Text(s) => **s == *other,
        }
    }

    /// Whether this is the lowercase hex of `h` ([`Hex64::is`] of `h.to_hex()`).
    pub fn is_hash(&self, h: &blake3::Hash) -> bool {
        match self {
            Hex64::Bytes(b) => b == h.as_bytes(),
            Hex64::Text(s) => **s == *hex(h.as_bytes()).as_str(),
        }
    }
}

/// 32 bytes as 64 lowercase hex digits, on the stack (`blake3::Hash::to_hex` writes them
/// a character at a time; this is on the path of every datapoint of a plan).
#[derive(Clone, Copy)]
pub struct Hex([u8; 64]);

impl Hex {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

pub fn hex(bytes: &[u8; 32]) -> Hex {
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 0xf)];
    }
    Hex(out)
}

/// The bytes of exactly 64 lowercase hex digits (the canonical form); `None` for anything
/// else (uppercase included, which `blake3::Hash::from_hex` would accept).
pub fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    // Branch-free per digit (a million fingerprints per plan): invalid digits set bit 4.
    const BAD: u8 = 0x10;
    const NIBBLE: [u8; 256] = {
        let mut t = [BAD; 256];
        let mut c = 0;
        while c < 10 {
            t[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            t[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        t
    };
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0xf);
    }
    (bad & BAD == 0).then_some(out)
}

impl From<&str> for Hex64 {
    fn from(s: &str) -> Hex64 {
        Hex64::new(s)
    }
}

impl From<String> for Hex64 {
    fn from(s: String) -> Hex64 {
        Hex64::new(&s)
    }
}

#[cfg(test)]
mod hex_tests {
    use super::*;

    #[test]
    fn hex_and_parse_hex_agree_with_blake3() {
        for i in 0u32..200 {
            let h = blake3::hash(&i.to_le_bytes());
            let want = h.to_hex();
            assert_eq!(hex(h.as_bytes()).as_str(), want.as_str());
            assert_eq!(parse_hex(want.as_str()), Some(*h.as_bytes()));
            let held = Hex64::new(want.as_str());
            assert!(matches!(held, Hex64::Bytes(_)));
            assert_eq!(held.as_str(), want.as_str());
            assert!(held.is(want.as_str()) && held.is_hash(&h));
            // Not canonical: kept as written, compared as written.
            let upper = want.as_str().to_uppercase();
            assert_eq!(parse_hex(&upper), None);
            let odd = Hex64::new(&upper);
            assert_eq!(odd, Hex64::Text(upper.clone().into()));
            assert!(odd.is(&upper) && !odd.is(want.as_str()) && !odd.is_hash(&h));
            assert!(!held.is(&upper));
        }
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_hex(&"g".repeat(64)), None);
        assert_eq!(parse_hex(&"0".repeat(63)), None);
        assert_eq!(Hex64::new("abc"), Hex64::Text("abc".into()));
    }
}
