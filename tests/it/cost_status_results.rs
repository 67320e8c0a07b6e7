//! Cost in the plan, the budget gate, status and results, end to end against the
//! emulator's simulated labelers, through the `rapidata` binary.

use crate::harness;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use harness::*;
use rapidata::emulator::{FaultPlan, Simulation};
use serde_json::Value;

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

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// A classify definition with `n` images (3 responses each) and a job on `global`.
fn project(env: &Env, name: &str, n: usize, budget: Option<&str>) -> std::path::PathBuf {
    let root = env.dir.path().join(name);
    std::fs::create_dir_all(root.join("images")).unwrap();
    let mut rows = String::new();
    for i in 0..n {
        std::fs::write(root.join(format!("images/img-{i}.png")), png(i as u64)).unwrap();
        rows.push_str(&format!(
            "{{\"asset\": \"../images/img-{i}.png\", \"key\": \"k{i}\"}}\n"
        ));
    }
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(root.join("data/rows.jsonl"), rows).unwrap();
    let mut yaml = format!(
        "apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: {name}\ntype: classify\ninstruction: Which animal?\nanswerOptions: [cat, dog]\nreferee:\n  responsesPerDatapoint: 3\ndatapointSources:\n  - jsonl: data/rows.jsonl\n---\napiVersion: rapidata.ai/v1\nkind: Job\nname: {name}-global\ndefinition: {name}\naudience: global\n"
    );
    if let Some(b) = budget {
        yaml.push_str(&format!("budget: {b}\n"));
    }
    std::fs::write(root.join("rapidata.yaml"), yaml).unwrap();
    root
}

