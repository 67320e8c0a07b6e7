//! The gates apply passes before a step that cannot be taken back: assigning a job,
//! submitting an order, saving a revision over a new dataset. Pure decisions on what the
//! round counted, so each rule is unit-tested without a server.

/// Failure rate of a labeling resource: desired datapoints still missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    pub missing: u64,
    pub total: u64,
    pub tolerance: f64,
    /// Some missing datapoints failed transiently (or their create's outcome is unknown):
    /// a later round may still bring them.
    pub retryable: bool,
}

impl Rate {
    pub fn value(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.missing as f64 / self.total as f64
        }
    }

    /// Within the failure tolerance (the seed: the job is assigned / the order submitted
    /// when the failure rate does not exceed it).
    pub fn within(self) -> bool {
        self.value() <= self.tolerance + f64::EPSILON
    }

    pub fn explain(self, what: &str) -> String {
        format!(
            "{what}: {} of {} datapoints are missing ({:.1}%), above the failure tolerance of {:.1}%",
            self.missing,
            self.total,
            self.value() * 100.0,
            self.tolerance * 100.0
        )
    }
}

/// Why a gate holds a step back (the next round takes it again).
#[derive(Debug, Clone, PartialEq)]
pub struct Hold(pub String);

/// Which round of apply decides: retries finish before labeling starts, so a step that
/// starts labeling waits for the retry rounds while datapoints are still retryable, and
/// the last round judges the tolerance on what is in the dataset then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// More rounds follow: what failed transiently is retried first.
    More,
    /// The last round: nothing more will be retried in this apply.
    Last,
}

/// A job is assigned only once its definition's datapoints had their retries (the
/// seed's order: the definition exists with what arrived, failed uploads are retried into
/// the same dataset, then the job runs) and its failure rate is within tolerance.
pub fn assign_job(rate: Rate, definition: &str, round: Round) -> Result<(), Hold> {
    if rate.retryable && rate.missing > 0 && round == Round::More {
        return Err(Hold(format!(
            "not assigned yet: {} datapoints of JobDefinition `{definition}` failed transiently or \
             are not confirmed; the next round retries them into the same dataset first",
            rate.missing
        )));
    }
    if rate.within() {
        Ok(())
    } else {
        Err(Hold(rate.explain(&format!(
            "not assigned (JobDefinition `{definition}`)"
        ))))
    }
}

/// An order is locked once submitted: it is submitted only when nothing that a later round
/// could still bring is missing, and the rest is within tolerance.
pub fn submit_order(rate: Rate) -> Result<(), Hold> {
    if rate.retryable {
        return Err(Hold(format!(
            "not submitted yet: {} datapoints failed transiently or are not confirmed; the next round \
             observes and retries them first",
            rate.missing
        )));
    }
    if !rate.within() {
        return Err(Hold(rate.explain("not submitted")));
    }
    Ok(())
}

/// A revision pointing at a new dataset is saved only once the dataset had its retries
/// (it stays recorded, so the next round fills the same dataset) and is within
/// tolerance: the job that follows runs on it.
pub fn save_new_dataset_revision(rate: Rate, round: Round) -> Result<(), Hold> {
    if rate.retryable && rate.missing > 0 && round == Round::More {
        return Err(Hold(format!(
            "the new revision is not saved yet: {} datapoints of the new dataset failed \
             transiently or are not confirmed; the next round retries them into it first",
            rate.missing
        )));
    }
    if rate.within() {
        Ok(())
    } else {
        Err(Hold(rate.explain("the new revision is not saved")))
    }
}

/// A new dataset whose new content all failed (and that drops nothing) would equal the
/// current one: it is abandoned rather than saved as an identical revision, so datapoints
/// that fail on every apply do not replace the running job each time.
pub fn new_content_arrived(fresh: u64, fresh_missing: u64) -> Result<(), Hold> {
    if fresh > 0 && fresh_missing >= fresh {
        Err(Hold(format!(
            "none of the {fresh} new datapoints uploaded; the job's dataset and revision stay as they are"
        )))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(missing: u64, total: u64, tolerance: f64, retryable: bool) -> Rate {
        Rate {
            missing,
            total,
            tolerance,
            retryable,
        }
    }

    #[test]
    fn tolerance_is_inclusive_and_an_empty_resource_passes() {
        assert!(rate(1, 10, 0.1, false).within());
        assert!(!rate(2, 10, 0.1, false).within());
        assert!(rate(0, 0, 0.0, false).within());
        assert!(assign_job(rate(1, 10, 0.1, false), "d", Round::More).is_ok());
        let e = assign_job(rate(5, 50, 0.05, false), "animals", Round::Last)
            .unwrap_err()
            .0;
        assert!(
            e.contains("5 of 50") && e.contains("10.0%") && e.contains("5.0%"),
            "{e}"
        );
    }

    #[test]
    fn an_order_waits_for_transient_failures_even_within_tolerance() {
        assert!(submit_order(rate(1, 100, 0.5, true)).is_err());
        assert!(submit_order(rate(1, 100, 0.5, false)).is_ok());
        assert!(submit_order(rate(60, 100, 0.5, false)).is_err());
        assert!(submit_order(rate(0, 100, 0.0, false)).is_ok());
    }

    #[test]
    fn retries_finish_before_a_job_is_assigned() {
        // Within tolerance, but some missing datapoints may still arrive: wait while
        // rounds follow; the last round judges what is in the dataset.
        let r = rate(5, 100, 0.25, true);
        let held = assign_job(r, "d", Round::More).unwrap_err().0;
        assert!(
            held.contains("not assigned yet") && held.contains("5 datapoints"),
            "{held}"
        );
        assert!(assign_job(r, "d", Round::Last).is_ok());
        // Above tolerance on the last round: not assigned.
        assert!(assign_job(rate(30, 100, 0.25, true), "d", Round::Last).is_err());
        // Nothing retryable: no reason to wait.
        assert!(assign_job(rate(5, 100, 0.25, false), "d", Round::More).is_ok());
        assert!(save_new_dataset_revision(r, Round::More).is_err());
        assert!(save_new_dataset_revision(r, Round::Last).is_ok());
    }

    #[test]
    fn a_new_dataset_is_saved_only_within_tolerance_and_when_something_new_arrived() {
        assert!(save_new_dataset_revision(rate(0, 20, 0.0, false), Round::More).is_ok());
        assert!(save_new_dataset_revision(rate(1, 20, 0.0, false), Round::Last).is_err());
        assert!(new_content_arrived(2, 2).is_err());
        assert!(new_content_arrived(2, 1).is_ok());
        assert!(new_content_arrived(0, 0).is_ok());
    }
}
