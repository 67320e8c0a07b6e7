//! Desired state → request bodies, byte-for-byte what SDK 3.27.1 sends for the same job.
//!
//! Pure functions, so plans can compare bodies and tests can pin them against the SDK's
//! recorded wire examples. Null handling follows the SDK's generated models: a nullable
//! field goes out as explicit `null` only where the SDK sets it explicitly; other unset
//! fields are left out.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::manifest::model::{Asset, Audience, Datapoint, LabelingSpec, Referee, Task};
use crate::remote::model::{RevisionCarryOver, FINGERPRINT_METADATA, KEY_METADATA};

/// Groups of at most this many items are ranked by all pairs (the SDK's threshold).
const FULL_PERMUTATION_GROUP_SIZE_THRESHOLD: u64 = 10;
const BRADLEY_TERRY_DEFAULT_STARTING_SCORE: u64 = 1200;
/// The SDK's default `random_comparisons_ratio`.
const RANDOM_COMPARISONS_RATIO: f64 = 0.5;

fn segment_def(key: &str, kind: &str, label: &str, required: bool) -> Value {
    json!({ "key": key, "kind": kind, "label": label, "required": required })
}

/// The SDK's `build_schema`: asset, context, context_asset, plus the workflow's segments.
pub fn dataset_schema(task: &Task) -> Vec<Value> {
    let mut context = segment_def("context", "Text", "Context", false);
    context["maxLength"] = json!(400);
    let mut out = vec![
        segment_def("asset", "Asset", "Asset", true),
        context,
        segment_def("context_asset", "Asset", "Context asset", false),
    ];
    match task {
        Task::Classify { .. } => out.push(segment_def(
            "answer_options",
            "OptionList",
            "Answer options",
            true,
        )),
        Task::SelectWords { .. } => {
            out.push(segment_def("transcription", "Text", "Transcription", true))
        }
        _ => {}
    }
    out
}

/// `POST /dataset`: a schema only for a workflow with segments of its own (answer options,
/// transcription); the others get the server's default schema (`schema: null`), as the
/// SDK's `_create_dataset` sends `build_schema(required) if required else None`.
pub fn dataset_body(name: &str, task: &Task) -> Value {
    let own_segments = matches!(task, Task::Classify { .. } | Task::SelectWords { .. });
    let schema = if own_segments {
        json!(dataset_schema(task))
    } else {
        Value::Null
    };
    json!({ "name": name, "schema": schema })
}

