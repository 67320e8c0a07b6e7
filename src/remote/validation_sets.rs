//! Validation sets (contract v3, fact 20), as `rapidata_client/validation/` sends them:
//! `POST /validation-set` (`validation_set_manager.py`), each task with
//! `POST /validation-set/{id}/rapid` (`rapids/_validation_rapid_uploader.py`, bodies as
//! `rapids/rapids_manager.py` builds them), `PATCH /validation-set/{id}`
//! (`rapidata_validation_set.py` `update_dimensions`, `update_should_alert`).
//!
//! As for audience examples, a task's key and fingerprint ride along as customer-only
//! metadata on its asset, so `plan` recognises the tasks it added in the rapid listing.

use reqwest::Method;
use serde_json::{json, Value};

use super::client::Client;
use super::error::ApiError;
use super::examples::example_body;
use super::model::{RemoteExample, FINGERPRINT_METADATA, KEY_METADATA};
use super::transport::{seg, Request, Safety};
use super::wire_read;
use crate::manifest::model::{Asset, Example};

/// A validation set found by name, with its tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteValidationSet {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub dimensions: Vec<String>,
    /// Its tasks, by the key in their asset's metadata (`None`: added by another tool).
    pub tasks: Vec<RemoteExample>,
}

/// `POST /validation-set/{id}/rapid` for one task: the audience example's body with the
/// rapid payload and validation truth types of `RapidsManager` (`ClassifyPayload` +
/// `AttachCategoryTruth`, `ComparePayload` + `CompareTruth`, `LocatePayload`/`LinePayload` +
/// `LocateBoxTruth`, `TranscriptionPayload` + `TranscriptionTruth`). `None` when an asset
/// has not been uploaded.
pub fn rapid_body(e: &Example, uploaded: &dyn Fn(&Asset) -> Option<String>) -> Option<Value> {
    let mut body = example_body(e, uploaded)?;
    let rename = |v: &mut Value, map: &[(&str, &str)]| {
        if let Some(t) = v.get("_t").and_then(Value::as_str) {
            if let Some((_, to)) = map.iter().find(|(from, _)| *from == t) {
                v["_t"] = json!(to);
            }
        }
    };
    rename(
        &mut body["payload"],
        &[
            ("ClassifyExamplePayload", "ClassifyPayload"),
            ("CompareExamplePayload", "ComparePayload"),
            ("LocateExamplePayload", "LocatePayload"),
            ("LineExamplePayload", "LinePayload"),
            ("TranscriptionExamplePayload", "TranscriptionPayload"),
        ],
    );
    rename(
        &mut body["truth"],
        &[
            ("ClassifyExampleTruth", "AttachCategoryTruth"),
            ("CompareExampleTruth", "CompareTruth"),
            ("LocateExampleTruth", "LocateBoxTruth"),
            ("LineExampleTruth", "LocateBoxTruth"),
            ("TranscriptionExampleTruth", "TranscriptionTruth"),
        ],
    );
    // `LocateBoxTruth` has only the boxes (`locate_rapid`, `draw_rapid`).
    if body["truth"]["_t"] == "LocateBoxTruth" {
        if let Some(o) = body["truth"].as_object_mut() {
            o.remove("requiredPrecision");
            o.remove("requiredCompleteness");
        }
    }
    Some(body)
}

/// `PATCH /validation-set/{id}`: what the manifest sets (`null` leaves a field).
pub fn update_body(dimensions: Option<&[String]>, should_alert: Option<bool>) -> Value {
    json!({ "dimensions": dimensions, "shouldAlert": should_alert })
}

fn remote_task(v: &Value) -> Result<RemoteExample, String> {
    let meta = |k: &str| {
        v.pointer(&format!("/asset/metadata/{k}/text"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(RemoteExample {
        id: wire_read::req_str(v, "id")?,
        key: meta(KEY_METADATA),
        fingerprint: meta(FINGERPRINT_METADATA),
        adopted: false,
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

impl Client {
    /// Every validation set named exactly `name` (`GET /validation-sets`, `name[contains]`),
    /// with its tasks.
    pub async fn find_validation_sets(
        &self,
        name: &str,
    ) -> Result<Vec<RemoteValidationSet>, ApiError> {
        let items = self
            .list("/validation-sets", "name[contains]", name)
            .await?;
        let mut out = Vec::new();
        for v in items.iter().filter(|v| v["name"].as_str() == Some(name)) {
            let id = Self::decode("GET /validation-sets", wire_read::req_str(v, "id"))?;
            out.push(RemoteValidationSet {
                tasks: self.list_validation_tasks(&id).await?,
                id,
                name: name.to_string(),
                created_at: v["createdAt"].as_str().unwrap_or_default().to_string(),
                dimensions: strings(&v["dimensions"]),
            });
        }
        Ok(out)
    }

    /// `GET /validation-set/{id}/rapids`, every page.
    pub async fn list_validation_tasks(&self, id: &str) -> Result<Vec<RemoteExample>, ApiError> {
        let path = format!("/validation-set/{}/rapids", seg(id));
        let items = self
            .all_pages(|p| {
                Request::new(
                    Method::GET,
                    "/validation-set/{validationSetId}/rapids",
                    path.clone(),
                    Safety::Repeatable,
                )
                .query("page", p)
                .query("page_size", 100)
            })
            .await?;
        Self::decode(
            "GET /validation-set/{validationSetId}/rapids",
            items.iter().map(remote_task).collect(),
        )
    }

    /// `POST /validation-set` (`create_validation_set`): an empty set.
    pub async fn create_validation_set(&self, name: &str) -> Result<String, ApiError> {
        let req = Request::new(
            Method::POST,
            "/validation-set",
            "/validation-set".into(),
            Safety::Create,
        )
        .json_ref(&json!({ "name": name }));
        self.call_field(req, "validationSetId").await
    }

    /// `RapidataValidationSet.add_rapid`. Not repeated by the transport: a lost answer is
    /// decided by the next listing.
    pub async fn add_validation_task(&self, id: &str, body: &Value) -> Result<(), ApiError> {
        let req = Request::new(
            Method::POST,
            "/validation-set/{validationSetId}/rapid",
            format!("/validation-set/{}/rapid", seg(id)),
            Safety::Create,
        )
        .json_ref(body);
        self.call(req).await.map(|_| ())
    }

    /// `update_dimensions` / `update_should_alert`: `PATCH /validation-set/{id}`.
    pub async fn update_validation_set(&self, id: &str, body: &Value) -> Result<(), ApiError> {
        let req = Request::new(
            Method::PATCH,
            "/validation-set/{validationSetId}",
            format!("/validation-set/{}", seg(id)),
            Safety::Repeatable,
        )
        .json_ref(body);
        self.call(req).await.map(|_| ())
    }

    /// `RapidataValidationSet.delete`.
    pub async fn delete_validation_set(&self, id: &str) -> Result<(), ApiError> {
        self.delete(Request::new(
            Method::DELETE,
            "/validation-set/{validationSetId}",
            format!("/validation-set/{}", seg(id)),
            Safety::Repeatable,
        ))
        .await
    }
}
