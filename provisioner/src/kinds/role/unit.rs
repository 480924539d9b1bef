//! A function's IAM role as a unit of the engine: reading the stack's roles, planning one,
//! applying its changes, `down`, and the roles stack.yaml no longer declares.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::try_join_all;

use super::boundary::{BoundaryState, LiveBoundary};
use super::{LiveRole, RoleChanges, RoleSettings};
use crate::base::{
    Blocker, Context, DownStep, Leftover, Model, Planned, Resolve, Unresolved, Values, logical,
};
use crate::plan::{Action, Entry, Kind};
use crate::spec::Stack;

/// Every AWS operation this kind calls, with what IAM must allow (`operations`). A create that
/// carries tags needs `iam:TagRole` too.
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::{ANY, BOUNDARY, LEGACY_ROLE, ROLE};
    use crate::operations::condition::{BASIC_EXECUTION_POLICY, CREATED_AS_THE_STACKS};
    &[
        op!(Iam, "ListRoles", [("iam:ListRoles", ANY)]),
        // The stack's permissions boundary, read with the roles.
        op!(Iam, "GetPolicy", [("iam:GetPolicy", BOUNDARY)]),
        op!(
            Iam,
            "GetPolicyVersion",
            [("iam:GetPolicyVersion", BOUNDARY)]
        ),
        op!(
            Iam,
            "GetRole",
            [("iam:GetRole", ROLE), ("iam:GetRole", LEGACY_ROLE)]
        ),
        op!(
            Iam,
            "ListAttachedRolePolicies",
            [
                ("iam:ListAttachedRolePolicies", ROLE),
                ("iam:ListAttachedRolePolicies", LEGACY_ROLE)
            ]
        ),
        op!(
            Iam,
            "ListRolePolicies",
            [
                ("iam:ListRolePolicies", ROLE),
                ("iam:ListRolePolicies", LEGACY_ROLE)
            ]
        ),
        op!(
            Iam,
            "GetRolePolicy",
            [
                ("iam:GetRolePolicy", ROLE),
                ("iam:GetRolePolicy", LEGACY_ROLE)
            ]
        ),
        op!(
            Iam,
            "CreateRole",
            [
                ("iam:CreateRole", ROLE, CREATED_AS_THE_STACKS),
                ("iam:TagRole", ROLE)
            ]
        ),
        op!(
            Iam,
            "UpdateAssumeRolePolicy",
            [("iam:UpdateAssumeRolePolicy", ROLE)]
        ),
        op!(
            Iam,
            "AttachRolePolicy",
            [("iam:AttachRolePolicy", ROLE, BASIC_EXECUTION_POLICY)]
        ),
        // Drift repaired: whatever was attached by hand goes, so no condition on the ARN.
        op!(Iam, "DetachRolePolicy", [("iam:DetachRolePolicy", ROLE)]),
        op!(Iam, "PutRolePolicy", [("iam:PutRolePolicy", ROLE)]),
        op!(Iam, "DeleteRolePolicy", [("iam:DeleteRolePolicy", ROLE)]),
        op!(Iam, "DeleteRole", [("iam:DeleteRole", ROLE)]),
        op!(Iam, "TagRole", [("iam:TagRole", ROLE)]),
        op!(Iam, "UntagRole", [("iam:UntagRole", ROLE)]),
        op!(
            Iam,
            "PutRolePermissionsBoundary",
            [("iam:PutRolePermissionsBoundary", ROLE)]
        ),
    ]
};

/// What `observe` found: by function, its role (which may be foreign); the leftovers; and the
/// stack's permissions boundary, when it has one.
pub type Observed = (
    BTreeMap<String, Option<LiveRole>>,
    Vec<Leftover>,
    Option<LiveBoundary>,
);

pub async fn observe(ctx: &Context) -> anyhow::Result<Observed> {
    let stack = &ctx.stack;
    let region = ctx.target.region.as_str();
    let iam = &ctx.clients.iam;
    let found = try_join_all(stack.functions.iter().map(|(name, f)| async move {
        let role = super::find(iam, &f.role_name(region))
            .await
            .with_context(|| format!("functions.{name}.role: reading"))?;
        Ok::<_, anyhow::Error>((name.clone(), role))
    }));
    let leftovers = async {
        let declared: Vec<String> = stack
            .functions
            .values()
            .map(|f| f.role_name(region))
            .collect();
        // One listing serves both: this region's roles (`<code>-<stack>-`) and the stack's roles
        // of before roles were per region (`<stack>-...-role`). Another region's are never read.
        let ours = format!("{}-{}-", crate::regions::short_code(region), stack.name);
        let legacy = format!("{}-", stack.name);
        let listed = super::names_with_prefix(iam, "")
            .await
            .context("listing IAM roles")?;
        let mut leftovers = Vec::new();
        for name in listed.into_iter().filter(|n| {
            !declared.contains(n)
                && (n.starts_with(&ours) || (n.starts_with(&legacy) && n.ends_with("-role")))
        }) {
            let Some(role) = super::find(iam, &name).await? else {
                continue;
            };
            if let Some(leftover) = leftover(stack, region, role) {
                leftovers.push(leftover);
            }
        }
        Ok::<_, anyhow::Error>(leftovers)
    };
    let boundary = async {
        match &stack.permissions_boundary {
            Some(arn) if !stack.functions.is_empty() => super::boundary::read(iam, arn)
                .await
                .map(Some)
                .context("permissionsBoundary: reading"),
            _ => Ok(None),
        }
    };
    let (found, leftovers, boundary) = tokio::try_join!(found, leftovers, boundary)?;
    Ok((found.into_iter().collect(), leftovers, boundary))
}