/// One asset as an input model (`TextAssetInput`, `ExistingAssetInput`); `None` when it
/// has not been uploaded.
pub(crate) fn asset_input(
    asset: &Asset,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<Value> {
    serde_json::to_value(wire_asset(asset, uploaded)?).ok()
}

/// The asset of a datapoint or example with the key and fingerprint that identify it
/// (customer-only metadata): a `MultiAssetInput` of all of `assets` when `multi`, else the
/// first. `None` when an asset has not been uploaded.
pub(crate) fn identified_asset(
    assets: &[Asset],
    multi: bool,
    key: &str,
    fingerprint: &str,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<Value> {
    serde_json::to_value(wire_identified_asset(
        assets,
        multi,
        key,
        fingerprint,
        uploaded,
    )?)
    .ok()
}

/// `[{"label": o, "value": o}, ...]`, the SDK's categories of answer options.
pub(crate) fn answer_option_list(options: &[String]) -> Value {
    serde_json::to_value(LabelValues(options)).unwrap_or_default()
}

/// `POST /dataset/{id}/datapoint`. `None` when an asset has not been uploaded.
///
/// The key and fingerprint ride along as customer-only metadata on the top-level asset,
/// so one listing of the dataset tells `plan` which datapoints it manages. Like the SDK,
/// a datapoint in a `group` carries no context: that belongs to the group
/// ([`group_body`]). `sortIndex` is `null`: it is not a stable identity.
pub fn datapoint_body(
    task: &Task,
    dp: &Datapoint,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<Value> {
    let wire = datapoint_wire(task, dp, &dp.fingerprint, uploaded)?;
    // Serialising these types cannot fail: every map key is a string.
    serde_json::to_value(&wire).ok()
}

/// [`datapoint_body`] as the bytes apply sends, with `fingerprint` as the datapoint's
/// fingerprint: serialised straight from borrowed parts, without a `Value` tree (which
/// cost more CPU than the rest of a create, issue #24).
pub fn datapoint_body_json(
    task: &Task,
    dp: &Datapoint,
    fingerprint: &str,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<Vec<u8>> {
    let wire = datapoint_wire(task, dp, fingerprint, uploaded)?;
    serde_json::to_vec(&wire).ok()
}

fn datapoint_wire<'a>(
    task: &'a Task,
    dp: &'a Datapoint,
    fingerprint: &'a str,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<WireDatapoint<'a>> {
    let multi = matches!(task, Task::Compare { .. }) || dp.assets.len() > 1;
    let asset = wire_identified_asset(&dp.assets, multi, &dp.key, fingerprint, uploaded)?;
    let mut segments = vec![WireSegment::asset("asset", asset)];
    if dp.group.is_none() {
        if let Some(context) = &dp.context {
            segments.push(WireSegment::text("context", context));
        }
        if let Some(ca) = &dp.context_asset {
            segments.push(WireSegment::asset(
                "context_asset",
                wire_asset(ca, uploaded)?,
            ));
        }
    }
    if let (Task::SelectWords { .. }, Some(sentence)) = (task, &dp.sentence) {
        segments.push(WireSegment::text("transcription", sentence));
    }
    if let Task::Classify { answer_options, .. } = task {
        segments.push(WireSegment {
            key: "answer_options",
            kind: "OptionList",
            options: Some(LabelValues(answer_options)),
            ..WireSegment::default()
        });
    }
    Some(WireDatapoint {
        segments,
        sort_index: (),
        group: dp.group.as_deref(),
        private_metadata: (!dp.private_metadata.is_empty()).then_some(&dp.private_metadata),
    })
}

fn wire_identified_asset<'a>(
    assets: &'a [Asset],
    multi: bool,
    key: &'a str,
    fingerprint: &'a str,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<WireAsset<'a>> {
    let mut asset = if multi {
        let assets = assets
            .iter()
            .map(|a| wire_asset(a, uploaded))
            .collect::<Option<Vec<_>>>()?;
        WireAsset::of("MultiAssetInput").with_assets(assets)
    } else {
        wire_asset(assets.first()?, uploaded)?
    };
    asset.metadata = Some(IdentityMetadata { key, fingerprint });
    Some(asset)
}

fn wire_asset<'a>(
    asset: &'a Asset,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<WireAsset<'a>> {
    Some(match asset {
        Asset::Text(text) => WireAsset {
            text: Some(text),
            ..WireAsset::of("TextAssetInput")
        },
        // Already on Rapidata: referred to by its name, as the SDK refers to a file it
        // uploaded (`ExistingAssetInput`), and as a new dataset reuses uploaded files.
        Asset::Uploaded(name) => WireAsset {
            name: Some(std::borrow::Cow::Borrowed(name)),
            ..WireAsset::of("ExistingAssetInput")
        },
        Asset::File { .. } | Asset::Url(_) => WireAsset {
            name: Some(std::borrow::Cow::Owned(uploaded(asset)?)),
            ..WireAsset::of("ExistingAssetInput")
        },
    })
}

// The datapoint body's wire types, fields in the order the SDK's models send them.

#[derive(serde::Serialize)]
struct WireDatapoint<'a> {
    segments: Vec<WireSegment<'a>>,
    #[serde(rename = "sortIndex")]
    sort_index: (),
    group: Option<&'a str>,
    #[serde(rename = "privateMetadata")]
    private_metadata: Option<&'a BTreeMap<String, String>>,
}

#[derive(serde::Serialize, Default)]
struct WireSegment<'a> {
    key: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset: Option<WireAsset<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<LabelValues<'a>>,
}

impl<'a> WireSegment<'a> {
    fn asset(key: &'static str, asset: WireAsset<'a>) -> Self {
        WireSegment {
            key,
            kind: "Asset",
            asset: Some(asset),
            ..WireSegment::default()
        }
    }
    fn text(key: &'static str, text: &'a str) -> Self {
        WireSegment {
            key,
            kind: "Text",
            text: Some(text),
            ..WireSegment::default()
        }
    }
}

#[derive(serde::Serialize, Default)]
struct WireAsset<'a> {
    #[serde(rename = "_t")]
    t: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assets: Option<Vec<WireAsset<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<IdentityMetadata<'a>>,
}

impl<'a> WireAsset<'a> {
    fn of(t: &'static str) -> Self {
        WireAsset {
            t,
            ..WireAsset::default()
        }
    }
    fn with_assets(mut self, assets: Vec<WireAsset<'a>>) -> Self {
        self.assets = Some(assets);
        self
    }
}

/// `{KEY_METADATA: text, FINGERPRINT_METADATA: text}`, customer-only text metadata.
struct IdentityMetadata<'a> {
    key: &'a str,
    fingerprint: &'a str,
}

