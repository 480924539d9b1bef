//! A pool's triggers, Cognito's permissions on their functions and the pool's groups as a unit of
//! the engine: reading the groups, planning one pool's, applying, and `down`, which clears the
//! triggers of a pool it keeps before their functions go (every sign-up would fail otherwise).

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::{Triggers, statement_id};
use crate::base::{Context, DownStep, Model, Planned, Values};
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
    pool: &str,
) -> Node {
    let (stack, target) = (model.stack, model.target);
    let known = values.pools.get(pool);
    let live_pool = live_pool.filter(|live| known.is_some_and(|k| k.id == live.id));
    let live = super::live(
        live_pool
            .and_then(|p| p.described.as_ref())
            .and_then(|d| d.0.lambda_config()),
    );
    let desired = super::desired(stack, target, pool, &live);
    let pool_arn = known.map_or_else(
        || crate::base::KNOWN_AFTER_APPLY.to_owned(),
        |k| k.arn.clone(),
    );
    let sid = statement_id(pool);
    let permissions = super::grants(stack, pool, &pool_arn)
        .into_iter()
        .filter_map(|(function, desired)| {
            let live: Grants = statements
                .grants
                .get(&function)
                .and_then(|grants| grants.get(&sid))
                .map(|grant| (sid.clone(), grant.clone()))
                .into_iter()
                .collect();
            let observed = ObservedStatements {
                functions: statements.functions.clone(),
                grants: BTreeMap::from([(function.clone(), live)]),
            };
            let planned = cognito_plan(&observed, &function, desired);
            (planned.action != Action::NoOp).then_some((function, planned))
        })
        .collect();
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

/// A function's Cognito statement for one pool, planned as the API's are.
fn cognito_plan(
    observed: &ObservedStatements,
    function: &str,
    desired: Grants,
) -> permission::unit::PermissionPlan {
    let live = observed.grants.get(function).cloned().unwrap_or_default();
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
    pool: &str,
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
        .filter(|(_, arn)| super::is_the_stacks(model.stack, model.target, arn))
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

/// Clears the triggers that are the stack's functions from the kept pool `live`.
pub async fn delete(ctx: &Context, live: Option<&LivePool>, pool: &str) -> anyhow::Result<()> {
    let Some(live) = live else {
        return Ok(());
    };
    let model = ctx.model();
    let name = &ctx.stack.user_pools[pool].physical_name;
    let Some(now) = user_pool::describe(&ctx.clients.cognito, &live.id, name).await? else {
        return Ok(());
    };
    let live_config = now.described.as_ref().and_then(|d| d.0.lambda_config());
    let kept: Triggers = super::live(live_config)
        .into_iter()
        .filter(|(_, arn)| !super::is_the_stacks(model.stack, model.target, arn))
        .collect();
    set(ctx, &live.id, pool, &kept)
        .await
        .with_context(|| format!("userPools.{pool}.triggers: clearing (UpdateUserPool)"))
}
