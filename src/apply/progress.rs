//! Progress events of an apply. The executor only emits events; how they are shown
//! (bars on a terminal, periodic lines in CI, nothing with `-q`) is the reporter's
//! business (see `report::progress`), as uv separates its reporters from the installer.

pub trait ApplyProgress: Send + Sync {
    /// A new round starts: the plan of what is still to do.
    fn round(&self, _round: u32, _max_rounds: u32, _summary: &crate::plan::Summary) {}
    /// A resource-level step (created, revised, assigned, skipped with reason).
    fn step(&self, _message: &str) {}
    /// Datapoint uploads of one resource start.
    fn uploads_started(&self, _resource: &str, _datapoints: u64, _assets: u64) {}
    fn asset_done(&self, _ok: bool) {}
    fn datapoint_done(&self, _ok: bool) {}
    fn uploads_finished(&self, _resource: &str) {}
}

/// Shows nothing.
pub struct Silent;
impl ApplyProgress for Silent {}