impl serde::Serialize for IdentityMetadata<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(KEY_METADATA, &TextMetadata(self.key))?;
        m.serialize_entry(FINGERPRINT_METADATA, &TextMetadata(self.fingerprint))?;
        m.end()
    }
}

/// `{"_t": "TextMetadataInput", "text": ..., "visibilities": ["Customers"]}`.
struct TextMetadata<'a>(&'a str);

impl serde::Serialize for TextMetadata<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("_t", "TextMetadataInput")?;
        m.serialize_entry("text", self.0)?;
        m.serialize_entry("visibilities", &["Customers"])?;
        m.end()
    }
}

/// Answer options as `[{"label": o, "value": o}, ...]`.
struct LabelValues<'a>(&'a [String]);

impl serde::Serialize for LabelValues<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct One<'b>(&'b str);
        impl serde::Serialize for One<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("label", self.0)?;
                m.serialize_entry("value", self.0)?;
                m.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for o in self.0 {
            seq.serialize_element(&One(o))?;
        }
        seq.end()
    }
}

/// `POST /dataset/{id}/group`: the context a group of datapoints shares (the SDK takes it
/// from the group's first datapoint).
pub fn group_body(
    group: &str,
    dp: &Datapoint,
    uploaded: &dyn Fn(&Asset) -> Option<String>,
) -> Option<Value> {
    let mut segments = Vec::new();
    if let Some(context) = &dp.context {
        segments.push(json!({ "key": "context", "kind": "Text", "text": context }));
    }
    if let Some(ca) = &dp.context_asset {
        segments.push(
            json!({ "key": "context_asset", "kind": "Asset", "asset": asset_input(ca, uploaded)? }),
        );
    }
    Some(json!({ "group": group, "segments": segments }))
}

fn literal(text: &str) -> Value {
    json!({ "literal": text })
}

fn simple(rapid: Value) -> Value {
    json!({ "_t": "SimpleWorkflow", "rapid": rapid })
}

/// The workflow of a task. For ranking the pair maker depends on the largest group; this
/// variant assumes large groups (online pair maker). Use [`workflow_for`] with the spec.
pub fn workflow(task: &Task) -> Value {
    workflow_with_group_size(task, None)
}

/// The workflow of a spec: for ranking, sized by the spec's largest group.
pub fn workflow_for(spec: &LabelingSpec) -> Value {
    workflow_with_group_size(&spec.task, Some(max_group_size(spec)))
}

fn max_group_size(spec: &LabelingSpec) -> u64 {
    spec.datapoints.max_group_size()
}

