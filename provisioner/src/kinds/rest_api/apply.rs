//! Applying a REST API's typed changes, step by step: methods that go, authorizers, resources
//! and routes, resources that go, the deployment and its stage. Each step is a function of
//! [`Parts`] (what every call shares); [`apply`] runs them in order, the authorizers beside the
//! resources and routes.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::types::{AuthorizerType, Op, PatchOperation};
use futures_util::future::{BoxFuture, try_join_all};
use tokio::sync::watch;

use super::driver::{Parts, put_route, resource_id, turn};
use super::*;
use crate::pace::{Pacer, Quotas};

/// Applies `changes` (from [`diff`] of `live` and `desired`; `live` is what [`create`] returned
/// for a new API) and returns the API's id. Every step re-runs safely: a crash part-way leaves a
/// tagged API whose next diff finishes the job. Each route's integration is put once its function
/// is ready; everything else goes meanwhile, each call in its turn (`schedule`) and as API
/// Gateway's quotas allow.
pub async fn apply(
    client: &aws_sdk_apigateway::Client,
    pacer: &Pacer,
    stack: &str,
    live: &LiveApi,
    desired: &DesiredApi,
    changes: &ApiChanges,
    schedule: Schedule<'_>,
) -> Result<String, ApiError> {
    let mut resource_ids = live.resources.clone();
    resource_ids.insert("/".to_owned(), live.root_id.clone());
    let (authorizers_done, authorizers) = watch::channel(None);
    let parts = Parts {
        client,
        pacer,
        stack,
        api_id: &live.id,
        name: desired.name.as_str(),
        desired,
        changes,
        authorizers,
        schedule,
    };
    // 1. Methods that go away or are put again, before the authorizers they may use.
    delete_methods(&parts, &resource_ids).await?;
    // 2 beside 3 and 4: the authorizers while the resources and routes are put (a method waits
    // for the authorizers only if it uses one).
    let authorizers = put_authorizers(&parts, &live.authorizers, authorizers_done);
    put_resources_and_routes(&parts, &resource_ids, Box::pin(authorizers)).await?;
    // 5. Resources that go away, children first; the gateway responses (CORS) put or reset.
    delete_resources(&parts, &resource_ids).await?;
    put_gateway_responses(&parts).await?;
    // 6. A deployment of the new shape, and the stage on it.
    deploy(&parts).await?;
    // 7. The stack's tags, where they changed.
    retag(&parts, live).await?;
    Ok(live.id.clone())
}

/// Step 7: the stack's `tags:` on the API and its stage where they differ (a new API and a new
/// stage got them in their create calls).
async fn retag(parts: &Parts<'_>, live: &LiveApi) -> Result<(), ApiError> {
    let api_arn = format!("{}/restapis/{}", parts.desired.arn_prefix, parts.api_id);
    retag_one(parts, &api_arn, &live.tags).await?;
    if let Some(stage) = &live.stage {
        let stage_arn = format!("{api_arn}/stages/{}", parts.desired.stage);
        retag_one(parts, &stage_arn, &stage.tags).await?;
    }
    Ok(())
}

/// TagResource with the tags new or changed, UntagResource with the keys no longer declared.
async fn retag_one(
    parts: &Parts<'_>,
    arn: &str,
    live: &crate::kinds::tags::Tags,
) -> Result<(), ApiError> {
    let Some(desired) = &parts.desired.tags else {
        return Ok(());
    };
    let change = crate::kinds::tags::TagChange::between(live, desired);
    let name = parts.name;
    if !change.set.is_empty() {
        let _turn = turn(parts.schedule, parts.pacer, Quotas::General, name).await?;
        parts
            .client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(change.set.into_iter().collect()))
            .send()
            .await
            .map_err(aws_error("tag", name))?;
    }
    if !change.remove.is_empty() {
        let _turn = turn(parts.schedule, parts.pacer, Quotas::General, name).await?;
        parts
            .client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(change.remove))
            .send()
            .await
            .map_err(aws_error("untag", name))?;
    }
    Ok(())
}

