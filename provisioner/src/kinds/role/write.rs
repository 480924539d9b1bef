//! The role's writes: create (tagged, and bounded, in the call), the typed changes of an update,
//! delete (policies detached and deleted first, as IAM requires).

use super::*;

/// Creates the role, tagged as `stack`'s in `region` in the same call, then attaches and puts
/// its policies. A crash part-way leaves a tagged role that `update` completes on the next run.
pub async fn create(
    client: &Client,
    (stack, region): (&str, &str),
    name: &str,
    description: &str,
    desired: &RoleSettings,
) -> Result<String, RoleError> {
    let tag = |key: &str, value: &str| tag(name, key, value);
    let mut tags = vec![tag(OWNERSHIP_TAG, stack)?, tag(REGION_TAG, region)?];
    for (key, value) in &desired.tags {
        tags.push(tag(key, value)?);
    }
    let output = client
        .create_role()
        .role_name(name)
        .description(description)
        .assume_role_policy_document(desired.trust_policy.to_string())
        .set_tags(Some(tags))
        .set_permissions_boundary(desired.permissions_boundary.clone())
        .send()
        .await
        .map_err(aws_error("create", name))?;
    let arn = output
        .role()
        .map(|role| role.arn().to_owned())
        .unwrap_or_default();
    // The boundary goes in the create call itself: a role is never unbounded, not for a moment.
    let empty = RoleSettings {
        trust_policy: desired.trust_policy.clone(),
        managed_policies: BTreeSet::new(),
        inline_policies: Default::default(),
        permissions_boundary: desired.permissions_boundary.clone(),
        tags: desired.tags.clone(),
    };
    update(client, name, &diff(&empty, desired).1, desired).await?;
    Ok(arn)
}

/// Makes exactly the calls of `changes` on role `name`, with the documents of `desired`.
pub async fn update(
    client: &Client,
    name: &str,
    changes: &RoleChanges,
    desired: &RoleSettings,
) -> Result<(), RoleError> {
    for change in changes {
        match change {
            RoleChange::TrustPolicy => client
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(desired.trust_policy.to_string())
                .send()
                .await
                .map(drop)
                .map_err(aws_error("update the trust policy of", name))?,
            RoleChange::Boundary => {
                // Planned only for a boundary stack.yaml gives (see `diff`).
                if let Some(boundary) = &desired.permissions_boundary {
                    client
                        .put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(boundary)
                        .send()
                        .await
                        .map(drop)
                        .map_err(aws_error("set the permissions boundary of", name))?
                }
            }
            RoleChange::Attach(arn) => client
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(aws_error("attach a managed policy to", name))?,
            RoleChange::Detach(arn) => client
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(aws_error("detach a managed policy from", name))?,
            RoleChange::PutInline(policy_name) => {
                let Some(doc) = desired.inline_policies.get(policy_name) else {
                    // The diff adds this change only for a policy `desired` has.
                    continue;
                };
                client
                    .put_role_policy()
                    .role_name(name)
                    .policy_name(policy_name)
                    .policy_document(doc.to_string())
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("put the inline policy of", name))?
            }
            RoleChange::DeleteInline(policy_name) => client
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy_name)
                .send()
                .await
                .map(drop)
                .map_err(aws_error("delete an inline policy of", name))?,
            RoleChange::Tags(change) => retag(client, name, change).await?,
        }
    }
    Ok(())
}

/// An IAM tag for role `name`.
fn tag(name: &str, key: &str, value: &str) -> Result<Tag, RoleError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|err| RoleError::Request {
            name: name.to_owned(),
            detail: err.to_string(),
        })
}

/// TagRole with the tags new or changed, UntagRole with the keys no longer declared.
async fn retag(
    client: &Client,
    name: &str,
    change: &crate::kinds::tags::TagChange,
) -> Result<(), RoleError> {
    if !change.set.is_empty() {
        let mut tags = Vec::new();
        for (key, value) in &change.set {
            tags.push(tag(name, key, value)?);
        }
        client
            .tag_role()
            .role_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(aws_error("tag", name))?;
    }
    // IAM takes keys without case: a key only renamed in case was just set, not to be removed.
    let remove: Vec<String> = change
        .remove
        .iter()
        .filter(|key| !change.set.keys().any(|set| set.eq_ignore_ascii_case(key)))
        .cloned()
        .collect();
    if !remove.is_empty() {
        client
            .untag_role()
            .role_name(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(aws_error("untag", name))?;
    }
    Ok(())
}

/// Deletes the role and what hangs on it (IAM refuses to delete a role with policies). Reads the
/// role afresh first, so policies changed since it was observed are removed too; a role that is
/// already gone counts as deleted, so a re-run after a crash finishes the job. Callers check
/// ownership before calling this.
pub async fn delete(client: &Client, name: &str) -> Result<(), RoleError> {
    let Some(live) = find(client, name).await? else {
        return Ok(());
    };
    let gone = RoleSettings {
        trust_policy: live.settings.trust_policy.clone(),
        managed_policies: BTreeSet::new(),
        inline_policies: Default::default(),
        permissions_boundary: live.settings.permissions_boundary.clone(),
        tags: live.settings.tags.clone(),
    };
    update(client, name, &diff(&live.settings, &gone).1, &gone).await?;
    let deleted = client.delete_role().role_name(name).send().await;
    // Already gone counts as deleted.
    absent_as_none(deleted.map_err(aws_error("delete", name)))?;
    Ok(())
}