fn workflow_with_group_size(task: &Task, max_group: Option<u64>) -> Value {
    let asset = json!({ "segment": "asset" });
    match task {
        Task::Classify { instruction, .. } => simple(json!({
            "_t": "Classify", "asset": asset, "title": literal(instruction),
            "categories": { "segment": "answer_options" },
        })),
        Task::Compare { instruction } => simple(json!({
            "_t": "Compare", "asset": asset, "criteria": literal(instruction), "indexIdentifiers": null,
        })),
        Task::FreeText { instruction } => simple(json!({
            "_t": "FreeText", "asset": asset, "question": literal(instruction), "validationSystemPrompt": null,
        })),
        Task::Locate { instruction } => {
            simple(json!({ "_t": "Locate", "asset": asset, "target": literal(instruction) }))
        }
        Task::Draw { instruction } => {
            simple(json!({ "_t": "Line", "asset": asset, "target": literal(instruction) }))
        }
        Task::SelectWords { instruction } => simple(json!({
            "_t": "Transcription", "asset": asset, "title": literal(instruction),
            "transcription": { "segment": "transcription" },
        })),
        Task::Timestamp { instruction } => {
            simple(json!({ "_t": "Scrub", "asset": asset, "target": literal(instruction) }))
        }
        Task::Ranking {
            instruction,
            comparison_budget_per_ranking,
            ..
        } => {
            let pair_maker = match max_group {
                Some(n) if n <= FULL_PERMUTATION_GROUP_SIZE_THRESHOLD => {
                    json!({ "_t": "FullPermutationPairMaker" })
                }
                _ => json!({
                    "_t": "OnlinePairMaker",
                    "totalComparisonBudget": comparison_budget_per_ranking,
                    "randomMatchesRatio": RANDOM_COMPARISONS_RATIO,
                }),
            };
            json!({
                "_t": "GroupedRankingWorkflow",
                "criteria": instruction,
                "pairMakerConfig": pair_maker,
                "rankingConfig": { "_t": "BradleyTerryRankingConfig", "startingScore": BRADLEY_TERRY_DEFAULT_STARTING_SCORE },
            })
        }
    }
}

pub fn referee(r: &Referee) -> Value {
    match r {
        Referee::Naive {
            responses_per_datapoint,
        } => json!({ "_t": "NaiveReferee", "totalVotes": responses_per_datapoint }),
        Referee::Quorum {
            threshold,
            max_votes,
        } => {
            json!({ "_t": "QuorumReferee", "maxVotes": max_votes, "threshold": threshold })
        }
        Referee::EarlyStopping {
            confidence_threshold,
            max_votes,
        } => {
            json!({ "_t": "EarlyStoppingReferee", "threshold": confidence_threshold, "maxVotes": max_votes })
        }
    }
}

/// The referee actually sent for a spec. Ranking ignores the manifest referee, like the
/// SDK: votes per datapoint follow from the comparison budget.
pub fn referee_for(spec: &LabelingSpec) -> Value {
    match &spec.task {
        Task::Ranking {
            comparison_budget_per_ranking,
            responses_per_comparison,
            ..
        } => {
            let n = max_group_size(spec);
            let votes = if n <= FULL_PERMUTATION_GROUP_SIZE_THRESHOLD {
                let pairs = (n * n.saturating_sub(1) / 2).max(1);
                (u64::from(*comparison_budget_per_ranking) / pairs).max(1)
                    * u64::from(*responses_per_comparison)
            } else {
                u64::from(*responses_per_comparison)
            };
            json!({ "_t": "NaiveReferee", "totalVotes": votes })
        }
        _ => referee(&spec.referee),
    }
}

pub fn feature_flags(settings: &BTreeMap<String, String>) -> Vec<Value> {
    settings
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect()
}

/// `POST /job/definition`. `rapidFeatureFlags` only when there are settings (the SDK
/// passes `None` otherwise, which its model omits).
pub fn job_definition_body(name: &str, spec: &LabelingSpec, dataset_id: &str) -> Value {
    let mut body = json!({
        "definitionName": name,
        "workflow": workflow_for(spec),
        "referee": referee_for(spec),
        "datasetId": dataset_id,
    });
    if !spec.settings.is_empty() {
        body["rapidFeatureFlags"] = json!(feature_flags(&spec.settings));
    }
    body
}

/// `POST /job/definition/{id}/revision`: a complete revision, as the SDK's `save()` sends
/// it (every field explicit, the workflow in the shape its models re-serialise to).
pub fn revision_body(spec: &LabelingSpec, dataset_id: &str, base_revision: u32) -> Value {
    revision_body_full(
        spec,
        dataset_id,
        base_revision,
        &RevisionCarryOver::default(),
        false,
    )
}

