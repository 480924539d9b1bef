//! The REST API (REGIONAL): its resource tree, methods, AWS_PROXY integrations, Cognito
//! authorizers, deployment and stage.
//!
//! API Gateway keeps a working copy (resources, methods, authorizers) and immutable deployments
//! (snapshots of it); a stage serves one deployment. This module edits the working copy to match
//! stack.yaml and creates a deployment exactly when the API's shape (a hash of routes, methods,
//! integrations and authorizers, kept in the deployment's description) differs from what the stage
//! serves, or when this run had to repair the working copy.
//!
//! Changes use calls that mean the same on AWS and on the emulator: a method is changed by deleting
//! and putting it again (UpdateMethod is missing on moto; PutMethod on an existing method is a
//! ConflictException on AWS), an authorizer by deleting and creating it (moto cannot patch
//! providerARNs); PutIntegration overwrites an integration on both. Resources are created parents
//! first and deleted children first (moto leaves orphans that break the API otherwise). Calls are
//! paced to API Gateway's fixed control-plane quotas (see [`Pacer`]).

//!
//! Here: the settings, the pure diff and the errors; `read.rs` reads, `apply.rs` applies (a step per function), `driver.rs` creates, deletes and puts a route, `crate::pace`
//! spaces the calls.

mod apply;
pub mod cors;
mod driver;
mod read;
pub mod unit;

use crate::kinds::tags::Tags;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plan::{Action, Differ, FieldChange, TypedDiffer};
use crate::spec::{Api, OWNERSHIP_TAG};

pub use crate::pace::Pacer;
pub use apply::apply;
pub use driver::{FunctionReady, Schedule, create, delete};
pub use read::find;

/// Prefix of the description of deployments this tool creates; the shape hash follows.
pub const DEPLOYMENT_PREFIX: &str = "provisioner shape ";
/// How stack.yaml's value reads in a plan before the resource it names exists.
pub use crate::base::KNOWN_AFTER_APPLY;

/// What a wait for the rest of the run fails with (the engine's `dag::Abandoned`, boxed).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A route's method: `(path, HTTP method)`.
pub type RouteKey = (String, String);

/// A method as this tool manages it: authorization and its Lambda proxy integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSettings {
    /// `NONE` or `COGNITO_USER_POOLS`.
    pub authorization: String,
    /// The authorizer's name.
    pub authorizer: Option<String>,
    /// Its authorization scopes (none: the authorizer takes id tokens); left out of the shape's
    /// hash when empty, so an API without them hashes as it always did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_scopes: Vec<String>,
    /// None: the method has no integration (API Gateway cannot deploy it).
    pub integration: Option<IntegrationSettings>,
    /// A CORS preflight's answer (its MOCK integration's and method's responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight: Option<cors::Preflight>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationSettings {
    pub kind: String,
    pub http_method: String,
    pub uri: String,
}

