//! What apply needs of the API, as a trait: the executor takes any [`Remote`], so its
//! decisions are unit-tested against a recording fake (`tests` below) without HTTP, and
//! run against [`Client`] for real. Each method is the client call of the same name.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::remote::content_identity::ListedDatapoint;
use crate::remote::progress::CostEstimate;
use crate::remote::validation_sets::RemoteValidationSet;
use crate::remote::{
    ApiError, Client, RemoteAudience, RemoteJob, RemoteJobDefinition, RemoteOrder, RemoteRevision,
    UrlUpload,
};

type R<T> = Result<T, ApiError>;

#[rustfmt::skip]
pub trait Remote: Clone + Send + Sync + 'static {
    fn create_audience(&self, body: &Value) -> impl Future<Output = R<String>> + Send;
    fn update_audience(&self, id: &str, body: &Value) -> impl Future<Output = R<()>> + Send;
    fn find_audiences(&self, name: &str) -> impl Future<Output = R<Vec<RemoteAudience>>> + Send;
    fn delete_audience(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn create_filtered_audience(&self, base_id: &str, body: &Value) -> impl Future<Output = R<String>> + Send;
    fn create_validation_set(&self, name: &str) -> impl Future<Output = R<String>> + Send;
    fn find_validation_sets(&self, name: &str) -> impl Future<Output = R<Vec<RemoteValidationSet>>> + Send;
    fn add_validation_task(&self, id: &str, body: &Value) -> impl Future<Output = R<()>> + Send;
    fn update_validation_set(&self, id: &str, body: &Value) -> impl Future<Output = R<()>> + Send;
    fn delete_validation_set(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn add_example(&self, audience_id: &str, body: &Value) -> impl Future<Output = R<()>> + Send;
    fn delete_example(&self, example_id: &str) -> impl Future<Output = R<()>> + Send;
    fn start_recruiting(&self, audience_id: &str) -> impl Future<Output = R<()>> + Send;
    fn create_dataset(&self, body: &Value) -> impl Future<Output = R<String>> + Send;
    fn create_dataset_group(&self, dataset_id: &str, body: &Value) -> impl Future<Output = R<()>> + Send;
    fn create_datapoint(&self, dataset_id: &str, body: Vec<u8>) -> impl Future<Output = R<String>> + Send;
    fn delete_datapoint(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn upload_file(&self, path: &Path, file_name: &str) -> impl Future<Output = R<String>> + Send;
    fn upload_urls(&self, urls: &[String]) -> impl Future<Output = R<Vec<(String, UrlUpload)>>> + Send;
    fn create_job_definition(&self, body: &Value) -> impl Future<Output = R<String>> + Send;
    fn find_job_definitions(&self, name: &str) -> impl Future<Output = R<Vec<RemoteJobDefinition>>> + Send;
    fn rename_job_definition(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send;
    fn delete_job_definition(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn revision(&self, definition_id: &str, number: u32) -> impl Future<Output = R<RemoteRevision>> + Send;
    fn create_revision(&self, definition_id: &str, body: &Value) -> impl Future<Output = R<u32>> + Send;
    fn wait_definition_cost_estimate(&self, definition_id: &str, interval: Duration, timeout: Duration) -> impl Future<Output = R<Option<CostEstimate>>> + Send;
    fn create_job(&self, body: &Value) -> impl Future<Output = R<String>> + Send;
    fn find_jobs_named(&self, name: &str) -> impl Future<Output = R<Vec<RemoteJob>>> + Send;
    fn pause_job(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn resume_job(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn delete_job(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn create_order(&self, body: &Value) -> impl Future<Output = R<(String, Option<String>)>> + Send;
    fn find_orders(&self, name: &str) -> impl Future<Output = R<Vec<RemoteOrder>>> + Send;
    fn rename_order(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send;
    fn submit_order(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn pause_order(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn resume_order(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn delete_order(&self, id: &str) -> impl Future<Output = R<()>> + Send;
    fn find_jobs(&self, definition_id: &str) -> impl Future<Output = R<Vec<RemoteJob>>> + Send;
    fn rename_job(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send;
    fn rename_dataset(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send;
    fn list_datapoint_contents(&self, dataset_id: &str) -> impl Future<Output = R<Vec<ListedDatapoint>>> + Send;
}

#[rustfmt::skip]
impl Remote for Client {
    fn create_audience(&self, body: &Value) -> impl Future<Output = R<String>> + Send { Client::create_audience(self, body) }
    fn update_audience(&self, id: &str, body: &Value) -> impl Future<Output = R<()>> + Send { Client::update_audience(self, id, body) }
    fn find_audiences(&self, name: &str) -> impl Future<Output = R<Vec<RemoteAudience>>> + Send { Client::find_audiences(self, name) }
    fn delete_audience(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::delete_audience(self, id) }
    fn create_filtered_audience(&self, base_id: &str, body: &Value) -> impl Future<Output = R<String>> + Send { Client::create_filtered_audience(self, base_id, body) }
    fn create_validation_set(&self, name: &str) -> impl Future<Output = R<String>> + Send { Client::create_validation_set(self, name) }
    fn find_validation_sets(&self, name: &str) -> impl Future<Output = R<Vec<RemoteValidationSet>>> + Send { Client::find_validation_sets(self, name) }
    fn add_validation_task(&self, id: &str, body: &Value) -> impl Future<Output = R<()>> + Send { Client::add_validation_task(self, id, body) }
    fn update_validation_set(&self, id: &str, body: &Value) -> impl Future<Output = R<()>> + Send { Client::update_validation_set(self, id, body) }
    fn delete_validation_set(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::delete_validation_set(self, id) }
    fn add_example(&self, audience_id: &str, body: &Value) -> impl Future<Output = R<()>> + Send { Client::add_example(self, audience_id, body) }
    fn delete_example(&self, example_id: &str) -> impl Future<Output = R<()>> + Send { Client::delete_example(self, example_id) }
    fn start_recruiting(&self, audience_id: &str) -> impl Future<Output = R<()>> + Send { Client::start_recruiting(self, audience_id) }
    fn create_dataset(&self, body: &Value) -> impl Future<Output = R<String>> + Send { Client::create_dataset(self, body) }
    fn create_dataset_group(&self, dataset_id: &str, body: &Value) -> impl Future<Output = R<()>> + Send { Client::create_dataset_group(self, dataset_id, body) }
    fn create_datapoint(&self, dataset_id: &str, body: Vec<u8>) -> impl Future<Output = R<String>> + Send { Client::create_datapoint_json(self, dataset_id, body) }
    fn delete_datapoint(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::delete_datapoint(self, id) }
    fn upload_file(&self, path: &Path, file_name: &str) -> impl Future<Output = R<String>> + Send { Client::upload_file(self, path, file_name) }
    fn upload_urls(&self, urls: &[String]) -> impl Future<Output = R<Vec<(String, UrlUpload)>>> + Send { Client::upload_urls(self, urls) }
    fn create_job_definition(&self, body: &Value) -> impl Future<Output = R<String>> + Send { Client::create_job_definition(self, body) }
    fn find_job_definitions(&self, name: &str) -> impl Future<Output = R<Vec<RemoteJobDefinition>>> + Send { Client::find_job_definitions(self, name) }
    fn rename_job_definition(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send { Client::rename_job_definition(self, id, name) }
    fn delete_job_definition(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::delete_job_definition(self, id) }
    fn revision(&self, definition_id: &str, number: u32) -> impl Future<Output = R<RemoteRevision>> + Send { Client::revision(self, definition_id, number) }
    fn create_revision(&self, definition_id: &str, body: &Value) -> impl Future<Output = R<u32>> + Send { Client::create_revision(self, definition_id, body) }
    fn wait_definition_cost_estimate(&self, definition_id: &str, interval: Duration, timeout: Duration) -> impl Future<Output = R<Option<CostEstimate>>> + Send { Client::wait_definition_cost_estimate(self, definition_id, interval, timeout) }
    fn create_job(&self, body: &Value) -> impl Future<Output = R<String>> + Send { Client::create_job(self, body) }
    fn find_jobs_named(&self, name: &str) -> impl Future<Output = R<Vec<RemoteJob>>> + Send { Client::find_jobs_named(self, name) }
    fn pause_job(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::pause_job(self, id) }
    fn resume_job(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::resume_job(self, id) }
    fn delete_job(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::delete_job(self, id) }
    fn create_order(&self, body: &Value) -> impl Future<Output = R<(String, Option<String>)>> + Send { Client::create_order(self, body) }
    fn find_orders(&self, name: &str) -> impl Future<Output = R<Vec<RemoteOrder>>> + Send { Client::find_orders(self, name) }
    fn rename_order(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send { Client::rename_order(self, id, name) }
    fn submit_order(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::submit_order(self, id) }
    fn pause_order(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::pause_order(self, id) }
    fn resume_order(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::resume_order(self, id) }
    fn delete_order(&self, id: &str) -> impl Future<Output = R<()>> + Send { Client::delete_order(self, id) }
    fn find_jobs(&self, definition_id: &str) -> impl Future<Output = R<Vec<RemoteJob>>> + Send { Client::find_jobs(self, definition_id) }
    fn rename_job(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send { Client::rename_job(self, id, name) }
    fn rename_dataset(&self, id: &str, name: &str) -> impl Future<Output = R<()>> + Send { Client::rename_dataset(self, id, name) }
    fn list_datapoint_contents(&self, dataset_id: &str) -> impl Future<Output = R<Vec<ListedDatapoint>>> + Send { Client::list_datapoint_contents(self, dataset_id) }
}
