//! The calls that make a REST API match stack.yaml (reading it is in `read.rs`).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::types::{
    AuthorizerType, EndpointConfiguration, EndpointType, IntegrationType, Op, PatchOperation,
};

use futures_util::future::{BoxFuture, try_join_all};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::*;
use crate::pace::{Pacer, Quotas};

/// Creates the API, tagged as `stack`'s in the same call; returns it as live AWS now has it (its
/// root resource only), for [`apply`] to fill in.
pub async fn create(
    client: &Client,
    pacer: &Pacer,
    stack: &str,
    desired: &DesiredApi,
) -> Result<LiveApi, ApiError> {
    let name = desired.name.as_str();
    // At most once: a retried CreateRestApi whose answer was lost would make a second API.
    let created = crate::once::create_at_most_once(
        || async {
            pacer.wait(Quotas::CreateApi).await;
            client
                .create_rest_api()
                .name(name)
                .description(format!("Managed by provisioner (stack `{stack}`)"))
                .endpoint_configuration(
                    EndpointConfiguration::builder()
                        .types(EndpointType::Regional)
                        .build(),
                )
                .tags(OWNERSHIP_TAG, stack)
                .customize()
                .config_override(crate::once::sdk_retries_off!(aws_sdk_apigateway))
                .send()
                .await
                .map(|output| Created::New(Box::new(output)))
        },
        || async {
            let search = super::find(client, pacer, name, stack, None).await?;
            Ok::<_, ApiError>(search.owned.map(Created::Found))
        },
    )
    .await
    .map_err(|failed| match failed {
        crate::once::Failed::Create(err) => aws_error("create", name)(err),
        crate::once::Failed::Find(err) => err,
    })?;
    let created = match created {
        Created::Found(live) => return Ok(live),
        Created::New(output) => output,
    };
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
    Ok(LiveApi {
        id: id.to_owned(),
        name: name.to_owned(),
        root_id: root.to_owned(),
        resources: BTreeMap::from([("/".to_owned(), root.to_owned())]),
        methods: BTreeMap::new(),
        authorizers: BTreeMap::new(),
        stage: None,
    })
}

/// What an at-most-once CreateRestApi gave: its answer, or the API found after an answer was lost.
enum Created {
    New(Box<aws_sdk_apigateway::operation::create_rest_api::CreateRestApiOutput>),
    Found(LiveApi),
}

/// Resolves once the function a route calls (its logical name) exists and takes calls: a route's
/// integration waits for it; the rest of the API does not.
pub type FunctionReady<'a> = &'a (dyn Fn(&str) -> BoxFuture<'static, Result<(), BoxError>> + Sync);

/// When the API's calls may go, within the run: each takes one of `slots` (the run's
/// `--concurrency`: the API's parts count one each) and is made only while `go_on` says the run
/// goes on (after a failure elsewhere or an interrupt, nothing new starts); a route's integration
/// waits for `ready`.
#[derive(Clone, Copy)]
pub struct Schedule<'a> {
    pub slots: &'a Semaphore,
    pub go_on: &'a (dyn Fn() -> Result<(), BoxError> + Sync),
    pub ready: FunctionReady<'a>,
}

