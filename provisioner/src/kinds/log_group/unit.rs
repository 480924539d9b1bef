//! A function's log group as a unit of the engine: reading the stack's groups, planning one
//! (create, adopt the group Lambda made, retention), applying it, `down`, and the groups
//! stack.yaml no longer declares. It is planned before its function, so that Lambda never
//! creates it first.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use futures_util::future::try_join_all;

use super::{LiveLogGroup, log_group_name};
use crate::base::{
    Blocker, Context, DownStep, Leftover, Model, Planned, Values, leftovers_by_name, logical,
};
use crate::plan::{Action, Entry, FieldChange, Kind, attribute};
use crate::spec::OWNERSHIP_TAG;

/// Every AWS operation this kind calls, with what IAM must allow (`operations`). A create that
/// carries tags needs `logs:TagResource` too.
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::{FUNCTION_LOGS, LOG_GROUPS};
    use crate::operations::condition::CREATED_AS_THE_STACKS;
    &[
        op!(
            Logs,
            "DescribeLogGroups",
            [("logs:DescribeLogGroups", LOG_GROUPS)]
        ),
        op!(
            Logs,
            "ListTagsForResource",
            [("logs:ListTagsForResource", FUNCTION_LOGS)]
        ),
        op!(
            Logs,
            "CreateLogGroup",
            [
                ("logs:CreateLogGroup", FUNCTION_LOGS, CREATED_AS_THE_STACKS),
                ("logs:TagResource", FUNCTION_LOGS)
            ]
        ),
        op!(
            Logs,
            "PutRetentionPolicy",
            [("logs:PutRetentionPolicy", FUNCTION_LOGS)]
        ),
        op!(Logs, "TagResource", [("logs:TagResource", FUNCTION_LOGS)]),
        op!(
            Logs,
            "UntagResource",
            [("logs:UntagResource", FUNCTION_LOGS)]
        ),
        op!(
            Logs,
            "DeleteLogGroup",
            [("logs:DeleteLogGroup", FUNCTION_LOGS)]
        ),
    ]
};

/// What `observe` found: by function, its group (which may be foreign); and the leftovers.
pub type Observed = (BTreeMap<String, Option<LiveLogGroup>>, Vec<Leftover>);

/// One listing of the groups under `/aws/lambda/<stack>-` serves the declared groups named so and
/// finds the leftovers; then the tags of each group found (one call each). A group named otherwise
/// (a function's own physical name) is looked up by itself. CloudWatch Logs allows few
/// DescribeLogGroups a second: one listing, not one per function.
pub async fn observe(ctx: &Context) -> anyhow::Result<Observed> {
    let stack = &ctx.stack;
    let logs = &ctx.clients.logs;
    let prefix = log_group_name(&format!("{}-", stack.name));
    let listed = super::list_with_prefix(logs, &prefix)
        .await
        .context("listing log groups")?;
    let listed = &listed;
    let prefix = &prefix;
    let found = try_join_all(stack.functions.iter().map(|(name, f)| async move {
        let group_name = log_group_name(&f.physical_name);
        let group = if group_name.starts_with(prefix.as_str()) {
            match listed
                .iter()
                .find(|g| g.log_group_name() == Some(group_name.as_str()))
            {
                Some(group) => super::with_tags(logs, group).await,
                None => Ok(None),
            }
        } else {
            super::find(logs, &group_name).await
        }
        .with_context(|| format!("functions.{name}.logGroup: reading"))?;
        Ok::<_, anyhow::Error>((name.clone(), group))
    }));
    let leftovers = async {
        let declared: Vec<String> = stack
            .functions
            .values()
            .map(|f| log_group_name(&f.physical_name))
            .collect();
        let names = listed
            .iter()
            .filter_map(|g| g.log_group_name())
            .map(str::to_owned)
            .collect();
        leftovers_by_name(
            names,
            &declared,
            |name| async move {
                let Some(group) = listed
                    .iter()
                    .find(|g| g.log_group_name() == Some(name.as_str()))
                else {
                    return Ok(false);
                };
                Ok(super::with_tags(logs, group)
                    .await?
                    .is_some_and(|live| live.owned_by(&stack.name)))
            },
            |name| {
                let function = name.rsplit('/').next().unwrap_or(&name);
                let address = format!("functions.{}.logGroup", logical(stack, function));
                Leftover::named(address, Kind::LogGroup, name)
            },
        )
        .await
    };
    let (found, leftovers) = tokio::try_join!(found, leftovers)?;
    Ok((found.into_iter().collect(), leftovers))
}

/// One call that applies part of a log group's update, in the order they are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogGroupChange {
    /// TagResource: an untagged group of our function's (Lambda made it on a first invocation)
    /// becomes ours. First: the group is not ours until it is tagged.
    Adopt,
    /// PutRetentionPolicy.
    Retention,
    /// TagResource and UntagResource: the stack's `tags:`.
    Tags,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub function: String,
    pub live: Option<Box<LiveLogGroup>>,
    pub action: Action,
    /// CreateLogGroup when None and the action is a create; else these calls.
    pub changes: BTreeSet<LogGroupChange>,
}