impl crate::plan::Render for IntegrationSettings {
    /// `AWS_PROXY POST arn:aws:apigateway:...`
    fn render(&self) -> String {
        format!("{} {} {}", self.kind, self.http_method, self.uri)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerSettings {
    pub kind: String,
    pub provider_arns: Vec<String>,
    pub identity_source: String,
}

/// What stack.yaml wants the API to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredApi {
    pub name: String,
    pub stage: String,
    /// Every resource path but the root.
    pub paths: BTreeSet<String>,
    pub methods: BTreeMap<RouteKey, MethodSettings>,
    /// The function (logical name) each route calls: its integration waits for it.
    pub functions: BTreeMap<RouteKey, String>,
    pub authorizers: BTreeMap<String, AuthorizerSettings>,
    /// The gateway responses with CORS headers, by type (`DEFAULT_4XX`), their headers as API
    /// Gateway keys them; empty without `api.cors`.
    pub gateway_responses: BTreeMap<String, BTreeMap<String, String>>,
    /// Hash of methods, authorizers and gateway responses: what a deployment of this API serves.
    pub shape: String,
    /// The stack's `tags:`, on the API and its stage (None: not managed).
    pub tags: Option<Tags>,
    /// `arn:<partition>:apigateway:<region>::`: the API's and the stage's ARNs follow.
    pub arn_prefix: String,
}

/// The Lambda proxy integration URI for a function.
pub fn integration_uri(partition: &str, region: &str, function_arn: &str) -> String {
    format!(
        "arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
}

impl DesiredApi {
    /// From the validated API; `function_arn` and `pool_arn` give the ARNs of the stack's
    /// functions and pools (or [`KNOWN_AFTER_APPLY`] for a pool that does not exist yet).
    pub fn new(
        api: &Api,
        partition: &str,
        region: &str,
        function_arn: impl Fn(&str) -> String,
        pool_arn: impl Fn(&str) -> String,
    ) -> DesiredApi {
        let mut paths = BTreeSet::new();
        let mut methods = BTreeMap::new();
        let mut functions = BTreeMap::new();
        for route in &api.routes {
            functions.insert(
                (route.path.clone(), route.method.clone()),
                route.function.clone(),
            );
            let mut path = String::new();
            for segment in route.path.split('/').filter(|s| !s.is_empty()) {
                path.push('/');
                path.push_str(segment);
                paths.insert(path.clone());
            }
            methods.insert(
                (route.path.clone(), route.method.clone()),
                MethodSettings {
                    authorization: if route.authorizer.is_some() {
                        "COGNITO_USER_POOLS".to_owned()
                    } else {
                        "NONE".to_owned()
                    },
                    authorizer: route.authorizer.clone(),
                    // Sorted, as read back: an order API Gateway does not keep is no change.
                    authorization_scopes: {
                        let mut scopes = route.scopes.clone();
                        scopes.sort();
                        scopes
                    },
                    integration: Some(IntegrationSettings {
                        kind: "AWS_PROXY".to_owned(),
                        http_method: "POST".to_owned(),
                        uri: integration_uri(partition, region, &function_arn(&route.function)),
                    }),
                    preflight: None,
                },
            );
        }
        let mut gateway_responses = BTreeMap::new();
        if let Some(cors) = &api.cors {
            // A preflight on each resource with routes, answering for that resource's methods.
            let mut by_path: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
            for route in &api.routes {
                by_path
                    .entry(route.path.as_str())
                    .or_default()
                    .insert(route.method.clone());
            }
            for (path, answered) in by_path {
                methods.insert(
                    (path.to_owned(), "OPTIONS".to_owned()),
                    cors::preflight(cors, &answered),
                );
            }
            gateway_responses = cors::gateway_responses(cors);
        }
        let authorizers: BTreeMap<String, AuthorizerSettings> = api
            .authorizers
            .iter()
            .map(|(name, authorizer)| {
                (
                    name.clone(),
                    AuthorizerSettings {
                        kind: "COGNITO_USER_POOLS".to_owned(),
                        provider_arns: vec![pool_arn(&authorizer.user_pool)],
                        identity_source: authorizer.identity_source.clone(),
                    },
                )
            })
            .collect();
        let shape = shape_hash(&methods, &authorizers, &gateway_responses);
        DesiredApi {
            name: api.physical_name.clone(),
            stage: api.stage.clone(),
            paths,
            methods,
            functions,
            authorizers,
            gateway_responses,
            shape,
            tags: None,
            arn_prefix: format!("arn:{partition}:apigateway:{region}::"),
        }
    }
}

fn shape_hash(
    methods: &BTreeMap<RouteKey, MethodSettings>,
    authorizers: &BTreeMap<String, AuthorizerSettings>,
    gateway_responses: &BTreeMap<String, BTreeMap<String, String>>,
) -> String {
    let methods: Vec<(&RouteKey, &MethodSettings)> = methods.iter().collect();
    let mut canonical = serde_json::json!({ "methods": methods, "authorizers": authorizers });
    // Only with CORS: the shape of an API without it hashes as it always did.
    if !gateway_responses.is_empty() {
        canonical["gatewayResponses"] = serde_json::json!(gateway_responses);
    }
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The stage as found live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStage {
    pub deployment_id: String,
    /// The shape hash in its deployment's description (None: not a deployment of ours).
    pub shape: Option<String>,
    /// The stack's `tags:` on it (the ownership tag aside).
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAuthorizer {
    pub id: String,
    pub settings: AuthorizerSettings,
}

/// An API found live under the stack's physical name, with this stack's tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveApi {
    pub id: String,
    pub name: String,
    pub root_id: String,
    /// Resource ids by path (the root is `/`).
    pub resources: BTreeMap<String, String>,
    pub methods: BTreeMap<RouteKey, MethodSettings>,
    pub authorizers: BTreeMap<String, LiveAuthorizer>,
    /// The customized gateway responses of the types CORS uses, with their headers.
    pub gateway_responses: BTreeMap<String, BTreeMap<String, String>>,
    pub stage: Option<LiveStage>,
    /// The stack's `tags:` on it (the ownership tag aside).
    pub tags: Tags,
}

/// Every API with the stack's name: at most one of ours, and the ids of foreign ones; and other
/// APIs that carry the stack's tag under another name (stack.yaml no longer declares them).
#[derive(Debug, Clone, Default)]
pub struct ApiSearch {
    pub owned: Option<LiveApi>,
    /// (id, the stack its ownership tag names, if any).
    pub foreign: Vec<(String, Option<String>)>,
    /// (id, name).
    pub undeclared: Vec<(String, String)>,
}

/// What it takes to make the live API match, part by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiChanges {
    pub api: Action,
    pub authorizers: BTreeMap<String, Action>,
    /// Create (parents first) or Delete (children first), by path.
    pub resources: BTreeMap<String, Action>,
    pub routes: BTreeMap<RouteKey, Action>,
    /// Put or deleted, by type.
    pub gateway_responses: BTreeMap<String, Action>,
    /// What applying each route's update takes (routes with an update only).
    pub route_changes: BTreeMap<RouteKey, BTreeSet<RouteChange>>,
    /// A new deployment, and why: the shape it serves changes.
    pub deployment: Option<FieldChange>,
    pub stage: Action,
}

/// What applying a route's update takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteChange {
    /// The method's authorization or authorizer: delete the method and put it again (and with it
    /// its integration, which goes with the method).
    Method,
    /// PutIntegration, which overwrites.
    Integration,
}

/// What it takes to make `live` (None: no API yet) match `desired`. Pure.
pub fn diff(live: Option<&LiveApi>, desired: &DesiredApi) -> ApiChanges {
    let empty = LiveApi {
        id: String::new(),
        name: desired.name.clone(),
        root_id: String::new(),
        resources: BTreeMap::new(),
        methods: BTreeMap::new(),
        authorizers: BTreeMap::new(),
        gateway_responses: BTreeMap::new(),
        stage: None,
        tags: Tags::new(),
    };
    let api = match live {
        None => Action::Create,
        Some(live) => {
            let mut d = crate::plan::Differ::default();
            if let Some(tags) = &desired.tags {
                d.field("tags", &live.tags, tags);
                if let Some(stage) = &live.stage {
                    d.field("stage.tags", &stage.tags, tags);
                }
            }
            d.action()
        }
    };
    let live = live.unwrap_or(&empty);
    let (authorizers, replaced) = diff_authorizers(live, desired);
    let mut resources = BTreeMap::new();
    for path in &desired.paths {
        if !live.resources.contains_key(path) {
            resources.insert(path.clone(), Action::Create);
        }
    }
    for path in live.resources.keys() {
        if path != "/" && !desired.paths.contains(path) {
            resources.insert(path.clone(), Action::Delete);
        }
    }
    let (routes, route_changes) = diff_routes(live, desired, &replaced);
    let gateway_responses = cors::diff_gateway_responses(live, desired);
    let working_copy_changes = authorizers
        .values()
        .chain(resources.values())
        .chain(routes.values())
        .chain(gateway_responses.values())
        .any(|action| *action != Action::NoOp);
    let (deployment, stage) = diff_deployment(live, desired, working_copy_changes);
    ApiChanges {
        api,
        authorizers,
        resources,
        routes,
        gateway_responses,
        route_changes,
        deployment,
        stage,
    }
}

/// Each authorizer's action, and those replaced (a setting API Gateway cannot change in place).
fn diff_authorizers(
    live: &LiveApi,
    desired: &DesiredApi,
) -> (BTreeMap<String, Action>, BTreeSet<String>) {
    let mut authorizers = BTreeMap::new();
    let mut replaced = BTreeSet::new();
    for name in live.authorizers.keys().chain(desired.authorizers.keys()) {
        let action = match (live.authorizers.get(name), desired.authorizers.get(name)) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            (Some(l), Some(d)) => {
                let mut differ = Differ::default();
                differ.immutable("type", &l.settings.kind, &d.kind);
                differ.immutable("providerARNs", &l.settings.provider_arns, &d.provider_arns);
                differ.immutable(
                    "identitySource",
                    &l.settings.identity_source,
                    &d.identity_source,
                );
                let action = differ.action();
                if action != Action::NoOp {
                    replaced.insert(name.clone());
                }
                action
            }
            (None, None) => Action::NoOp,
        };
        authorizers.insert(name.clone(), action);
    }
    (authorizers, replaced)
}

