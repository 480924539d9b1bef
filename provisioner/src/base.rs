//! What every kind's unit shares, and nothing of any kind: the run's [`Context`], the planner's
//! [`Model`], the [`Values`] of references, and what a unit answers with ([`Blocker`],
//! [`DownStep`], [`Leftover`]). The kinds (`kinds/`) build on it; the engine (`engine/`), which
//! lists the kinds and runs them, builds on both, so no kind reaches into the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::aws::{Clients, Target};
use crate::pace::Pacer;
use crate::plan::{Action, Entry, Kind};
use crate::spec::{OWNERSHIP_TAG, Reference, Stack, Template};

/// What a plan shows for a value that exists only once its resource does.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// Everything a run shares: the stack, where it lives, how to reach it, and the built code.
#[derive(Debug)]
pub struct Context {
    pub stack: Stack,
    pub clients: Clients,
    pub target: Target,
    pub pacer: Pacer,
    /// By function (logical name); empty for `down`, which needs no code.
    pub code: BTreeMap<String, Code>,
    pub waits: LambdaWaits,
    /// Where the run's events go (`output` renders them; the engine never prints).
    pub progress: std::sync::Arc<dyn crate::progress::Progress>,
    /// Set by SIGINT / SIGTERM: start nothing new.
    pub interrupt: crate::interrupt::Interrupt,
}

/// A function's package, as `up` uploads it.
#[derive(Debug, Clone)]
pub struct Code {
    pub sha256: String,
    pub zip: PathBuf,
}

/// Values of references that exist only once their resource does: pool ids and ARNs, client ids,
/// the API id. Seeded from what is live, completed as `up` creates things.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Values {
    pub pools: BTreeMap<String, PoolValues>,
    pub clients: BTreeMap<String, BTreeMap<String, String>>,
    pub api_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolValues {
    pub id: String,
    pub arn: String,
}

/// A reference whose resource does not exist (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`${{{0}}}` has no value: the resource it names does not exist yet")]
pub struct Unresolved(pub Reference);

impl Values {
    /// The value of `reference`, if it has one now.
    pub fn get(&self, stack: &Stack, target: &Target, reference: &Reference) -> Option<String> {
        match reference {
            Reference::UserPoolId { pool } => self.pools.get(pool).map(|p| p.id.clone()),
            Reference::UserPoolArn { pool } => self.pools.get(pool).map(|p| p.arn.clone()),
            Reference::UserPoolClientId { pool, client } => {
                self.clients.get(pool).and_then(|c| c.get(client)).cloned()
            }
            Reference::FunctionArn { function } => stack
                .functions
                .get(function)
                .map(|f| target.lambda_arn(&f.physical_name)),
            Reference::FunctionName { function } => stack
                .functions
                .get(function)
                .map(|f| f.physical_name.clone()),
            Reference::StackName => Some(stack.name.clone()),
            Reference::EnvName => stack.environment.clone(),
            Reference::Region => Some(target.region.clone()),
            Reference::AccountId => Some(target.account.clone()),
        }
    }
}

/// How references without a value are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// For a plan: shown as `(known after apply)`.
    Lenient,
    /// For applying: an error (the dependency order guarantees it does not happen).
    Strict,
}

/// What the planner needs, and nothing that reaches AWS: the stack, where it goes (region,
/// account, partition) and its functions' code hashes. `nodes::plan`, `run::plan_up` and
/// `run::plan_down` are pure functions of a model, what was observed and the values known.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    pub stack: &'a Stack,
    pub target: &'a Target,
    /// By function (logical name); empty for `down`.
    pub code: &'a BTreeMap<String, Code>,
}

impl Context {
    /// The part of the context the planner sees.
    pub fn model(&self) -> Model<'_> {
        Model {
            stack: &self.stack,
            target: &self.target,
            code: &self.code,
        }
    }
}

