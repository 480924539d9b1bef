//! The app client as a unit of the engine: reading the clients of the stack's pools, planning
//! one, applying its change, `down`, and the clients stack.yaml no longer declares.

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::{ClientSettings, LiveClient};
use crate::base::{
    Blocker, Context, DownStep, Leftover, Model, NO_LONGER_DECLARED, Planned, Values, lock, logical,
};
use crate::kinds::user_pool::LivePool;
use crate::kinds::user_pool::unit::{PoolSearch, deletes_data};
use crate::plan::{Action, Entry, Kind, Whole};
use crate::spec::ResourceId;

/// Every AWS operation this kind calls, with what IAM must allow (`operations`).
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::USER_POOL;
    use crate::operations::condition::OWNED;
    &[
        op!(
            Cognito,
            "ListUserPoolClients",
            [("cognito-idp:ListUserPoolClients", USER_POOL, OWNED)]
        ),
        op!(
            Cognito,
            "DescribeUserPoolClient",
            [("cognito-idp:DescribeUserPoolClient", USER_POOL, OWNED)]
        ),
        op!(
            Cognito,
            "CreateUserPoolClient",
            [("cognito-idp:CreateUserPoolClient", USER_POOL, OWNED)]
        ),
        op!(
            Cognito,
            "UpdateUserPoolClient",
            [("cognito-idp:UpdateUserPoolClient", USER_POOL, OWNED)]
        ),
        op!(
            Cognito,
            "DeleteUserPoolClient",
            [("cognito-idp:DeleteUserPoolClient", USER_POOL, OWNED)]
        ),
    ]
};

/// What `observe` found: by (pool, client) the declared clients of owned pools; by pool the id of
/// every client it has, declared or not (serve's authorizer takes tokens of any of them, as API
/// Gateway's does); and the leftovers.
pub type Observed = (
    BTreeMap<(String, String), Option<LiveClient>>,
    BTreeMap<String, Vec<String>>,
    Vec<Leftover>,
);

/// One listing of each owned pool's clients serves its declared and undeclared clients.
pub async fn observe(
    ctx: &Context,
    pools: &BTreeMap<String, PoolSearch>,
) -> anyhow::Result<Observed> {
    let stack = &ctx.stack;
    let prefix = format!("{}-", stack.name);
    let (mut found, mut ids, mut leftovers) = Observed::default();
    for (name, pool) in &stack.user_pools {
        let Some(search) = pools.get(name) else {
            continue;
        };
        let Some(live) = &search.owned else {
            continue;
        };
        let listed = match &search.clients {
            Some(listed) => listed.clone(),
            None => super::list(&ctx.clients.cognito, &live.id)
                .await
                .with_context(|| format!("userPools.{name}: listing its app clients"))?,
        };
        ids.insert(
            name.clone(),
            listed.iter().map(|(_, id)| id.clone()).collect(),
        );
        // Names a declared client was found under (a `moved:` entry's old one included).
        let mut declared: Vec<String> = Vec::new();
        for (client_name, client) in &pool.clients {
            let listed = &listed;
            let read = |physical: String| async move {
                super::find_listed(&ctx.clients.cognito, &live.id, &physical, listed)
                    .await
                    .with_context(|| format!("userPools.{name}.clients.{client_name}: reading"))
            };
            let mut found_client = read(client.physical_name.clone()).await?;
            declared.push(client.physical_name.clone());
            let id = ResourceId::UserPoolClient {
                pool: name.clone(),
                client: client_name.clone(),
            };
            if found_client.is_none()
                && let Some(ResourceId::UserPoolClient { client: old, .. }) = stack.moved_to(&id)
            {
                let old_name = format!("{}-{old}", stack.name);
                found_client = read(old_name.clone()).await?;
                declared.push(old_name);
            }
            found.insert((name.clone(), client_name.clone()), found_client);
        }
        for (client_name, id) in listed {
            if client_name.starts_with(&prefix) && !declared.contains(&client_name) {
                let address = format!("userPools.{name}.clients.{}", logical(stack, &client_name));
                leftovers.push(Leftover {
                    entry: Entry::new(
                        address.clone(),
                        Kind::UserPoolClient,
                        format!("{client_name} ({id})"),
                        Action::Delete,
                    )
                    .with_note(format!(
                        "{NO_LONGER_DECLARED}: apps using its id stop working; `up` refuses unless run with `--allow-replace {address}` (a `moved` entry renames it instead)"
                    )),
                    name: client_name,
                    id: Some(id),
                    parent: Some(live.id.clone()),
                });
            }
        }
    }
    Ok((found, ids, leftovers))
}

/// What applying a client's plan takes.
#[derive(Debug, Clone)]
pub enum ClientChange {
    None,
    /// CreateUserPoolClient.
    Create,
    /// UpdateUserPoolClient with every managed setting (Cognito resets what an update leaves out).
    Update(LiveClient),
    /// DeleteUserPoolClient, then CreateUserPoolClient: a new id, so only with `--allow-replace`.
    Replace(LiveClient),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub pool: String,
    pub client: String,
    /// The pool it goes into (None while the pool does not exist).
    pub pool_id: Option<String>,
    pub live: Option<LiveClient>,
    pub action: Action,
    pub change: ClientChange,
}

