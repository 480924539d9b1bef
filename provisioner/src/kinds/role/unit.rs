//! A function's IAM role as a unit of the engine: reading the stack's roles, planning one,
//! applying its changes, `down`, and the roles stack.yaml no longer declares.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::try_join_all;

use super::{LiveRole, RoleChanges, RoleSettings};
use crate::engine::{
    Blocker, Context, DownStep, Leftover, Live, Model, Resolve, Unresolved, Values,
    leftovers_by_name, logical,
};
use crate::plan::{Action, Entry, Kind};

/// What `observe` found: by function, its role (which may be foreign); and the leftovers.
pub type Observed = (BTreeMap<String, Option<LiveRole>>, Vec<Leftover>);

pub async fn observe(ctx: &Context) -> anyhow::Result<Observed> {
    let stack = &ctx.stack;
    let iam = &ctx.clients.iam;
    let found = try_join_all(stack.functions.iter().map(|(name, f)| async move {
        let role = super::find(iam, &f.role_name)
            .await
            .with_context(|| format!("functions.{name}.role: reading"))?;
        Ok::<_, anyhow::Error>((name.clone(), role))
    }));
    let leftovers = async {
        let declared: Vec<String> = stack
            .functions
            .values()
            .map(|f| f.role_name.clone())
            .collect();
        let listed = super::names_with_prefix(iam, &format!("{}-", stack.name))
            .await
            .context("listing IAM roles")?;
        leftovers_by_name(
            listed,
            &declared,
            |name| async move {
                Ok(super::find(iam, &name)
                    .await?
                    .is_some_and(|live| live.owned_by(&stack.name)))
            },
            |name| {
                let function = name.strip_suffix("-role").unwrap_or(&name);
                let address = format!("functions.{}.role", logical(stack, function));
                Leftover::named(address, Kind::IamRole, name)
            },
        )
        .await
    };
    let (found, leftovers) = tokio::try_join!(found, leftovers)?;
    Ok((found.into_iter().collect(), leftovers))
}

/// What applying a role's plan takes.
#[derive(Debug, Clone)]
pub enum RoleWork {
    None,
    /// CreateRole (tagged), then its policies.
    Create,
    /// Exactly these calls on the live role.
    Update(RoleChanges),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub function: String,
    pub desired: Box<RoleSettings>,
    pub live: Option<Box<LiveRole>>,
    pub action: Action,
    pub work: RoleWork,
}

pub fn plan(
    model: &Model,
    live: &Live,
    values: &Values,
    function: &str,
    mode: Resolve,
) -> Result<Node, Blocker> {
    let stack = &model.stack;
    let spec = &stack.functions[function];
    let address = format!("functions.{function}.role");
    let inline = super::inline_policy(&spec.allow, |reference| {
        model.value(values, reference, mode)
    })
    .map_err(|err| Blocker::unresolved(&address, Unresolved(err.0)))?;
    let desired = RoleSettings::desired(inline, &model.target.partition);
    let found = live.roles.get(function).cloned().flatten();
    let (action, work) = match &found {
        None => (Action::Create, RoleWork::Create),
        Some(found) if !found.owned_by(&stack.name) => {
            return Err(Blocker::foreign(
                &address,
                "IAM role",
                &spec.role_name,
                stack,
                found.owner.as_deref(),
            ));
        }
        Some(found) => {
            let (action, changes) = super::diff(&found.settings, &desired);
            let work = if changes.is_empty() {
                RoleWork::None
            } else {
                RoleWork::Update(changes)
            };
            (action, work)
        }
    };
    Ok(Node {
        function: function.to_owned(),
        desired: Box::new(desired),
        live: found.map(Box::new),
        action,
        work,
    })
}

impl Node {
    pub fn entries(&self, model: &Model) -> Vec<Entry> {
        vec![
            Entry::new(
                format!("functions.{}.role", self.function),
                Kind::IamRole,
                model.stack.functions[&self.function].role_name.clone(),
                self.action.clone(),
            )
            .with_attributes(self.desired.attributes()),
        ]
    }

    /// How many calls applying this takes, one after another.
    pub fn calls(&self) -> usize {
        match &self.work {
            RoleWork::None => 0,
            // CreateRole, then each policy attached or put.
            RoleWork::Create => {
                1 + self.desired.managed_policies.len() + self.desired.inline_policies.len()
            }
            RoleWork::Update(changes) => changes.len(),
        }
    }

    pub async fn apply(&self, ctx: &Context) -> anyhow::Result<()> {
        let stack = &ctx.stack;
        let spec = &stack.functions[&self.function];
        let address = format!("functions.{}.role", self.function);
        match &self.work {
            RoleWork::None => {}
            RoleWork::Create => {
                let description = format!(
                    "Lambda function {} of stack {} (managed by provisioner)",
                    spec.physical_name, stack.name
                );
                super::create(
                    &ctx.clients.iam,
                    &stack.name,
                    &spec.role_name,
                    &description,
                    &self.desired,
                )
                .await
                .with_context(|| format!("{address}: creating"))?;
            }
            RoleWork::Update(changes) => {
                super::update(&ctx.clients.iam, &spec.role_name, changes, &self.desired)
                    .await
                    .with_context(|| format!("{address}: updating"))?
            }
        }
        Ok(())
    }
}

pub fn down(model: &Model, live: &Live, function: &str) -> Vec<DownStep> {
    let stack = &model.stack;
    let ours = live
        .roles
        .get(function)
        .and_then(Option::as_ref)
        .map(|found| found.owned_by(&stack.name));
    DownStep::by_owner(ours, |action| {
        Entry::new(
            format!("functions.{function}.role"),
            Kind::IamRole,
            stack.functions[function].role_name.clone(),
            action,
        )
    })
}

pub async fn delete(ctx: &Context, function: &str) -> anyhow::Result<()> {
    super::delete(&ctx.clients.iam, &ctx.stack.functions[function].role_name).await?;
    Ok(())
}

pub async fn delete_leftover(ctx: &Context, leftover: &Leftover) -> anyhow::Result<()> {
    super::delete(&ctx.clients.iam, &leftover.name).await?;
    Ok(())
}
