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

// ---------------------------------------------------------------------------------------
// Input robustness (issue 11): line endings, long names and lines, unreadable input.
// ---------------------------------------------------------------------------------------

const DEF: &str = "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: freeText\ninstruction: x\ndatapoints:\n  - asset: {text: hello}\n";

fn load_dir(dir: &Path) -> Result<rapidata::manifest::Project, Diagnostics> {
    let opts = LoadOptions {
        no_cache: true,
        ..LoadOptions::default()
    };
    load(&[dir.to_path_buf()], &opts)
}

#[test]
fn cr_only_line_endings_after_a_leading_comment_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("# a comment first\n{DEF}").replace('\n', "\r");
    std::fs::write(dir.path().join("m.yaml"), text).unwrap();
    let p = load_dir(dir.path()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(p.resources.len(), 1, "the CR-only document was dropped");
    // Errors in a CR-only file point at the right line.
    let text = format!("# c\n{DEF}").replace("type: freeText", "type: freeTxt");
    std::fs::write(dir.path().join("m.yaml"), text.replace('\n', "\r")).unwrap();
    let d = load_dir(dir.path()).unwrap_err();
    assert_eq!(d.errors[0].line, 5, "{d}");
}

#[test]
fn names_longer_than_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let long = "n".repeat(66_000);
    std::fs::write(
        dir.path().join("m.yaml"),
        DEF.replace("name: d", &format!("name: {long}")),
    )
    .unwrap();
    let d = load_dir(dir.path()).unwrap_err();
    let e = &d.errors[0];
    assert!(
        e.message.contains("66000 characters long; at most 200"),
        "{d}"
    );
    assert_eq!((e.line, e.column), (3, 7));
    // The excerpt of the line is bounded.
    assert!(e.source_line.as_ref().unwrap().chars().count() <= 161);
    let ok = "n".repeat(200);
    std::fs::write(
        dir.path().join("m.yaml"),
        DEF.replace("name: d", &format!("name: {ok}")),
    )
    .unwrap();
    load_dir(dir.path()).unwrap_or_else(|d| panic!("{d}"));
}

