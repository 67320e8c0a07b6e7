//! Which files are manifests: each command-line path is a file, or a directory read
//! recursively for `*.yaml` / `*.yml` in sorted order (so resource order, and therefore
//! plan output, is the same on every machine). Hidden directories (`.git`, `.rapidata`,
//! `.github`) are skipped: they hold tool state and CI files, not manifests.

use std::path::{Path, PathBuf};

/// Manifest files of `paths`, each path's files sorted; paths that do not exist are
/// returned as errors.
pub fn manifest_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
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