impl Model<'_> {
    /// The value of `reference` now; in a lenient plan, `(known after apply)` when it has none.
    pub fn value(&self, values: &Values, reference: &Reference, mode: Resolve) -> Option<String> {
        values
            .get(self.stack, self.target, reference)
            .or_else(|| (mode == Resolve::Lenient).then(|| KNOWN_AFTER_APPLY.to_owned()))
    }

    /// `template` with every reference replaced by its value.
    pub fn render(
        &self,
        values: &Values,
        template: &Template,
        mode: Resolve,
    ) -> Result<String, Unresolved> {
        template
            .render(|reference| self.value(values, reference, mode))
            .map_err(|reference| Unresolved(reference.clone()))
    }
}

/// Something in the way of a node's plan: a foreign resource where the stack needs its own, or a
/// reference without a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address}: {reason}")]
pub struct Blocker {
    /// The resource it blocks, as the plan spells it (`functions.sign-up.role`).
    pub address: String,
    /// Why, and what to do (a `hint:` line).
    pub reason: String,
}

impl Blocker {
    pub fn new(address: impl Into<String>, reason: impl Into<String>) -> Blocker {
        Blocker {
            address: address.into(),
            reason: reason.into(),
        }
    }

    /// A resource of `kind` named `name` is in the way at `address`, and it is not `stack`'s.
    pub fn foreign(
        address: &str,
        kind: &str,
        name: &str,
        stack: &Stack,
        owner: Option<&str>,
    ) -> Blocker {
        Blocker::new(address, foreign(kind, name, &stack.name, owner))
    }

    /// `address` needs a value that does not exist yet.
    pub fn unresolved(address: &str, err: Unresolved) -> Blocker {
        Blocker::new(address, err.to_string())
    }
}

/// A resource that holds data or that apps know by id (a user pool, a REST API), with the stack's
/// name but without any ownership tag, where the stack would create its own: refused, since making
/// a second one would fork it (its users, its URL stay with the old one). `found` lists each such
/// resource's id and name. The way out is `provisioner adopt`. (One tagged as another stack's is
/// that stack's, and left alone.)
pub fn untagged_in_the_way<'a>(
    address: &str,
    kind: &str,
    stack: &str,
    found: impl Iterator<Item = (&'a str, &'a str)>,
) -> Blocker {
    let found: Vec<(&str, &str)> = found.collect();
    let listed: Vec<String> = found
        .iter()
        .map(|(id, name)| format!("`{name}` ({id})"))
        .collect();
    let adopt = match found.as_slice() {
        [_] => format!("`provisioner adopt {address}`"),
        _ => format!("`provisioner adopt {address} --id <id>`"),
    };
    Blocker::new(
        address,
        format!(
            "a {kind} of this stack's name exists without any ownership tag (`{OWNERSHIP_TAG}={stack}`): {}; `up` will not create a second one beside it\n  hint: if it is this stack's {kind} (its tag was removed), {adopt} takes it over; otherwise rename or delete it, or choose another stack name (`--stack`)",
            listed.join(", ")
        ),
    )
}

/// `IAM role `x` exists but is not this stack's` and what to do about it.
pub fn foreign(kind: &str, name: &str, stack: &str, owner: Option<&str>) -> String {
    let whose = match owner {
        Some(other) => format!("it belongs to stack `{other}`"),
        None => format!("it does not carry the tag `{OWNERSHIP_TAG}={stack}`"),
    };
    format!(
        "{kind} `{name}` exists but is not this stack's ({whose}); it is left untouched\n  hint: choose another stack name (`stack:` or `--stack`), or delete or rename that {kind}"
    )
}

/// What `down` does to one resource.
#[derive(Debug, Clone)]
pub enum DownStep {
    /// Nothing of ours is there.
    Absent,
    /// Ours (or in the way), kept: the entry explains why.
    Keep(Entry),
    Delete(Entry),
}

/// Something that carries this stack's tag (or, for app clients, lives in its pool under its
/// name prefix) but that stack.yaml no longer declares, as its kind's `observe` found it. `up`
/// and `down` delete it, unless its entry is a NoOp (pools: they hold users' data).
#[derive(Debug, Clone)]
pub struct Leftover {
    /// `- functions.old` (its kind is the entry's).
    pub entry: Entry,
    /// Its name on AWS.
    pub name: String,
    /// Its id, for what AWS addresses by id (pools, app clients, REST APIs).
    pub id: Option<String>,
    /// The id of what it lives in (an app client's pool).
    pub parent: Option<String>,
}

