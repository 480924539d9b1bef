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
    for (name, made) in [("plan", &plan), ("apply", &apply)] {
        if let Some(note) = size_note(name, made) {
            crate::output::status(&note);
        }
    }
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

/// What to say about document `name` when IAM would not take it as a managed policy (a long stack
/// name, many `tags:`): where it still fits, or that it must be split.
fn size_note(name: &str, document: &serde_json::Value) -> Option<String> {
    let size = document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count();
    if size <= MANAGED_POLICY_CHARACTERS {
        return None;
    }
    Some(if size <= ROLE_INLINE_CHARACTERS {
        format!(
            "note: the `{name}` document is {size} characters; IAM takes at most {MANAGED_POLICY_CHARACTERS} in a managed policy: put it inline on the role (`aws iam put-role-policy`, up to {ROLE_INLINE_CHARACTERS} for all of a role's inline policies), or split its statements over two managed policies"
        )
    } else {
        format!(
            "warning: the `{name}` document is {size} characters, over IAM's limits for a managed policy ({MANAGED_POLICY_CHARACTERS}) and for a role's inline policies together ({ROLE_INLINE_CHARACTERS}): split its statements over several managed policies (fewer `tags:` or a shorter stack name shorten it)"
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
}
