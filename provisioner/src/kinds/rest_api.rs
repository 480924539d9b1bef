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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::time::Duration;

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::types::{
    AuthorizerType, EndpointConfiguration, EndpointType, IntegrationType, Op, PatchOperation,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plan::{Action, Differ, FieldChange};
use crate::progress::Progress;
use crate::spec::{Api, OWNERSHIP_TAG};

/// Prefix of the description of deployments this tool creates; the shape hash follows.
pub const DEPLOYMENT_PREFIX: &str = "provisioner shape ";
/// How stack.yaml's value reads in a plan before the resource it names exists.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

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
    /// None: the method has no integration (API Gateway cannot deploy it).
    pub integration: Option<IntegrationSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationSettings {
    pub kind: String,
    pub http_method: String,
    pub uri: String,
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
    pub authorizers: BTreeMap<String, AuthorizerSettings>,
    /// Hash of methods and authorizers: what a deployment of this API serves.
    pub shape: String,
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
        for route in &api.routes {
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
                    integration: Some(IntegrationSettings {
                        kind: "AWS_PROXY".to_owned(),
                        http_method: "POST".to_owned(),
                        uri: integration_uri(partition, region, &function_arn(&route.function)),
                    }),
                },
            );
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
        let shape = shape_hash(&methods, &authorizers);
        DesiredApi {
            name: api.physical_name.clone(),
            stage: api.stage.clone(),
            paths,
            methods,
            authorizers,
            shape,
        }
    }
}

fn shape_hash(
    methods: &BTreeMap<RouteKey, MethodSettings>,
    authorizers: &BTreeMap<String, AuthorizerSettings>,
) -> String {
    let methods: Vec<(&RouteKey, &MethodSettings)> = methods.iter().collect();
    let canonical = serde_json::json!({ "methods": methods, "authorizers": authorizers });
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The stage as found live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStage {
    pub deployment_id: String,
    /// The shape hash in its deployment's description (None: not a deployment of ours).
    pub shape: Option<String>,
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
    pub stage: Option<LiveStage>,
}

/// Every API with the stack's name: at most one of ours, and the ids of foreign ones; and other
/// APIs that carry the stack's tag under another name (stack.yaml no longer declares them).
#[derive(Debug, Clone, Default)]
pub struct ApiSearch {
    pub owned: Option<LiveApi>,
    pub foreign: Vec<String>,
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
    /// A new deployment, and why: the shape it serves changes.
    pub deployment: Option<FieldChange>,
    pub stage: Action,
}

/// Fields of a route whose change needs the method deleted and put again.
const METHOD_FIELDS: &[&str] = &["authorization", "authorizer"];

/// What it takes to make `live` (None: no API yet) match `desired`. Pure.
pub fn diff(live: Option<&LiveApi>, desired: &DesiredApi) -> ApiChanges {
    let empty = LiveApi {
        id: String::new(),
        name: desired.name.clone(),
        root_id: String::new(),
        resources: BTreeMap::new(),
        methods: BTreeMap::new(),
        authorizers: BTreeMap::new(),
        stage: None,
    };
    let api = if live.is_some() {
        Action::NoOp
    } else {
        Action::Create
    };
    let live = live.unwrap_or(&empty);

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

    let mut routes = BTreeMap::new();
    let keys: BTreeSet<&RouteKey> = live.methods.keys().chain(desired.methods.keys()).collect();
    for key in keys {
        let action = match (live.methods.get(key), desired.methods.get(key)) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            (Some(l), Some(d)) => {
                let mut differ = Differ::default();
                differ.field("authorization", &l.authorization, &d.authorization);
                differ.field("authorizer", &l.authorizer, &d.authorizer);
                differ.field("integration", &l.integration, &d.integration);
                let mut action = differ.action();
                if let Some(name) = &d.authorizer
                    && replaced.contains(name)
                    && action == Action::NoOp
                {
                    action = Action::Update {
                        changes: vec![FieldChange {
                            field: "authorizer",
                            live: format!("{name} (the authorizer being replaced)"),
                            desired: format!("{name} (its replacement)"),
                            forces_replacement: false,
                        }],
                    };
                }
                action
            }
            (None, None) => Action::NoOp,
        };
        routes.insert(key.clone(), action);
    }

    let working_copy_changes = authorizers
        .values()
        .chain(resources.values())
        .chain(routes.values())
        .any(|action| *action != Action::NoOp);
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
    ApiChanges {
        api,
        authorizers,
        resources,
        routes,
        deployment,
        stage,
    }
}

