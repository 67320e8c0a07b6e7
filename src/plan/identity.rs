//! The identity a datapoint carries on the remote.
//!
//! The manifest gives every datapoint a key (explicit, or its content fingerprint) and a
//! fingerprint of its own content. What is uploaded also contains what the task adds to
//! every datapoint (the answer options of a classification, which the API stores per
//! datapoint), so the fingerprint stored remotely covers both: changing the answer
//! options changes every datapoint, and the plan says so.

use crate::manifest::fingerprint::Hex64;
use crate::manifest::{Datapoint, Task};

/// The fingerprint stored on (and compared with) the remote datapoint.
pub fn remote_fingerprint(task: &Task, dp: &Datapoint) -> String {
    remote_fingerprint_of(task, &dp.fingerprint)
}

/// [`remote_fingerprint`] from the datapoint's own fingerprint (hex).
pub fn remote_fingerprint_of(task: &Task, fingerprint: &str) -> String {
    match classify_fingerprint(task, fingerprint) {
        Some(h) => crate::manifest::fingerprint::hex(h.as_bytes())
            .as_str()
            .to_owned(),
        None => fingerprint.to_owned(),
    }
}

/// Whether a remote datapoint's stored fingerprint is the one a datapoint with this own
/// fingerprint (hex) stores: [`remote_fingerprint`] without allocating.
pub fn same_remote_fingerprint(task: &Task, fingerprint: &str, remote: &Hex64) -> bool {
    match classify_fingerprint(task, fingerprint) {
        Some(h) => remote.is_hash(&h),
        None => remote.is(fingerprint),
    }
}

/// A classification's datapoints also carry its answer options.
fn classify_fingerprint(task: &Task, fingerprint: &str) -> Option<blake3::Hash> {
    let Task::Classify { answer_options, .. } = task else {
        return None;
    };
    Some(crate::manifest::fingerprint::answer_options_hash(
        fingerprint,
        answer_options,
    ))
}
