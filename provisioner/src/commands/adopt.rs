//! `provisioner adopt <address>`: take over a user pool or REST API that has the stack's exact name
//! but not its ownership tag (a tag removed by hand or by a clean-up script), as `terraform import`
//! does. `up` refuses to create a second one beside it (that would fork the users or the URL);
//! this shows what would be taken over, asks, tags it under the stack's lock, then shows the plan
//! `up` would now apply to it. Nothing but the tag changes.

use std::io::IsTerminal;

use super::reconcile::{release_lock, start_without_code};
use super::{UsageError, exit};
use crate::cli::{AdoptArgs, GlobalArgs};
use crate::engine::{Context, Live, Resolve, Values, observe, units};
use crate::kinds::{rest_api, user_pool};
use crate::output;
use crate::plan::Plan;
use crate::spec::{OWNERSHIP_TAG, ResourceId, Stack};

/// What `adopt` can take over.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Adoptable {
    Pool(String),
    Api,
}

/// `userPools.<name>` (declared) or `api` (declared); anything else is a usage error that lists
/// what can be adopted.
fn parse(stack: &Stack, address: &str) -> Result<Adoptable, UsageError> {
    let mut choices: Vec<String> = stack
        .user_pools
        .keys()
        .map(|name| format!("userPools.{name}"))
        .collect();
    if stack.api.is_some() {
        choices.push("api".to_owned());
    }
    if let Some(pool) = address.strip_prefix("userPools.")
        && stack.user_pools.contains_key(pool)
    {
        return Ok(Adoptable::Pool(pool.to_owned()));
    }
    if address == "api" && stack.api.is_some() {
        return Ok(Adoptable::Api);
    }
    let hint = match crate::spec::did_you_mean(address, choices.iter().map(String::as_str)) {
        Some(close) => format!("did you mean `{close}`?"),
        None if choices.is_empty() => {
            "this stack declares no user pool and no API: nothing can be adopted".to_owned()
        }
        None => format!("stack.yaml declares: {}", choices.join(", ")),
    };
    Err(UsageError(format!(
        "`{address}` is not a user pool or API of stack `{}`: `adopt` takes over a declared user pool (`userPools.<name>`) or the API (`api`)\n\nhint: {hint}",
        stack.name
    )))
}

/// The resource to take over, with what is shown of it.
enum Candidate {
    Pool(Box<user_pool::LivePool>),
    Api(String),
}

/// What is live under an adoptable address's name.
struct Search {
    address: String,
    kind: &'static str,
    name: String,
    /// It already carries the stack's tag.
    owned: bool,
    /// Those without the stack's tag: (id, the stack their tag names, if any).
    found: Vec<(String, Option<String>)>,
}

