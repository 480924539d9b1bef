//! The user pool as a unit of the engine: reading the stack's pools, planning one, applying its
//! change, `down`, and the pools stack.yaml no longer declares (reported and kept: they hold
//! users' data).

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::{LivePool, PoolSettings, UserPoolError};
use crate::base::{
    Blocker, Context, DownStep, Leftover, Model, Planned, PoolValues, Values, lock, logical,
    untagged_in_the_way,
};
use crate::plan::{Action, Entry, Kind, Whole};
use crate::spec::{OWNERSHIP_TAG, Removal, ResourceId, Stack};

/// Every AWS operation this kind calls, with what IAM must allow (`operations`). Pools are found
/// by listing (ListUserPools is authorized on no pool); their ids are Cognito's, so the pool ARN
/// cannot be narrowed by name.
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::{ANY, USER_POOL};
    use crate::operations::condition::{ADOPTED, CREATED_AS_THE_STACKS, OWNED};
    &[
        op!(
            Cognito,
            "ListUserPools",
            [("cognito-idp:ListUserPools", ANY)]
        ),
        op!(
            Cognito,
            "DescribeUserPool",
            [("cognito-idp:DescribeUserPool", USER_POOL)]
        ),
        op!(
            Cognito,
            "CreateUserPool",
            [("cognito-idp:CreateUserPool", ANY, CREATED_AS_THE_STACKS)]
        ),
        op!(
            Cognito,
            "UpdateUserPool",
            [("cognito-idp:UpdateUserPool", USER_POOL, OWNED)]
        ),
        op!(
            Cognito,
            "DeleteUserPool",
            [("cognito-idp:DeleteUserPool", USER_POOL, OWNED)]
        ),
        op!(
            Cognito,
            "TagResource",
            [("cognito-idp:TagResource", USER_POOL, ADOPTED)]
        ),
        op!(
            Cognito,
            "UntagResource",
            [("cognito-idp:UntagResource", USER_POOL, OWNED)]
        ),
    ]
};

/// Pools with the stack's pool name: at most one of ours, and the others (`adopt` may take one).
#[derive(Debug, Clone, Default)]
pub struct PoolSearch {
    pub owned: Option<LivePool>,
    pub foreign: Vec<LivePool>,
    /// The owned pool's app clients as (name, id), listed while the pool was described.
    pub clients: Option<Vec<(String, String)>>,
    /// The logical name the owned pool was found under, when a `moved:` entry renamed it (Cognito
    /// cannot rename a pool: it keeps its old name).
    pub moved_from: Option<String>,
    /// A pool of ours under a `moved:` entry's old name while one lives under the new name too.
    pub also_under_old_name: Option<LivePool>,
}

/// What `observe` found: the declared pools by logical name, and the leftovers.
pub type Observed = (BTreeMap<String, PoolSearch>, Vec<Leftover>);