/// Applies `changes` (from [`diff`] of `live` and `desired`; `live` is what [`create`] returned
/// for a new API) and returns the API's id. Every step re-runs safely: a crash part-way leaves a
/// tagged API whose next diff finishes the job. Each route's integration is put once its function
/// is ready; everything else goes meanwhile, each call in its turn (`schedule`) and as API
/// Gateway's quotas allow.
pub async fn apply(
    client: &Client,
    pacer: &Pacer,
    stack: &str,
    live: &LiveApi,
    desired: &DesiredApi,
    changes: &ApiChanges,
    schedule: Schedule<'_>,
) -> Result<String, ApiError> {
    let name = desired.name.as_str();
    let (api_id, root_id, mut resource_ids, live_authorizers) = (
        live.id.clone(),
        live.root_id.clone(),
        live.resources.clone(),
        live.authorizers.clone(),
    );
    resource_ids.insert("/".to_owned(), root_id);

    // 1. Methods that go away or are put again, before the authorizers they may use; all at
    // once, as API Gateway's quotas (the pacer) allow.
    let doomed: Vec<(&RouteKey, &str)> = changes
        .routes
        .iter()
        .filter(|(key, action)| {
            let reput = changes
                .route_changes
                .get(*key)
                .is_some_and(|typed| typed.contains(&RouteChange::Method));
            matches!(action, Action::Delete) || reput
        })
        .map(|(key, _)| resource_id(&resource_ids, &key.0, name).map(|id| (key, id)))
        .collect::<Result<_, _>>()?;
    try_join_all(doomed.into_iter().map(|((path, method), resource_id)| {
        let api_id = &api_id;
        async move {
            let _turn = turn(schedule, pacer, Quotas::General, name).await?;
            match client
                .delete_method()
                .rest_api_id(api_id)
                .resource_id(resource_id)
                .http_method(method)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(err) => ignore_not_found(err, format!("delete method {method} {path}"), name),
            }
        }
    }))
    .await?;

    // 2. Authorizers: delete replaced and extra ones, create new and replacement ones. Meanwhile
    // the resources are created: a method waits for the authorizers only if it uses one.
    let (authorizers_done, authorizers) = tokio::sync::watch::channel(None);
    let authorizer_step =
        async {
            // Dropped without a value if this fails: the methods waiting for it then stop.
            let authorizers_done = authorizers_done;
            let mut authorizer_ids: BTreeMap<String, String> = live_authorizers
                .iter()
                .map(|(n, a)| (n.clone(), a.id.clone()))
                .collect();
            for (authorizer, action) in &changes.authorizers {
                if matches!(action, Action::Delete | Action::Replace { .. })
                    && let Some(id) = authorizer_ids.remove(authorizer)
                {
                    let _turn = turn(schedule, pacer, Quotas::General, name).await?;
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
                    let settings = desired.authorizers.get(authorizer).ok_or_else(|| {
                        ApiError::Inconsistent {
                            name: name.to_owned(),
                            detail: format!("authorizer `{authorizer}` is planned but not wanted"),
                        }
                    })?;
                    let _turn = turn(schedule, pacer, Quotas::General, name).await?;
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
            authorizers_done.send_replace(Some(authorizer_ids));
            Ok::<(), ApiError>(())
        };

    // 3 and 4. Resources, each once its parent exists, and each route's method and integration
    // as soon as its resource exists: one pipeline per path, so CreateResource's quota (5 per
    // second) and the general one (10 per second) are spent at the same time, not one after
    // the other.
    let mut to_create: Vec<&String> = changes
        .resources
        .iter()
        .filter(|(_, action)| **action == Action::Create)
        .map(|(path, _)| path)
        .collect();
    to_create.sort_by_key(|path| path.matches('/').count());
    // Each new resource's id, once it exists.
    let mut created: HashMap<&str, tokio::sync::watch::Sender<Option<String>>> = HashMap::new();
    for path in &to_create {
        created.insert(path.as_str(), tokio::sync::watch::channel(None).0);
    }
    let id_of = |path: &str| {
        let known = resource_ids.get(path).cloned();
        let pending = created.get(path).map(tokio::sync::watch::Sender::subscribe);
        let path = path.to_owned();
        async move {
            if let Some(id) = known {
                return Ok(id);
            }
            let mut pending = pending.ok_or_else(|| ApiError::Inconsistent {
                name: name.to_owned(),
                detail: format!("resource `{path}` is neither live nor planned"),
            })?;
            match pending.wait_for(Option::is_some).await {
                Ok(id) => Ok(id.clone().unwrap_or_default()),
                // Its creation failed: that error ends the run.
                Err(_) => Err(ApiError::Inconsistent {
                    name: name.to_owned(),
                    detail: format!("resource `{path}` was not created"),
                }),
            }
        }
    };
    let parts = Parts {
        client,
        pacer,
        api_id: &api_id,
        name,
        desired,
        changes,
        authorizers,
        schedule,
    };
    let mut work: Vec<futures_util::future::BoxFuture<'_, Result<(), ApiError>>> =
        vec![Box::pin(authorizer_step)];
    for path in &to_create {
        let (parent, part) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        let parent = if parent.is_empty() { "/" } else { parent };
        let parent_id = id_of(parent);
        let sender = created.get(path.as_str()).cloned();
        let api_id = &api_id;
        work.push(Box::pin(async move {
            let parent_id = parent_id.await?;
            let _turn = turn(schedule, pacer, Quotas::Resource, name).await?;
            let output = client
                .create_resource()
                .rest_api_id(api_id)
                .parent_id(parent_id)
                .path_part(part)
                .send()
                .await
                .map_err(aws_error(format!("create resource `{path}`"), name))?;
            let id = output.id().ok_or(ApiError::Incomplete {
                action: "CreateResource",
                name: name.to_owned(),
                missing: "an id",
            })?;
            if let Some(sender) = sender {
                sender.send_replace(Some(id.to_owned()));
            }
            Ok(())
        }));
    }
    for (key, action) in &changes.routes {
        if matches!(
            action,
            Action::Delete | Action::Replace { .. } | Action::NoOp
        ) {
            // Deleted in step 1; routes are never replaced; nothing to do.
            continue;
        }
        let resource = id_of(&key.0);
        let parts = &parts;
        work.push(Box::pin(async move {
            let resource_id = resource.await?;
            put_route(parts, key, action, &resource_id).await
        }));
    }
    try_join_all(work).await?;
    drop(created);

    // 5. Resources that go away, children first: each level at once.
    let mut to_delete: Vec<&String> = changes
        .resources
        .iter()
        .filter(|(_, action)| **action == Action::Delete)
        .map(|(path, _)| path)
        .collect();
    to_delete.sort_by_key(|path| std::cmp::Reverse(path.matches('/').count()));
    for level in to_delete.chunk_by(|a, b| a.matches('/').count() == b.matches('/').count()) {
        try_join_all(level.iter().map(|path| {
            let id = resource_id(&resource_ids, path, name).map(str::to_owned);
            let api_id = &api_id;
            async move {
                let id = id?;
                let _turn = turn(schedule, pacer, Quotas::Resource, name).await?;
                match client
                    .delete_resource()
                    .rest_api_id(api_id)
                    .resource_id(id)
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(err) => ignore_not_found(err, format!("delete resource `{path}`"), name),
                }
            }
        }))
        .await?;
    }

    // 6. A deployment of the new shape, and the stage on it.
    let mut deployment_id = None;
    if changes.deployment.is_some() {
        let _turn = turn(schedule, pacer, Quotas::Deployment, name).await?;
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
            let _turn = turn(schedule, pacer, Quotas::General, name).await?;
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
            let _turn = turn(schedule, pacer, Quotas::General, name).await?;
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
        // No new deployment: the stage already serves the current shape.
        (Action::Update { .. } | Action::NoOp, None) => {}
        // A stage goes with its API (`down` deletes the API) and is never replaced.
        (Action::Delete | Action::Replace { .. }, _) => {}
    }
    Ok(api_id)
}