/// Spaces API Gateway calls to its fixed per-account quotas (AWS docs, "Amazon API Gateway
/// quotas"), so a run does not earn 429s to begin with; the SDK's retries (backoff with jitter)
/// absorb what other clients of the account cause.
#[derive(Debug)]
pub struct Pacer {
    /// Told of any wait long enough to notice (DeleteRestApi: one per 30 s).
    progress: std::sync::Arc<dyn Progress>,
    general: DefaultDirectRateLimiter,
    resources: DefaultDirectRateLimiter,
    get_resources: DefaultDirectRateLimiter,
    deployments: DefaultDirectRateLimiter,
    create_api: DefaultDirectRateLimiter,
    delete_api: DefaultDirectRateLimiter,
}

/// Which quota a call counts against.
#[derive(Debug, Clone, Copy)]
enum Quotas {
    General,
    Resource,
    GetResources,
    Deployment,
    CreateApi,
    DeleteApi,
}

fn one_per(period: Duration) -> DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::with_period(period).unwrap_or(Quota::per_second(NonZeroU32::MIN)))
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::reporting(std::sync::Arc::new(crate::progress::Silent))
    }
}

impl Pacer {
    /// A pacer that reports its long waits to `progress`.
    pub fn reporting(progress: std::sync::Arc<dyn Progress>) -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Pacer {
            progress,
            general: RateLimiter::direct(Quota::per_second(n(10)).allow_burst(n(40))),
            resources: RateLimiter::direct(Quota::per_second(n(5))),
            get_resources: RateLimiter::direct(
                Quota::with_period(Duration::from_millis(400))
                    .unwrap_or(Quota::per_second(n(2)))
                    .allow_burst(n(5)),
            ),
            deployments: one_per(Duration::from_secs(5)),
            create_api: one_per(Duration::from_secs(3)),
            delete_api: one_per(Duration::from_secs(30)),
        }
    }
}

impl Pacer {
    async fn wait(&self, quota: Quotas) {
        let (limiter, what) = match quota {
            Quotas::General => (&self.general, "10 calls per second"),
            Quotas::Resource => (&self.resources, "CreateResource: 5 per second"),
            Quotas::GetResources => (&self.get_resources, "GetResources: 5 per 2 seconds"),
            Quotas::Deployment => (&self.deployments, "CreateDeployment: 1 per 5 seconds"),
            Quotas::CreateApi => (&self.create_api, "CreateRestApi: 1 per 3 seconds"),
            Quotas::DeleteApi => (&self.delete_api, "DeleteRestApi: 1 per 30 seconds"),
        };
        if let Err(not_until) = limiter.check() {
            use governor::clock::{Clock, DefaultClock};
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            if wait >= crate::progress::FIRST_REPORT {
                self.progress.waiting(
                    "API Gateway",
                    &format!("its quota ({what}): next call in {} s", wait.as_secs()),
                    Duration::ZERO,
                    None,
                );
            }
            limiter.until_ready().await;
        }
    }
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
    #[error("REST API `{name}`: failed to {action}")]
    Aws {
        action: String,
        name: String,
        #[source]
        source: Box<aws_sdk_apigateway::Error>,
    },
    #[error("AWS answered {action} for REST API `{name}` without {missing}")]
    Incomplete {
        action: &'static str,
        name: String,
        missing: &'static str,
    },
    #[error("REST API `{name}`: {detail}")]
    Inconsistent { name: String, detail: String },
}