/// One listing of the pools under the stack's prefix serves the declared pools and finds the
/// undeclared ones.
pub async fn observe(ctx: &Context) -> anyhow::Result<Observed> {
    let stack = &ctx.stack;
    // A stack without pools does not read Cognito at all: its deploy role needs no Cognito
    // permission, and it deploys where Cognito is not offered. The cost: a pool left over from
    // an earlier stack.yaml is not reported (it is kept either way, as every undeclared pool).
    if stack.user_pools.is_empty() {
        return Ok(Default::default());
    }
    let prefix = format!("{}-", stack.name);
    let cognito = &ctx.clients.cognito;
    let listed = super::list_where(cognito, &prefix, |name| name.starts_with(&prefix))
        .await
        .context("userPools: reading")?;
    // The app clients of every pool with a declared name (or a `moved:` entry's old one) are
    // listed while the pools are described: one round trip, not two, before the clients are read
    // (an unowned pool's listing is dropped unread).
    let wanted: Vec<String> = stack
        .user_pools
        .keys()
        .flat_map(|pool| {
            let (name, old) = names(stack, pool);
            std::iter::once(name).chain(old.map(|(_, old_name)| old_name))
        })
        .collect();
    let candidates: Vec<&str> = listed
        .iter()
        .filter(|(_, name)| wanted.contains(name))
        .map(|(id, _)| id.as_str())
        .collect();
    let (prefixed, clients) = tokio::try_join!(
        async {
            super::describe_all(cognito, &listed)
                .await
                .context("userPools: reading")
        },
        async {
            // A pool that is not the stack's may refuse the listing (the deploy identity's
            // policy grants it only on the stack's pools): kept as refused, an error only if the
            // pool turns out to be ours.
            let listings =
                futures_util::future::try_join_all(candidates.iter().map(|id| async move {
                    match crate::kinds::user_pool_client::list(cognito, id).await {
                        Ok(clients) => Ok(((*id).to_owned(), Ok(clients))),
                        Err(crate::kinds::user_pool_client::ClientError::Aws(err))
                            if err.code().is_some_and(|code| code.contains("AccessDenied")) =>
                        {
                            Ok(((*id).to_owned(), Err(err)))
                        }
                        Err(err) => Err(err),
                    }
                }))
                .await
                .context("userPools: listing their app clients")?;
            Ok::<_, anyhow::Error>(listings.into_iter().collect::<BTreeMap<_, _>>())
        },
    )?;
    let mut clients = refused_unless_ours(stack, &prefixed, clients)?;
    let (found, declared) = search(stack, &prefixed, &mut clients)?;
    let leftovers = prefixed
        .into_iter()
        .filter(|p| !declared.contains(&p.name) && p.owned_by(&stack.name))
        .map(|p| Leftover {
            entry: Entry::new(
                format!("userPools.{}", logical(stack, &p.name)),
                Kind::UserPool,
                format!("{} ({})", p.name, p.id),
                Action::NoOp,
            )
            .with_note(
                "no longer in stack.yaml, and kept: it holds users' data; declare it again with `removal: delete` and run `down` to delete it",
            ),
            name: p.name,
            id: Some(p.id),
            parent: None,
        })
        .collect();
    Ok((found, leftovers))
}

/// A declared pool's physical name, and its `moved:` entry's old logical and physical names.
fn names(stack: &Stack, pool: &str) -> (String, Option<(String, String)>) {
    let id = ResourceId::UserPool {
        pool: pool.to_owned(),
    };
    let old = match stack.moved_to(&id) {
        Some(ResourceId::UserPool { pool: old }) => {
            Some((old.clone(), format!("{}-{old}", stack.name)))
        }
        _ => None,
    };
    (stack.user_pools[pool].physical_name.clone(), old)
}

/// The pools named `name` among `prefixed`: ours (an error if several) and the others.
fn named(
    stack: &Stack,
    prefixed: &[LivePool],
    name: &str,
) -> anyhow::Result<(Option<LivePool>, Vec<LivePool>)> {
    let (mut owned, foreign): (Vec<_>, Vec<_>) = prefixed
        .iter()
        .filter(|p| p.name == name)
        .cloned()
        .partition(|p| p.owned_by(&stack.name));
    if owned.len() > 1 {
        anyhow::bail!(UserPoolError::Ambiguous {
            name: name.to_owned(),
            stack: stack.name.clone(),
            count: owned.len(),
            ids: owned.into_iter().map(|p| p.id).collect(),
        });
    }
    Ok((owned.pop(), foreign))
}

