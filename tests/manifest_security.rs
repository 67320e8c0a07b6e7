//! Local files must stay inside the manifest root unless explicitly allowed, and hostile
//! YAML fails fast.

use std::path::{Path, PathBuf};

use rapidata::manifest::{load, LoadOptions};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nbytes";

fn setup(asset: &str) -> (tempfile::TempDir, PathBuf) {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(outer.path().join("secret.png"), PNG).unwrap();
    std::fs::write(
        root.join("m.yaml"),
        format!(
            "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: freeText\ninstruction: x\ndatapoints:\n  - asset: {asset}\n"
        ),
    )
    .unwrap();
    (outer, root)
}

fn check(root: &Path, allow: bool) -> Result<(), String> {
    let opts = LoadOptions {
        allow_outside_root: allow,
        no_cache: true,
        ..LoadOptions::default()
    };
    load(&[root.to_path_buf()], &opts)
        .map(|_| ())
        .map_err(|d| d.to_string())
}

#[test]
fn dot_dot_escape_is_rejected_unless_allowed() {
    let (_t, root) = setup("../secret.png");
    let err = check(&root, false).unwrap_err();
    assert!(
        err.contains("leaves the manifest root") && err.contains("m.yaml:7:12"),
        "{err}"
    );
    check(&root, true).unwrap();
}

#[test]
fn absolute_path_is_rejected_unless_allowed() {
    let outer = tempfile::tempdir().unwrap();
    let abs = outer.path().join("abs.png");
    std::fs::write(&abs, PNG).unwrap();
    let (_t, root) = setup(&abs.display().to_string());
    let err = check(&root, false).unwrap_err();
    assert!(err.contains("absolute path"), "{err}");
    check(&root, true).unwrap();
}

#[cfg(unix)]
#[test]
fn symlink_out_of_root_is_rejected_unless_allowed() {
    let (t, root) = setup("link.png");
    std::os::unix::fs::symlink(t.path().join("secret.png"), root.join("link.png")).unwrap();
    let err = check(&root, false).unwrap_err();
    assert!(
        err.contains("leads outside the manifest root") && err.contains("through a symlink"),
        "{err}"
    );
    // Where the symlink points is not printed.
    assert!(!err.contains("secret.png"), "{err}");
    check(&root, true).unwrap();
    // A symlink that stays inside the root is fine.
    std::fs::write(root.join("inside.png"), PNG).unwrap();
    std::fs::remove_file(root.join("link.png")).unwrap();
    std::os::unix::fs::symlink(root.join("inside.png"), root.join("link.png")).unwrap();
    check(&root, false).unwrap();
}

#[test]
fn root_of_a_file_argument_is_its_git_repository_and_can_be_overridden() {
    let (_t, root) = setup("../assets/ok.png");
    // repo/.git makes repo the root even though the manifest sits in repo/manifests.
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("manifests")).unwrap();
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(root.join("assets/ok.png"), PNG).unwrap();
    std::fs::rename(root.join("m.yaml"), root.join("manifests/m.yaml")).unwrap();
    let file = root.join("manifests/m.yaml");
    let opts = LoadOptions {
        no_cache: true,
        ..LoadOptions::default()
    };
    let project = load(std::slice::from_ref(&file), &opts).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(project.root, std::fs::canonicalize(&root).unwrap());
    // Narrowing the root to the manifests folder makes the same path an escape.
    let narrow = LoadOptions {
        root: Some(root.join("manifests")),
        no_cache: true,
        ..LoadOptions::default()
    };
    let err = load(&[file], &narrow).unwrap_err().to_string();
    assert!(err.contains("leaves the manifest root"), "{err}");
}

#[test]
fn billion_laughs_is_rejected() {
    // The aliases sit in `filters`, which accepts any YAML value: without the alias
    // budget this would expand to 10^9 strings.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("apiVersion: rapidata.ai/v1\nkind: Audience\nname: bomb\nfilters:\n  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        yaml.push_str(&format!(
            "  - &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    std::fs::write(dir.path().join("bomb.yaml"), yaml).unwrap();
    let err = load(
        &[dir.path().to_path_buf()],
        &LoadOptions {
            no_cache: true,
            ..LoadOptions::default()
        },
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bomb.yaml:"), "{text}");
    assert!(
        text.contains("alias") || text.contains("budget") || text.contains("too large"),
        "{text}"
    );
}

#[test]
fn a_few_aliases_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "apiVersion: rapidata.ai/v1\nkind: Audience\nname: a\nfilters:\n  - &de {_t: CountryFilter, countries: [DE]}\n  - {_t: NotFilter, filter: *de}\n";
    std::fs::write(dir.path().join("ok.yaml"), yaml).unwrap();
    load(
        &[dir.path().to_path_buf()],
        &LoadOptions {
            no_cache: true,
            ..LoadOptions::default()
        },
    )
    .unwrap_or_else(|d| panic!("{d}"));
}