impl DownStep {
    /// `down` of a resource found by its unique name: absent (`None`), someone else's (kept and
    /// untouched), or ours (deleted). `entry` makes its entry for an action.
    pub fn by_owner(ours: Option<bool>, entry: impl Fn(Action) -> Entry) -> Vec<DownStep> {
        match ours {
            None => vec![DownStep::Absent],
            Some(false) => vec![DownStep::Keep(
                entry(Action::NoOp)
                    .with_note("not this stack's (no ownership tag): left untouched"),
            )],
            Some(true) => vec![DownStep::Delete(entry(Action::Delete))],
        }
    }
}

impl Leftover {
    /// A leftover AWS addresses by its name alone (a role, a log group, a function).
    pub fn named(address: String, kind: Kind, name: String) -> Leftover {
        Leftover {
            entry: Entry::new(address, kind, name.clone(), Action::Delete)
                .with_note(NO_LONGER_DECLARED),
            name,
            id: None,
            parent: None,
        }
    }
}

/// The leftovers of a kind whose names are unique (roles, log groups, functions): of `listed`
/// (every name under the stack's prefix), those stack.yaml does not `declare` and that carry the
/// stack's tag (`is_ours` reads each), as `leftover` makes them. Written once for every such kind,
/// so none of them can forget the ownership check.
pub async fn leftovers_by_name<F, Fut>(
    listed: Vec<String>,
    declared: &[String],
    is_ours: F,
    leftover: impl Fn(String) -> Leftover,
) -> anyhow::Result<Vec<Leftover>>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let mut found = Vec::new();
    for name in listed.into_iter().filter(|n| !declared.contains(n)) {
        if is_ours(name.clone()).await? {
            found.push(leftover(name));
        }
    }
    Ok(found)
}

/// The logical name a physical name of `stack` stands for (`auth-demo-old` -> `old`).
pub fn logical<'a>(stack: &Stack, physical: &'a str) -> &'a str {
    physical
        .strip_prefix(&format!("{}-", stack.name))
        .unwrap_or(physical)
}

/// The note of every leftover that is deleted.
pub const NO_LONGER_DECLARED: &str = "no longer in stack.yaml";

/// The values behind the lock shared by the tasks of a run (a task that panicked left them usable).
pub(crate) fn lock(values: &std::sync::Mutex<Values>) -> std::sync::MutexGuard<'_, Values> {
    values.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long to wait for a function to settle, and for IAM to let Lambda assume a new role.
#[derive(Debug, Clone, Copy)]
pub struct LambdaWaits {
    pub settle: std::time::Duration,
    pub role_propagation: std::time::Duration,
}

impl Default for LambdaWaits {
    fn default() -> Self {
        LambdaWaits {
            settle: std::time::Duration::from_secs(300),
            role_propagation: std::time::Duration::from_secs(120),
        }
    }
}

/// One node of a plan, as a kind's unit plans it (`kinds/<kind>/unit.rs`: `plan` makes it from
/// the model, what was observed of it and the values known): what it shows and what applying it
/// does. The engine's `units::NodePlan` holds one per resource and dispatches to it (the
/// benchmarks' cost model, `engine::cost`, reads the node's typed change apart from this).
pub trait Planned: std::fmt::Debug + Clone + Send + Sync {
    /// The plan entries this node shows, NoOps included.
    fn entries(&self, model: &Model) -> Vec<Entry>;

    /// What it creates anew has no value (id, ARN) yet for those planned after it (no default:
    /// a kind whose ids others refer to must not forget to forget them).
    fn forget(&self, values: &mut Values);

    /// Makes the calls of its plan; records new values (ids, ARNs) in `values`. `waits` lets a
    /// coordinator wait part-way for what it needs and take the run's slots for its calls.
    fn apply(
        &self,
        ctx: &Context,
        values: &std::sync::Mutex<Values>,
        waits: &crate::dag::Waits,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}