/// Each route's action and typed changes; a route whose authorizer is `replaced` points at the
/// replacement's new id, so its method is put again.
fn diff_routes(
    live: &LiveApi,
    desired: &DesiredApi,
    replaced: &BTreeSet<String>,
) -> (
    BTreeMap<RouteKey, Action>,
    BTreeMap<RouteKey, BTreeSet<RouteChange>>,
) {
    let mut routes = BTreeMap::new();
    let mut route_changes = BTreeMap::new();
    let keys: BTreeSet<&RouteKey> = live.methods.keys().chain(desired.methods.keys()).collect();
    for key in keys {
        let action = match (live.methods.get(key), desired.methods.get(key)) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            (Some(l), Some(d)) => {
                let mut differ = TypedDiffer::default();
                differ.field(
                    RouteChange::Method,
                    "authorization",
                    &l.authorization,
                    &d.authorization,
                );
                differ.field(
                    RouteChange::Method,
                    "authorizer",
                    &l.authorizer,
                    &d.authorizer,
                );
                differ.field(
                    RouteChange::Method,
                    "authorizationScopes",
                    &l.authorization_scopes,
                    &d.authorization_scopes,
                );
                differ.field(
                    RouteChange::Integration,
                    "integration",
                    &l.integration,
                    &d.integration,
                );
                // A preflight's responses go with its method: put again with it.
                differ.field(RouteChange::Method, "preflight", &l.preflight, &d.preflight);
                let (mut action, mut typed) = differ.finish();
                if let Some(name) = &d.authorizer
                    && replaced.contains(name)
                    && action == Action::NoOp
                {
                    // The method must point at the replacement authorizer's new id.
                    typed.insert(RouteChange::Method);
                    action = Action::Update {
                        changes: vec![FieldChange {
                            field: "authorizer",
                            live: format!("{name} (the authorizer being replaced)"),
                            desired: format!("{name} (its replacement)"),
                            forces_replacement: false,
                        }],
                    };
                }
                if !typed.is_empty() {
                    route_changes.insert(key.clone(), typed);
                }
                action
            }
            (None, None) => Action::NoOp,
        };
        routes.insert(key.clone(), action);
    }
    (routes, route_changes)
}

