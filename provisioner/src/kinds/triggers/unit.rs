//! A pool's triggers, Cognito's permissions on their functions and the pool's groups as a unit of
//! the engine: reading the groups, planning one pool's, applying, and `down`, which clears the
//! triggers of a pool it keeps before their functions go (every sign-up would fail otherwise).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;

use super::{Triggers, statement_id};
use crate::base::{Context, DownStep, Leftover, Model, Planned, Values};
use crate::kinds::permission::{self, Grants, unit::ObservedStatements};
use crate::kinds::user_pool::{self, LivePool, unit::PoolSearch};
use crate::plan::{Action, Differ, Entry, Kind, Shown, attribute};

/// Every AWS operation this kind calls, with what IAM must allow (`operations`).
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::{FUNCTION, USER_POOL};
    use crate::operations::condition::OWNED;
    &[
        op!(
            Cognito,
            "ListGroups",
            [("cognito-idp:ListGroups", USER_POOL)]
        ),
        op!(
            Cognito,
            "CreateGroup",
            [("cognito-idp:CreateGroup", USER_POOL, OWNED)]
        ),
        op!(
            Cognito,
            "DescribeUserPool",
            [("cognito-idp:DescribeUserPool", USER_POOL)]
        ),
        op!(
            Cognito,
            "UpdateUserPool",
            [("cognito-idp:UpdateUserPool", USER_POOL, OWNED)]
        ),
        op!(
            Lambda,
            "AddPermission",
            [("lambda:AddPermission", FUNCTION)]
        ),
        op!(
            Lambda,
            "RemovePermission",
            [("lambda:RemovePermission", FUNCTION)]
        ),
    ]
};

/// The groups of each of the stack's pools that declares some (others are not read).
pub async fn observe(
    ctx: &Context,
    pools: &BTreeMap<String, PoolSearch>,
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let reads = pools.iter().filter_map(|(name, search)| {
        let live = search.owned.as_ref()?;
        let declares = ctx
            .stack
            .user_pools
            .get(name)
            .is_some_and(|p| !p.groups.is_empty());
        declares.then_some(async move {
            let groups = list_groups(&ctx.clients.cognito, &live.id)
                .await
                .with_context(|| format!("userPools.{name}.groups: reading"))?;
            Ok::<_, anyhow::Error>((name.clone(), groups))
        })
    });
    Ok(futures_util::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect())
}

async fn list_groups(
    client: &aws_sdk_cognitoidentityprovider::Client,
    pool_id: &str,
) -> Result<Vec<String>, crate::aws::AwsError> {
    let mut pages = client
        .list_groups()
        .user_pool_id(pool_id)
        .limit(60)
        .into_paginator()
        .send();
    let mut groups = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(crate::aws::AwsError::of::<
            aws_sdk_cognitoidentityprovider::Error,
            _,
        >(
            "list the groups of", format!("user pool `{pool_id}`")
        ))?;
        groups.extend(
            page.groups()
                .iter()
                .filter_map(|g| g.group_name().map(str::to_owned)),
        );
    }
    Ok(groups)
}

#[derive(Debug, Clone)]
pub struct Node {
    pub pool: String,
    /// The live pool this plan read, when it is the one the triggers go on (not one replaced).
    pub live_pool: Option<Box<LivePool>>,
    pub live: Triggers,
    pub desired: Triggers,
    /// Cognito's statement on each function whose statement changes.
    pub permissions: BTreeMap<String, permission::unit::PermissionPlan>,
    /// Declared groups the pool does not have yet.
    pub missing_groups: Vec<String>,
    /// The pool's ARN, or `(known after apply)`.
    pub pool_arn: String,
}