/// Step 1: deletes the methods of routes that go and of those whose method is put again, all at
/// once, as API Gateway's quotas (the pacer) allow.
async fn delete_methods(
    parts: &Parts<'_>,
    resource_ids: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let (changes, name) = (parts.changes, parts.name);
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
        .map(|(key, _)| resource_id(resource_ids, &key.0, name).map(|id| (key, id)))
        .collect::<Result<_, _>>()?;
    try_join_all(
        doomed
            .into_iter()
            .map(|((path, method), resource_id)| async move {
                let _turn = turn(parts.schedule, parts.pacer, Quotas::General, name).await?;
                let deleted = parts
                    .client
                    .delete_method()
                    .rest_api_id(parts.api_id)
                    .resource_id(resource_id)
                    .http_method(method)
                    .send()
                    .await;
                match deleted {
                    Ok(_) => Ok(()),
                    Err(err) => {
                        ignore_not_found(err, format!("delete method {method} {path} of"), name)
                    }
                }
            }),
    )
    .await?;
    Ok(())
}

/// Step 2: deletes replaced and extra authorizers, creates new and replacement ones, then sends
/// every authorizer's id on `done` (dropped without a value if this fails: the methods waiting
/// for it then stop).
async fn put_authorizers(
    parts: &Parts<'_>,
    live: &BTreeMap<String, LiveAuthorizer>,
    done: watch::Sender<Option<BTreeMap<String, String>>>,
) -> Result<(), ApiError> {
    let (client, name) = (parts.client, parts.name);
    let mut ids: BTreeMap<String, String> = live
        .iter()
        .map(|(n, a)| (n.clone(), a.id.clone()))
        .collect();
    for (authorizer, action) in &parts.changes.authorizers {
        if matches!(action, Action::Delete | Action::Replace { .. })
            && let Some(id) = ids.remove(authorizer)
        {
            let _turn = turn(parts.schedule, parts.pacer, Quotas::General, name).await?;
            let deleted = client
                .delete_authorizer()
                .rest_api_id(parts.api_id)
                .authorizer_id(id)
                .send()
                .await;
            if let Err(err) = deleted {
                ignore_not_found(err, format!("delete authorizer `{authorizer}` of"), name)?;
            }
        }
    }
    for (authorizer, action) in &parts.changes.authorizers {
        if matches!(action, Action::Create | Action::Replace { .. }) {
            let settings = parts.desired.authorizers.get(authorizer).ok_or_else(|| {
                ApiError::Inconsistent {
                    name: name.to_owned(),
                    detail: format!("authorizer `{authorizer}` is planned but not wanted"),
                }
            })?;
            let _turn = turn(parts.schedule, parts.pacer, Quotas::General, name).await?;
            // At most once: a retried CreateAuthorizer whose answer was lost would make a second
            // authorizer of the name, orphaned for good. After a lost answer, the API's
            // authorizers are read for the one it made.
            let created = crate::once::create_at_most_once(
                || async {
                    client
                        .create_authorizer()
                        .rest_api_id(parts.api_id)
                        .name(authorizer)
                        .r#type(AuthorizerType::from(settings.kind.as_str()))
                        .set_provider_arns(Some(settings.provider_arns.clone()))
                        .identity_source(&settings.identity_source)
                        .customize()
                        .config_override(crate::once::sdk_retries_off!(aws_sdk_apigateway))
                        .send()
                        .await
                        .map(|created| created.id().map(str::to_owned))
                },
                || async {
                    let found =
                        super::read::read_authorizers(client, parts.pacer, name, parts.api_id)
                            .await?;
                    Ok::<_, ApiError>(found.get(authorizer).map(|a| Some(a.id.clone())))
                },
            )
            .await
            .map_err(|failed| match failed {
                crate::once::Failed::Create(err) => {
                    aws_error(format!("create authorizer `{authorizer}` in"), name)(err)
                }
                crate::once::Failed::Find(err) => err,
            })?;
            let id = created.ok_or(ApiError::Incomplete {
                action: "CreateAuthorizer",
                name: name.to_owned(),
                missing: "an id",
            })?;
            ids.insert(authorizer.clone(), id);
        }
    }
    done.send_replace(Some(ids));
    Ok(())
}

