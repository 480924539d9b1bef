//! The flows of `diff`, `up` and `down` over observe, plan and apply. No printing of results here
//! (commands hand them to `output`); progress lines go through `output::status`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;

use super::nodes::{self, NodePlan, lock};
use super::{Context, Live, Model, Resolve, Values, dag};
use crate::kinds::{function, log_group, rest_api, role, user_pool, user_pool_client};
use crate::plan::{Action, Entry, Kind, Plan, Summary};
use crate::report::{DownReport, Incomplete, Outputs, PoolOutputs, UpReport};
use crate::spec::{Removal, ResourceId};

/// The plan for `up`: every node in dependency order, with what cannot be known before applying
/// shown as `(known after apply)`.
pub fn plan_up(ctx: &Model, live: &Live) -> Plan {
    let mut values = Values::from_live(live);
    let mut entries = Vec::new();
    let mut blockers = Vec::new();
    for id in &ctx.stack.order {
        match nodes::plan(ctx, live, &values, id, Resolve::Lenient) {
            Ok(node) => {
                forget_replaced(&mut values, &node);
                entries.extend(node.entries(ctx));
            }
            Err(blocker) => blockers.push(blocker.0),
        }
    }
    entries.extend(undeclared(ctx, live).into_iter().map(|(entry, _)| entry));
    Plan::new(&ctx.stack.name, ctx.target, entries, blockers)
}

/// Something of this stack's that stack.yaml no longer declares.
#[derive(Debug, Clone)]
enum Undeclared {
    Api {
        id: String,
        name: String,
    },
    Function(String),
    LogGroup(String),
    Role(String),
    Client {
        pool_id: String,
        client: user_pool_client::LiveClient,
    },
    /// Kept: it holds users' data.
    Pool,
}

/// The logical name a physical name of this stack stands for (`auth-demo-old` -> `old`).
fn logical<'a>(ctx: &Model, physical: &'a str) -> &'a str {
    physical
        .strip_prefix(&format!("{}-", ctx.stack.name))
        .unwrap_or(physical)
}

/// Entries (and what to delete) for everything of this stack's that stack.yaml no longer declares,
/// in the order they can go: the API, functions, their log groups and roles, app clients.
fn undeclared(ctx: &Model, live: &Live) -> Vec<(Entry, Undeclared)> {
    const GONE: &str = "no longer in stack.yaml";
    let found = &live.undeclared;
    let mut out = Vec::new();
    // Every kind, in the order they can go (the reverse of creation): the match is exhaustive, so
    // a new kind cannot be added without deciding what of it can be left over.
    for kind in Kind::ALL.iter().rev() {
        match kind {
            Kind::RestApi => {
                for (id, name) in &live.api.undeclared {
                    out.push((
                        Entry::new(
                            format!("api ({name})"),
                            Kind::RestApi,
                            format!("{name} ({id})"),
                            Action::Delete,
                        )
                        .with_note(GONE),
                        Undeclared::Api {
                            id: id.clone(),
                            name: name.clone(),
                        },
                    ));
                }
            }
            Kind::LambdaFunction => {
                for name in &found.functions {
                    out.push((
                        Entry::new(
                            format!("functions.{}", logical(ctx, name)),
                            Kind::LambdaFunction,
                            name.clone(),
                            Action::Delete,
                        )
                        .with_note(GONE),
                        Undeclared::Function(name.clone()),
                    ));
                }
            }
            Kind::LogGroup => {
                for name in &found.log_groups {
                    let function = name.rsplit('/').next().unwrap_or(name);
                    out.push((
                        Entry::new(
                            format!("functions.{}.logGroup", logical(ctx, function)),
                            Kind::LogGroup,
                            name.clone(),
                            Action::Delete,
                        )
                        .with_note(GONE),
                        Undeclared::LogGroup(name.clone()),
                    ));
                }
            }
            Kind::IamRole => {
                for name in &found.roles {
                    let function = name.strip_suffix("-role").unwrap_or(name);
                    out.push((
                        Entry::new(
                            format!("functions.{}.role", logical(ctx, function)),
                            Kind::IamRole,
                            name.clone(),
                            Action::Delete,
                        )
                        .with_note(GONE),
                        Undeclared::Role(name.clone()),
                    ));
                }
            }
            Kind::UserPoolClient => {
                for (pool_id, client) in &found.clients {
                    let pool = live
                        .pools
                        .iter()
                        .find(|(_, s)| s.owned.as_ref().is_some_and(|p| p.id == *pool_id))
                        .map_or("?", |(name, _)| name.as_str());
                    out.push((
                        Entry::new(
                            format!("userPools.{pool}.clients.{}", logical(ctx, &client.name)),
                            Kind::UserPoolClient,
                            format!("{} ({})", client.name, client.id),
                            Action::Delete,
                        )
                        .with_note(GONE),
                        Undeclared::Client {
                            pool_id: pool_id.clone(),
                            client: client.clone(),
                        },
                    ));
                }
            }
            Kind::UserPool => {
                for (id, name) in &found.pools {
                    out.push((
                    Entry::new(
                        format!("userPools.{}", logical(ctx, name)),
                        Kind::UserPool,
                        format!("{name} ({id})"),
                        Action::NoOp,
                    )
                    .with_note(
                        "no longer in stack.yaml, and kept: it holds users' data; declare it again with `removal: delete` and run `down` to delete it",
                    ),
                    Undeclared::Pool,
                ));
                }
            }
            // Parts of the API, and a function's permissions, go with the API or the function.
            Kind::ApiAuthorizer
            | Kind::ApiResource
            | Kind::ApiMethod
            | Kind::ApiDeployment
            | Kind::ApiStage
            | Kind::LambdaPermissions => {}
        }
    }
    out
}