/// Plans pool `pool`'s triggers, their permissions and its groups. `live_pool` is the pool as
/// observed; it counts only if it is the pool the values name (a pool replaced in this run has
/// no triggers yet).
pub fn plan(
    model: &Model,
    live_pool: Option<&LivePool>,
    groups: Option<&Vec<String>>,
    statements: &ObservedStatements,
    values: &Values,
    (pool, ours): (&str, &BTreeSet<String>),
) -> Node {
    let (stack, target) = (model.stack, model.target);
    let known = values.pools.get(pool);
    let live_pool = live_pool.filter(|live| known.is_some_and(|k| k.id == live.id));
    let live = super::live(
        live_pool
            .and_then(|p| p.described.as_ref())
            .and_then(|d| d.0.lambda_config()),
    );
    let desired = super::desired(stack, target, pool, &live, ours);
    let pool_arn = known.map_or_else(
        || crate::base::KNOWN_AFTER_APPLY.to_owned(),
        |k| k.arn.clone(),
    );
    let sid = statement_id(pool);
    let mut permissions: BTreeMap<String, permission::unit::PermissionPlan> =
        super::grants(stack, pool, &pool_arn)
            .into_iter()
            .filter_map(|(function, desired)| {
                let live: Grants = statements
                    .grants
                    .get(&function)
                    .and_then(|grants| grants.get(&sid))
                    .map(|grant| (sid.clone(), grant.clone()))
                    .into_iter()
                    .collect();
                let planned = cognito_plan(statements, &function, live, desired);
                (planned.action != Action::NoOp).then_some((function, planned))
            })
            .collect();
    // Statements for a pool no longer declared (a `moved:` rename makes a new id): the first
    // pool's node removes them.
    if stack.user_pools.keys().next().map(String::as_str) == Some(pool) {
        for (function, stale) in stale_statements(stack, statements) {
            permissions
                .entry(function.clone())
                .or_insert_with(|| cognito_plan(statements, &function, stale, Grants::new()));
        }
    }
    let declared = &stack.user_pools[pool].groups;
    let missing_groups = declared
        .iter()
        .filter(|g| groups.is_none_or(|live| !live.contains(g)))
        .cloned()
        .collect();
    Node {
        pool: pool.to_owned(),
        live_pool: live_pool.cloned().map(Box::new),
        live,
        desired,
        permissions,
        missing_groups,
        pool_arn,
    }
}

/// Per function of the stack, its Cognito statements (`cognito-<pool>`) for pools stack.yaml no
/// longer declares.
fn stale_statements(
    stack: &crate::spec::Stack,
    statements: &ObservedStatements,
) -> BTreeMap<String, Grants> {
    let declared: BTreeSet<String> = stack.user_pools.keys().map(|p| statement_id(p)).collect();
    stack
        .functions
        .keys()
        .filter_map(|function| {
            let stale: Grants = statements
                .grants
                .get(function)?
                .iter()
                .filter(|(id, grant)| {
                    grant.principal == super::COGNITO_PRINCIPAL
                        && id.starts_with("cognito-")
                        && !declared.contains(*id)
                })
                .map(|(id, grant)| (id.clone(), grant.clone()))
                .collect();
            (!stale.is_empty()).then(|| (function.clone(), stale))
        })
        .collect()
}

/// A function's Cognito statements `live` made `desired`, planned as the API's are.
fn cognito_plan(
    observed: &ObservedStatements,
    function: &str,
    live: Grants,
    desired: Grants,
) -> permission::unit::PermissionPlan {
    let (action, changes) = permission::diff(&live, &desired);
    let action = if !observed.functions.contains(function) && !desired.is_empty() {
        Action::Create
    } else {
        action
    };
    permission::unit::PermissionPlan {
        live,
        desired,
        action,
        changes,
    }
}

impl Node {
    fn action(&self, model: &Model) -> Action {
        let mut d = Differ::default();
        d.field(
            "triggers",
            &super::show(&self.live, model.target),
            &super::show(&self.desired, model.target),
        );
        for (function, planned) in &self.permissions {
            let show = |grants: &Grants| {
                Shown(match grants.values().next() {
                    Some(g) => format!(
                        "{function}: {} may {} from {}",
                        g.principal, g.action, g.source_arn
                    ),
                    None => format!("{function}: absent"),
                })
            };
            d.field("permission", &show(&planned.live), &show(&planned.desired));
        }
        match d.action() {
            Action::NoOp => Action::NoOp,
            _ if self.live.is_empty() && self.live_pool.is_none() => Action::Create,
            changed => changed,
        }
    }
}