#[test]
fn not_utf8_unreadable_and_directory_inputs_are_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        b"apiVersion: rapidata.ai/v1\nkind: J\xffobDefinition\n",
    )
    .unwrap();
    let d = load_dir(dir.path()).unwrap_err();
    let e = &d.errors[0];
    assert!(e.message.contains("not UTF-8"), "{d}");
    assert_eq!((e.line, e.column), (2, 8), "{d}");
    // A JSONL source that is not UTF-8: located inside the source.
    std::fs::remove_file(dir.path().join("bad.yaml")).unwrap();
    std::fs::write(
        dir.path().join("rows.jsonl"),
        b"{\"text\": \"ok\"}\n{\"te\xc3xt\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        DEF.replace(
            "datapoints:\n  - asset: {text: hello}\n",
            "datapointSources:\n  - jsonl: rows.jsonl\n",
        ),
    )
    .unwrap();
    let d = load_dir(dir.path()).unwrap_err();
    assert!(
        d.errors
            .iter()
            .any(|e| e.file.ends_with("rows.jsonl") && (e.line, e.column) == (2, 5)),
        "{d}"
    );
    // A missing path and a source that is a directory.
    let d = load(
        &[dir.path().join("missing.yaml")],
        &LoadOptions {
            no_cache: true,
            ..LoadOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!((d.errors[0].line, d.errors[0].column), (1, 1), "{d}");
    std::fs::remove_file(dir.path().join("rows.jsonl")).unwrap();
    std::fs::create_dir(dir.path().join("rows.jsonl")).unwrap();
    let d = load_dir(dir.path()).unwrap_err();
    assert!(d.to_string().contains("not a regular file"), "{d}");
    assert!(d.errors.iter().all(|e| e.line >= 1 && e.column >= 1), "{d}");
}

#[test]
fn validate_json_does_not_copy_huge_lines_or_huge_files() {
    let dir = tempfile::tempdir().unwrap();
    // A 20 MB value on one line (an instruction far over its limit): the excerpt is cut.
    let long = "k".repeat(20 << 20);
    std::fs::write(
        dir.path().join("m.yaml"),
        DEF.replace("instruction: x", &format!("instruction: {long}")),
    )
    .unwrap();
    // A 210 MB manifest (sparse): refused by size, not read.
    let big = std::fs::File::create(dir.path().join("big.yaml")).unwrap();
    big.set_len(210 << 20).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .args(["validate", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out.stdout.len() < 8 * 1024,
        "{} bytes of JSON",
        out.stdout.len()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("instruction"), "{text}");
    assert!(text.contains("larger than"), "{text}");
    for e in v["errors"].as_array().unwrap() {
        let excerpt = e["sourceLine"].as_str().unwrap_or("");
        assert!(excerpt.chars().count() <= 161, "{excerpt}");
    }
}

// ---------------------------------------------------------------------------------------
// Audiences (issue 10): filters checked against the contract, examples against the SDK.
// ---------------------------------------------------------------------------------------

#[test]
fn audience_filter_and_example_errors_suggest_the_fix() {
    for (fixture, help) in [
        ("audience-filter-nested.yaml", "did you mean `Tablet`?"),
        (
            "audience-filter-unknown-field.yaml",
            "did you mean `countries`?",
        ),
        (
            "audience-filter-device-type.yaml",
            "use one of Unknown, Phone, Tablet",
        ),
        ("example-truth-not-an-option.yaml", "did you mean `dog`?"),
        ("example-unknown-type.yaml", "did you mean `classify`?"),
        (
            "example-compare-truth.yaml",
            "did you mean `assets/ok.png`?",
        ),
    ] {
        let d = run(&fixtures_dir().join(fixture));
        assert!(
            d.errors
                .iter()
                .any(|e| e.help.as_deref().is_some_and(|h| h.contains(help))),
            "{fixture}: no help `{help}` in\n{d}"
        );
    }
    // `DE` is normalised to `de` as the SDK's LanguageFilter does: only `xx` and `deu` fail.
    let d = run(&fixtures_dir().join("audience-filter-language-code.yaml"));
    assert_eq!(d.len(), 2, "{d}");
}

#[test]
fn filters_are_normalised_as_the_sdk_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: Audience\nname: a\nfilters:\n  - {_t: LanguageFilter, languages: [DE, en]}\n  - {_t: CountryFilter, countries: [de]}\n  - {_t: NotFilter, filter: {_t: DeviceFilter, deviceTypes: [Phone]}}\n",
    )
    .unwrap();
    let p = load_dir(dir.path()).unwrap_or_else(|d| panic!("{d}"));
    let rapidata::manifest::Resource::Audience(a) = &p.resources[0] else {
        panic!("not an audience")
    };
    assert_eq!(
        a.filters,
        vec![
            serde_json::json!({"_t": "LanguageFilter", "languages": ["de", "en"]}),
            serde_json::json!({"_t": "CountryFilter", "countries": ["DE"]}),
            serde_json::json!({"_t": "NotFilter", "filter": {"_t": "DeviceFilter", "deviceTypes": ["Phone"]}}),
        ]
    );
    assert!(a.recruit && !a.prune && a.admission.is_none() && a.examples.is_empty());
}

/// A Job's audience that no Audience manifest has is looked up remotely at plan time:
/// validate says so (a note, still valid), with a suggestion for a misspelt manifest name.
#[test]
fn validate_notes_names_that_plan_looks_up_remotely() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: classify\ninstruction: Which?\nanswerOptions: [a, b]\ndatapoints:\n  - asset: {text: one}\n---\napiVersion: rapidata.ai/v1\nkind: Audience\nname: german-raters\nfilters:\n  - _t: LanguageFilter\n    languages: [de]\n---\napiVersion: rapidata.ai/v1\nkind: Job\nname: j\ndefinition: d\naudience: german-rater\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .args(["validate", "--color", "never"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("note:")
            && text.contains("Job `j` names audience `german-rater`")
            && text.contains("did you mean the manifest `german-raters`?"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// The SDK's client-side limits (issue #20), each at its line and column, and a manifest
// just inside the limit that passes. docs/sdk-limits.md lists them.
// ---------------------------------------------------------------------------------------

/// Loads `text` as `m.yaml` next to three distinct PNG files `a.png`, `b.png`, `c.png`.
fn load_text(text: &str) -> Result<rapidata::manifest::Project, Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in ["a.png", "b.png", "c.png"].iter().enumerate() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(format!("image {i}").bytes());
        std::fs::write(dir.path().join(f), png).unwrap();
    }
    std::fs::write(dir.path().join("m.yaml"), text).unwrap();
    load_dir(dir.path())
}

/// Where `needle` is on the line that contains `on_line` (1-based line and column).
fn position(text: &str, on_line: &str, needle: &str) -> (usize, usize) {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(on_line))
        .unwrap_or_else(|| panic!("no line with `{on_line}`"));
    let col = line[..line.find(needle).expect("needle on the line")]
        .chars()
        .count();
    (i + 1, col + 1)
}

