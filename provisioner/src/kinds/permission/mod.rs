//! The statements in a function's resource policy that let API Gateway invoke it: one per route,
//! with SourceArn `arn:aws:execute-api:<region>:<account>:<api-id>/*/<METHOD>/<path>`, which covers
//! every stage and the console's test invoke in one statement (CDK writes two per method and can
//! overflow the 20 KB policy on large APIs). Every statement on a function this stack owns is
//! managed here: one added behind our back is drift, and goes.

use std::collections::BTreeMap;

use aws_sdk_lambda::Client;
use serde_json::Value;

use crate::aws::Target;
use crate::plan::{Action, Differ, Shown};
use crate::spec::Route;

pub const PRINCIPAL: &str = "apigateway.amazonaws.com";
pub const ACTION: &str = "lambda:InvokeFunction";
/// Cognito, invoking a pool's trigger: its statements are the trigger node's, never the API's.
pub const COGNITO_PRINCIPAL: &str = "cognito-idp.amazonaws.com";

/// One statement, as far as this tool cares: who may invoke, from where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub principal: String,
    pub action: String,
    pub source_arn: String,
}

/// Statements by id.
pub type Grants = BTreeMap<String, Grant>;

/// The statement id of a route: readable, and unique even where two paths read alike
/// (`/a-b` and `/a/b`), thanks to a short hash of the exact route.
pub fn statement_id(route: &Route) -> String {
    route.statement_id()
}

/// `arn:<partition>:execute-api:<region>:<account>:<api-id>/*/<METHOD>/<path>`: any stage; `ANY`
/// is `*`; path variables match any segment. The partition matters: in `aws-cn` or `aws-us-gov`
/// an `arn:aws:` condition never matches, and every route would answer 500.
pub fn source_arn(target: &Target, api_id: &str, route: &Route) -> String {
    format!(
        "arn:{}:execute-api:{}:{}:{api_id}{}",
        target.partition,
        target.region,
        target.account,
        route.execute_api_path()
    )
}

/// The grants a function needs for `routes` (those routes that target it).
pub fn desired<'a>(
    routes: impl IntoIterator<Item = &'a Route>,
    target: &Target,
    api_id: &str,
) -> Grants {
    routes
        .into_iter()
        .map(|route| {
            (
                statement_id(route),
                Grant {
                    principal: PRINCIPAL.to_owned(),
                    action: ACTION.to_owned(),
                    source_arn: source_arn(target, api_id, route),
                },
            )
        })
        .collect()
}

/// One call that applies part of a permissions change, in the order they are made (removals
/// first: a changed statement keeps its id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PermissionChange {
    /// RemovePermission of this statement id (extra, or changed).
    Remove(String),
    /// AddPermission of the desired statement with this id (missing, or changed).
    Add(String),
}

/// The typed changes of an update (empty when nothing changes).
pub type PermissionChanges = std::collections::BTreeSet<PermissionChange>;

/// What it takes to make the live statements match. Pure. One shown field per statement id; one
/// call per statement removed or added.
pub fn diff(live: &Grants, desired: &Grants) -> (Action, PermissionChanges) {
    let mut d = Differ::default();
    let mut changes = PermissionChanges::new();
    let ids: std::collections::BTreeSet<&String> = live.keys().chain(desired.keys()).collect();
    let show = |grant: Option<&Grant>| {
        Shown(match grant {
            Some(g) if g.source_arn.is_empty() => format!("{} may {}", g.principal, g.action),
            Some(g) => format!("{} may {} from {}", g.principal, g.action, g.source_arn),
            None => "absent".to_owned(),
        })
    };
    for id in ids {
        if live.get(id) != desired.get(id) {
            if live.contains_key(id) {
                changes.insert(PermissionChange::Remove(id.clone()));
            }
            if desired.contains_key(id) {
                changes.insert(PermissionChange::Add(id.clone()));
            }
            d.field(
                "statement",
                &Shown(format!("{id}: {}", show(live.get(id)).0)),
                &Shown(format!("{id}: {}", show(desired.get(id)).0)),
            );
        }
    }
    (d.action(), changes)
}