/// Deletes what stack.yaml no longer declares (pools excepted), in order; reports each.
async fn delete_undeclared(ctx: &Context, live: &Live) -> anyhow::Result<Vec<Entry>> {
    let clients = &ctx.clients;
    let mut done = Vec::new();
    for (entry, item) in undeclared(&ctx.model(), live) {
        let started = Instant::now();
        let result: anyhow::Result<()> = match &item {
            Undeclared::Pool => continue,
            Undeclared::Api { id, name } => {
                rest_api::delete(&clients.apigateway, &ctx.pacer, name, id)
                    .await
                    .map_err(Into::into)
            }
            Undeclared::Function(name) => function::delete(&clients.lambda, name)
                .await
                .map_err(Into::into),
            Undeclared::LogGroup(name) => log_group::delete(&clients.logs, name)
                .await
                .map_err(Into::into),
            Undeclared::Role(name) => role::delete(&clients.iam, name).await.map_err(Into::into),
            Undeclared::Client { pool_id, client } => {
                user_pool_client::delete(&clients.cognito, pool_id, client)
                    .await
                    .map_err(Into::into)
            }
        };
        result.with_context(|| format!("{}: deleting", entry.address))?;
        ctx.progress.applied(&entry, started.elapsed());
        done.push(entry);
    }
    Ok(done)
}

/// What a node will create anew has no value yet for those planned after it.
fn forget_replaced(values: &mut Values, node: &NodePlan) {
    match node {
        NodePlan::Pool {
            name,
            action: Action::Create | Action::Replace { .. },
            ..
        } => {
            values.pools.remove(name);
            values.clients.remove(name);
        }
        NodePlan::Client {
            pool,
            client,
            action: Action::Create | Action::Replace { .. },
            ..
        } => {
            if let Some(clients) = values.clients.get_mut(pool) {
                clients.remove(client);
            }
        }
        _ => {}
    }
}

