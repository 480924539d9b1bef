//! The calls that apply a node's plan.

use super::*;
use crate::kinds::function::FunctionChange;

/// Applies one node's plan; records new values (ids, ARNs) in `values`.
pub async fn apply(
    ctx: &Context,
    observed: &Live,
    node: &NodePlan,
    values: &std::sync::Mutex<Values>,
) -> anyhow::Result<()> {
    let stack = &ctx.stack;
    let clients = &ctx.clients;
    match node {
        NodePlan::Pool {
            name, live, action, ..
        } => {
            let spec = &stack.user_pools[name];
            let address = format!("userPools.{name}");
            let created = match (action, live) {
                (Action::NoOp, _) => None,
                (Action::Update { .. }, Some(live)) => {
                    user_pool::update(&clients.cognito, &stack.name, live, spec)
                        .await
                        .with_context(|| format!("{address}: UpdateUserPool"))?;
                    None
                }
                (Action::Replace { .. }, Some(live)) => {
                    user_pool::delete(&clients.cognito, &stack.name, live, spec)
                        .await
                        .with_context(|| format!("{address}: replacing (DeleteUserPool)"))?;
                    Some(
                        user_pool::create(&clients.cognito, &stack.name, spec)
                            .await
                            .with_context(|| format!("{address}: replacing (CreateUserPool)"))?,
                    )
                }
                _ => Some(
                    user_pool::create(&clients.cognito, &stack.name, spec)
                        .await
                        .with_context(|| format!("{address}: CreateUserPool"))?,
                ),
            };
            if let Some(created) = created {
                lock(values).pools.insert(
                    name.clone(),
                    PoolValues {
                        id: created.id,
                        arn: created.arn,
                    },
                );
            }
        }
        NodePlan::Client {
            pool,
            client,
            pool_id,
            live,
            action,
        } => {
            let spec = &stack.user_pools[pool].clients[client];
            let address = format!("userPools.{pool}.clients.{client}");
            let pool_id = pool_id
                .clone()
                .with_context(|| format!("{address}: its pool has no id"))?;
            let created = match (action, live) {
                (Action::NoOp, _) => None,
                (Action::Update { .. }, Some(live)) => {
                    user_pool_client::update(&clients.cognito, &pool_id, live, spec)
                        .await
                        .with_context(|| format!("{address}: UpdateUserPoolClient"))?;
                    None
                }
                (Action::Replace { .. }, Some(live)) => {
                    user_pool_client::delete(&clients.cognito, &pool_id, live)
                        .await
                        .with_context(|| format!("{address}: replacing (DeleteUserPoolClient)"))?;
                    Some(
                        user_pool_client::create(&clients.cognito, &pool_id, spec)
                            .await
                            .with_context(|| {
                                format!("{address}: replacing (CreateUserPoolClient)")
                            })?,
                    )
                }
                _ => Some(
                    user_pool_client::create(&clients.cognito, &pool_id, spec)
                        .await
                        .with_context(|| format!("{address}: CreateUserPoolClient"))?,
                ),
            };
            if let Some(created) = created {
                lock(values)
                    .clients
                    .entry(pool.clone())
                    .or_default()
                    .insert(client.clone(), created.id);
            }
        }
        NodePlan::Role {
            function,
            desired,
            live,
            action,
        } => {
            let spec = &stack.functions[function];
            let address = format!("functions.{function}.role");
            match (action, live) {
                (Action::NoOp, _) => {}
                (Action::Create, _) => {
                    let description = format!(
                        "Lambda function {} of stack {} (managed by provisioner)",
                        spec.physical_name, stack.name
                    );
                    role::create(
                        &clients.iam,
                        &stack.name,
                        &spec.role_name,
                        &description,
                        desired,
                    )
                    .await
                    .with_context(|| format!("{address}: creating"))?;
                }
                (_, Some(live)) => {
                    role::update(&clients.iam, &spec.role_name, &live.settings, desired)
                        .await
                        .with_context(|| format!("{address}: updating"))?
                }
                (_, None) => {
                    anyhow::bail!("{address}: planned an update of a role that does not exist")
                }
            }
        }
        NodePlan::Function {
            function,
            log_group: group,
            log_action,
            log_changes,
            desired,
            action,
            changes,
            permissions,
            ..
        } => {
            let spec = &stack.functions[function];
            let address = format!("functions.{function}");
            let group_name = log_group::log_group_name(&spec.physical_name);
            let retention = i32::try_from(spec.log_retention_days).unwrap_or(i32::MAX);
            match (log_action, group) {
                (Action::Create, _) => {
                    log_group::create(&clients.logs, &stack.name, &group_name, retention)
                        .await
                        .with_context(|| format!("{address}.logGroup: creating"))?
                }
                (Action::Update { .. }, Some(group)) => {
                    for change in log_changes {
                        match change {
                            // Tagging comes first: the group is not ours until it is tagged.
                            LogGroupChange::Adopt => {
                                log_group::adopt(&clients.logs, &stack.name, group)
                                    .await
                                    .with_context(|| format!("{address}.logGroup: adopting"))?
                            }
                            LogGroupChange::Retention => {
                                log_group::set_retention(&clients.logs, &group_name, retention)
                                    .await
                                    .with_context(|| {
                                        format!("{address}.logGroup: PutRetentionPolicy")
                                    })?
                            }
                        }
                    }
                }
                // Nothing to do, or nothing live to update (an update is planned only for a group
                // that exists); log groups are never replaced, and deleted only by `down`.
                (
                    Action::NoOp | Action::Update { .. } | Action::Replace { .. } | Action::Delete,
                    _,
                ) => {}
            }
            match action {
                Action::NoOp => {}
                Action::Create => {
                    let zip = read_zip(ctx, function)?;
                    function::create(
                        &clients.lambda,
                        &stack.name,
                        &spec.physical_name,
                        desired,
                        &zip,
                        ctx.waits,
                        ctx.progress.as_ref(),
                    )
                    .await
                    .with_context(|| format!("{address}: creating"))?;
                }
                // Functions have no setting that forces a replacement: an update either way.
                Action::Update { .. } | Action::Replace { .. } => {
                    let zip = if changes.contains(&FunctionChange::Code) {
                        read_zip(ctx, function)?
                    } else {
                        Vec::new()
                    };
                    function::update(
                        &clients.lambda,
                        &spec.physical_name,
                        changes,
                        desired,
                        &zip,
                        ctx.waits,
                        ctx.progress.as_ref(),
                    )
                    .await
                    .with_context(|| format!("{address}: updating"))?;
                }
                Action::Delete => {}
            }
            if let Some(permissions) = permissions
                && permissions.action != Action::NoOp
            {
                permission::update(
                    &clients.lambda,
                    &spec.physical_name,
                    &permissions.live,
                    &permissions.desired,
                )
                .await
                .with_context(|| format!("{address}.permissions: updating"))?;
            }
        }
        NodePlan::Api {
            desired,
            live,
            changes,
            permissions,
            ..
        } => {
            let api_id = rest_api::apply(
                &clients.apigateway,
                &ctx.pacer,
                &stack.name,
                live.as_deref(),
                desired,
                changes,
            )
            .await
            .context("api: applying")?;
            lock(values).api_id = Some(api_id.clone());
            // Planned before the API had an id, maybe: the statements name it.
            let permissions = match live {
                Some(_) => permissions.clone(),
                None => api_permissions(&ctx.model(), observed, &api_id),
            };
            try_join_all(
                permissions
                    .iter()
                    .filter(|(_, p)| p.action != Action::NoOp)
                    .map(|(function, p)| async move {
                        let spec = &stack.functions[function];
                        permission::update(
                            &clients.lambda,
                            &spec.physical_name,
                            &p.live,
                            &p.desired,
                        )
                        .await
                        .with_context(|| format!("functions.{function}.permissions: updating"))
                    }),
            )
            .await?;
        }
    }
    Ok(())
}
