//! The REST API as a unit of the engine: reading it (and its stage), planning it with its parts
//! and the invoke permissions its routes need, applying, `down`, and the APIs of this stack's
//! that stack.yaml no longer declares.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::{BoxFuture, try_join_all};

use super::{ApiChanges, ApiSearch, DesiredApi, KNOWN_AFTER_APPLY, LiveApi};
use crate::base::{
    Blocker, Context, DownStep, Leftover, Model, NO_LONGER_DECLARED, Planned, Resolve, Unresolved,
    Values, lock, untagged_in_the_way,
};
use crate::dag;
use crate::kinds::permission::unit::{self as permissions, ObservedStatements, PermissionPlan};
use crate::plan::{Action, Entry, Kind};
use crate::spec::{Reference, ResourceId};

/// Every AWS operation this kind calls, with what IAM must allow (`operations`): API Gateway
/// authorizes by HTTP verb on the resource's path. A REST API's id is API Gateway's, so its paths
/// cannot be narrowed by name: every call on an API or its parts is conditioned on the API's
/// ownership tag instead (its parts inherit it for IAM). Listing cannot be (the collection has no
/// tags), a create is conditioned on the tag it sends, and a tag change that is not a create's on
/// the keys it touches: API Gateway's `/tags/...` resource carries no tags of its own. Every one
/// of them gets `retry::api_gateway`'s retry (tested).
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::{API_TAGS, REST_API, REST_APIS};
    use crate::operations::condition::{
        CREATED_AS_THE_STACKS, NOT_OWNERSHIP, OWNED, TAGGED_AS_THE_STACKS,
    };
    &[
        op!(ApiGateway, "GetRestApis", [("apigateway:GET", REST_APIS)]),
        op!(
            ApiGateway,
            "GetResources",
            [("apigateway:GET", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "GetAuthorizers",
            [("apigateway:GET", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "GetStage",
            [("apigateway:GET", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "GetDeployment",
            [("apigateway:GET", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "CreateRestApi",
            [
                ("apigateway:POST", REST_APIS, CREATED_AS_THE_STACKS),
                ("apigateway:PUT", API_TAGS, TAGGED_AS_THE_STACKS)
            ]
        ),
        op!(
            ApiGateway,
            "CreateResource",
            [("apigateway:POST", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "DeleteResource",
            [("apigateway:DELETE", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "PutMethod",
            [("apigateway:PUT", REST_API, OWNED)]
        ),
        // A CORS preflight's answer: its method's response and its MOCK integration's.
        op!(
            ApiGateway,
            "PutMethodResponse",
            [("apigateway:PUT", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "PutIntegrationResponse",
            [("apigateway:PUT", REST_API, OWNED)]
        ),
        // CORS's headers on API Gateway's own answers.
        op!(
            ApiGateway,
            "GetGatewayResponses",
            [("apigateway:GET", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "PutGatewayResponse",
            [("apigateway:PUT", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "DeleteGatewayResponse",
            [("apigateway:DELETE", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "DeleteMethod",
            [("apigateway:DELETE", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "PutIntegration",
            [("apigateway:PUT", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "CreateAuthorizer",
            [("apigateway:POST", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "DeleteAuthorizer",
            [("apigateway:DELETE", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "CreateDeployment",
            [("apigateway:POST", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "CreateStage",
            [
                ("apigateway:POST", REST_API, OWNED),
                ("apigateway:PUT", API_TAGS, TAGGED_AS_THE_STACKS)
            ]
        ),
        op!(
            ApiGateway,
            "UpdateStage",
            [("apigateway:PATCH", REST_API, OWNED)]
        ),
        op!(
            ApiGateway,
            "DeleteRestApi",
            [("apigateway:DELETE", REST_API, OWNED)]
        ),
        // The stack's `tags:` (`adopt`'s ownership tag is a create's: TAGGED_AS_THE_STACKS).
        op!(
            ApiGateway,
            "TagResource",
            [("apigateway:PUT", API_TAGS, NOT_OWNERSHIP)]
        ),
        op!(
            ApiGateway,
            "UntagResource",
            [("apigateway:DELETE", API_TAGS, NOT_OWNERSHIP)]
        ),
    ]
};

/// What `observe` found: the API of the stack's name that is ours (with its stage) and the
/// foreign ones; and the leftovers (ours under another name).
pub type Observed = (ApiSearch, Vec<Leftover>);

pub async fn observe(ctx: &Context) -> anyhow::Result<Observed> {
    let stack = &ctx.stack;
    let name = stack
        .api
        .as_ref()
        .map_or("", |api| api.physical_name.as_str());
    // The stage is read with the rest of the API, at once.
    let stage = stack.api.as_ref().map(|api| api.stage.as_str());
    let mut search = super::find(
        &ctx.clients.apigateway,
        &ctx.pacer,
        name,
        &stack.name,
        stage,
    )
    .await
    .context("api: reading")?;
    let leftovers = std::mem::take(&mut search.undeclared)
        .into_iter()
        .map(|(id, name)| Leftover {
            entry: Entry::new(
                format!("api ({name})"),
                Kind::RestApi,
                format!("{name} ({id})"),
                Action::Delete,
            )
            .with_note(NO_LONGER_DECLARED),
            name,
            id: Some(id),
            parent: None,
        })
        .collect();
    Ok((search, leftovers))
}

#[derive(Debug, Clone)]
pub struct Node {
    pub desired: Box<DesiredApi>,
    pub live: Option<Box<LiveApi>>,
    /// The typed changes, part by part (each route's as `RouteChange`s).
    pub changes: ApiChanges,
    pub foreign: Vec<String>,
    /// By function: the statements its routes need.
    pub permissions: BTreeMap<String, PermissionPlan>,
    /// The functions and statements observed, to plan those statements again once a new API
    /// has its id.
    pub observed: ObservedStatements,
}

/// Plans the API from the API of the stack's name as observed (`search`), and the functions
/// and their statements as observed (its routes' invoke permissions).
pub fn plan(
    model: &Model,
    search: &ApiSearch,
    observed: &ObservedStatements,
    values: &Values,
    mode: Resolve,
) -> Result<Node, Blocker> {
    let stack = &model.stack;
    let Some(api) = &stack.api else {
        return Err(Blocker::new("api", "not declared in stack.yaml"));
    };
    let target = model.target;
    if mode == Resolve::Strict {
        for authorizer in api.authorizers.values() {
            let reference = Reference::UserPoolArn {
                pool: authorizer.user_pool.clone(),
            };
            if values.get(stack, target, &reference).is_none() {
                return Err(Blocker::unresolved("api", Unresolved(reference)));
            }
        }
    }
    let desired = DesiredApi::new(
        api,
        &target.partition,
        &target.region,
        |f| {
            stack
                .functions
                .get(f)
                .map(|spec| target.lambda_arn(&spec.physical_name))
                .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_owned())
        },
        |p| {
            values
                .pools
                .get(p)
                .map(|v| v.arn.clone())
                .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_owned())
        },
    );
    let desired = DesiredApi {
        tags: stack.tags.clone(),
        // (None: the API's and the stage's tags are not managed.)
        ..desired
    };
    let owned = search.owned.as_ref();
    if owned.is_none() && search.foreign.iter().any(|(_, owner)| owner.is_none()) {
        // Most likely the stack's own API whose tag was removed: a second one would give the
        // stack a new URL and leave apps calling the old one.
        return Err(untagged_in_the_way(
            "api",
            "REST API",
            &stack.name,
            search
                .foreign
                .iter()
                .filter(|(_, owner)| owner.is_none())
                .map(|(id, _)| (id.as_str(), api.physical_name.as_str())),
        ));
    }
    let changes = super::diff(owned, &desired);
    let api_id = values
        .api_id
        .clone()
        .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_owned());
    Ok(Node {
        desired: Box::new(desired),
        live: owned.cloned().map(Box::new),
        changes,
        foreign: search.foreign.iter().map(|(id, _)| id.clone()).collect(),
        permissions: permissions::for_api(model, observed, &api_id),
        observed: observed.clone(),
    })
}

impl Planned for Node {
    fn entries(&self, model: &Model) -> Vec<Entry> {
        let (desired, changes) = (&self.desired, &self.changes);
        let api_name = match &self.live {
            Some(api) => format!("{} ({})", api.name, api.id),
            None => desired.name.clone(),
        };
        let mut api_entry = Entry::new("api", Kind::RestApi, api_name, changes.api.clone());
        if !self.foreign.is_empty() {
            api_entry = api_entry.with_note(format!(
                "other REST APIs named `{}` without this stack's tag are left alone: {}",
                desired.name,
                self.foreign.join(", ")
            ));
        }
        let mut entries = vec![api_entry];
        for (name, action) in &changes.authorizers {
            entries.push(Entry::new(
                format!("api.authorizers.{name}"),
                Kind::ApiAuthorizer,
                name.clone(),
                action.clone(),
            ));
        }
        for (path, action) in &changes.resources {
            entries.push(Entry::new(
                format!("api.resources.{path}"),
                Kind::ApiResource,
                path.clone(),
                action.clone(),
            ));
        }
        for ((path, method), action) in &changes.routes {
            entries.push(Entry::new(
                format!("api.routes.{method} {path}"),
                Kind::ApiMethod,
                format!("{method} {path}"),
                action.clone(),
            ));
        }
        for (kind, action) in &changes.gateway_responses {
            entries.push(Entry::new(
                format!("api.gatewayResponses.{kind}"),
                Kind::ApiGatewayResponse,
                kind.clone(),
                action.clone(),
            ));
        }
        for (function, permission) in &self.permissions {
            entries.push(permission.entry(model, function));
        }
        if changes.deployment.is_some() {
            entries.push(
                Entry::new(
                    "api.deployment",
                    Kind::ApiDeployment,
                    format!("for stage {}", desired.stage),
                    Action::Create,
                )
                .with_note(deployment_reason(self.live.is_some(), changes)),
            );
        }
        entries.push(Entry::new(
            format!("api.stages.{}", desired.stage),
            Kind::ApiStage,
            desired.stage.clone(),
            changes.stage.clone(),
        ));
        entries
    }

    fn forget(&self, _values: &mut Values) {
        // Its id is looked up when its permissions are applied; nothing planned after it refers to it.
    }

    /// Applies the API, waiting through `waits` for each function its routes call only before
    /// that route's integration and that function's statements.
    async fn apply(
        &self,
        ctx: &Context,
        values: &std::sync::Mutex<Values>,
        waits: &dag::Waits,
    ) -> anyhow::Result<()> {
        let (client, pacer) = (&ctx.clients.apigateway, &ctx.pacer);
        let created;
        let live = match &self.live {
            Some(live) => live.as_ref(),
            None => {
                // A call of the coordinator's: it takes one of the run's slots.
                let _slot = waits.slot().await.context("api: creating")?;
                created = super::create(client, pacer, &ctx.stack.name, &self.desired)
                    .await
                    .context("api: creating")?;
                &created
            }
        };
        lock(values).api_id = Some(live.id.clone());
        // Planned before the API had an id, maybe: the statements name it.
        let planned = match &self.live {
            Some(_) => self.permissions.clone(),
            None => permissions::for_api(&ctx.model(), &self.observed, &live.id),
        };
        let function = |name: &str| ResourceId::Function {
            function: name.to_owned(),
        };
        let go_on = || waits.go_on().map_err(Into::into);
        let ready = |name: &str| -> BoxFuture<'static, Result<(), _>> {
            let (waits, id) = (waits.clone(), function(name));
            Box::pin(async move { waits.finished(&id).await.map_err(Into::into) })
        };
        // Each call takes one of the run's slots (`--concurrency`): the API is a coordinator.
        let slots = waits.slots();
        // The invoke permissions need the API's id and their function: the ones the new stage
        // invokes through go in while the API's parts are put, before the stage moves; the ones
        // only the old stage invoked through go after it moved.
        let (before, after): (BTreeMap<_, _>, BTreeMap<_, _>) = planned
            .iter()
            .map(|(name, plan)| {
                let (before, after) = plan.split();
                ((name.clone(), before), (name.clone(), after))
            })
            .unzip();
        let (granted_tx, granted_rx) = tokio::sync::watch::channel(false);
        let granted = || -> BoxFuture<'static, Result<(), _>> {
            let mut granted = granted_rx.clone();
            Box::pin(async move {
                granted
                    .wait_for(|done| *done)
                    .await
                    .map(drop)
                    .map_err(|_| "the invoke permissions were not all put".into())
            })
        };
        let parts = async {
            super::apply(
                client,
                pacer,
                &ctx.stack.name,
                live,
                &self.desired,
                &self.changes,
                super::Schedule {
                    slots,
                    go_on: &go_on,
                    ready: &ready,
                    granted: &granted,
                },
            )
            .await
            .context("api: applying")
        };
        let statements = |plans: BTreeMap<String, PermissionPlan>| {
            try_join_all(plans.into_iter().map(|(name, plan)| async move {
                if plan.changes.is_empty() {
                    return Ok(());
                }
                waits
                    .finished(&function(&name))
                    .await
                    .with_context(|| format!("functions.{name}.permissions: updating"))?;
                let _slot = waits
                    .slot()
                    .await
                    .with_context(|| format!("functions.{name}.permissions: updating"))?;
                plan.apply(ctx, &name).await
            }))
        };
        let granting = async {
            statements(before).await?;
            granted_tx.send_replace(true);
            anyhow::Ok(())
        };
        tokio::try_join!(parts, granting)?;
        statements(after).await?;
        Ok(())
    }
}

/// Why the API is deployed again, in terms of stack.yaml: the routes that change.
fn deployment_reason(api_exists: bool, changes: &ApiChanges) -> String {
    let routes: Vec<String> = changes
        .routes
        .iter()
        .filter(|(_, action)| **action != Action::NoOp)
        .map(|((path, method), action)| {
            let verb = match action {
                Action::Create => "added",
                Action::Delete => "removed",
                Action::Update { .. } | Action::Replace { .. } | Action::NoOp => "changed",
            };
            format!("{method} {path} {verb}")
        })
        .collect();
    let authorizers = changes
        .authorizers
        .values()
        .any(|action| *action != Action::NoOp);
    match (api_exists, routes.is_empty(), authorizers) {
        (false, _, _) => format!("first deployment: {} routes", changes.routes.len()),
        (true, false, _) => routes.join(", "),
        (true, true, true) => "an authorizer changes".to_owned(),
        (true, true, false) => {
            "the stage serves an older shape of the API, or its working copy was repaired"
                .to_owned()
        }
    }
}

/// `found`: the stack's API as observed.
pub fn down(found: Option<&LiveApi>) -> Vec<DownStep> {
    match found {
        None => vec![DownStep::Absent],
        // Its parts, deployments and stage go with it.
        Some(api) => vec![DownStep::Delete(Entry::new(
            "api",
            Kind::RestApi,
            format!("{} ({})", api.name, api.id),
            Action::Delete,
        ))],
    }
}

pub async fn delete(ctx: &Context, found: Option<&LiveApi>) -> anyhow::Result<()> {
    if let Some(api) = found {
        super::delete(&ctx.clients.apigateway, &ctx.pacer, &api.name, &api.id).await?;
    }
    Ok(())
}

pub async fn delete_leftover(ctx: &Context, leftover: &Leftover) -> anyhow::Result<()> {
    let Some(id) = &leftover.id else {
        anyhow::bail!("a REST API left over without its id");
    };
    super::delete(&ctx.clients.apigateway, &ctx.pacer, &leftover.name, id).await?;
    Ok(())
}

/// `adopt`: tags the REST API whose ARN is `arn` (found by the stack's name, without its tag) as
/// `stack`'s with TagResource. Nothing else about it changes; the next `up` reconciles its parts.
pub async fn adopt(
    client: &aws_sdk_apigateway::Client,
    pacer: &super::Pacer,
    arn: &str,
    stack: &str,
) -> anyhow::Result<()> {
    pacer.wait(crate::pace::Quotas::General).await;
    client
        .tag_resource()
        .resource_arn(arn)
        .tags(crate::spec::OWNERSHIP_TAG, stack)
        .send()
        .await
        .with_context(|| format!("failed to tag REST API `{arn}`"))?;
    Ok(())
}
