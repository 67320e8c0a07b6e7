//! Output: plans, apply results and failures, progress. Rendering is kept apart from the
//! logic that produces what is rendered.

pub mod apply_text;
pub mod failures;
pub mod field_diff;
pub mod plan_markdown;
pub mod plan_text;
pub mod progress;
pub mod style;