/// What every route's calls share while the API's parts are put.
struct Parts<'a> {
    client: &'a Client,
    pacer: &'a Pacer,
    api_id: &'a str,
    name: &'a str,
    desired: &'a DesiredApi,
    changes: &'a ApiChanges,
    /// The authorizers' ids by name, once step 2 made them.
    authorizers: tokio::sync::watch::Receiver<Option<BTreeMap<String, String>>>,
    schedule: Schedule<'a>,
}

/// Puts one route's method (when it is new or changed) and its integration (which a put method
/// loses, so always after it).
async fn put_route(
    parts: &Parts<'_>,
    key: &RouteKey,
    action: &Action,
    resource_id: &str,
) -> Result<(), ApiError> {
    let Parts {
        client,
        pacer,
        api_id,
        name,
        desired,
        changes,
        ref authorizers,
        schedule,
    } = *parts;
    let (path, method) = key;
    let (put_method, put_integration) = match action {
        Action::Create => (true, true),
        // A method put again loses its integration, so an update always puts the integration;
        // the method only when it changed.
        Action::Update { .. } => (
            changes
                .route_changes
                .get(key)
                .is_some_and(|typed| typed.contains(&RouteChange::Method)),
            true,
        ),
        // Deleted in step 1; routes are never replaced; nothing to do.
        Action::Delete | Action::Replace { .. } | Action::NoOp => (false, false),
    };
    let settings = desired
        .methods
        .get(key)
        .ok_or_else(|| ApiError::Inconsistent {
            name: name.to_owned(),
            detail: format!("route `{method} {path}` is planned but not wanted"),
        });
    if !put_integration {
        return Ok(());
    }
    let settings = settings?;
    if put_method {
        let authorizer_id = match &settings.authorizer {
            Some(authorizer) => {
                let missing = || ApiError::Inconsistent {
                    name: name.to_owned(),
                    detail: format!("authorizer `{authorizer}` does not exist"),
                };
                let mut authorizers = authorizers.clone();
                // Err: creating the authorizers failed, and that error ends the run.
                let ids = authorizers
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|_| missing())?;
                let id = ids.as_ref().and_then(|ids| ids.get(authorizer)).cloned();
                drop(ids);
                Some(id.ok_or_else(missing)?)
            }
            None => None,
        };
        let _turn = turn(schedule, pacer, Quotas::General, name).await?;
        client
            .put_method()
            .rest_api_id(api_id)
            .resource_id(resource_id)
            .http_method(method)
            .authorization_type(&settings.authorization)
            .set_authorizer_id(authorizer_id)
            .send()
            .await
            .map_err(aws_error(format!("put method {method} {path}"), name))?;
    }
    if let Some(integration) = &settings.integration {
        if let Some(function) = desired.functions.get(key) {
            (schedule.ready)(function)
                .await
                .map_err(|source| ApiError::NotReady {
                    name: name.to_owned(),
                    route: format!("{method} {path}"),
                    source,
                })?;
        }
        let _turn = turn(schedule, pacer, Quotas::General, name).await?;
        client
            .put_integration()
            .rest_api_id(api_id)
            .resource_id(resource_id)
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
    Ok(())
}

/// A call's turn: API Gateway's quota, then one of the run's slots, held until the call answers
/// (not while the quota makes it wait: other changes of the run use the slot meanwhile); refused
/// once the run stops starting work.
async fn turn<'a>(
    schedule: Schedule<'a>,
    pacer: &Pacer,
    quota: Quotas,
    name: &str,
) -> Result<Option<SemaphorePermit<'a>>, ApiError> {
    pacer.wait(quota).await;
    // Never closed: None cannot happen.
    let slot = schedule.slots.acquire().await.ok();
    (schedule.go_on)().map_err(|source| ApiError::Stopped {
        name: name.to_owned(),
        source,
    })?;
    Ok(slot)
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