/// `text` fails with an error containing `message` at the position of `needle` on the line
/// containing `on_line`, with a help line.
fn assert_error_at(text: &str, message: &str, on_line: &str, needle: &str) {
    let d = load_text(text).map(|_| ()).unwrap_err();
    let want = position(text, on_line, needle);
    let e = d
        .errors
        .iter()
        .find(|e| e.message.contains(message))
        .unwrap_or_else(|| panic!("no error `{message}` in\n{d}"));
    assert_eq!((e.line, e.column), want, "`{message}` in\n{d}");
    assert!(e.help.as_deref().is_some_and(|h| !h.is_empty()), "{d}");
}

fn assert_valid(text: &str) {
    load_text(text).unwrap_or_else(|d| panic!("should be valid:\n{text}\n{d}"));
}

const COMPARE: &str = "apiVersion: rapidata.ai/v1\nkind: Order\nname: c\ntype: compare\ninstruction: Which is better?\ndatapoints:\n  - assets: ASSETS\n";

#[test]
fn compare_datapoints_take_exactly_two_distinct_assets_of_one_kind() {
    let with = |assets: &str| COMPARE.replace("ASSETS", assets);
    let three = with("[a.png, b.png, c.png]");
    assert_error_at(
        &three,
        "type `compare` takes exactly 2 assets, this datapoint has 3",
        "c.png",
        "c.png",
    );
    let same = with("[a.png, ./a.png]");
    assert_error_at(
        &same,
        "the 2 assets of a compare datapoint are the same asset",
        "./a.png",
        "./a.png",
    );
    let same_text = with("[{text: hi}, {text: hi}]");
    assert_error_at(&same_text, "are the same asset", "hi}, {", "{text: hi}]");
    let mixed = with("[a.png, {text: a cat}]");
    assert_error_at(
        &mixed,
        "must both be text or both be media",
        "a cat",
        "{text",
    );
    let one = with("[a.png]");
    assert_error_at(
        &one,
        "type `compare` needs exactly 2 assets, this datapoint has 1",
        "- assets",
        "assets",
    );
    // Just inside: two distinct media assets, or two distinct texts.
    assert_valid(&with("[a.png, b.png]"));
    assert_valid(&with("[{text: a cat}, {text: a dog}]"));
}

const FREE_TEXT: &str = "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: f\ntype: TYPE\ninstruction: Describe it\ndatapoints:\n  - asset: ASSET\n    EXTRA\n";

fn datapoint(ty: &str, asset: &str, extra: &str) -> String {
    FREE_TEXT
        .replace("TYPE", ty)
        .replace("ASSET", asset)
        .replace("EXTRA", extra)
}

#[test]
fn a_datapoint_context_is_not_empty() {
    let empty = datapoint("freeText", "a.png", "context: \"\"");
    assert_error_at(&empty, "`context` is empty", "context:", "\"\"");
    assert_valid(&datapoint("freeText", "a.png", "context: x"));
}

#[test]
fn select_words_datapoints_take_no_context() {
    let both = datapoint(
        "selectWords",
        "a.png",
        "sentence: two words\n    context: shown too",
    );
    assert_error_at(
        &both,
        "type `selectWords` takes no `context`",
        "context:",
        "shown",
    );
    assert_valid(&datapoint("selectWords", "a.png", "sentence: two words"));
}

#[test]
fn locate_draw_select_words_and_timestamp_datapoints_are_media() {
    for ty in ["locate", "draw", "selectWords", "timestamp"] {
        let extra = if ty == "selectWords" {
            "sentence: two words"
        } else {
            "privateMetadata: {}"
        };
        let text = datapoint(ty, "{text: a cat}", extra);
        assert_error_at(
            &text,
            &format!("type `{ty}` needs a media asset (image, video or audio), not text"),
            "asset:",
            "{text",
        );
        assert_valid(&datapoint(ty, "a.png", extra));
        assert_valid(&datapoint(ty, "https://example.com/a.png", extra));
    }
    // Types with the SDK's `data_type="text"` still take text.
    assert_valid(&datapoint("freeText", "{text: a cat}", "context: x"));
}

const RANKING: &str = "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: r\ntype: ranking\ninstruction: Which is cuter?\ncomparisonBudgetPerRanking: 10\nresponsesPerComparison: 1\nREFEREE\ndatapoints:\n  - {asset: a.png, group: g}\n  - {asset: SECOND, group: g, key: second}\n";

