//! The stack's permissions boundary (`permissionsBoundary:`, a managed policy) as IAM has it: read
//! with the roles, so that a boundary that does not exist is named by `diff` before `up` makes
//! anything (IAM would refuse the first CreateRole part-way through), and its statements are
//! there for the local check of handlers' calls (`serve`, `invoke`).

use aws_sdk_iam::Client;
use serde_json::Value;

use super::RoleError;
use crate::aws::{AwsError, absent_as_none};

/// The boundary policy as IAM has it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveBoundary {
    pub arn: String,
    pub state: BoundaryState,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BoundaryState {
    /// Its default version's document.
    Found(Value),
    /// There is no such policy.
    Missing,
    /// The identity may not read it (AccessDenied: a deploy policy made before the tool read
    /// boundaries): nothing is checked, and the plan says so.
    Unreadable(String),
}

fn aws_error<E: Into<aws_sdk_iam::Error>>(arn: &str) -> impl FnOnce(E) -> AwsError {
    AwsError::of::<aws_sdk_iam::Error, E>(
        "read the permissions boundary",
        format!("IAM policy `{arn}`"),
    )
}

/// Reads managed policy `arn` and its default version's document (GetPolicy, GetPolicyVersion).
pub async fn read(client: &Client, arn: &str) -> Result<LiveBoundary, RoleError> {
    let state = |state| LiveBoundary {
        arn: arn.to_owned(),
        state,
    };
    let missing = || state(BoundaryState::Missing);
    let unreadable = |err: AwsError| state(BoundaryState::Unreadable(err.to_string()));
    let got = client.get_policy().policy_arn(arn).send().await;
    let policy = match absent_as_none(got.map_err(aws_error(arn))) {
        Ok(Some(policy)) => policy,
        Ok(None) => return Ok(missing()),
        Err(err) if err.is_access_denied() => return Ok(unreadable(err)),
        Err(err) => return Err(err.into()),
    };
    let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
        return Ok(missing());
    };
    let got = client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await;
    let output = match absent_as_none(got.map_err(aws_error(arn))) {
        Ok(Some(output)) => output,
        // Deleted since it was read.
        Ok(None) => return Ok(missing()),
        Err(err) if err.is_access_denied() => return Ok(unreadable(err)),
        Err(err) => return Err(err.into()),
    };
    let document = match output.policy_version().and_then(|v| v.document()) {
        Some(text) => super::decode_document(arn, text)?,
        None => return Ok(missing()),
    };
    Ok(state(BoundaryState::Found(document)))
}

/// What the plan notes (on the stack's first role) when the boundary could not be read.
pub fn unread_note(arn: &str) -> String {
    format!(
        "permissionsBoundary `{arn}` not checked: this identity may not read it (iam:GetPolicy, iam:GetPolicyVersion); `provisioner policy` prints a policy that may"
    )
}

/// What `diff` says (on the stack's first role) when the boundary does not exist: every role
/// would be refused by IAM.
pub fn missing_message(arn: &str) -> String {
    format!(
        "permissionsBoundary: the managed policy `{arn}` does not exist in this account, so IAM would refuse to create or bound any of the stack's roles\n  hint: create the policy in IAM first, or correct the ARN in stack.yaml (an AWS managed policy is `arn:<partition>:iam::aws:policy/<name>`)"
    )
}
