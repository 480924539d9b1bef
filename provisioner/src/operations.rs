//! The AWS operations the tool calls, as each caller declares them: the service and operation (as
//! the SDK names them, and so as `calls` counts them), and the IAM actions it needs on which
//! resources. Each resource kind declares its own (`OPERATIONS` in `kinds/<kind>/unit.rs`), and so do the
//! session (`aws`) and the lock (`lock`); `registry::declared` lists them all. The deploy
//! identity's policy is derived from them, and the e2e suite fails on any call that is not declared.
//!
//! Resource patterns use `{partition}`, `{region}`, `{region_code}` (`use1`), `{account}` and
//! `{stack}` (the stack's name) and `{boundary}` (its `permissionsBoundary:`). In a condition, the key `{tags}` stands for one
//! `aws:RequestTag/<key>: <value>` per tag of the stack's `tags:` (none without them).
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

/// One IAM action on one resource pattern, under a condition if it needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub action: &'static str,
    pub resource: &'static str,
    /// A policy `Condition` block (JSON, with the same placeholders), narrowing the grant.
    pub condition: Option<&'static str>,
}

/// One operation and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub service: Service,
    /// As the SDK names it: `CreateFunction`.
    pub name: &'static str,
    /// Every action it needs (a create that carries tags needs the tagging action too).
    pub grants: &'static [Grant],
    /// A read made only while applying (a wait for a function to settle): `diff` never makes it,
    /// so the plan's policy leaves it out.
    pub while_applying: bool,
}

impl Operation {
    /// `Lambda.CreateFunction`, as `calls` counts it.
    pub fn key(&self) -> String {
        format!("{}.{}", self.service.sdk_name(), self.name)
    }

    /// Whether `diff` may make it: a read, and not one made only while applying.
    pub fn planning(&self) -> bool {
        self.is_read() && !self.while_applying
    }

    /// Whether it changes nothing, as `calls` counts reads.
    pub fn is_read(&self) -> bool {
        crate::calls::is_read(self.name)
    }
}

/// Declares operations tersely: `op!(Lambda, "CreateFunction", [("lambda:CreateFunction", FN)])`;
/// a grant may carry a condition: `("iam:PassRole", ROLE, PASSED_TO_LAMBDA)`; a read made only
/// while applying starts with `while_applying`.
#[macro_export]
macro_rules! op {
    (while_applying $service:ident, $name:literal, $grants:tt) => {
        $crate::operations::Operation {
            while_applying: true,
            ..$crate::op!($service, $name, $grants)
        }
    };
    ($service:ident, $name:literal, [$(($action:expr, $resource:expr $(, $condition:expr)?)),* $(,)?]) => {
        $crate::operations::Operation {
            service: $crate::operations::Service::$service,
            name: $name,
            grants: &[$($crate::operations::Grant {
                action: $action,
                resource: $resource,
                condition: $crate::op!(@condition $($condition)?),
            }),*],
            while_applying: false,
        }
    };
    (@condition) => { None };
    (@condition $condition:expr) => { Some($condition) };
}

/// Conditions shared by several declarations.
pub mod condition {
    /// A role is passed only to Lambda.
    pub const PASSED_TO_LAMBDA: &str =
        r#"{"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}"#;
    /// Only the stack's own resources (those with its ownership tag): Cognito authorizes a pool's
    /// actions by its tags, and API Gateway a REST API's and its parts' (methods, integrations,
    /// authorizers, deployments, stages inherit the API's tags for this), so the deploy identity
    /// cannot change, delete or read (an app client's secret) any other pool or API of the
    /// account.
    pub const OWNED: &str = r#"{"StringEquals": {"aws:ResourceTag/provisioner:stack": "{stack}"}}"#;
    /// A create of one of the stack's resources: its ownership tag in the request, and every tag
    /// of the stack's `tags:` with its value, so the deploy identity cannot make a resource
    /// without the tags an organization requires (what its tag policies and SCPs check).
    pub const CREATED_AS_THE_STACKS: &str =
        r#"{"StringEquals": {"aws:RequestTag/provisioner:stack": "{stack}", "{tags}": ""}}"#;
    /// A request that makes a resource the stack's: its ownership tag in the request (a create's
    /// tagging half, and `adopt`'s tag, which carries no other).
    pub const TAGGED_AS_THE_STACKS: &str =
        r#"{"StringEquals": {"aws:RequestTag/provisioner:stack": "{stack}"}}"#;
    /// A tag change that neither sets nor removes the ownership tag (the stack's `tags:`, where
    /// the tagged resource's own tags cannot be a condition: API Gateway's `/tags/...`).
    pub const NOT_OWNERSHIP: &str = r#"{"ForAllValues:StringNotEquals": {"aws:TagKeys": ["provisioner:stack"]}, "Null": {"aws:TagKeys": "false"}}"#;
    /// `adopt`: the stack's ownership tag put on a pool that has none (never on another stack's).
    pub const ADOPTED: &str = r#"{"StringEquals": {"aws:RequestTag/provisioner:stack": "{stack}"}, "Null": {"aws:ResourceTag/provisioner:stack": "true"}}"#;
    /// Only the managed policy every function role gets is attached or detached.
    pub const BASIC_EXECUTION_POLICY: &str = r#"{"ArnEquals": {"iam:PolicyARN": "arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}}"#;
}