fn aws_error<E: Into<aws_sdk_apigateway::Error>>(
    action: impl Into<String>,
    name: &str,
) -> impl FnOnce(E) -> ApiError {
    let (action, name) = (action.into(), name.to_owned());
    move |err| ApiError::Aws {
        action,
        name,
        source: Box::new(err.into()),
    }
}

/// A NotFound answer is not an error for a delete (or a read of something optional).
fn ignore_not_found<E: Into<aws_sdk_apigateway::Error>>(
    err: E,
    action: impl Into<String>,
    name: &str,
) -> Result<(), ApiError> {
    match err.into() {
        aws_sdk_apigateway::Error::NotFoundException(_) => Ok(()),
        other => Err(aws_error(action, name)(other)),
    }
}

/// Every REST API named `name` (every page); the one tagged as `stack`'s is read in full. An empty
/// `name` (no API declared) finds only undeclared ones.
pub async fn find(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    stack: &str,
) -> Result<ApiSearch, ApiError> {
    let mut owned = Vec::new();
    let mut foreign = Vec::new();
    let mut undeclared = Vec::new();
    let mut position: Option<String> = None;
    loop {
        pacer.wait(Quotas::General).await;
        let page = client
            .get_rest_apis()
            .limit(500)
            .set_position(position.take())
            .send()
            .await
            .map_err(aws_error("list the REST APIs", name))?;
        for api in page.items() {
            let id = api.id().unwrap_or_default().to_owned();
            let ours = api
                .tags()
                .and_then(|tags| tags.get(OWNERSHIP_TAG))
                .is_some_and(|owner| owner == stack);
            if api.name() != Some(name) {
                if ours {
                    undeclared.push((id, api.name().unwrap_or_default().to_owned()));
                }
                continue;
            }
            if ours {
                owned.push((id, api.root_resource_id().map(str::to_owned)));
            } else {
                foreign.push(id);
            }
        }
        match page.position() {
            Some(next) if !next.is_empty() && !page.items().is_empty() => {
                position = Some(next.to_owned())
            }
            _ => break,
        }
    }
    if owned.len() > 1 {
        return Err(ApiError::Ambiguous {
            name: name.to_owned(),
            stack: stack.to_owned(),
            count: owned.len(),
            ids: owned.into_iter().map(|(id, _)| id).collect(),
        });
    }
    let owned = match owned.pop() {
        Some((id, _)) => Some(read(client, pacer, name, &id).await?),
        None => None,
    };
    Ok(ApiSearch {
        owned,
        foreign,
        undeclared,
    })
}

