//! The manifest as written: one struct per kind, every user-facing value wrapped in
//! [`Located`] so each later check can point at its line. These SAME types derive
//! `JsonSchema`, so `rapidata schema` can never drift from what the parser accepts.
//!
//! No `#[serde(flatten)]` and no internally tagged enums here: both buffer the input and
//! lose locations. A document's `kind` is read first (see [`RawHeader`]) and the document
//! is then parsed into the matching struct.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// The only accepted `apiVersion`.
pub const API_VERSION: &str = "rapidata.ai/v1";

/// A value with the 1-based line and column of the YAML node it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub line: usize,
    pub column: usize,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        // The parser counts lines within the document; the lines before it are added here
        // (see `yaml::parse`), so every location is a line of the file.
        let line = usize::try_from(s.referenced.line()).unwrap_or(0);
        let line = if line == 0 {
            0
        } else {
            line.saturating_add(super::yaml::line_offset())
        };
        Ok(Located {
            value: s.value,
            line,
            column: usize::try_from(s.referenced.column()).unwrap_or(0),
        })
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// Read before anything else, without rejecting unknown fields, to pick the kind.
#[derive(Debug, Deserialize)]
#[serde(rename = "ManifestHeader", rename_all = "camelCase")]
pub struct RawHeader {
    pub api_version: Option<Located<String>>,
    pub kind: Option<Located<String>>,
    pub name: Option<Located<String>>,
}

/// The kinds a manifest document can have.
pub const KINDS: &[&str] = &["JobDefinition", "Order", "Job", "Audience", "ValidationSet"];

fn api_version_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "description": "Manifest format version. Always `rapidata.ai/v1`.",
        "const": API_VERSION
    })
}

/// The labeling workflow of a job definition or order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename = "TaskType", rename_all = "camelCase")]
pub enum RawTaskType {
    /// Pick one of `answerOptions`.
    Classify,
    /// Pick the better of the two `assets`.
    Compare,
    /// Answer with free text.
    FreeText,
    /// Click a point on the asset.
    Locate,
    /// Draw lines on the asset.
    Draw,
    /// Select words of the datapoint's `sentence`.
    SelectWords,
    /// Mark a moment in audio or video.
    Timestamp,
    /// Rank the datapoints of each `group` by pairwise comparisons.
    Ranking,
}

/// How many responses a datapoint gets. Exactly one of the three fields; default
/// `responsesPerDatapoint: 10`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename = "Referee", deny_unknown_fields, rename_all = "camelCase")]
pub struct RawReferee {
    /// A fixed number of responses per datapoint.
    pub responses_per_datapoint: Option<Located<u32>>,
    /// Stop when `threshold` responses agree, at most `maxVotes`.
    pub quorum: Option<Located<RawQuorum>>,
    /// Stop when the answer is known with `confidenceThreshold`, at most `maxVotes`.
    pub early_stopping: Option<Located<RawEarlyStopping>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename = "Quorum", deny_unknown_fields, rename_all = "camelCase")]
