//! Reading live AWS: every resource stack.yaml declares, found by its deterministic name (and,
//! for pools and APIs, whose names AWS does not keep unique, by name and ownership tag). Reads run
//! concurrently; nothing here writes.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::try_join_all;

use super::Context;
use crate::kinds::permission::{self, Grants};
use crate::kinds::rest_api::{self, ApiSearch};
use crate::kinds::{function, log_group, role, user_pool, user_pool_client};
use crate::spec::OWNERSHIP_TAG;

/// Pools with the stack's pool name: at most one of ours, and the ids of the others.
#[derive(Debug, Clone, Default)]
pub struct PoolSearch {
    pub owned: Option<user_pool::LivePool>,
    pub foreign: Vec<String>,
}

/// What is live, by logical name. Roles, log groups and functions have unique names: what is
/// found may be foreign (check `owned_by`).
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub pools: BTreeMap<String, PoolSearch>,
    /// Clients of owned pools, by (pool, client).
    pub clients: BTreeMap<(String, String), Option<user_pool_client::LiveClient>>,
    pub roles: BTreeMap<String, Option<role::LiveRole>>,
    pub log_groups: BTreeMap<String, Option<log_group::LiveLogGroup>>,
    pub functions: BTreeMap<String, Option<function::LiveFunction>>,
    /// Statements on functions this stack owns.
    pub permissions: BTreeMap<String, Grants>,
    pub api: ApiSearch,
}

type PoolFound = (
    String,
    PoolSearch,
    Vec<((String, String), Option<user_pool_client::LiveClient>)>,
);

/// One function's role, log group, function and (if ours) permissions.
type FunctionFound = (
    String,
    Option<role::LiveRole>,
    Option<log_group::LiveLogGroup>,
    Option<function::LiveFunction>,
    Option<Grants>,
);

pub async fn observe(ctx: &Context) -> anyhow::Result<Live> {
    let stack = &ctx.stack;
    let pools = try_join_all(stack.user_pools.iter().map(|(name, pool)| async move {
        let found = user_pool::find_by_name(&ctx.clients.cognito, &pool.physical_name)
            .await
            .with_context(|| format!("userPools.{name}: reading"))?;
        let (mut owned, foreign): (Vec<_>, Vec<_>) =
            found.into_iter().partition(|p| p.owned_by(&stack.name));
        if owned.len() > 1 {
            anyhow::bail!(user_pool::UserPoolError::Ambiguous {
                name: pool.physical_name.clone(),
                stack: stack.name.clone(),
                count: owned.len(),
                ids: owned.into_iter().map(|p| p.id).collect(),
            });
        }
        let owned = owned.pop();
        let mut clients = Vec::new();
        if let Some(live) = &owned {
            for (client_name, client) in &pool.clients {
                let found =
                    user_pool_client::find(&ctx.clients.cognito, &live.id, &client.physical_name)
                        .await
                        .with_context(|| {
                            format!("userPools.{name}.clients.{client_name}: reading")
                        })?;
                clients.push(((name.clone(), client_name.clone()), found));
            }
        }
        let search = PoolSearch {
            owned,
            foreign: foreign.into_iter().map(|p| p.id).collect(),
        };
        Ok::<PoolFound, anyhow::Error>((name.clone(), search, clients))
    }));

    let functions = try_join_all(stack.functions.iter().map(|(name, f)| async move {
        let address = format!("functions.{name}");
        let (found_role, found_group, found_function) = tokio::try_join!(
            async {
                role::find(&ctx.clients.iam, &f.role_name)
                    .await
                    .with_context(|| format!("{address}.role: reading"))
            },
            async {
                log_group::find(
                    &ctx.clients.logs,
                    &log_group::log_group_name(&f.physical_name),
                )
                .await
                .with_context(|| format!("{address}.logGroup: reading"))
            },
            async {
                function::find(&ctx.clients.lambda, &f.physical_name)
                    .await
                    .with_context(|| format!("{address}: reading"))
            },
        )?;
        let grants = match &found_function {
            Some(live) if live.owned_by(&stack.name) => Some(
                permission::find(&ctx.clients.lambda, &f.physical_name)
                    .await
                    .with_context(|| format!("{address}.permissions: reading"))?,
            ),
            _ => None,
        };
        Ok::<FunctionFound, anyhow::Error>((
            name.clone(),
            found_role,
            found_group,
            found_function,
            grants,
        ))
    }));

    let api = async {
        let Some(api) = &stack.api else {
            return Ok(ApiSearch::default());
        };
        let mut search = rest_api::find(
            &ctx.clients.apigateway,
            &ctx.pacer,
            &api.physical_name,
            &stack.name,
        )
        .await
        .context("api: reading")?;
        if let Some(live) = &mut search.owned {
            rest_api::read_stage(&ctx.clients.apigateway, &ctx.pacer, live, &api.stage)
                .await
                .context("api: reading the stage")?;
        }
        Ok::<ApiSearch, anyhow::Error>(search)
    };

    let (pools, functions, api) = tokio::try_join!(pools, functions, api)?;
    let mut live = Live {
        api,
        ..Live::default()
    };
    for (name, search, clients) in pools {
        live.pools.insert(name, search);
        live.clients.extend(clients);
    }
    for (name, found_role, found_group, found_function, grants) in functions {
        if let Some(grants) = grants {
            live.permissions.insert(name.clone(), grants);
        }
        live.roles.insert(name.clone(), found_role);
        live.log_groups.insert(name.clone(), found_group);
        live.functions.insert(name, found_function);
    }
    Ok(live)
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
