//! `rapidata results` rows, formats and history, against the emulator's simulated labelers:
//! one row per datapoint in manifest order with the answer in columns of its own for each
//! of the 8 task types (JSONL and CSV, checked without pandas), and a job replaced by a new
//! revision keeping its results next to the new job's.

use crate::harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::*;
use rapidata::emulator::{FaultPlan, Simulation};
use serde_json::{json, Value};

fn cli(env: &Env, root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .args(args)
        .args(["--endpoint", &env.emulator.base_url()])
        .current_dir(root)
        .env("RAPIDATA_CLIENT_ID", &env.client_id)
        .env("RAPIDATA_CLIENT_SECRET", &env.client_secret)
        .env_remove("RAPIDATA_TOKEN_FILE")
        .env_remove("RAPIDATA_ENDPOINT")
        .env("HOME", env.dir.path())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn jsonl(p: &Path) -> Vec<serde_json::Map<String, Value>> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Fast labelers, no start delay.
async fn fast_env() -> Env {
    let env = env(FaultPlan::default()).await;
    env.emulator
        .set_simulation(Simulation {
            responses_per_second: 50.0,
            start_delay_ms: 0,
            ..Simulation::default()
        })
        .unwrap();
    env
}

fn apply_and_wait(env: &Env, root: &Path) {
    let out = cli(env, root, &["apply", ".", "--auto-approve", "-q"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(env, root, &["status", ".", "--wait", "--interval", "0.3"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// Every task type, with datapoints listed in an order their results do not keep
/// (keys sort differently from the manifest), private metadata on some.
const EVERY_TYPE: &str = include_str!("../fixtures/results/every_type.yaml");

pub const TYPES: [&str; 8] = [
    "classify",
    "compare",
    "freetext",
    "locate",
    "draw",
    "selectwords",
    "timestamp",
    "ranking",
];

/// A project with a job of every task type on `global`, labeled to completion.
pub async fn every_type_project(env: &Env) -> PathBuf {
    let root = env.dir.path().join("types");
    std::fs::create_dir_all(&root).unwrap();
    for (i, f) in ["a.png", "b.png", "c.png"].iter().enumerate() {
        std::fs::write(root.join(f), png(i as u64 + 1)).unwrap();
    }
    std::fs::write(
        root.join("c.mp3"),
        b"ID3\x04\0\0\0\0\0\0rapidata-test-audio",
    )
    .unwrap();
    std::fs::write(root.join("types.yaml"), EVERY_TYPE).unwrap();
    apply_and_wait(env, &root);
    root
}

/// The manifest keys of a definition, in manifest order, with the line of their item.
fn manifest_keys(def: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = EVERY_TYPE.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == format!("name: {def}"))
        .unwrap();
    let mut out = Vec::new();
    let mut item_line = 0;
    for (i, l) in lines.iter().enumerate().skip(start) {
        if i > start && l.starts_with("---") {
            break;
        }
        if l.starts_with("  - ") {
            item_line = i + 1;
        }
        if let Some(k) = l.strip_prefix("    key: ") {
            out.push((k.to_string(), item_line));
        }
    }
    out
}

/// The document's item for a row's datapoint: by its asset's name (`originalFileName`,
/// `identifier`), or for compare by the options it names.
fn item_for<'a>(doc: &'a Value, names: &[&str]) -> &'a Value {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| match names {
            [n] => it["originalFileName"] == *n || it["identifier"] == *n,
            _ => it["aggregatedResults"]
                .as_object()
                .is_some_and(|m| names.iter().all(|n| m.contains_key(*n))),
        })
        .unwrap_or_else(|| panic!("no item for {names:?} in {doc:#}"))
}

fn votes(item: &Value) -> Vec<(String, u64)> {
    item["aggregatedResults"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

/// The answer columns of each type, checked against the raw document.
fn check_answer(t: &str, row: &serde_json::Map<String, Value>, doc: &Value) {
    let key = row["key"].as_str().unwrap();
    let asset = row["asset"].as_str().unwrap_or("");
    match t {
        "classify" => {
            let item = item_for(doc, &[asset]);
            let v = votes(item);
            let total: u64 = v.iter().map(|x| x.1).sum();
            assert_eq!(row["responses"], total, "{key}");
            assert_eq!(
                row["responses"],
                item["detailedResults"].as_array().unwrap().len() as u64
            );
            for (o, n) in &v {
                assert_eq!(row[&format!("votes_{o}")], *n, "{key}: {o}");
            }
            let max = v.iter().map(|x| x.1).max().unwrap();
            let top: Vec<&String> = v.iter().filter(|x| x.1 == max).map(|x| &x.0).collect();
            if top.len() == 1 {
                assert_eq!(row["label"], top[0].as_str(), "{key}");
                let share = row["labelShare"].as_f64().unwrap();
                assert!((share - max as f64 / total as f64).abs() < 1e-3, "{key}");
            } else {
                assert_eq!(row["label"], Value::Null, "{key}: a tie has no label");
                assert_eq!(row["labelShare"], Value::Null);
            }
        }
        "compare" => {
            let b = row["assetB"].as_str().unwrap();
            let item = item_for(doc, &[asset, b]);
            let v = votes(item);
            assert_eq!(row["responses"], v.iter().map(|x| x.1).sum::<u64>());
            match item["winner"].as_str() {
                Some(w) => {
                    // The manifest's path of the winning asset (here: its file name).
                    assert_eq!(row["winner"], w, "{key}");
                    assert!(row["winner"] == asset || row["winner"] == b);
                    assert_eq!(row["winnerShare"], item["aggregatedResultsRatios"][w]);
                }
                None => assert_eq!(row["winner"], Value::Null),
            }
        }
        "ranking" => {
            let item = &doc["results"][0];
            let v = votes(item);
            let mine = v.iter().find(|x| x.0 == asset).unwrap().1;
            let rank = 1 + v.iter().filter(|x| x.1 > mine).count() as u64;
            assert_eq!(row["rank"], rank, "{key}: {v:?}");
            assert_eq!(row["score"], item["aggregatedResultsRatios"][asset]);
            assert_eq!(row["group"], "g1");
            assert_eq!(
                row["responses"],
                item["detailedResults"].as_array().unwrap().len() as u64
            );
        }
        open => {
            let item = if open == "freetext" {
                let text = if key == "freetext-1" {
                    "a sentence to describe"
                } else {
                    "another sentence"
                };
                item_for(doc, &[text])
            } else {
                item_for(doc, &[asset])
            };
            let responses = item["detailedResults"].as_array().unwrap();
            let (column, field) = match open {
                "freetext" => ("texts", "text"),
                "locate" => ("points", "coordinates"),
                "draw" => ("lines", "lines"),
                "selectwords" => ("selectedWords", "selectedWords"),
                "timestamp" => ("times", "timestamps"),
                _ => unreachable!(),
            };
            let got = row[column]
                .as_array()
                .unwrap_or_else(|| panic!("{key}: {row:?}"));
            assert_eq!(got.len(), responses.len(), "{key}");
            assert_eq!(row["responses"], responses.len() as u64);
            for (g, r) in got.iter().zip(responses) {
                if open == "selectwords" {
                    let words: Vec<Value> = r[field]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|w| w["word"].clone())
                        .collect();
                    assert_eq!(g, &Value::Array(words), "{key}");
                } else {
                    assert_eq!(g, &r[field], "{key}");
                }
            }
        }
    }
}

/// A CSV field as the JSONL value is written: null empty, strings as they are, the rest
/// (numbers, lists) as JSON.
fn csv_field(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_every_task_type_are_one_per_datapoint_in_manifest_order() {
    let env = fast_env().await;
    let root = every_type_project(&env).await;
    let out = cli(
        &env,
        &root,
        &[
            "results",
            ".",
            "--out",
            "out",
            "--rows",
            "jsonl,csv",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = json_out(&out);
    assert_eq!(report["downloads"], 8, "{report:#}");
    for t in TYPES {
        let dir = root.join(format!("out/job-{t}"));
        let index = read_json(&dir.join("index.json"));
        let id = index["latest"].as_str().unwrap();
        assert_eq!(index["results"].as_array().unwrap().len(), 1);
        let entry = &index["results"][0];
        assert_eq!(entry["id"], id);
        assert_eq!(entry["revision"], 1);
        assert!(entry["datasetId"].is_string(), "{entry:#}");
        assert!(entry["audience"].is_string(), "{entry:#}");
        let doc = read_json(&dir.join(format!("{id}.json")));
        let rows = jsonl(&dir.join(format!("{id}.jsonl")));
        assert_eq!(
            std::fs::read(dir.join("latest.jsonl")).unwrap(),
            std::fs::read(dir.join(format!("{id}.jsonl"))).unwrap()
        );

        // One row per datapoint, in manifest order, with its source line.
        let keys = manifest_keys(&format!("t-{t}"));
        let got: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["source"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = keys
            .iter()
            .map(|(k, l)| (k.clone(), format!("types.yaml:{l}")))
            .collect();
        assert_eq!(got, want, "{t}");

        // Every row has the same columns, in the same order; who produced them.
        let columns: Vec<&String> = rows[0].keys().collect();
        for r in &rows {
            assert_eq!(r.keys().collect::<Vec<_>>(), columns, "{t}");
            assert_eq!(r["job"], format!("job-{t}"));
            assert_eq!(r["jobId"], id);
            assert_eq!(r["revision"], 1);
            assert_eq!(r["audience"], entry["audience"]);
            assert!(r["datapointId"].is_string(), "{t}: {r:?}");
            assert!(!r.contains_key("unmatched"), "{t}");
            check_answer(t, r, &doc);
        }

        // The CSV: the same header and the same values.
        let csv_bytes = std::fs::read(dir.join(format!("{id}.csv"))).unwrap();
        let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            columns.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "{t}"
        );
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), rows.len());
        for (rec, row) in records.iter().zip(&rows) {
            for (c, field) in header.iter().zip(rec.iter()) {
                assert_eq!(field, csv_field(&row[c]), "{t}: {c}");
            }
        }
    }

    // Private metadata, the SDK's flattening, on the rows that have it (null elsewhere).
    let dir = root.join("out/job-classify");
    let rows = jsonl(&dir.join("latest.jsonl"));
    assert_eq!(rows[0]["privateMetadata_model"], "m2");
    assert_eq!(rows[0]["privateMetadata_id"], "7");
    assert_eq!(rows[1]["privateMetadata_model"], Value::Null);
    assert_eq!(rows[1]["context"], "some context");
    assert_eq!(rows[2]["privateMetadata_model"], "m1");
    let cols: Vec<&String> = rows[0].keys().collect();
    let pos = |c: &str| cols.iter().position(|x| *x == c).unwrap();
    assert!(pos("privateMetadata_model") < pos("label"), "{cols:?}");
    for o in ["cat", "dog", "bird"] {
        assert!(cols.contains(&&format!("votes_{o}")), "{cols:?}");
    }
    let compare = jsonl(&root.join("out/job-compare/latest.jsonl"));
    assert_eq!(
        (&compare[0]["asset"], &compare[0]["assetB"]),
        (&json!("b.png"), &json!("a.png"))
    );
    assert_eq!(compare[0]["privateMetadata_pair"], "1");
    let ranks: Vec<u64> = jsonl(&root.join("out/job-ranking/latest.jsonl"))
        .iter()
        .map(|r| r["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks.len(), 3);
    assert!(ranks.contains(&1), "{ranks:?}");

    // Only one job, on request; an unknown name is an error.
    let out = cli(
        &env,
        &root,
        &[
            "results",
            ".",
            "--out",
            "out",
            "--job",
            "job-locate",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = json_out(&out);
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["items"][0]["name"], "job-locate");
    assert_eq!(r["items"][0]["outcome"], "upToDate");
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "out", "--job", "nope"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no Job or Order named `nope`"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_replaced_by_a_new_revision_keeps_both_results() {
    let env = fast_env().await;
    let root = env.dir.path().join("history");
    std::fs::create_dir_all(root.join("images")).unwrap();
    let mut dps = String::new();
    for i in 0..3 {
        std::fs::write(root.join(format!("images/img-{i}.png")), png(i)).unwrap();
        dps.push_str(&format!("  - asset: images/img-{i}.png\n    key: k{i}\n"));
    }
    let yaml = format!(
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: animals\ntype: classify\ninstruction: Which animal?\nanswerOptions: [cat, dog]\nreferee: {{responsesPerDatapoint: 3}}\ndatapoints:\n{dps}---\napiVersion: rapidata.ai/v1\nkind: Job\nname: animals-global\ndefinition: animals\naudience: global\n"
    );
    std::fs::write(root.join("rapidata.yaml"), &yaml).unwrap();
    apply_and_wait(&env, &root);
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "res", "--rows", "jsonl,csv"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let dir = root.join("res/animals-global");
    let first = read_json(&dir.join("index.json"));
    let first_id = first["latest"].as_str().unwrap().to_string();
    let saved: BTreeMap<String, Vec<u8>> = ["json", "jsonl", "csv"]
        .iter()
        .map(|e| {
            let f = format!("{first_id}.{e}");
            (f.clone(), std::fs::read(dir.join(&f)).unwrap())
        })
        .collect();

    // A new instruction: a new revision, a new job with the same name, the old one paused.
    std::fs::write(
        root.join("rapidata.yaml"),
        yaml.replace("Which animal?", "Which animal is it?"),
    )
    .unwrap();
    apply_and_wait(&env, &root);
    let jobs = env.client.find_jobs_named("animals-global").await.unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "res", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = json_out(&out);
    assert_eq!(r["downloads"], 1, "{r:#}");
    let second_id = r["items"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(second_id, first_id);

    // Both results are there, the first byte for byte; the index says which is which.
    for (f, bytes) in &saved {
        assert_eq!(&std::fs::read(dir.join(f)).unwrap(), bytes, "{f} changed");
    }
    let index = read_json(&dir.join("index.json"));
    assert_eq!(index["latest"], second_id.as_str());
    let results = index["results"].as_array().unwrap();
    let ids: Vec<&str> = results.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first_id.as_str(), second_id.as_str()]);
    assert_eq!(results[0]["revision"], 1);
    assert_eq!(results[1]["revision"], 2);
    assert_eq!(
        results[1]["rowsFiles"],
        json!([format!("{second_id}.jsonl")])
    );
    let latest = jsonl(&dir.join("latest.jsonl"));
    assert!(
        !dir.join("latest.csv").exists(),
        "latest.csv would still hold the first job's rows"
    );
    assert!(latest
        .iter()
        .all(|r| r["jobId"] == second_id.as_str() && r["revision"] == 2));
    let old = jsonl(&dir.join(format!("{first_id}.jsonl")));
    assert!(old
        .iter()
        .all(|r| r["jobId"] == first_id.as_str() && r["revision"] == 1));

    // --job NAME --all lists them (and downloads nothing more).
    let out = cli(
        &env,
        &root,
        &[
            "results",
            ".",
            "--out",
            "res",
            "--job",
            "animals-global",
            "--all",
            "--color",
            "never",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains(&format!("{first_id}: completed ")), "{said}");
    assert!(
        said.contains(&format!("{second_id} (latest): completed ")),
        "{said}"
    );
    assert!(
        said.contains("revision 1") && said.contains("revision 2"),
        "{said}"
    );
    assert!(said.contains("0 downloaded."), "{said}");
    let out = cli(
        &env,
        &root,
        &[
            "results",
            ".",
            "--out",
            "res",
            "--job",
            "animals-global",
            "--all",
            "--format",
            "json",
        ],
    );
    let r = json_out(&out);
    let item = &r["items"][0];
    assert_eq!(item["earlier"].as_array().unwrap().len(), 1, "{item:#}");
    assert_eq!(item["earlier"][0]["outcome"], "upToDate");
    assert_eq!(item["history"]["results"].as_array().unwrap().len(), 2);

    // A fresh directory with --all gets both jobs' results; latest is the newest job's.
    let out = cli(
        &env,
        &root,
        &[
            "results", ".", "--out", "fresh", "--all", "--format", "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_out(&out)["downloads"], 2);
    let index = read_json(&root.join("fresh/animals-global/index.json"));
    assert_eq!(index["latest"], second_id.as_str());
    assert_eq!(index["results"].as_array().unwrap().len(), 2);
}

/// The `<section>` of each job in the page, by name.
fn sections(page: &str) -> BTreeMap<String, &str> {
    page.split("<section class=\"job")
        .skip(1)
        .map(|s| {
            let s = &s[..s.find("</section>").unwrap()];
            let name = s.split("data-name=\"").nth(1).unwrap();
            (name[..name.find('"').unwrap()].to_string(), s)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_page_shows_every_job_with_charts_and_the_least_agreement_first() {
    use base64::Engine as _;
    let env = fast_env().await;
    let root = every_type_project(&env).await;
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "out", "--html", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_out(&out)["html"], "out/report.html");
    let page = std::fs::read_to_string(root.join("out/report.html")).unwrap();
    // For the docs' screenshot: `RAPIDATA_HTML_COPY=/tmp/report.html cargo test ...`.
    if let Some(copy) = std::env::var_os("RAPIDATA_HTML_COPY") {
        std::fs::copy(root.join("out/report.html"), copy).unwrap();
    }

    // Self-contained: no scripts, nothing fetched.
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.to_lowercase().contains("<script"), "a script");
    assert!(
        !page.contains("src=\"http") && !page.contains("href="),
        "an external resource"
    );
    assert!(!page.contains("url("), "a CSS fetch");

    let sections = sections(&page);
    assert_eq!(sections.len(), 8, "{:?}", sections.keys());
    let types = [
        ("classify", "classify", true),
        ("compare", "compare", true),
        ("freetext", "freeText", true),
        ("locate", "locate", false),
        ("draw", "draw", false),
        ("selectwords", "selectWords", true),
        ("timestamp", "timestamp", false),
        ("ranking", "ranking", false),
    ];
    for (t, ty, agreement) in types {
        let s = sections[&format!("job-{t}")];
        assert!(s.contains(&format!("data-type=\"{ty}\"")), "{t}");
        let keys = manifest_keys(&format!("t-{t}"));
        // Completion: every datapoint got responses.
        assert!(
            s.contains(&format!(
                "data-with-responses=\"{n}\" data-datapoints=\"{n}\"",
                n = keys.len()
            )),
            "{t}: {s}"
        );
        // Two charts, as SVG: the distribution, and agreement where it is defined.
        let svgs = s.matches("<svg ").count();
        assert_eq!(svgs, if agreement { 2 } else { 1 }, "{t}");
        assert_eq!(s.contains("No agreement measure"), !agreement, "{t}");
        // Every datapoint, the least agreement first.
        let rows: Vec<(&str, Option<f64>)> = s
            .split("<tr data-key=\"")
            .skip(1)
            .map(|r| {
                let key = &r[..r.find('"').unwrap()];
                let a = r.split("data-agreement=\"").nth(1).unwrap();
                (key, a[..a.find('"').unwrap()].parse().ok())
            })
            .collect();
        let mut got: Vec<&str> = rows.iter().map(|r| r.0).collect();
        got.sort();
        let mut want: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        want.sort();
        assert_eq!(got, want, "{t}");
        if agreement {
            let a: Vec<f64> = rows.iter().map(|r| r.1.unwrap()).collect();
            assert!(a.windows(2).all(|w| w[0] <= w[1]), "{t}: {a:?}");
            assert!(a.iter().all(|x| *x > 0.0 && *x <= 1.0), "{t}: {a:?}");
        }
    }

    // Local images embedded as they are; text shown as text.
    let classify = sections["job-classify"];
    assert_eq!(
        classify
            .matches("<img src=\"data:image/png;base64,")
            .count(),
        3
    );
    for seed in 1..=3 {
        let b64 = base64::engine::general_purpose::STANDARD.encode(png(seed));
        assert!(classify.contains(&b64), "image {seed} not embedded");
    }
    for o in ["cat", "dog", "bird"] {
        assert!(
            classify.contains(&format!("\n{o}\n</text>")),
            "{o} not on the chart"
        );
    }
    assert_eq!(sections["job-compare"].matches("<img ").count(), 4);
    assert!(sections["job-freetext"].contains("<div class=\"text\">a sentence to describe</div>"));
    // The shapes are drawn: locate's points as circles.
    assert!(
        sections["job-locate"].contains("<circle"),
        "no points drawn"
    );
}
