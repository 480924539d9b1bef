//! The plan entries a node shows: what `diff` prints and `up` reports.

use super::*;
use crate::plan::Kind;

impl NodePlan {
    /// The plan entries this node shows, NoOps included.
    pub fn entries(&self, ctx: &Model) -> Vec<Entry> {
        let stack = &ctx.stack;
        match self {
            NodePlan::Pool {
                name,
                live,
                action,
                foreign,
            } => {
                let physical = live
                    .as_ref()
                    .map(|p| format!("{} ({})", p.name, p.id))
                    .unwrap_or_else(|| stack.user_pools[name].physical_name.clone());
                let mut entry = Entry::new(
                    format!("userPools.{name}"),
                    Kind::UserPool,
                    physical,
                    action.clone(),
                )
                .with_attributes(PoolSettings::desired(&stack.user_pools[name]).attributes());
                if let Action::Replace { .. } = action {
                    entry = entry.with_note(format!(
                        "replacing the pool deletes every user in it; `up` refuses unless run with `--allow-replace {name}`"
                    ));
                } else if !foreign.is_empty() {
                    entry = entry.with_note(format!(
                        "other pools named `{}` without this stack's tag are left alone: {}",
                        stack.user_pools[name].physical_name,
                        foreign.join(", ")
                    ));
                }
                vec![entry]
            }
            NodePlan::Client {
                pool,
                client,
                live,
                action,
                ..
            } => {
                let physical = live
                    .as_ref()
                    .map(|c| format!("{} ({})", c.name, c.id))
                    .unwrap_or_else(|| {
                        stack.user_pools[pool].clients[client].physical_name.clone()
                    });
                let mut entry = Entry::new(
                    format!("userPools.{pool}.clients.{client}"),
                    Kind::UserPoolClient,
                    physical,
                    action.clone(),
                )
                .with_attributes(
                    ClientSettings::desired(&stack.user_pools[pool].clients[client]).attributes(),
                );
                if let Action::Replace { .. } = action {
                    entry = entry.with_note(format!(
                        "a new client gets a new id that apps must be given; `up` refuses unless run with `--allow-replace {client}`"
                    ));
                }
                vec![entry]
            }
            NodePlan::Role {
                function,
                action,
                desired,
                ..
            } => vec![
                Entry::new(
                    format!("functions.{function}.role"),
                    Kind::IamRole,
                    stack.functions[function].role_name.clone(),
                    action.clone(),
                )
                .with_attributes(desired.attributes()),
            ],
            NodePlan::Function {
                function,
                log_group: group,
                log_action,
                action,
                desired,
                permissions,
                ..
            } => {
                let spec = &stack.functions[function];
                let group_name = log_group::log_group_name(&spec.physical_name);
                let mut log_entry = Entry::new(
                    format!("functions.{function}.logGroup"),
                    Kind::LogGroup,
                    group_name,
                    log_action.clone(),
                )
                .with_attributes(vec![crate::plan::attribute(
                    "retentionDays",
                    &spec.log_retention_days,
                )]);
                if *log_action == Action::NoOp
                    && group.as_ref().is_some_and(|g| !g.owned_by(&stack.name))
                {
                    log_entry = log_entry.with_note(
                        "exists without this stack's tag: left alone (the function logs into it)",
                    );
                }
                let mut entries = vec![
                    log_entry,
                    Entry::new(
                        format!("functions.{function}"),
                        Kind::LambdaFunction,
                        spec.physical_name.clone(),
                        action.clone(),
                    )
                    .with_attributes(desired.attributes()),
                ];
                if let Some(permissions) = permissions {
                    entries.push(Entry::new(
                        format!("functions.{function}.permissions"),
                        Kind::LambdaPermissions,
                        spec.physical_name.clone(),
                        permissions.action.clone(),
                    ));
                }
                entries
            }
            NodePlan::Api {
                desired,
                live,
                changes,
                foreign,
                permissions,
            } => {
                let api_name = match live {
                    Some(api) => format!("{} ({})", api.name, api.id),
                    None => desired.name.clone(),
                };
                let mut api_entry = Entry::new("api", Kind::RestApi, api_name, changes.api.clone());
                if !foreign.is_empty() {
                    api_entry = api_entry.with_note(format!(
                        "other REST APIs named `{}` without this stack's tag are left alone: {}",
                        desired.name,
                        foreign.join(", ")
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
                for (function, permission) in permissions {
                    entries.push(Entry::new(
                        format!("functions.{function}.permissions"),
                        Kind::LambdaPermissions,
                        stack.functions[function].physical_name.clone(),
                        permission.action.clone(),
                    ));
                }
                if changes.deployment.is_some() {
                    entries.push(
                        Entry::new(
                            "api.deployment",
                            Kind::ApiDeployment,
                            format!("for stage {}", desired.stage),
                            Action::Create,
                        )
                        .with_note(deployment_reason(live.is_some(), changes)),
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
        }
    }
}

/// Why the API is deployed again, in terms of stack.yaml: the routes that change.
fn deployment_reason(api_exists: bool, changes: &rest_api::ApiChanges) -> String {
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
