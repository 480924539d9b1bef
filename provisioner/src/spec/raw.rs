//! stack.yaml as written: serde types that mirror the file, unknown keys rejected. Defaults and
//! meaning are applied in `validate`, which turns these into the model.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStack {
    pub stack: String,
    /// The AWS accounts this stack may be deployed to (absent: any).
    pub accounts: Option<Vec<AccountId>>,
    /// The regions this stack may be deployed to (empty or absent: any).
    pub regions: Option<Vec<String>>,
    /// The managed policy ARN every role the stack creates is bounded by.
    pub permissions_boundary: Option<String>,
    /// Tags on every taggable resource the stack makes (absent: tags are not managed).
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub user_pools: BTreeMap<String, RawUserPool>,
    #[serde(default)]
    pub functions: BTreeMap<String, RawFunction>,
    pub api: Option<RawApi>,
    /// Renames: the resource at `from` is now the one at `to` (Terraform's `moved` blocks).
    #[serde(default)]
    pub moved: Vec<RawMoved>,
    /// Per environment (`--env`): settings merged over the rest of the file, mappings key by key,
    /// anything else (a list, a value) replacing the file's.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Map<String, serde_json::Value>>")]
    pub environments: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMoved {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawUserPool {
    pub self_sign_up: Option<bool>,
    pub auto_verify: Option<Vec<String>>,
    pub username_attributes: Option<Vec<String>>,
    pub required_attributes: Option<Vec<String>>,
    pub password_policy: Option<RawPasswordPolicy>,
    pub account_recovery: Option<Vec<String>>,
    pub deletion_protection: Option<bool>,
    pub case_sensitive_usernames: Option<bool>,
    pub removal: Option<String>,
    #[serde(default)]
    pub clients: BTreeMap<String, RawClient>,
    /// Trigger (`preSignUp`, ...) -> the stack's function that Cognito invokes for it.
    pub triggers: Option<BTreeMap<String, String>>,
    pub groups: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPasswordPolicy {
    pub min_length: Option<i64>,
    pub require_lowercase: Option<bool>,
    pub require_uppercase: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_symbols: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClient {
    pub auth_flows: Option<Vec<String>>,
    pub generate_secret: Option<bool>,
    pub read_attributes: Option<Vec<String>>,
    pub prevent_user_existence_errors: Option<bool>,
    pub access_token_validity: Option<String>,
    pub id_token_validity: Option<String>,
    pub refresh_token_validity: Option<String>,
    pub rotate_refresh_tokens: Option<bool>,
    pub refresh_token_grace_period: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFunction {
    #[serde(rename = "crate")]
    pub crate_path: String,
    pub description: Option<String>,
    pub memory: Option<i64>,
    pub timeout: Option<i64>,
    pub architecture: Option<String>,
    pub log_retention_days: Option<i64>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub allow: Vec<RawStatement>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStatement {
    pub actions: OneOrMany,
    pub resources: OneOrMany,
}

/// An account id, quoted (`"012345678901"`) or not (YAML then reads it as a number, which loses
/// a leading zero: `validate` says so).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AccountId {
    Text(String),
    Number(u64),
}

/// `x` or `[x, y]`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(one) => vec![one.as_str()],
            OneOrMany::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }

    /// The path segment of item `i` (a lone string is the value itself).
    pub fn item_segment(&self, i: usize) -> Option<String> {
        match self {
            OneOrMany::One(_) => None,
            OneOrMany::Many(_) => Some(i.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawApi {
    pub name: Option<String>,
    pub stage: Option<String>,
    #[serde(default)]
    pub authorizers: BTreeMap<String, RawAuthorizer>,
    #[serde(default)]
    pub routes: BTreeMap<String, RawRoute>,
    pub cors: Option<RawCors>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Option<Vec<String>>,
    pub allow_credentials: Option<bool>,
    pub max_age: Option<i64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAuthorizer {
    pub user_pool: String,
    pub identity_source: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRoute {
    pub function: String,
    pub authorizer: Option<String>,
    pub scopes: Option<Vec<String>>,
}
