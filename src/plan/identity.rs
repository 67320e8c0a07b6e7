//! The identity a datapoint carries on the remote.
//!
//! The manifest gives every datapoint a key (explicit, or its content fingerprint) and a
//! fingerprint of its own content. What is uploaded also contains what the task adds to
//! every datapoint (the answer options of a classification, which the dataset stores per
//! datapoint), so the fingerprint stored remotely covers both. A remote datapoint is the
//! manifest's when its stored fingerprint is the manifest content's with the options the
//! datapoint itself carries: the options are the revision's to change (a revision binds
//! them literally, as the SDK's `edit` + `save` does), not a reason to upload the datapoint
//! again.

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

/// Whether a remote datapoint carrying `carried` answer options (its `answer_options`
/// segment) and storing `remote` holds the content whose own fingerprint (hex) is
/// `fingerprint`: [`remote_fingerprint`] with the options it was uploaded with (the task's
/// when it shows none), without allocating.
pub fn same_remote_fingerprint(
    task: &Task,
    fingerprint: &str,
    carried: Option<&[String]>,
    remote: &Hex64,
) -> bool {
    let Task::Classify { answer_options, .. } = task else {
        return remote.is(fingerprint);
    };
    let options = carried.unwrap_or(answer_options);
    let h = crate::manifest::fingerprint::answer_options_hash(fingerprint, options);
    remote.is_hash(&h)
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
