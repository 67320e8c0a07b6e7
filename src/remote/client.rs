//! The async Rapidata API client: one method per operation `plan`/`apply` need.
//!
//! Cheap to clone; all clones share one connection pool, one token cache and one
//! concurrency limit, so `apply` can fan out freely without overrunning the server.

use futures::StreamExt;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::config::{ClientConfig, Endpoints};
use super::error::ApiError;
use super::model::*;
use super::transport::{seg, Body, ClientStats, Request, RouteId, Safety, Transport};
use super::wire_page::Page;
use super::{media, wire_page, wire_read};

/// Items per page for every list call (the SDK's largest page).
const PAGE_SIZE: u32 = 100;
/// Datapoint listings are the big ones (a plan reads every datapoint of a dataset): the
/// SDK's page size, the largest the API promises; a server that serves less says so in
/// `pageSize`, and paging follows it.
const DATAPOINT_PAGE_SIZE: u32 = 100;
/// Datapoint pages requested (or decoding) at once while listing a dataset: at 100 per
/// page, latency rather than bytes bounds a listing, so many pages are in flight (consumed
/// in order; see `docs/scale.md`).
const PAGES_IN_FLIGHT: usize = 64;
/// Files up to this size are read into memory once; larger ones are streamed from disk.
const IN_MEMORY_UPLOAD: u64 = 8 * 1024 * 1024;
/// Files up to this size are read on the async thread itself (see `upload_file`).
const INLINE_READ: u64 = 256 * 1024;
/// URLs per batch upload, like the SDK's default `batchSize`.
const URL_BATCH: usize = 1000;
/// Give up waiting for a URL batch after this long.
const URL_BATCH_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// A spawned page: its result (a panic in it is the caller's panic), and the task is
/// aborted when the listing is dropped before it (an error on an earlier page).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = T;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| match r {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a listing task was cancelled: {e}"),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Transport>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        Ok(Client {
            inner: Arc::new(Transport::new(config)?),
        })
    }

    pub fn stats(&self) -> ClientStats {
        self.inner.stats()
    }

    pub fn endpoints(&self) -> &Endpoints {
        self.inner.endpoints()
    }

    /// Fetch an access token now, to fail early on bad credentials.
    pub async fn check_credentials(&self) -> Result<(), ApiError> {
        self.inner.check_token().await
    }

    pub(super) async fn call(&self, req: Request) -> Result<Value, ApiError> {
        let resp = self.inner.send(&req).await?;
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&resp.body).map_err(|e| {
            unreadable(
                req.id().to_string(),
                req.safety,
                e.to_string(),
                resp.trace_id,
            )
        })
    }

    /// The response body as the server sent it (a results file, kept byte for byte).
    pub(super) async fn call_bytes(&self, req: Request) -> Result<Vec<u8>, ApiError> {
        Ok(self.inner.send(&req).await?.body)
    }

    pub(super) async fn call_field(&self, req: Request, field: &str) -> Result<String, ApiError> {
        let (id, safety) = (RouteId::of(&req), req.safety);
        let v = self.call(req).await?;
        wire_read::req_str(&v, field)
            .map_err(|message| unreadable(id.to_string(), safety, message, None))
    }

    /// All pages of a list endpoint: page 1 first (to learn the page count), the rest
    /// concurrently.
    pub(super) async fn all_pages(
        &self,
        make: impl Fn(u64) -> Request,
    ) -> Result<Vec<Value>, ApiError> {
        let first_req = make(1);
        let route = first_req.id().to_string();
        let decode = |message: String| ApiError::Decode {
            route: route.clone(),
            message,
        };
        let first = self.call(first_req).await?;
        let pages = wire_read::page_count(&first);
        let mut out = wire_read::items(&first).map_err(decode)?.clone();
        let rest = futures::future::try_join_all((2..=pages).map(|p| self.call(make(p)))).await?;
        for page in &rest {
            out.extend(wire_read::items(page).map_err(decode)?.iter().cloned());
        }
        Ok(out)
    }

    pub(super) fn decode<T>(route: &str, r: Result<T, String>) -> Result<T, ApiError> {
        r.map_err(|message| ApiError::Decode {
            route: route.to_string(),
            message,
        })
    }

    // ---- datasets & assets ----

    /// `POST /dataset` with a body from `wire_build::dataset_body`.
    pub async fn create_dataset(&self, body: &Value) -> Result<String, ApiError> {
        let req = Request::new(Method::POST, "/dataset", "/dataset".into(), Safety::Create)
            .json_ref(body);
        self.call_field(req, "datasetId").await
    }

    pub async fn dataset_progress(&self, dataset_id: &str) -> Result<DatasetProgress, ApiError> {
        let path = format!("/dataset/{}/progress", seg(dataset_id));
        let v = self
            .call(Request::new(
                Method::GET,
                "/dataset/{datasetId}/progress",
                path,
                Safety::Repeatable,
            ))
            .await?;
        Self::decode("GET /dataset/{datasetId}/progress", wire_read::progress(&v))
    }

    /// Group-level segments (context shared by a group), as the SDK posts them.
    pub async fn create_dataset_group(
        &self,
        dataset_id: &str,
        body: &Value,
    ) -> Result<(), ApiError> {
        let path = format!("/dataset/{}/group", seg(dataset_id));
        self.call(
            Request::new(
                Method::POST,
                "/dataset/{datasetId}/group",
                path,
                Safety::Create,
            )
            .json_ref(body),
        )
        .await
        .map(|_| ())
    }

    /// Upload one local file; returns the `fileName` to reference it by. Safe to repeat:
    /// a duplicate asset is harmless.
    pub async fn upload_file(&self, path: &Path, file_name: &str) -> Result<String, ApiError> {
        // Small files (the common case: images of a few KiB) are stat'ed and read inline: a
        // page-cache read of a few KiB takes microseconds, while every hand-off to the
        // blocking pool costs more CPU than the read itself. Larger files go to the pool
        // (up to IN_MEMORY_UPLOAD) or are streamed from disk.
        let io = |source| ApiError::Io {
            path: path.into(),
            source,
        };
        // One open, its size from the open file (no second walk of the path to stat it).
        let mut file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let bytes = if size <= INLINE_READ {
            let mut buf = Vec::with_capacity(size as usize);
            std::io::Read::read_to_end(&mut file, &mut buf).map_err(io)?;
            Some(buf)
        } else if size <= IN_MEMORY_UPLOAD {
            let owned = path.to_path_buf();
            let read = tokio::task::spawn_blocking(move || std::fs::read(owned))
                .await
                .map_err(|e| ApiError::Config(format!("file reader task failed: {e}")))?;
            Some(read.map_err(io)?)
        } else {
            None
        };
        let mime = match &bytes {
            Some(b) => media::by_extension(file_name)
                .or_else(|| media::by_magic(&b[..b.len().min(16)]))
                .unwrap_or("application/octet-stream")
                .to_string(),
            None => media::content_type(path, file_name).await,
        };
        let mut req = Request::new(
            Method::POST,
            "/asset/file",
            "/asset/file".into(),
            Safety::Repeatable,
        );
        req.body = match bytes {
            Some(bytes) => Body::Bytes {
                bytes,
                file_name: file_name.to_string(),
                mime,
            },
            None => Body::File {
                path: path.to_path_buf(),
                file_name: file_name.to_string(),
                mime,
                size,
            },
        };
        self.call_field(req, "fileName").await
    }

    /// Let the server fetch URLs: submit batches, poll until done, read the results. One
    /// entry per input URL, in input order.
    pub async fn upload_urls(&self, urls: &[String]) -> Result<Vec<(String, UrlUpload)>, ApiError> {
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        let correlation_id = uuid_v4();
        let mut batch_ids = Vec::new();
        for chunk in urls.chunks(URL_BATCH) {
            let req = Request::new(
                Method::POST,
                "/asset/batch-upload",
                "/asset/batch-upload".into(),
                Safety::Repeatable,
            )
            .json(json!({ "urls": chunk, "correlationId": correlation_id }));
            batch_ids.push(self.call_field(req, "batchUploadId").await?);
        }
        let started = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let req = Request::new(
                Method::GET,
                "/asset/batch-upload/status",
                "/asset/batch-upload/status".into(),
                Safety::Repeatable,
            )
            .query("correlationId", &correlation_id);
            let status = self.call(req).await?;
            let done: Vec<&str> = status
                .get("completedBatches")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if batch_ids.iter().all(|id| done.contains(&id.as_str())) {
                break;
            }
            if started.elapsed() > URL_BATCH_DEADLINE {
                return Err(ApiError::Transport {
                    route: "GET /asset/batch-upload/status".into(),
                    message: format!(
                        "URL batch upload not finished after {:?}",
                        URL_BATCH_DEADLINE
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        let mut results: HashMap<String, UrlUpload> = HashMap::new();
        for id in &batch_ids {
            let path = format!("/asset/batch-upload/{}", seg(id));
            let req = Request::new(
                Method::GET,
                "/asset/batch-upload/{batchUploadId}",
                path,
                Safety::Repeatable,
            );
            // Sent directly (not through `call`) to keep the answer's trace id: the items
            // carry none, and it is what support needs to find a failed URL fetch.
            let resp = self.inner.send(&req).await?;
            let v: Value = serde_json::from_slice(&resp.body).map_err(|e| ApiError::Decode {
                route: "GET /asset/batch-upload/{batchUploadId}".into(),
                message: e.to_string(),
            })?;
            for item in v
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some((url, mut outcome)) = wire_read::url_result(item) {
                    if let UrlUpload::Failed { trace_id, .. } = &mut outcome {
                        *trace_id = resp.trace_id.clone();
                    }
                    results.insert(url, outcome);
                }
            }
        }
        Ok(urls
            .iter()
            .map(|url| {
                let outcome = results
                    .get(url)
                    .cloned()
                    .unwrap_or_else(|| UrlUpload::Failed {
                        message: "the batch result does not mention this URL".into(),
                        stage: None,
                        upstream_http_status: None,
                        trace_id: None,
                    });
                (url.clone(), outcome)
            })
            .collect())
    }

    // ---- datapoints ----

    pub async fn create_datapoint(
        &self,
        dataset_id: &str,
        body: &Value,
    ) -> Result<String, ApiError> {
        // Serialising a `Value` cannot fail: its map keys are always strings.
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.create_datapoint_json(dataset_id, bytes).await
    }

    /// [`Client::create_datapoint`] with the body already serialised
    /// (`wire_build::datapoint_body_json`).
    pub async fn create_datapoint_json(
        &self,
        dataset_id: &str,
        body: Vec<u8>,
    ) -> Result<String, ApiError> {
        let path = format!("/dataset/{}/datapoint", seg(dataset_id));
        let req = Request::new(
            Method::POST,
            "/dataset/{datasetId}/datapoint",
            path,
            Safety::Create,
        )
        .json_bytes(body);
        self.call_field(req, "datapointId").await
    }

    pub async fn list_datapoints(
        &self,
        dataset_id: &str,
    ) -> Result<Vec<RemoteDatapoint>, ApiError> {
        let mut out = Vec::new();
        self.scan_datapoints(dataset_id, |d| out.push(d)).await?;
        // Concurrent pages can overlap (see `scan_datapoints`): sorted by id and
        // deduplicated, rather than a set of cloned ids.
        out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    /// Every datapoint of a dataset, page by page in order, to `f` as each page arrives:
    /// the caller keeps what it needs (the plan keeps an id per converged datapoint).
    /// Oldest first, so datapoints added while paging land on later pages instead of
    /// shifting earlier ones; a datapoint deleted meanwhile can shift one onto two pages,
    /// so callers must tolerate an id seen twice.
    pub async fn scan_datapoints(
        &self,
        dataset_id: &str,
        f: impl FnMut(RemoteDatapoint),
    ) -> Result<(), ApiError> {
        // Each page is decoded into the few fields the diff needs, never held as a JSON
        // tree (`wire_page::datapoint_page`).
        self.scan_datapoint_pages(dataset_id, wire_page::datapoint_page, f)
            .await
    }

    /// The paging of [`Client::scan_datapoints`], with the page decoder as a parameter
    /// (import decodes the full content): at most PAGES_IN_FLIGHT pages are requested or
    /// decoding at once, consumed in page order. Each page is fetched and decoded in a task
    /// of its own, so on a multi-threaded runtime pages decode on every core while the
    /// caller consumes the previous ones (the consumer stays one, in page order).
    pub(super) async fn scan_datapoint_pages<T: Send + 'static>(
        &self,
        dataset_id: &str,
        decode: fn(&[u8]) -> Result<Page<T>, String>,
        mut f: impl FnMut(T),
    ) -> Result<(), ApiError> {
        let path = format!("/dataset/{}/datapoints", seg(dataset_id));
        let page = |p: u64| {
            let req = Request::new(
                Method::GET,
                "/dataset/{datasetId}/datapoints",
                path.clone(),
                Safety::Repeatable,
            )
            .query("page", p)
            .query("page_size", DATAPOINT_PAGE_SIZE)
            .query("sort", "created_at");
            let client = self.clone();
            AbortOnDrop(tokio::spawn(async move {
                let body = client.call_bytes(req).await?;
                decode(&body).map_err(|message| ApiError::Decode {
                    route: "GET /dataset/{datasetId}/datapoints".into(),
                    message,
                })
            }))
        };
        let first = page(1).await?;
        let pages = first.count();
        first.items.into_iter().for_each(&mut f);
        let mut rest = futures::stream::iter(2..=pages)
            .map(page)
            .buffered(PAGES_IN_FLIGHT);
        while let Some(p) = rest.next().await {
            p?.items.into_iter().for_each(&mut f);
        }
        Ok(())
    }

    /// The dataset's total and newest datapoint, in one request
    /// (`page_size=1&sort=-created_at`).
    pub async fn dataset_head(&self, dataset_id: &str) -> Result<DatasetHead, ApiError> {
        let path = format!("/dataset/{}/datapoints", seg(dataset_id));
        let req = Request::new(
            Method::GET,
            "/dataset/{datasetId}/datapoints",
            path,
            Safety::Repeatable,
        )
        .query("page", 1)
        .query("page_size", 1)
        .query("sort", "-created_at");
        let body = self.call_bytes(req).await?;
        let page = wire_page::datapoint_page(&body).map_err(|message| ApiError::Decode {
            route: "GET /dataset/{datasetId}/datapoints".into(),
            message,
        })?;
        Ok(DatasetHead {
            total: page.total.unwrap_or(page.items.len() as u64),
            newest: page.items.into_iter().next().map(|d| d.id),
        })
    }

    /// Already gone (404) counts as deleted.
    pub async fn delete_datapoint(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/datapoint/{}", seg(id));
        self.delete(Request::new(
            Method::DELETE,
            "/datapoint/{datapointId}",
            path,
            Safety::Repeatable,
        ))
        .await
    }

    pub(super) async fn delete(&self, req: Request) -> Result<(), ApiError> {
        match self.call(req).await {
            Ok(_) => Ok(()),
            Err(ApiError::Problem { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // ---- job definitions ----

    /// Definitions named exactly `name` (the API filter is `contains`; filtered here).
    pub async fn find_job_definitions(
        &self,
        name: &str,
    ) -> Result<Vec<RemoteJobDefinition>, ApiError> {
        let items = self
            .list("/job/definitions", "name[contains]", name)
            .await?;
        let all = Self::decode(
            "GET /job/definitions",
            items
                .iter()
                .map(wire_read::job_definition)
                .collect::<Result<Vec<_>, _>>(),
        )?;
        Ok(all.into_iter().filter(|d| d.name == name).collect())
    }

    /// Every page of `GET /job/definitions`, newest first, as listed.
    pub(super) async fn job_definition_pages(&self) -> Result<Vec<Value>, ApiError> {
        self.all_pages(|p| {
            Request::new(
                Method::GET,
                "/job/definitions",
                "/job/definitions".into(),
                Safety::Repeatable,
            )
            .query("page", p)
            .query("page_size", PAGE_SIZE)
            .query("sort", "-created_at")
        })
        .await
    }

    /// Every job definition the credentials can see, for finding the ones a project
    /// created that are no longer in its manifests (`--prune --project`).
    pub async fn list_job_definitions(&self) -> Result<Vec<RemoteJobDefinition>, ApiError> {
        let items = self.job_definition_pages().await?;
        Self::decode(
            "GET /job/definitions",
            items
                .iter()
                .map(wire_read::job_definition)
                .collect::<Result<Vec<_>, _>>(),
        )
    }

    /// A dataset's name: where rapidata records which project created it.
    pub async fn dataset_name(&self, dataset_id: &str) -> Result<String, ApiError> {
        let req = Request::new(
            Method::GET,
            "/dataset/{datasetId}",
            format!("/dataset/{}", seg(dataset_id)),
            Safety::Repeatable,
        );
        self.call_field(req, "name").await
    }

    pub(super) async fn list(
        &self,
        route: &'static str,
        filter: &str,
        value: &str,
    ) -> Result<Vec<Value>, ApiError> {
        self.all_pages(|p| {
            Request::new(Method::GET, route, route.to_string(), Safety::Repeatable)
                .query("page", p)
                .query("page_size", PAGE_SIZE)
                .query("sort", "-created_at")
                .query(filter, value)
        })
        .await
    }

    pub async fn create_job_definition(&self, body: &Value) -> Result<String, ApiError> {
        let req = Request::new(
            Method::POST,
            "/job/definition",
            "/job/definition".into(),
            Safety::Create,
        )
        .json_ref(body);
        self.call_field(req, "definitionId").await
    }

    pub async fn latest_revision(&self, definition_id: &str) -> Result<RemoteRevision, ApiError> {
        let path = format!("/job/definition/{}/revision", seg(definition_id));
        let v = self
            .call(Request::new(
                Method::GET,
                "/job/definition/{definitionId}/revision",
                path,
                Safety::Repeatable,
            ))
            .await?;
        Self::decode(
            "GET /job/definition/{definitionId}/revision",
            wire_read::revision(&v),
        )
    }

    pub async fn create_revision(
        &self,
        definition_id: &str,
        body: &Value,
    ) -> Result<u32, ApiError> {
        let route = "/job/definition/{definitionId}/revision";
        let path = format!("/job/definition/{}/revision", seg(definition_id));
        let v = self
            .call(Request::new(Method::POST, route, path, Safety::Create).json_ref(body))
            .await?;
        v.get("revisionNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                unreadable(
                    format!("POST {route}"),
                    Safety::Create,
                    "missing `revisionNumber`".into(),
                    None,
                )
            })
    }

    pub async fn delete_job_definition(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/job/definition/{}", seg(id));
        self.delete(Request::new(
            Method::DELETE,
            "/job/definition/{definitionId}",
            path,
            Safety::Repeatable,
        ))
        .await
    }

    // ---- jobs, audiences, orders ----

    /// Jobs of one definition (filtered server-side and again here).
    pub async fn find_jobs(&self, definition_id: &str) -> Result<Vec<RemoteJob>, ApiError> {
        let all = self
            .jobs_where("job_definition_id[eq]", definition_id)
            .await?;
        Ok(all
            .into_iter()
            .filter(|j| j.definition_id == definition_id)
            .collect())
    }

    /// `GET /jobs` filtered server-side by one `filter` (a wire name like `name[eq]`).
    pub(super) async fn jobs_where(
        &self,
        filter: &str,
        value: &str,
    ) -> Result<Vec<RemoteJob>, ApiError> {
        let items = self.list("/jobs", filter, value).await?;
        Self::decode(
            "GET /jobs",
            items
                .iter()
                .map(wire_read::job)
                .collect::<Result<Vec<_>, _>>(),
        )
    }

    pub async fn create_job(&self, body: &Value) -> Result<String, ApiError> {
        let req = Request::new(Method::POST, "/job", "/job".into(), Safety::Create).json_ref(body);
        self.call_field(req, "jobId").await
    }

    pub async fn get_job(&self, id: &str) -> Result<RemoteJob, ApiError> {
        let path = format!("/job/{}", seg(id));
        let v = self
            .call(Request::new(
                Method::GET,
                "/job/{jobId}",
                path,
                Safety::Repeatable,
            ))
            .await?;
        Self::decode("GET /job/{jobId}", wire_read::job(&v))
    }

    pub async fn find_audiences(&self, name: &str) -> Result<Vec<RemoteAudience>, ApiError> {
        let items = self.list("/audiences", "name[contains]", name).await?;
        let all = Self::decode(
            "GET /audiences",
            items
                .iter()
                .map(wire_read::audience)
                .collect::<Result<Vec<_>, _>>(),
        )?;
        Ok(all.into_iter().filter(|a| a.name == name).collect())
    }

    pub async fn create_audience(&self, body: &Value) -> Result<String, ApiError> {
        let req = Request::new(
            Method::POST,
            "/audience",
            "/audience".into(),
            Safety::Create,
        )
        .json_ref(body);
        self.call_field(req, "audienceId").await
    }

    /// Returns the order id and the dataset the server made for it (when it says).
    pub async fn create_order(&self, body: &Value) -> Result<(String, Option<String>), ApiError> {
        let req =
            Request::new(Method::POST, "/order", "/order".into(), Safety::Create).json_ref(body);
        let v = self.call(req).await?;
        let id = wire_read::req_str(&v, "orderId")
            .map_err(|m| unreadable("POST /order".into(), Safety::Create, m, None))?;
        Ok((
            id,
            v.get("datasetId")
                .and_then(Value::as_str)
                .map(str::to_string),
        ))
    }

    pub async fn find_orders(&self, name: &str) -> Result<Vec<RemoteOrder>, ApiError> {
        let items = self.list("/orders", "order_name[contains]", name).await?;
        let all = Self::decode(
            "GET /orders",
            items
                .iter()
                .map(|v| wire_read::order(v, None))
                .collect::<Result<Vec<_>, _>>(),
        )?;
        Ok(all.into_iter().filter(|o| o.name == name).collect())
    }

    pub async fn get_order(&self, id: &str) -> Result<RemoteOrder, ApiError> {
        let path = format!("/order/{}", seg(id));
        let v = self
            .call(Request::new(
                Method::GET,
                "/order/{orderId}",
                path,
                Safety::Repeatable,
            ))
            .await?;
        Self::decode("GET /order/{orderId}", wire_read::order(&v, Some(id)))
    }

    /// Submit for processing. `apply` checks the failure tolerance itself before calling,
    /// so failed datapoints are ignored here (`ignoreFailedDatapoints: true`).
    pub async fn submit_order(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/order/{}/submit", seg(id));
        let req = Request::new(
            Method::POST,
            "/order/{orderId}/submit",
            path,
            Safety::Create,
        )
        .json(super::wire_build::submit_order_body());
        self.call(req).await.map(|_| ())
    }
}

/// An answer that cannot be read. After a create, the create went through but its result
/// is unknown, so it is [`ApiError::OutcomeUnknown`] (observe before creating again).
fn unreadable(route: String, safety: Safety, message: String, trace: Option<String>) -> ApiError {
    match safety {
        Safety::Create => ApiError::OutcomeUnknown {
            route,
            message: format!(
                "the server accepted the request but its answer is unreadable: {message}"
            ),
            status: None,
            problem: None,
            trace_id: trace,
        },
        Safety::Repeatable => ApiError::Decode { route, message },
    }
}

/// A random (version 4) UUID for batch-upload correlation ids.
fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    for x in b.iter_mut() {
        *x = fastrand::u8(..);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
