//! The full remote state of the resources an import writes: a definition's latest
//! revision and every datapoint of its dataset (with the content the listing shows), an
//! audience's examples. Read concurrently, at most [`CONCURRENT`] resources at a time.

use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use super::select::{Candidate, Listed};
use crate::manifest::ResourceKind;
use crate::remote::content_identity::ListedDatapoint;
use crate::remote::listing::DefinitionSummary;
use crate::remote::{ApiError, Client, RemoteAudience, RemoteJob, RemoteRevision};

/// Resources read at once (each is a few requests; the client bounds requests itself).
const CONCURRENT: usize = 8;

#[derive(Debug, Clone)]
pub struct FetchedDefinition {
    pub summary: DefinitionSummary,
    pub revision: RemoteRevision,
    pub datapoints: Vec<ListedDatapoint>,
}

#[derive(Debug, Clone)]
pub struct FetchedAudience {
    pub audience: RemoteAudience,
    /// `QueryExamplesForAudienceEndpointOutput` objects.
    pub examples: Vec<Value>,
}

/// What was read for the chosen resources.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub definitions: Vec<FetchedDefinition>,
    pub audiences: Vec<FetchedAudience>,
    pub jobs: Vec<RemoteJob>,
}

enum One {
    Definition(Box<FetchedDefinition>),
    Audience(FetchedAudience),
    Job(RemoteJob),
}

/// Reads the chosen resources (in the order given).
pub async fn fetch(
    client: &Client,
    listed: &Listed,
    chosen: &[Candidate],
) -> Result<Fetched, ApiError> {
    let read = |c: &Candidate| {
        let c = c.clone();
        async move {
            Ok::<_, ApiError>(match c.kind {
                ResourceKind::JobDefinition => {
                    let Some(summary) = listed.definition(&c.id).cloned() else {
                        return Ok(None);
                    };
                    let revision = client.latest_revision(&summary.id).await?;
                    let datapoints = client.list_datapoint_contents(&revision.dataset_id).await?;
                    Some(One::Definition(Box::new(FetchedDefinition {
                        summary,
                        revision,
                        datapoints,
                    })))
                }
                ResourceKind::Audience => {
                    let Some(audience) = listed.audience(&c.id).cloned() else {
                        return Ok(None);
                    };
                    let examples = client.list_example_items(&audience.id).await?;
                    Some(One::Audience(FetchedAudience { audience, examples }))
                }
                ResourceKind::Job => listed
                    .jobs
                    .iter()
                    .find(|j| j.id == c.id)
                    .cloned()
                    .map(One::Job),
                ResourceKind::Order | ResourceKind::ValidationSet => None,
            })
        }
    };
    let all: Vec<Option<One>> = stream::iter(chosen.iter().map(read))
        .buffered(CONCURRENT)
        .try_collect()
        .await?;
    let mut out = Fetched::default();
    for one in all.into_iter().flatten() {
        match one {
            One::Definition(d) => out.definitions.push(*d),
            One::Audience(a) => out.audiences.push(a),
            One::Job(j) => out.jobs.push(j),
        }
    }
    Ok(out)
}
