//! One node per resource of `Stack::order`: what it should be (references resolved with the
//! values known so far), the diff against what was observed, the plan entries that show it, and
//! the calls that apply it. `diff` and `up` share this code, so what is shown is what is done.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use futures_util::future::try_join_all;

mod apply;
mod entries;

pub use apply::apply;

use super::observe::foreign;
use super::{Context, Live, Model, PoolValues, Resolve, Unresolved, Values};
use crate::kinds::function::{FunctionChanges, FunctionSettings, LiveFunction};
use crate::kinds::log_group::LiveLogGroup;
use crate::kinds::permission::{self, Grants};
use crate::kinds::rest_api::{self, ApiChanges, DesiredApi, KNOWN_AFTER_APPLY, LiveApi};
use crate::kinds::role::{LiveRole, RoleSettings};
use crate::kinds::user_pool::{self, LivePool, PoolSettings};
use crate::kinds::user_pool_client::{self, ClientSettings, LiveClient};
use crate::kinds::{function, log_group, role};
use crate::plan::{Action, Entry, FieldChange};
use crate::spec::{OWNERSHIP_TAG, ResourceId, Stack};

/// A node's plan: observed state, desired state and the action between them.
#[derive(Debug, Clone)]
pub enum NodePlan {
    Pool {
        name: String,
        live: Option<Box<LivePool>>,
        action: Action,
        foreign: Vec<String>,
    },
    Client {
        pool: String,
        client: String,
        /// The pool it goes into (None while the pool does not exist).
        pool_id: Option<String>,
        live: Option<LiveClient>,
        action: Action,
    },
    Role {
        function: String,
        desired: Box<RoleSettings>,
        live: Option<Box<LiveRole>>,
        action: Action,
    },
    Function {
        function: String,
        log_group: Option<Box<LiveLogGroup>>,
        log_action: Action,
        /// What applying `log_action` takes (an update only).
        log_changes: BTreeSet<LogGroupChange>,
        desired: Box<FunctionSettings>,
        live: Option<Box<LiveFunction>>,
        action: Action,
        /// What applying `action` takes (an update only).
        changes: FunctionChanges,
        /// Its invoke permissions, when the stack has no API (the API node manages them).
        permissions: Option<PermissionPlan>,
    },
    Api {
        desired: Box<DesiredApi>,
        live: Option<Box<LiveApi>>,
        changes: ApiChanges,
        foreign: Vec<String>,
        permissions: BTreeMap<String, PermissionPlan>,
    },
}

/// What applying a log group's update takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogGroupChange {
    /// Tag an untagged group of our function's (Lambda created it on a first invocation).
    Adopt,
    /// PutRetentionPolicy.
    Retention,
}

#[derive(Debug, Clone)]
pub struct PermissionPlan {
    pub live: Grants,
    pub desired: Grants,
    pub action: Action,
}

/// Something in the way: a foreign resource where the stack needs its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Blocker(pub String);

/// A resource of `kind` named `name` is in the way, and it is not `stack`'s.
fn blocker(address: &str, kind: &str, name: &str, stack: &Stack, owner: Option<&str>) -> Blocker {
    Blocker(format!(
        "{address}: {}",
        foreign(kind, name, &stack.name, owner)
    ))
}

fn unresolved(address: &str, err: Unresolved) -> Blocker {
    Blocker(format!("{address}: {err}"))
}