impl Planned for Node {
    fn entries(&self, model: &Model) -> Vec<Entry> {
        let spec = &model.stack.user_pools[&self.pool];
        let mut entries: Vec<Entry> = self
            .missing_groups
            .iter()
            .map(|group| {
                Entry::new(
                    format!("userPools.{}.groups.{group}", self.pool),
                    Kind::UserPoolGroup,
                    group.clone(),
                    Action::Create,
                )
            })
            .collect();
        if self.live.is_empty() && self.desired.is_empty() && self.permissions.is_empty() {
            return entries;
        }
        let entry = Entry::new(
            format!("userPools.{}.triggers", self.pool),
            Kind::UserPoolTriggers,
            spec.physical_name.clone(),
            self.action(model),
        )
        .with_attributes(vec![attribute(
            "triggers",
            &super::show(&self.desired, model.target),
        )]);
        entries.push(entry);
        entries
    }

    fn forget(&self, _values: &mut Values) {}

    async fn apply(
        &self,
        ctx: &Context,
        values: &std::sync::Mutex<Values>,
        _waits: &crate::dag::Waits,
    ) -> anyhow::Result<()> {
        let address = format!("userPools.{}", self.pool);
        let pool_id = crate::base::lock(values)
            .pools
            .get(&self.pool)
            .map(|p| p.id.clone())
            .with_context(|| format!("{address}: the pool does not exist"))?;
        let cognito = &ctx.clients.cognito;
        for group in &self.missing_groups {
            create_group(cognito, &pool_id, group)
                .await
                .with_context(|| format!("{address}.groups.{group}: CreateGroup"))?;
        }
        // Cognito may invoke a function before the pool names it, never the other way round.
        let mut after = Vec::new();
        for (function, planned) in &self.permissions {
            let (before, later) = planned.split();
            before.apply(ctx, function).await?;
            after.push((function, later));
        }
        if self.live != self.desired {
            set(ctx, &pool_id, &self.pool, &self.desired)
                .await
                .with_context(|| format!("{address}.triggers: UpdateUserPool"))?;
        }
        for (function, later) in after {
            later.apply(ctx, function).await?;
        }
        Ok(())
    }
}

/// Sets the pool's triggers to `triggers`, every other setting as Cognito has it now.
async fn set(ctx: &Context, pool_id: &str, pool: &str, triggers: &Triggers) -> anyhow::Result<()> {
    let cognito = &ctx.clients.cognito;
    let name = &ctx.stack.user_pools[pool].physical_name;
    let now = user_pool::describe(cognito, pool_id, name)
        .await?
        .with_context(|| format!("user pool `{name}` ({pool_id}) no longer exists"))?;
    let live_config = now.described.as_ref().and_then(|d| d.0.lambda_config());
    let config = super::config(live_config, triggers);
    user_pool::set_lambda_config(cognito, &ctx.stack.name, &now, config).await?;
    Ok(())
}

/// CreateGroup; a group made meanwhile (a retry whose answer was lost) counts as made.
async fn create_group(
    client: &aws_sdk_cognitoidentityprovider::Client,
    pool_id: &str,
    group: &str,
) -> anyhow::Result<()> {
    let made = client
        .create_group()
        .user_pool_id(pool_id)
        .group_name(group)
        .send()
        .await;
    match made {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_group_exists_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(
            crate::aws::AwsError::of::<aws_sdk_cognitoidentityprovider::Error, _>(
                "create a group in",
                format!("user pool `{pool_id}`"),
            )(err)
            .into(),
        ),
    }
}

