//! The one place that lists the kinds of resource a stack is made of. Each kind is a unit in
//! `kinds/<kind>/unit.rs` (observe, plan, down, delete, leftovers, and its plan's node, a
//! [`Planned`]); here each operation dispatches to them, one line per kind, every match
//! exhaustive: adding a kind is a new unit, a `ResourceId` and a `Kind` variant, its line in
//! [`nodes!`], and the compiler names each line left to write here (the leftover sweep
//! included). Each unit is handed what it reads of what was observed, its own and other kinds'
//! facts by name, never the whole [`Live`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Blocker, Context, DownStep, Leftover, Model, Planned, Resolve, Values};
use crate::dag;
use crate::kinds::function::{self, LiveFunction};
use crate::kinds::log_group::{self, LiveLogGroup};
use crate::kinds::permission::Grants;
use crate::kinds::permission::unit::ObservedStatements;
use crate::kinds::rest_api::{self, ApiSearch};
use crate::kinds::role::{self, LiveRole};
use crate::kinds::triggers;
use crate::kinds::user_pool::{self, unit::PoolSearch};
use crate::kinds::user_pool_client::{self, LiveClient};
use crate::plan::{Entry, Kind};
use crate::spec::ResourceId;

/// What is live, by logical name, as each kind's `observe` found it. Roles, log groups and
/// functions have unique names: what is found may be foreign (check `owned_by`).
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub pools: BTreeMap<String, PoolSearch>,
    /// Clients of owned pools, by (pool, client).
    pub clients: BTreeMap<(String, String), Option<LiveClient>>,
    /// By pool: every app client id it has, declared or not.
    pub client_ids: BTreeMap<String, Vec<String>>,
    /// By pool that declares groups: the groups it has.
    pub groups: BTreeMap<String, Vec<String>>,
    pub roles: BTreeMap<String, Option<LiveRole>>,
    /// The stack's `permissionsBoundary:` as IAM has it (None: the stack sets no boundary).
    pub boundary: Option<crate::kinds::role::boundary::LiveBoundary>,
    pub log_groups: BTreeMap<String, Option<LiveLogGroup>>,
    pub functions: BTreeMap<String, Option<LiveFunction>>,
    /// Statements on functions this stack owns.
    pub permissions: BTreeMap<String, Grants>,
    pub api: ApiSearch,
    /// What carries this stack's tag but stack.yaml no longer declares, every kind's.
    pub leftovers: Vec<Leftover>,
}

impl Live {
    /// What planning invoke permissions reads: which functions exist, and their statements.
    pub fn statements(&self) -> ObservedStatements {
        ObservedStatements {
            functions: self
                .functions
                .iter()
                .filter(|(_, found)| found.is_some())
                .map(|(name, _)| name.clone())
                .collect(),
            // A failed function's statements go with it when it is made again.
            grants: self
                .permissions
                .iter()
                .filter(|(name, _)| {
                    let failed = self
                        .functions
                        .get(*name)
                        .and_then(Option::as_ref)
                        .is_some_and(|f| f.failed.is_some());
                    !failed
                })
                .map(|(name, grants)| (name.clone(), grants.clone()))
                .collect(),
        }
    }

    /// The stack's pool `pool`, as observed.
    pub fn pool(&self, pool: &str) -> Option<&user_pool::LivePool> {
        self.pools.get(pool).and_then(|s| s.owned.as_ref())
    }

    /// App client `client` of the stack's pool `pool`, as observed.
    pub fn client(&self, pool: &str, client: &str) -> Option<&LiveClient> {
        self.clients
            .get(&(pool.to_owned(), client.to_owned()))
            .and_then(Option::as_ref)
    }

    /// The role of `function`'s name, as observed (whoever's it is).
    pub fn role(&self, function: &str) -> Option<&LiveRole> {
        self.roles.get(function).and_then(Option::as_ref)
    }

    /// The log group of `function`'s name, as observed (whoever's it is).
    pub fn log_group(&self, function: &str) -> Option<&LiveLogGroup> {
        self.log_groups.get(function).and_then(Option::as_ref)
    }

    /// The names of the stack's functions: declared, or its leftovers.
    pub fn stack_functions(
        &self,
        stack: &crate::spec::Stack,
    ) -> std::collections::BTreeSet<String> {
        triggers::stack_functions(stack, &self.leftovers)
    }

    /// The function of `function`'s name, as observed (whoever's it is).
    pub fn function(&self, function: &str) -> Option<&LiveFunction> {
        self.functions.get(function).and_then(Option::as_ref)
    }