/// Resource patterns shared by several declarations.
pub mod arn {
    pub const ANY: &str = "*";
    pub const USER_POOL: &str = "arn:{partition}:cognito-idp:{region}:{account}:userpool/*";
    pub const ROLE: &str = "arn:{partition}:iam::{account}:role/{region_code}-{stack}-*";
    /// The stack's `permissionsBoundary:` policy (its grants go without one).
    pub const BOUNDARY: &str = "{boundary}";
    /// Roles made before roles were per region: read (and reported), never changed.
    pub const LEGACY_ROLE: &str = "arn:{partition}:iam::{account}:role/{stack}-*-role";
    pub const FUNCTION: &str = "arn:{partition}:lambda:{region}:{account}:function:{stack}-*";
    pub const FUNCTION_LOGS: &str =
        "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{stack}-*";
    /// The lock's group and its takeover marker (`<lock>.takeover`), each in both forms CloudWatch
    /// Logs authorizes: the bare ARN (tagging) and `:*` (create, delete).
    pub const LOCK_LOGS: &str =
        "arn:{partition}:logs:{region}:{account}:log-group:/provisioner/locks/{stack}";
    pub const LOCK_LOGS_ANY: &str =
        "arn:{partition}:logs:{region}:{account}:log-group:/provisioner/locks/{stack}:*";
    pub const LOCK_MARKER: &str =
        "arn:{partition}:logs:{region}:{account}:log-group:/provisioner/locks/{stack}.takeover";
    pub const LOCK_MARKER_ANY: &str =
        "arn:{partition}:logs:{region}:{account}:log-group:/provisioner/locks/{stack}.takeover:*";
    /// DescribeLogGroups is authorized on no single group.
    pub const LOG_GROUPS: &str = "arn:{partition}:logs:{region}:{account}:log-group::log-stream:";
    pub const REST_APIS: &str = "arn:{partition}:apigateway:{region}::/restapis";
    pub const REST_API: &str = "arn:{partition}:apigateway:{region}::/restapis/*";
    /// The tags of the region's REST APIs and their stages: API Gateway names a tagged
    /// resource's ARN URL-encoded in the path (a create's ends `%2Frestapis%2F*`), never another
    /// kind's (domain names, usage plans, API keys).
    pub const API_TAGS: &str = "arn:{partition}:apigateway:{region}::/tags/arn%3A{partition}%3Aapigateway%3A{region}%3A%3A%2Frestapis%2F*";
}

/// What a policy is for: `diff` (reads only), or `up`, `down`, `unlock` and `adopt` (everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Plan,
    Apply,
}

/// The values of a declaration's placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholders {
    pub partition: String,
    pub region: String,
    /// The region's short code (`use1`), as role names start with it.
    pub region_code: String,
    pub account: String,
    pub stack: String,
    /// The stack's `permissionsBoundary:`, if it has one: then every action that makes or widens
    /// a role is allowed only with that boundary on it (`iam:PermissionsBoundary`), so the deploy
    /// identity cannot make an unbounded role.
    pub boundary: Option<String>,
    /// The stack's `tags:`: every create that carries them is allowed only with them
    /// (`condition::CREATED_AS_THE_STACKS`).
    pub tags: std::collections::BTreeMap<String, String>,
}

/// The IAM actions that make or widen a role: with a boundary, allowed only on roles it bounds.
const BOUNDED_BY_THE_STACKS_BOUNDARY: &[&str] = &[
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
];

