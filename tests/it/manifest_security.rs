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

#[cfg(unix)]
#[test]
fn missing_files_behind_an_outside_symlink_do_not_reveal_what_exists_outside() {
    let answer = |file: &str| {
        let (t, root) = setup(&format!("out/{file}"));
        std::os::unix::fs::symlink(t.path(), root.join("out")).unwrap();
        let err = check(&root, false).unwrap_err();
        err.replace(&t.path().display().to_string(), "TMP")
            .replace(file, "FILE")
    };
    let missing = answer("missing.png");
    assert!(
        missing.contains("leads outside the manifest root"),
        "{missing}"
    );
    // Same answer whether or not the file outside exists.
    assert_eq!(missing, answer("secret.png"));
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

// ---------------------------------------------------------------------------------------
// End to end, through the built binary: hostile repositories with a secret planted in the
// environment. Nothing outside the repository may be read, printed or written, and the
// secret appears nowhere (stdout, stderr, reports, plan files, cache).
// ---------------------------------------------------------------------------------------

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "planted-ci-secret-6b1f0c9d2e";
const OUTSIDE_MARKER: &str = "OUTSIDE-MARKER-5d2a";

/// A repository `repo/` (with `.git`) next to `outside/`, which holds files that must
/// never be read, printed or written.
struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(
            outside.join("secret.yaml"),
            format!("apiVersion: rapidata.ai/v1\nkind: {OUTSIDE_MARKER}\nname: {OUTSIDE_MARKER}\n"),
        )
        .unwrap();
        std::fs::write(outside.join(format!("{OUTSIDE_MARKER}.png")), PNG).unwrap();
        Repo {
            _tmp: tmp,
            root,
            outside,
        }
    }

    fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn link(&self, target: impl AsRef<Path>, rel: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    fn manifest(&self, rel: &str, datapoints: &str) {
        self.write(
            rel,
            format!("apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: freeText\ninstruction: x\n{datapoints}"),
        );
    }

    fn outside_listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Runs the binary in the repository with the secret planted; kills it after 60 s.
    fn run(&self, args: &[&str]) -> Output {
        let before = self.outside_listing();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rapidata"))
            .args(args)
            .current_dir(&self.root)
            .env("RAPIDATA_CLIENT_SECRET", SECRET)
            .env("RAPIDATA_CLIENT_ID", "ci-client")
            .env("HOME", &self.outside)
            .env_remove("RAPIDATA_ENDPOINT")
            .env_remove("RAPIDATA_ENVIRONMENT")
            .env_remove("RAPIDATA_TOKEN_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("`rapidata {}` hung (killed after 60 s)", args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            self.outside_listing(),
            before,
            "`rapidata {}` wrote outside the repository",
            args.join(" ")
        );
        self.assert_clean(&out, args);
        out
    }

    /// The secret and anything from outside appear in no output and no file rapidata
    /// wrote in the repository.
    fn assert_clean(&self, out: &Output, args: &[&str]) {
        let forbidden = [SECRET, OUTSIDE_MARKER, "0:0:root", "RAPIDATA_CLIENT_ID="];
        let cmd = format!("rapidata {}", args.join(" "));
        for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            for f in forbidden {
                assert!(
                    !text.contains(f),
                    "`{cmd}` printed `{f}` on {what}:\n{text}"
                );
            }
            assert!(
                text.len() < 64 * 1024,
                "`{cmd}` printed {} bytes on {what}",
                text.len()
            );
        }
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    stack.push(e.path());
                } else if ft.is_file() {
                    let bytes = std::fs::read(e.path()).unwrap();
                    let text = String::from_utf8_lossy(&bytes);
                    for f in [SECRET, OUTSIDE_MARKER, "0:0:root"] {
                        assert!(
                            !text.contains(f),
                            "after `{cmd}`, {} contains `{f}`",
                            e.path().display()
                        );
                    }
                }
            }
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every command that reads manifests, on a repository that must fail validation.
fn all_commands_fail(repo: &Repo, expect: &str) {
    for args in [
        &["validate"][..],
        &["validate", "--format", "json"],
        &["plan", "--environment", "local", "--out", "plan.json"],
        &["apply", "--environment", "local", "--auto-approve"],
    ] {
        let out = repo.run(args);
        assert!(
            !out.status.success(),
            "`{args:?}` accepted a hostile repository"
        );
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.contains(expect),
            "`{args:?}`: expected `{expect}` in:\n{all}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn e2e_csv_source_through_a_proc_symlink_does_not_print_the_environment() {
    let repo = Repo::new();
    // Lexically `sub/environ` (a harmless decoy); physically /proc/<pid>/environ.
    repo.write("sub/environ", "asset\nimg.png\n");
    repo.write("sub/img.png", PNG);
    repo.link("/proc/self/fdinfo", "sub/link");
    repo.manifest(
        "m.yaml",
        "datapointSources:\n  - csv: sub/link/../environ\n",
    );
    all_commands_fail(&repo, "leads outside the manifest root");
    // And the other spelling: the link to /proc/self itself.
    let repo = Repo::new();
    repo.link("/proc/self", "sub/link");
    repo.write("sub/environ", "asset\n");
    repo.manifest("m.yaml", "datapointSources:\n  - csv: sub/link/environ\n");
    all_commands_fail(&repo, "leads outside the manifest root");
}

#[cfg(unix)]
#[test]
fn e2e_jsonl_source_through_an_etc_symlink_does_not_print_passwd() {
    let repo = Repo::new();
    repo.write("sub/passwd", "{\"text\": \"decoy\"}\n");
    repo.link("/etc/ssl", "sub/link");
    repo.manifest(
        "m.yaml",
        "datapointSources:\n  - jsonl: sub/link/../passwd\n",
    );
    all_commands_fail(&repo, "leads outside the manifest root");
}

#[cfg(unix)]
#[test]
fn e2e_manifest_symlink_to_a_file_outside_is_neither_parsed_nor_printed() {
    let repo = Repo::new();
    repo.manifest("ok.yaml", "datapoints:\n  - asset: {text: hello}\n");
    repo.link(repo.outside.join("secret.yaml"), "evil.yaml");
    repo.link("/etc/passwd", "passwd.yaml");
    all_commands_fail(&repo, "manifest leads outside the manifest root");
    let out = repo.run(&["validate", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{json}");
    for e in errors {
        assert_eq!(
            (e["line"].as_u64(), e["column"].as_u64()),
            (Some(1), Some(1))
        );
        assert!(e.get("source_line").is_none(), "{e}");
    }
}

#[cfg(unix)]
#[test]
fn e2e_glob_through_a_symlink_lists_no_names_outside() {
    let repo = Repo::new();
    repo.link(&repo.outside, "imgs");
    repo.manifest("m.yaml", "datapointSources:\n  - files: imgs/*.png\n");
    all_commands_fail(&repo, "leads outside the manifest root");
    // A symlinked directory deeper down is not entered by `**`.
    let repo = Repo::new();
    repo.write("pics/a/inside.png", PNG);
    repo.link(&repo.outside, "pics/b");
    repo.manifest("m.yaml", "datapointSources:\n  - files: pics/**/*.png\n");
    let out = repo.run(&["validate", "--format", "json"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["datapoints"], 1, "{json}");
}

/// A glob's regular files take their canonical path from the directory listing (issue
/// #24: no path walk per match); a symlinked file among them is still resolved and
/// checked, so the one that leads outside fails every command, and one inside is fine.
#[cfg(unix)]
#[test]
fn e2e_a_glob_match_that_is_a_symlink_is_still_checked() {
    let repo = Repo::new();
    repo.write("imgs/inside.png", PNG);
    repo.link(
        repo.outside.join(format!("{OUTSIDE_MARKER}.png")),
        "imgs/z.png",
    );
    repo.manifest("m.yaml", "datapointSources:\n  - files: imgs/*.png\n");
    all_commands_fail(&repo, "leads outside the manifest root");

    let repo = Repo::new();
    repo.write("imgs/inside.png", PNG);
    repo.write("other/kept.png", [PNG, b"other content"].concat());
    repo.link("../other/kept.png", "imgs/linked.png");
    repo.manifest("m.yaml", "datapointSources:\n  - files: imgs/*.png\n");
    let out = repo.run(&["validate", "--format", "json"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["datapoints"], 2, "{json}");
}

#[cfg(unix)]
#[test]
fn e2e_dev_zero_behind_symlinks_is_not_read() {
    let repo = Repo::new();
    repo.link("/dev/zero", "zero.jsonl");
    repo.link("/dev/zero", "zero.png");
    repo.link("/dev/zero", "zero.yaml");
    repo.manifest(
        "m.yaml",
        "datapointSources:\n  - jsonl: zero.jsonl\ndatapoints:\n  - asset: zero.png\n",
    );
    let out = repo.run(&["validate"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("zero.jsonl") && err.contains("zero.png"),
        "{err}"
    );
    assert!(err.contains("zero.yaml"), "{err}");
    // Even with outside files allowed, a device is not a regular file.
    let out = repo.run(&["validate", "--allow-outside-root"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn e2e_state_directory_symlinks_do_not_redirect_writes() {
    // .rapidata/cache -> outside
    let repo = Repo::new();
    repo.write("a.png", PNG);
    repo.manifest("m.yaml", "datapoints:\n  - asset: a.png\n");
    std::fs::create_dir_all(repo.root.join(".rapidata")).unwrap();
    repo.link(&repo.outside, ".rapidata/cache");
    let out = repo.run(&["validate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    // .rapidata -> outside (the whole state directory)
    let repo = Repo::new();
    repo.write("a.png", PNG);
    repo.manifest("m.yaml", "datapoints:\n  - asset: a.png\n");
    repo.link(&repo.outside, ".rapidata");
    let out = repo.run(&["validate"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let out = repo.run(&["plan", "--environment", "local"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    // .rapidata/reports -> outside: apply refuses before changing anything.
    let repo = Repo::new();
    repo.write("a.png", PNG);
    repo.manifest("m.yaml", "datapoints:\n  - asset: a.png\n");
    std::fs::create_dir_all(repo.root.join(".rapidata")).unwrap();
    repo.link(&repo.outside, ".rapidata/reports");
    let out = repo.run(&["apply", "--environment", "local", "--auto-approve"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("reports"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn e2e_a_valid_run_leaves_no_secret_in_plans_reports_or_cache() {
    let repo = Repo::new();
    repo.write("a.png", PNG);
    repo.manifest(
        "m.yaml",
        "datapoints:\n  - asset: a.png\n  - asset: {text: hello}\n",
    );
    let out = repo.run(&["validate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = repo.run(&["plan", "--environment", "local", "--out", "plan.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.root.join("plan.json").is_file());
    let out = repo.run(&["apply", "--environment", "local", "--auto-approve"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports = repo.root.join(".rapidata/reports");
    assert_eq!(std::fs::read_dir(reports).unwrap().count(), 1);
    // --target naming nothing is an error, not "No changes".
    let out = repo.run(&["plan", "--environment", "local", "--target", "nope"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--target `nope` names no resource"),
        "{}",
        stderr(&out)
    );
    let out = repo.run(&["plan", "--environment", "local", "--exclude", "e"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("did you mean `d`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn e2e_endpoints_with_credentials_or_plain_http_are_refused() {
    let repo = Repo::new();
    repo.manifest("m.yaml", "datapoints:\n  - asset: {text: hello}\n");
    let out = repo.run(&[
        "plan",
        "--endpoint",
        "https://ci:pw-in-url-91@api.example.com",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("contains credentials") && !err.contains("pw-in-url-91"),
        "{err}"
    );
    let out = repo.run(&["plan", "--endpoint", "http://10.255.255.1:9"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--allow-http"), "{}", stderr(&out));
    let out = repo.run(&["plan", "--environment", "user:pw-in-env-92@example.com"]);
    assert!(!out.status.success());
    assert!(!stderr(&out).contains("pw-in-env-92"), "{}", stderr(&out));
}