/// Each declared pool's search (under its name, else its `moved:` entry's old one), taking its
/// clients' listing from `clients`; and every physical name a declared pool was found under
/// (never a leftover).
fn search(
    stack: &Stack,
    prefixed: &[LivePool],
    clients: &mut BTreeMap<String, Vec<(String, String)>>,
) -> anyhow::Result<(BTreeMap<String, PoolSearch>, Vec<String>)> {
    let mut found = BTreeMap::new();
    let mut declared: Vec<String> = Vec::new();
    for name in stack.user_pools.keys() {
        let (physical, old) = names(stack, name);
        let (mut owned, mut foreign) = named(stack, prefixed, &physical)?;
        declared.push(physical);
        let mut moved_from = None;
        let mut also_under_old_name = None;
        if let Some((old, old_name)) = old {
            let (owned_old, foreign_old) = named(stack, prefixed, &old_name)?;
            match (&owned, owned_old) {
                // Ours under both names: which holds the users is the user's call.
                (Some(_), Some(old_pool)) => also_under_old_name = Some(old_pool),
                (Some(_), None) => {}
                (None, Some(old_pool)) => {
                    owned = Some(old_pool);
                    moved_from = Some(old);
                    declared.push(old_name);
                }
                // The old pool lost its tag: as much in the way as one of the new name.
                (None, None) => foreign.extend(foreign_old),
            }
        }
        let search = PoolSearch {
            clients: owned.as_ref().and_then(|p| clients.remove(&p.id)),
            owned,
            foreign,
            moved_from,
            also_under_old_name,
        };
        found.insert(name.clone(), search);
    }
    Ok((found, declared))
}

/// What applying a pool's plan takes. Each carries what its calls need, so no state is left
/// for apply to guess.
#[derive(Debug, Clone)]
pub enum PoolChange {
    None,
    /// CreateUserPool.
    Create,
    /// UpdateUserPool with the whole configuration (Cognito resets what an update leaves out).
    Update(Box<LivePool>),
    /// DeleteUserPool, then CreateUserPool: only with `--allow-replace` (run refuses otherwise).
    Replace(Box<LivePool>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub live: Option<Box<LivePool>>,
    pub action: Action,
    pub change: PoolChange,
    pub foreign: Vec<String>,
    /// Found under this old logical name, through a `moved:` entry.
    pub moved_from: Option<String>,
}

/// The app clients listed, by pool id: a listing refused for a pool that is not the stack's is
/// dropped (it is never read); refused for one of the stack's, it is the error.
fn refused_unless_ours(
    stack: &crate::spec::Stack,
    pools: &[LivePool],
    listings: BTreeMap<String, Result<Vec<(String, String)>, crate::aws::AwsError>>,
) -> anyhow::Result<BTreeMap<String, Vec<(String, String)>>> {
    let mut clients = BTreeMap::new();
    for (id, listing) in listings {
        match listing {
            Ok(listed) => {
                clients.insert(id, listed);
            }
            Err(err) if pools.iter().any(|p| p.id == id && p.owned_by(&stack.name)) => {
                return Err(
                    anyhow::Error::from(err).context("userPools: listing their app clients")
                );
            }
            Err(_) => {}
        }
    }
    Ok(clients)
}

/// Plans pool `name` from its `search` as observed (None: not looked for).
pub fn plan(model: &Model, search: Option<&PoolSearch>, name: &str) -> Result<Node, Blocker> {
    let spec = &model.stack.user_pools[name];
    let search = search.cloned().unwrap_or_default();
    if let (Some(new), Some(old)) = (&search.owned, &search.also_under_old_name) {
        return Err(Blocker::new(
            format!("userPools.{name}"),
            format!(
                "a `moved` entry renames a pool to it, but the stack has a pool under each name: `{}` ({}, {} users by Cognito's estimate) and `{}` ({}, {} users); nothing is changed while it is unclear which one is meant\n  hint: remove the `moved` entry to keep `{}`; to keep the other, delete or untag `{}` first",
                new.name,
                new.id,
                new.estimated_users,
                old.name,
                old.id,
                old.estimated_users,
                new.name,
                new.name
            ),
        ));
    }
    let (action, change) = match search.owned.clone().map(Box::new) {
        // A pool of the stack's name without its tag is most likely the stack's own pool whose
        // tag was removed: a second one beside it would strand its users.
        None if search
            .foreign
            .iter()
            .any(|p| !p.tags.contains_key(OWNERSHIP_TAG)) =>
        {
            return Err(untagged_in_the_way(
                &format!("userPools.{name}"),
                "user pool",
                &model.stack.name,
                search
                    .foreign
                    .iter()
                    .filter(|p| !p.tags.contains_key(OWNERSHIP_TAG))
                    .map(|p| (p.id.as_str(), p.name.as_str())),
            ));
        }
        None => (Action::Create, PoolChange::Create),
        Some(found) => {
            let tags =
                crate::kinds::tags::desired(model.stack.tags.as_ref(), Some(&found.settings.tags));
            let mut desired = PoolSettings::desired(spec, &tags);
            if spec.case_sensitive_usernames.is_none() {
                // Not written: an existing pool keeps what it has (one made before the setting
                // existed is case sensitive, and cannot change without a replacement).
                desired.case_sensitive_usernames = found.settings.case_sensitive_usernames;
            }
            let (action, whole) = super::diff_typed(&found.settings, &desired);
            let change = match whole {
                Whole::InSync => PoolChange::None,
                Whole::Update => PoolChange::Update(found),
                Whole::Replace => PoolChange::Replace(found),
            };
            (action, change)
        }
    };
    Ok(Node {
        name: name.to_owned(),
        live: search.owned.map(Box::new),
        action,
        change,
        foreign: search.foreign.into_iter().map(|p| p.id).collect(),
        moved_from: search.moved_from,
    })
}

impl Planned for Node {
    fn entries(&self, model: &Model) -> Vec<Entry> {
        let spec = &model.stack.user_pools[&self.name];
        let physical = self
            .live
            .as_ref()
            .map(|p| format!("{} ({})", p.name, p.id))
            .unwrap_or_else(|| spec.physical_name.clone());
        let mut entry = Entry::new(
            format!("userPools.{}", self.name),
            Kind::UserPool,
            physical,
            self.action.clone(),
        )
        .with_attributes(
            PoolSettings::desired(spec, &model.stack.tags.clone().unwrap_or_default()).attributes(),
        );
        if let Action::Replace { .. } = self.action {
            entry = entry.with_note(format!(
                "replacing the pool deletes every user in it; `up` refuses unless run with `--allow-replace userPools.{}`",
                self.name
            ));
        } else if let (Some(old), Some(live)) = (&self.moved_from, &self.live) {
            entry = entry.with_note(format!(
                "moved from `userPools.{old}`; Cognito cannot rename a pool, so it keeps the name `{}`: keep the `moved` entry in stack.yaml while it exists",
                live.name
            ));
        } else if !self.foreign.is_empty() {
            entry = entry.with_note(format!(
                "other pools named `{}` without this stack's tag are left alone: {}",
                spec.physical_name,
                self.foreign.join(", ")
            ));
        }
        vec![entry]
    }

