//! Every job type survives the round trip: apply it, plan again, and nothing is left to
//! do. Catches any field the wire builders send differently from what the diff expects.

use crate::harness;

use harness::*;
use rapidata::emulator::FaultPlan;
use rapidata::plan::Action;

const MANIFEST: &str = r#"
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-classify
type: classify
instruction: Which animal?
answerOptions: [cat, dog]
datapoints:
  - asset: a.png
    context: some context
  - asset: b.png
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
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-freetext
type: freeText
instruction: Describe it
referee:
  earlyStopping: {confidenceThreshold: 0.9, maxVotes: 5}
settings: {some_flag: "1"}
datapoints:
  - asset: {text: "a sentence to describe"}
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-locate
type: locate
instruction: Click the cat
datapoints:
  - asset: a.png
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-draw
type: draw
instruction: Trace the road
datapoints:
  - asset: b.png
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-selectwords
type: selectWords
instruction: Select the words you hear
datapoints:
  - asset: a.png
    sentence: the quick brown fox
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-timestamp
type: timestamp
instruction: When does the dog bark?
datapoints:
  - asset: c.mp3
---
apiVersion: rapidata.ai/v1
kind: JobDefinition
name: t-ranking
type: ranking
instruction: Which is cuter?
comparisonBudgetPerRanking: 10
responsesPerComparison: 1
datapoints:
  - asset: a.png
    group: g1
  - asset: b.png
    group: g1
"#;

#[tokio::test]
async fn every_job_type_converges_and_then_plans_no_change() {
    let env = env(FaultPlan::default()).await;
    let root = env.dir.path().join("types");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.png"), png(1)).unwrap();
    std::fs::write(root.join("b.png"), png(2)).unwrap();
    std::fs::write(
        root.join("c.mp3"),
        b"ID3\x04\0\0\0\0\0\0rapidata-test-audio",
    )
    .unwrap();
    std::fs::write(root.join("types.yaml"), MANIFEST).unwrap();
    let project = load(&root);
    assert_eq!(project.resources.len(), 8);
    let out = apply(&env, &project, 2).await;
    assert!(out.converged(), "{:#?}", out.report);
    let again = plan(&env, &project, true).await;
    for r in &again.resources {
        assert_eq!(
            r.action,
            Action::NoChange,
            "{} {}: {:?}",
            r.kind,
            r.name,
            r.changes
        );
        assert!(!r.datapoints.as_ref().unwrap().has_changes(), "{}", r.name);
    }
}
