//! How a step of apply ends when it does not succeed, and the one policy that decides what
//! follows (kube-rs's `error_policy`): the resource is taken again by the next round, after
//! a fresh observation, or not again in this run.
//!
//! The class of an API failure comes from one place, [`ApiError::class`]; this module only
//! maps it to what apply does next. Nothing in apply carries errors as bare strings.

use crate::remote::{ApiError, FailureClass};
use crate::report::failures::StepFailure;

/// What follows a step that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The next round observes and takes the resource again.
    NextRound,
    /// Not again in this run: the same request would get the same answer (a permanent API
    /// error, a gate that decided for the run), or the remote changed since the plan.
    StopForRun,
}

#[derive(Debug)]
pub enum StepError {
    /// Not done yet, and nothing is wrong: the step waits for what a later round brings
    /// (retries into the dataset, a resource it needs, a create the next observation
    /// confirms).
    Wait(String),
    /// An API call failed; its class decides.
    Api(StepFailure),
    /// Stopped for this run: a gate decided (over budget), or the remote changed under
    /// the plan (the user re-plans).
    Halt {
        message: String,
        failure: Option<StepFailure>,
    },
}

pub type StepResult = Result<(), StepError>;

impl StepError {
    /// `doing` failed with `e`.
    pub fn api(doing: &str, e: &ApiError) -> StepError {
        StepError::Api(StepFailure::api(doing, e))
    }

    pub fn wait(message: impl Into<String>) -> StepError {
        StepError::Wait(message.into())
    }

    /// A plan that does not fit the manifests it was made from: not tried again.
    pub fn misfit(message: impl Into<String>) -> StepError {
        StepError::Halt {
            message: message.into(),
            failure: None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            StepError::Wait(m) => m,
            StepError::Api(f) => &f.message,
            StepError::Halt { message, .. } => message,
        }
    }

    /// The one error policy.
    pub fn next(&self) -> Next {
        match self {
            StepError::Wait(_) => Next::NextRound,
            StepError::Api(f) => match f.class {
                FailureClass::Permanent => Next::StopForRun,
                FailureClass::Transient | FailureClass::OutcomeUnknown => Next::NextRound,
            },
            StepError::Halt { .. } => Next::StopForRun,
        }
    }

    /// The record for the report: the step's own words, with the API's details when an
    /// API call failed.
    pub fn failure(&self) -> StepFailure {
        let mut f = match self {
            StepError::Wait(m) => StepFailure::from(m.clone()),
            StepError::Api(f) => f.clone(),
            StepError::Halt {
                message, failure, ..
            } => failure.clone().unwrap_or_else(|| message.clone().into()),
        };
        f.message = self.message().to_string();
        if self.next() == Next::StopForRun {
            f.class = FailureClass::Permanent;
        }
        f
    }
}

impl From<super::budget::BudgetStop> for StepError {
    fn from(b: super::budget::BudgetStop) -> Self {
        if b.halt {
            StepError::Halt {
                message: b.message,
                failure: None,
            }
        } else {
            StepError::Wait(b.message)
        }
    }
}

impl From<super::gate::Hold> for StepError {
    fn from(h: super::gate::Hold) -> Self {
        StepError::Wait(h.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::ProblemDetails;

    fn problem(status: u16) -> ApiError {
        ApiError::Problem {
            status,
            problem: Box::new(ProblemDetails::default()),
            trace_id: Some("t-1".into()),
            route: "POST /dataset".into(),
        }
    }

    #[test]
    fn permanent_api_errors_stop_for_the_run_and_keep_their_details() {
        let e = StepError::api("creating the dataset", &problem(400));
        assert_eq!(e.next(), Next::StopForRun);
        let f = e.failure();
        assert_eq!(f.http_status, Some(400));
        assert_eq!(f.trace_id.as_deref(), Some("t-1"));
        assert_eq!(f.class, FailureClass::Permanent);
    }

    #[test]
    fn transient_errors_and_waits_go_to_the_next_round() {
        assert_eq!(
            StepError::api("creating the dataset", &problem(503)).next(),
            Next::NextRound
        );
        assert_eq!(StepError::wait("later").next(), Next::NextRound);
        assert_eq!(StepError::misfit("no").next(), Next::StopForRun);
    }
}