/// `down`: a pool that is kept loses the triggers that are the stack's functions (they go); one
/// deleted takes them with it.
pub fn down(
    model: &Model,
    live: Option<&LivePool>,
    (pool, ours): (&str, &BTreeSet<String>),
    delete_data: bool,
) -> Vec<DownStep> {
    let Some(live) = live else {
        return vec![DownStep::Absent];
    };
    if user_pool::unit::deletes_data(model, pool, delete_data) {
        return vec![DownStep::Absent];
    }
    let triggers = super::live(live.described.as_ref().and_then(|d| d.0.lambda_config()));
    let ours: Vec<String> = triggers
        .iter()
        .filter(|(_, arn)| super::is_the_stacks(ours, model.target, arn))
        .map(|(trigger, _)| trigger.to_string())
        .collect();
    if ours.is_empty() {
        return vec![DownStep::Absent];
    }
    vec![DownStep::Delete(
        Entry::new(
            format!("userPools.{pool}.triggers"),
            Kind::UserPoolTriggers,
            format!("{} ({})", live.name, live.id),
            Action::Delete,
        )
        .with_note(format!(
            "the pool is kept, so its triggers on the stack's functions ({}) are cleared before the functions go: with them, every sign-up would fail",
            ours.join(", ")
        )),
    )]
}

/// Clears the triggers that are the stack's functions (`ours`) from the kept pool `live`.
pub async fn delete(
    ctx: &Context,
    live: Option<&LivePool>,
    pool: &str,
    ours: &BTreeSet<String>,
) -> anyhow::Result<()> {
    let Some(live) = live else {
        return Ok(());
    };
    clear(ctx, &live.id, &live.name, ours)
        .await
        .with_context(|| format!("userPools.{pool}.triggers: clearing (UpdateUserPool)"))
}

/// Sets pool `id`'s triggers to those that are not `ours`, if any of them is.
async fn clear(ctx: &Context, id: &str, name: &str, ours: &BTreeSet<String>) -> anyhow::Result<()> {
    let cognito = &ctx.clients.cognito;
    let Some(now) = user_pool::describe(cognito, id, name).await? else {
        return Ok(());
    };
    let live_config = now.described.as_ref().and_then(|d| d.0.lambda_config());
    let live = super::live(live_config);
    let kept: Triggers = live
        .iter()
        .filter(|(_, arn)| !super::is_the_stacks(ours, &ctx.target, arn))
        .map(|(trigger, arn)| (*trigger, arn.clone()))
        .collect();
    if kept == live {
        return Ok(());
    }
    let config = super::config(live_config, &kept);
    user_pool::set_lambda_config(cognito, &ctx.stack.name, &now, config).await?;
    Ok(())
}

/// The kept pools stack.yaml no longer declares (`pool_leftovers`) whose triggers are the stack's
/// functions (`ours`): each a leftover that clears them, before the functions go (its kind comes
/// after functions', and leftovers go in the reverse order).
pub async fn leftovers(
    ctx: &Context,
    pool_leftovers: &[Leftover],
    ours: &BTreeSet<String>,
) -> anyhow::Result<Vec<Leftover>> {
    let mut found = Vec::new();
    for pool in pool_leftovers {
        let Some(id) = &pool.id else { continue };
        let Some(live) = user_pool::describe(&ctx.clients.cognito, id, &pool.name)
            .await
            .with_context(|| format!("{}: reading its triggers", pool.entry.address))?
        else {
            continue;
        };
        let triggers = super::live(live.described.as_ref().and_then(|d| d.0.lambda_config()));
        let theirs: Vec<String> = triggers
            .iter()
            .filter(|(_, arn)| super::is_the_stacks(ours, &ctx.target, arn))
            .map(|(trigger, _)| trigger.to_string())
            .collect();
        if theirs.is_empty() {
            continue;
        }
        found.push(Leftover {
            entry: Entry::new(
                format!("{}.triggers", pool.entry.address),
                Kind::UserPoolTriggers,
                format!("{} ({id})", pool.name),
                Action::Delete,
            )
            .with_note(format!(
                "the pool is no longer in stack.yaml and is kept: its triggers on the stack's functions ({}) are cleared before the functions go",
                theirs.join(", ")
            )),
            name: pool.name.clone(),
            id: Some(id.clone()),
            parent: None,
        });
    }
    Ok(found)
}

/// Clears a kept leftover pool's triggers on the stack's functions (`ours`).
pub async fn delete_leftover(
    ctx: &Context,
    leftover: &Leftover,
    ours: &BTreeSet<String>,
) -> anyhow::Result<()> {
    let Some(id) = &leftover.id else {
        return Ok(());
    };
    clear(ctx, id, &leftover.name, ours).await
}
