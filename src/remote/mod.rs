//! The Rapidata API: client, authentication, wire format, observed state.
pub mod auth;
pub mod client;
pub mod config;
pub mod content_identity;
pub mod error;
pub mod example_identity;
pub mod examples;
pub mod lifecycle;
pub mod listing;
pub mod media;
pub mod model;
pub mod progress;
pub mod transport;
pub mod validation_sets;
pub mod wire_build;
pub(crate) mod wire_content;
pub(crate) mod wire_page;
pub(crate) mod wire_read;

pub use client::Client;
pub use config::*;
pub use error::*;
pub use model::*;
pub use transport::ClientStats;
