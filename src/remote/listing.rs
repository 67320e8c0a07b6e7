//! What `rapidata import` reads beyond what `plan` does: every job the credentials can
//! see, job definitions with their type, and the full content of datapoints and examples
//! (the plan needs only their identity).

use reqwest::Method;
use serde_json::Value;

use super::client::Client;
use super::content_identity::ListedDatapoint;
use super::error::ApiError;
use super::model::RemoteJob;
use super::transport::{Request, Safety};
use super::wire_content::ContentItem;
use super::wire_page::Page;
use super::wire_read;

/// Items per page of these listings (the SDK's largest page).
const PAGE_SIZE: u32 = 100;

/// A job definition as `GET /job/definitions` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionSummary {
    pub id: String,
    pub name: String,
    /// `DefinitionType` (`Classify`, `Compare`, ...).
    pub definition_type: String,
    pub created_at: String,
}

impl Client {
    /// Every job definition the credentials can see, newest first.
    pub async fn list_definition_summaries(&self) -> Result<Vec<DefinitionSummary>, ApiError> {
        let items = self.job_definition_pages().await?;
        Self::decode(
            "GET /job/definitions",
            items
                .iter()
                .map(|v| {
                    let d = wire_read::job_definition(v)?;
                    Ok(DefinitionSummary {
                        id: d.id,
                        name: d.name,
                        definition_type: v
                            .get("definitionType")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        created_at: d.created_at,
                    })
                })
                .collect::<Result<Vec<_>, String>>(),
        )
    }

    /// Every job the credentials can see (`GET /jobs`, no filter), newest first.
    pub async fn list_jobs(&self) -> Result<Vec<RemoteJob>, ApiError> {
        let items = self
            .all_pages(|p| {
                Request::new(Method::GET, "/jobs", "/jobs".into(), Safety::Repeatable)
                    .query("page", p)
                    .query("page_size", PAGE_SIZE)
                    .query("sort", "-created_at")
            })
            .await?;
        Self::decode(
            "GET /jobs",
            items
                .iter()
                .map(wire_read::job)
                .collect::<Result<Vec<_>, _>>(),
        )
    }

    /// What a person recognises some datapoints of a dataset by (the first words of the
    /// text, the file name, the source URL), by id: one listing filtered by `id[in]`, whose
    /// model (`QueryDatapointsByDatasetIdEndpointOutput`) requires `segments` — unlike
    /// `GET /datapoint/{id}`, whose two generated models disagree (`segments` or `asset`).
    pub async fn datapoint_labels(
        &self,
        dataset_id: &str,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, ApiError> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(PAGE_SIZE as usize) {
            let mut req = Request::new(
                Method::GET,
                "/dataset/{datasetId}/datapoints",
                format!("/dataset/{}/datapoints", super::transport::seg(dataset_id)),
                Safety::Repeatable,
            )
            .query("page", 1)
            .query("page_size", chunk.len());
            for id in chunk {
                req = req.query("id[in]", id);
            }
            let body = self.call_bytes(req).await?;
            let page = Self::decode(
                "GET /dataset/{datasetId}/datapoints",
                decode_contents(&body),
            )?;
            for item in &page.items {
                let d = ListedDatapoint::from(item);
                if let Some(a) = &d.asset {
                    out.insert(d.id.clone(), a.label());
                }
            }
        }
        Ok(out)
    }

    /// Every datapoint of a dataset with the content the listing shows, oldest first.
    pub async fn list_datapoint_contents(
        &self,
        dataset_id: &str,
    ) -> Result<Vec<ListedDatapoint>, ApiError> {
        let mut out: Vec<ListedDatapoint> = Vec::new();
        self.scan_datapoint_pages(dataset_id, decode_contents, |item| out.push((&item).into()))
            .await?;
        // A datapoint can land on two pages when the dataset changes while paging.
        let mut seen = std::collections::HashSet::with_capacity(out.len());
        out.retain(|d| seen.insert(d.id.clone()));
        Ok(out)
    }
}

/// A page of datapoints with their content.
fn decode_contents(body: &[u8]) -> Result<Page<ContentItem>, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}
