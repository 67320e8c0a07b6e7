//! Job definitions and their revisions. A definition's content lives in revisions: creating a
//! definition creates revision 1; each `POST .../revision` creates the next one from the posted
//! fields, inheriting what is absent or null from the latest revision.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use rusqlite::Transaction;
use serde_json::{json, Map, Value};

use crate::emulator::auth::{ORGANIZATION_ID, USER_ID, USER_MAIL};
use crate::emulator::datapoints::dataset_get;
use crate::emulator::http::{
    json, no_content, opt, opt_str, parse_body, view, ApiError, ApiResult,
};
use crate::emulator::query::{camel, page_items, Query};
use crate::emulator::store::{
    new_id, now, obj_delete, obj_delete_children, obj_get, obj_insert, obj_list, obj_update,
};
use crate::emulator::{blocking, Shared};

const DEFINITION_TYPES: &[&str] = &[
    "Classify",
    "Compare",
    "BoundingBox",
    "Line",
    "Polygon",
    "Locate",
    "Transcription",
    "NamedEntity",
    "FreeText",
    "Scrub",
];

/// `DefinitionType` of a workflow.
fn definition_type(workflow: &Value) -> &'static str {
    match opt_str(workflow, "_t") {
        Some("EvaluationWorkflow") => "Evaluation",
        Some("GroupedRankingWorkflow") => "GroupedRanking",
        Some("SimpleWorkflow") => {
            let rapid = workflow
                .get("rapid")
                .and_then(|r| r.get("_t"))
                .and_then(Value::as_str)
                .unwrap_or("");
            DEFINITION_TYPES
                .iter()
                .find(|t| **t == rapid)
                .copied()
                .unwrap_or("Unknown")
        }
        _ => "Unknown",
    }
}

fn revision_key(definition: &str, n: u64) -> String {
    format!("{definition}/{n}")
}

pub(crate) fn load_definition(conn: &rusqlite::Connection, id: &str) -> ApiResult<Value> {
    obj_get(conn, "jobdef", id)?.ok_or_else(|| ApiError::not_found("Job definition", id))
}

pub(crate) fn load_revision(conn: &rusqlite::Connection, id: &str, n: u64) -> ApiResult<Value> {
    obj_get(conn, "revision", &revision_key(id, n))?
        .ok_or_else(|| ApiError::not_found("Job definition revision", &revision_key(id, n)))
}

fn check_dataset(tx: &Transaction<'_>, id: &str) -> ApiResult<()> {
    match dataset_get(tx, id)? {
        Some(_) => Ok(()),
        None => Err(ApiError::field(
            "datasetId",
            format!("Dataset '{id}' does not exist."),
        )),
    }
}

/// Stores revision `n` of `definition`; returns its pipeline id.
fn insert_revision(
    tx: &Transaction<'_>,
    definition: &str,
    n: u64,
    fields: &Map<String, Value>,
) -> ApiResult<String> {
    let pipeline = new_id();
    let mut rev = json!({
        "definitionId": definition,
        "revisionNumber": n,
        "state": "Completed",
        "pipelineId": pipeline,
        "createdAt": now(),
        "createdById": USER_ID,
        "createdByMail": USER_MAIL,
    });
    for (k, v) in fields {
        rev[k] = v.clone();
    }
    obj_insert(
        tx,
        "revision",
        &revision_key(definition, n),
        Some(definition),
        &rev,
    )?;
    Ok(pipeline)
}

fn flags(input: &Value, key: &str) -> Value {
    opt(input, key).cloned().unwrap_or_else(|| json!([]))
}

