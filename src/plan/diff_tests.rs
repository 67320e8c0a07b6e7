//! Unit tests of the datapoint diff rules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::datapoints::datapoint_plan;
use super::identity::remote_fingerprint;
use super::remote_set::RemoteSet;
use crate::manifest::{Asset, Datapoint, LabelingSpec, Origin, Referee, Task};
use crate::remote::RemoteDatapoint;

fn dp(key: &str, fp: &str, explicit: bool) -> Datapoint {
    Datapoint {
        key: key.into(),
        explicit_key: explicit,
        fingerprint: fp.into(),
        origin: Origin {
            file: std::path::Path::new("m.yaml").into(),
            line: 1,
            column: 1,
        },
        assets: vec![Asset::File {
            path: PathBuf::from(format!("/x/{key}.png")),
            file_name: format!("{key}.png"),
            size: 100,
            content_hash: format!("h-{fp}"),
        }],
        context: None,
        context_asset: None,
        private_metadata: BTreeMap::new(),
        group: None,
        sentence: None,
    }
}

fn spec(dps: Vec<Datapoint>) -> LabelingSpec {
    LabelingSpec {
        validation_set: None,
        task: Task::FreeText {
            instruction: "Describe".into(),
        },
        referee: Referee::default(),
        settings: BTreeMap::new(),
        failure_tolerance: 0.0,
        prune: false,
        datapoints: crate::manifest::Datapoints::from_vec(dps),
    }
}

fn remote(id: &str, key: Option<&str>, fp: Option<&str>) -> RemoteDatapoint {
    RemoteDatapoint {
        id: id.into(),
        key: key.map(Into::into),
        fingerprint: fp.map(Into::into),
        files: Vec::new(),
        adopted: false,
        answer_options: None,
    }
}

#[test]
fn empty_remote_uploads_everything_and_counts_distinct_assets() {
    let mut a = dp("a", "fa", false);
    let b = dp("b", "fb", false);
    // Same bytes as b: one upload.
    if let Asset::File { content_hash, .. } = &mut a.assets[0] {
        *content_hash = "h-fb".into();
    }
    let s = spec(vec![a, b]);
    let p = datapoint_plan(&s, &RemoteSet::empty(), None, false);
    assert_eq!(p.add, vec!["a", "b"]);
    assert_eq!(p.upload_assets, 1);
    assert_eq!(p.upload_bytes, 100);
    assert!(p.has_changes());
}

#[test]
fn seeded_remote_gives_exact_counts() {
    let s = spec(vec![
        dp("keep", "f1", false),
        dp("missing", "f2", false),
        dp("changed", "new", true),
        dp("dup", "f4", false),
    ]);
    let r = vec![
        remote("1", Some("keep"), Some("f1")),
        remote("2", Some("changed"), Some("old")),
        remote("3", Some("dup"), Some("f4")),
        remote("4", Some("dup"), Some("f4")),
        remote("5", Some("dup"), Some("f4")),
        remote("6", Some("extra"), Some("fx")),
        remote("7", None, None),
        remote("8", None, None),
    ];
    let p = datapoint_plan(
        &s,
        &RemoteSet::from_list(&s, r.clone()),
        Some("ds".into()),
        false,
    );
    assert_eq!(p.add, vec!["missing", "changed"]);
    assert_eq!(
        p.changed.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        vec!["2"]
    );
    assert_eq!(
        p.duplicates
            .iter()
            .map(|x| x.id.as_str())
            .collect::<Vec<_>>(),
        vec!["4", "5"]
    );
    assert_eq!(p.unchanged, 2);
    assert_eq!(p.unmanaged, 2);
    assert!(p.remove.is_empty(), "no prune: the extra is kept");
    assert_eq!(p.orphaned, 1);

    let pruned = datapoint_plan(
        &s,
        &RemoteSet::from_list(&s, r.clone()),
        Some("ds".into()),
        true,
    );
    assert_eq!(
        pruned
            .remove
            .iter()
            .map(|x| x.id.as_str())
            .collect::<Vec<_>>(),
        vec!["6"]
    );
    assert_eq!(pruned.orphaned, 0);
    assert_eq!(pruned.deletions().count(), 4);
}

