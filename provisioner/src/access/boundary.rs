//! A permissions boundary (stack.yaml's `permissionsBoundary:`, a managed policy) as IAM applies
//! it to a role's calls: a call the role's policies allow is still refused unless some statement
//! of the boundary allows it too, or when one denies it.
//!
//! The local check may refuse less than AWS, never more: a statement with a `Condition` (which
//! this check cannot evaluate) counts as allowing when it allows and as not denying when it
//! denies, and so does one whose resource this check cannot match: the call's resource could not
//! be read, or the pattern holds a policy variable (`${aws:username}`).

use serde_json::Value;

use super::glob;

/// Who refuses a call the role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BoundaryRefusal {
    /// No statement of the boundary allows it.
    NoAllow,
    /// A statement of the boundary denies it.
    ExplicitDeny,
}

/// A list of patterns, or (`NotAction`, `NotResource`) every value but those.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Patterns {
    Listed(Vec<String>),
    AllBut(Vec<String>),
}

impl Patterns {
    /// Whether `value` is among the resources: None when this check cannot tell (`value` is
    /// unknown, or only a pattern with a policy variable could match it).
    fn covers(&self, value: Option<&str>) -> Option<bool> {
        let (patterns, listed) = match self {
            Patterns::Listed(patterns) => (patterns, true),
            Patterns::AllBut(patterns) => (patterns, false),
        };
        if patterns.iter().any(|p| p == "*") {
            return Some(listed);
        }
        let value = value?;
        let (variable, plain): (Vec<&String>, Vec<&String>) =
            patterns.iter().partition(|p| p.contains("${"));
        if plain.iter().any(|p| glob(p, value)) {
            return Some(listed);
        }
        if variable.is_empty() {
            Some(!listed)
        } else {
            None
        }
    }

    /// Whether `action` is among the actions (IAM compares actions without case).
    fn has_action(&self, action: &str) -> bool {
        let action = action.to_lowercase();
        let any = |patterns: &[String]| patterns.iter().any(|p| glob(&p.to_lowercase(), &action));
        match self {
            Patterns::Listed(patterns) => any(patterns),
            Patterns::AllBut(patterns) => !any(patterns),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    actions: Patterns,
    resources: Patterns,
    /// It has a `Condition`, which is not evaluated here.
    conditional: bool,
}

/// A permissions boundary's statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    /// The managed policy's ARN, as stack.yaml names it.
    pub arn: String,
    statements: Vec<Statement>,
}

impl Boundary {
    /// The boundary from its policy document. Err: what is wrong with the document.
    pub fn parse(arn: &str, document: &Value) -> Result<Boundary, String> {
        let statements = match &document["Statement"] {
            Value::Array(items) => items.clone(),
            item @ Value::Object(_) => vec![item.clone()],
            _ => return Err("the document has no `Statement`".to_owned()),
        };
        let statements = statements
            .iter()
            .enumerate()
            .map(|(index, statement)| {
                let allow = match statement["Effect"].as_str() {
                    Some("Allow") => true,
                    Some("Deny") => false,
                    _ => return Err(format!("statement {index} has no `Effect` Allow or Deny")),
                };
                let patterns = |listed: &str, all_but: &str| match (
                    strings(&statement[listed]),
                    strings(&statement[all_but]),
                ) {
                    (Some(patterns), None) => Ok(Patterns::Listed(patterns)),
                    (None, Some(patterns)) => Ok(Patterns::AllBut(patterns)),
                    _ => Err(format!(
                        "statement {index} has neither or both of `{listed}` and `{all_but}`"
                    )),
                };
                Ok(Statement {
                    allow,
                    actions: patterns("Action", "NotAction")?,
                    resources: patterns("Resource", "NotResource")?,
                    conditional: statement.get("Condition").is_some_and(|c| !c.is_null()),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Boundary {
            arn: arn.to_owned(),
            statements,
        })
    }

    /// Whether the boundary refuses `action` on `resource` (None: a resource the call's request
    /// does not tell), and how.
    pub fn refuses(&self, action: &str, resource: Option<&str>) -> Option<BoundaryRefusal> {
        let denied = self.statements.iter().any(|s| {
            !s.allow
                && !s.conditional
                && s.actions.has_action(action)
                && s.resources.covers(resource) == Some(true)
        });
        if denied {
            return Some(BoundaryRefusal::ExplicitDeny);
        }
        let allowed = self.statements.iter().any(|s| {
            s.allow && s.actions.has_action(action) && s.resources.covers(resource) != Some(false)
        });
        (!allowed).then_some(BoundaryRefusal::NoAllow)
    }
}

/// A policy element's values: one string, or a list of them; None when it is absent.
fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc";

    fn boundary(document: Value) -> Boundary {
        Boundary::parse("arn:aws:iam::123456789012:policy/boundary", &document).unwrap()
    }

    #[test]
    fn only_what_an_allow_statement_covers_passes() {
        let b = boundary(serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": "cognito-idp:Admin*", "Resource": POOL}
        ]}));
        assert_eq!(b.refuses("cognito-idp:AdminGetUser", Some(POOL)), None);
        assert_eq!(
            b.refuses("Cognito-IDP:adminGetUser", Some(POOL)),
            None,
            "actions fold case"
        );
        assert_eq!(
            b.refuses("cognito-idp:ListUsers", Some(POOL)),
            Some(BoundaryRefusal::NoAllow)
        );
        let other = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_other";
        assert_eq!(
            b.refuses("cognito-idp:AdminGetUser", Some(other)),
            Some(BoundaryRefusal::NoAllow)
        );
        // A resource the check cannot read: the action alone decides.
        assert_eq!(b.refuses("cognito-idp:AdminGetUser", None), None);
    }