/// A complete revision (`_revision_body._full_body`): what the manifests manage from the
/// spec, what they do not carried over from the base revision, and `baseRevisionNumber`;
/// with `require_latest`, the server refuses it (409) when another revision was saved
/// since the base (`save(require_latest=True)`).
pub fn revision_body_full(
    spec: &LabelingSpec,
    dataset_id: &str,
    base_revision: u32,
    carry: &RevisionCarryOver,
    require_latest: bool,
) -> Value {
    let or = |v: &Value, default: Value| if v.is_null() { default } else { v.clone() };
    json!({
        "workflow": roundtrip_workflow(&workflow_for(spec)),
        "referee": referee_for(spec),
        "datasetId": dataset_id,
        "rapidFeatureFlags": feature_flags(&spec.settings),
        "campaignFeatureFlags": or(&carry.campaign_feature_flags, json!([])),
        "baseRevisionNumber": base_revision,
        "requireLatest": require_latest,
        "aggregatorType": carry.aggregator_type,
        "validationSetId": carry.validation_set_id,
    })
}

/// A classification revision that shows labelers its answer options from the revision
/// rather than from each datapoint's `answer_options` segment: `categories` as the SDK's
/// `_revision_body._with_answer_options` writes it (after its models' round trip), so the
/// datapoints stay as they are.
pub fn bind_answer_options(body: &mut Value, task: &Task) {
    let Task::Classify { answer_options, .. } = task else {
        return;
    };
    if let Some(rapid) = body.pointer_mut("/workflow/rapid") {
        rapid["categories"] = json!({
            "literal": answer_option_list(answer_options),
            "segment": null,
        });
    }
}

fn fill_nulls(obj: &mut Map<String, Value>, keys: &[&str]) {
    for k in keys {
        obj.entry(k.to_string()).or_insert(Value::Null);
    }
}

/// The SDK's `save()` sends the workflow after `from_dict`/`to_dict`, which writes every
/// nullable field of the generated models explicitly.
fn roundtrip_workflow(w: &Value) -> Value {
    let mut w = w.clone();
    let Some(obj) = w.as_object_mut() else {
        return w;
    };
    match obj.get("_t").and_then(Value::as_str) {
        Some("SimpleWorkflow") => {
            fill_nulls(obj, &["rapid", "batchSize"]);
            if let Some(rapid) = obj.get_mut("rapid").and_then(Value::as_object_mut) {
                fill_nulls(rapid, &["context", "contextAssets"]);
                match rapid.get("_t").and_then(Value::as_str) {
                    Some("Compare") => fill_nulls(rapid, &["indexIdentifiers"]),
                    Some("FreeText") => {
                        fill_nulls(rapid, &["shouldValidateResponse", "validationSystemPrompt"])
                    }
                    _ => {}
                }
                for key in ["title", "criteria", "question", "target", "transcription"] {
                    if let Some(b) = rapid.get_mut(key).and_then(Value::as_object_mut) {
                        fill_nulls(b, &["literal", "segment", "language"]);
                    }
                }
                if let Some(b) = rapid.get_mut("categories").and_then(Value::as_object_mut) {
                    fill_nulls(b, &["literal", "segment"]);
                }
            }
        }
        Some("GroupedRankingWorkflow") => {
            fill_nulls(obj, &["rankingConfig", "contexts", "contextAssets"])
        }
        _ => {}
    }
    w
}

/// `POST /order` (legacy order API; the server makes the order's dataset).
pub fn order_body(name: &str, spec: &LabelingSpec) -> Value {
    let mut body = json!({
        "orderName": name,
        "workflow": workflow_for(spec),
        "referee": referee_for(spec),
    });
    if !spec.settings.is_empty() {
        body["rapidFeatureFlags"] = json!(feature_flags(&spec.settings));
    }
    body
}

/// `POST /order/{id}/submit`.
pub fn submit_order_body() -> Value {
    json!({ "ignoreFailedDatapoints": true })
}

/// `POST /audience`.
pub fn audience_body(a: &Audience) -> Value {
    audience_body_for(a, None)
}