/// Steps 3 and 4, beside `authorizers` (step 2): resources, each once its parent exists, and each
/// route's method and integration as soon as its resource exists: one pipeline per path, so
/// CreateResource's quota (5 per second) and the general one (10 per second) are spent at the
/// same time, not one after the other.
async fn put_resources_and_routes<'a>(
    parts: &'a Parts<'a>,
    resource_ids: &'a BTreeMap<String, String>,
    authorizers: BoxFuture<'a, Result<(), ApiError>>,
) -> Result<(), ApiError> {
    let mut to_create: Vec<&String> = parts
        .changes
        .resources
        .iter()
        .filter(|(_, action)| **action == Action::Create)
        .map(|(path, _)| path)
        .collect();
    to_create.sort_by_key(|path| path.matches('/').count());
    // Each new resource's id, once it exists.
    let created: HashMap<&str, watch::Sender<Option<String>>> = to_create
        .iter()
        .map(|path| (path.as_str(), watch::channel(None).0))
        .collect();
    let ids = NewIds {
        known: resource_ids,
        created: &created,
        name: parts.name,
    };
    let mut work: Vec<BoxFuture<'_, Result<(), ApiError>>> = vec![authorizers];
    for path in &to_create {
        let (parent, part) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        let parent = if parent.is_empty() { "/" } else { parent };
        let parent_id = ids.of(parent);
        let sender = created.get(path.as_str()).cloned();
        work.push(Box::pin(async move {
            let id = create_resource(parts, path, part, &parent_id.await?).await?;
            if let Some(sender) = sender {
                sender.send_replace(Some(id));
            }
            Ok(())
        }));
    }
    for (key, action) in &parts.changes.routes {
        if matches!(
            action,
            Action::Delete | Action::Replace { .. } | Action::NoOp
        ) {
            // Deleted in step 1; routes are never replaced; nothing to do.
            continue;
        }
        let resource = ids.of(&key.0);
        work.push(Box::pin(async move {
            put_route(parts, key, action, &resource.await?).await
        }));
    }
    try_join_all(work).await?;
    Ok(())
}

/// The ids of resources, live or being created in this apply.
struct NewIds<'a> {
    known: &'a BTreeMap<String, String>,
    created: &'a HashMap<&'a str, watch::Sender<Option<String>>>,
    name: &'a str,
}

impl NewIds<'_> {
    /// Resolves to `path`'s id: at once if it is live, once it is created if it is new.
    fn of(&self, path: &str) -> impl Future<Output = Result<String, ApiError>> + Send + 'static {
        let known = self.known.get(path).cloned();
        let pending = self.created.get(path).map(watch::Sender::subscribe);
        let (path, name) = (path.to_owned(), self.name.to_owned());
        async move {
            if let Some(id) = known {
                return Ok(id);
            }
            let mut pending = pending.ok_or_else(|| ApiError::Inconsistent {
                name: name.clone(),
                detail: format!("resource `{path}` is neither live nor planned"),
            })?;
            match pending.wait_for(Option::is_some).await {
                Ok(id) => Ok(id.clone().unwrap_or_default()),
                // Its creation failed: that error ends the run.
                Err(_) => Err(ApiError::Inconsistent {
                    name,
                    detail: format!("resource `{path}` was not created"),
                }),
            }
        }
    }
}

/// Creates resource `path` (its last part `part`) under `parent_id`; returns its id.
async fn create_resource(
    parts: &Parts<'_>,
    path: &str,
    part: &str,
    parent_id: &str,
) -> Result<String, ApiError> {
    let name = parts.name;
    let _turn = turn(parts.schedule, parts.pacer, Quotas::Resource, name).await?;
    let output = parts
        .client
        .create_resource()
        .rest_api_id(parts.api_id)
        .parent_id(parent_id)
        .path_part(part)
        .send()
        .await
        .map_err(aws_error(format!("create resource `{path}` in"), name))?;
    let id = output.id().ok_or(ApiError::Incomplete {
        action: "CreateResource",
        name: name.to_owned(),
        missing: "an id",
    })?;
    Ok(id.to_owned())
}