/// Reads an API's working copy and its stages' deployment.
async fn read(client: &Client, pacer: &Pacer, name: &str, id: &str) -> Result<LiveApi, ApiError> {
    // Authorizers first: methods name theirs by id.
    let mut authorizers = BTreeMap::new();
    let mut names_by_id = HashMap::new();
    let mut position: Option<String> = None;
    loop {
        pacer.wait(Quotas::General).await;
        let page = client
            .get_authorizers()
            .rest_api_id(id)
            .limit(500)
            .set_position(position.take())
            .send()
            .await
            .map_err(aws_error("read the authorizers", name))?;
        for authorizer in page.items() {
            let (Some(authorizer_id), Some(authorizer_name)) = (authorizer.id(), authorizer.name())
            else {
                continue;
            };
            names_by_id.insert(authorizer_id.to_owned(), authorizer_name.to_owned());
            authorizers.insert(
                authorizer_name.to_owned(),
                LiveAuthorizer {
                    id: authorizer_id.to_owned(),
                    settings: AuthorizerSettings {
                        kind: authorizer
                            .r#type()
                            .map(|t| t.as_str().to_owned())
                            .unwrap_or_default(),
                        provider_arns: authorizer.provider_arns().to_vec(),
                        identity_source: authorizer
                            .identity_source()
                            .unwrap_or_default()
                            .to_owned(),
                    },
                },
            );
        }
        match page.position() {
            Some(next) if !next.is_empty() && !page.items().is_empty() => {
                position = Some(next.to_owned())
            }
            _ => break,
        }
    }

    let mut resources = BTreeMap::new();
    let mut methods = BTreeMap::new();
    let mut position: Option<String> = None;
    loop {
        pacer.wait(Quotas::GetResources).await;
        let page = client
            .get_resources()
            .rest_api_id(id)
            .limit(500)
            .embed("methods")
            .set_position(position.take())
            .send()
            .await
            .map_err(aws_error("read the resources", name))?;
        for resource in page.items() {
            let (Some(resource_id), Some(path)) = (resource.id(), resource.path()) else {
                continue;
            };
            resources.insert(path.to_owned(), resource_id.to_owned());
            for (http_method, method) in resource.resource_methods().into_iter().flatten() {
                let authorizer = method.authorizer_id().map(|authorizer_id| {
                    names_by_id
                        .get(authorizer_id)
                        .cloned()
                        .unwrap_or_else(|| format!("(unknown authorizer {authorizer_id})"))
                });
                let integration = method.method_integration().map(|i| IntegrationSettings {
                    kind: i
                        .r#type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    http_method: i.http_method().unwrap_or_default().to_owned(),
                    uri: i.uri().unwrap_or_default().to_owned(),
                });
                methods.insert(
                    (path.to_owned(), http_method.clone()),
                    MethodSettings {
                        authorization: method.authorization_type().unwrap_or("NONE").to_owned(),
                        authorizer,
                        integration,
                    },
                );
            }
        }
        match page.position() {
            Some(next) if !next.is_empty() && !page.items().is_empty() => {
                position = Some(next.to_owned())
            }
            _ => break,
        }
    }
    let root_id = resources.get("/").cloned().ok_or(ApiError::Incomplete {
        action: "GetResources",
        name: name.to_owned(),
        missing: "the root resource `/`",
    })?;
    Ok(LiveApi {
        id: id.to_owned(),
        name: name.to_owned(),
        root_id,
        resources,
        methods,
        authorizers,
        stage: None,
    })
}

/// Reads the stage `stage` of a live API and the shape its deployment serves.
pub async fn read_stage(
    client: &Client,
    pacer: &Pacer,
    live: &mut LiveApi,
    stage: &str,
) -> Result<(), ApiError> {
    pacer.wait(Quotas::General).await;
    let found = match client
        .get_stage()
        .rest_api_id(&live.id)
        .stage_name(stage)
        .send()
        .await
    {
        Ok(found) => found,
        Err(err) => {
            ignore_not_found(err, format!("read stage `{stage}`"), &live.name)?;
            live.stage = None;
            return Ok(());
        }
    };
    let Some(deployment_id) = found.deployment_id() else {
        live.stage = None;
        return Ok(());
    };
    pacer.wait(Quotas::General).await;
    let shape = match client
        .get_deployment()
        .rest_api_id(&live.id)
        .deployment_id(deployment_id)
        .send()
        .await
    {
        Ok(deployment) => deployment
            .description()
            .and_then(|d| d.strip_prefix(DEPLOYMENT_PREFIX))
            .map(str::to_owned),
        Err(err) => {
            ignore_not_found(err, "read the deployment", &live.name)?;
            None
        }
    };
    live.stage = Some(LiveStage {
        deployment_id: deployment_id.to_owned(),
        shape,
    });
    Ok(())
}