/// Replacements of pools and clients that `--allow-replace` does not name: each loses data or
/// breaks apps, so `up` refuses them.
pub fn unallowed_replacements<'p>(plan: &'p Plan, allowed: &[String]) -> Vec<&'p Entry> {
    plan.replacements()
        .filter(|entry| matches!(entry.kind, Kind::UserPool | Kind::UserPoolClient))
        .filter(|entry| {
            let logical = entry.address.rsplit('.').next().unwrap_or(&entry.address);
            !allowed
                .iter()
                .any(|name| name == logical || *name == entry.address)
        })
        .collect()
}

/// The outputs of a stack whose values are `values`.
fn outputs_from_values(ctx: &Model, values: &Values) -> Outputs {
    let mut outputs = Outputs {
        api_id: values.api_id.clone(),
        api_url: match (&values.api_id, &ctx.stack.api) {
            (Some(id), Some(api)) => Some(ctx.target.api_url(id, &api.stage)),
            _ => None,
        },
        ..Outputs::default()
    };
    for (name, pool) in &values.pools {
        outputs.user_pools.insert(
            name.clone(),
            PoolOutputs {
                id: pool.id.clone(),
                arn: pool.arn.clone(),
                clients: values.clients.get(name).cloned().unwrap_or_default(),
            },
        );
    }
    if let [(_, pool)] = outputs.user_pools.iter().collect::<Vec<_>>().as_slice() {
        outputs.user_pool_id = Some(pool.id.clone());
        outputs.user_pool_arn = Some(pool.arn.clone());
        if let [(_, client)] = pool.clients.iter().collect::<Vec<_>>().as_slice() {
            outputs.user_pool_client_id = Some((*client).clone());
        }
    }
    outputs
}

fn incomplete(outcome: dag::Outcome, total: usize) -> anyhow::Error {
    let failed: Vec<String> = outcome
        .failed
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    let not_started: Vec<String> = outcome
        .not_started
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut failures = outcome.failed.into_iter();
    let first = failures
        .next()
        .map(|(_, err)| err)
        .unwrap_or_else(|| anyhow::anyhow!("no failure recorded"));
    Incomplete {
        done: outcome.done.len(),
        total,
        failed,
        not_started,
        first,
    }
    .into()
}

