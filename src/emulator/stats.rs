//! Request counts per route template: how tests assert what a client sent (e.g. "apply
//! uploaded only the 3 missing datapoints") without intercepting traffic.

use std::collections::BTreeMap;

/// A snapshot of request counts keyed by `"METHOD /route/{template}"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestStats {
    by_route: BTreeMap<String, u64>,
}

impl RequestStats {
    pub(crate) fn from_map(by_route: BTreeMap<String, u64>) -> Self {
        RequestStats { by_route }
    }

    /// Every counted request (unknown routes are not counted).
    pub fn total(&self) -> u64 {
        self.by_route.values().sum()
    }

    /// Requests that may change API state: not GET, and not the token endpoint (getting
    /// a token changes nothing a user manages).
    pub fn writes(&self) -> u64 {
        self.by_route
            .iter()
            .filter(|(k, _)| !k.starts_with("GET ") && k.as_str() != "POST /connect/token")
            .map(|(_, v)| v)
            .sum()
    }

    /// Requests to one route, e.g. `get("POST /dataset/{datasetId}/datapoint")`.
    pub fn get(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }

    pub fn routes(&self) -> &BTreeMap<String, u64> {
        &self.by_route
    }
}
