//! Every invalid fixture in tests/fixtures/manifests/invalid/*.yaml must fail with the
//! errors its comments announce:
//!
//! * `# expect-next: TEXT` — an error whose message contains TEXT on the next line;
//! * `# expect: [FILE:]LINE: TEXT` — on LINE of FILE (default: the fixture itself).

use std::path::{Path, PathBuf};

use rapidata::manifest::{load, Diagnostics, LoadOptions};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests/invalid")
}

struct Expect {
    file: String,
    line: usize,
    text: String,
}

fn expectations(path: &Path) -> Vec<Expect> {
    let text = std::fs::read_to_string(path).unwrap();
    let own = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(t) = line.trim_start().strip_prefix("# expect-next:") {
            out.push(Expect {
                file: own.clone(),
                line: i + 2,
                text: t.trim().to_owned(),
            });
        } else if let Some(t) = line.trim_start().strip_prefix("# expect:") {
            let parts: Vec<&str> = t.trim().splitn(3, ':').collect();
            let (file, line, text) = match parts.as_slice() {
                [f, l, t] if l.trim().parse::<usize>().is_ok() => {
                    (f.trim().to_owned(), l.trim().parse().unwrap(), *t)
                }
                [l, t, ..] => (own.clone(), l.trim().parse().unwrap(), *t),
                _ => panic!("bad expect line in {own}: {line}"),
            };
            out.push(Expect {
                file,
                line,
                text: text.trim().to_owned(),
            });
        }
    }
    out
}

fn run(path: &Path) -> Diagnostics {
    let opts = LoadOptions {
        root: Some(fixtures_dir()),
        no_cache: true,
        ..LoadOptions::default()
    };
    match load(&[path.to_path_buf()], &opts) {
        Ok(_) => panic!("{} should be invalid", path.display()),
        Err(d) => d,
    }
}

#[test]
fn every_invalid_fixture_reports_its_errors_at_the_right_lines() {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 15,
        "expected at least 15 invalid fixtures, found {}",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for f in &fixtures {
        let exps = expectations(f);
        assert!(
            !exps.is_empty(),
            "{} has no `# expect` comment",
            f.display()
        );
        let diags = run(f);
        for e in &exps {
            let hit = diags.errors.iter().any(|d| {
                d.line == e.line
                    && d.file
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy() == e.file)
                    && d.message.contains(&e.text)
            });
            if !hit {
                failures.push(format!(
                    "{}: expected `{}` at {}:{}, got:\n{}",
                    f.file_name().unwrap().to_string_lossy(),
                    e.text,
                    e.file,
                    e.line,
                    diags
                ));
            }
        }
        // Every error tells the user how to fix it and where.
        for d in &diags.errors {
            assert!(d.help.is_some(), "{}: error without help: {d}", f.display());
            assert!(d.line > 0, "{}: error without a line: {d}", f.display());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_errors_of_a_run_are_reported_together() {
    let d = run(&fixtures_dir().join("many-errors.yaml"));
    assert!(d.len() >= 3, "{d}");
}

#[test]
fn human_output_shows_location_source_line_caret_and_help() {
    let d = run(&fixtures_dir().join("unknown-field.yaml"));
    let text = d.to_string();
    assert!(text.contains("unknown-field.yaml:8:3"), "{text}");
    assert!(text.contains("  responsesPerDatapont: 3"), "{text}");
    assert!(text.contains("|   ^"), "{text}");
    assert!(
        text.contains("help: did you mean `responsesPerDatapoint`?"),
        "{text}"
    );
    assert!(text.ends_with("1 error"), "{text}");
}

#[test]
fn json_output_lists_every_error_with_location() {
    let d = run(&fixtures_dir().join("many-errors.yaml"));
    let v = serde_json::to_value(&d).unwrap();
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), d.len());
    for e in errors {
        assert!(e["line"].as_u64().unwrap() > 0);
        assert!(e["file"].as_str().unwrap().ends_with("many-errors.yaml"));
        assert!(e["message"].is_string() && e["help"].is_string());
    }
}