fn resource<'a>(plan: &'a Value, kind: &str, name: &str) -> &'a Value {
    plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in {plan:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_prices_and_a_budget_below_the_estimate_stops_the_assignment() {
    let env = env(FaultPlan::default()).await;
    // 4 datapoints × 3 responses × 0.05 = 0.60, priced only after a delay (409 meanwhile).
    env.emulator
        .set_simulation(Simulation {
            pricing_delay_ms: 1500,
            ..Simulation::default()
        })
        .unwrap();
    let root = project(&env, "priced", 4, Some("0.5"));

    // Nothing exists: the definition and job are priced after apply.
    let out = cli(&env, &root, &["plan", ".", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let plan = json(&out);
    let job = &resource(&plan, "Job", "priced-global")["cost"];
    assert_eq!(job["status"], "knownAfterApply");
    assert_eq!(job["requiredResponses"], 12);
    assert_eq!(job["datapoints"], 4);
    assert_eq!(plan["costTotal"]["unpriced"], 1);
    let human = text(&cli(&env, &root, &["plan", ".", "--color", "never"]));
    assert!(
        human.contains("cost: known after apply (4 datapoints, 12 responses at most)"),
        "{human}"
    );
    assert!(human.contains("Cost: "), "{human}");

    // The definition is created, its price awaited (through the 409s), and the job is
    // not assigned: 0.60 is over 0.50.
    let out = cli(
        &env,
        &root,
        &["apply", ".", "--auto-approve", "--color", "never"],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("not assigned: JobDefinition `priced` is estimated at 0.60 (4 datapoints, 12 responses × 0.05), over the budget of 0.50"),
        "{said}"
    );
    assert_eq!(
        env.client
            .find_jobs_named("priced-global")
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        env.client
            .find_job_definitions("priced")
            .await
            .unwrap()
            .len(),
        1,
        "the definition stays"
    );

    // Now Rapidata prices it: plan shows the estimate, the same in all three formats.
    let plan = json(&cli(&env, &root, &["plan", ".", "--format", "json"]));
    let def = &resource(&plan, "JobDefinition", "priced")["cost"];
    assert_eq!(def["status"], "priced");
    assert_eq!(def["estimatedCost"], 0.6);
    let job = &resource(&plan, "Job", "priced-global")["cost"];
    assert_eq!(job["estimatedCost"], 0.6);
    assert_eq!(job["budget"], 0.5);
    assert_eq!(plan["costTotal"]["estimatedCost"], 0.6);
    assert_eq!(plan["costTotal"]["priced"], 1);
    let human = text(&cli(&env, &root, &["plan", ".", "--color", "never"]));
    assert!(
        human.contains("cost: estimated 0.60 (4 datapoints, 12 responses at most × 0.05)"),
        "{human}"
    );
    assert!(human.contains("OVER the budget of 0.50"), "{human}");
    assert!(
        human.contains("Cost: 0.60 estimated for what this plan starts"),
        "{human}"
    );
    let md = text(&cli(&env, &root, &["plan", ".", "--format", "markdown"]));
    assert!(md.contains("Cost: estimated 0.60"), "{md}");
    assert!(
        md.contains("Cost: 0.60 estimated for what this plan starts"),
        "{md}"
    );

    // --max-cost is a budget too; within both, the job is assigned.
    std::fs::write(
        root.join("rapidata.yaml"),
        std::fs::read_to_string(root.join("rapidata.yaml"))
            .unwrap()
            .replace("budget: 0.5", "budget: 1"),
    )
    .unwrap();
    let out = cli(
        &env,
        &root,
        &["apply", ".", "--auto-approve", "--max-cost", "0.59"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("over the budget of 0.59 (--max-cost)"),
        "{}",
        text(&out)
    );
    let out = cli(
        &env,
        &root,
        &["apply", ".", "--auto-approve", "--max-cost", "0.60"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        env.client
            .find_jobs_named("priced-global")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_progress_moving_and_results_join_back_once() {
    let env = env(FaultPlan::default()).await;
    // 5 datapoints × 3 responses at 1.5 per second: about 10 s of labeling, so a slow
    // machine still reads it twice before it completes.
    env.emulator
        .set_simulation(Simulation {
            responses_per_second: 1.5,
            start_delay_ms: 0,
            ..Simulation::default()
        })
        .unwrap();
    let root = project(&env, "progress", 5, None);
    let out = cli(&env, &root, &["apply", ".", "--auto-approve", "-q"]);
    assert!(out.status.success(), "{}", text(&out));

    let percent = |o: &Output| {
        let s = json(o);
        assert_eq!(s["formatVersion"], 1);
        let job = resource(&s, "Job", "progress-global");
        assert_eq!(job["state"], "Running", "{job:#}");
        job["completionPercentage"].as_f64().unwrap()
    };
    let first = percent(&cli(&env, &root, &["status", ".", "--format", "json"]));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = percent(&cli(&env, &root, &["status", ".", "--format", "json"]));
    assert!(second > first && second < 100.0, "{first} then {second}");
    let md = text(&cli(&env, &root, &["status", ".", "--format", "markdown"]));
    let human = text(&cli(&env, &root, &["status", "."]));
    assert!(
        md.starts_with("### rapidata status") && md.contains("| Job | progress-global |"),
        "{md}"
    );
    assert!(
        human.contains("Job progress-global: id ") && human.contains("% done"),
        "{human}"
    );

    // Nothing to download before it completes; --preliminary is not in the contract.
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "results", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["downloads"], 0);
    assert_eq!(r["items"][0]["outcome"], "notCompleted");
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "results", "--preliminary"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("preliminary-download"),
        "{}",
        text(&out)
    );

    let out = cli(
        &env,
        &root,
        &[
            "status",
            ".",
            "--wait",
            "--interval",
            "0.3",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let s = json(&out);
    let job = resource(&s, "Job", "progress-global");
    assert_eq!(job["state"], "Completed");
    assert_eq!(job["done"], true);
    assert_eq!(job["completionPercentage"], 100.0);

    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "results", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out)["downloads"], 1);
    let index: Value = serde_json::from_slice(
        &std::fs::read(root.join("results/progress-global/index.json")).unwrap(),
    )
    .unwrap();
    let id = index["latest"].as_str().unwrap();
    let doc: Value = serde_json::from_slice(
        &std::fs::read(root.join(format!("results/progress-global/{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["info"]["type"], "Classification");
    let rows = std::fs::read_to_string(root.join("results/progress-global/latest.jsonl")).unwrap();
    let rows: Vec<Value> = rows
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"], "manifest order");
    for r in &rows {
        let i = &r["key"].as_str().unwrap()[1..];
        let line = i.parse::<u64>().unwrap() + 1;
        assert_eq!(r["source"], format!("data/rows.jsonl:{line}"));
        assert_eq!(r["asset"], format!("images/img-{i}.png"));
        assert_eq!(r["responses"], 3);
        assert_eq!(
            r["votes_cat"].as_u64().unwrap() + r["votes_dog"].as_u64().unwrap(),
            3
        );
    }

    // A second run downloads nothing and leaves the files alone.
    let before = std::fs::metadata(root.join("results/progress-global/latest.jsonl"))
        .unwrap()
        .modified()
        .unwrap();
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "results", "--format", "json"],
    );
    let r = json(&out);
    assert_eq!(r["downloads"], 0);
    assert_eq!(r["items"][0]["outcome"], "upToDate");
    let after = std::fs::metadata(root.join("results/progress-global/latest.jsonl"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    // The rows follow the manifests without a download: the source file moved.
    std::fs::rename(root.join("data/rows.jsonl"), root.join("data/moved.jsonl")).unwrap();
    let yaml = std::fs::read_to_string(root.join("rapidata.yaml")).unwrap();
    std::fs::write(
        root.join("rapidata.yaml"),
        yaml.replace("data/rows.jsonl", "data/moved.jsonl"),
    )
    .unwrap();
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "results", "--format", "json"],
    );
    let r = json(&out);
    assert_eq!(r["downloads"], 0, "{r:#}");
    assert_eq!(r["items"][0]["rejoined"], true, "{r:#}");
    let rows = std::fs::read_to_string(root.join("results/progress-global/latest.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 5);
    assert!(
        rows.lines()
            .all(|l| l.contains("\"source\":\"data/moved.jsonl:")),
        "{rows}"
    );
}

const EVERY_TYPE: &str = r#"
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-classify
type: classify
instruction: Which animal?
answerOptions: [cat, dog]
referee: {responsesPerDatapoint: 2}
datapoints:
  - asset: a.png
    context: some context
    key: classify-a
  - asset: b.png
    key: classify-b
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-compare
type: compare
instruction: Which is better?
referee:
  quorum: {threshold: 2, maxVotes: 3}
datapoints:
  - assets: [a.png, b.png]
    key: compare-ab
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-freetext
type: freeText
instruction: Describe it
referee:
  earlyStopping: {confidenceThreshold: 0.9, maxVotes: 2}
datapoints:
  - asset: {text: "a sentence to describe"}
    key: freetext-1
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-locate
type: locate
instruction: Click the cat
referee: {responsesPerDatapoint: 2}
datapoints:
  - asset: a.png
    key: locate-a
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-draw
type: draw
instruction: Trace the road
referee: {responsesPerDatapoint: 2}
datapoints:
  - asset: b.png
    key: draw-b
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-selectwords
type: selectWords
instruction: Select the words you hear
referee: {responsesPerDatapoint: 2}
datapoints:
  - asset: a.png
    sentence: the quick brown fox
    key: words-a
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-timestamp
type: timestamp
instruction: When does the dog bark?
referee: {responsesPerDatapoint: 2}
datapoints:
  - asset: c.mp3
    key: timestamp-c
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-ranking
type: ranking
instruction: Which is cuter?
comparisonBudgetPerRanking: 2
responsesPerComparison: 1
datapoints:
  - asset: a.png
    group: g1
    key: rank-a
  - asset: b.png
    group: g1
    key: rank-b
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_of_every_task_type_join_back_to_their_datapoints() {
    let env = env(FaultPlan::default()).await;
    env.emulator
        .set_simulation(Simulation {
            responses_per_second: 50.0,
            start_delay_ms: 0,
            ..Simulation::default()
        })
        .unwrap();
    let root = env.dir.path().join("types");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.png"), png(1)).unwrap();
    std::fs::write(root.join("b.png"), png(2)).unwrap();
    std::fs::write(
        root.join("c.mp3"),
        b"ID3\x04\0\0\0\0\0\0rapidata-test-audio",
    )
    .unwrap();
    let types = [
        "classify",
        "compare",
        "freetext",
        "locate",
        "draw",
        "selectwords",
        "timestamp",
        "ranking",
    ];
    let mut yaml = EVERY_TYPE.to_string();
    for t in types {
        yaml.push_str(&format!(
            "---\napiVersion: rapidata.ai/v1\nkind: Job\nname: job-{t}\ndefinition: t-{t}\naudience: global\n"
        ));
    }
    std::fs::write(root.join("types.yaml"), yaml).unwrap();
    let out = cli(&env, &root, &["apply", ".", "--auto-approve", "-q"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(&env, &root, &["status", ".", "--wait", "--interval", "0.3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("8 of 8 jobs and orders done."),
        "{}",
        text(&out)
    );
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", "out", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out)["downloads"], 8);
    let expect: &[(&str, &str, &[&str])] = &[
        ("classify", "Classification", &["classify-a", "classify-b"]),
        ("compare", "Compare", &["compare-ab"]),
        ("freetext", "FreeText", &["freetext-1"]),
        ("locate", "Locate", &["locate-a"]),
        ("draw", "Line", &["draw-b"]),
        ("selectwords", "Transcription", &["words-a"]),
        ("timestamp", "Scrub", &["timestamp-c"]),
        ("ranking", "Ranking", &["rank-a", "rank-b"]),
    ];
    let document = |t: &str| -> Value {
        let dir = root.join(format!("out/job-{t}"));
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let id = index["latest"].as_str().unwrap();
        serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.json"))).unwrap()).unwrap()
    };
    for (t, info, keys) in expect {
        let doc = document(t);
        assert_eq!(doc["info"]["type"], *info, "{t}");
        let rows: Vec<Value> =
            std::fs::read_to_string(root.join(format!("out/job-{t}/latest.jsonl")))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        let got: Vec<&str> = rows
            .iter()
            .map(|r| r["key"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(got, *keys, "{t}: {rows:#?}");
        for r in &rows {
            let source = r["source"].as_str().unwrap();
            let line = source.strip_prefix("types.yaml:").unwrap();
            assert!(line.parse::<u64>().unwrap() > 1, "{t}");
            assert!(r["responses"].as_u64().unwrap() > 0, "{t}");
            assert!(r.get("unmatched").is_none(), "{t}");
        }
    }
    let compare: Value = serde_json::from_str(
        std::fs::read_to_string(root.join("out/job-compare/latest.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (&compare["asset"], &compare["assetB"]),
        (&serde_json::json!("a.png"), &serde_json::json!("b.png"))
    );
    let compare = &document("compare")["results"][0];
    assert_eq!(
        compare["detailedResults"].as_array().unwrap().len(),
        compare["aggregatedResults"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>() as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_why_a_job_or_order_cannot_finish() {
    let env = env(FaultPlan::default()).await;
    let root = project(&env, "stuck", 2, None);
    // The job on a custom audience nobody is recruited for, a second one paused by its
    // manifest, and an order with a budget Rapidata cannot check.
    let yaml = std::fs::read_to_string(root.join("rapidata.yaml"))
        .unwrap()
        .replace("audience: global", "audience: nobody");
    std::fs::write(
        root.join("rapidata.yaml"),
        format!(
            "{yaml}---\napiVersion: rapidata.ai/v1\nkind: Audience\nname: nobody\nfilters:\n  - _t: LanguageFilter\n    languages: [de]\n---\napiVersion: rapidata.ai/v1\nkind: Job\nname: stuck-paused\ndefinition: stuck\naudience: global\npaused: true\n---\napiVersion: rapidata.ai/v1\nkind: Order\nname: stuck-order\ntype: compare\ninstruction: Which?\nrun: true\nbudget: 100\ndatapoints:\n  - assets: [images/img-0.png, images/img-1.png]\n"
        ),
    )
    .unwrap();
    let out = cli(
        &env,
        &root,
        &["apply", ".", "--auto-approve", "--color", "never"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("stuck-order: not submitted: it has a budget of 100.00 (the `budget:` of Order `stuck-order`), and Rapidata has no cost estimate for orders"),
        "{}",
        text(&out)
    );
    assert_eq!(
        env.client.find_orders("stuck-order").await.unwrap()[0].state,
        "Created",
        "the order exists, unsubmitted"
    );

    let out = cli(&env, &root, &["status", ".", "--format", "json"]);
    let s = json(&out);
    let job = resource(&s, "Job", "stuck-global");
    assert_eq!(job["audience"]["name"], "nobody");
    assert_eq!(job["audience"]["status"], "Created");
    assert_eq!(job["recruiting"]["graduated"], 0);
    assert!(
        job["stuck"]
            .as_str()
            .unwrap()
            .contains("can never produce responses"),
        "{job:#}"
    );
    let paused = resource(&s, "Job", "stuck-paused");
    assert_eq!(paused["state"], "Paused");
    assert!(
        paused["stuck"].as_str().unwrap().contains("`paused: true`"),
        "{paused:#}"
    );
    let order = resource(&s, "Order", "stuck-order");
    assert!(
        order["stuck"]
            .as_str()
            .unwrap()
            .starts_with("not submitted yet"),
        "{order:#}"
    );
    // Nothing to wait for: --wait returns at once, and exits 1.
    let out = cli(&env, &root, &["status", ".", "--wait", "--interval", "0.2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("0 of 3 jobs and orders done, 3 cannot finish without you."),
        "{}",
        text(&out)
    );
    // `results` says the same of what cannot finish (issue #21), in status's words.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().display().to_string();
    let out = cli(
        &env,
        &root,
        &["results", ".", "--out", &out_dir, "--format", "json"],
    );
    let r = json(&out);
    let item = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "stuck-global")
        .unwrap()
        .clone();
    assert_eq!(item["cannotFinish"], job["stuck"], "{item:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_that_never_comes_is_waited_for_a_bounded_time() {
    use rapidata::apply::{self, budget::BudgetOptions, ApplyOptions, Cancel, Silent};
    use rapidata::plan::{PlanOptions, RecordStore};
    let env = env(FaultPlan::default()).await;
    env.emulator
        .set_simulation(Simulation {
            pricing_delay_ms: 600_000,
            ..Simulation::default()
        })
        .unwrap();
    let root = project(&env, "unpriced", 2, None);
    let project = load(&root);
    let first = plan(&env, &project, false).await;
    let opts = ApplyOptions {
        round_backoff: Duration::from_millis(10),
        budget: BudgetOptions {
            max_cost: Some(100.0),
            poll_interval: Duration::from_millis(100),
            timeout: Duration::from_millis(450),
        },
        ..Default::default()
    };
    let before = env.emulator.stats();
    let started = std::time::Instant::now();
    let out = apply::apply(
        &env.client,
        &project,
        &PlanOptions::default(),
        &opts,
        first,
        &RecordStore::open(&project.root, "test"),
        &Silent,
        &Cancel::new(),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    let after = env.emulator.stats();
    let reads = after.get("GET /job/definition/{definitionId}/cost-estimate")
        - before.get("GET /job/definition/{definitionId}/cost-estimate");
    assert_eq!(
        after.get("POST /job"),
        before.get("POST /job"),
        "no job assigned"
    );
    assert_eq!(
        out.halted,
        vec![(
            rapidata::manifest::ResourceKind::Job,
            "unpriced-global".to_string()
        )]
    );
    let notes = &out
        .report
        .resources
        .iter()
        .find(|r| r.name == "unpriced-global")
        .unwrap()
        .notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Rapidata did not price JobDefinition `unpriced` within 450ms")),
        "{notes:?}"
    );
    // Every 100 ms for 450 ms: about 5 reads of the estimate in the gate (one more by the
    // next round's plan), then it stops.
    assert!((4..=8).contains(&reads), "{reads} estimate reads");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
