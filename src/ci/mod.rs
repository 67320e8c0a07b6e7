//! Continuous integration: the plan as a pull/merge request comment that is updated in
//! place, and the GitHub Actions step summary. The rendering is in [`crate::report`];
//! this module only delivers it.

pub mod comment;
pub mod summary;
pub mod truncate;
