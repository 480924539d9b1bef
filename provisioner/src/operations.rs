//! The AWS operations the tool calls, as each caller declares them: the service and operation (as
//! the SDK names them, and so as `calls` counts them), and the IAM actions it needs on which
//! resources. Each resource kind declares its own (`OPERATIONS` in `kinds/<kind>/unit.rs`), and so do the
//! session (`aws`) and the lock (`lock`); `engine::units::declared` lists them all. The deploy
//! identity's policy is derived from them, and the e2e suite fails on any call that is not declared.
//!
//! Resource patterns use `{partition}`, `{region}`, `{account}` and `{stack}` (the stack's name).
//! This module depends on no other module of the crate.

/// The services the tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Sts,
    Cognito,
    Iam,
    Lambda,
    Logs,
    ApiGateway,
}

impl Service {
    /// The service as the SDK's operation metadata names it (what `calls` records).
    pub fn sdk_name(self) -> &'static str {
        match self {
            Service::Sts => "STS",
            Service::Cognito => "CognitoIdentityProvider",
            Service::Iam => "IAM",
            Service::Lambda => "Lambda",
            Service::Logs => "CloudWatchLogs",
            Service::ApiGateway => "APIGateway",
        }
    }
}

/// One IAM action on one resource pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub action: &'static str,
    pub resource: &'static str,
}

/// One operation and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub service: Service,
    /// As the SDK names it: `CreateFunction`.
    pub name: &'static str,
    /// Every action it needs (a create that carries tags needs the tagging action too).
    pub grants: &'static [Grant],
}

impl Operation {
    /// `Lambda.CreateFunction`, as `calls` counts it.
    pub fn key(&self) -> String {
        format!("{}.{}", self.service.sdk_name(), self.name)
    }

    /// Whether it changes nothing (Get, List, Describe), as `calls` counts reads.
    pub fn is_read(&self) -> bool {
        ["Get", "List", "Describe"]
            .iter()
            .any(|prefix| self.name.starts_with(prefix))
    }
}

/// Declares operations tersely: `op!(Lambda, "CreateFunction", [("lambda:CreateFunction", FN)])`.
#[macro_export]
macro_rules! op {
    ($service:ident, $name:literal, [$(($action:expr, $resource:expr)),* $(,)?]) => {
        $crate::operations::Operation {
            service: $crate::operations::Service::$service,
            name: $name,
            grants: &[$($crate::operations::Grant { action: $action, resource: $resource }),*],
        }
    };
}

/// Resource patterns shared by several declarations.
pub mod arn {
    pub const ANY: &str = "*";
    pub const USER_POOL: &str = "arn:{partition}:cognito-idp:{region}:{account}:userpool/*";
    pub const ROLE: &str = "arn:{partition}:iam::{account}:role/{stack}-*";
    pub const FUNCTION: &str = "arn:{partition}:lambda:{region}:{account}:function:{stack}-*";
    pub const FUNCTION_LOGS: &str =
        "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{stack}-*";
    pub const LOCK_LOGS: &str =
        "arn:{partition}:logs:{region}:{account}:log-group:/provisioner/locks/{stack}";
    /// DescribeLogGroups is authorized on no single group.
    pub const LOG_GROUPS: &str = "arn:{partition}:logs:{region}:{account}:log-group::log-stream:";
    pub const REST_APIS: &str = "arn:{partition}:apigateway:{region}::/restapis";
    pub const REST_API: &str = "arn:{partition}:apigateway:{region}::/restapis/*";
    pub const API_TAGS: &str = "arn:{partition}:apigateway:{region}::/tags/*";
}
