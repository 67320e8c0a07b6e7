//! Deterministic fuzzing of the manifest loader, run by `cargo test`: a few thousand
//! manifests mutated from the examples and the invalid fixtures (bytes dropped, repeated,
//! swapped; YAML punctuation, control characters, invalid UTF-8, long lines and lone CRs
//! inserted), plus mutated JSONL and CSV sources. Every case must finish without a panic
//! and within a time bound, and every error must carry a location (file, line >= 1,
//! column >= 1) and bounded text.
//!
//! `FUZZ_CASES=N` and `FUZZ_SEED=S` change the size and the seed; a failure prints the
//! case number and seed, and the offending input is left in `target/fuzz-failure/`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rapidata::manifest::diagnostics::{EXCERPT_CHARS, MESSAGE_CHARS};
use rapidata::manifest::{load, LoadOptions};

const DEFAULT_CASES: usize = 3_000;
const DEFAULT_SEED: u64 = 0x5eed_0011;
/// Per case; a valid example loads in milliseconds.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

const TOKENS: &[&str] = &[
    ":",
    "- ",
    "---\n",
    "...\n",
    "\n",
    "\r",
    "\r\n",
    "  ",
    "\t",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!str ",
    "!custom ",
    "\"",
    "'",
    "#",
    "|\n",
    ">-\n",
    "? ",
    "%YAML 1.2\n",
    "\u{0}",
    "\u{feff}",
    "é",
    "🦀",
    "~",
    "null",
    "-1",
    "1e999",
    "0x1F",
    "name: ",
    "kind: Order\n",
    "kind: Job\n",
    "kind: Audience\n",
    "type: compare\n",
    "asset: ../x.png",
    "asset: /etc/passwd",
    "jsonl: data/animals.jsonl",
    "csv: data/animals.jsonl",
    "files: images/*.png",
    "files: ../**",
    "apiVersion: rapidata.ai/v1\n",
    "key: k\n",
    "run: true\n",
];

fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["examples", "tests/fixtures/manifests/invalid"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for f in files {
            out.push(std::fs::read(f).unwrap());
        }
    }
    assert!(out.len() >= 10, "corpus too small");
    out
}

fn mutate(rng: &mut fastrand::Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..rng.usize(1..=6) {
        let at = rng.usize(0..=v.len());
        match rng.u8(0..10) {
            0 | 1 => {
                let t = TOKENS[rng.usize(0..TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            2 => {
                let end = (at + rng.usize(0..40)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let end = (at + rng.usize(0..80)).min(v.len());
                let chunk = v[at..end].to_vec();
                let to = rng.usize(0..=v.len());
                v.splice(to..to, chunk);
            }
            4 => {
                let b = [0xff, 0xc3, 0x80, 0xfe, b'\r', b'\t', 0][rng.usize(0..7)];
                v.insert(at, b);
            }
            5 => {
                // A long line (not a 200 MB one: output must stay bounded anyway).
                let n = rng.usize(1_000..50_000);
                let line: Vec<u8> = std::iter::repeat_n(b'x', n).collect();
                v.splice(at..at, line);
            }
            6 => {
                // Swap two lines.
                let text = String::from_utf8_lossy(&v).into_owned();
                let mut lines: Vec<&str> = text.split('\n').collect();
                if lines.len() > 2 {
                    let (a, b) = (rng.usize(0..lines.len()), rng.usize(0..lines.len()));
                    lines.swap(a, b);
                }
                v = lines.join("\n").into_bytes();
            }
            7 => {
                // Re-indent a line.
                if let Some(nl) = v[..at].iter().rposition(|b| *b == b'\n') {
                    let spaces = rng.usize(0..5);
                    v.splice(nl + 1..nl + 1, std::iter::repeat_n(b' ', spaces));
                }
            }
            8 => v.truncate(at),
            _ => {
                let i = rng.usize(0..v.len().max(1));
                if let Some(b) = v.get_mut(i) {
                    *b = rng.u8(..);
                }
            }
        }
    }
    v
}

fn check_case(dir: &Path, case: usize, seed: u64) -> Result<usize, String> {
    let opts = LoadOptions {
        root: Some(dir.to_path_buf()),
        no_cache: true,
        ..LoadOptions::default()
    };
    let result = std::panic::catch_unwind(|| load(&[dir.join("fuzz.yaml")], &opts));
    let diags = match result {
        Err(_) => return Err(format!("case {case} (seed {seed}) panicked")),
        Ok(Ok(_)) => return Ok(0),
        Ok(Err(d)) => d,
    };
    if diags.errors.is_empty() {
        return Err(format!("case {case}: invalid without any error"));
    }
    for e in &diags.errors {
        let ok = !e.file.as_os_str().is_empty()
            && e.line >= 1
            && e.column >= 1
            && e.message.chars().count() <= MESSAGE_CHARS + 1
            && e.help
                .as_ref()
                .is_none_or(|h| h.chars().count() <= MESSAGE_CHARS + 1)
            && e.source_line
                .as_ref()
                .is_none_or(|s| s.chars().count() <= EXCERPT_CHARS + 1);
        if !ok {
            return Err(format!(
                "case {case} (seed {seed}): error without a location or unbounded: {e:?}"
            ));
        }
    }
    Ok(diags.errors.len())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn mutated_manifests_never_panic_hang_or_lose_their_location() {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let corpus = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        &dir,
    );
    let jsonl = std::fs::read(dir.join("data/animals.jsonl")).unwrap();
    // Silence the default panic message of caught panics; they are reported below.
    std::panic::set_hook(Box::new(|_| {}));

    let (tx, rx) = mpsc::channel();
    let worker_dir = dir.clone();
    std::thread::spawn(move || {
        let mut rng = fastrand::Rng::with_seed(seed);
        for case in 0..cases {
            let base = &corpus[rng.usize(0..corpus.len())];
            let text = mutate(&mut rng, base);
            std::fs::write(worker_dir.join("fuzz.yaml"), &text).unwrap();
            // Every fourth case also mutates the JSONL source the examples read.
            let source = if case % 4 == 0 {
                mutate(&mut rng, &jsonl)
            } else {
                jsonl.clone()
            };
            std::fs::write(worker_dir.join("data/animals.jsonl"), &source).unwrap();
            let r = check_case(&worker_dir, case, seed);
            let failed = r.is_err();
            if tx.send((case, r)).is_err() || failed {
                return;
            }
        }
    });
    let (mut invalid, mut errors) = (0usize, 0usize);
    for expected in 0..cases {
        match rx.recv_timeout(CASE_TIMEOUT) {
            Ok((case, Ok(n))) => {
                assert_eq!(case, expected);
                invalid += usize::from(n > 0);
                errors += n;
            }
            Ok((_, Err(msg))) => {
                let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failure");
                copy_dir(&dir, &keep);
                let _ = std::panic::take_hook();
                panic!("{msg}; input kept in {}", keep.display());
            }
            Err(_) => {
                let _ = std::panic::take_hook();
                panic!("case {expected} (seed {seed}) did not finish within {CASE_TIMEOUT:?}");
            }
        }
    }
    let _ = std::panic::take_hook();
    println!("{cases} cases: {invalid} invalid, {errors} errors, all located");
    // The mutations must actually exercise the error paths.
    assert!(
        invalid > cases / 2,
        "only {invalid} of {cases} cases were invalid"
    );
}