/// Marks an audience as made by a project, in its description (which renders as markdown:
/// an HTML comment does not show), so that `--prune --project` can find the audiences a
/// project no longer has. Audiences have no other field a client may set freely.
pub fn audience_marker(project: &str) -> String {
    format!("<!-- rapidata-project={project} -->")
}

/// The description as people wrote it, without a project marker.
pub fn strip_audience_marker(description: &str) -> Option<String> {
    let text = match description.find("<!-- rapidata-project=") {
        Some(i) => description[..i].trim_end(),
        None => description,
    };
    (!text.is_empty()).then(|| text.to_string())
}

/// `POST /audience` (and the body of `PATCH`), the description marked with `project`.
pub fn audience_body_for(a: &Audience, project: Option<&str>) -> Value {
    let mut body = json!({ "name": a.name, "filters": a.filters });
    let description = match (&a.description, project) {
        (Some(d), Some(p)) => Some(format!("{d}\n\n{}", audience_marker(p))),
        (None, Some(p)) => Some(audience_marker(p)),
        (d, None) => d.clone(),
    };
    if let Some(d) = description {
        body["description"] = json!(d);
    }
    if let Some(rule) = graduation_rule(a) {
        body["graduationRule"] = rule;
    }
    body
}

/// `POST /audience/{baseAudienceId}/filter` as `RapidataAudience.filter` sends it
/// (`rapidata_client/audience/rapidata_audience.py`): one filter as it is, several combined
/// in an `AndFilter`.
pub fn filtered_audience_body(a: &Audience) -> Value {
    json!({ "filter": filtered_audience_filter(a) })
}

/// The one top-level filter of a filtered audience (what `GET /audience/{id}` lists as its
/// `filters`, alone).
pub fn filtered_audience_filter(a: &Audience) -> Value {
    match a.filters.as_slice() {
        [one] => one.clone(),
        many => json!({ "_t": "AndFilter", "filters": many }),
    }
}

/// `PATCH /audience/{id}` of a filtered audience: its name (the API names it like its base)
/// and description with the project marker. Never its filters: the API cannot change them.
pub fn filtered_audience_update_body(a: &Audience, project: Option<&str>) -> Value {
    let mut body = audience_body_for(a, project);
    if let Some(o) = body.as_object_mut() {
        o.remove("filters");
        o.remove("graduationRule");
    }
    body
}

/// `_build_task_accuracy_rule` (`rapidata_audience_manager.py`): the manifest's
/// `admission`, or `None` to leave the server's default.
pub fn graduation_rule(a: &Audience) -> Option<Value> {
    let ad = a.admission?;
    Some(json!({
        "_t": "TaskAccuracy",
        "targetAccuracy": ad.target_accuracy,
        "minTasks": ad.min_tasks,
        "maxTasks": ad.max_tasks,
    }))
}

/// `POST /job`, as `audience.assign_job` sends it, plus the manifest name so the job can
/// be found again.
/// `PATCH /audience/{id}`: the fields the manifest manages (`update_filters`,
/// `update_name`).
pub fn audience_update_body(a: &Audience) -> Value {
    audience_body(a)
}

/// `PATCH /audience/{id}` of a project's audience (keeps or adds its marker).
pub fn audience_update_body_for(a: &Audience, project: Option<&str>) -> Value {
    audience_body_for(a, project)
}

pub fn job_body(
    definition_id: &str,
    audience_id: &str,
    revision: Option<u32>,
    name: &str,
) -> Value {
    job_body_after(definition_id, audience_id, revision, name, None)
}

/// `POST /job` as `_audience_base._create_job` sends it, with `precedingJobId` for
/// `run_after`.
pub fn job_body_after(
    definition_id: &str,
    audience_id: &str,
    revision: Option<u32>,
    name: &str,
    preceding_job_id: Option<&str>,
) -> Value {
    json!({
        "jobDefinitionId": definition_id,
        "audienceId": audience_id,
        "revisionNumber": revision,
        "name": name,
        "precedingJobId": preceding_job_id,
        "checkForExplicitContent": null,
        "experimentId": null,
    })
}