/// Applies `changes` (from [`diff`] of `live` and `desired`) and returns the API's id. Every
/// step re-runs safely: a crash part-way leaves a tagged API whose next diff finishes the job.
pub async fn apply(
    client: &Client,
    pacer: &Pacer,
    stack: &str,
    live: Option<&LiveApi>,
    desired: &DesiredApi,
    changes: &ApiChanges,
) -> Result<String, ApiError> {
    let name = desired.name.as_str();
    let (api_id, root_id, mut resource_ids, live_authorizers) = match live {
        Some(live) => (
            live.id.clone(),
            live.root_id.clone(),
            live.resources.clone(),
            live.authorizers.clone(),
        ),
        None => {
            pacer.wait(Quotas::CreateApi).await;
            let created = client
                .create_rest_api()
                .name(name)
                .description(format!("Managed by provisioner (stack `{stack}`)"))
                .endpoint_configuration(
                    EndpointConfiguration::builder()
                        .types(EndpointType::Regional)
                        .build(),
                )
                .tags(OWNERSHIP_TAG, stack)
                .send()
                .await
                .map_err(aws_error("create", name))?;
            let id = created.id().ok_or(ApiError::Incomplete {
                action: "CreateRestApi",
                name: name.to_owned(),
                missing: "an id",
            })?;
            let root = created.root_resource_id().ok_or(ApiError::Incomplete {
                action: "CreateRestApi",
                name: name.to_owned(),
                missing: "a root resource id",
            })?;
            let resources = BTreeMap::from([("/".to_owned(), root.to_owned())]);
            (id.to_owned(), root.to_owned(), resources, BTreeMap::new())
        }
    };
    resource_ids.insert("/".to_owned(), root_id);

    // 1. Methods that go away or are put again, before the authorizers they may use.
    for ((path, method), action) in &changes.routes {
        let reput = matches!(action, Action::Update { changes } if changes.iter().any(|c| METHOD_FIELDS.contains(&c.field)));
        if matches!(action, Action::Delete) || reput {
            let resource_id = resource_id(&resource_ids, path, name)?;
            pacer.wait(Quotas::General).await;
            if let Err(err) = client
                .delete_method()
                .rest_api_id(&api_id)
                .resource_id(resource_id)
                .http_method(method)
                .send()
                .await
            {
                ignore_not_found(err, format!("delete method {method} {path}"), name)?;
            }
        }
    }

    // 2. Authorizers: delete replaced and extra ones, create new and replacement ones.
    let mut authorizer_ids: BTreeMap<String, String> = live_authorizers
        .iter()
        .map(|(n, a)| (n.clone(), a.id.clone()))
        .collect();
    for (authorizer, action) in &changes.authorizers {
        if matches!(action, Action::Delete | Action::Replace { .. })
            && let Some(id) = authorizer_ids.remove(authorizer)
        {
            pacer.wait(Quotas::General).await;
            if let Err(err) = client
                .delete_authorizer()
                .rest_api_id(&api_id)
                .authorizer_id(id)
                .send()
                .await
            {
                ignore_not_found(err, format!("delete authorizer `{authorizer}`"), name)?;
            }
        }
    }
    for (authorizer, action) in &changes.authorizers {
        if matches!(action, Action::Create | Action::Replace { .. }) {
            let settings =
                desired
                    .authorizers
                    .get(authorizer)
                    .ok_or_else(|| ApiError::Inconsistent {
                        name: name.to_owned(),
                        detail: format!("authorizer `{authorizer}` is planned but not wanted"),
                    })?;
            pacer.wait(Quotas::General).await;
            let created = client
                .create_authorizer()
                .rest_api_id(&api_id)
                .name(authorizer)
                .r#type(AuthorizerType::from(settings.kind.as_str()))
                .set_provider_arns(Some(settings.provider_arns.clone()))
                .identity_source(&settings.identity_source)
                .send()
                .await
                .map_err(aws_error(format!("create authorizer `{authorizer}`"), name))?;
            let id = created.id().ok_or(ApiError::Incomplete {
                action: "CreateAuthorizer",
                name: name.to_owned(),
                missing: "an id",
            })?;
            authorizer_ids.insert(authorizer.clone(), id.to_owned());
        }
    }

    // 3. Resources, parents first.
    let mut to_create: Vec<&String> = changes
        .resources
        .iter()
        .filter(|(_, action)| **action == Action::Create)
        .map(|(path, _)| path)
        .collect();
    to_create.sort_by_key(|path| path.matches('/').count());
    for path in to_create {
        let (parent, part) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = if parent.is_empty() { "/" } else { parent };
        let parent_id = resource_id(&resource_ids, parent, name)?.to_owned();
        pacer.wait(Quotas::Resource).await;
        let created = client
            .create_resource()
            .rest_api_id(&api_id)
            .parent_id(parent_id)
            .path_part(part)
            .send()
            .await
            .map_err(aws_error(format!("create resource `{path}`"), name))?;
        let id = created.id().ok_or(ApiError::Incomplete {
            action: "CreateResource",
            name: name.to_owned(),
            missing: "an id",
        })?;
        resource_ids.insert(path.clone(), id.to_owned());
    }

    // 4. Methods and integrations.
    for (key, action) in &changes.routes {
        let (path, method) = key;
        let (put_method, put_integration) = match action {
            Action::Create => (true, true),
            Action::Update { changes } => {
                let reput = changes.iter().any(|c| METHOD_FIELDS.contains(&c.field));
                (reput, true)
            }
            _ => (false, false),
        };
        let settings = desired
            .methods
            .get(key)
            .ok_or_else(|| ApiError::Inconsistent {
                name: name.to_owned(),
                detail: format!("route `{method} {path}` is planned but not wanted"),
            });
        if !put_integration {
            continue;
        }
        let settings = settings?;
        let resource_id = resource_id(&resource_ids, path, name)?.to_owned();
        if put_method {
            let authorizer_id = match &settings.authorizer {
                Some(authorizer) => Some(
                    authorizer_ids
                        .get(authorizer)
                        .ok_or_else(|| ApiError::Inconsistent {
                            name: name.to_owned(),
                            detail: format!("authorizer `{authorizer}` does not exist"),
                        })?
                        .clone(),
                ),
                None => None,
            };
            pacer.wait(Quotas::General).await;
            client
                .put_method()
                .rest_api_id(&api_id)
                .resource_id(&resource_id)
                .http_method(method)
                .authorization_type(&settings.authorization)
                .set_authorizer_id(authorizer_id)
                .send()
                .await
                .map_err(aws_error(format!("put method {method} {path}"), name))?;
        }
        if let Some(integration) = &settings.integration {
            pacer.wait(Quotas::General).await;
            client
                .put_integration()
                .rest_api_id(&api_id)
                .resource_id(&resource_id)
                .http_method(method)
                .r#type(IntegrationType::from(integration.kind.as_str()))
                .integration_http_method(&integration.http_method)
                .uri(&integration.uri)
                .send()
                .await
                .map_err(aws_error(
                    format!("put the integration of {method} {path}"),
                    name,
                ))?;
        }
    }

    // 5. Resources that go away, children first.
    let mut to_delete: Vec<&String> = changes
        .resources
        .iter()
        .filter(|(_, action)| **action == Action::Delete)
        .map(|(path, _)| path)
        .collect();
    to_delete.sort_by_key(|path| std::cmp::Reverse(path.matches('/').count()));
    for path in to_delete {
        let id = resource_id(&resource_ids, path, name)?.to_owned();
        pacer.wait(Quotas::Resource).await;
        if let Err(err) = client
            .delete_resource()
            .rest_api_id(&api_id)
            .resource_id(id)
            .send()
            .await
        {
            ignore_not_found(err, format!("delete resource `{path}`"), name)?;
        }
    }

    // 6. A deployment of the new shape, and the stage on it.
    let mut deployment_id = None;
    if changes.deployment.is_some() {
        pacer.wait(Quotas::Deployment).await;
        let deployment = client
            .create_deployment()
            .rest_api_id(&api_id)
            .description(format!("{DEPLOYMENT_PREFIX}{}", desired.shape))
            .send()
            .await
            .map_err(aws_error("create a deployment", name))?;
        deployment_id = Some(
            deployment
                .id()
                .map(str::to_owned)
                .ok_or(ApiError::Incomplete {
                    action: "CreateDeployment",
                    name: name.to_owned(),
                    missing: "an id",
                })?,
        );
    }
    match (&changes.stage, deployment_id) {
        (Action::Create, Some(deployment_id)) => {
            pacer.wait(Quotas::General).await;
            client
                .create_stage()
                .rest_api_id(&api_id)
                .stage_name(&desired.stage)
                .deployment_id(deployment_id)
                .tags(OWNERSHIP_TAG, stack)
                .send()
                .await
                .map_err(aws_error(format!("create stage `{}`", desired.stage), name))?;
        }
        (Action::Update { .. } | Action::NoOp, Some(deployment_id)) => {
            pacer.wait(Quotas::General).await;
            client
                .update_stage()
                .rest_api_id(&api_id)
                .stage_name(&desired.stage)
                .patch_operations(
                    PatchOperation::builder()
                        .op(Op::Replace)
                        .path("/deploymentId")
                        .value(deployment_id)
                        .build(),
                )
                .send()
                .await
                .map_err(aws_error(format!("update stage `{}`", desired.stage), name))?;
        }
        (Action::Create, None) => {
            return Err(ApiError::Inconsistent {
                name: name.to_owned(),
                detail: format!(
                    "stage `{}` is planned without a deployment for it",
                    desired.stage
                ),
            });
        }
        _ => {}
    }
    Ok(api_id)
}