/// Picks the one resource `adopt` takes over, or says why it cannot.
fn candidate(
    stack: &Stack,
    live: &Live,
    what: &Adoptable,
    id: Option<&str>,
) -> anyhow::Result<Option<Candidate>> {
    let search = match what {
        Adoptable::Pool(pool) => {
            let search = live.pools.get(pool).cloned().unwrap_or_default();
            Search {
                address: format!("userPools.{pool}"),
                kind: "user pool",
                name: stack.user_pools[pool].physical_name.clone(),
                owned: search.owned.is_some(),
                found: search
                    .foreign
                    .iter()
                    .map(|p| (p.id.clone(), p.tags.get(OWNERSHIP_TAG).cloned()))
                    .collect(),
            }
        }
        Adoptable::Api => Search {
            address: "api".to_owned(),
            kind: "REST API",
            name: stack
                .api
                .as_ref()
                .map(|api| api.physical_name.clone())
                .unwrap_or_default(),
            owned: live.api.owned.is_some(),
            found: live.api.foreign.clone(),
        },
    };
    let Search {
        address,
        kind,
        name,
        owned,
        found,
    } = search;
    if owned {
        output::status(&format!(
            "{address}: the {kind} `{name}` already carries the tag `{OWNERSHIP_TAG}={}`: nothing to adopt",
            stack.name
        ));
        return Ok(None);
    }
    let chosen = match (found.as_slice(), id) {
        ([], _) => anyhow::bail!(
            "{address}: no {kind} named `{name}` exists here: nothing to adopt\n\nhint: `provisioner up` creates it"
        ),
        (_, Some(id)) => found
            .iter()
            .find(|(candidate, _)| candidate == id)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{address}: no {kind} named `{name}` has the id `{id}`; those that do: {}",
                    found
                        .iter()
                        .map(|(id, _)| id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
        ([one], None) => one,
        (several, None) => anyhow::bail!(
            "{address}: {} {kind}s are named `{name}`: {}\n\nhint: name the one to take over with `--id`",
            several.len(),
            several
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if let (chosen_id, Some(owner)) = chosen {
        anyhow::bail!(
            "{address}: the {kind} `{name}` ({chosen_id}) carries the tag `{OWNERSHIP_TAG}={owner}`: it is stack `{owner}`'s, and `adopt` does not take from another stack; nothing was changed\n\nhint: if stack `{owner}` no longer uses it, remove that tag first"
        );
    }
    Ok(Some(match what {
        Adoptable::Pool(pool) => Candidate::Pool(Box::new(
            live.pools[pool]
                .foreign
                .iter()
                .find(|p| p.id == chosen.0)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{address}: the chosen pool vanished"))?,
        )),
        Adoptable::Api => Candidate::Api(chosen.0.clone()),
    }))
}

/// Asks on a terminal; without one, only `--yes` goes ahead.
fn confirm(yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to take it over without confirmation: there is no terminal to ask on, and `--yes` was not given; nothing was changed\n\nhint: check it is the stack's, then run `provisioner adopt ... --yes`"
        );
    }
    super::reconcile::ask("Take it over?")
}

pub async fn adopt(global: &GlobalArgs, args: &AdoptArgs) -> anyhow::Result<i32> {
    // The address is checked against stack.yaml before anything is called.
    let loaded = super::reconcile::load_without_code(global)?;
    let what = parse(&loaded.loaded.stack, &args.address)?;
    let (ctx, live) = start_without_code(global, loaded).await?;
    let Some(candidate) = candidate(&ctx.stack, &live, &what, args.id.as_deref())? else {
        return Ok(exit::OK);
    };
    let stack = &ctx.stack.name;
    let shown = match &candidate {
        Candidate::Pool(pool) => format!(
            "user pool `{}` ({}), {} user(s) by Cognito's estimate",
            pool.name, pool.id, pool.estimated_users
        ),
        Candidate::Api(id) => format!("REST API `{}` ({id})", api_name(&ctx)),
    };
    output::status(&format!(
        "{}: {shown}, without the tag `{OWNERSHIP_TAG}={stack}`. Adopting it tags it as stack `{stack}`'s; nothing else about it changes. From then on `up`, `diff` and `down` manage it.",
        args.address
    ));
    confirm(args.yes)?;
    let lock = super::reconcile::take_lock(&ctx, "adopt", args.lock_timeout).await?;
    let tagged = match &candidate {
        Candidate::Pool(pool) => {
            let emulator = global.endpoint_url.is_some()
                || std::env::var("AWS_ENDPOINT_URL").is_ok_and(|url| !url.is_empty());
            user_pool::unit::adopt(&ctx.clients.cognito, stack, pool, emulator, output::warning)
                .await
        }
        Candidate::Api(id) => {
            let arn = ctx.target.rest_api_arn(id);
            rest_api::unit::adopt(&ctx.clients.apigateway, &ctx.pacer, &arn, stack).await
        }
    };
    release_lock(&ctx, lock).await;
    tagged?;
    output::status(&format!("{}: adopted; `up` would now:", args.address));
    show_plan(&ctx, &what).await?;
    Ok(exit::OK)
}

fn api_name(ctx: &Context) -> String {
    ctx.stack
        .api
        .as_ref()
        .map(|api| api.physical_name.clone())
        .unwrap_or_default()
}

/// What `up` would now change on the adopted resource, read again, on stderr.
async fn show_plan(ctx: &Context, what: &Adoptable) -> anyhow::Result<()> {
    let live = observe(ctx).await?;
    let id = match what {
        Adoptable::Pool(pool) => ResourceId::UserPool { pool: pool.clone() },
        Adoptable::Api => ResourceId::Api,
    };
    let model = ctx.model();
    let values = Values::from_live(&live);
    let (entries, blockers) = match units::plan(&model, &live, &values, &id, Resolve::Lenient) {
        Ok(node) => (node.entries(&model), Vec::new()),
        Err(blocker) => (Vec::new(), vec![blocker.to_string()]),
    };
    let plan = Plan::new(&ctx.stack.name, &ctx.target, entries, blockers);
    output::plan_to_stderr(&plan)?;
    Ok(())
}
