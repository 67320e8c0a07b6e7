//! Which files are manifests: each command-line path is a file, or a directory read
//! recursively for `*.yaml` / `*.yml` in sorted order (so resource order, and therefore
//! plan output, is the same on every machine). Hidden directories (`.git`, `.rapidata`,
//! `.github`) are skipped: they hold tool state and CI files, not manifests.
//!
//! A GitOps repository holds other YAML too (`docker-compose.yml`, Kubernetes files). A
//! file found in a directory is a manifest when it [looks like one](looks_like_manifest):
//! a top-level `apiVersion: rapidata.ai/...`, or no `apiVersion` at all but a top-level
//! `kind:` naming a rapidata kind (so a manifest that forgot `apiVersion` is still read and
//! told so, while a Kubernetes `kind: Job` with `apiVersion: batch/v1` is not). A file named
//! on the command line is always read. The project config's `[manifests] exclude`
//! patterns leave out directory files besides.

use std::path::{Path, PathBuf};

/// Manifest files of `paths`, each path's files sorted; paths that do not exist are
/// returned as errors.
pub fn manifest_files(
    paths: &[PathBuf],
    exclude: &[glob::Pattern],
) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                if let Err(e) = walk(p, &mut found) {
                    errors.push((p.clone(), format!("cannot read directory: {e}")));
                }
                found.sort();
                found.retain(|f| {
                    let n = super::paths::normalize(f);
                    // A symlink is never opened here: reading it checks where it leads.
                    let link = std::fs::symlink_metadata(f).is_ok_and(|m| m.is_symlink());
                    !exclude.iter().any(|p| p.matches_path(&n)) && (link || sniff(f))
                });
                files.extend(found);
            }
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push((p.clone(), format!("cannot read `{}`: {e}", p.display()))),
        }
    }
    // `./m.yaml` reads better as `m.yaml` in messages.
    let mut files: Vec<PathBuf> = files
        .into_iter()
        .map(|f| match f.strip_prefix(".") {
            Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
            _ => f,
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(super::paths::normalize(f)));
    (files, errors)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            // Symlinked directories are not followed (no cycles, no escapes).
            walk(&path, out)?;
        } else if (ft.is_file() || ft.is_symlink())
            && (name.ends_with(".yaml") || name.ends_with(".yml"))
        {
            // A symlink is listed whatever it points to: reading it checks that it is a
            // regular file inside the root, and says so if not.
            out.push(path);
        }
    }
    Ok(())
}

/// Reads at most the first 64 KiB. Files that are not text (binary, NUL bytes, invalid
/// UTF-8) or cannot be read are kept: they are named `.yaml`, and reading them reports why
/// they are not usable.
fn sniff(path: &Path) -> bool {
    use std::io::Read;
    let Ok(f) = std::fs::File::open(path) else {
        return true;
    };
    let mut buf = Vec::new();
    if f.take(64 * 1024).read_to_end(&mut buf).is_err() {
        return true;
    }
    if buf.contains(&0) {
        return true;
    }
    match std::str::from_utf8(&buf) {
        Ok(text) => looks_like_manifest(text),
        // Cut inside a character at the 64 KiB boundary: the text before it.
        Err(e) if e.error_len().is_none() => {
            looks_like_manifest(std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or(""))
        }
        Err(_) => true,
    }
}

/// Whether YAML text is a rapidata manifest rather than some other tool's file: a
/// top-level `apiVersion: rapidata.ai/...` in any document, or a top-level `kind` naming
/// a rapidata kind in a file with no `apiVersion` at all.
pub fn looks_like_manifest(text: &str) -> bool {
    let mut any_api_version = false;
    let mut our_kind = false;
    // Line breaks may be LF, CRLF or CR alone.
    for line in text.split(['\n', '\r']) {
        let value = |key: &str| {
            line.strip_prefix(key).map(|v| {
                let v = v.split(" #").next().unwrap_or("").trim();
                v.trim_matches(|c| c == '"' || c == '\'').to_string()
            })
        };
        if let Some(v) = value("apiVersion:") {
            if v.starts_with("rapidata.ai/") {
                return true;
            }
            any_api_version = true;
        } else if let Some(v) = value("kind:") {
            our_kind |= super::raw::KINDS.contains(&v.as_str());
        }
    }
    our_kind && !any_api_version
}

#[cfg(test)]
mod tests {
    use super::looks_like_manifest;

    #[test]
    fn other_tools_yaml_is_not_a_manifest() {
        assert!(looks_like_manifest(
            "apiVersion: rapidata.ai/v1\nkind: Job\n"
        ));
        assert!(looks_like_manifest("# c\napiVersion: \"rapidata.ai/v1\"\n"));
        assert!(looks_like_manifest("kind: JobDefinition\nname: x\n"));
        assert!(looks_like_manifest("# c\rapiVersion: rapidata.ai/v1\r"));
        assert!(!looks_like_manifest(
            "services:\n  web:\n    image: nginx\n"
        ));
        assert!(!looks_like_manifest("apiVersion: batch/v1\nkind: Job\n"));
        assert!(!looks_like_manifest(
            "spec:\n  apiVersion: rapidata.ai/v1\n"
        ));
    }
}
