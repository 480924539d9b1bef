//! `provisioner policy`: the IAM policy documents the identity running the tool needs for this
//! stack, derived from the operations each part of the tool declares (`operations`), never kept by
//! hand beside the code. `plan` is for `diff` (reads only); `apply` for everything that writes.

use super::{UsageError, exit};
use crate::cli::{GlobalArgs, PolicyArgs, PolicyFor};
use crate::operations::{Placeholders, Purpose, policy as document};

pub async fn policy(global: &GlobalArgs, args: &PolicyArgs) -> anyhow::Result<i32> {
    let stack = super::reconcile::load_without_code(global)?;
    let name = stack.loaded.stack.name.clone();
    let (partition, region, account) = match (&args.account, &global.region) {
        // Both given: nothing is called (a policy can be made before any credentials exist).
        (Some(account), Some(region)) => {
            let twelve = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
            if !twelve {
                return Err(UsageError(format!(
                    "`--account {account}` is not an AWS account id: 12 digits"
                ))
                .into());
            }
            crate::aws::check_region(region, "`--region`")?;
            let partition = crate::regions::partition(region).unwrap_or("aws");
            (partition.to_owned(), region.clone(), account.clone())
        }
        _ => {
            let session = super::reconcile::open(global, &stack).await?;
            let target = session.target();
            let account = args.account.clone().unwrap_or(target.account.clone());
            (target.partition.clone(), target.region.clone(), account)
        }
    };
    let at = Placeholders {
        region_code: crate::regions::short_code(&region),
        partition,
        region,
        account,
        stack: name,
        boundary: stack.loaded.stack.permissions_boundary.clone(),
        tags: stack.loaded.stack.tags.clone().unwrap_or_default(),
    };
    let parts = crate::registry::declared();
    // `diff` never touches the lock.
    let reading: Vec<_> = parts
        .iter()
        .copied()
        .filter(|(part, _)| *part != "lock")
        .collect();
    let plan = document(&reading, Purpose::Plan, &at);
    let apply = document(&parts, Purpose::Apply, &at);
    let (plan, apply) = if args.split {
        let (plan, apply) = (split(&plan), split(&apply));
        for (name, parts) in [("plan", &plan), ("apply", &apply)] {
            if let Some(note) = split_note(name, parts) {
                crate::output::status(&note);
            }
        }
        (plan, apply)
    } else {
        for (name, made) in [("plan", &plan), ("apply", &apply)] {
            if let Some(note) = size_note(name, made) {
                crate::output::status(&note);
            }
        }
        (plan, apply)
    };
    let out = match args.purpose {
        Some(PolicyFor::Plan) => plan,
        Some(PolicyFor::Apply) => apply,
        None => serde_json::json!({ "plan": plan, "apply": apply }),
    };
    crate::output::json(&out)?;
    Ok(exit::OK)
}

/// IAM's size limits on a policy document, in characters without whitespace: a managed policy,
/// and a role's inline policies together.
const MANAGED_POLICY_CHARACTERS: usize = 6_144;
const ROLE_INLINE_CHARACTERS: usize = 10_240;

