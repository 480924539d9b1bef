//! The stack's permissions boundary (`permissionsBoundary:`, a managed policy) as IAM has it: read
//! with the roles, so that a boundary that does not exist is named by `diff` before `up` makes
//! anything (IAM would refuse the first CreateRole part-way through), and its statements are
//! there for the local check of handlers' calls (`serve`, `invoke`).

use aws_sdk_iam::Client;
use serde_json::Value;

use super::RoleError;
use crate::aws::{AwsError, absent_as_none};

/// The boundary policy, or that it does not exist.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveBoundary {
    pub arn: String,
    /// Its default version's document; None: there is no such policy.
    pub document: Option<Value>,
}

fn aws_error<E: Into<aws_sdk_iam::Error>>(arn: &str) -> impl FnOnce(E) -> AwsError {
    AwsError::of::<aws_sdk_iam::Error, E>(
        "read the permissions boundary",
        format!("IAM policy `{arn}`"),
    )
}

/// Reads managed policy `arn` and its default version's document (GetPolicy, GetPolicyVersion).
pub async fn read(client: &Client, arn: &str) -> Result<LiveBoundary, RoleError> {
    let missing = || LiveBoundary {
        arn: arn.to_owned(),
        document: None,
    };
    let got = client.get_policy().policy_arn(arn).send().await;
    let Some(policy) = absent_as_none(got.map_err(aws_error(arn)))? else {
        return Ok(missing());
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
    // Deleted since it was read.
    let Some(output) = absent_as_none(got.map_err(aws_error(arn)))? else {
        return Ok(missing());
    };
    let document = match output.policy_version().and_then(|v| v.document()) {
        Some(text) => super::decode_document(arn, text)?,
        None => return Ok(missing()),
    };
    Ok(LiveBoundary {
        arn: arn.to_owned(),
        document: Some(document),
    })
}

/// What `diff` says when the boundary does not exist: every role would be refused by IAM.
pub fn missing_message(arn: &str) -> String {
    format!(
        "permissionsBoundary: the managed policy `{arn}` does not exist in this account, so IAM would refuse to create or bound the role\n  hint: create the policy in IAM first, or correct the ARN in stack.yaml (an AWS managed policy is `arn:<partition>:iam::aws:policy/<name>`)"
    )
}
