//! The flows of `diff`, `up` and `down` over observe, plan and apply. Nothing printed here: results
//! are returned (commands hand them to `output`), events go to the `Context`'s `Progress` sink.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;

use super::units::{self, Live};
use super::{Context, DownStep, Leftover, Model, Resolve, Values, lock};
use crate::dag;
use crate::interrupt::Interrupted;
use crate::plan::{Action, Entry, Kind, Plan, Summary};
use crate::report::{DownReport, Incomplete, Outputs, PoolOutputs, UpReport};
use crate::spec::ResourceId;

/// The plan for `up`: every node in dependency order, with what cannot be known before applying
/// shown as `(known after apply)`.
pub fn plan_up(ctx: &Model, live: &Live) -> Plan {
    let mut values = Values::from_live(live);
    let mut entries = Vec::new();
    let mut blockers = Vec::new();
    let needs = ctx.stack.needs();
    // Per node: the calls on the longest chain that ends with it.
    let mut depth: std::collections::BTreeMap<&ResourceId, usize> = Default::default();
    for id in &ctx.stack.order {
        match units::plan(ctx, live, &values, id, Resolve::Lenient) {
            Ok(node) => {
                node.forget(&mut values);
                entries.extend(node.entries(ctx));
                // What it needs before it starts, then all its calls; what it waits for
                // part-way (the API, for its routes' functions), then the calls after that wait.
                let deepest = |awaited: bool| {
                    needs
                        .get(id)
                        .into_iter()
                        .flatten()
                        .filter(|dep| units::awaited_in_apply(id, dep) == awaited)
                        .filter_map(|dep| depth.get(dep))
                        .max()
                        .copied()
                        .unwrap_or(0)
                };
                let at_end = (deepest(false) + super::cost::calls(&node))
                    .max(deepest(true) + super::cost::calls_after_awaits(&node));
                depth.insert(id, at_end);
            }
            Err(blocker) => blockers.push(blocker.to_string()),
        }
    }
    note_new_pools_beside_kept_ones(&mut entries, live);
    entries.extend(live.leftovers.iter().map(|l| l.entry.clone()));
    let mut plan = Plan::new(&ctx.stack.name, ctx.target, entries, blockers);
    // Leftovers go one after another, after the rest.
    let leftovers = live
        .leftovers
        .iter()
        .filter(|l| l.entry.action != Action::NoOp)
        .count();
    plan.critical_path = depth.values().max().copied().unwrap_or(0) + leftovers;
    plan.read_depth = 1 + live.read_depth();
    plan.run_critical_path = if plan.has_changes() {
        // Lock, reads again (GetCallerIdentity is not repeated), apply, unlock.
        plan.read_depth + 1 + (plan.read_depth - 1) + plan.critical_path + 2
    } else {
        plan.read_depth
    };
    plan
}

/// A new pool while one of ours that stack.yaml no longer declares keeps its users (a rename
/// without `moved:`?) is one of `guards`: the plan says so, so that `diff` shows what `up` refuses.
fn note_new_pools_beside_kept_ones(entries: &mut [Entry], live: &Live) {
    let kept: Vec<&str> = kept_pools(live)
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    if kept.is_empty() {
        return;
    }
    for entry in entries
        .iter_mut()
        .filter(|e| e.kind == Kind::UserPool && e.action == Action::Create)
    {
        entry.note = Some(format!(
            "a new, empty pool while {} (no longer declared) keeps its users: `up` refuses unless a `moved` entry renames it or `--allow-replace {}` is given",
            kept.join(", "),
            kept.join(" --allow-replace ")
        ));
    }
}

/// The pools of ours stack.yaml no longer declares: kept, with their users.
fn kept_pools(live: &Live) -> Vec<&Entry> {
    live.leftovers
        .iter()
        .map(|l| &l.entry)
        .filter(|e| e.kind == Kind::UserPool && e.action == Action::NoOp)
        .collect()
}

/// Deletes what stack.yaml no longer declares (pools excepted: their entries are NoOps), in the
/// order observe sorted them; reports each.
async fn delete_leftovers(ctx: &Context, live: &Live) -> anyhow::Result<Vec<Entry>> {
    let mut done = Vec::new();
    let leftovers: Vec<&Leftover> = live
        .leftovers
        .iter()
        .filter(|l| l.entry.action != Action::NoOp)
        .collect();
    for (at, leftover) in leftovers.iter().enumerate() {
        if ctx.interrupt.is_set() {
            return Err(Interrupted {
                done: at,
                total: leftovers.len(),
                stopped: Vec::new(),
                not_started: leftovers[at..]
                    .iter()
                    .map(|l| l.entry.address.clone())
                    .collect(),
            }
            .into());
        }
        let started = Instant::now();
        ctx.progress.started(&leftover.entry);
        if let Err(err) = units::delete_leftover(ctx, live, leftover).await {
            ctx.progress.failed(&leftover.entry, started.elapsed());
            return Err(err.context(format!("{}: deleting", leftover.entry.address)));
        }
        ctx.progress.applied(&leftover.entry, started.elapsed());
        done.push(leftover.entry.clone());
    }
    Ok(done)
}