/// A role under the stack's prefix that stack.yaml no longer declares: deleted if it is this
/// region's; reported and kept if it is the stack's but of no region (made before roles were per
/// region, so possibly used by the stack's functions in another region); otherwise not ours.
fn leftover(stack: &Stack, region: &str, role: LiveRole) -> Option<Leftover> {
    if role.owned_by(&stack.name, region) {
        let function = role
            .name
            .strip_prefix(&format!("{}-", crate::regions::short_code(region)))
            .unwrap_or(&role.name);
        let address = format!("functions.{}.role", logical(stack, function));
        return Some(Leftover::named(address, Kind::IamRole, role.name));
    }
    if role.owner.as_deref() == Some(stack.name.as_str()) && role.region.is_none() {
        let function = role.name.strip_suffix("-role").unwrap_or(&role.name);
        // Its own address: the function's role of this region is `functions.<f>.role`.
        let address = format!("functions.{}.legacyRole", logical(stack, function));
        let entry = Entry::new(address, Kind::IamRole, role.name.clone(), Action::NoOp).with_note(
            "made by an earlier provisioner, shared by the stack's regions: kept, since a region not yet upgraded may still use it; delete it in IAM once no region's functions use it",
        );
        return Some(Leftover {
            entry,
            name: role.name,
            id: None,
            parent: None,
        });
    }
    None
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
    /// What the plan says beside the role (a boundary it could not check).
    pub note: Option<String>,
}

/// Plans `function`'s role from the role of its name as observed (`found`, whoever's it is) and
/// the stack's permissions boundary as observed.
pub fn plan(
    model: &Model,
    (found, boundary): (Option<&LiveRole>, Option<&LiveBoundary>),
    values: &Values,
    function: &str,
    mode: Resolve,
) -> Result<Node, Blocker> {
    let stack = &model.stack;
    let spec = &stack.functions[function];
    let address = format!("functions.{function}.role");
    let first = stack.functions.keys().next().map(String::as_str) == Some(function);
    let boundary_note = match boundary {
        // Said once, on the first role: it is the stack's, and any blocker stops `up`.
        Some(LiveBoundary {
            arn,
            state: BoundaryState::Missing,
        }) if first => {
            return Err(Blocker::new(
                &address,
                super::boundary::missing_message(arn),
            ));
        }
        Some(LiveBoundary {
            arn,
            state: BoundaryState::Unreadable(_),
        }) if first => Some(super::boundary::unread_note(arn)),
        _ => None,
    };
    let inline = super::inline_policy(&spec.allow, |reference| {
        model.value(values, reference, mode)
    })
    .map_err(|err| Blocker::unresolved(&address, Unresolved(err.0)))?;
    let desired = RoleSettings::desired(inline, &model.target.partition)
        .bounded_by(stack.permissions_boundary.clone())
        .tagged(&crate::kinds::tags::desired(
            stack.tags.as_ref(),
            found.map(|r| &r.settings.tags),
        ));
    let region = model.target.region.as_str();
    let name = spec.role_name(region);
    if name.len() > 64 {
        return Err(Blocker::new(
            &address,
            format!(
                "the IAM role name `{name}` is {} characters in {region}; AWS allows at most 64\n  hint: shorten the stack name or the function's key",
                name.len()
            ),
        ));
    }
    let found = found.cloned();
    let (action, work) = match &found {
        None => (Action::Create, RoleWork::Create),
        Some(found) if !found.owned_by(&stack.name, region) => {
            return Err(Blocker::foreign(
                &address,
                "IAM role",
                &name,
                stack,
                found.owner_description().as_deref(),
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
        note: boundary_note,
    })
}

impl Planned for Node {
    fn entries(&self, model: &Model) -> Vec<Entry> {
        vec![
            Entry::new(
                format!("functions.{}.role", self.function),
                Kind::IamRole,
                model.stack.functions[&self.function].role_name(&model.target.region),
                self.action.clone(),
            )
            .with_attributes(self.desired.attributes()),
        ]
        .into_iter()
        .map(|entry| match &self.note {
            Some(note) => entry.with_note(note.clone()),
            None => entry,
        })
        .collect()
    }

    fn forget(&self, _values: &mut Values) {
        // Its ARN and name are known before it exists.
    }

    async fn apply(
        &self,
        ctx: &Context,
        _values: &std::sync::Mutex<Values>,
        _waits: &crate::dag::Waits,
    ) -> anyhow::Result<()> {
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
                    (&stack.name, &ctx.target.region),
                    &spec.role_name(&ctx.target.region),
                    &description,
                    &self.desired,
                )
                .await
                .with_context(|| format!("{address}: creating"))?;
            }
            RoleWork::Update(changes) => super::update(
                &ctx.clients.iam,
                &spec.role_name(&ctx.target.region),
                changes,
                &self.desired,
            )
            .await
            .with_context(|| format!("{address}: updating"))?,
        }
        Ok(())
    }
}

pub fn down(model: &Model, found: Option<&LiveRole>, function: &str) -> Vec<DownStep> {
    let stack = &model.stack;
    let ours = found.map(|found| found.owned_by(&stack.name, &model.target.region));
    DownStep::by_owner(ours, |action| {
        Entry::new(
            format!("functions.{function}.role"),
            Kind::IamRole,
            stack.functions[function].role_name(&model.target.region),
            action,
        )
    })
}

pub async fn delete(ctx: &Context, function: &str) -> anyhow::Result<()> {
    let name = ctx.stack.functions[function].role_name(&ctx.target.region);
    super::delete(&ctx.clients.iam, &name).await?;
    Ok(())
}

pub async fn delete_leftover(ctx: &Context, leftover: &Leftover) -> anyhow::Result<()> {
    super::delete(&ctx.clients.iam, &leftover.name).await?;
    Ok(())
}