/// Plans `function`'s log group from the group of its name as observed, knowing whether the
/// function of its name (whose logs go there) is this stack's.
pub fn plan(
    model: &Model,
    group: Option<&LiveLogGroup>,
    function_is_ours: bool,
    function: &str,
) -> Result<Node, Blocker> {
    let stack = &model.stack;
    let group = group.cloned();
    let retention = retention_days(model, function);
    let mut changes = BTreeSet::new();
    let action = match &group {
        None => Action::Create,
        Some(group) if group.owned_by(&stack.name) => {
            if group.retention_days != Some(retention) {
                changes.insert(LogGroupChange::Retention);
            }
            let tags =
                crate::kinds::tags::desired(stack.tags.as_ref(), Some(&group.managed_tags()));
            if group.managed_tags() != tags {
                changes.insert(LogGroupChange::Tags);
            }
            super::diff(
                group.retention_days,
                retention,
                &group.managed_tags(),
                &tags,
            )
        }
        // Lambda creates the group untagged on a first invocation: a group named after a
        // function of ours that carries our tag is that function's, and is adopted.
        Some(group) if !group.tags.contains_key(OWNERSHIP_TAG) && function_is_ours => {
            changes.insert(LogGroupChange::Adopt);
            let mut shown = vec![FieldChange {
                field: "owner",
                live: "untagged (created by Lambda)".to_owned(),
                desired: format!("{OWNERSHIP_TAG}={}", stack.name),
                forces_replacement: false,
            }];
            if group.retention_days != Some(retention) {
                changes.insert(LogGroupChange::Retention);
            }
            let tags =
                crate::kinds::tags::desired(stack.tags.as_ref(), Some(&group.managed_tags()));
            if group.managed_tags() != tags {
                changes.insert(LogGroupChange::Tags);
            }
            if let Action::Update { changes: more } = super::diff(
                group.retention_days,
                retention,
                &group.managed_tags(),
                &tags,
            ) {
                shown.extend(more);
            }
            Action::Update { changes: shown }
        }
        // Someone else's group (another stack's tag, or untagged beside a function that is
        // not ours): the function logs into it; it is left alone.
        Some(_) => Action::NoOp,
    };
    Ok(Node {
        function: function.to_owned(),
        live: group.map(Box::new),
        action,
        changes,
    })
}

fn retention_days(model: &Model, function: &str) -> i32 {
    i32::try_from(model.stack.functions[function].log_retention_days).unwrap_or(i32::MAX)
}

impl Planned for Node {
    fn entries(&self, model: &Model) -> Vec<Entry> {
        let stack = &model.stack;
        let spec = &stack.functions[&self.function];
        let mut entry = Entry::new(
            format!("functions.{}.logGroup", self.function),
            Kind::LogGroup,
            log_group_name(&spec.physical_name),
            self.action.clone(),
        )
        .with_attributes(
            std::iter::once(attribute("retentionDays", &spec.log_retention_days))
                .chain(
                    stack
                        .tags
                        .as_ref()
                        .filter(|tags| !tags.is_empty())
                        .map(|tags| attribute("tags", tags)),
                )
                .collect(),
        );
        if self.action == Action::NoOp
            && self.live.as_ref().is_some_and(|g| !g.owned_by(&stack.name))
        {
            entry = entry.with_note(
                "exists without this stack's tag: left alone (the function logs into it)",
            );
        }
        vec![entry]
    }

    fn forget(&self, _values: &mut Values) {
        // Its name is known before it exists.
    }

    async fn apply(
        &self,
        ctx: &Context,
        _values: &std::sync::Mutex<Values>,
        _waits: &crate::dag::Waits,
    ) -> anyhow::Result<()> {
        let logs = &ctx.clients.logs;
        let address = format!("functions.{}.logGroup", self.function);
        let name = log_group_name(&ctx.stack.functions[&self.function].physical_name);
        let retention = retention_days(&ctx.model(), &self.function);
        let Some(group) = &self.live else {
            // Nothing live: the plan is a create.
            return super::create(
                logs,
                (&ctx.stack.name, &ctx.stack.tags.clone().unwrap_or_default()),
                &name,
                retention,
            )
            .await
            .with_context(|| format!("{address}: creating"));
        };
        for change in &self.changes {
            match change {
                LogGroupChange::Adopt => super::adopt(logs, &ctx.stack.name, group)
                    .await
                    .with_context(|| format!("{address}: adopting"))?,
                LogGroupChange::Retention => super::set_retention(logs, &name, retention)
                    .await
                    .with_context(|| format!("{address}: PutRetentionPolicy"))?,
                LogGroupChange::Tags => super::retag(
                    logs,
                    group,
                    &crate::kinds::tags::desired(
                        ctx.stack.tags.as_ref(),
                        Some(&group.managed_tags()),
                    ),
                )
                .await
                .with_context(|| format!("{address}: tagging"))?,
            }
        }
        Ok(())
    }
}

pub fn down(model: &Model, group: Option<&LiveLogGroup>, function: &str) -> Vec<DownStep> {
    match group.cloned() {
        Some(group) if group.owned_by(&model.stack.name) => {
            vec![DownStep::Delete(Entry::new(
                format!("functions.{function}.logGroup"),
                Kind::LogGroup,
                group.name,
                Action::Delete,
            ))]
        }
        // Absent, or someone else's: the function logged into it; it is not ours to delete.
        _ => vec![DownStep::Absent],
    }
}

pub async fn delete(ctx: &Context, function: &str) -> anyhow::Result<()> {
    let name = log_group_name(&ctx.stack.functions[function].physical_name);
    super::delete(&ctx.clients.logs, &name).await?;
    Ok(())
}

pub async fn delete_leftover(ctx: &Context, leftover: &Leftover) -> anyhow::Result<()> {
    super::delete(&ctx.clients.logs, &leftover.name).await?;
    Ok(())
}