/// Characters IAM counts in a policy document: all but whitespace.
fn size(document: &serde_json::Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// `document` as a list of documents with its statements, in order, each of at most
/// [`MANAGED_POLICY_CHARACTERS`] (a statement larger than that alone is a document alone).
fn split(document: &serde_json::Value) -> serde_json::Value {
    let empty = || serde_json::json!({ "Version": "2012-10-17", "Statement": [] });
    let mut documents = vec![empty()];
    for statement in document["Statement"].as_array().into_iter().flatten() {
        let mut candidate = documents.last().cloned().unwrap_or_else(empty);
        if let Some(statements) = candidate["Statement"].as_array_mut() {
            statements.push(statement.clone());
        }
        let fits = size(&candidate) <= MANAGED_POLICY_CHARACTERS;
        let started = documents
            .last()
            .is_some_and(|d| d["Statement"].as_array().is_some_and(|s| !s.is_empty()));
        if fits || !started {
            if let Some(last) = documents.last_mut() {
                *last = candidate;
            }
        } else {
            let mut next = empty();
            next["Statement"] = serde_json::json!([statement]);
            documents.push(next);
        }
    }
    serde_json::Value::Array(documents)
}

/// Managed policies a role takes by default (a quota that can be raised to 20).
const MANAGED_POLICIES_PER_ROLE: usize = 10;

/// What to say about split document `name` when IAM would still refuse it: a part over the limit
/// (one statement alone too large), or more parts than a role takes.
fn split_note(name: &str, parts: &serde_json::Value) -> Option<String> {
    let parts = parts.as_array()?;
    if let Some(large) = parts
        .iter()
        .map(size)
        .find(|s| *s > MANAGED_POLICY_CHARACTERS)
    {
        return Some(format!(
            "warning: a statement of the `{name}` document is {large} characters alone, over IAM's {MANAGED_POLICY_CHARACTERS} for a managed policy: fewer `tags:` or a shorter stack name shorten it"
        ));
    }
    (parts.len() > MANAGED_POLICIES_PER_ROLE).then(|| {
        format!(
            "note: the `{name}` document is {} managed policies; a role takes {MANAGED_POLICIES_PER_ROLE} unless its quota is raised (to at most 20)",
            parts.len()
        )
    })
}

/// What to say about document `name` when IAM would not take it as a managed policy (a long stack
/// name, many `tags:`): where it still fits, or that it must be split.
fn size_note(name: &str, document: &serde_json::Value) -> Option<String> {
    let size = size(document);
    if size <= MANAGED_POLICY_CHARACTERS {
        return None;
    }
    Some(if size <= ROLE_INLINE_CHARACTERS {
        format!(
            "note: the `{name}` document is {size} characters; IAM takes at most {MANAGED_POLICY_CHARACTERS} in a managed policy: put it inline on the role (`aws iam put-role-policy`, up to {ROLE_INLINE_CHARACTERS} for all of a role's inline policies), or split its statements over two managed policies (`--split`)"
        )
    } else {
        format!(
            "warning: the `{name}` document is {size} characters, over IAM's limits for a managed policy ({MANAGED_POLICY_CHARACTERS}) and for a role's inline policies together ({ROLE_INLINE_CHARACTERS}): split its statements over several managed policies (`--split`; fewer `tags:` or a shorter stack name shorten it)"
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_document_iam_would_not_take_as_a_managed_policy_is_told() {
        let statements = |n: usize| {
            serde_json::json!({"Version": "2012-10-17", "Statement": (0..n)
                .map(|i| serde_json::json!({"Effect": "Allow", "Action": ["lambda:GetFunction"], "Resource": format!("arn:aws:lambda:us-east-1:123456789012:function:stack-{i:04}-*")}))
                .collect::<Vec<_>>()})
        };
        assert_eq!(super::size_note("apply", &statements(10)), None);
        let inline = super::size_note("apply", &statements(80)).unwrap();
        assert!(
            inline.starts_with("note: the `apply` document is "),
            "{inline}"
        );
        assert!(inline.contains("put it inline"), "{inline}");
        let over = super::size_note("apply", &statements(200)).unwrap();
        assert!(
            over.starts_with("warning: the `apply` document is "),
            "{over}"
        );
    }

    /// Split, every document fits a managed policy, and together they hold every statement in
    /// order; a small document stays one.
    #[test]
    fn a_split_document_keeps_every_statement_within_the_limit() {
        let document = |n: usize| {
            serde_json::json!({"Version": "2012-10-17", "Statement": (0..n)
                .map(|i| serde_json::json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": ["lambda:GetFunction"], "Resource": format!("arn:aws:lambda:us-east-1:123456789012:function:stack-{i:04}-*")}))
                .collect::<Vec<_>>()})
        };
        let big = document(200);
        let parts = super::split(&big);
        let parts = parts.as_array().unwrap();
        assert!(parts.len() >= 4, "{}", parts.len());
        assert!(
            parts
                .iter()
                .all(|p| super::size(p) <= super::MANAGED_POLICY_CHARACTERS)
        );
        let joined: Vec<&serde_json::Value> = parts
            .iter()
            .flat_map(|p| p["Statement"].as_array().unwrap())
            .collect();
        let original: Vec<&serde_json::Value> =
            big["Statement"].as_array().unwrap().iter().collect();
        assert_eq!(joined, original);
        assert_eq!(super::split(&document(3)).as_array().unwrap().len(), 1);
        assert_eq!(
            super::split_note("apply", &super::split(&document(3))),
            None
        );
        // More parts than a role takes by default, and a statement too large alone: said.
        let many = super::split_note("apply", &super::split(&document(600))).unwrap();
        assert!(many.contains("managed policies; a role takes 10"), "{many}");
        let huge = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
            "Resource": (0..400).map(|i| format!("arn:aws:s3:::bucket-{i:04}/*")).collect::<Vec<_>>()}]});
        let alone = super::split_note("apply", &super::split(&huge)).unwrap();
        assert!(
            alone.starts_with("warning: a statement of the `apply` document is "),
            "{alone}"
        );
    }
}
