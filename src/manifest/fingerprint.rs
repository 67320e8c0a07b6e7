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
    blake3::hash(&encode(c)).to_hex().to_string()
}

/// The fingerprint a datapoint carries remotely when its task adds answer options to it
/// (a classification): its own fingerprint and the options, so changing the options
/// changes every datapoint. See `plan::identity`.
pub fn with_answer_options(fingerprint: &str, answer_options: &[String]) -> String {
    answer_options_hash(fingerprint, answer_options)
        .to_hex()
        .to_string()
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
    format!(
        "{FINGERPRINT_KEY_PREFIX}{}",
        &fingerprint[..32.min(fingerprint.len())]
    )
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
        match blake3::Hash::from_hex(hex) {
            Ok(h) if h.to_hex().as_str() == hex => Hex64::Bytes(*h.as_bytes()),
            _ => Hex64::Text(hex.into()),
        }
    }

    /// As written (lowercase hex for the bytes form).
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Hex64::Bytes(b) => {
                std::borrow::Cow::Owned(blake3::Hash::from_bytes(*b).to_hex().to_string())
            }
            Hex64::Text(s) => std::borrow::Cow::Borrowed(s),
        }
    }

    /// Whether this is `other`, without allocating.
    pub fn is(&self, other: &str) -> bool {
        match self {
            Hex64::Bytes(b) => blake3::Hash::from_bytes(*b).to_hex().as_str() == other,
            Hex64::Text(s) => **s == *other,
        }
    }
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