/// Plans app client `client` of `pool` from what was observed: the stack's pool of that name
/// (`observed_pool`), and the client in it (`observed`).
pub fn plan(
    model: &Model,
    observed_pool: Option<&LivePool>,
    observed: Option<&LiveClient>,
    values: &Values,
    pool: &str,
    client: &str,
) -> Result<Node, Blocker> {
    let spec = &model.stack.user_pools[pool].clients[client];
    let pool_id = values.pools.get(pool).map(|p| p.id.clone());
    // A client observed in a pool that is being replaced goes with it.
    let found = match (observed_pool, &pool_id) {
        (Some(observed_pool), Some(current)) if observed_pool.id == *current => observed.cloned(),
        _ => None,
    };
    let (action, change) = match &found {
        None => (Action::Create, ClientChange::Create),
        Some(found) => {
            let (action, whole) =
                super::diff_typed(&found.settings, &ClientSettings::desired(spec));
            let change = match whole {
                Whole::InSync => ClientChange::None,
                Whole::Update => ClientChange::Update(found.clone()),
                Whole::Replace => ClientChange::Replace(found.clone()),
            };
            (action, change)
        }
    };
    Ok(Node {
        pool: pool.to_owned(),
        client: client.to_owned(),
        pool_id,
        live: found,
        action,
        change,
    })
}

impl Planned for Node {
    fn entries(&self, model: &Model) -> Vec<Entry> {
        let spec = &model.stack.user_pools[&self.pool].clients[&self.client];
        let physical = self
            .live
            .as_ref()
            .map(|c| format!("{} ({})", c.name, c.id))
            .unwrap_or_else(|| spec.physical_name.clone());
        let mut entry = Entry::new(
            format!("userPools.{}.clients.{}", self.pool, self.client),
            Kind::UserPoolClient,
            physical,
            self.action.clone(),
        )
        .with_attributes(ClientSettings::desired(spec).attributes());
        if let Action::Replace { .. } = self.action {
            entry = entry.with_note(format!(
                "a new client gets a new id that apps must be given; `up` refuses unless run with `--allow-replace userPools.{}.clients.{}`",
                self.pool, self.client
            ));
        } else if let Some(live) = self.live.as_ref().filter(|l| l.name != spec.physical_name) {
            entry = entry.with_note(format!(
                "renamed from `{}` (a `moved` entry): its id stays",
                live.name
            ));
        }
        vec![entry]
    }

    /// A client created anew has no id yet for what is planned after it.
    fn forget(&self, values: &mut Values) {
        match self.change {
            ClientChange::Create | ClientChange::Replace(_) => {
                if let Some(clients) = values.clients.get_mut(&self.pool) {
                    clients.remove(&self.client);
                }
            }
            ClientChange::None | ClientChange::Update(_) => {}
        }
    }

    async fn apply(
        &self,
        ctx: &Context,
        values: &std::sync::Mutex<Values>,
        _waits: &crate::dag::Waits,
    ) -> anyhow::Result<()> {
        let cognito = &ctx.clients.cognito;
        let spec = &ctx.stack.user_pools[&self.pool].clients[&self.client];
        let address = format!("userPools.{}.clients.{}", self.pool, self.client);
        if let ClientChange::None = self.change {
            return Ok(());
        }
        let pool_id = self
            .pool_id
            .clone()
            .with_context(|| format!("{address}: its pool has no id"))?;
        let created = match &self.change {
            ClientChange::None => None,
            ClientChange::Update(live) => {
                super::update(cognito, &pool_id, live, spec)
                    .await
                    .with_context(|| format!("{address}: UpdateUserPoolClient"))?;
                None
            }
            ClientChange::Replace(live) => {
                super::delete(cognito, &pool_id, live)
                    .await
                    .with_context(|| format!("{address}: replacing (DeleteUserPoolClient)"))?;
                Some(
                    super::create(cognito, &pool_id, spec)
                        .await
                        .with_context(|| format!("{address}: replacing (CreateUserPoolClient)"))?,
                )
            }
            ClientChange::Create => Some(
                super::create(cognito, &pool_id, spec)
                    .await
                    .with_context(|| format!("{address}: CreateUserPoolClient"))?,
            ),
        };
        if let Some(created) = created {
            lock(values)
                .clients
                .entry(self.pool.clone())
                .or_default()
                .insert(self.client.clone(), created.id);
        }
        Ok(())
    }
}

/// `found`: the client as observed.
pub fn down(
    model: &Model,
    found: Option<&LiveClient>,
    pool: &str,
    client: &str,
    delete_data: bool,
) -> Vec<DownStep> {
    let Some(found) = found else {
        return vec![DownStep::Absent];
    };
    let entry = Entry::new(
        format!("userPools.{pool}.clients.{client}"),
        Kind::UserPoolClient,
        format!("{} ({})", found.name, found.id),
        Action::Delete,
    );
    if deletes_data(model, pool, delete_data) {
        vec![DownStep::Delete(entry)]
    } else {
        vec![DownStep::Keep(Entry {
            action: Action::NoOp,
            ..entry.with_note("kept with its pool, so that apps keep their client id")
        })]
    }
}

/// Deletes the client `found` in `found_pool`, as observed.
pub async fn delete(
    ctx: &Context,
    found_pool: Option<&LivePool>,
    found: Option<&LiveClient>,
) -> anyhow::Result<()> {
    if let (Some(found_pool), Some(found)) = (found_pool, found) {
        super::delete(&ctx.clients.cognito, &found_pool.id, found).await?;
    }
    Ok(())
}

pub async fn delete_leftover(ctx: &Context, leftover: &Leftover) -> anyhow::Result<()> {
    let (Some(pool_id), Some(id)) = (&leftover.parent, &leftover.id) else {
        anyhow::bail!("an app client left over without its pool id or its own");
    };
    let client = LiveClient {
        id: id.clone(),
        name: leftover.name.clone(),
        // Not described: it is only deleted.
        settings: ClientSettings::default(),
    };
    super::delete(&ctx.clients.cognito, pool_id, &client).await?;
    Ok(())
}
