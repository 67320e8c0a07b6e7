//! The identity a datapoint carries on the remote.
//!
//! The manifest gives every datapoint a key (explicit, or its content fingerprint) and a
//! fingerprint of its own content. What is uploaded also contains what the task adds to
//! every datapoint (the answer options of a classification, which the API stores per
//! datapoint), so the fingerprint stored remotely covers both: changing the answer
//! options changes every datapoint, and the plan says so.

use crate::manifest::{Datapoint, Task};

/// The fingerprint stored on (and compared with) the remote datapoint.
pub fn remote_fingerprint(task: &Task, dp: &Datapoint) -> String {
    match task {
        Task::Classify { answer_options, .. } => {
            crate::manifest::fingerprint::with_answer_options(&dp.fingerprint, answer_options)
        }
        _ => dp.fingerprint.clone(),
    }
}