impl Placeholders {
    /// `grant`'s condition, filled in, with the boundary's added where it applies.
    fn condition(&self, grant: &Grant) -> Option<String> {
        let mut condition: serde_json::Map<String, serde_json::Value> = match grant.condition {
            Some(text) => serde_json::from_str(&self.fill(text))
                .unwrap_or_else(|err| panic!("a declared condition is not a JSON object: {err}")),
            None => serde_json::Map::new(),
        };
        for tests in condition.values_mut().filter_map(|v| v.as_object_mut()) {
            if tests.remove("{tags}").is_some() {
                for (key, value) in &self.tags {
                    tests.insert(
                        format!("aws:RequestTag/{key}"),
                        serde_json::Value::String(value.clone()),
                    );
                }
            }
        }
        if let Some(boundary) = &self.boundary
            && BOUNDED_BY_THE_STACKS_BOUNDARY.contains(&grant.action)
        {
            let equals = condition
                .entry("StringEquals")
                .or_insert_with(|| serde_json::json!({}));
            if let Some(equals) = equals.as_object_mut() {
                equals.insert(
                    "iam:PermissionsBoundary".to_owned(),
                    serde_json::Value::String(boundary.clone()),
                );
            }
        }
        (!condition.is_empty()).then(|| serde_json::Value::Object(condition).to_string())
    }

    fn fill(&self, pattern: &str) -> String {
        pattern
            .replace("{partition}", &self.partition)
            .replace("{region_code}", &self.region_code)
            .replace("{region}", &self.region)
            .replace("{account}", &self.account)
            .replace("{stack}", &self.stack)
            .replace("{boundary}", self.boundary.as_deref().unwrap_or_default())
    }
}

