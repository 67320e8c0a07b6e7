//! Adoption of datapoints made by other tools: a remote datapoint without rapidata's key
//! metadata (made with the SDK or the web app) is recognised by its content. Its identity
//! comes from what the listing shows (`remote::content_identity`); here each manifest
//! datapoint gets the same identity from the same fields (its *visible* content), and the
//! two are paired one to one.
//!
//! The listing does not show `privateMetadata` or `group` (contract fact 7), and rapidata
//! itself sends no `context` on a datapoint in a group (it goes to the group). So the
//! visible content is: the assets, the context and context asset unless the datapoint is in
//! a group, and the sentence of a select-words task. A manifest datapoint whose private
//! metadata or group differs is still recognised by the rest; that is all the API lets
//! anyone compare.
//!
//! An adopted datapoint whose content matches counts as unchanged (nothing is written). One
//! whose content matches but whose answer options differ is changed (deleted, then
//! uploaded with the manifest's options), exactly like a datapoint rapidata made. One that
//! matches nothing stays unmanaged and is never deleted, with or without prune. A manifest
//! key that a datapoint rapidata made already holds is not adopted a second time, and two
//! remote copies of one content adopt at most as many manifest datapoints as have it: the
//! others stay unmanaged.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::manifest::fingerprint::{fingerprint, fingerprint_key, with_answer_options, Content};
use std::ops::ControlFlow;

use super::remote_set::RemoteSet;
use crate::manifest::{Datapoint, LabelingSpec, Task};
use crate::remote::RemoteDatapoint;

/// An adopted remote datapoint: the manifest key it is, and whether its content (with its
/// answer options) is the manifest's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub key: String,
    pub same: bool,
}

/// The fingerprint of what a datapoint listing would show of `dp` once uploaded by
/// rapidata (`remote::content_identity` computes the same from a listed datapoint).
pub fn visible_fingerprint(task: &Task, dp: &Datapoint) -> String {
    let grouped = dp.group.is_some();
    let none = std::collections::BTreeMap::new();
    fingerprint(&Content {
        assets: &dp.assets,
        context: dp.context.as_deref().filter(|_| !grouped),
        context_asset: dp.context_asset.as_ref().filter(|_| !grouped),
        private_metadata: &none,
        group: None,
        sentence: dp
            .sentence
            .as_deref()
            .filter(|_| matches!(task, Task::SelectWords { .. })),
    })
}