pub(super) async fn create_definition(
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateJobDefinitionEndpointInput")?;
    let id = new_id();
    let def_id = id.clone();
    let pipeline = blocking(&state, move |s| {
        s.store.write(|tx| {
            let dataset = opt_str(&input, "datasetId").unwrap_or_default();
            check_dataset(tx, dataset)?;
            let workflow = input.get("workflow").cloned().unwrap_or(Value::Null);
            let created = now();
            let def = json!({
                "definitionId": def_id,
                "name": opt_str(&input, "definitionName").unwrap_or_default(),
                "definitionType": definition_type(&workflow),
                "isPublic": false,
                "createdAt": created,
                "ownerId": USER_ID,
                "ownerMail": USER_MAIL,
                "organizationId": ORGANIZATION_ID,
                "revisionCount": 1,
            });
            obj_insert(tx, "jobdef", &def_id, None, &def)?;
            let mut fields = Map::new();
            fields.insert("datasetId".into(), Value::from(dataset));
            fields.insert("workflow".into(), workflow);
            fields.insert(
                "referee".into(),
                input.get("referee").cloned().unwrap_or(Value::Null),
            );
            fields.insert(
                "aggregatorType".into(),
                opt(&input, "aggregatorType")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            fields.insert("featureFlags".into(), flags(&input, "rapidFeatureFlags"));
            fields.insert(
                "campaignFeatureFlags".into(),
                flags(&input, "campaignFeatureFlags"),
            );
            fields.insert("validationSetId".into(), Value::Null);
            fields.insert("baseRevisionNumber".into(), Value::Null);
            insert_revision(tx, &def_id, 1, &fields)
        })
    })
    .await?;
    Ok(json(&json!({"definitionId": id, "pipelineId": pipeline})))
}

/// The `GetJobDefinitionByIdEndpointOutput` view of a stored definition.
fn definition_view(def: &Value) -> Value {
    view("GetJobDefinitionByIdEndpointOutput", def)
}

pub(super) async fn get_definition(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let def = blocking(&state, move |s| s.store.read(|c| load_definition(c, &id))).await?;
    Ok(json(&definition_view(&def)))
}

pub(super) async fn delete_definition(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    blocking(&state, move |s| {
        s.store.write(|tx| {
            if !obj_delete(tx, "jobdef", &id)? {
                return Err(ApiError::not_found("Job definition", &id));
            }
            obj_delete_children(tx, "revision", &id)
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn update_definition(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "UpdateJobDefinitionEndpointInput")?;
    blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut def = load_definition(tx, &id)?;
            if let Some(name) = opt_str(&input, "name") {
                if name.is_empty() {
                    return Err(ApiError::field("name", "The name must not be empty."));
                }
                def["name"] = Value::from(name);
                obj_update(tx, "jobdef", &id, &def)?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(no_content())
}

pub(super) async fn create_revision(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = parse_body(&body, "CreateJobRevisionEndpointInput")?;
    let (n, pipeline) = blocking(&state, move |s| {
        s.store.write(|tx| {
            let mut def = load_definition(tx, &id)?;
            let latest = def
                .get("revisionCount")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let base = opt(&input, "baseRevisionNumber").and_then(Value::as_u64);
            if opt(&input, "requireLatest").and_then(Value::as_bool) == Some(true)
                && base != Some(latest)
            {
                return Err(ApiError::new(StatusCode::CONFLICT, "Revision conflict")
                    .detail(format!(
                        "The latest revision is {latest}, not {}.",
                        base.map_or("unset".into(), |b| b.to_string())
                    ))
                    .with("latestRevisionNumber", Value::from(latest)));
            }
            let previous = load_revision(tx, &id, latest)?;
            let inherit = |input_key: &str, output_key: &str| -> Value {
                opt(&input, input_key)
                    .cloned()
                    .unwrap_or_else(|| previous.get(output_key).cloned().unwrap_or(Value::Null))
            };
            let mut fields = Map::new();
            for (input_key, output_key) in [
                ("workflow", "workflow"),
                ("referee", "referee"),
                ("datasetId", "datasetId"),
                ("aggregatorType", "aggregatorType"),
                ("rapidFeatureFlags", "featureFlags"),
                ("campaignFeatureFlags", "campaignFeatureFlags"),
                ("validationSetId", "validationSetId"),
            ] {
                fields.insert(output_key.to_string(), inherit(input_key, output_key));
            }
            if let Some(ds) = fields.get("datasetId").and_then(Value::as_str) {
                check_dataset(tx, ds)?;
            }
            // Absent inherits, explicit null clears (`job/_revision_body.py` sends a None
            // validationSetId as null to remove it). A newly named set must exist.
            match input.get("validationSetId") {
                Some(Value::Null) => {
                    fields.insert("validationSetId".into(), Value::Null);
                }
                Some(Value::String(vs))
                    if previous.get("validationSetId") != Some(&Value::from(vs.as_str())) =>
                {
                    super::validation_sets::load_set(tx, vs).map_err(|_| {
                        ApiError::field(
                            "validationSetId",
                            format!("Validation set '{vs}' does not exist."),
                        )
                    })?;
                }
                _ => {}
            }
            fields.insert(
                "baseRevisionNumber".into(),
                Value::from(base.unwrap_or(latest)),
            );
            let n = latest + 1;
            let pipeline = insert_revision(tx, &id, n, &fields)?;
            def["revisionCount"] = Value::from(n);
            if let Some(w) = fields.get("workflow") {
                def["definitionType"] = Value::from(definition_type(w));
            }
            obj_update(tx, "jobdef", &id, &def)?;
            Ok((n, pipeline))
        })
    })
    .await?;
    Ok(json(&json!({"revisionNumber": n, "pipelineId": pipeline})))
}

pub(super) async fn latest_revision(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let rev = blocking(&state, move |s| {
        s.store.read(|c| {
            let def = load_definition(c, &id)?;
            load_revision(
                c,
                &id,
                def.get("revisionCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(1),
            )
        })
    })
    .await?;
    Ok(json(&view("GetJobRevisionEndpointOutput", &rev)))
}

pub(super) async fn get_revision(
    State(state): State<Shared>,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult<Response> {
    let n: u64 = n.parse().map_err(|_| {
        ApiError::field("revisionNumber", format!("'{n}' is not a revision number."))
    })?;
    let rev = blocking(&state, move |s| {
        s.store.read(|c| {
            load_definition(c, &id)?;
            load_revision(c, &id, n)
        })
    })
    .await?;
    Ok(json(&view("GetJobRevisionEndpointOutput", &rev)))
}

pub(super) async fn list_revisions(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let revs = blocking(&state, move |s| {
        s.store.read(|c| {
            load_definition(c, &id)?;
            obj_list(c, "revision", Some(&id))
        })
    })
    .await?;
    let items = revs
        .iter()
        .map(|r| {
            json!({
                "definitionId": r["definitionId"], "revisionNumber": r["revisionNumber"],
                "baseRevisionNumber": r["baseRevisionNumber"], "createdAt": r["createdAt"], "state": r["state"],
            })
        })
        .collect();
    Ok(json(&page_items(items, &query, &|f| camel(f))?))
}

pub(super) async fn list_definitions(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let defs = blocking(&state, move |s| {
        s.store.read(|c| obj_list(c, "jobdef", None))
    })
    .await?;
    let defs = defs
        .iter()
        .map(|d| view("QueryJobDefinitionsEndpointOutput", d))
        .collect();
    let page = page_items(defs, &query, &|f| {
        if f == "id" {
            "definitionId".into()
        } else {
            camel(f)
        }
    })?;
    Ok(json(&page))
}

pub(super) async fn definition_cost(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let body = blocking(&state, move |s| {
        s.store.read(|c| {
            let def = load_definition(c, &id)?;
            let n = def
                .get("revisionCount")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let rev = load_revision(c, &id, n)?;
            super::jobs::cost_estimate(
                s,
                c,
                super::runs::millis(rev["createdAt"].as_str()),
                rev["datasetId"].as_str().unwrap_or(""),
                &rev["referee"],
            )
        })
    })
    .await?;
    Ok(json(&body))
}
