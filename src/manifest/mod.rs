//! Manifests: the desired state, read from YAML.
pub mod model;
pub use model::*;