pub struct RawQuorum {
    pub threshold: Located<u32>,
    pub max_votes: Located<u32>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    rename = "EarlyStopping",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
pub struct RawEarlyStopping {
    /// Between 0 and 1 (exclusive).
    pub confidence_threshold: Located<f64>,
    pub max_votes: Located<u32>,
}

/// An asset: a local path (relative to the file that names it), an `http(s)://` URL,
/// `{text: ...}` for a text asset, or `{uploaded: ...}` for a file already on Rapidata.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
#[serde(rename = "Asset")]
pub enum RawAsset {
    /// Local path relative to the manifest (or source) file, or an `http(s)://` URL.
    Path(String),
    /// A text asset.
    Text(RawTextAsset),
    /// A file that exists only remotely, by the `fileName` Rapidata gave it at upload.
    Uploaded(RawUploadedAsset),
}

/// `{text: "..."}`: a text shown to labelers instead of a media file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename = "TextAsset", deny_unknown_fields)]
pub struct RawTextAsset {
    pub text: String,
}

/// `{uploaded: "<fileName>"}`: a media file already uploaded to Rapidata (by the SDK, the
/// web app or an earlier upload), referred to by the `fileName` the upload returned, as
/// `rapidata import` writes it. Nothing is uploaded for it; the datapoint is sent with it
/// as an existing asset.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename = "UploadedAsset", deny_unknown_fields)]
pub struct RawUploadedAsset {
    /// The remote `fileName` (no path separators, at most 255 characters).
    pub uploaded: String,
}

impl<'de> Deserialize<'de> for RawAsset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawAsset;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a file path, an http(s) URL, {text: \"...\"} or {uploaded: \"<fileName>\"}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAsset, E> {
                Ok(RawAsset::Path(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawAsset, E> {
                Ok(RawAsset::Path(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAsset, A::Error> {
                const FIELDS: &[&str] = &["text", "uploaded"];
                let mut found: Option<(&'static str, String)> = None;
                while let Some(k) = map.next_key::<String>()? {
                    let field = match k.as_str() {
                        "text" => "text",
                        "uploaded" => "uploaded",
                        _ => return Err(de::Error::unknown_field(&k, FIELDS)),
                    };
                    match &found {
                        Some((f, _)) if *f == field => {
                            return Err(de::Error::duplicate_field(field))
                        }
                        Some((f, _)) => {
                            return Err(de::Error::custom(format!(
                                "an asset is either `{{{f}: ...}}` or `{{{field}: ...}}`, not both"
                            )))
                        }
                        None => found = Some((field, map.next_value::<String>()?)),
                    }
                }
                match found {
                    Some(("uploaded", uploaded)) => {
                        Ok(RawAsset::Uploaded(RawUploadedAsset { uploaded }))
                    }
                    Some((_, text)) => Ok(RawAsset::Text(RawTextAsset { text })),
                    None => Err(de::Error::missing_field("text")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// One datapoint written inline in a manifest.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename = "Datapoint", deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDatapoint {
    /// The asset to label (all types except `compare`).
    pub asset: Option<Located<RawAsset>>,
    /// The two assets to compare (`compare` only): distinct, both text or both media.
    pub assets: Option<Vec<Located<RawAsset>>>,
    /// Text shown with the asset (1 to 400 characters; not with `selectWords`).
    pub context: Option<Located<String>>,
    /// A second asset shown as context.
    pub context_asset: Option<Located<RawAsset>>,
    /// Stored with the datapoint, never shown to labelers.
    pub private_metadata: Option<BTreeMap<String, String>>,
    /// Group of the datapoint (required for `ranking`).
    pub group: Option<Located<String>>,
    /// The sentence whose words are selected (required for `selectWords`).
    pub sentence: Option<Located<String>>,
    /// Explicit stable identity; defaults to the content fingerprint (`fp-...`).
    pub key: Option<Located<String>>,
}

/// One datapoint row of a JSONL source: the same fields as an inline datapoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    rename = "JsonlDatapoint",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
pub struct RowDatapoint {
    pub asset: Option<RawAsset>,
    pub assets: Option<Vec<RawAsset>>,
    pub context: Option<String>,
    pub context_asset: Option<RawAsset>,
    pub private_metadata: Option<BTreeMap<String, String>>,
    pub group: Option<String>,
    pub sentence: Option<String>,
    pub key: Option<String>,
}

/// Field names of a datapoint, for "did you mean" in JSONL rows and CSV headers.
pub const DATAPOINT_FIELDS: &[&str] = &[
    "asset",
    "assets",
    "context",
    "contextAsset",
    "privateMetadata",
    "group",
    "sentence",
    "key",
];

/// Where more datapoints come from. Exactly one field. Paths are relative to the manifest.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    rename = "DatapointSource",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
pub struct RawSource {
    /// A JSON Lines file, one datapoint object per line.
    pub jsonl: Option<Located<String>>,
    /// A CSV file with a header row (`asset`, `asset1..N`, `text`, `context`, `group`,
    /// `key`, `sentence`, `meta.<name>`).
    pub csv: Option<Located<String>>,
    /// A glob; one datapoint per matched file, in sorted order.
    pub files: Option<Located<String>>,
}

macro_rules! labeling_manifest {
    ($(#[$meta:meta])* $name:ident as $rename:literal { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        #[serde(rename = $rename)]
        pub struct $name {
            #[schemars(schema_with = "api_version_schema")]
            pub api_version: Located<String>,
            #[schemars(skip)]
            pub kind: Located<String>,
            /// Unique among manifests of this kind; the remote resource's name.
            pub name: Located<String>,
            /// The labeling workflow.
            #[serde(rename = "type")]
            pub task_type: Located<RawTaskType>,
            /// What labelers are asked (at most 250 characters, the SDK's limit).
            pub instruction: Located<String>,
            /// The choices (`classify` only): 2 to 8, unique.
            pub answer_options: Option<Located<Vec<Located<String>>>>,
            /// Comparisons per group (`ranking` only).
            pub comparison_budget_per_ranking: Option<Located<u32>>,
            /// Responses per comparison (`ranking` only).
            pub responses_per_comparison: Option<Located<u32>>,
            /// How many responses each datapoint gets; default 10 responses.
            pub referee: Option<Located<RawReferee>>,
            /// Feature flags, sent as `rapidFeatureFlags` (values of the SDK's typed settings checked as it does).
            pub settings: Option<BTreeMap<String, Located<String>>>,
            /// Fraction (0..1) of datapoints that may fail to upload. Default 0.
            pub failure_tolerance: Option<Located<f64>>,
            /// Delete remote datapoints that are no longer in the manifest. Default false.
            pub prune: Option<bool>,
            /// Inline datapoints.
            pub datapoints: Option<Vec<Located<RawDatapoint>>>,
            /// Files with more datapoints.
            pub datapoint_sources: Option<Vec<Located<RawSource>>>,
            /// The name of a `ValidationSet` manifest whose tasks check labelers while they
            /// work (the revision's `validationSetId`; JobDefinition only). Changing it is a
            /// new revision; without it the remote revision's set is left as it is.
            pub validation_set: Option<Located<String>>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }
    };
}

labeling_manifest! {
    /// A reusable job definition: the task, its referee and its datapoints.
    RawJobDefinition as "JobDefinition" {
        /// The name (or names) it had before: the remote one is renamed in place
        /// (nothing uploaded, no job assigned) instead of made again under the new name.
        renamed_from: Option<Located<RawNames>>,
    }
}

/// One name or a list of names.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawNames {
    One(String),
    Many(Vec<String>),
}

impl RawNames {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            RawNames::One(n) => vec![n],
            RawNames::Many(v) => v,
        }
    }
}

labeling_manifest! {
    /// A one-off order (the legacy order API): like a job definition, plus `run`.
    RawOrder as "Order" {
        /// Submit the order once its datapoints are uploaded. Default false.
        run: Option<bool>,
        /// Maximum estimated cost: apply does not submit the order above it. Rapidata
        /// prices no orders (contract v2), so an order with a budget is never submitted;
        /// see docs/cost.md.
        budget: Option<Located<f64>>,
    }
}

/// Runs a job definition for an audience.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename = "Job", deny_unknown_fields, rename_all = "camelCase")]
pub struct RawJob {
    #[schemars(schema_with = "api_version_schema")]
    pub api_version: Located<String>,
    #[schemars(skip)]
    pub kind: Located<String>,
    pub name: Located<String>,
    /// Name of a `JobDefinition` manifest.
    pub definition: Located<String>,
    /// An `Audience` manifest name, or a remote audience id such as `global`.
    pub audience: Located<String>,
    /// Pin a revision of the definition; latest when absent.
    pub revision: Option<Located<u32>>,
    /// Keep the job paused (`true`) or running (`false`, the default).
    pub paused: Option<bool>,
    /// Name of another Job manifest this one queues behind (the SDK's `run_after`).
    pub run_after: Option<Located<String>>,
    /// What happens to the running job when a new one replaces it (a new revision, a
    /// replaced definition, another audience): `pause` (default; its results are kept),
    /// `delete`, or `keep` (it goes on running).
    pub on_replace: Option<Located<OnReplace>>,
    /// Maximum estimated cost (Rapidata's estimate, in the account's billing currency):
    /// apply does not assign the job when its definition is priced above it.
    pub budget: Option<Located<f64>>,
    /// The name (or names) it had before: the remote job is renamed in place.
    pub renamed_from: Option<Located<RawNames>>,
}

/// What happens to a job that a new one replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OnReplace {
    #[default]
    Pause,
    Delete,
    Keep,
}

/// Known `_t` discriminators of `IAudienceFilter` (API contract 3.27.1).
pub const AUDIENCE_FILTERS: &[&str] = &[
    "AndFilter",
    "CountryFilter",
    "DemographicFilter",
    "DeviceFilter",
    "LanguageFilter",
    "NotFilter",
    "OrFilter",
];

fn filter_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "description": "A wire-shaped IAudienceFilter object, e.g. {_t: CountryFilter, countries: [DE]}.",
        "type": "object",
        "required": ["_t"],
        "properties": { "_t": { "enum": AUDIENCE_FILTERS } }
    })
}

fn filters_schema(g: &mut SchemaGenerator) -> Schema {
    let item = filter_schema(g);
    schemars::json_schema!({ "type": "array", "items": item })
}

/// A YAML value with the location of every node, for values checked against the API
/// contract (audience filters), so an error points at the offending element.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Located<RawValue>>),
    Map(Vec<(Located<String>, Located<RawValue>)>),
}

impl RawValue {
    /// The plain JSON value (locations dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(*b),
            RawValue::Number(n) => Value::Number(n.clone()),
            RawValue::String(s) => Value::String(s.clone()),
            RawValue::Seq(v) => Value::Array(v.iter().map(|x| x.value.to_json()).collect()),
            RawValue::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.value.clone(), v.value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
                Ok(RawValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
                Ok(RawValue::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
                Ok(RawValue::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
                serde_json::Number::from_f64(v)
                    .map(RawValue::Number)
                    .ok_or_else(|| E::custom("a number that is not finite"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
                Ok(RawValue::String(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<Located<RawValue>>()? {
                    out.push(x);
                }
                Ok(RawValue::Seq(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Located<String>>()? {
                    let v = map.next_value::<Located<RawValue>>()?;
                    out.push((k, v));
                }
                Ok(RawValue::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Who joins the audience: the graduation rule `TaskAccuracy` (`graduationRule`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename = "Admission", deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAdmission {
    /// Share of qualification answers a labeler must get right (0..1).
    pub target_accuracy: Located<f64>,
    /// Qualification tasks a labeler answers before the accuracy counts (at least 1).
    pub min_tasks: Located<u32>,
    /// Give up on a labeler after this many tasks (at least `minTasks`); no limit when absent.
    pub max_tasks: Option<Located<u32>>,
}

/// The kinds of qualification example: one per `add_*_example` of the SDK's
/// `RapidataAudience`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename = "ExampleType", rename_all = "camelCase")]
pub enum RawExampleType {
    /// `add_classification_example`: `answerOptions`, `asset`, `truth: [option, ...]`.
    Classify,
    /// `add_compare_example`: two `assets`, `truth:` the better one as written in `assets`.
    Compare,
    /// `add_locate_example`: `asset`, `truth:` boxes `{xMin, yMin, xMax, yMax}` (0..1).
    Locate,
    /// `add_draw_example`: `asset`, `truth:` boxes `{xMin, yMin, xMax, yMax}` (0..1).
    Draw,
    /// `add_select_words_example`: `asset`, `sentence`, `truth:` indices of the right words.
    SelectWords,
}

/// Field names of an example, for "did you mean" in JSONL rows.
pub const EXAMPLE_FIELDS: &[&str] = &[
    "type",
    "instruction",
    "answerOptions",
    "asset",
    "assets",
    "sentence",
    "truth",
    "context",
    "contextAsset",
    "explanation",
];

/// One qualification example of an audience.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename = "Example", deny_unknown_fields, rename_all = "camelCase")]
pub struct RawExample {
    /// The task the example teaches.
    #[serde(rename = "type")]
    pub example_type: Located<RawExampleType>,
    /// What labelers are asked (at most 250 characters, the SDK's limit).
    pub instruction: Located<String>,
    /// The choices (`classify` only): 2 to 8, unique.
    pub answer_options: Option<Located<Vec<Located<String>>>>,
    /// The asset shown (all types but `compare`): a local path, a URL or `{text: ...}`.
    pub asset: Option<Located<RawAsset>>,
    /// The two assets compared (`compare` only).
    pub assets: Option<Vec<Located<RawAsset>>>,
    /// The sentence whose words are selected (`selectWords` only; words split at spaces).
    pub sentence: Option<Located<String>>,
    /// The right answer; its shape depends on `type`.
    pub truth: Located<serde_json::Value>,
    /// Text shown with the example (not for `selectWords`).
    pub context: Option<Located<String>>,
    /// An asset shown with the example (not for `selectWords`).
    pub context_asset: Option<Located<RawAsset>>,
    /// Shown to a labeler who answers wrong.
    pub explanation: Option<Located<String>>,
}

/// One example row of a JSONL source: the same fields as an inline example.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename = "JsonlExample", deny_unknown_fields, rename_all = "camelCase")]
pub struct RowExample {
    #[serde(rename = "type")]
    pub example_type: RawExampleType,
    pub instruction: String,
    pub answer_options: Option<Vec<String>>,
    pub asset: Option<RawAsset>,
    pub assets: Option<Vec<RawAsset>>,
    pub sentence: Option<String>,
    pub truth: serde_json::Value,
    pub context: Option<String>,
    pub context_asset: Option<RawAsset>,
    pub explanation: Option<String>,
}

/// Where more examples come from. Paths are relative to the manifest.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    rename = "ExampleSource",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
pub struct RawExampleSource {
    /// A JSON Lines file, one example object per line.
    pub jsonl: Located<String>,
}

/// A group of labelers selected by filters and qualified by examples.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename = "Audience", deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAudience {
    #[schemars(schema_with = "api_version_schema")]
    pub api_version: Located<String>,
    #[schemars(skip)]
    pub kind: Located<String>,
    pub name: Located<String>,
    pub description: Option<String>,
    /// Makes this a filtered audience (`POST /audience/{baseAudienceId}/filter`): the
    /// graduates of this base audience (an Audience manifest name, or a remote audience id
    /// such as `global`) that match `filters`. It has no examples, admission or recruiting
    /// of its own; a filter change makes a new filtered audience.
    pub base: Option<Located<String>>,
    /// `IAudienceFilter` objects as the API takes them, each with `_t`; checked against the
    /// contract's filter schemas.
    #[schemars(schema_with = "filters_schema")]
    pub filters: Option<Vec<Located<RawValue>>>,
    /// The admission bar (graduation rule `TaskAccuracy`); the API's default (0.75 over 10
    /// tasks) when absent.
    pub admission: Option<Located<RawAdmission>>,
    /// Start recruiting once the examples are in. Default true.
    pub recruit: Option<Located<bool>>,
    /// Delete remote examples that are no longer in the manifest. Default false.
    pub prune: Option<bool>,
    /// Qualification examples.
    pub examples: Option<Vec<Located<RawExample>>>,
    /// Files with more examples.
    pub example_sources: Option<Vec<Located<RawExampleSource>>>,
    /// The name (or names) it had before: the remote audience is renamed in place.
    pub renamed_from: Option<Located<RawNames>>,
}

/// One task of a validation set: what is shown and its known answer. The task type,
/// instruction and answer options are the set's.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    rename = "ValidationTask",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
pub struct RawValidationTask {
    /// The asset shown (all types but `compare`): a local path, a URL, `{text: ...}` or
    /// `{uploaded: ...}`.
    pub asset: Option<Located<RawAsset>>,
    /// The two assets compared (`compare` only).
    pub assets: Option<Vec<Located<RawAsset>>>,
    /// The sentence whose words are selected (`selectWords` only; words split at spaces).
    pub sentence: Option<Located<String>>,
    /// The right answer; its shape depends on the set's `type` (as for audience examples).
    pub truth: Located<serde_json::Value>,
    /// Text shown with the task (not for `selectWords`).
    pub context: Option<Located<String>>,
    /// An asset shown with the task (not for `selectWords`).
    pub context_asset: Option<Located<RawAsset>>,
    /// Shown to a labeler who answers wrong.
    pub explanation: Option<Located<String>>,
}

/// One task row of a JSONL task source: the same fields as an inline task.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    rename = "JsonlValidationTask",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
pub struct RowValidationTask {
    pub asset: Option<RawAsset>,
    pub assets: Option<Vec<RawAsset>>,
    pub sentence: Option<String>,
    pub truth: serde_json::Value,
    pub context: Option<String>,
    pub context_asset: Option<RawAsset>,
    pub explanation: Option<String>,
}

/// Field names of a validation task, for "did you mean" in JSONL rows.
pub const VALIDATION_TASK_FIELDS: &[&str] = &[
    "asset",
    "assets",
    "sentence",
    "truth",
    "context",
    "contextAsset",
    "explanation",
];

/// Quality-control tasks with known answers that labelers are checked against while they
/// work (`POST /validation-set`, `POST /validation-set/{id}/rapid`); a JobDefinition uses
/// one with `validationSet: NAME`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    rename = "ValidationSet",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
pub struct RawValidationSet {
    #[schemars(schema_with = "api_version_schema")]
    pub api_version: Located<String>,
    #[schemars(skip)]
    pub kind: Located<String>,
    /// Unique among validation sets; the remote set's name.
    pub name: Located<String>,
    /// The task type of every task (one per `*_rapid` of the SDK's `RapidsManager`).
    #[serde(rename = "type")]
    pub task_type: Located<RawExampleType>,
    /// What labelers are asked (at most 250 characters, the SDK's limit).
    pub instruction: Located<String>,
    /// The choices (`classify` only): 2 to 8, unique.
    pub answer_options: Option<Located<Vec<Located<String>>>>,
    /// The tasks, each with its known answer.
    pub tasks: Option<Vec<Located<RawValidationTask>>>,
    /// Files with more tasks (JSON Lines, one task object per line).
    pub task_sources: Option<Vec<Located<RawExampleSource>>>,
    /// The user-score dimensions the answers count towards (`update_dimensions`).
    pub dimensions: Option<Vec<Located<String>>>,
    /// Whether a labeler who answers wrongly is alerted (`update_should_alert`); the API's
    /// default (true) when absent.
    pub should_alert: Option<Located<bool>>,
    /// Remove remote tasks no longer in the manifest. The API cannot remove a task, so this
    /// replaces the set (and the definitions naming it get a new revision). Default false.
    pub prune: Option<bool>,
}

/// One manifest document. Only used for the JSON Schema: parsing reads `kind` first and
/// then the variant's struct, which keeps error locations exact.
#[derive(Debug, JsonSchema)]
#[serde(tag = "kind")]
#[allow(dead_code)]
pub enum ManifestDocument {
    JobDefinition(RawJobDefinition),
    Order(RawOrder),
    Job(RawJob),
    Audience(RawAudience),
    ValidationSet(RawValidationSet),
}