#[test]
fn ranking_groups_hold_distinct_assets_and_take_no_referee() {
    let ranking = |second: &str, referee: &str| {
        RANKING
            .replace("SECOND", second)
            .replace("REFEREE", referee)
    };
    let twice = ranking("a.png", "");
    assert_error_at(
        &twice,
        "ranking group `g` has this asset twice",
        "key: second",
        "a.png",
    );
    let referee = ranking("b.png", "referee:\n  responsesPerDatapoint: 3");
    assert_error_at(
        &referee,
        "`referee` is not used by type `ranking`",
        "responsesPerDatapoint",
        "responsesPerDatapoint",
    );
    assert_valid(&ranking("b.png", ""));
    // The same asset in two groups is two rankings.
    assert_valid(&ranking("b.png", "").replace(
        "{asset: a.png, group: g}",
        "{asset: b.png, group: h}\n  - {asset: a.png, group: h}\n  - {asset: a.png, group: g}",
    ));
}

#[test]
fn settings_values_are_checked_as_the_sdk_setting_classes_do() {
    let with = |key: &str, value: &str| {
        datapoint("freeText", "a.png", "context: x").replace(
            "datapoints:",
            &format!("settings:\n  {key}: \"{value}\"\ndatapoints:"),
        )
    };
    let mut keys: Vec<&str> = rapidata::manifest::settings::checked_keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "compare_unsure",
            "free_text_max_characters",
            "free_text_minimum_characters",
            "locate_max_points",
            "locate_min_points",
            "media_played_percentage"
        ]
    );
    for (key, below, lowest, highest, above) in [
        ("free_text_minimum_characters", "0", "1", None, None),
        ("free_text_max_characters", "0", "1", None, None),
        ("compare_unsure", "-1", "0", None, None),
        ("locate_max_points", "0", "1", None, None),
        ("locate_min_points", "0", "1", None, None),
        ("media_played_percentage", "-1", "0", Some("95"), Some("96")),
    ] {
        let bad = with(key, below);
        assert_error_at(
            &bad,
            &format!("setting `{key}` is {below}; the SDK takes"),
            key,
            "\"",
        );
        assert_valid(&with(key, lowest));
        if let (Some(hi), Some(above)) = (highest, above) {
            assert_valid(&with(key, hi));
            assert_error_at(&with(key, above), "the SDK takes 0 to 95", key, "\"");
        }
        assert_error_at(
            &with(key, "many"),
            &format!("setting `{key}` is `many`, not a whole number"),
            key,
            "\"",
        );
    }
    // Other flags pass as they are, as the SDK's CustomSetting does.
    assert_valid(&with("alert_on_fast_response", "0.25"));
}

#[test]
fn names_of_every_kind_are_at_most_200_characters() {
    use rapidata::manifest::MAX_NAME_CHARS;
    let kinds = [
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: NAME\ntype: freeText\ninstruction: x\ndatapoints:\n  - asset: a.png\n",
        "apiVersion: rapidata.ai/v1\nkind: Order\nname: NAME\ntype: freeText\ninstruction: x\ndatapoints:\n  - asset: a.png\n",
        "apiVersion: rapidata.ai/v1\nkind: Audience\nname: NAME\n",
        "apiVersion: rapidata.ai/v1\nkind: ValidationSet\nname: NAME\ntype: locate\ninstruction: x\ntasks:\n  - asset: a.png\n    truth: [{xMin: 0.1, yMin: 0.1, xMax: 0.5, yMax: 0.5}]\n",
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: d\ntype: freeText\ninstruction: x\ndatapoints:\n  - asset: a.png\n---\napiVersion: rapidata.ai/v1\nkind: Job\nname: NAME\ndefinition: d\naudience: global\n",
    ];
    for k in kinds {
        let long = k.replace("NAME", &"n".repeat(MAX_NAME_CHARS + 1));
        assert_error_at(
            &long,
            &format!(
                "`name` is {} characters long; at most {MAX_NAME_CHARS} are allowed",
                MAX_NAME_CHARS + 1
            ),
            "nnnn",
            "nnnn",
        );
        assert_valid(&k.replace("NAME", &"n".repeat(MAX_NAME_CHARS)));
    }
    // A former name (`renamedFrom`) is a name too.
    let renamed = "apiVersion: rapidata.ai/v1\nkind: Audience\nname: a\nrenamedFrom: OLD\n";
    assert_error_at(
        &renamed.replace("OLD", &"o".repeat(MAX_NAME_CHARS + 1)),
        "at most 200 are allowed",
        "renamedFrom",
        "oooo",
    );
    assert_valid(&renamed.replace("OLD", &"o".repeat(MAX_NAME_CHARS)));
}