    /// The rounds of reads `observe` made, each waiting on an answer of the one before: per kind,
    /// the listing or first read, then what only its answer can name. The longest, as found.
    pub fn read_depth(&self) -> usize {
        // ListUserPools; DescribeUserPool and ListUserPoolClients; DescribeUserPoolClient.
        let cognito = self
            .pools
            .values()
            .map(|search| match &search.owned {
                None => 1,
                Some(_) if self.clients.values().any(Option::is_some) => 3,
                Some(_) => 2,
            })
            .max()
            .unwrap_or(0);
        // GetRestApis; its authorizers, resources and stage; the stage's deployment.
        let api = match &self.api.owned {
            None => 1,
            Some(api) if api.stage.is_some() => 3,
            Some(_) => 2,
        };
        // DescribeLogGroups; the tags of those found.
        let logs = if self.log_groups.values().any(Option::is_some) {
            2
        } else {
            1
        };
        // GetFunction; the policy of those found.
        let functions = if self.functions.values().any(Option::is_some) {
            2
        } else {
            1
        };
        // GetRole, its attached and inline policies at once.
        let roles = 1;
        [cognito, api, logs, functions, roles]
            .into_iter()
            .max()
            .unwrap_or(1)
    }
}

/// Reads every resource the stack declares, and its leftovers: the kinds concurrently (app
/// clients after their pools). Nothing here writes.
pub async fn observe(ctx: &Context) -> anyhow::Result<Live> {
    let cognito = async {
        let (pools, pool_leftovers) = user_pool::unit::observe(ctx).await?;
        let (clients, groups) = tokio::try_join!(
            user_pool_client::unit::observe(ctx, &pools),
            triggers::unit::observe(ctx, &pools),
        )?;
        Ok::<_, anyhow::Error>((pools, pool_leftovers, clients, groups))
    };
    let (
        (pools, pool_leftovers, (clients, client_ids, client_leftovers), groups),
        (roles, role_leftovers, boundary),
        (log_groups, group_leftovers),
        (functions, permissions, function_leftovers),
        (api, api_leftovers),
    ) = tokio::try_join!(
        cognito,
        role::unit::observe(ctx),
        log_group::unit::observe(ctx),
        function::unit::observe(ctx),
        rest_api::unit::observe(ctx),
    )?;
    // A kept pool no longer declared must not keep triggers on functions that go with it.
    let ours = triggers::stack_functions(&ctx.stack, &function_leftovers);
    let trigger_leftovers = if pool_leftovers.is_empty() {
        Vec::new()
    } else {
        triggers::unit::leftovers(ctx, &pool_leftovers, &ours).await?
    };
    let mut leftovers: Vec<Leftover> = [
        pool_leftovers,
        trigger_leftovers,
        client_leftovers,
        role_leftovers,
        group_leftovers,
        function_leftovers,
        api_leftovers,
    ]
    .concat();
    // In the order they can go: the reverse of creation.
    leftovers.sort_by_key(|l| std::cmp::Reverse(l.entry.kind.rank()));
    Ok(Live {
        pools,
        clients,
        client_ids,
        groups,
        roles,
        boundary,
        log_groups,
        functions,
        permissions,
        api,
        leftovers,
    })
}

/// Whether node `id` waits for `dep`, one of its needs, part-way through its apply (through the
/// run's `dag::Waits`) rather than before it starts: the API creates itself, its authorizers,
/// resources and methods while the functions its routes call are made, and waits for each only
/// before that route's integration and that function's invoke permissions.
pub fn awaited_in_apply(id: &ResourceId, dep: &ResourceId) -> bool {
    match id {
        ResourceId::Api => matches!(dep, ResourceId::Function { .. }),
        ResourceId::UserPool { .. }
        | ResourceId::UserPoolClient { .. }
        | ResourceId::Role { .. }
        | ResourceId::LogGroup { .. }
        | ResourceId::Function { .. }
        | ResourceId::Triggers { .. } => false,
    }
}

/// The kinds of node a plan is made of, one line each: the [`NodePlan`] variant and its unit's
/// node. Each method of [`NodePlan`] dispatches to the node's [`Planned`].
macro_rules! nodes {
    ($($variant:ident => $node:ty),+ $(,)?) => {
        /// A node's plan: what is live, what is desired, and the typed change between them.
        #[derive(Debug, Clone)]
        pub enum NodePlan {
            $($variant($node)),+
        }

        impl NodePlan {
            /// The plan entries this node shows, NoOps included.
            pub fn entries(&self, model: &Model) -> Vec<Entry> {
                match self { $(NodePlan::$variant(node) => node.entries(model)),+ }
            }

            /// What this node creates anew has no value (id, ARN) yet for those planned after it.
            pub fn forget(&self, values: &mut Values) {
                match self { $(NodePlan::$variant(node) => node.forget(values)),+ }
            }

            /// Makes the calls of this node's plan; records new values (ids, ARNs) in `values`.
            /// `waits` lets it wait part-way for the needs it awaits in its apply.
            pub async fn apply(
                &self,
                ctx: &Context,
                values: &Mutex<Values>,
                waits: &dag::Waits,
            ) -> anyhow::Result<()> {
                match self { $(NodePlan::$variant(node) => node.apply(ctx, values, waits).await),+ }
            }
        }
    };
}

nodes! {
    Pool => user_pool::unit::Node,
    Client => user_pool_client::unit::Node,
    Role => role::unit::Node,
    LogGroup => log_group::unit::Node,
    Function => function::unit::Node,
    Triggers => triggers::unit::Node,
    Api => rest_api::unit::Node,
}