    /// PowerUserAccess's shape: everything but IAM, by NotAction.
    #[test]
    fn not_action_and_a_deny_refuse_as_iam_does() {
        let b = boundary(serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "NotResource": "arn:aws:dynamodb:*:*:table/scratch-*"}
        ]}));
        assert_eq!(b.refuses("cognito-idp:AdminGetUser", Some(POOL)), None);
        assert_eq!(
            b.refuses("iam:GetRole", Some("arn:aws:iam::123456789012:role/r")),
            Some(BoundaryRefusal::NoAllow)
        );
        let table = |name: &str| format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}");
        assert_eq!(
            b.refuses("dynamodb:DeleteTable", Some(&table("users"))),
            Some(BoundaryRefusal::ExplicitDeny)
        );
        assert_eq!(
            b.refuses("dynamodb:DeleteTable", Some(&table("scratch-1"))),
            None
        );
        // Unknown resource: a deny that might not apply does not refuse; one on every resource
        // does.
        assert_eq!(b.refuses("dynamodb:DeleteTable", None), None);
        let everywhere = boundary(serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
        ]}));
        assert_eq!(
            everywhere.refuses("dynamodb:DeleteTable", None),
            Some(BoundaryRefusal::ExplicitDeny)
        );
    }

    /// A policy variable is not resolved here: its statement may apply, so an Allow counts and a
    /// Deny does not.
    #[test]
    fn policy_variables_never_refuse_more_than_aws() {
        let b = boundary(serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::home/${aws:username}/keep/*"}
        ]}));
        assert_eq!(
            b.refuses("s3:GetObject", Some("arn:aws:s3:::home/alice/x")),
            None
        );
        assert_eq!(
            b.refuses("s3:DeleteObject", Some("arn:aws:s3:::home/alice/keep/x")),
            None
        );
        assert_eq!(
            b.refuses("s3:GetObject", Some("arn:aws:s3:::other/x")),
            None,
            "a variable could match anything: not refused"
        );
        assert_eq!(
            b.refuses("dynamodb:GetItem", Some("arn:aws:s3:::other/x")),
            Some(BoundaryRefusal::NoAllow),
            "the action alone still decides"
        );
    }

    /// A condition is not evaluated: it never makes the check refuse what AWS might allow.
    #[test]
    fn conditional_statements_never_refuse_more_than_aws() {
        let b = boundary(serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]}));
        assert_eq!(b.refuses("s3:GetObject", Some("arn:aws:s3:::b/k")), None);
        assert_eq!(
            b.refuses("s3:PutObject", Some("arn:aws:s3:::b/k")),
            Some(BoundaryRefusal::NoAllow)
        );
    }

    #[test]
    fn a_malformed_document_is_named() {
        let parse = |document: Value| Boundary::parse("arn", &document).unwrap_err();
        assert!(parse(serde_json::json!({})).contains("no `Statement`"));
        assert!(
            parse(serde_json::json!({"Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}}))
                .contains("statement 0 has no `Effect`")
        );
        assert!(
            parse(serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "*"}]}))
                .contains("neither or both of `Resource` and `NotResource`")
        );
    }
}
