//! Reading a REST API from AWS: the APIs of the stack's name (and its leftovers), and the one of
//! ours in full (authorizers, resources with their methods, the stage), in as few round trips as
//! API Gateway allows.

use crate::kinds::tags::Tags;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::Client;

use super::*;
use crate::pace::{Pacer, Quotas};

/// Every REST API named `name` (every page); the one tagged as `stack`'s is read in full. An empty
/// `name` (no API declared) finds only undeclared ones.
pub async fn find(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    stack: &str,
    stage: Option<&str>,
) -> Result<ApiSearch, ApiError> {
    let mut owned = Vec::new();
    let mut foreign = Vec::new();
    let mut undeclared = Vec::new();
    let apis = every_page(pacer, Quotas::General, |position| async move {
        let page = client
            .get_rest_apis()
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(aws_error("list the REST APIs to find", name))?;
        Ok((page.items.unwrap_or_default(), page.position))
    })
    .await?;
    for api in &apis {
        let id = api.id().unwrap_or_default().to_owned();
        let owner = api.tags().and_then(|tags| tags.get(OWNERSHIP_TAG));
        let ours = owner.is_some_and(|owner| owner == stack);
        if api.name() != Some(name) {
            if ours {
                undeclared.push((id, api.name().unwrap_or_default().to_owned()));
            }
            continue;
        }
        if ours {
            let tags = crate::kinds::tags::managed(api.tags().into_iter().flatten());
            owned.push((id, tags));
        } else {
            foreign.push((id, owner.cloned()));
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
        Some((id, tags)) => Some(LiveApi {
            tags,
            ..read(client, pacer, name, &id, stage).await?
        }),
        None => None,
    };
    Ok(ApiSearch {
        owned,
        foreign,
        undeclared,
    })
}

/// Reads an API's working copy and the deployment `stage` serves: its authorizers, its resources
/// with their methods, and its stage, at once.
async fn read(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    id: &str,
    stage: Option<&str>,
) -> Result<LiveApi, ApiError> {
    let (authorizers, (resources, mut methods), gateway_responses, stage) = tokio::try_join!(
        read_authorizers(client, pacer, name, id),
        read_resources(client, pacer, name, id),
        super::cors::read_gateway_responses(client, pacer, name, id),
        async {
            match stage {
                Some(stage) => read_stage(client, pacer, name, id, stage).await,
                None => Ok(None),
            }
        },
    )?;
    // Methods name their authorizer by id: by name here, as stack.yaml does.
    let names_by_id: HashMap<&str, &str> = authorizers
        .iter()
        .map(|(name, a)| (a.id.as_str(), name.as_str()))
        .collect();
    for method in methods.values_mut() {
        if let Some(authorizer_id) = &method.authorizer {
            method.authorizer = Some(names_by_id.get(authorizer_id.as_str()).map_or_else(
                || format!("(unknown authorizer {authorizer_id})"),
                |n| (*n).to_owned(),
            ));
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
        gateway_responses,
        stage,
        tags: Tags::new(),
    })
}

/// The API's authorizers, by name.
pub(super) async fn read_authorizers(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    id: &str,
) -> Result<BTreeMap<String, LiveAuthorizer>, ApiError> {
    let mut authorizers = BTreeMap::new();
    let listed = every_page(pacer, Quotas::General, |position| async move {
        let page = client
            .get_authorizers()
            .rest_api_id(id)
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(aws_error("read the authorizers of", name))?;
        Ok((page.items.unwrap_or_default(), page.position))
    })
    .await?;
    for authorizer in &listed {
        let (Some(authorizer_id), Some(authorizer_name)) = (authorizer.id(), authorizer.name())
        else {
            continue;
        };
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
                    identity_source: authorizer.identity_source().unwrap_or_default().to_owned(),
                },
            },
        );
    }
    Ok(authorizers)
}

/// The API's resources (path -> id) and methods, each method's authorizer still by id.
async fn read_resources(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    id: &str,
) -> Result<(BTreeMap<String, String>, BTreeMap<RouteKey, MethodSettings>), ApiError> {
    let mut resources = BTreeMap::new();
    let mut methods = BTreeMap::new();
    let listed = every_page(pacer, Quotas::GetResources, |position| async move {
        let page = client
            .get_resources()
            .rest_api_id(id)
            .limit(500)
            .embed("methods")
            .set_position(position)
            .send()
            .await
            .map_err(aws_error("read the resources of", name))?;
        Ok((page.items.unwrap_or_default(), page.position))
    })
    .await?;
    for resource in &listed {
        let (Some(resource_id), Some(path)) = (resource.id(), resource.path()) else {
            continue;
        };
        resources.insert(path.to_owned(), resource_id.to_owned());
        for (http_method, method) in resource.resource_methods().into_iter().flatten() {
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
                    authorizer: method.authorizer_id().map(str::to_owned),
                    authorization_scopes: {
                        let mut scopes = method.authorization_scopes().to_vec();
                        scopes.sort();
                        scopes
                    },
                    integration,
                    preflight: super::cors::live_preflight(method),
                },
            );
        }
    }
    Ok((resources, methods))
}

/// Every item of a listing API Gateway pages by `position`, each page's call paced to `quota`:
/// `page(position)` asks for one page and answers its items and the next position. Ends at a
/// page without a next position, or an empty one (never asks forever for a position that
/// repeats with nothing in it).
pub(super) async fn every_page<T, F, Fut>(
    pacer: &Pacer,
    quota: Quotas,
    mut page: F,
) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), ApiError>>,
{
    let mut all = Vec::new();
    let mut position = None;
    loop {
        pacer.wait(quota).await;
        let (items, next) = page(position.take()).await?;
        let empty = items.is_empty();
        all.extend(items);
        match next {
            Some(next) if !next.is_empty() && !empty => position = Some(next),
            _ => return Ok(all),
        }
    }
}

/// The stage `stage` of API `id` and the shape its deployment serves (None: no such stage).
async fn read_stage(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    id: &str,
    stage: &str,
) -> Result<Option<LiveStage>, ApiError> {
    pacer.wait(Quotas::General).await;
    let found = match client
        .get_stage()
        .rest_api_id(id)
        .stage_name(stage)
        .send()
        .await
    {
        Ok(found) => found,
        Err(err) => {
            ignore_not_found(err, format!("read stage `{stage}` of"), name)?;
            return Ok(None);
        }
    };
    let Some(deployment_id) = found.deployment_id() else {
        return Ok(None);
    };
    pacer.wait(Quotas::General).await;
    let shape = match client
        .get_deployment()
        .rest_api_id(id)
        .deployment_id(deployment_id)
        .send()
        .await
    {
        Ok(deployment) => deployment
            .description()
            .and_then(|d| d.strip_prefix(DEPLOYMENT_PREFIX))
            .map(str::to_owned),
        Err(err) => {
            ignore_not_found(err, "read the deployment of", name)?;
            None
        }
    };
    Ok(Some(LiveStage {
        deployment_id: deployment_id.to_owned(),
        shape,
        tags: crate::kinds::tags::managed(found.tags().into_iter().flatten()),
    }))
}