/// The adopted remote datapoints among those not kept while observing, by remote id,
/// paired with the manifest datapoints of `spec` that have their content and no kept or
/// managed copy. Empty (and free: the manifest's content is only read again when there
/// is a candidate) when none is adopted.
pub fn adopt<'a>(spec: &LabelingSpec, remote: &'a RemoteSet) -> HashMap<&'a str, Adopted> {
    let mut out = HashMap::new();
    let mut candidates: Vec<&RemoteDatapoint> =
        remote.rest().iter().filter(|r| r.adopted).collect();
    if candidates.is_empty() {
        return out;
    }
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    let managed: HashSet<&str> = remote
        .rest()
        .iter()
        .filter(|r| !r.adopted)
        .filter_map(|r| r.key.as_deref())
        .collect();
    let mut by_content: HashMap<String, VecDeque<(String, String)>> = HashMap::new();
    // A source changed since it was read: nothing more is adopted (apply reads it again
    // and stops with the error).
    let _ = spec.datapoints.for_each(|i, dp| {
        if remote.is_kept(i) || managed.contains(dp.key.as_str()) {
            return ControlFlow::Continue(());
        }
        let visible = visible_fingerprint(&spec.task, dp);
        let stored = match &spec.task {
            Task::Classify { answer_options, .. } => with_answer_options(&visible, answer_options),
            _ => visible.clone(),
        };
        by_content
            .entry(fingerprint_key(&visible))
            .or_default()
            .push_back((dp.key.clone(), stored));
        ControlFlow::Continue(())
    });
    for r in candidates {
        let Some(k) = &r.key else { continue };
        if let Some((key, stored)) = by_content.get_mut(k).and_then(VecDeque::pop_front) {
            out.insert(
                r.id.as_str(),
                Adopted {
                    key,
                    same: r.fingerprint.as_ref().is_some_and(|f| f.is(&stored)),
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::manifest::{Asset, Origin, Referee};
    use crate::plan::datapoint_plan;
    use crate::remote::content_identity::{identity, ListedAsset, ListedDatapoint};

    /// A manifest datapoint as `manifest::load` builds it (key from the full fingerprint).
    fn manifest_dp(text: &str, group: Option<&str>, meta: &[(&str, &str)]) -> Datapoint {
        let assets = vec![Asset::Text(text.into())];
        let private_metadata: BTreeMap<String, String> = meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let fp = fingerprint(&Content {
            assets: &assets,
            context: None,
            context_asset: None,
            private_metadata: &private_metadata,
            group,
            sentence: None,
        });
        Datapoint {
            key: fingerprint_key(&fp),
            explicit_key: false,
            fingerprint: fp,
            origin: Origin {
                file: std::path::Path::new("m.yaml").into(),
                line: 1,
                column: 1,
            },
            assets,
            context: None,
            context_asset: None,
            private_metadata,
            group: group.map(Into::into),
            sentence: None,
        }
    }

    fn spec(task: Task, dps: Vec<Datapoint>) -> LabelingSpec {
        LabelingSpec {
            validation_set: None,
            task,
            referee: Referee::default(),
            settings: BTreeMap::new(),
            failure_tolerance: 0.0,
            prune: true,
            datapoints: crate::manifest::Datapoints::from_vec(dps),
        }
    }

    /// A datapoint made by the SDK, as the listing shows it and `wire_page` reads it.
    fn sdk(id: &str, text: &str, options: Option<&[&str]>) -> RemoteDatapoint {
        let listed = ListedDatapoint {
            id: id.into(),
            asset: Some(ListedAsset::Text(text.into())),
            answer_options: options
                .map(|o| o.iter().map(|x| (x.to_string(), x.to_string())).collect()),
            ..Default::default()
        };
        let (key, fp) = identity(&listed).unwrap();
        RemoteDatapoint {
            id: id.into(),
            key: Some(key),
            fingerprint: Some(fp.into()),
            files: Vec::new(),
            adopted: true,
            answer_options: options.map(|o| o.iter().map(|x| x.to_string()).collect()),
        }
    }

    fn classify(options: &[&str]) -> Task {
        Task::Classify {
            instruction: "Which?".into(),
            answer_options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn sdk_datapoints_with_the_manifest_content_are_unchanged() {
        let s = spec(classify(&["a", "b"]), vec![manifest_dp("one", None, &[])]);
        let remote = [
            sdk("r1", "one", Some(&["a", "b"])),
            // No manifest datapoint has this content: unmanaged, never removed (prune on).
            sdk("r2", "two", Some(&["a", "b"])),
        ];
        let p = datapoint_plan(
            &s,
            &RemoteSet::from_list(&s, remote.to_vec()),
            Some("ds".into()),
            true,
        );
        assert_eq!((p.unchanged, p.adopted, p.unmanaged), (1, 1, 1), "{p:?}");
        assert!(!p.has_changes(), "{p:?}");
    }

    #[test]
    fn other_answer_options_leave_the_adopted_datapoint_as_it_is() {
        // The options are the revision's (`ShownOptions`): the content is the manifest's.
        let s = spec(classify(&["a", "c"]), vec![manifest_dp("one", None, &[])]);
        let r = RemoteSet::from_list(&s, vec![sdk("r1", "one", Some(&["a", "b"]))]);
        let p = datapoint_plan(&s, &r, None, false);
        assert_eq!((p.unchanged, p.adopted), (1, 1), "{p:?}");
        assert!(!p.has_changes(), "{p:?}");
        // Other content is changed, whatever options it carries.
        let r = RemoteSet::from_list(&s, vec![sdk("r1", "two", Some(&["a", "c"]))]);
        let p = datapoint_plan(&s, &r, None, true);
        assert_eq!((p.unchanged, p.unmanaged), (0, 1), "{p:?}");
        assert_eq!(p.add.len(), 1);
    }

    #[test]
    fn group_and_private_metadata_are_not_visible_so_not_compared() {
        let task = Task::Ranking {
            instruction: "Rank".into(),
            comparison_budget_per_ranking: 1,
            responses_per_comparison: 1,
        };
        let s = spec(
            task,
            vec![
                manifest_dp("x", Some("g1"), &[("id", "7")]),
                manifest_dp("y", Some("g1"), &[]),
            ],
        );
        let r = RemoteSet::from_list(&s, vec![sdk("r1", "x", None), sdk("r2", "y", None)]);
        let p = datapoint_plan(&s, &r, None, true);
        assert_eq!((p.unchanged, p.adopted), (2, 2), "{p:?}");
        assert!(!p.has_changes());
    }

    #[test]
    fn copies_adopt_once_and_never_beside_a_managed_datapoint() {
        let one = manifest_dp("one", None, &[]);
        let two = manifest_dp("two", None, &[]);
        let s = spec(
            Task::FreeText {
                instruction: "Describe".into(),
            },
            vec![one.clone(), two],
        );
        let managed = RemoteDatapoint {
            id: "m1".into(),
            key: Some(one.key.clone()),
            fingerprint: Some(one.fingerprint.as_str().into()),
            files: Vec::new(),
            adopted: false,
            answer_options: None,
        };
        let remote = [
            managed,
            sdk("r1", "one", None),
            sdk("r2", "two", None),
            sdk("r3", "two", None),
        ];
        let p = datapoint_plan(&s, &RemoteSet::from_list(&s, remote.to_vec()), None, true);
        // `one` is the managed copy; `two` adopts r2; r1 and r3 are left alone.
        assert_eq!((p.unchanged, p.adopted, p.unmanaged), (2, 1, 2), "{p:?}");
        assert!(!p.has_changes(), "{p:?}");
    }
}