/// The IAM policy document `purpose` needs, from what `parts` declare: one statement per resource
/// (and condition), with every action on it, sorted, so the same declarations always give the
/// same document.
pub fn policy(
    parts: &[(&str, &[Operation])],
    purpose: Purpose,
    at: &Placeholders,
) -> serde_json::Value {
    use std::collections::{BTreeMap, BTreeSet};
    let mut grouped: BTreeMap<(String, Option<String>), BTreeSet<&str>> = BTreeMap::new();
    for operation in parts.iter().flat_map(|(_, operations)| operations.iter()) {
        if purpose == Purpose::Plan && !operation.planning() {
            continue;
        }
        for grant in operation.grants {
            // Without `permissionsBoundary:` a role's boundary is not managed: never set, nor read.
            if at.boundary.is_none()
                && (grant.action == "iam:PutRolePermissionsBoundary"
                    || grant.resource.contains("{boundary}"))
            {
                continue;
            }
            let key = (at.fill(grant.resource), at.condition(grant));
            grouped.entry(key).or_default().insert(grant.action);
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let statements: Vec<serde_json::Value> = grouped
        .into_iter()
        .map(|((resource, condition), actions)| {
            // `lambda:GetFunction` -> `Lambda1`, `Lambda2`, ...; actions of several services
            // (those authorized on no resource, granted on `*`) -> `AnyResource1`.
            let services: BTreeSet<&str> =
                actions.iter().filter_map(|a| a.split(':').next()).collect();
            let service = match services.len() {
                1 => services.first().copied().unwrap_or("s"),
                _ => "any-resource",
            };
            let name: String = service
                .split('-')
                .map(|word| {
                    let mut chars = word.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect();
            let n = counts.entry(name.clone()).or_default();
            *n += 1;
            let mut statement = serde_json::json!({
                "Sid": format!("{name}{n}"),
                "Effect": "Allow",
                "Action": actions.into_iter().collect::<Vec<_>>(),
                "Resource": resource,
            });
            if let Some(condition) = condition {
                // Every declared condition is a JSON object (tested): one that were not would
                // widen the grant if dropped, so it is never dropped.
                statement["Condition"] = serde_json::from_str(&condition)
                    .unwrap_or_else(|err| panic!("a declared condition is not JSON: {err}"));
            }
            statement
        })
        .collect();
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Operation = crate::op!(
        Lambda,
        "GetFunction",
        [("lambda:GetFunction", arn::FUNCTION)]
    );
    const WRITE: Operation = crate::op!(
        Lambda,
        "CreateFunction",
        [
            ("lambda:CreateFunction", arn::FUNCTION),
            ("iam:PassRole", arn::ROLE, condition::PASSED_TO_LAMBDA)
        ]
    );

    fn at() -> Placeholders {
        Placeholders {
            partition: "aws-cn".to_owned(),
            region: "cn-north-1".to_owned(),
            region_code: "cnn1".to_owned(),
            account: "111122223333".to_owned(),
            stack: "auth".to_owned(),
            boundary: None,
            tags: Default::default(),
        }
    }

    /// Every declared condition is a JSON object (one that were not would panic when the policy
    /// is made, never be dropped).
    #[test]
    fn every_declared_condition_is_a_json_object() {
        for (_, operations) in crate::registry::declared() {
            for grant in operations.iter().flat_map(|o| o.grants) {
                if let Some(condition) = grant.condition {
                    let parsed: serde_json::Value = serde_json::from_str(condition).unwrap();
                    assert!(parsed.is_object(), "{condition}");
                }
            }
        }
    }

    /// With a boundary, making or widening a role is allowed only with that boundary on it.
    #[test]
    fn a_boundary_conditions_what_makes_or_widens_a_role() {
        const CREATE: Operation = crate::op!(
            Iam,
            "CreateRole",
            [("iam:CreateRole", arn::ROLE), ("iam:TagRole", arn::ROLE)]
        );
        let parts: &[(&str, &[Operation])] = &[("role", &[CREATE])];
        let boundary = "arn:aws-cn:iam::111122223333:policy/Boundary";
        let bounded = Placeholders {
            boundary: Some(boundary.to_owned()),
            ..at()
        };
        let statements = policy(parts, Purpose::Apply, &bounded)["Statement"].clone();
        let create = statements
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Action"] == serde_json::json!(["iam:CreateRole"]))
            .expect("CreateRole on its own");
        assert_eq!(
            create["Condition"]["StringEquals"]["iam:PermissionsBoundary"],
            boundary
        );
    }

    /// A create that makes the stack's resources is allowed only with its ownership tag and every
    /// tag of `tags:` in the request; without `tags:`, only with the ownership tag.
    #[test]
    fn the_stacks_tags_condition_its_creates() {
        const CREATE: Operation = crate::op!(
            Iam,
            "CreateRole",
            [
                (
                    "iam:CreateRole",
                    arn::ROLE,
                    condition::CREATED_AS_THE_STACKS
                ),
                ("iam:TagRole", arn::ROLE)
            ]
        );
        let parts: &[(&str, &[Operation])] = &[("role", &[CREATE])];
        let create = |at: &Placeholders| {
            policy(parts, Purpose::Apply, at)["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Action"] == serde_json::json!(["iam:CreateRole"]))
                .expect("CreateRole on its own")["Condition"]
                .clone()
        };
        assert_eq!(
            create(&at()),
            serde_json::json!({"StringEquals": {"aws:RequestTag/provisioner:stack": "auth"}})
        );
        let tagged = Placeholders {
            tags: [("team", "identity"), ("cost-center", "42")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
            ..at()
        };
        assert_eq!(
            create(&tagged),
            serde_json::json!({"StringEquals": {
                "aws:RequestTag/provisioner:stack": "auth",
                "aws:RequestTag/team": "identity",
                "aws:RequestTag/cost-center": "42"
            }})
        );
    }

    #[test]
    fn a_policy_groups_actions_by_resource_and_plans_read_only() {
        let parts: &[(&str, &[Operation])] = &[("function", &[READ, WRITE])];
        let apply = policy(parts, Purpose::Apply, &at());
        assert_eq!(
            apply["Statement"],
            serde_json::json!([
                {"Sid": "Iam1", "Effect": "Allow", "Action": ["iam:PassRole"],
                 "Resource": "arn:aws-cn:iam::111122223333:role/cnn1-auth-*",
                 "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}},
                {"Sid": "Lambda1", "Effect": "Allow",
                 "Action": ["lambda:CreateFunction", "lambda:GetFunction"],
                 "Resource": "arn:aws-cn:lambda:cn-north-1:111122223333:function:auth-*"}
            ])
        );
        let plan = policy(parts, Purpose::Plan, &at());
        assert_eq!(
            plan["Statement"],
            serde_json::json!([{"Sid": "Lambda1", "Effect": "Allow", "Action": ["lambda:GetFunction"],
                "Resource": "arn:aws-cn:lambda:cn-north-1:111122223333:function:auth-*"}])
        );
    }
}