/// Plans one node from what was observed and the values known now.
pub fn plan(
    ctx: &Model,
    live: &Live,
    values: &Values,
    id: &ResourceId,
    mode: Resolve,
) -> Result<NodePlan, Blocker> {
    let stack = &ctx.stack;
    match id {
        ResourceId::UserPool { pool } => {
            let spec = &stack.user_pools[pool];
            let search = live.pools.get(pool).cloned().unwrap_or_default();
            let action = match &search.owned {
                None => Action::Create,
                Some(found) => user_pool::diff(&found.settings, &PoolSettings::desired(spec)),
            };
            Ok(NodePlan::Pool {
                name: pool.clone(),
                live: search.owned.map(Box::new),
                action,
                foreign: search.foreign,
            })
        }
        ResourceId::UserPoolClient { pool, client } => {
            let spec = &stack.user_pools[pool].clients[client];
            let observed_pool = live.pools.get(pool).and_then(|s| s.owned.as_ref());
            let pool_id = values.pools.get(pool).map(|p| p.id.clone());
            // A client observed in a pool that is being replaced goes with it.
            let found = match (observed_pool, &pool_id) {
                (Some(observed), Some(current)) if observed.id == *current => live
                    .clients
                    .get(&(pool.clone(), client.clone()))
                    .cloned()
                    .flatten(),
                _ => None,
            };
            let action = match &found {
                None => Action::Create,
                Some(found) => {
                    user_pool_client::diff(&found.settings, &ClientSettings::desired(spec))
                }
            };
            Ok(NodePlan::Client {
                pool: pool.clone(),
                client: client.clone(),
                pool_id,
                live: found,
                action,
            })
        }
        ResourceId::Role { function } => {
            let spec = &stack.functions[function];
            let address = format!("functions.{function}.role");
            let inline =
                role::inline_policy(&spec.allow, |reference| ctx.value(values, reference, mode))
                    .map_err(|err| unresolved(&address, Unresolved(err.0)))?;
            let desired = RoleSettings::desired(inline, &ctx.target.partition);
            let found = live.roles.get(function).cloned().flatten();
            let action = match &found {
                None => Action::Create,
                Some(found) if !found.owned_by(&stack.name) => {
                    return Err(blocker(
                        &address,
                        "IAM role",
                        &spec.role_name,
                        stack,
                        found.owner.as_deref(),
                    ));
                }
                Some(found) => role::diff(&found.settings, &desired),
            };
            Ok(NodePlan::Role {
                function: function.clone(),
                desired: Box::new(desired),
                live: found.map(Box::new),
                action,
            })
        }
        ResourceId::Function { function } => {
            let spec = &stack.functions[function];
            let address = format!("functions.{function}");
            let mut environment = BTreeMap::new();
            for (key, template) in &spec.environment {
                let value = ctx
                    .render(values, template, mode)
                    .map_err(|err| unresolved(&address, err))?;
                environment.insert(key.clone(), value);
            }
            let code = ctx
                .code
                .get(function)
                .map(|c| c.sha256.clone())
                .unwrap_or_default();
            let desired = FunctionSettings::desired(
                spec,
                environment,
                &ctx.target.role_arn(&spec.role_name),
                &code,
            );
            let found = live.functions.get(function).cloned().flatten();
            let action = match &found {
                None => (Action::Create, FunctionChanges::new()),
                Some(found) if !found.owned_by(&stack.name) => {
                    return Err(blocker(
                        &address,
                        "Lambda function",
                        &spec.physical_name,
                        stack,
                        found.owner.as_deref(),
                    ));
                }
                Some(found) => function::diff(&found.settings, &desired),
            };
            let (action, changes) = action;
            let group = live.log_groups.get(function).cloned().flatten();
            let retention = i32::try_from(spec.log_retention_days).unwrap_or(i32::MAX);
            let mut log_changes = BTreeSet::new();
            let log_action = match &group {
                None => Action::Create,
                Some(group) if group.owned_by(&stack.name) => {
                    let action = log_group::diff(group.retention_days, retention);
                    if action != Action::NoOp {
                        log_changes.insert(LogGroupChange::Retention);
                    }
                    action
                }
                // Lambda creates the group untagged on a first invocation: a group named after
                // a function of ours that carries our tag is that function's, and is adopted.
                Some(group)
                    if !group.tags.contains_key(OWNERSHIP_TAG)
                        && found.as_ref().is_some_and(|f| f.owned_by(&stack.name)) =>
                {
                    log_changes.insert(LogGroupChange::Adopt);
                    let mut changes = vec![FieldChange {
                        field: "owner",
                        live: "untagged (created by Lambda)".to_owned(),
                        desired: format!("{OWNERSHIP_TAG}={}", stack.name),
                        forces_replacement: false,
                    }];
                    if let Action::Update { changes: more } =
                        log_group::diff(group.retention_days, retention)
                    {
                        log_changes.insert(LogGroupChange::Retention);
                        changes.extend(more);
                    }
                    Action::Update { changes }
                }
                Some(_) => Action::NoOp,
            };
            let permissions = if stack.api.is_none() {
                let live_grants = live.permissions.get(function).cloned().unwrap_or_default();
                let desired_grants = Grants::new();
                Some(PermissionPlan {
                    action: permission::diff(&live_grants, &desired_grants),
                    live: live_grants,
                    desired: desired_grants,
                })
            } else {
                None
            };
            Ok(NodePlan::Function {
                function: function.clone(),
                log_group: group.map(Box::new),
                log_action,
                log_changes,
                changes,
                desired: Box::new(desired),
                live: found.map(Box::new),
                action,
                permissions,
            })
        }
        ResourceId::Api => {
            let Some(api) = &stack.api else {
                return Err(Blocker("api: not declared in stack.yaml".to_owned()));
            };
            let target = &ctx.target;
            if mode == Resolve::Strict {
                for authorizer in api.authorizers.values() {
                    let reference = crate::spec::Reference::UserPoolArn {
                        pool: authorizer.user_pool.clone(),
                    };
                    if values.get(stack, target, &reference).is_none() {
                        return Err(unresolved("api", Unresolved(reference)));
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
            let owned = live.api.owned.as_ref();
            let changes = rest_api::diff(owned, &desired);
            let api_id = values
                .api_id
                .clone()
                .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_owned());
            let permissions = api_permissions(ctx, live, &api_id);
            Ok(NodePlan::Api {
                desired: Box::new(desired),
                live: owned.cloned().map(Box::new),
                changes,
                foreign: live.api.foreign.clone(),
                permissions,
            })
        }
    }
}

/// Per function, the statements the API's routes need, given the API's id.
fn api_permissions(ctx: &Model, live: &Live, api_id: &str) -> BTreeMap<String, PermissionPlan> {
    let target = &ctx.target;
    let routes = ctx
        .stack
        .api
        .as_ref()
        .map(|api| api.routes.as_slice())
        .unwrap_or_default();
    ctx.stack
        .functions
        .keys()
        .map(|name| {
            let desired = permission::desired(
                routes.iter().filter(|r| r.function == *name),
                target,
                api_id,
            );
            // A function created in this run has no statements yet: they are created with it
            // (a cold stack shows creates only). A live function's are diffed one by one.
            let live_grants = live.permissions.get(name).cloned().unwrap_or_default();
            let function_exists = live.functions.get(name).is_some_and(Option::is_some);
            let action = if !function_exists && !desired.is_empty() {
                Action::Create
            } else {
                permission::diff(&live_grants, &desired)
            };
            (
                name.clone(),
                PermissionPlan {
                    action,
                    live: live_grants,
                    desired,
                },
            )
        })
        .collect()
}

fn read_zip(ctx: &Context, function: &str) -> anyhow::Result<Vec<u8>> {
    let code = ctx
        .code
        .get(function)
        .with_context(|| format!("functions.{function}: no package was built"))?;
    std::fs::read(&code.zip).with_context(|| format!("failed to read `{}`", code.zip.display()))
}

pub(crate) fn lock(values: &std::sync::Mutex<Values>) -> std::sync::MutexGuard<'_, Values> {
    values.lock().unwrap_or_else(|e| e.into_inner())
}
