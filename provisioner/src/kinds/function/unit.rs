//! The Lambda function as a unit of the engine: reading the stack's functions (and, for ours,
//! their invoke permissions), planning one, applying its changes, `down`, and the functions
//! stack.yaml no longer declares. Its log group and role are units of their own, planned before
//! it.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::try_join_all;

use super::{FunctionChanges, FunctionSettings, LiveFunction};
use crate::base::{
    Blocker, Context, DownStep, Leftover, Model, Planned, Resolve, Values, leftovers_by_name,
    logical,
};
use crate::kinds::permission::{self, Grants, unit::PermissionPlan};
use crate::plan::{Action, Entry, Kind};

/// Every AWS operation this kind calls, with what IAM must allow (`operations`). Creating a
/// function (or changing its role) passes its role to Lambda; a create with tags needs
/// `lambda:TagResource` too.
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::{ANY, FUNCTION, ROLE};
    use crate::operations::condition::{CREATED_AS_THE_STACKS, PASSED_TO_LAMBDA};
    &[
        op!(Lambda, "ListFunctions", [("lambda:ListFunctions", ANY)]),
        // Also the wait for a function to settle, while applying.
        op!(Lambda, "GetFunction", [("lambda:GetFunction", FUNCTION)]),
        op!(Lambda, "ListTags", [("lambda:ListTags", FUNCTION)]),
        op!(Lambda, "TagResource", [("lambda:TagResource", FUNCTION)]),
        op!(
            Lambda,
            "UntagResource",
            [("lambda:UntagResource", FUNCTION)]
        ),
        op!(
            Lambda,
            "CreateFunction",
            [
                ("lambda:CreateFunction", FUNCTION, CREATED_AS_THE_STACKS),
                ("lambda:TagResource", FUNCTION),
                ("iam:PassRole", ROLE, PASSED_TO_LAMBDA)
            ]
        ),
        op!(
            Lambda,
            "UpdateFunctionCode",
            [("lambda:UpdateFunctionCode", FUNCTION)]
        ),
        op!(
            Lambda,
            "UpdateFunctionConfiguration",
            [
                ("lambda:UpdateFunctionConfiguration", FUNCTION),
                ("iam:PassRole", ROLE, PASSED_TO_LAMBDA)
            ]
        ),
        op!(
            Lambda,
            "DeleteFunction",
            [("lambda:DeleteFunction", FUNCTION)]
        ),
    ]
};

/// What `observe` found: by function, the function (which may be foreign) and, for ours, its
/// statements; and the leftovers.
pub type Observed = (
    BTreeMap<String, Option<LiveFunction>>,
    BTreeMap<String, Grants>,
    Vec<Leftover>,
);

pub async fn observe(ctx: &Context) -> anyhow::Result<Observed> {
    let stack = &ctx.stack;
    let lambda = &ctx.clients.lambda;
    let found = try_join_all(stack.functions.iter().map(|(name, f)| async move {
        let address = format!("functions.{name}");
        let function = super::find(lambda, &f.physical_name)
            .await
            .with_context(|| format!("{address}: reading"))?;
        let grants = match &function {
            Some(live) if live.owned_by(&stack.name) => Some(
                permission::find(lambda, &f.physical_name)
                    .await
                    .with_context(|| format!("{address}.permissions: reading"))?,
            ),
            _ => None,
        };
        Ok::<_, anyhow::Error>((name.clone(), function, grants))
    }));
    let leftovers = async {
        let declared: Vec<String> = stack
            .functions
            .values()
            .map(|f| f.physical_name.clone())
            .collect();
        let listed = super::names_with_prefix(lambda, &format!("{}-", stack.name))
            .await
            .context("listing functions")?;
        leftovers_by_name(
            listed,
            &declared,
            |name| async move {
                Ok(super::find(lambda, &name)
                    .await?
                    .is_some_and(|live| live.owned_by(&stack.name)))
            },
            |name| {
                let address = format!("functions.{}", logical(stack, &name));
                Leftover::named(address, Kind::LambdaFunction, name)
            },
        )
        .await
    };
    let (found, leftovers) = tokio::try_join!(found, leftovers)?;
    let mut functions = BTreeMap::new();
    let mut permissions = BTreeMap::new();
    for (name, function, grants) in found {
        if let Some(grants) = grants {
            permissions.insert(name.clone(), grants);
        }
        functions.insert(name, function);
    }
    Ok((functions, permissions, leftovers))
}

/// What applying a function's plan takes.
#[derive(Debug, Clone)]
pub enum FunctionWork {
    None,
    /// CreateFunction (tagged) from the package, then wait until Active.
    Create,
    /// One call per typed change, each after the function settles.
    Update(FunctionChanges),
    /// DeleteFunction, then as `Create`: a function whose `State` is `Failed`.
    Replace,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub function: String,
    pub desired: Box<FunctionSettings>,
    pub live: Option<Box<LiveFunction>>,
    pub action: Action,
    pub work: FunctionWork,
    /// Its invoke permissions, when the stack has no API (the API node manages them otherwise).
    pub permissions: Option<PermissionPlan>,
}

