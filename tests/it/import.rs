//! `rapidata import` end to end: resources made the way the Python SDK makes them (raw
//! requests to the emulator, bodies as SDK 3.27.1 sends them — `wire_build` builds them
//! byte for byte — and no rapidata key metadata), imported with the binary; then `plan`
//! on the generated directory exits 0 with `--detailed-exitcode`, an edit of an imported
//! manifest plans exactly that change, and applying it converges.

use crate::harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::manifest::{
    Admission, Asset, Audience, Datapoint, Example, ExampleTask, LabelingSpec, Origin, Referee,
    Task, TruthBox,
};
use rapidata::plan::{Action, Step};
use rapidata::remote::{examples::example_body, wire_build};
use serde_json::{json, Value};

/// Raw API calls with a bearer token, as the SDK's generated client makes them.
struct Sdk {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Sdk {
    async fn connect(env: &Env) -> Sdk {
        let base = env.emulator.base_url();
        let http = reqwest::Client::new();
        let body: Value = http
            .post(format!("{base}/connect/token"))
            .basic_auth(&env.client_id, Some(&env.client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=openid+email+api")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Sdk {
            base,
            token: body["access_token"].as_str().unwrap().to_string(),
            http,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Value {
        let resp = req.bearer_auth(&self.token).send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// `POST /asset/file` (the SDK's `_upload_file_asset`).
    async fn upload(&self, path: &Path) -> String {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let part = reqwest::multipart::Part::bytes(std::fs::read(path).unwrap()).file_name(name);
        let form = reqwest::multipart::Form::new().part("file", part);
        let v = self
            .send(
                self.http
                    .post(format!("{}/asset/file", self.base))
                    .multipart(form),
            )
            .await;
        v["fileName"].as_str().unwrap().to_string()
    }

    /// `POST /asset/url?url=...` (the SDK's `_upload_url_asset`).
    async fn upload_url(&self, url: &str) -> String {
        let encoded: String = url
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let v = self
            .send(
                self.http
                    .post(format!("{}/asset/url?url={encoded}", self.base)),
            )
            .await;
        v["fileName"].as_str().unwrap().to_string()
    }

    /// Uploads every file and URL of `assets` once; `names` maps them to `fileName`s.
    async fn upload_all(&self, assets: &[&Asset], names: &mut BTreeMap<Asset, String>) {
        for a in assets {
            if names.contains_key(*a) {
                continue;
            }
            let name = match a {
                Asset::File { path, .. } => self.upload(path).await,
                Asset::Url(u) => self.upload_url(u).await,
                _ => continue,
            };
            names.insert((*a).clone(), name);
        }
    }
}

/// Removes rapidata's key and fingerprint metadata: the SDK sends none.
fn strip_metadata(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("metadata");
            m.values_mut().for_each(strip_metadata);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_metadata),
        _ => {}
    }
}

fn file(root: &Path, name: &str) -> Asset {
    let path = root.join(name);
    let bytes = std::fs::read(&path).unwrap();
    Asset::File {
        path,
        file_name: name.into(),
        size: bytes.len() as u64,
        content_hash: blake3::hash(&bytes).to_hex().to_string(),
    }
}

fn dp(assets: Vec<Asset>) -> Datapoint {
    Datapoint {
        key: String::new(),
        explicit_key: false,
        fingerprint: String::new(),
        origin: Origin {
            file: std::path::Path::new("").into(),
            line: 0,
            column: 0,
        },
        assets,
        context: None,
        context_asset: None,
        private_metadata: BTreeMap::new(),
        group: None,
        sentence: None,
    }
}

fn spec(task: Task, referee: Referee, datapoints: Vec<Datapoint>) -> LabelingSpec {
    LabelingSpec {
        validation_set: None,
        task,
        referee,
        settings: BTreeMap::new(),
        failure_tolerance: 0.0,
        prune: false,
        // Distinct keys (the set keeps one datapoint per key); the SDK-shaped bodies
        // leave the key out anyway.
        datapoints: rapidata::manifest::Datapoints::from_vec(
            datapoints
                .into_iter()
                .enumerate()
                .map(|(i, mut d)| {
                    d.key = format!("k{i}");
                    d
                })
                .collect(),
        ),
    }
}

/// A job definition as `JobDefinitionCreationMachine` makes it: `POST /dataset`
/// (`<name>_dataset`), the uploads, one `POST /dataset/{id}/datapoint` per datapoint
/// (`sortIndex` = its index), the groups, then `POST /job/definition`. `multi_context`:
/// the indices of datapoints whose context asset goes as the SDK sends a `media_context`
/// list of two images (`AssetMapper.create_existing_asset_input`: a `MultiAssetInput` for
/// more than one), here the context asset twice.
async fn sdk_definition(
    sdk: &Sdk,
    name: &str,
    s: &LabelingSpec,
    multi_context: &[usize],
) -> String {
    let ds = sdk
        .post(
            "/dataset",
            &wire_build::dataset_body(&format!("{name}_dataset"), &s.task),
        )
        .await["datasetId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut names = BTreeMap::new();
    let dps = s.datapoints.to_vec().unwrap();
    let all: Vec<&Asset> = dps
        .iter()
        .flat_map(|d| d.assets.iter().chain(d.context_asset.as_ref()))
        .collect();
    sdk.upload_all(&all, &mut names).await;
    let lookup = |a: &Asset| names.get(a).cloned();
    for (i, d) in dps.iter().enumerate() {
        let mut body = wire_build::datapoint_body(&s.task, d, &lookup).unwrap();
        strip_metadata(&mut body);
        body["sortIndex"] = json!(i);
        if multi_context.contains(&i) {
            for seg in body["segments"].as_array_mut().unwrap() {
                if seg["key"] == "context_asset" {
                    let one = seg["asset"].take();
                    seg["asset"] = json!({"_t": "MultiAssetInput", "assets": [one.clone(), one]});
                }
            }
        }
        sdk.post(&format!("/dataset/{ds}/datapoint"), &body).await;
    }
    let mut groups: Vec<&str> = dps.iter().filter_map(|d| d.group.as_deref()).collect();
    groups.dedup();
    for g in groups {
        sdk.post(
            &format!("/dataset/{ds}/group"),
            &json!({"group": g, "segments": []}),
        )
        .await;
    }
    sdk.post(
        "/job/definition",
        &wire_build::job_definition_body(name, s, &ds),
    )
    .await["definitionId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn example(task: ExampleTask, assets: Vec<Asset>) -> Example {
    Example {
        key: String::new(),
        fingerprint: String::new(),
        origin: Origin {
            file: std::path::Path::new("").into(),
            line: 0,
            column: 0,
        },
        task,
        assets,
        context: None,
        context_asset: None,
        explanation: None,
    }
}

/// `rapidata ARGS` against the test emulator, in `dir`.
fn rapidata(env: &Env, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rapidata"))
        .current_dir(dir)
        .args(args)
        .args(["--endpoint", &env.emulator.base_url(), "--color", "never"])
        .env("RAPIDATA_CLIENT_ID", &env.client_id)
        .env("RAPIDATA_CLIENT_SECRET", &env.client_secret)
        .env_remove("RAPIDATA_TOKEN_FILE")
        .env_remove("RAPIDATA_ENVIRONMENT")
        .env("HOME", env.dir.path())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_made_resources_import_to_manifests_that_plan_no_change() {
    let env = env(FaultPlan::default()).await;
    let sdk = Sdk::connect(&env).await;
    let media = env.dir.path().join("sdk-files");
    std::fs::create_dir_all(&media).unwrap();
    for i in 0..6 {
        std::fs::write(media.join(format!("img{i}.png")), png(100 + i)).unwrap();
    }
    std::fs::write(
        media.join("clip.mp3"),
        b"ID3\x04\0\0\0\0\0\0rapidata-import-audio",
    )
    .unwrap();
    let img = |i: usize| file(&media, &format!("img{i}.png"));
    let instruction = |s: &str| s.to_string();

    // Every job type, as the SDK's create_*_job_definition makes them.
    let mut classify_dps = vec![
        dp(vec![img(0)]),
        dp(vec![img(1)]),
        dp(vec![Asset::Text("a sentence about a cat".into())]),
        dp(vec![Asset::Url(
            "https://example.com/photos/dog.jpg".into(),
        )]),
        dp(vec![img(2)]),
    ];
    classify_dps[0].context = Some("Look at the ears.".into());
    classify_dps[1].private_metadata = BTreeMap::from([("id".into(), "b-1".into())]);
    // media_context=[img3, img3]: a list of two, which no manifest field can hold (a
    // list of one goes as one asset, which `contextAsset` is).
    classify_dps[4].context_asset = Some(img(3));
    let classify = spec(
        Task::Classify {
            instruction: instruction("Which animal is it?"),
            answer_options: vec!["cat".into(), "dog".into()],
        },
        Referee::Quorum {
            threshold: 2,
            max_votes: 3,
        },
        classify_dps,
    );
    let mut freetext = spec(
        Task::FreeText {
            instruction: instruction("Describe it"),
        },
        Referee::Naive {
            responses_per_datapoint: 4,
        },
        vec![dp(vec![Asset::Text("a sunny day at the beach".into())])],
    );
    freetext.settings = BTreeMap::from([("alert_on_fast_response".into(), "0.25".into())]);
    let mut words = dp(vec![img(4)]);
    words.sentence = Some("the quick brown fox".into());
    let ranked = |i: usize, g: &str| {
        let mut d = dp(vec![img(i)]);
        d.group = Some(g.into());
        d
    };
    let naive = || Referee::default();
    let definitions: Vec<(&str, LabelingSpec, Vec<usize>)> = vec![
        ("sdk-classify", classify, vec![4]),
        (
            "sdk-compare",
            spec(
                Task::Compare {
                    instruction: instruction("Which is sharper?"),
                },
                Referee::EarlyStopping {
                    confidence_threshold: 0.9,
                    max_votes: 5,
                },
                vec![
                    dp(vec![img(0), img(1)]),
                    dp(vec![
                        Asset::Text("left".into()),
                        Asset::Text("right".into()),
                    ]),
                ],
            ),
            vec![],
        ),
        ("sdk-freetext", freetext, vec![]),
        (
            "sdk-locate",
            spec(
                Task::Locate {
                    instruction: instruction("Tap the cat"),
                },
                naive(),
                vec![dp(vec![img(0)])],
            ),
            vec![],
        ),
        (
            "sdk-draw",
            spec(
                Task::Draw {
                    instruction: instruction("Trace the road"),
                },
                naive(),
                vec![dp(vec![img(1)])],
            ),
            vec![],
        ),
        (
            "sdk-selectwords",
            spec(
                Task::SelectWords {
                    instruction: instruction("Select the animals"),
                },
                naive(),
                vec![words],
            ),
            vec![],
        ),
        (
            "sdk-timestamp",
            spec(
                Task::Timestamp {
                    instruction: instruction("When does it bark?"),
                },
                naive(),
                vec![dp(vec![file(&media, "clip.mp3")])],
            ),
            vec![],
        ),
        (
            "sdk-ranking",
            spec(
                Task::Ranking {
                    instruction: instruction("Which is cuter?"),
                    comparison_budget_per_ranking: 10,
                    responses_per_comparison: 1,
                },
                naive(),
                vec![
                    ranked(0, "0"),
                    ranked(1, "0"),
                    ranked(2, "0"),
                    ranked(3, "1"),
                    ranked(4, "1"),
                ],
            ),
            vec![],
        ),
    ];
    let mut def_ids = BTreeMap::new();
    for (name, s, multi) in &definitions {
        def_ids.insert(*name, sdk_definition(&sdk, name, s, multi).await);
    }

    // An audience with filters, an admission bar and examples, recruiting started, as
    // create_audience + add_*_example + start_recruiting send them.
    let audience = Audience {
        base: None,
        name: "sdk-audience".into(),
        origin: Origin {
            file: std::path::Path::new("").into(),
            line: 0,
            column: 0,
        },
        description: None,
        filters: vec![
            json!({"_t": "LanguageFilter", "languages": ["de"]}),
            json!({"_t": "NotFilter", "filter": {"_t": "CountryFilter", "countries": ["US"]}}),
        ],
        admission: Some(Admission {
            target_accuracy: 0.8,
            min_tasks: 4,
            max_tasks: Some(20),
        }),
        recruit: true,
        prune: false,
        examples: Vec::new(),
        renamed_from: Vec::new(),
    };
    let audience_id = sdk
        .post("/audience", &wire_build::audience_body(&audience))
        .await["audienceId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut names = BTreeMap::new();
    sdk.upload_all(&[&img(0), &img(1), &img(5)], &mut names)
        .await;
    let examples = vec![
        example(
            ExampleTask::Classify {
                instruction: "Is it positive?".into(),
                answer_options: vec!["yes".into(), "no".into()],
                truth: vec!["yes".into()],
            },
            vec![Asset::Text("I love it".into())],
        ),
        example(
            ExampleTask::Compare {
                instruction: "Which is sharper?".into(),
                truth: 1,
            },
            vec![img(0), img(1)],
        ),
        example(
            ExampleTask::Locate {
                instruction: "Tap the cat".into(),
                truth: vec![TruthBox {
                    x_min: 0.1,
                    y_min: 0.2,
                    x_max: 0.5,
                    y_max: 0.6,
                }],
            },
            vec![img(5)],
        ),
        example(
            ExampleTask::SelectWords {
                instruction: "Select the animals".into(),
                sentence: "cat and dog".into(),
                truth: vec![0, 2],
            },
            vec![img(5)],
        ),
    ];
    let lookup = |a: &Asset| names.get(a).cloned();
    for mut e in examples {
        e.explanation = Some("see the guide".into());
        let mut body = example_body(&e, &lookup).unwrap();
        strip_metadata(&mut body);
        sdk.post(&format!("/audience/{audience_id}/example"), &body)
            .await;
    }
    sdk.post(&format!("/audience/{audience_id}/recruit"), &Value::Null)
        .await;

    // Jobs (assign_job), one of them paused.
    let job =
        |def: &str, aud: &str, name: &str| wire_build::job_body(&def_ids[def], aud, Some(1), name);
    sdk.post(
        "/job",
        &job("sdk-classify", &audience_id, "sdk-classify-de"),
    )
    .await;
    let paused = sdk
        .post("/job", &job("sdk-compare", "global", "sdk-compare-global"))
        .await["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    sdk.post(&format!("/job/{paused}/pause"), &Value::Null)
        .await;

    // The listing sees them (filters by kind and name glob).
    let project = env.dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let listed = rapidata(
        &env,
        &project,
        &[
            "import",
            "--kind",
            "job-definition",
            "--name",
            "sdk-*",
            "--format",
            "json",
        ],
    );
    assert!(listed.status.success(), "{}", text(&listed));
    let listing: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        listing["resources"].as_array().unwrap().len(),
        definitions.len(),
        "{listing:#}"
    );

    // Import everything into imported/.
    let out = rapidata(
        &env,
        &project,
        &["import", "--out", "imported", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["skipped"], json!([]), "{report:#}");
    let written = report["written"].as_array().unwrap();
    assert_eq!(written.len(), definitions.len() + 1 + 2, "{report:#}");
    let dir = project.join("imported");
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap();
    // Every manifest written starts with the schema modeline and matches the schema.
    for w in written {
        let file = std::path::PathBuf::from(w["file"].as_str().unwrap());
        let yaml = std::fs::read_to_string(project.join(&file)).unwrap();
        assert!(
            yaml.starts_with(rapidata::manifest::schema::MODELINE),
            "{}:\n{yaml}",
            file.display()
        );
        let errs = crate::manifest_schema::schema_errors(&yaml);
        assert!(
            errs.is_empty(),
            "{}:\n{}\n{yaml}",
            file.display(),
            errs.join("\n")
        );
    }
    // What the format cannot express is in the file and in the output.
    let classify_yaml = read("job-definitions/sdk-classify.yaml");
    assert!(classify_yaml.contains("media_context"), "{classify_yaml}");
    assert!(classify_yaml.contains("privateMetadata"), "{classify_yaml}");
    assert!(read("job-definitions/sdk-ranking.yaml").contains("placeholder groups"));
    assert!(report.to_string().contains("media_context"));
    // Uploaded files are referred to by their remote name, URLs as URLs, text inline.
    let rows = read("job-definitions/sdk-classify.datapoints.jsonl");
    assert_eq!(rows.lines().count(), 4, "{rows}");
    assert!(rows.contains("\"uploaded\""), "{rows}");
    assert!(
        rows.contains("\"https://example.com/photos/dog.jpg\""),
        "{rows}"
    );
    assert!(
        rows.contains("{\"text\":\"a sentence about a cat\"}"),
        "{rows}"
    );
    let job_yaml = read("jobs/sdk-compare-global.yaml");
    assert!(
        job_yaml.contains("audience: global") && job_yaml.contains("paused: true"),
        "{job_yaml}"
    );
    assert!(read("jobs/sdk-classify-de.yaml").contains("audience: sdk-audience"));

    // plan on the generated directory: nothing to do.
    let plan_out = rapidata(&env, &project, &["plan", "imported", "--detailed-exitcode"]);
    assert_eq!(plan_out.status.code(), Some(0), "{}", text(&plan_out));
    assert!(
        String::from_utf8_lossy(&plan_out.stdout).contains("No changes"),
        "{}",
        text(&plan_out)
    );
    let loaded = load(&dir);
    let p = plan(&env, &loaded, false).await;
    for r in &p.resources {
        assert!(r.steps.is_empty(), "{} {}: {:?}", r.kind, r.name, r);
    }
    let by_name = |n: &str| p.resources.iter().find(|r| r.name == n).unwrap();
    let cd = by_name("sdk-classify").datapoints.clone().unwrap();
    // Four datapoints recognised by content; the one with a media_context list is left alone.
    assert_eq!(
        (cd.unchanged, cd.adopted, cd.unmanaged),
        (4, 4, 1),
        "{cd:?}"
    );
    assert!(by_name("sdk-classify").adopt.is_some());
    let ex = by_name("sdk-audience").examples.clone().unwrap();
    assert_eq!(
        (ex.unchanged, ex.adopted, ex.unmanaged),
        (4, 4, 0),
        "{ex:?}"
    );

    // With a project, the audience made outside it is adopted: apply marks it.
    let marked = rapidata(
        &env,
        &project,
        &["plan", "imported", "--project", "import-team"],
    );
    let shown = String::from_utf8_lossy(&marked.stdout).to_string();
    assert!(
        shown.contains("Audience sdk-audience [")
            && shown.contains("— adopt into the project")
            && shown.contains("project: (none) → import-team"),
        "{}",
        text(&marked)
    );

    // A second import into the same directory replaces nothing without --force.
    let before = read("job-definitions/sdk-freetext.yaml");
    let again = rapidata(&env, &project, &["import", "--out", "imported"]);
    assert!(!again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("exist already"), "{}", text(&again));
    assert_eq!(read("job-definitions/sdk-freetext.yaml"), before);
    // Nothing outside the project root.
    let outside = rapidata(&env, &project, &["import", "--out", "../elsewhere"]);
    assert!(!outside.status.success(), "{}", text(&outside));
    assert!(text(&outside).contains("outside the project root"));
    assert!(!env.dir.path().join("elsewhere").exists());

    // Edit two imported manifests: a new instruction, and one more datapoint (an
    // uploaded file, by its remote name).
    std::fs::write(
        dir.join("job-definitions/sdk-freetext.yaml"),
        before.replace(
            "instruction: Describe it",
            "instruction: Describe it briefly",
        ),
    )
    .unwrap();
    let uploaded = names[&img(5)].clone();
    let mut locate_rows = read("job-definitions/sdk-locate.datapoints.jsonl");
    locate_rows.push_str(&format!("{}\n", json!({"asset": {"uploaded": uploaded}})));
    std::fs::write(
        dir.join("job-definitions/sdk-locate.datapoints.jsonl"),
        locate_rows,
    )
    .unwrap();
    let edited = load(&dir);
    let p = plan(&env, &edited, false).await;
    let changed: Vec<&str> = p
        .resources
        .iter()
        .filter(|r| r.has_changes())
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(changed, ["sdk-freetext", "sdk-locate"], "{p:#?}");
    let ft = by_name_in(&p, "sdk-freetext");
    assert_eq!(ft.action, Action::Update);
    assert_eq!(
        ft.changes
            .iter()
            .map(|c| c.field.as_str())
            .collect::<Vec<_>>(),
        ["instruction"]
    );
    assert!(!ft.datapoints.as_ref().unwrap().has_changes());
    let lo = by_name_in(&p, "sdk-locate");
    let d = lo.datapoints.as_ref().unwrap();
    assert_eq!((d.add.len(), d.deletions().count(), d.unchanged), (1, 0, 1));
    assert_eq!(d.upload_assets, 0, "an uploaded file is not uploaded again");
    assert_eq!(lo.steps, [Step::EditDataset]);

    // Applying the edit converges.
    let applied = rapidata(&env, &project, &["apply", "imported", "--auto-approve"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let after = rapidata(&env, &project, &["plan", "imported", "--detailed-exitcode"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
}

fn by_name_in<'a>(p: &'a rapidata::plan::Plan, n: &str) -> &'a rapidata::plan::ResourcePlan {
    p.resources.iter().find(|r| r.name == n).unwrap()
}

/// The `op` of every step of every resource of a JSON plan, by name (those with none left
/// out).
fn json_steps(plan: &Value) -> BTreeMap<String, Vec<String>> {
    plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let ops: Vec<String> = r["steps"]
                .as_array()?
                .iter()
                .map(|s| s["op"].as_str().unwrap().to_string())
                .collect();
            Some((r["name"].as_str().unwrap().to_string(), ops))
        })
        .collect()
}

/// Issue #21: in an `init`-ed project (its rapidata.toml names a project), what `import`
/// writes plans exactly its adoption into the project (one step per resource made outside
/// it, nothing created, replaced or uploaded), apply takes only those steps, and from then
/// on plan exits 0 without an `adopt:` line and apply writes nothing. The marks are what
/// `--prune` goes by afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_into_an_init_project_adopts_once_then_plans_no_change() {
    let env = env(FaultPlan::default()).await;
    let sdk = Sdk::connect(&env).await;
    // Made the SDK's way, outside any project: no marker, no rapidata keys.
    let s = spec(
        Task::Classify {
            instruction: "Is it a cat?".into(),
            answer_options: vec!["yes".into(), "no".into()],
        },
        Referee::default(),
        vec![
            dp(vec![Asset::Text("a cat on a mat".into())]),
            dp(vec![Asset::Text("a dog in a fog".into())]),
        ],
    );
    let def_id = sdk_definition(&sdk, "rt-cats", &s, &[]).await;
    let audience = sdk
        .post(
            "/audience",
            &json!({"name": "rt-fans", "description": "Cat people", "filters": []}),
        )
        .await["audienceId"]
        .as_str()
        .unwrap()
        .to_string();
    sdk.post(
        "/job",
        &wire_build::job_body(&def_id, &audience, Some(1), "rt-cats-fans"),
    )
    .await;

    let root = env.dir.path().join("roundtrip");
    let init = rapidata(
        &env,
        env.dir.path(),
        &["init", "roundtrip", "--name", "rt-team", "-q"],
    );
    assert!(init.status.success(), "{}", text(&init));
    std::fs::remove_file(root.join("manifests/example.yaml")).unwrap();
    let imported = rapidata(&env, &root, &["import", "--out", "manifests/imported"]);
    assert!(imported.status.success(), "{}", text(&imported));
    assert!(
        String::from_utf8_lossy(&imported.stdout)
            .contains("adopting those made outside project `rt-team`"),
        "{}",
        text(&imported)
    );

    // The first plan: exactly the adoption, one named step each, nothing else.
    let first = rapidata(&env, &root, &["plan", "--detailed-exitcode"]);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first));
    let shown = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        shown.contains("Plan: 0 to create, 0 to change, 0 to replace, 0 to delete, 2 to adopt into the project; 0 datapoints to upload"),
        "{}",
        text(&first)
    );
    for header in ["~ Audience rt-fans [", "~ JobDefinition rt-cats ["] {
        let line = shown
            .lines()
            .find(|l| l.contains(header))
            .unwrap_or_default();
        assert!(
            line.ends_with("— adopt into the project"),
            "{line:?}\n{shown}"
        );
    }
    assert_eq!(shown.matches("adopt: ").count(), 2, "{shown}");
    assert_eq!(
        shown.matches("1. adopt it into project `rt-team`").count(),
        2,
        "{shown}"
    );
    let json_plan = rapidata(&env, &root, &["plan", "--format", "json"]);
    let p: Value = serde_json::from_slice(&json_plan.stdout).unwrap();
    assert_eq!(
        json_steps(&p),
        BTreeMap::from([
            ("rt-cats".to_string(), vec!["adoptIntoProject".to_string()]),
            ("rt-fans".to_string(), vec!["adoptIntoProject".to_string()]),
        ]),
        "{p:#}"
    );
    let adopted: Vec<&Value> = p["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "adopt")
        .collect();
    assert_eq!(adopted.len(), 2, "{p:#}");
    assert!(adopted.iter().all(|r| r["relabel"].is_null()), "{p:#}");
    assert!(p["resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["cost"]["starts"] != true));

    // Apply takes exactly those two steps: the marks, nothing else.
    env.emulator.reset_stats();
    let applied = rapidata(&env, &root, &["apply", "--auto-approve"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let stats = env.emulator.stats();
    assert_eq!(
        stats.get("PATCH /audience/{audienceId}"),
        1,
        "{:?}",
        stats.routes()
    );
    assert_eq!(
        stats.get("PATCH /dataset/{datasetId}/name"),
        1,
        "{:?}",
        stats.routes()
    );
    assert_eq!(stats.writes(), 2, "{:?}", stats.routes());
    let fans = env.client.find_audiences("rt-fans").await.unwrap();
    assert_eq!(
        fans[0].description.as_deref(),
        Some(format!("Cat people\n\n{}", wire_build::audience_marker("rt-team")).as_str()),
        "the text is kept, the marker added"
    );
    assert!(fans[0].filters.is_empty());
    let rev = env.client.latest_revision(&def_id).await.unwrap();
    assert_eq!(
        env.client.dataset_name(&rev.dataset_id).await.unwrap(),
        rapidata::plan::dataset_name("rt-cats", Some("rt-team"))
    );

    // From then on: no change, no adoption, and apply writes nothing.
    let after = rapidata(&env, &root, &["plan", "--detailed-exitcode"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    assert!(!text(&after).contains("adopt"), "{}", text(&after));
    let json_after = rapidata(&env, &root, &["plan", "--format", "json"]);
    let p: Value = serde_json::from_slice(&json_after.stdout).unwrap();
    assert!(json_steps(&p).is_empty(), "{p:#}");
    assert!(
        p["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["adopt"].is_null()),
        "{p:#}"
    );
    env.emulator.reset_stats();
    let again = rapidata(&env, &root, &["apply", "--auto-approve"]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        env.emulator.stats().writes(),
        0,
        "{:?}",
        env.emulator.stats().routes()
    );

    // The marks are the project's: without the manifests, `--prune` deletes what was
    // adopted (and only the plan says so: nothing is applied here).
    std::fs::remove_dir_all(root.join("manifests/imported")).unwrap();
    std::fs::write(
        root.join("manifests/other.yaml"),
        "apiVersion: rapidata.ai/v1\nkind: Audience\nname: rt-other\n",
    )
    .unwrap();
    let pruned = rapidata(&env, &root, &["plan", "--prune", "--format", "json"]);
    assert!(pruned.status.success(), "{}", text(&pruned));
    let p: Value = serde_json::from_slice(&pruned.stdout).unwrap();
    let deleted: BTreeMap<String, String> = p["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "delete")
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        deleted.get("JobDefinition").map(String::as_str),
        Some("rt-cats"),
        "{p:#}"
    );
    assert_eq!(
        deleted.get("Audience").map(String::as_str),
        Some("rt-fans"),
        "{p:#}"
    );
}
