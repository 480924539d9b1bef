//! A function's log group, `/aws/lambda/<function>`, with its retention. Created by this tool
//! (tagged, before the function) so that it has a retention and `down` can remove it; Lambda would
//! otherwise create it untagged, keeping logs forever, on the first invocation.

use std::collections::HashMap;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::LogGroup;

use crate::kinds::tags::{TagChange, Tags};
use crate::plan::{Action, Differ, Shown};
use crate::spec::OWNERSHIP_TAG;

/// `/aws/lambda/<function name>`: where Lambda writes a function's logs.
pub fn log_group_name(function_name: &str) -> String {
    format!("/aws/lambda/{function_name}")
}

/// A log group found live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLogGroup {
    pub name: String,
    /// Without the `:*` suffix that DescribeLogGroups puts on `arn`.
    pub arn: String,
    /// None: kept forever.
    pub retention_days: Option<i32>,
    pub tags: HashMap<String, String>,
    /// When it was made, in ms since the epoch (the stack's lock is aged by it).
    pub created_ms: Option<i64>,
}

impl LiveLogGroup {
    /// The stack's `tags:` on it (the ownership tag aside).
    pub fn managed_tags(&self) -> Tags {
        crate::kinds::tags::managed(&self.tags)
    }

    pub fn owned_by(&self, stack: &str) -> bool {
        self.tags
            .get(OWNERSHIP_TAG)
            .is_some_and(|owner| owner == stack)
    }
}

/// What it takes to make the live retention and the stack's tags match. Pure.
pub fn diff(
    live_retention_days: Option<i32>,
    desired_retention_days: i32,
    live_tags: &Tags,
    desired_tags: &Tags,
) -> Action {
    let mut d = Differ::default();
    let show = |days: Option<i32>| {
        Shown(days.map_or_else(|| "never expire".to_owned(), |d| d.to_string()))
    };
    d.field(
        "retentionDays",
        &show(live_retention_days),
        &show(Some(desired_retention_days)),
    );
    d.field("tags", live_tags, desired_tags);
    d.action()
}

/// A log group's calls fail only as AWS answers.
pub type LogGroupError = crate::aws::AwsError;

/// What a CloudWatch Logs call's error on group `name` becomes.
fn aws_error<E: Into<aws_sdk_cloudwatchlogs::Error>>(
    action: &'static str,
    name: &str,
) -> impl FnOnce(E) -> LogGroupError {
    LogGroupError::of::<aws_sdk_cloudwatchlogs::Error, E>(action, format!("log group `{name}`"))
}

/// The log group named exactly `name`, if it exists, with its tags.
pub async fn find(client: &Client, name: &str) -> Result<Option<LiveLogGroup>, LogGroupError> {
    let mut pages = client
        .describe_log_groups()
        .log_group_name_prefix(name)
        .into_paginator()
        .send();
    let mut found: Option<LogGroup> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error("find", name))?;
        if let Some(group) = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
        {
            found = Some(group.clone());
            break;
        }
    }
    match found {
        Some(group) => with_tags(client, &group).await,
        None => Ok(None),
    }
}

/// `group` as listed, with its tags (one ListTagsForResource on its ARN); None if it was deleted
/// since it was listed.
pub async fn with_tags(
    client: &Client,
    group: &LogGroup,
) -> Result<Option<LiveLogGroup>, LogGroupError> {
    let name = group.log_group_name().unwrap_or_default();
    let arn = group
        .log_group_arn()
        .map(str::to_owned)
        .or_else(|| group.arn().map(|arn| arn.trim_end_matches(":*").to_owned()))
        .unwrap_or_default();
    let listed = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(aws_error("read the tags of", name));
    // Deleted since it was listed.
    let Some(listed) = crate::aws::absent_as_none(listed)? else {
        return Ok(None);
    };
    let tags = listed.tags().cloned().unwrap_or_default();
    Ok(Some(LiveLogGroup {
        name: name.to_owned(),
        arn,
        retention_days: group.retention_in_days(),
        tags,
        created_ms: group.creation_time(),
    }))
}

/// Every log group whose name starts with `prefix` (every page listed).
pub async fn list_with_prefix(
    client: &Client,
    prefix: &str,
) -> Result<Vec<LogGroup>, LogGroupError> {
    let mut pages = client
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .send();
    let mut groups = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error("list", &format!("{prefix}*")))?;
        groups.extend(
            page.log_groups()
                .iter()
                .filter(|g| g.log_group_name().is_some_and(|n| n.starts_with(prefix)))
                .cloned(),
        );
    }
    Ok(groups)
}

/// Creates the log group, tagged as `stack`'s in the same call, and sets its retention. A group
/// that appeared meanwhile (Lambda creates it on a first invocation) is not an error: the caller
/// finds it on the next observation.
pub async fn create(
    client: &Client,
    (stack, tags): (&str, &Tags),
    name: &str,
    retention_days: i32,
) -> Result<(), LogGroupError> {
    if let Err(err) = client
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(crate::kinds::tags::with_ownership(
            tags,
            &[(OWNERSHIP_TAG, stack)],
        )))
        .send()
        .await
    {
        let err = aws_sdk_cloudwatchlogs::Error::from(err);
        if !matches!(
            err,
            aws_sdk_cloudwatchlogs::Error::ResourceAlreadyExistsException(_)
        ) {
            return Err(aws_error("create", name)(err));
        }
    }
    set_retention(client, name, retention_days).await
}

pub async fn set_retention(
    client: &Client,
    name: &str,
    retention_days: i32,
) -> Result<(), LogGroupError> {
    client
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(retention_days)
        .send()
        .await
        .map_err(aws_error("set the retention of", name))?;
    Ok(())
}

/// Marks a group Lambda created for a function of `stack` (untagged, on a first invocation) as
/// the stack's, so that `down` removes it with the function.
pub async fn adopt(client: &Client, stack: &str, live: &LiveLogGroup) -> Result<(), LogGroupError> {
    client
        .tag_resource()
        .resource_arn(&live.arn)
        .tags(OWNERSHIP_TAG, stack)
        .send()
        .await
        .map_err(aws_error("tag", &live.name))?;
    Ok(())
}

/// TagResource with the tags new or changed, UntagResource with the keys no longer declared.
pub async fn retag(
    client: &Client,
    live: &LiveLogGroup,
    desired: &Tags,
) -> Result<(), LogGroupError> {
    let change = TagChange::between(&live.managed_tags(), desired);
    if !change.set.is_empty() {
        client
            .tag_resource()
            .resource_arn(&live.arn)
            .set_tags(Some(change.set.into_iter().collect()))
            .send()
            .await
            .map_err(aws_error("tag", &live.name))?;
    }
    if !change.remove.is_empty() {
        client
            .untag_resource()
            .resource_arn(&live.arn)
            .set_tag_keys(Some(change.remove))
            .send()
            .await
            .map_err(aws_error("untag", &live.name))?;
    }
    Ok(())
}

/// Deletes the log group (and its logs); one already gone counts as deleted.
pub async fn delete(client: &Client, name: &str) -> Result<(), LogGroupError> {
    let deleted = client.delete_log_group().log_group_name(name).send().await;
    crate::aws::absent_as_none(deleted.map_err(aws_error("delete", name)))?;
    Ok(())
}

#[cfg(test)]
mod tests;
pub mod unit;
