//! Desired-state values for wire tests.
use std::collections::BTreeMap;
use std::path::PathBuf;

use rapidata::manifest::model::*;

pub fn origin() -> Origin {
    Origin {
        file: std::path::Path::new("jobs.yaml").into(),
        line: 1,
        column: 1,
    }
}

pub fn file_asset(name: &str) -> Asset {
    Asset::File {
        path: PathBuf::from(format!("/data/{name}")),
        file_name: name.to_string(),
        size: 10,
        content_hash: format!("hash-{name}"),
    }
}

pub fn dp(key: &str, assets: Vec<Asset>) -> Datapoint {
    Datapoint {
        key: key.to_string(),
        explicit_key: true,
        fingerprint: format!("fp-{key}"),
        origin: origin(),
        assets,
        context: None,
        context_asset: None,
        private_metadata: BTreeMap::new(),
        group: None,
        sentence: None,
    }
}

/// "Uploaded" names: `up_<file name>` for files, `up_url_<n>` for URLs.
pub fn uploaded(a: &Asset) -> Option<String> {
    match a {
        Asset::File { file_name, .. } => Some(format!("up_{file_name}")),
        Asset::Url(u) => Some(format!("up_url_{}", u.len())),
        Asset::Text(_) => None,
        Asset::Uploaded(name) => Some(name.clone()),
    }
}

pub fn all_tasks() -> Vec<Task> {
    let i = || "Which one?".to_string();
    vec![
        Task::Classify {
            instruction: i(),
            answer_options: vec!["yes".into(), "no".into()],
        },
        Task::Compare { instruction: i() },
        Task::FreeText { instruction: i() },
        Task::Locate { instruction: i() },
        Task::Draw { instruction: i() },
        Task::SelectWords { instruction: i() },
        Task::Timestamp { instruction: i() },
        Task::Ranking {
            instruction: i(),
            comparison_budget_per_ranking: 30,
            responses_per_comparison: 2,
        },
    ]
}

pub fn all_referees() -> Vec<Referee> {
    vec![
        Referee::Naive {
            responses_per_datapoint: 5,
        },
        Referee::Quorum {
            threshold: 3,
            max_votes: 7,
        },
        Referee::EarlyStopping {
            confidence_threshold: 0.99,
            max_votes: 9,
        },
    ]
}

/// Datapoints exercising every segment the task allows.
pub fn datapoints_for(task: &Task) -> Vec<Datapoint> {
    let mut out = Vec::new();
    let two = matches!(task, Task::Compare { .. });
    for (n, first) in [
        file_asset("a.png"),
        Asset::Url("https://example.com/b.jpg".into()),
        Asset::Text("some text".into()),
    ]
    .into_iter()
    .enumerate()
    {
        let assets = if two {
            vec![first.clone(), file_asset("other.png")]
        } else {
            vec![first]
        };
        let mut d = dp(&format!("k{n}"), assets);
        d.context = Some(format!("context {n}"));
        if n == 0 {
            d.context_asset = Some(file_asset("ctx.png"));
            d.private_metadata.insert("source".into(), "batch-7".into());
        }
        if n == 1 {
            d.context_asset = Some(Asset::Text("context as text".into()));
        }
        if matches!(task, Task::SelectWords { .. }) {
            d.sentence = Some("the quick brown fox".into());
        }
        if matches!(task, Task::Ranking { .. }) {
            d.group = Some(format!("g{}", n % 2));
        }
        out.push(d);
    }
    out
}

pub fn spec(task: Task, referee: Referee, settings: &[(&str, &str)]) -> LabelingSpec {
    LabelingSpec {
        validation_set: None,
        datapoints: rapidata::manifest::Datapoints::from_vec(datapoints_for(&task)),
        task,
        referee,
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        failure_tolerance: 0.0,
        prune: false,
    }
}

pub fn audience(filters: Vec<serde_json::Value>, description: Option<&str>) -> Audience {
    Audience {
        base: None,
        name: "my-audience".into(),
        origin: origin(),
        description: description.map(str::to_string),
        filters,
        admission: None,
        recruit: true,
        prune: false,
        examples: Vec::new(),
        renamed_from: Vec::new(),
    }
}
