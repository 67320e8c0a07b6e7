//! The Rapidata API: client, authentication, wire format, observed state.
pub mod model;
pub use model::*;