#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    #[error(
        "the resource policy of Lambda function `{function}` is not the JSON AWS documents: {detail}"
    )]
    BadPolicy { function: String, detail: String },
}

/// What a Lambda call's error on the resource policy of `function` becomes.
fn aws_error<E: Into<aws_sdk_lambda::Error>>(
    action: &'static str,
    function: &str,
) -> impl FnOnce(E) -> crate::aws::AwsError {
    crate::aws::AwsError::of::<aws_sdk_lambda::Error, E>(
        action,
        format!("the resource policy of Lambda function `{function}`"),
    )
}

/// The statements in the function's resource policy (none if it has no policy).
pub async fn find(client: &Client, function: &str) -> Result<Grants, PermissionError> {
    let output = match client.get_policy().function_name(function).send().await {
        Ok(output) => output,
        Err(err) => {
            let err = aws_error("read", function)(err);
            // No function, or no policy yet: no statements.
            if err.is_not_found() {
                return Ok(Grants::new());
            }
            return Err(err.into());
        }
    };
    let Some(text) = output.policy() else {
        return Ok(Grants::new());
    };
    parse_policy(text).map_err(|detail| PermissionError::BadPolicy {
        function: function.to_owned(),
        detail,
    })
}

/// Statements of a Lambda resource policy document.
fn parse_policy(text: &str) -> Result<Grants, String> {
    let doc: Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    let text_of = |value: &Value| match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    statements
        .iter()
        .map(|statement| {
            let id = statement["Sid"]
                .as_str()
                .ok_or("a statement has no `Sid`")?
                .to_owned();
            let principal = match &statement["Principal"] {
                Value::Object(map) => map.get("Service").map(text_of).unwrap_or_default(),
                other => text_of(other),
            };
            let source_arn = statement["Condition"]["ArnLike"]["AWS:SourceArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            Ok((
                id,
                Grant {
                    principal,
                    action: text_of(&statement["Action"]),
                    source_arn,
                },
            ))
        })
        .collect()
}

/// Makes exactly the calls of `changes` on `function`'s policy, with the statements of
/// `desired`. A statement already gone counts as removed; every step is safe to repeat.
pub async fn update(
    client: &Client,
    function: &str,
    changes: &PermissionChanges,
    desired: &Grants,
) -> Result<(), PermissionError> {
    for change in changes {
        match change {
            PermissionChange::Remove(id) => {
                if let Err(err) = client
                    .remove_permission()
                    .function_name(function)
                    .statement_id(id)
                    .send()
                    .await
                {
                    // Already gone counts as removed.
                    let err = aws_error("remove a statement from", function)(err);
                    if !err.is_not_found() {
                        return Err(err.into());
                    }
                }
            }
            PermissionChange::Add(id) => {
                let Some(grant) = desired.get(id) else {
                    // The diff adds this change only for a statement `desired` has.
                    continue;
                };
                let added = client
                    .add_permission()
                    .function_name(function)
                    .statement_id(id)
                    .principal(&grant.principal)
                    .action(&grant.action)
                    .source_arn(&grant.source_arn)
                    .send()
                    .await;
                if let Err(err) = added {
                    let err = aws_sdk_lambda::Error::from(err);
                    // The statement is there already: ours, if a retry of an answer that was
                    // lost made it; anything else is a conflict to report.
                    let exists = matches!(&err, aws_sdk_lambda::Error::ResourceConflictException(e)
                        if e.message().is_some_and(crate::retry::statement_exists));
                    if !exists || find(client, function).await?.get(id) != Some(grant) {
                        return Err(aws_error("add a statement to", function)(err).into());
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
pub mod unit;
