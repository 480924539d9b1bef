//! The plan's cost model, for the benchmarks (`criticalPath` and `runCriticalPath` in `diff
//! --json`): how many calls applying each node takes one after another. Kept apart from the
//! kinds, which it only reads: a node's calls are decided by its typed change. The benchmarks
//! print it beside the calls a run made, which `--json` counts.

use crate::kinds::function::unit::FunctionWork;
use crate::kinds::rest_api;
use crate::kinds::role::unit::RoleWork;
use crate::kinds::user_pool::unit::PoolChange;
use crate::kinds::user_pool_client::unit::ClientChange;
use crate::plan::Action;

use super::units::NodePlan;

/// How many calls applying `node` takes, one after another.
pub fn calls(node: &NodePlan) -> usize {
    match node {
        NodePlan::Pool(node) => match &node.change {
            PoolChange::None => 0,
            PoolChange::Create | PoolChange::Update(_) => 1,
            // Protection lifted (one update), delete, create.
            PoolChange::Replace(live) => 2 + usize::from(live.settings.deletion_protection),
        },
        NodePlan::Client(node) => match node.change {
            ClientChange::None => 0,
            ClientChange::Create | ClientChange::Update(_) => 1,
            ClientChange::Replace(_) => 2,
        },
        NodePlan::Role(node) => match &node.work {
            RoleWork::None => 0,
            // CreateRole, then each policy attached or put.
            RoleWork::Create => {
                1 + node.desired.managed_policies.len() + node.desired.inline_policies.len()
            }
            RoleWork::Update(changes) => changes.len(),
        },
        NodePlan::LogGroup(node) => match &node.live {
            // CreateLogGroup, PutRetentionPolicy.
            None => 2,
            Some(_) => node.changes.len(),
        },
        NodePlan::Function(node) => {
            let function = match &node.work {
                FunctionWork::None => 0,
                FunctionWork::Create => 2,
                // DeleteFunction, then as a create.
                FunctionWork::Replace => 3,
                FunctionWork::Update(changes) => 2 * changes.len(),
            };
            function + node.permissions.as_ref().map_or(0, |p| p.changes.len())
        }
        // The groups, each function's statement, then DescribeUserPool and UpdateUserPool.
        NodePlan::Triggers(node) => {
            let statements: usize = node.permissions.values().map(|p| p.changes.len()).sum();
            let config = if node.live == node.desired { 0 } else { 2 };
            node.missing_groups.len() + statements + config
        }
        NodePlan::Api(node) => api_calls(node),
    }
}

/// How many of [`calls`] come after what the node waits for part-way through its apply
/// (`units::awaited_in_apply`), one after another.
pub fn calls_after_awaits(node: &NodePlan) -> usize {
    match node {
        // After the functions its routes call are ready: an integration, the resources that go,
        // the deployment and the stage; or a function's statements, if longer.
        NodePlan::Api(node) => {
            let integration = node
                .changes
                .routes
                .values()
                .any(|action| matches!(action, Action::Create | Action::Update { .. }));
            (usize::from(integration) + closing(node)).max(statements(node))
        }
        NodePlan::Pool(_)
        | NodePlan::Client(_)
        | NodePlan::Role(_)
        | NodePlan::LogGroup(_)
        | NodePlan::Function(_)
        | NodePlan::Triggers(_) => 0,
    }
}

fn api_calls(node: &rest_api::unit::Node) -> usize {
    let changes = &node.changes;
    let create = usize::from(node.live.is_none());
    let reputs = changes
        .route_changes
        .values()
        .any(|typed| typed.contains(&rest_api::RouteChange::Method))
        || changes.routes.values().any(|a| *a == Action::Delete);
    let authorizers = changes
        .authorizers
        .values()
        .filter(|a| **a != Action::NoOp)
        .count();
    let route = changes
        .routes
        .iter()
        .map(|(key, action)| match action {
            Action::Create => 2,
            Action::Update { .. } => {
                let method = changes
                    .route_changes
                    .get(key)
                    .is_some_and(|typed| typed.contains(&rest_api::RouteChange::Method));
                1 + usize::from(method)
            }
            Action::Delete | Action::Replace { .. } | Action::NoOp => 0,
        })
        .max()
        .unwrap_or(0);
    // The authorizers are made while the resources are created; a method waits for both.
    let parts = usize::from(reputs)
        + authorizers.max(levels(node, &Action::Create))
        + route
        + closing(node);
    create + parts.max(statements(node))
}

/// The API's calls once every route is put, one after another: the resources that go (a level
/// at a time), the deployment, the stage.
fn closing(node: &rest_api::unit::Node) -> usize {
    let changes = &node.changes;
    levels(node, &Action::Delete)
        + usize::from(changes.deployment.is_some())
        + usize::from(changes.stage != Action::NoOp)
}

/// The most calls one function's statements take (one after another); functions at once.
fn statements(node: &rest_api::unit::Node) -> usize {
    node.permissions
        .values()
        .map(|p| p.changes.len())
        .max()
        .unwrap_or(0)
}

/// How many levels of the resource tree have resources with `wanted` (each level's go at once).
fn levels(node: &rest_api::unit::Node, wanted: &Action) -> usize {
    node.changes
        .resources
        .iter()
        .filter(|(_, action)| *action == wanted)
        .map(|(path, _)| path.matches('/').count())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}
