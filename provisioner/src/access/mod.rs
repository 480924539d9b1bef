//! A function's AWS calls checked against its role, on this machine (`serve`, `invoke`): what a
//! call needs from IAM ([`request`]), what the role grants (its `allow` statements with references
//! resolved, and the managed policy every role gets), the decision, the statement to add when the
//! role lacks one, and what each function used. Pure: the local endpoint that applies it is
//! `serve::aws_check`.
//!
//! The role's identity policies (Allow statements, action and resource) are evaluated, and the
//! stack's permissions boundary when it has one ([`boundary`]): resource policies (a KMS key's, a
//! bucket's), conditions and service control policies may refuse more on AWS, never less.

pub mod boundary;
pub mod request;

use std::collections::BTreeMap;

use serde::Serialize;

pub use boundary::{Boundary, BoundaryRefusal};
pub use request::{Incoming, Needed, Protocol, Scope, needed};

/// One statement of a role's identity policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its place in the function's `allow` list; None for the managed policy every role gets.
    pub statement: Option<usize>,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// What AWSLambdaBasicExecutionRole allows (writing the function's logs).
pub fn basic_execution_grant() -> Grant {
    Grant {
        statement: None,
        actions: [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ]
        .map(str::to_owned)
        .to_vec(),
        resources: vec!["*".to_owned()],
    }
}

/// A function's role, as IAM would evaluate its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePolicy {
    /// The logical name (stack.yaml).
    pub function: String,
    /// Who AWS says is refused: `arn:P:sts::A:assumed-role/ROLE/FUNCTION`.
    pub principal: String,
    pub grants: Vec<Grant>,
    /// The stack's `permissionsBoundary:`, as read from IAM.
    pub boundary: Option<Boundary>,
}

/// How a call was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "decision")]
pub enum Decision {
    /// Every resource it names is granted.
    Allowed,
    /// The role grants the action, but the resource could not be formed from the request: only
    /// the action was checked.
    ActionOnly,
    /// IAM does not authorize it (Cognito's public operations).
    NotByIam,
    /// The operation could not be read from the request: not checked.
    Unchecked,
    /// Refused: no statement grants the action on this resource.
    Denied { resource: String },
    /// Refused by the permissions boundary, though the role's statements allow it (`resource`:
    /// `*` when the call's resource could not be read).
    Bounded {
        resource: String,
        by: BoundaryRefusal,
    },
}

impl RolePolicy {
    pub fn decide(&self, needed: &Needed) -> Decision {
        if !needed.by_iam {
            return Decision::NotByIam;
        }
        if needed.operation.is_empty() {
            return Decision::Unchecked;
        }
        let bounded = |resource: Option<&String>| {
            let by = self
                .boundary
                .as_ref()?
                .refuses(&needed.action, resource.map(String::as_str))?;
            Some(Decision::Bounded {
                resource: resource.map_or_else(|| "*".to_owned(), Clone::clone),
                by,
            })
        };
        if needed.resources.is_empty() {
            let any = self.grants.iter().any(|g| grants_action(g, &needed.action));
            return match (any, bounded(None)) {
                (false, _) => Decision::Denied {
                    resource: "*".to_owned(),
                },
                (true, Some(refused)) => refused,
                (true, None) => Decision::ActionOnly,
            };
        }
        for resource in &needed.resources {
            let allowed = self.grants.iter().any(|g| {
                grants_action(g, &needed.action) && g.resources.iter().any(|r| glob(r, resource))
            });
            if !allowed {
                return Decision::Denied {
                    resource: resource.clone(),
                };
            }
            if let Some(refused) = bounded(Some(resource)) {
                return refused;
            }
        }
        Decision::Allowed
    }

    /// AWS's message for a refused call (`by`: refused by the permissions boundary).
    pub fn refusal(&self, action: &str, resource: &str, by: Option<BoundaryRefusal>) -> String {
        let why = match by {
            None => format!("because no identity-based policy allows the {action} action"),
            Some(BoundaryRefusal::NoAllow) => {
                format!("because no permissions boundary allows the {action} action")
            }
            Some(BoundaryRefusal::ExplicitDeny) => {
                "with an explicit deny in a permissions boundary".to_owned()
            }
        };
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
            self.principal
        )
    }
}