#[test]
fn converged_remote_has_no_changes() {
    let s = spec(vec![dp("a", "fa", false), dp("b", "fb", false)]);
    let r = vec![
        remote("1", Some("a"), Some("fa")),
        remote("2", Some("b"), Some("fb")),
    ];
    let p = datapoint_plan(
        &s,
        &RemoteSet::from_list(&s, r.clone()),
        Some("ds".into()),
        true,
    );
    assert!(!p.has_changes());
    assert_eq!(p.unchanged, 2);
}

#[test]
fn answer_options_are_part_of_the_remote_fingerprint() {
    let d = dp("a", "fa", false);
    let t1 = Task::Classify {
        instruction: "x".into(),
        answer_options: vec!["cat".into(), "dog".into()],
    };
    let t2 = Task::Classify {
        instruction: "x".into(),
        answer_options: vec!["cat".into(), "bird".into()],
    };
    assert_ne!(remote_fingerprint(&t1, &d), remote_fingerprint(&t2, &d));
    assert_eq!(
        remote_fingerprint(&t1, &d),
        remote_fingerprint(&t1.clone(), &d.clone())
    );
    // Shown nothing of what it carries, a datapoint is compared with the manifest's
    // options: other options are other content.
    let mut s = spec(vec![d.clone()]);
    s.task = t2.clone();
    let r = vec![remote("1", Some("a"), Some(&remote_fingerprint(&t1, &d)))];
    let p = datapoint_plan(
        &s,
        &RemoteSet::from_list(&s, r.clone()),
        Some("ds".into()),
        false,
    );
    assert_eq!(p.changed.len(), 1);
    assert_eq!(p.add, vec!["a"]);
}

#[test]
fn a_datapoint_is_compared_with_the_options_it_carries() {
    let d = dp("a", "fa", false);
    let old = Task::Classify {
        instruction: "x".into(),
        answer_options: vec!["cat".into(), "dog".into()],
    };
    let mut s = spec(vec![d.clone()]);
    s.task = Task::Classify {
        instruction: "x".into(),
        answer_options: vec!["cat".into(), "bird".into()],
    };
    let carrying = |options: &[&str], fp: &str| RemoteDatapoint {
        answer_options: Some(options.iter().map(|o| o.to_string()).collect()),
        ..remote("1", Some("a"), Some(fp))
    };
    // Uploaded with the old options and carrying them: the same content; the options are
    // the revision's to change (`plan::observe::ShownOptions`).
    let set = RemoteSet::from_list(
        &s,
        vec![carrying(&["cat", "dog"], &remote_fingerprint(&old, &d))],
    );
    let p = datapoint_plan(&s, &set, Some("ds".into()), false);
    assert!(!p.has_changes(), "{p:?}");
    assert_eq!(
        set.carried_options(),
        &super::remote_set::Carried::Same(["cat".to_string(), "dog".to_string()].into())
    );
    // A stored fingerprint that is not the content with the options it carries: changed.
    let set = RemoteSet::from_list(&s, vec![carrying(&["cat"], &remote_fingerprint(&old, &d))]);
    let p = datapoint_plan(&s, &set, Some("ds".into()), false);
    assert_eq!(p.changed.len(), 1);
    // Datapoints that carry different options.
    let mut two = vec![carrying(&["cat", "dog"], &remote_fingerprint(&old, &d))];
    two.push(RemoteDatapoint {
        id: "2".into(),
        ..carrying(&["cat"], "other")
    });
    let set = RemoteSet::from_list(&s, two);
    assert_eq!(set.carried_options(), &super::remote_set::Carried::Mixed);
}
