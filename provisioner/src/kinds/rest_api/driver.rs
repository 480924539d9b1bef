//! The calls that make a REST API match stack.yaml (reading it is in `read.rs`).

use std::collections::BTreeMap;

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, IntegrationType};

use futures_util::future::BoxFuture;
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
                .set_tags(Some(crate::kinds::tags::with_ownership(
                    &desired.tags.clone().unwrap_or_default(),
                    &[(OWNERSHIP_TAG, stack)],
                )))
                .customize()
                .config_override(crate::once::sdk_retries_off!(aws_sdk_apigateway))
                .send()
                .await
                .map(|output| Created::New(Box::new(output)))
        },
        || async {
            let search = super::find(client, pacer, name, stack, None).await?;
            Ok::<_, ApiError>(search.owned.map(|live| Created::Found(Box::new(live))))
        },
    )
    .await
    .map_err(|failed| match failed {
        crate::once::Failed::Create(err) => aws_error("create", name)(err),
        crate::once::Failed::Find(err) => err,
    })?;
    let created = match created {
        Created::Found(live) => return Ok(*live),
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
        gateway_responses: BTreeMap::new(),
        stage: None,
        tags: desired.tags.clone().unwrap_or_default(),
    })
}

/// What an at-most-once CreateRestApi gave: its answer, or the API found after an answer was lost.
enum Created {
    New(Box<aws_sdk_apigateway::operation::create_rest_api::CreateRestApiOutput>),
    Found(Box<LiveApi>),
}

/// Resolves once the function a route calls (its logical name) exists and takes calls: a route's
/// integration waits for it; the rest of the API does not.
pub type FunctionReady<'a> = &'a (dyn Fn(&str) -> BoxFuture<'static, Result<(), BoxError>> + Sync);

/// When the API's calls may go, within the run: each takes one of `slots` (the run's
/// `--concurrency`: the API's parts count one each) and is made only while `go_on` says the run
/// goes on (after a failure elsewhere or an interrupt, nothing new starts); a route's integration
/// waits for `ready`, the deployment and the stage for `granted`.
#[derive(Clone, Copy)]
pub struct Schedule<'a> {
    pub slots: &'a Semaphore,
    pub go_on: &'a (dyn Fn() -> Result<(), BoxError> + Sync),
    pub ready: FunctionReady<'a>,
    /// Resolves once the invoke permissions the deployed routes need are in.
    pub granted: &'a (dyn Fn() -> BoxFuture<'static, Result<(), BoxError>> + Sync),
}

/// What every route's calls share while the API's parts are put.
pub(super) struct Parts<'a> {
    pub client: &'a Client,
    pub pacer: &'a Pacer,
    pub stack: &'a str,
    pub api_id: &'a str,
    pub name: &'a str,
    pub desired: &'a DesiredApi,
    pub changes: &'a ApiChanges,
    /// The authorizers' ids by name, once step 2 made them.
    pub authorizers: tokio::sync::watch::Receiver<Option<BTreeMap<String, String>>>,
    pub schedule: Schedule<'a>,
}

/// Puts one route's method (when it is new or changed) and its integration (which a put method
/// loses, so always after it).
pub(super) async fn put_route(
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
        ..
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
            Some(authorizer) => Some(authorizer_id(authorizers, authorizer, name).await?),
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
            .set_authorization_scopes(
                (!settings.authorization_scopes.is_empty())
                    .then(|| settings.authorization_scopes.clone()),
            )
            .send()
            .await
            .map_err(aws_error(format!("put method {method} {path} in"), name))?;
        if let Some(preflight) = &settings.preflight {
            // One slot at a time (with `--concurrency 1`, a second would never come).
            drop(_turn);
            let _turn = turn(schedule, pacer, Quotas::General, name).await?;
            super::cors::put_method_response(client, api_id, resource_id, name, path, preflight)
                .await?;
        }
    }
    if let Some(integration) = &settings.integration {
        put_route_integration(parts, key, settings, integration, resource_id).await?;
    }
    Ok(())
}

/// A route's integration, once its function is ready (a preflight's MOCK, and its response).
async fn put_route_integration(
    parts: &Parts<'_>,
    key: &RouteKey,
    settings: &MethodSettings,
    integration: &IntegrationSettings,
    resource_id: &str,
) -> Result<(), ApiError> {
    let Parts {
        client,
        pacer,
        api_id,
        name,
        desired,
        schedule,
        ..
    } = *parts;
    let (path, method) = key;
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
    // A MOCK integration (a preflight) has no URI and is told the status to answer.
    let some = |value: &String| (!value.is_empty()).then(|| value.clone());
    client
        .put_integration()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method(method)
        .r#type(IntegrationType::from(integration.kind.as_str()))
        .set_integration_http_method(some(&integration.http_method))
        .set_uri(some(&integration.uri))
        .set_request_templates(
            settings
                .preflight
                .is_some()
                .then(super::cors::mock_request_templates),
        )
        .send()
        .await
        .map_err(aws_error(
            format!("put the integration of {method} {path} in"),
            name,
        ))?;
    if let Some(preflight) = &settings.preflight {
        drop(_turn);
        let _turn = turn(schedule, pacer, Quotas::General, name).await?;
        super::cors::put_integration_response(client, api_id, resource_id, name, path, preflight)
            .await?;
    }
    Ok(())
}

/// The id of `authorizer`, once step 2 has put the authorizers.
async fn authorizer_id(
    authorizers: &tokio::sync::watch::Receiver<Option<BTreeMap<String, String>>>,
    authorizer: &str,
    name: &str,
) -> Result<String, ApiError> {
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
    id.ok_or_else(missing)
}

/// A call's turn: API Gateway's quota, then one of the run's slots, held until the call answers
/// (not while the quota makes it wait: other changes of the run use the slot meanwhile); refused
/// once the run stops starting work.
pub(super) async fn turn<'a>(
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

pub(super) fn resource_id<'a>(
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