/// Step 5: deletes the resources that go, children first: each level at once.
async fn delete_resources(
    parts: &Parts<'_>,
    resource_ids: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let name = parts.name;
    let mut to_delete: Vec<&String> = parts
        .changes
        .resources
        .iter()
        .filter(|(_, action)| **action == Action::Delete)
        .map(|(path, _)| path)
        .collect();
    to_delete.sort_by_key(|path| std::cmp::Reverse(path.matches('/').count()));
    for level in to_delete.chunk_by(|a, b| a.matches('/').count() == b.matches('/').count()) {
        try_join_all(level.iter().map(|path| {
            let id = resource_id(resource_ids, path, name).map(str::to_owned);
            async move {
                let id = id?;
                let _turn = turn(parts.schedule, parts.pacer, Quotas::Resource, name).await?;
                let deleted = parts
                    .client
                    .delete_resource()
                    .rest_api_id(parts.api_id)
                    .resource_id(id)
                    .send()
                    .await;
                match deleted {
                    Ok(_) => Ok(()),
                    Err(err) => ignore_not_found(err, format!("delete resource `{path}` of"), name),
                }
            }
        }))
        .await?;
    }
    Ok(())
}

/// Step 5: each gateway response put (with CORS's headers) or reset to API Gateway's default, all
/// at once, as the quotas allow.
async fn put_gateway_responses(parts: &Parts<'_>) -> Result<(), ApiError> {
    let puts = parts
        .changes
        .gateway_responses
        .iter()
        .filter(|(_, action)| **action != Action::NoOp)
        .map(|(kind, action)| async move {
            let wanted = match action {
                Action::Delete => None,
                _ => parts.desired.gateway_responses.get(kind),
            };
            let _turn = turn(parts.schedule, parts.pacer, Quotas::General, parts.name).await?;
            super::cors::put_gateway_response(parts.client, parts.api_id, parts.name, kind, wanted)
                .await
        });
    try_join_all(puts).await?;
    Ok(())
}

/// Step 6: a deployment of the new shape when the plan has one, and the stage on it.
async fn deploy(parts: &Parts<'_>) -> Result<(), ApiError> {
    let (client, name, desired) = (parts.client, parts.name, parts.desired);
    // The stage serves the new routes only once their functions may be invoked through them.
    (parts.schedule.granted)()
        .await
        .map_err(|source| ApiError::Stopped {
            name: name.to_owned(),
            source,
        })?;
    let mut deployment_id = None;
    if parts.changes.deployment.is_some() {
        let _turn = turn(parts.schedule, parts.pacer, Quotas::Deployment, name).await?;
        let deployment = client
            .create_deployment()
            .rest_api_id(parts.api_id)
            .description(format!("{DEPLOYMENT_PREFIX}{}", desired.shape))
            .send()
            .await
            .map_err(aws_error("create a deployment of", name))?;
        let id = deployment.id().ok_or(ApiError::Incomplete {
            action: "CreateDeployment",
            name: name.to_owned(),
            missing: "an id",
        })?;
        deployment_id = Some(id.to_owned());
    }
    let stage = &desired.stage;
    match (&parts.changes.stage, deployment_id) {
        (Action::Create, Some(deployment_id)) => {
            let _turn = turn(parts.schedule, parts.pacer, Quotas::General, name).await?;
            client
                .create_stage()
                .rest_api_id(parts.api_id)
                .stage_name(stage)
                .deployment_id(deployment_id)
                .set_tags(Some(crate::kinds::tags::with_ownership(
                    &desired.tags.clone().unwrap_or_default(),
                    &[(OWNERSHIP_TAG, parts.stack)],
                )))
                .send()
                .await
                .map_err(aws_error(format!("create stage `{stage}` of"), name))?;
        }
        (Action::Update { .. } | Action::NoOp, Some(deployment_id)) => {
            let _turn = turn(parts.schedule, parts.pacer, Quotas::General, name).await?;
            let repoint = PatchOperation::builder()
                .op(Op::Replace)
                .path("/deploymentId")
                .value(deployment_id)
                .build();
            client
                .update_stage()
                .rest_api_id(parts.api_id)
                .stage_name(stage)
                .patch_operations(repoint)
                .send()
                .await
                .map_err(aws_error(format!("update stage `{stage}` of"), name))?;
        }
        (Action::Create, None) => {
            return Err(ApiError::Inconsistent {
                name: name.to_owned(),
                detail: format!("stage `{stage}` is planned without a deployment for it"),
            });
        }
        // No new deployment: the stage already serves the current shape.
        (Action::Update { .. } | Action::NoOp, None) => {}
        // A stage goes with its API (`down` deletes the API) and is never replaced.
        (Action::Delete | Action::Replace { .. }, _) => {}
    }
    Ok(())
}