fn grants_action(grant: &Grant, action: &str) -> bool {
    let action = action.to_lowercase();
    grant
        .actions
        .iter()
        .any(|pattern| glob(&pattern.to_lowercase(), &action))
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The statement to add to `functions.<function>.allow` for a refused call, ready to paste:
/// the resource as the stack's reference when it is one of the stack's (`references`: ARN ->
/// reference text), else the ARN.
pub fn statement_to_add(
    function: &str,
    action: &str,
    resource: &str,
    references: &BTreeMap<String, String>,
) -> String {
    let resource = references
        .get(resource)
        .map_or_else(|| resource.to_owned(), |r| format!("${{{r}}}"));
    format!(
        "add to `functions.{function}.allow` in stack.yaml:\n    - actions: [{action}]\n      resources: [\"{resource}\"]"
    )
}

/// What one function's calls were, by action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Used {
    pub calls: u64,
    pub refused: u64,
    /// IAM does not authorize it (no statement is needed).
    pub not_by_iam: bool,
    /// Some call's resource (or, when `unchecked`, its action) could not be read.
    pub resource_unchecked: bool,
}

/// A function's calls and its role's grants, for the summary when serve stops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub used: BTreeMap<String, Used>,
    /// Calls whose operation could not be read (not checked).
    pub unchecked: u64,
}

impl Usage {
    pub fn record(&mut self, needed: &Needed, decision: &Decision) {
        if *decision == Decision::Unchecked {
            self.unchecked += 1;
            return;
        }
        let used = self.used.entry(needed.action.clone()).or_default();
        used.calls += 1;
        match decision {
            Decision::Denied { .. } | Decision::Bounded { .. } => used.refused += 1,
            Decision::NotByIam => used.not_by_iam = true,
            Decision::ActionOnly => used.resource_unchecked = true,
            Decision::Allowed | Decision::Unchecked => {}
        }
    }

    /// The actions of the role's `allow` statements that no call used (patterns as written).
    pub fn never_used(&self, policy: &RolePolicy) -> Vec<String> {
        let mut unused = Vec::new();
        for grant in policy.grants.iter().filter(|g| g.statement.is_some()) {
            for pattern in &grant.actions {
                let lower = pattern.to_lowercase();
                let used = self
                    .used
                    .iter()
                    .any(|(action, u)| u.refused < u.calls && glob(&lower, &action.to_lowercase()));
                if !used && !unused.contains(pattern) {
                    unused.push(pattern.clone());
                }
            }
        }
        unused
    }

    /// Granted actions IAM never checks: a statement for them is not needed.
    pub fn granted_without_need(&self, policy: &RolePolicy) -> Vec<String> {
        self.used
            .iter()
            .filter(|(action, u)| {
                u.not_by_iam
                    && policy
                        .grants
                        .iter()
                        .filter(|g| g.statement.is_some())
                        .any(|g| grants_action(g, action))
            })
            .map(|(action, _)| action.clone())
            .collect()
    }
}

/// One function's summary line when the session ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub function: String,
    #[serde(flatten)]
    pub usage: Usage,
    /// Actions of its `allow` statements no call used.
    pub granted_never_used: Vec<String>,
    /// Actions its `allow` grants that IAM never checks.
    pub granted_without_need: Vec<String>,
}

/// `function`'s role as stack.yaml declares it, with its references resolved against `values`
/// (one without a value is kept as written, and matches nothing).
pub fn role_policy(
    stack: &crate::spec::Stack,
    target: &crate::aws::Target,
    values: &crate::base::Values,
    function: &str,
    boundary: Option<&Boundary>,
) -> Option<RolePolicy> {
    let spec = stack.functions.get(function)?;
    let mut grants = vec![basic_execution_grant()];
    for (index, statement) in spec.allow.iter().enumerate() {
        let resources = statement
            .resources
            .iter()
            .map(|template| {
                template
                    .render(|r| {
                        values
                            .get(stack, target, r)
                            .or_else(|| Some(format!("${{{r}}}")))
                    })
                    .unwrap_or_else(|_| template.to_string())
            })
            .collect();
        grants.push(Grant {
            statement: Some(index),
            actions: statement.actions.clone(),
            resources,
        });
    }
    Some(RolePolicy {
        function: function.to_owned(),
        principal: format!(
            "arn:{}:sts::{}:assumed-role/{}/{}",
            target.partition,
            target.account,
            spec.role_name(&target.region),
            spec.physical_name
        ),
        grants,
        boundary: boundary.cloned(),
    })
}

/// The stack's resources by ARN, as stack.yaml refers to them (`userPools.users.arn`): how a
/// statement to add names its resource.
pub fn references(
    stack: &crate::spec::Stack,
    target: &crate::aws::Target,
    values: &crate::base::Values,
) -> BTreeMap<String, String> {
    let mut references = BTreeMap::new();
    for (name, pool) in &values.pools {
        references.insert(pool.arn.clone(), format!("userPools.{name}.arn"));
    }
    for (name, function) in &stack.functions {
        references.insert(
            target.lambda_arn(&function.physical_name),
            format!("functions.{name}.arn"),
        );
    }
    references
}

#[cfg(test)]
mod tests;
