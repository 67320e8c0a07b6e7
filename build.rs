//! Records the Git commit the binary is built from, for `rapidata --version`. Without Git
//! (a source tarball, a crates.io build) the version says `unknown commit`.
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let text = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => format!("commit {c}"),
        None => "unknown commit".to_string(),
    };
    println!("cargo:rustc-env=RAPIDATA_GIT_COMMIT={text}");
    // The full commit, to pin the GitHub Action that `rapidata init` writes into workflows.
    let full = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=RAPIDATA_GIT_SHA={full}");
    // Rebuild when HEAD moves: `logs/HEAD` grows on every commit and checkout (also in a
    // worktree, whose git directory is elsewhere).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        for f in ["HEAD", "logs/HEAD"] {
            let p = std::path::Path::new(&dir).join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