/// Plans `function` from the function of its name as observed (`found`, whoever's it is) and the
/// statements observed on the stack's functions (`permissions`).
pub fn plan(
    model: &Model,
    found: Option<&LiveFunction>,
    permissions: &permission::unit::ObservedStatements,
    values: &Values,
    function: &str,
    mode: Resolve,
) -> Result<Node, Blocker> {
    let stack = &model.stack;
    let spec = &stack.functions[function];
    let address = format!("functions.{function}");
    let mut environment = BTreeMap::new();
    for (key, template) in &spec.environment {
        let value = model
            .render(values, template, mode)
            .map_err(|err| Blocker::unresolved(&address, err))?;
        environment.insert(key.clone(), value);
    }
    let code = model
        .code
        .get(function)
        .map(|c| c.sha256.clone())
        .unwrap_or_default();
    let desired = FunctionSettings::desired(
        spec,
        environment,
        &model.target.role_arn(&spec.role_name(&model.target.region)),
        &code,
        &crate::kinds::tags::desired(stack.tags.as_ref(), found.map(|f| &f.settings.tags)),
    );
    let found = found.cloned();
    let (action, work) = match &found {
        None => (Action::Create, FunctionWork::Create),
        Some(found) if !found.owned_by(&stack.name) => {
            return Err(Blocker::foreign(
                &address,
                "Lambda function",
                &spec.physical_name,
                stack,
                found.owner.as_deref(),
            ));
        }
        // Its create failed: no update repairs it (Lambda), so it is made again.
        Some(found) if let Some(reason) = &found.failed => (
            Action::Replace {
                changes: vec![crate::plan::FieldChange {
                    field: "state",
                    live: format!("Failed ({reason})"),
                    desired: "Active".to_owned(),
                    forces_replacement: true,
                }],
            },
            FunctionWork::Replace,
        ),
        Some(found) => {
            let (action, changes) = super::diff(&found.settings, &desired);
            let work = if changes.is_empty() {
                FunctionWork::None
            } else {
                FunctionWork::Update(changes)
            };
            (action, work)
        }
    };
    // Without an API nothing may invoke it: any statement on it is drift.
    let permissions = stack
        .api
        .is_none()
        .then(|| permission::unit::plan(permissions, function, Grants::new()));
    Ok(Node {
        function: function.to_owned(),
        desired: Box::new(desired),
        live: found.map(Box::new),
        action,
        work,
        permissions,
    })
}

impl Planned for Node {
    fn entries(&self, model: &Model) -> Vec<Entry> {
        let spec = &model.stack.functions[&self.function];
        let mut entries = vec![
            Entry::new(
                format!("functions.{}", self.function),
                Kind::LambdaFunction,
                spec.physical_name.clone(),
                self.action.clone(),
            )
            .with_attributes(self.desired.attributes()),
        ];
        if let Some(permissions) = &self.permissions {
            entries.push(permissions.entry(model, &self.function));
        }
        entries
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
        let lambda = &ctx.clients.lambda;
        let spec = &ctx.stack.functions[&self.function];
        let address = format!("functions.{}", self.function);
        match &self.work {
            FunctionWork::None => {}
            FunctionWork::Replace => {
                super::delete(lambda, &spec.physical_name)
                    .await
                    .with_context(|| format!("{address}: deleting the failed function"))?;
                self.create(ctx)
                    .await
                    .with_context(|| format!("{address}: creating it again"))?;
            }
            FunctionWork::Create => self
                .create(ctx)
                .await
                .with_context(|| format!("{address}: creating"))?,
            FunctionWork::Update(changes) => {
                let zip = if changes.contains(&super::FunctionChange::Code) {
                    read_zip(ctx, &self.function)?
                } else {
                    Vec::new()
                };
                let live = self
                    .live
                    .as_deref()
                    .with_context(|| format!("{address}: an update of a function not found"))?;
                super::update(
                    lambda,
                    live,
                    changes,
                    &self.desired,
                    &zip,
                    ctx.waits,
                    ctx.progress.as_ref(),
                )
                .await
                .with_context(|| format!("{address}: updating"))?;
            }
        }
        if let Some(permissions) = &self.permissions {
            permissions.apply(ctx, &self.function).await?;
        }
        Ok(())
    }
}

impl Node {
    /// CreateFunction from the built package, then the wait until it is Active.
    async fn create(&self, ctx: &Context) -> anyhow::Result<()> {
        let spec = &ctx.stack.functions[&self.function];
        let zip = read_zip(ctx, &self.function)?;
        super::create(
            &ctx.clients.lambda,
            &ctx.stack.name,
            &spec.physical_name,
            &self.desired,
            &zip,
            ctx.waits,
            ctx.progress.as_ref(),
        )
        .await?;
        Ok(())
    }
}

fn read_zip(ctx: &Context, function: &str) -> anyhow::Result<Vec<u8>> {
    let code = ctx
        .code
        .get(function)
        .with_context(|| format!("functions.{function}: no package was built"))?;
    std::fs::read(&code.zip).with_context(|| format!("failed to read `{}`", code.zip.display()))
}

pub fn down(model: &Model, found: Option<&LiveFunction>, function: &str) -> Vec<DownStep> {
    let stack = &model.stack;
    let ours = found.map(|found| found.owned_by(&stack.name));
    // Its permissions live in its resource policy and go with it.
    DownStep::by_owner(ours, |action| {
        Entry::new(
            format!("functions.{function}"),
            Kind::LambdaFunction,
            stack.functions[function].physical_name.clone(),
            action,
        )
    })
}

pub async fn delete(ctx: &Context, function: &str) -> anyhow::Result<()> {
    super::delete(
        &ctx.clients.lambda,
        &ctx.stack.functions[function].physical_name,
    )
    .await?;
    Ok(())
}

pub async fn delete_leftover(ctx: &Context, leftover: &Leftover) -> anyhow::Result<()> {
    super::delete(&ctx.clients.lambda, &leftover.name).await?;
    Ok(())
}
