//! One way to create a named remote object, for every kind: create, then look again by
//! name. Of several (a concurrent apply made one too) the oldest is kept by everyone, and
//! ours is removed when it is not it. A create whose outcome is unknown is never sent
//! again: the look-up decides whether it happened.

use std::future::Future;

use super::error::StepError;
use super::execute::Executor;
use super::remote::Remote;
use crate::manifest::ResourceKind;
use crate::plan::observe::pick_oldest;
use crate::remote::validation_sets::RemoteValidationSet;
use crate::remote::{ApiError, RemoteAudience, RemoteJob, RemoteJobDefinition, RemoteOrder};

/// A remote object the look-up finds by name.
pub trait Listed {
    fn id(&self) -> &str;
    fn created_at(&self) -> &str;
}

macro_rules! listed {
    ($($t:ty),*) => {$(
        impl Listed for $t {
            fn id(&self) -> &str { &self.id }
            fn created_at(&self) -> &str { &self.created_at }
        }
    )*};
}
listed!(
    RemoteAudience,
    RemoteJobDefinition,
    RemoteJob,
    RemoteOrder,
    RemoteValidationSet
);

/// How a create settled.
#[derive(Debug, PartialEq)]
pub enum Settled<O> {
    /// Ours is the one (the oldest, or the only one).
    Ours(O),
    /// An older one made at the same time is kept by everyone; ours was removed.
    Older(String),
    /// The create's answer was lost, and the look-up found it (the oldest of that name).
    Found(String),
}

impl<O> Settled<O> {
    pub fn id<'a>(&'a self, ours: impl Fn(&'a O) -> &'a str) -> &'a str {
        match self {
            Settled::Ours(o) => ours(o),
            Settled::Older(id) | Settled::Found(id) => id,
        }
    }
}

impl<C: Remote> Executor<'_, C> {
    /// `create`, then `find` (every remote object of the name that could be this one).
    /// `ours` is the id in the create's answer.
    pub(super) async fn create_settled<O, T: Listed, F>(
        &self,
        (kind, name): (ResourceKind, &str),
        doing: &str,
        create: impl Future<Output = Result<O, ApiError>>,
        ours: impl Fn(&O) -> &str,
        find: impl Fn() -> F,
    ) -> Result<Settled<O>, StepError>
    where
        F: Future<Output = Result<Vec<T>, ApiError>>,
    {
        let created = match create.await {
            Ok(o) => o,
            Err(e @ ApiError::OutcomeUnknown { .. }) => {
                // Observe before deciding: the create may have happened.
                let found = find().await.map(|f| {
                    pick_oldest(kind, name, f, Listed::id, Listed::created_at)
                        .0
                        .map(|t| t.id().to_string())
                });
                return match found {
                    Ok(Some(id)) => {
                        self.progress.step(&format!(
                            "{kind} {name}: the answer to its create was lost; found it ({id})"
                        ));
                        Ok(Settled::Found(id))
                    }
                    // Not there (yet): the next round's observation decides.
                    _ => Err(StepError::api(doing, &e)),
                };
            }
            Err(e) => return Err(StepError::api(doing, &e)),
        };
        let id = ours(&created).to_string();
        let found = find()
            .await
            .map_err(|e| StepError::api("looking for concurrent creates", &e))?;
        let (kept, _) = pick_oldest(kind, name, found, Listed::id, Listed::created_at);
        match kept.map(|k| k.id().to_string()) {
            Some(kept) if kept != id => {
                self.delete(kind, &id).await.map_err(|e| {
                    StepError::api(&format!("removing our duplicate {kind} {id}"), &e)
                })?;
                self.progress.step(&format!(
                    "{kind} {name}: another apply created it at the same time; kept the older {kept}, removed ours ({id})"
                ));
                Ok(Settled::Older(kept))
            }
            _ => Ok(Settled::Ours(created)),
        }
    }

    pub(super) async fn delete(&self, kind: ResourceKind, id: &str) -> Result<(), ApiError> {
        match kind {
            ResourceKind::Audience => self.client.delete_audience(id).await,
            ResourceKind::JobDefinition => self.client.delete_job_definition(id).await,
            ResourceKind::Job => self.client.delete_job(id).await,
            ResourceKind::Order => self.client.delete_order(id).await,
            ResourceKind::ValidationSet => self.client.delete_validation_set(id).await,
        }
    }
}