/// A change `up` makes only when `--allow-replace` names its address: it loses users' data or
/// breaks the apps that know a client's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// What `--allow-replace` must name.
    pub address: String,
    /// What happens, and the hint: how to avoid it, or how to allow it.
    pub message: String,
}

/// The guarded changes of `plan`: a user pool or app client replaced; an app client no longer
/// declared (deleted: renamed without a `moved:` entry, or removed); a new user pool while one
/// of the stack's that holds users is no longer declared (a pool renamed without `moved:`).
pub fn guards(plan: &Plan, live: &Live) -> Vec<Guard> {
    let mut guards: Vec<Guard> = Vec::new();
    let kept_pools = kept_pools(live);
    for entry in &plan.entries {
        let Some(loss) = entry.kind.loss() else {
            continue;
        };
        match (&entry.kind, &entry.action) {
            (_, Action::Replace { changes }) => {
                let fields: Vec<&str> = changes
                    .iter()
                    .filter(|c| c.forces_replacement)
                    .map(|c| c.field)
                    .collect();
                guards.push(Guard {
                    address: entry.address.clone(),
                    message: format!(
                        "{} must be replaced (`{}` cannot change in place); {}\n  hint: keep the old value in stack.yaml, or accept with `--allow-replace {}`",
                        entry.address,
                        fields.join("`, `"),
                        entry.note.as_deref().unwrap_or(loss),
                        entry.address
                    ),
                });
            }
            (_, Action::Delete) => {
                // What it lives in, replaced, takes it along: allowing that allows this.
                let parent_replaced = plan.entries.iter().any(|e| {
                    matches!(e.action, Action::Replace { .. })
                        && entry.address.starts_with(&format!("{}.", e.address))
                });
                if parent_replaced {
                    continue;
                }
                let renamed = match entry.address.rsplit_once('.') {
                    Some((parent, _)) => format!("{parent}.<new name>"),
                    None => "<new name>".to_owned(),
                };
                // What `moved` keeps: an app client keeps the id apps know it by.
                let kept = match entry.kind {
                    Kind::UserPoolClient => "renames it and keeps its id",
                    _ => "keeps it",
                };
                guards.push(Guard {
                    address: entry.address.clone(),
                    message: format!(
                        "{} ({}) would be deleted: it is no longer in stack.yaml, and {loss}\n  hint: if it was renamed, add to stack.yaml `moved: [{{from: {}, to: {renamed}}}]`, which {kept}; to delete it, `--allow-replace {}`",
                        entry.address, entry.name, entry.address, entry.address
                    ),
                });
            }
            (Kind::UserPool, Action::Create) => {
                for kept in &kept_pools {
                    if guards.iter().any(|g| g.address == kept.address) {
                        continue;
                    }
                    guards.push(Guard {
                        address: kept.address.clone(),
                        message: format!(
                            "{} would be a new, empty user pool, while {} ({}), which holds users, is no longer declared\n  hint: if it was renamed, add to stack.yaml `moved: [{{from: {}, to: {}}}]`, which keeps the pool and its users; to make a new pool and keep the old one as it is, `--allow-replace {}`",
                            entry.address,
                            kept.address,
                            kept.name,
                            kept.address,
                            entry.address,
                            kept.address
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    guards
}

/// A bare name given to `--allow-replace` that names several resources.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`--allow-replace {name}` could mean any of: {}; name one by its address (`--allow-replace {}`)",
    addresses.join(", "),
    addresses.first().map(String::as_str).unwrap_or_default()
)]
pub struct AmbiguousName {
    pub name: String,
    pub addresses: Vec<String>,
}

/// The guards `allowed` (`--allow-replace` values: addresses, or bare logical names that name
/// one user pool or app client of the plan) does not name. A bare name that names several is an
/// error: allowing a client's replacement must never allow a pool's.
pub fn unallowed(
    plan: &Plan,
    live: &Live,
    allowed: &[String],
) -> Result<Vec<Guard>, AmbiguousName> {
    let addresses = allowed
        .iter()
        .map(|name| address_of(plan, name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(guards(plan, live)
        .into_iter()
        .filter(|guard| !addresses.contains(&guard.address))
        .collect())
}

/// The `--allow-replace` values that allow none of the plan's guarded changes (a typo, say).
pub fn unused_allowances<'a>(
    plan: &Plan,
    live: &Live,
    allowed: &'a [String],
) -> Result<Vec<&'a str>, AmbiguousName> {
    let guarded: Vec<String> = guards(plan, live).into_iter().map(|g| g.address).collect();
    let mut unused = Vec::new();
    for name in allowed {
        if !guarded.contains(&address_of(plan, name)?) {
            unused.push(name.as_str());
        }
    }
    Ok(unused)
}

/// The address an `--allow-replace` value names: itself if it is one, else the one user pool or
/// app client of the plan with that logical name (itself when none has it).
fn address_of(plan: &Plan, name: &str) -> Result<String, AmbiguousName> {
    if name.contains('.') {
        return Ok(name.to_owned());
    }
    let mut named: Vec<String> = plan
        .entries
        .iter()
        .filter(|e| e.kind.loss().is_some())
        .filter(|e| e.address.rsplit('.').next() == Some(name))
        .map(|e| e.address.clone())
        .collect();
    named.sort();
    named.dedup();
    match named.len() {
        0 => Ok(name.to_owned()),
        1 => Ok(named.remove(0)),
        _ => Err(AmbiguousName {
            name: name.to_owned(),
            addresses: named,
        }),
    }
}

/// The outputs of a stack whose values are `values`.
fn outputs_from_values(ctx: &Model, values: &Values) -> Outputs {
    let mut outputs = Outputs {
        region: ctx.target.region.clone(),
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

/// How a run that did not finish ended: interrupted, or stopped by a failure.
/// How many of `plan`'s entries `counts`, the leftovers' aside (deleted after the nodes).
fn changes_of(plan: &Plan, live: &Live, counts: impl Fn(&Action) -> bool) -> usize {
    let leftovers = live.leftovers.iter().filter(|l| counts(&l.entry.action));
    let all = plan.entries.iter().filter(|e| counts(&e.action)).count();
    all.saturating_sub(leftovers.count())
}

/// `done` and `total` count the plan's changes (entries), as the plan showed them, not its nodes
/// (an API is one node and a dozen changes).
fn unfinished(outcome: dag::Outcome, done: usize, total: usize) -> anyhow::Error {
    if outcome.interrupted && outcome.failed.is_empty() {
        let addresses = |ids: &[crate::spec::ResourceId]| -> Vec<String> {
            ids.iter().map(ToString::to_string).collect()
        };
        return Interrupted {
            done,
            total,
            stopped: addresses(&outcome.stopped),
            not_started: addresses(&outcome.not_started),
        }
        .into();
    }
    incomplete(outcome, done, total)
}

fn incomplete(outcome: dag::Outcome, done: usize, total: usize) -> anyhow::Error {
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
    let stopped: Vec<String> = outcome.stopped.iter().map(ToString::to_string).collect();
    let mut failures = outcome.failed.into_iter();
    let first = failures
        .next()
        .map(|(_, err)| err)
        .unwrap_or_else(|| anyhow::anyhow!("no failure recorded"));
    Incomplete {
        done,
        total,
        failed,
        stopped,
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
    // The changes the plan shows (its nodes' entries, not the leftovers deleted after them).
    let planned = changes_of(&plan_up(&ctx.model(), &live), &live, |a| *a != Action::NoOp);
    // What a node waits for part-way through its apply is not needed before it starts; such a
    // node is a coordinator (its changes take a slot each, see `dag`) and starts first among
    // those ready: its first parts (the API's resources, paced by API Gateway's quotas) overlap
    // the rest of the run.
    let mut needs = ctx.stack.needs();
    let mut waits_part_way = std::collections::BTreeSet::new();
    for (id, deps) in &mut needs {
        let before = deps.len();
        deps.retain(|dep| !units::awaited_in_apply(id, dep));
        if deps.len() < before {
            waits_part_way.insert(id.clone());
        }
    }
    let mut order = ctx.stack.order.clone();
    order.sort_by_key(|id| !waits_part_way.contains(id));
    let outcome = dag::run(
        &order,
        &needs,
        &waits_part_way,
        concurrency,
        &ctx.interrupt,
        |id, waits| {
            let (ctx, live, values, applied) =
                (ctx.clone(), live.clone(), values.clone(), applied.clone());
            async move {
                let snapshot = lock(&values).clone();
                let node = units::plan(&ctx.model(), &live, &snapshot, &id, Resolve::Strict)?;
                let changing: Vec<Entry> = node
                    .entries(&ctx.model())
                    .into_iter()
                    .filter(|e| e.action != Action::NoOp)
                    .collect();
                if changing.is_empty() {
                    return Ok(());
                }
                let node_started = Instant::now();
                for entry in &changing {
                    ctx.progress.started(entry);
                }
                if let Err(err) = node.apply(&ctx, &values, &waits).await {
                    let stopped = err.chain().any(|cause| cause.is::<dag::Abandoned>());
                    // A coordinator stopped part-way (the API) is said once, by its own entry:
                    // its parts that never started are not "stopped part-way".
                    let ended = if stopped {
                        &changing[..1]
                    } else {
                        &changing[..]
                    };
                    for entry in ended {
                        if stopped {
                            ctx.progress.stopped(entry, node_started.elapsed());
                        } else {
                            ctx.progress.failed(entry, node_started.elapsed());
                        }
                    }
                    return Err(err);
                }
                for entry in &changing {
                    ctx.progress.applied(entry, node_started.elapsed());
                }
                guard(&applied).extend(changing);
                Ok(())
            }
        },
    )
    .await;
    if !outcome.failed.is_empty() || outcome.interrupted {
        let done = guard(&applied).len();
        return Err(unfinished(outcome, done, planned.max(done)));
    }
    let removed = delete_leftovers(&ctx, &live)
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

/// What each resource waits for before it is deleted: what needs it (the reverse of creation),
/// and a function's log group its role too: an invocation still running after its function went
/// writes logs, and while its role allows `logs:CreateLogGroup` (AWSLambdaBasicExecutionRole)
/// that would make the deleted group again, untagged and kept for ever.
pub fn down_waits(
    stack: &crate::spec::Stack,
) -> std::collections::BTreeMap<ResourceId, std::collections::BTreeSet<ResourceId>> {
    let mut waits_for = dag::reversed(&stack.needs());
    for function in stack.functions.keys() {
        waits_for
            .entry(ResourceId::LogGroup {
                function: function.clone(),
            })
            .or_default()
            .insert(ResourceId::Role {
                function: function.clone(),
            });
    }
    waits_for
}

/// The plan for `down`: in reverse dependency order, what goes and what is kept.
pub fn plan_down(ctx: &Model, live: &Live, delete_data: bool) -> Plan {
    let mut entries = Vec::new();
    for id in ctx.stack.order.iter().rev() {
        for step in units::down(ctx, live, id, delete_data) {
            match step {
                DownStep::Absent => {}
                DownStep::Keep(entry) | DownStep::Delete(entry) => entries.push(entry),
            }
        }
    }
    entries.extend(live.leftovers.iter().map(|l| l.entry.clone()));
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
    let waits_for = down_waits(&ctx.stack);
    let order: Vec<ResourceId> = ctx.stack.order.iter().rev().cloned().collect();
    let none = std::collections::BTreeSet::new();
    let outcome = dag::run(
        &order,
        &waits_for,
        &none,
        concurrency,
        &ctx.interrupt,
        |id, _| {
            let (ctx, live, deleted, retained) =
                (ctx.clone(), live.clone(), deleted.clone(), retained.clone());
            async move {
                for step in units::down(&ctx.model(), &live, &id, delete_data) {
                    match step {
                        DownStep::Absent => {}
                        DownStep::Keep(entry) => guard(&retained).push(entry),
                        DownStep::Delete(entry) => {
                            let step_started = Instant::now();
                            ctx.progress.started(&entry);
                            if let Err(err) = units::delete(&ctx, &live, &id).await {
                                ctx.progress.failed(&entry, step_started.elapsed());
                                return Err(err.context(format!("{}: deleting", entry.address)));
                            }
                            ctx.progress.applied(&entry, step_started.elapsed());
                            guard(&deleted).push(entry);
                        }
                    }
                }
                Ok(())
            }
        },
    )
    .await;
    if !outcome.failed.is_empty() || outcome.interrupted {
        // The plan's deletions, not its nodes (a kept pool is one of those, and no deletion).
        let plan = plan_down(&ctx.model(), &live, delete_data);
        let planned = changes_of(&plan, &live, |a| *a == Action::Delete);
        let done = guard(&deleted).len();
        return Err(unfinished(outcome, done, planned.max(done)));
    }
    let removed = delete_leftovers(&ctx, &live)
        .await
        .context("deleting what stack.yaml no longer declares")?;
    let mut deleted = guard(&deleted).clone();
    deleted.extend(removed);
    let mut retained = guard(&retained).clone();
    retained.extend(
        live.leftovers
            .iter()
            .filter(|l| l.entry.action == Action::NoOp)
            .map(|l| l.entry.clone()),
    );
    Ok(DownReport {
        changes: deleted.clone(),
        summary: crate::plan::Summary::of(&deleted),
        deleted,
        retained,
        calls: ctx.clients.calls.snapshot(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