    /// A pool created anew has no id or ARN yet for what is planned after it (its clients go
    /// with it).
    fn forget(&self, values: &mut Values) {
        match self.change {
            PoolChange::Create | PoolChange::Replace(_) => {
                values.pools.remove(&self.name);
                values.clients.remove(&self.name);
            }
            PoolChange::None | PoolChange::Update(_) => {}
        }
    }

    async fn apply(
        &self,
        ctx: &Context,
        values: &std::sync::Mutex<Values>,
        _waits: &crate::dag::Waits,
    ) -> anyhow::Result<()> {
        let (stack, cognito) = (&ctx.stack, &ctx.clients.cognito);
        let spec = &stack.user_pools[&self.name];
        let address = format!("userPools.{}", self.name);
        let created = match &self.change {
            PoolChange::None => None,
            PoolChange::Update(live) => {
                super::update(
                    cognito,
                    (
                        &stack.name,
                        &crate::kinds::tags::desired(
                            stack.tags.as_ref(),
                            Some(&live.settings.tags),
                        ),
                    ),
                    live,
                    spec,
                )
                .await
                .with_context(|| format!("{address}: UpdateUserPool"))?;
                None
            }
            PoolChange::Replace(live) => {
                super::delete(cognito, &stack.name, live, spec)
                    .await
                    .with_context(|| format!("{address}: replacing (DeleteUserPool)"))?;
                Some(
                    super::create(
                        cognito,
                        (&stack.name, &stack.tags.clone().unwrap_or_default()),
                        spec,
                    )
                    .await
                    .with_context(|| format!("{address}: replacing (CreateUserPool)"))?,
                )
            }
            PoolChange::Create => Some(
                super::create(
                    cognito,
                    (&stack.name, &stack.tags.clone().unwrap_or_default()),
                    spec,
                )
                .await
                .with_context(|| format!("{address}: CreateUserPool"))?,
            ),
        };
        if let Some(created) = created {
            lock(values).pools.insert(
                self.name.clone(),
                PoolValues {
                    id: created.id,
                    arn: created.arn,
                },
            );
        }
        Ok(())
    }
}

/// Whether the pool's data goes: stack.yaml's `removal: delete`, or `--delete-data`.
pub fn deletes_data(model: &Model, pool: &str, delete_data: bool) -> bool {
    delete_data || model.stack.user_pools[pool].removal == Removal::Delete
}

/// `found`: the pool of this stack as observed.
pub fn down(
    model: &Model,
    found: Option<&LivePool>,
    pool: &str,
    delete_data: bool,
) -> Vec<DownStep> {
    let Some(found) = found else {
        return vec![DownStep::Absent];
    };
    let entry = Entry::new(
        format!("userPools.{pool}"),
        Kind::UserPool,
        format!("{} ({})", found.name, found.id),
        Action::Delete,
    );
    if deletes_data(model, pool, delete_data) {
        vec![DownStep::Delete(
            entry.with_note("deletes every user in the pool"),
        )]
    } else {
        vec![DownStep::Keep(Entry {
            action: Action::NoOp,
            ..entry.with_note(format!(
                "it holds users' data: kept, deletion protection on; `removal: delete` for pool `{pool}` in stack.yaml, or `--delete-data`, deletes it; the next `up` adopts it"
            ))
        })]
    }
}

pub async fn delete(ctx: &Context, found: Option<&LivePool>, pool: &str) -> anyhow::Result<()> {
    if let Some(found) = found {
        super::delete(
            &ctx.clients.cognito,
            &ctx.stack.name,
            found,
            &ctx.stack.user_pools[pool],
        )
        .await?;
    }
    Ok(())
}

/// A pool stack.yaml no longer declares is never deleted: it holds users' data, and the only
/// opt-in (`removal: delete`) is written on a declared pool.
pub fn delete_leftover(_leftover: &Leftover) -> anyhow::Result<()> {
    Ok(())
}

/// `adopt`: tags `pool` (found by the stack's name, without its tag) as `stack`'s with
/// TagResource; nothing else about it changes, and the next `up` reconciles its settings.
///
/// With `emulator` (an endpoint URL was given), an endpoint that does not implement TagResource
/// (it answers without an AWS error code, which AWS never does) gets UpdateUserPool with the
/// pool's own live settings and its tags plus ours instead, and `warn` says so. Never against AWS:
/// there that call would reset what it is not sent (triggers, MFA, email settings).
pub async fn adopt(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    stack: &str,
    pool: &LivePool,
    emulator: bool,
    warn: impl Fn(&str),
) -> anyhow::Result<()> {
    use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
    // Throttling is retried; an endpoint without the operation costs two quick retries.
    let retries = RetryConfig::standard()
        .with_max_attempts(3)
        .with_max_backoff(std::time::Duration::from_secs(2));
    let tagged = cognito
        .tag_resource()
        .resource_arn(&pool.arn)
        .tags(OWNERSHIP_TAG, stack)
        .customize()
        .config_override(
            aws_sdk_cognitoidentityprovider::config::Builder::default().retry_config(retries),
        )
        .send()
        .await;
    let what = || format!("user pool `{}` ({})", pool.name, pool.id);
    match tagged {
        Ok(_) => Ok(()),
        Err(err) if emulator && crate::aws::not_implemented_here(&err) => {
            warn(&format!(
                "this endpoint does not implement Cognito's TagResource (an emulator?): {} is tagged through UpdateUserPool with its own settings instead",
                what()
            ));
            super::update_to(cognito, stack, pool, &pool.settings)
                .await
                .with_context(|| format!("failed to tag {}", what()))
        }
        Err(err) => Err(anyhow::Error::new(err).context(format!("failed to tag {}", what()))),
    }
}