fn resource_id<'a>(
    ids: &'a BTreeMap<String, String>,
    path: &str,
    name: &str,
) -> Result<&'a str, ApiError> {
    ids.get(path)
        .map(String::as_str)
        .ok_or_else(|| ApiError::Inconsistent {
            name: name.to_owned(),
            detail: format!("resource `{path}` has no id (its parent was not created?)"),
        })
}

/// Deletes the whole API (with everything in it); one already gone counts as deleted.
pub async fn delete(client: &Client, pacer: &Pacer, name: &str, id: &str) -> Result<(), ApiError> {
    pacer.wait(Quotas::DeleteApi).await;
    match client.delete_rest_api().rest_api_id(id).send().await {
        Ok(_) => Ok(()),
        Err(err) => ignore_not_found(err, "delete", name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Authorizer, Route};

    fn api(routes: &[(&str, &str, Option<&str>)]) -> DesiredApi {
        let api = Api {
            physical_name: "s-api".to_owned(),
            stage: "prod".to_owned(),
            authorizers: BTreeMap::from([(
                "cognito".to_owned(),
                Authorizer {
                    user_pool: "users".to_owned(),
                    identity_source: "method.request.header.Authorization".to_owned(),
                },
            )]),
            routes: routes
                .iter()
                .map(|(method, path, authorizer)| Route {
                    path: (*path).to_owned(),
                    method: (*method).to_owned(),
                    function: "f".to_owned(),
                    authorizer: authorizer.map(str::to_owned),
                })
                .collect(),
        };
        DesiredApi::new(
            &api,
            "aws",
            "us-east-1",
            |f| format!("arn:aws:lambda:us-east-1:1:function:{f}"),
            |p| format!("arn:pool/{p}"),
        )
    }

    /// What `desired` looks like once applied and deployed.
    fn deployed(desired: &DesiredApi) -> LiveApi {
        let mut resources = BTreeMap::from([("/".to_owned(), "root".to_owned())]);
        for path in &desired.paths {
            resources.insert(path.clone(), format!("id{path}"));
        }
        LiveApi {
            id: "a1".to_owned(),
            name: desired.name.clone(),
            root_id: "root".to_owned(),
            resources,
            methods: desired.methods.clone(),
            authorizers: desired
                .authorizers
                .iter()
                .map(|(name, settings)| {
                    (
                        name.clone(),
                        LiveAuthorizer {
                            id: format!("au-{name}"),
                            settings: settings.clone(),
                        },
                    )
                })
                .collect(),
            stage: Some(LiveStage {
                deployment_id: "d1".to_owned(),
                shape: Some(desired.shape.clone()),
            }),
        }
    }

    fn key(method: &str, path: &str) -> RouteKey {
        (path.to_owned(), method.to_owned())
    }

    const ROUTES: &[(&str, &str, Option<&str>)] = &[
        ("POST", "/sign-up", None),
        ("GET", "/users/{id}", Some("cognito")),
    ];

    #[test]
    fn a_new_api_creates_every_part_parents_included_and_deploys() {
        let desired = api(ROUTES);
        assert_eq!(
            desired.paths,
            BTreeSet::from(["/sign-up", "/users", "/users/{id}"].map(str::to_owned))
        );
        let changes = diff(None, &desired);
        assert_eq!(changes.api, Action::Create);
        assert_eq!(changes.authorizers["cognito"], Action::Create);
        assert!(changes.resources.values().all(|a| *a == Action::Create));
        assert_eq!(changes.resources.len(), 3);
        assert_eq!(changes.routes[&key("GET", "/users/{id}")], Action::Create);
        assert_eq!(changes.deployment.as_ref().unwrap().live, "none");
        assert_eq!(changes.stage, Action::Create);
    }

    #[test]
    fn a_deployed_api_is_a_no_op_and_deploys_nothing() {
        let desired = api(ROUTES);
        let changes = diff(Some(&deployed(&desired)), &desired);
        assert_eq!(changes.api, Action::NoOp);
        assert!(changes.authorizers.values().all(|a| *a == Action::NoOp));
        assert!(changes.resources.is_empty());
        assert!(changes.routes.values().all(|a| *a == Action::NoOp));
        assert_eq!(changes.deployment, None);
        assert_eq!(changes.stage, Action::NoOp);
    }

    #[test]
    fn a_changed_method_is_put_again_and_the_api_redeployed() {
        let desired = api(ROUTES);
        let mut live = deployed(&desired);
        let method = live.methods.get_mut(&key("GET", "/users/{id}")).unwrap();
        method.authorization = "NONE".to_owned();
        method.authorizer = None;
        let changes = diff(Some(&live), &desired);
        let Action::Update { changes: fields } = &changes.routes[&key("GET", "/users/{id}")] else {
            panic!("an update: {changes:?}");
        };
        let names: Vec<&str> = fields.iter().map(|c| c.field).collect();
        assert_eq!(names, ["authorization", "authorizer"]);
        assert!(
            changes
                .deployment
                .as_ref()
                .unwrap()
                .live
                .contains("working copy repaired"),
            "the shape is the same, but the working copy changed"
        );
        assert!(matches!(changes.stage, Action::Update { .. }));
    }

    #[test]
    fn a_new_pool_replaces_the_authorizer_and_re_puts_its_methods() {
        let desired = api(ROUTES);
        let mut live = deployed(&desired);
        live.authorizers
            .get_mut("cognito")
            .unwrap()
            .settings
            .provider_arns = vec!["arn:pool/old".to_owned()];
        let changes = diff(Some(&live), &desired);
        assert!(
            matches!(&changes.authorizers["cognito"], Action::Replace { changes } if changes[0].field == "providerARNs")
        );
        assert!(matches!(
            &changes.routes[&key("GET", "/users/{id}")],
            Action::Update { changes } if changes[0].field == "authorizer"
        ));
        assert_eq!(changes.routes[&key("POST", "/sign-up")], Action::NoOp);
    }

    #[test]
    fn extra_resources_and_methods_go_and_an_empty_api_is_not_deployed() {
        let desired = api(&[("POST", "/sign-up", None)]);
        let live = deployed(&api(ROUTES));
        let changes = diff(Some(&live), &desired);
        assert_eq!(changes.resources["/users"], Action::Delete);
        assert_eq!(changes.resources["/users/{id}"], Action::Delete);
        assert_eq!(changes.routes[&key("GET", "/users/{id}")], Action::Delete);
        assert!(changes.deployment.is_some());

        let empty = api(&[]);
        let changes = diff(None, &empty);
        assert_eq!(
            changes.deployment, None,
            "API Gateway cannot deploy an API without methods"
        );
        assert_eq!(changes.stage, Action::NoOp);
    }
}
