//! What a run of `up` or `down` reports: plain data the engine fills in and `output` renders (as
//! text or JSON). Neither the engine nor `output` owns it, so neither imports the other.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calls::Calls;
use crate::plan::{Entry, Summary};

/// What `up` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpReport {
    pub outputs: Outputs,
    /// The entries applied, in the order they finished.
    pub changes: Vec<Entry>,
    pub summary: Summary,
    pub calls: Calls,
    pub seconds: f64,
}

/// What users of the stack need: the API's URL, the pools' and clients' ids.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outputs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Where the stack is (what a front end's Cognito calls need).
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// The stack's pool and client when it has exactly one of each (the usual case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pool_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pool_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pool_client_id: Option<String>,
    /// Every pool, by logical name.
    pub user_pools: BTreeMap<String, PoolOutputs>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolOutputs {
    pub id: String,
    pub arn: String,
    pub clients: BTreeMap<String, String>,
}

/// How a run of `up` or `down` ended when some resource failed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{done} of {total} resources done; failed: {}{}{}\n\nhint: fix the cause and run again: every step is safe to repeat",
    failed.join(", "),
    if stopped.is_empty() { String::new() } else { format!("; stopped part-way: {}", stopped.join(", ")) },
    if not_started.is_empty() { String::new() } else { format!("; not started: {}", not_started.join(", ")) }
)]
pub struct Incomplete {
    pub done: usize,
    pub total: usize,
    /// Addresses of the resources that failed.
    pub failed: Vec<String>,
    /// Addresses of the resources stopped part-way (they waited on a failed one).
    pub stopped: Vec<String>,
    /// Addresses of the resources that never started (they waited on a failed one).
    pub not_started: Vec<String>,
    /// The first failure, with its causes.
    #[source]
    pub first: anyhow::Error,
}

/// What `down` did. `changes`, `summary`, `calls` and `seconds` are `up`'s fields, in `up`'s
/// shape: a script reads either report the same way.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownReport {
    /// The entries applied (what was deleted, a kept pool's triggers cleared), in order.
    pub changes: Vec<Entry>,
    pub summary: Summary,
    pub deleted: Vec<Entry>,
    pub retained: Vec<Entry>,
    pub calls: Calls,
    pub seconds: f64,
}
