//! A function's invoke permissions as part of a unit: the API's (one statement per route that
//! targets the function) or, for a stack without an API, the function's own (none). Planned by
//! whichever node owns them; this module plans and applies one function's set.

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::{Grants, PermissionChanges};
use crate::base::{Context, Model};
use crate::plan::{Action, Entry, Kind};

/// Every AWS operation this kind calls, with what IAM must allow (`operations`).
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::FUNCTION;
    &[
        op!(Lambda, "GetPolicy", [("lambda:GetPolicy", FUNCTION)]),
        op!(
            Lambda,
            "AddPermission",
            [("lambda:AddPermission", FUNCTION)]
        ),
        op!(
            Lambda,
            "RemovePermission",
            [("lambda:RemovePermission", FUNCTION)]
        ),
    ]
};

#[derive(Debug, Clone)]
pub struct PermissionPlan {
    pub live: Grants,
    pub desired: Grants,
    pub action: Action,
    pub changes: PermissionChanges,
}

/// What planning permissions reads of the observed functions: which exist (whoever's), and the
/// statements on each of the stack's.
#[derive(Debug, Clone, Default)]
pub struct ObservedStatements {
    pub functions: std::collections::BTreeSet<String>,
    pub grants: BTreeMap<String, Grants>,
}

/// Plans `function`'s statements against `desired`.
pub fn plan(observed: &ObservedStatements, function: &str, desired: Grants) -> PermissionPlan {
    // A function created in this run has no statements yet: they are created with it (a cold
    // stack shows creates only). A live function's are diffed one by one.
    let live_grants = api_grants(observed.grants.get(function));
    let function_exists = observed.functions.contains(function);
    let (action, changes) = super::diff(&live_grants, &desired);
    let action = if !function_exists && !desired.is_empty() {
        Action::Create
    } else {
        action
    };
    PermissionPlan {
        live: live_grants,
        desired,
        action,
        changes,
    }
}

/// A function's statements but Cognito's (a pool's trigger node manages those).
pub fn api_grants(grants: Option<&Grants>) -> Grants {
    grants
        .into_iter()
        .flatten()
        .filter(|(_, grant)| grant.principal != super::COGNITO_PRINCIPAL)
        .map(|(id, grant)| (id.clone(), grant.clone()))
        .collect()
}

/// Per function, the statements the API's routes need, given the API's id.
pub fn for_api(
    model: &Model,
    observed: &ObservedStatements,
    api_id: &str,
) -> BTreeMap<String, PermissionPlan> {
    let routes = model
        .stack
        .api
        .as_ref()
        .map(|api| api.routes.as_slice())
        .unwrap_or_default();
    model
        .stack
        .functions
        .keys()
        .map(|name| {
            let desired = super::desired(
                routes.iter().filter(|r| r.function == *name),
                model.target,
                api_id,
            );
            (name.clone(), plan(observed, name, desired))
        })
        .collect()
}

impl PermissionPlan {
    /// The changes a stage that moves needs made before it moves (the statements it will invoke
    /// through, a changed one removed and added again), and those that must wait until it has
    /// moved (statements only the old stage invokes through): API Gateway answers 500 "Invalid
    /// permissions on Lambda function" for a route whose function's statement is missing.
    pub fn split(&self) -> (PermissionPlan, PermissionPlan) {
        use super::PermissionChange::{Add, Remove};
        let (before, after): (PermissionChanges, PermissionChanges) = self
            .changes
            .iter()
            .cloned()
            .partition(|change| match change {
                Add(_) => true,
                Remove(id) => self.changes.contains(&Add(id.clone())),
            });
        let with = |changes| PermissionPlan {
            changes,
            ..self.clone()
        };
        (with(before), with(after))
    }

    pub fn entry(&self, model: &Model, function: &str) -> Entry {
        Entry::new(
            format!("functions.{function}.permissions"),
            Kind::LambdaPermissions,
            model.stack.functions[function].physical_name.clone(),
            self.action.clone(),
        )
    }

    pub async fn apply(&self, ctx: &Context, function: &str) -> anyhow::Result<()> {
        if self.changes.is_empty() {
            return Ok(());
        }
        super::update(
            &ctx.clients.lambda,
            &ctx.stack.functions[function].physical_name,
            &self.changes,
            &self.desired,
        )
        .await
        .with_context(|| format!("functions.{function}.permissions: updating"))
    }
}
