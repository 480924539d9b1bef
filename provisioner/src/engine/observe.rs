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
    /// The id of every app client of the owned pool, declared or not (serve's authorizer takes
    /// tokens of any of them, as API Gateway's does).
    pub client_ids: Vec<String>,
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
    pub undeclared: Undeclared,
}

/// Resources that carry this stack's tag (or, for app clients, live in its pool under its name
/// prefix) but that stack.yaml no longer declares: `up` and `down` delete them, except pools, which
/// hold users' data and are only reported.
#[derive(Debug, Clone, Default)]
pub struct Undeclared {
    /// Physical names.
    pub functions: Vec<String>,
    pub log_groups: Vec<String>,
    pub roles: Vec<String>,
    /// (id, name).
    pub pools: Vec<(String, String)>,
    /// (pool id, client).
    pub clients: Vec<(String, user_pool_client::LiveClient)>,
}

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
    // One listing of the pools with the stack's prefix serves the declared pools and finds the
    // undeclared ones; one listing of each owned pool's clients serves its declared and undeclared
    // clients.
    let pools = async {
        // A stack without pools does not read Cognito at all: its deploy role needs no Cognito
        // permission, and it deploys where Cognito is not offered. The cost: a pool left over from
        // an earlier stack.yaml is not reported (it is kept either way, as every undeclared pool).
        if stack.user_pools.is_empty() {
            return Ok((Vec::new(), Vec::new(), Vec::new()));
        }
        let prefix = format!("{}-", stack.name);
        let prefixed = user_pool::find_with_prefix(&ctx.clients.cognito, &prefix)
            .await
            .context("userPools: reading")?;
        let mut found = Vec::new();
        let mut undeclared_clients = Vec::new();
        for (name, pool) in &stack.user_pools {
            let (mut owned, foreign): (Vec<_>, Vec<_>) = prefixed
                .iter()
                .filter(|p| p.name == pool.physical_name)
                .cloned()
                .partition(|p| p.owned_by(&stack.name));
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
            let mut client_ids = Vec::new();
            if let Some(live) = &owned {
                let listed = user_pool_client::list(&ctx.clients.cognito, &live.id)
                    .await
                    .with_context(|| format!("userPools.{name}: listing its app clients"))?;
                client_ids = listed.iter().map(|(_, id)| id.clone()).collect();
                for (client_name, client) in &pool.clients {
                    let found_client = user_pool_client::find_listed(
                        &ctx.clients.cognito,
                        &live.id,
                        &client.physical_name,
                        &listed,
                    )
                    .await
                    .with_context(|| format!("userPools.{name}.clients.{client_name}: reading"))?;
                    clients.push(((name.clone(), client_name.clone()), found_client));
                }
                let declared: Vec<&str> = pool
                    .clients
                    .values()
                    .map(|c| c.physical_name.as_str())
                    .collect();
                for (client_name, id) in listed {
                    if client_name.starts_with(&prefix) && !declared.contains(&client_name.as_str())
                    {
                        undeclared_clients.push((
                            live.id.clone(),
                            user_pool_client::LiveClient {
                                id,
                                name: client_name,
                                // Not described: it is only ever deleted.
                                settings: user_pool_client::ClientSettings::default(),
                            },
                        ));
                    }
                }
            }
            let search = PoolSearch {
                owned,
                foreign: foreign.into_iter().map(|p| p.id).collect(),
                client_ids,
            };
            found.push((name.clone(), search, clients));
        }
        let declared: Vec<&str> = stack
            .user_pools
            .values()
            .map(|p| p.physical_name.as_str())
            .collect();
        let undeclared_pools: Vec<(String, String)> = prefixed
            .into_iter()
            .filter(|p| !declared.contains(&p.name.as_str()) && p.owned_by(&stack.name))
            .map(|p| (p.id, p.name))
            .collect();
        Ok::<_, anyhow::Error>((found, undeclared_pools, undeclared_clients))
    };

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
        let name = stack
            .api
            .as_ref()
            .map_or("", |api| api.physical_name.as_str());
        let mut search = rest_api::find(&ctx.clients.apigateway, &ctx.pacer, name, &stack.name)
            .await
            .context("api: reading")?;
        if let (Some(live), Some(api)) = (&mut search.owned, &stack.api) {
            rest_api::read_stage(&ctx.clients.apigateway, &ctx.pacer, live, &api.stage)
                .await
                .context("api: reading the stage")?;
        }
        Ok::<ApiSearch, anyhow::Error>(search)
    };

    let (pools, functions, api, undeclared) =
        tokio::try_join!(pools, functions, api, undeclared(ctx))?;
    let mut live = Live {
        api,
        ..Live::default()
    };
    let (pools, undeclared_pools, undeclared_clients) = pools;
    for (name, search, clients) in pools {
        live.pools.insert(name, search);
        live.clients.extend(clients);
    }
    live.undeclared = undeclared;
    live.undeclared.pools = undeclared_pools;
    live.undeclared.clients = undeclared_clients;
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

/// Finds what carries this stack's tag under a name stack.yaml does not declare. Candidates are
/// found by the `<stack>-` name prefix, then kept only if tagged as this stack's (so stack `auth`
/// never takes stack `auth-demo`'s resources).
async fn undeclared(ctx: &Context) -> anyhow::Result<Undeclared> {
    let stack = &ctx.stack;
    let prefix = format!("{}-", stack.name);
    let functions: Vec<&str> = stack
        .functions
        .values()
        .map(|f| f.physical_name.as_str())
        .collect();
    let roles: Vec<&str> = stack
        .functions
        .values()
        .map(|f| f.role_name.as_str())
        .collect();
    let groups: Vec<String> = functions
        .iter()
        .map(|f| log_group::log_group_name(f))
        .collect();
    let mut found = Undeclared::default();

    let (function_names, role_names, group_names) = tokio::try_join!(
        async {
            function::names_with_prefix(&ctx.clients.lambda, &prefix)
                .await
                .context("listing functions")
        },
        async {
            role::names_with_prefix(&ctx.clients.iam, &prefix)
                .await
                .context("listing IAM roles")
        },
        async {
            log_group::names_with_prefix(&ctx.clients.logs, &log_group::log_group_name(&prefix))
                .await
                .context("listing log groups")
        },
    )?;
    for name in function_names
        .iter()
        .filter(|n| !functions.contains(&n.as_str()))
    {
        if let Some(live) = function::find(&ctx.clients.lambda, name).await?
            && live.owned_by(&stack.name)
        {
            found.functions.push(name.clone());
        }
    }
    for name in role_names.iter().filter(|n| !roles.contains(&n.as_str())) {
        if let Some(live) = role::find(&ctx.clients.iam, name).await?
            && live.owned_by(&stack.name)
        {
            found.roles.push(name.clone());
        }
    }
    for name in group_names.iter().filter(|n| !groups.contains(n)) {
        if let Some(live) = log_group::find(&ctx.clients.logs, name).await?
            && live.owned_by(&stack.name)
        {
            found.log_groups.push(name.clone());
        }
    }
    Ok(found)
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