/// Applies the stack: every node in dependency order, `concurrency` at a time.
pub async fn apply_up(
    ctx: Arc<Context>,
    live: Arc<Live>,
    concurrency: usize,
    started: Instant,
) -> anyhow::Result<UpReport> {
    let values = Arc::new(Mutex::new(Values::from_live(&live)));
    let applied: Arc<Mutex<Vec<Entry>>> = Arc::default();
    let needs = ctx.stack.needs();
    let order = ctx.stack.order.clone();
    let outcome = dag::run(&order, &needs, concurrency, |id| {
        let (ctx, live, values, applied) =
            (ctx.clone(), live.clone(), values.clone(), applied.clone());
        async move {
            let snapshot = lock(&values).clone();
            let node = nodes::plan(&ctx.model(), &live, &snapshot, &id, Resolve::Strict)?;
            let changing: Vec<Entry> = node
                .entries(&ctx.model())
                .into_iter()
                .filter(|e| e.action != Action::NoOp)
                .collect();
            if changing.is_empty() {
                return Ok(());
            }
            let node_started = Instant::now();
            nodes::apply(&ctx, &live, &node, &values).await?;
            for entry in &changing {
                ctx.progress.applied(entry, node_started.elapsed());
            }
            guard(&applied).extend(changing);
            Ok(())
        }
    })
    .await;
    if !outcome.failed.is_empty() {
        return Err(incomplete(outcome, order.len()));
    }
    let removed = delete_undeclared(&ctx, &live)
        .await
        .context("deleting what stack.yaml no longer declares")?;
    let values = lock(&values).clone();
    let mut changes = guard(&applied).clone();
    changes.extend(removed);
    Ok(UpReport {
        outputs: outputs_from_values(&ctx.model(), &values),
        summary: Summary::of(&changes),
        changes,
        calls: ctx.clients.calls.snapshot(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The list behind a lock shared by the tasks of a run (a task that panicked left it usable).
fn guard(entries: &Mutex<Vec<Entry>>) -> std::sync::MutexGuard<'_, Vec<Entry>> {
    entries.lock().unwrap_or_else(|e| e.into_inner())
}

/// Outputs of a stack as it is live (for a no-op `up`).
pub fn outputs(ctx: &Model, live: &Live) -> Outputs {
    outputs_from_values(ctx, &Values::from_live(live))
}

/// What `down` does to one resource.
#[derive(Debug, Clone)]
enum DownStep {
    /// Nothing of ours is there.
    Absent,
    /// Ours, kept: the entry explains why.
    Keep(Entry),
    Delete(Entry),
}

/// Whether the pool's data goes: stack.yaml's `removal: delete`, or `--delete-data`.
fn deletes_data(ctx: &Model, pool: &str, delete_data: bool) -> bool {
    delete_data || ctx.stack.user_pools[pool].removal == Removal::Delete
}

fn down_steps(ctx: &Model, live: &Live, id: &ResourceId, delete_data: bool) -> Vec<DownStep> {
    let stack = &ctx.stack;
    let retained_note = |pool: &str| {
        format!(
            "it holds users' data: kept, deletion protection on; `removal: delete` for pool `{pool}` in stack.yaml, or `--delete-data`, deletes it; the next `up` adopts it"
        )
    };
    match id {
        ResourceId::UserPool { pool } => {
            let Some(found) = live.pools.get(pool).and_then(|s| s.owned.as_ref()) else {
                return vec![DownStep::Absent];
            };
            let entry = Entry::new(
                format!("userPools.{pool}"),
                Kind::UserPool,
                format!("{} ({})", found.name, found.id),
                Action::Delete,
            );
            if deletes_data(ctx, pool, delete_data) {
                vec![DownStep::Delete(
                    entry.with_note("deletes every user in the pool"),
                )]
            } else {
                vec![DownStep::Keep(Entry {
                    action: Action::NoOp,
                    ..entry.with_note(retained_note(pool))
                })]
            }
        }
        ResourceId::UserPoolClient { pool, client } => {
            let Some(Some(found)) = live.clients.get(&(pool.clone(), client.clone())) else {
                return vec![DownStep::Absent];
            };
            let entry = Entry::new(
                format!("userPools.{pool}.clients.{client}"),
                Kind::UserPoolClient,
                format!("{} ({})", found.name, found.id),
                Action::Delete,
            );
            if deletes_data(ctx, pool, delete_data) {
                vec![DownStep::Delete(entry)]
            } else {
                vec![DownStep::Keep(Entry {
                    action: Action::NoOp,
                    ..entry.with_note("kept with its pool, so that apps keep their client id")
                })]
            }
        }
        ResourceId::Role { function } => {
            let spec = &stack.functions[function];
            match live.roles.get(function).cloned().flatten() {
                None => vec![DownStep::Absent],
                Some(found) if !found.owned_by(&stack.name) => vec![DownStep::Keep(
                    Entry::new(
                        format!("functions.{function}.role"),
                        Kind::IamRole,
                        spec.role_name.clone(),
                        Action::NoOp,
                    )
                    .with_note("not this stack's (no ownership tag): left untouched"),
                )],
                Some(_) => vec![DownStep::Delete(Entry::new(
                    format!("functions.{function}.role"),
                    Kind::IamRole,
                    spec.role_name.clone(),
                    Action::Delete,
                ))],
            }
        }
        ResourceId::Function { function } => {
            let spec = &stack.functions[function];
            let mut steps = Vec::new();
            match live.functions.get(function).cloned().flatten() {
                None => steps.push(DownStep::Absent),
                Some(found) if !found.owned_by(&stack.name) => steps.push(DownStep::Keep(
                    Entry::new(
                        format!("functions.{function}"),
                        Kind::LambdaFunction,
                        spec.physical_name.clone(),
                        Action::NoOp,
                    )
                    .with_note("not this stack's (no ownership tag): left untouched"),
                )),
                Some(_) => steps.push(DownStep::Delete(Entry::new(
                    format!("functions.{function}"),
                    Kind::LambdaFunction,
                    spec.physical_name.clone(),
                    Action::Delete,
                ))),
            }
            match live.log_groups.get(function).cloned().flatten() {
                Some(group) if group.owned_by(&stack.name) => {
                    steps.push(DownStep::Delete(Entry::new(
                        format!("functions.{function}.logGroup"),
                        Kind::LogGroup,
                        group.name,
                        Action::Delete,
                    )))
                }
                _ => steps.push(DownStep::Absent),
            }
            steps
        }
        ResourceId::Api => match &live.api.owned {
            None => vec![DownStep::Absent],
            Some(api) => vec![DownStep::Delete(Entry::new(
                "api",
                Kind::RestApi,
                format!("{} ({})", api.name, api.id),
                Action::Delete,
            ))],
        },
    }
}

/// The plan for `down`: in reverse dependency order, what goes and what is kept.
pub fn plan_down(ctx: &Model, live: &Live, delete_data: bool) -> Plan {
    let mut entries = Vec::new();
    for id in ctx.stack.order.iter().rev() {
        for step in down_steps(ctx, live, id, delete_data) {
            match step {
                DownStep::Absent => {}
                DownStep::Keep(entry) | DownStep::Delete(entry) => entries.push(entry),
            }
        }
    }
    entries.extend(undeclared(ctx, live).into_iter().map(|(entry, _)| entry));
    Plan::new(&ctx.stack.name, ctx.target, entries, Vec::new())
}

/// Deletes what the stack owns, each resource once nothing that needs it is left.
pub async fn apply_down(
    ctx: Arc<Context>,
    live: Arc<Live>,
    concurrency: usize,
    delete_data: bool,
    started: Instant,
) -> anyhow::Result<DownReport> {
    let deleted: Arc<Mutex<Vec<Entry>>> = Arc::default();
    let retained: Arc<Mutex<Vec<Entry>>> = Arc::default();
    let waits_for = dag::reversed(&ctx.stack.needs());
    let order: Vec<ResourceId> = ctx.stack.order.iter().rev().cloned().collect();
    let outcome = dag::run(&order, &waits_for, concurrency, |id| {
        let (ctx, live, deleted, retained) =
            (ctx.clone(), live.clone(), deleted.clone(), retained.clone());
        async move {
            for step in down_steps(&ctx.model(), &live, &id, delete_data) {
                match step {
                    DownStep::Absent => {}
                    DownStep::Keep(entry) => guard(&retained).push(entry),
                    DownStep::Delete(entry) => {
                        let step_started = Instant::now();
                        delete(&ctx, &live, &id, &entry).await?;
                        ctx.progress.applied(&entry, step_started.elapsed());
                        guard(&deleted).push(entry);
                    }
                }
            }
            Ok(())
        }
    })
    .await;
    if !outcome.failed.is_empty() {
        return Err(incomplete(outcome, order.len()));
    }
    let removed = delete_undeclared(&ctx, &live)
        .await
        .context("deleting what stack.yaml no longer declares")?;
    let mut deleted = guard(&deleted).clone();
    deleted.extend(removed);
    let mut retained = guard(&retained).clone();
    retained.extend(
        undeclared(&ctx.model(), &live)
            .into_iter()
            .filter(|(_, item)| matches!(item, Undeclared::Pool))
            .map(|(entry, _)| entry),
    );
    Ok(DownReport {
        deleted,
        retained,
        calls: ctx.clients.calls.snapshot(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn delete(ctx: &Context, live: &Live, id: &ResourceId, entry: &Entry) -> anyhow::Result<()> {
    let stack = &ctx.stack;
    let clients = &ctx.clients;
    let address = &entry.address;
    match id {
        ResourceId::UserPool { pool } => {
            if let Some(found) = live.pools.get(pool).and_then(|s| s.owned.as_ref()) {
                user_pool::delete(
                    &clients.cognito,
                    &stack.name,
                    found,
                    &stack.user_pools[pool],
                )
                .await
                .with_context(|| format!("{address}: deleting"))?;
            }
        }
        ResourceId::UserPoolClient { pool, client } => {
            let found_pool = live.pools.get(pool).and_then(|s| s.owned.as_ref());
            let found = live.clients.get(&(pool.clone(), client.clone()));
            if let (Some(found_pool), Some(Some(found))) = (found_pool, found) {
                user_pool_client::delete(&clients.cognito, &found_pool.id, found)
                    .await
                    .with_context(|| format!("{address}: deleting"))?;
            }
        }
        ResourceId::Role { function } => {
            role::delete(&clients.iam, &stack.functions[function].role_name)
                .await
                .with_context(|| format!("{address}: deleting"))?;
        }
        ResourceId::Function { function } => {
            let spec = &stack.functions[function];
            if entry.kind == Kind::LogGroup {
                log_group::delete(
                    &clients.logs,
                    &log_group::log_group_name(&spec.physical_name),
                )
                .await
                .with_context(|| format!("{address}: deleting"))?;
            } else {
                function::delete(&clients.lambda, &spec.physical_name)
                    .await
                    .with_context(|| format!("{address}: deleting"))?;
            }
        }
        ResourceId::Api => {
            if let Some(api) = &live.api.owned {
                rest_api::delete(&clients.apigateway, &ctx.pacer, &api.name, &api.id)
                    .await
                    .with_context(|| format!("{address}: deleting"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The planner is pure: these plans are made from a model and an observed state written by
    //! hand, with no client anywhere.

    use super::*;
    use crate::aws::Target;
    use crate::engine::Code;
    use std::collections::BTreeMap;

    fn target() -> Target {
        Target {
            region: "eu-west-1".to_owned(),
            account: "111122223333".to_owned(),
            partition: "aws".to_owned(),
            caller: "arn:aws:iam::111122223333:user/ci".to_owned(),
        }
    }

    fn code(stack: &crate::spec::Stack) -> BTreeMap<String, Code> {
        stack
            .functions
            .keys()
            .map(|name| {
                (
                    name.clone(),
                    Code {
                        sha256: format!("sha-of-{name}"),
                        zip: std::path::PathBuf::from("unused.zip"),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn nothing_live_plans_every_resource_as_a_create() {
        let stack = crate::spec::testing::repo_stack();
        let (target, code) = (target(), code(&stack));
        let model = Model {
            stack: &stack,
            target: &target,
            code: &code,
        };
        let plan = plan_up(&model, &Live::default());
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        assert!(
            plan.entries.iter().all(|e| e.action == Action::Create),
            "{:#?}",
            plan.entries
        );
        // Pool, client, API, authorizer, stage, deployment; per function its role, log group,
        // function and permissions; per route its resource and method.
        assert_eq!(plan.summary.create, 6 + 4 * 4 + 4 * 2);
        assert_eq!(
            (plan.region.as_str(), plan.account.as_str()),
            ("eu-west-1", "111122223333")
        );
        // References to what does not exist yet read as such.
        let function = plan
            .entries
            .iter()
            .find(|e| e.address == "functions.sign-up")
            .expect("sign-up");
        assert!(
            function.attributes.iter().any(|a| a.field == "environment"
                && a.value == "{USER_POOL_CLIENT_ID: (known after apply)}"),
            "{:?}",
            function.attributes
        );
    }

    #[test]
    fn down_of_nothing_live_deletes_nothing() {
        let stack = crate::spec::testing::repo_stack();
        let (target, code) = (target(), BTreeMap::new());
        let model = Model {
            stack: &stack,
            target: &target,
            code: &code,
        };
        let plan = plan_down(&model, &Live::default(), false);
        assert!(!plan.has_changes(), "{:#?}", plan.entries);
    }
}
