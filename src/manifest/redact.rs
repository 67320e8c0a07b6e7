//! Keeping secrets out of printed text. Error messages can quote what a file or a server
//! said; `plan` runs on pull requests with the CI secret in its environment. Every message
//! rapidata prints about manifests goes through [`Redactor::redact`]: values of secret
//! environment variables, bearer tokens, credentials in URLs and secret-looking
//! `key=value` / `key: value` pairs become `***`.

use std::sync::OnceLock;

/// Shown instead of a secret.
pub const MASK: &str = "***";

/// Environment variable names whose values are secrets (matched case-insensitively as
/// substrings).
const SECRET_VARS: &[&str] = &["SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL"];

/// Key names whose values are secrets in `key=value` / `key: value` text.
const SECRET_KEYS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "apikey",
    "api_key",
    "api-key",
    "private_key",
    "access_key",
    "credential",
];

/// Values shorter than this are not searched for in text: a `*_KEY=1` would otherwise
/// mask every `1`. `RAPIDATA_CLIENT_SECRET` is masked whatever its length.
const MIN_SECRET_LEN: usize = 6;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// From the variables of this process (read once).
    pub fn from_env() -> &'static Redactor {
        static R: OnceLock<Redactor> = OnceLock::new();
        R.get_or_init(|| {
            Redactor::from_vars(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            )
        })
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Redactor {
        let mut secrets: Vec<String> = vars
            .into_iter()
            .filter(|(k, v)| {
                let k = k.to_ascii_uppercase();
                let v = v.trim();
                if k == "RAPIDATA_CLIENT_SECRET" {
                    return !v.is_empty();
                }
                v.chars().count() >= MIN_SECRET_LEN && SECRET_VARS.iter().any(|s| k.contains(s))
            })
            .map(|(_, v)| v.trim().to_owned())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        let out = mask_url_userinfo(&out);
        let out = mask_bearer(&out);
        mask_pairs(&out)
    }
}

/// `scheme://user:pass@host` → `scheme://***@host`.
pub fn mask_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let auth_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '`')
            .unwrap_or(tail.len());
        match tail[..auth_end].rfind('@') {
            Some(at) => {
                out.push_str(MASK);
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
}

/// `Bearer abc.def` → `Bearer ***` (any case).
fn mask_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("bearer ") {
        let start = pos + i + "bearer ".len();
        let len: usize = text[start..]
            .chars()
            .take_while(|c| is_token_char(*c))
            .map(char::len_utf8)
            .sum();
        out.push_str(&text[pos..start]);
        if len > 0 {
            out.push_str(MASK);
        }
        pos = start + len;
    }
    out.push_str(&text[pos..]);
    out
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// `client_secret=abc`, `"token": "abc"`, `password: abc` → the value masked.
fn mask_pairs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0; // copied up to here
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'=' && b != b':' {
            i += 1;
            continue;
        }
        // The key: identifier characters before the separator (after an optional quote
        // and spaces).
        let mut k_end = i;
        while k_end > 0 && bytes[k_end - 1] == b' ' {
            k_end -= 1;
        }
        if k_end > 0 && (bytes[k_end - 1] == b'"' || bytes[k_end - 1] == b'\'') {
            k_end -= 1;
        }
        let k_start = text[..k_end]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_key_char(*c))
            .last()
            .map_or(k_end, |(j, _)| j);
        let key = text[k_start..k_end].to_ascii_lowercase();
        let secret_key = !key.is_empty() && SECRET_KEYS.iter().any(|s| key.contains(s));
        // `://` is a URL, `::` a path.
        let next = bytes.get(i + 1).copied();
        if !secret_key || next == Some(b'/') || next == Some(b':') {
            i += 1;
            continue;
        }
        let mut v_start = i + 1;
        while v_start < bytes.len() && bytes[v_start] == b' ' {
            v_start += 1;
        }
        let quote = match bytes.get(v_start) {
            Some(q @ (b'"' | b'\'')) => {
                v_start += 1;
                Some(*q)
            }
            _ => None,
        };
        let v_len: usize = text[v_start..]
            .chars()
            .take_while(|c| match quote {
                Some(q) => *c != q as char,
                None => !(c.is_whitespace() || ",;&)}]`'\"".contains(*c)),
            })
            .map(char::len_utf8)
            .sum();
        if v_len == 0 {
            i = v_start.max(i + 1);
            continue;
        }
        out.push_str(&text[pos..v_start]);
        out.push_str(MASK);
        pos = v_start + v_len;
        i = pos;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Redactor {
        Redactor::from_vars([
            ("RAPIDATA_CLIENT_SECRET".to_owned(), "abc".to_owned()),
            ("GITHUB_TOKEN".to_owned(), "ghp_0123456789".to_owned()),
            ("SOME_KEY".to_owned(), "1".to_owned()),
            ("HOME".to_owned(), "/home/runner".to_owned()),
        ])
    }

    #[test]
    fn masks_env_values_tokens_pairs_and_userinfo() {
        let r = r();
        assert_eq!(r.redact("x abc y"), "x *** y");
        assert_eq!(r.redact("t=ghp_0123456789!"), "t=***!");
        assert_eq!(r.redact("1 /home/runner"), "1 /home/runner");
        assert_eq!(
            r.redact("Authorization: Bearer eyJhbGc.x-y"),
            "Authorization: Bearer ***"
        );
        assert_eq!(
            r.redact("client_secret=hunter2&x=1 \"api_key\": \"zz\" password: pw"),
            "client_secret=***&x=1 \"api_key\": \"***\" password: ***"
        );
        assert_eq!(
            r.redact("url https://me:pw@host/x and http://host:80/"),
            "url https://***@host/x and http://host:80/"
        );
        assert_eq!(r.redact("unknown field `token`"), "unknown field `token`");
        assert_eq!(r.redact("key: img-1"), "key: img-1");
    }
}