/// The deployment the stage should serve (None: it serves the desired shape already, with no
/// repair of the working copy), and the stage's action.
fn diff_deployment(
    live: &LiveApi,
    desired: &DesiredApi,
    working_copy_changes: bool,
) -> (Option<FieldChange>, Action) {
    let served = live.stage.as_ref().and_then(|stage| stage.shape.clone());
    let deployment = if desired.methods.is_empty() {
        // API Gateway refuses to deploy an API without methods.
        None
    } else if served.as_deref() != Some(desired.shape.as_str()) {
        Some(FieldChange {
            field: "shape",
            live: served.unwrap_or_else(|| "none".to_owned()),
            desired: desired.shape.clone(),
            forces_replacement: false,
        })
    } else if working_copy_changes {
        Some(FieldChange {
            field: "shape",
            live: format!("{} (working copy repaired)", desired.shape),
            desired: desired.shape.clone(),
            forces_replacement: false,
        })
    } else {
        None
    };
    let stage = match (&live.stage, &deployment) {
        (None, None) => Action::NoOp,
        (None, Some(_)) => Action::Create,
        (Some(stage), Some(_)) => Action::Update {
            changes: vec![FieldChange {
                field: "deployment",
                live: stage.deployment_id.clone(),
                desired: KNOWN_AFTER_APPLY.to_owned(),
                forces_replacement: false,
            }],
        },
        (Some(_), None) => Action::NoOp,
    };
    (deployment, stage)
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{count} REST APIs named `{name}` carry the tag `{OWNERSHIP_TAG}={stack}`; cannot tell which is this stack's\n\nhint: delete or untag the extra ones (ids: {})", ids.join(", "))]
    Ambiguous {
        name: String,
        stack: String,
        count: usize,
        ids: Vec<String>,
    },
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    #[error("AWS answered {action} for REST API `{name}` without {missing}")]
    Incomplete {
        action: &'static str,
        name: String,
        missing: &'static str,
    },
    #[error("REST API `{name}`: {detail}")]
    Inconsistent { name: String, detail: String },
    #[error("REST API `{name}`: stopped before its next call")]
    Stopped {
        name: String,
        #[source]
        source: BoxError,
    },
    #[error("REST API `{name}`: the integration of {route} was not put")]
    NotReady {
        name: String,
        route: String,
        #[source]
        source: BoxError,
    },
}

/// What an API Gateway call's error on REST API `name` becomes.
fn aws_error<E: Into<aws_sdk_apigateway::Error>>(
    action: impl Into<std::borrow::Cow<'static, str>>,
    name: &str,
) -> impl FnOnce(E) -> ApiError {
    let aws = crate::aws::AwsError::of::<aws_sdk_apigateway::Error, E>(
        action,
        format!("REST API `{name}`"),
    );
    move |err| ApiError::Aws(aws(err))
}

/// A NotFound answer is not an error for a delete (or a read of something optional).
fn ignore_not_found<E: Into<aws_sdk_apigateway::Error>>(
    err: E,
    action: impl Into<std::borrow::Cow<'static, str>>,
    name: &str,
) -> Result<(), ApiError> {
    match aws_error(action, name)(err) {
        ApiError::Aws(err) if err.is_not_found() => Ok(()),
        err => Err(err),
    }
}

#[cfg(test)]
mod tests;