/// Plans one node from what was observed and the values known now. Pure.
pub fn plan(
    model: &Model,
    live: &Live,
    values: &Values,
    id: &ResourceId,
    mode: Resolve,
) -> Result<NodePlan, Blocker> {
    Ok(match id {
        ResourceId::UserPool { pool } => {
            NodePlan::Pool(user_pool::unit::plan(model, live.pools.get(pool), pool)?)
        }
        ResourceId::UserPoolClient { pool, client } => {
            NodePlan::Client(user_pool_client::unit::plan(
                model,
                live.pools.get(pool).and_then(|s| s.owned.as_ref()),
                live.client(pool, client),
                values,
                pool,
                client,
            )?)
        }
        ResourceId::Role { function } => NodePlan::Role(role::unit::plan(
            model,
            (live.role(function), live.boundary.as_ref()),
            values,
            function,
            mode,
        )?),
        ResourceId::LogGroup { function } => NodePlan::LogGroup(log_group::unit::plan(
            model,
            live.log_group(function),
            live.function(function)
                .is_some_and(|f| f.owned_by(&model.stack.name)),
            function,
        )?),
        ResourceId::Function { function } => NodePlan::Function(function::unit::plan(
            model,
            live.function(function),
            &live.statements(),
            values,
            function,
            mode,
        )?),
        ResourceId::Triggers { pool } => NodePlan::Triggers(triggers::unit::plan(
            model,
            live.pool(pool),
            live.groups.get(pool),
            &live.statements(),
            values,
            (pool, &live.stack_functions(model.stack)),
        )),
        ResourceId::Api => NodePlan::Api(rest_api::unit::plan(
            model,
            &live.api,
            &live.statements(),
            values,
            mode,
        )?),
    })
}

/// What `down` does to one resource.
pub fn down(model: &Model, live: &Live, id: &ResourceId, delete_data: bool) -> Vec<DownStep> {
    match id {
        ResourceId::UserPool { pool } => {
            user_pool::unit::down(model, live.pool(pool), pool, delete_data)
        }
        ResourceId::UserPoolClient { pool, client } => user_pool_client::unit::down(
            model,
            live.client(pool, client),
            pool,
            client,
            delete_data,
        ),
        ResourceId::Role { function } => role::unit::down(model, live.role(function), function),
        ResourceId::LogGroup { function } => {
            log_group::unit::down(model, live.log_group(function), function)
        }
        ResourceId::Function { function } => {
            function::unit::down(model, live.function(function), function)
        }
        ResourceId::Triggers { pool } => triggers::unit::down(
            model,
            live.pool(pool),
            (pool, &live.stack_functions(model.stack)),
            delete_data,
        ),
        ResourceId::Api => rest_api::unit::down(live.api.owned.as_ref()),
    }
}

/// Deletes one resource `down` planned to delete.
pub async fn delete(ctx: &Context, live: &Live, id: &ResourceId) -> anyhow::Result<()> {
    match id {
        ResourceId::UserPool { pool } => user_pool::unit::delete(ctx, live.pool(pool), pool).await,
        ResourceId::UserPoolClient { pool, client } => {
            user_pool_client::unit::delete(ctx, live.pool(pool), live.client(pool, client)).await
        }
        ResourceId::Role { function } => role::unit::delete(ctx, function).await,
        ResourceId::LogGroup { function } => log_group::unit::delete(ctx, function).await,
        ResourceId::Function { function } => function::unit::delete(ctx, function).await,
        ResourceId::Triggers { pool } => {
            let ours = live.stack_functions(&ctx.stack);
            triggers::unit::delete(ctx, live.pool(pool), pool, &ours).await
        }
        ResourceId::Api => rest_api::unit::delete(ctx, live.api.owned.as_ref()).await,
    }
}

/// Deletes a leftover (a NoOp entry, a kept pool, is left alone by its kind); a kept pool's
/// triggers on the stack's functions are cleared.
pub async fn delete_leftover(
    ctx: &Context,
    live: &Live,
    leftover: &Leftover,
) -> anyhow::Result<()> {
    match leftover.entry.kind {
        Kind::UserPoolTriggers => {
            let ours = live.stack_functions(&ctx.stack);
            triggers::unit::delete_leftover(ctx, leftover, &ours).await
        }
        Kind::UserPool => user_pool::unit::delete_leftover(leftover),
        Kind::UserPoolClient => user_pool_client::unit::delete_leftover(ctx, leftover).await,
        Kind::IamRole => role::unit::delete_leftover(ctx, leftover).await,
        Kind::LogGroup => log_group::unit::delete_leftover(ctx, leftover).await,
        Kind::LambdaFunction => function::unit::delete_leftover(ctx, leftover).await,
        Kind::RestApi => rest_api::unit::delete_leftover(ctx, leftover).await,
        // Parts of an API, and a function's permissions, go with the API or the function:
        // no observe reports them as leftovers.
        Kind::ApiAuthorizer
        | Kind::ApiResource
        | Kind::ApiMethod
        | Kind::ApiGatewayResponse
        | Kind::ApiDeployment
        | Kind::ApiStage
        | Kind::LambdaPermissions
        | Kind::UserPoolGroup => Ok(()),
    }
}
