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
    let out = match args.purpose {
        Some(PolicyFor::Plan) => plan,
        Some(PolicyFor::Apply) => apply,
        None => serde_json::json!({ "plan": plan, "apply": apply }),
    };
    crate::output::json(&out)?;
    Ok(exit::OK)
}
