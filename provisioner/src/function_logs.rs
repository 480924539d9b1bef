//! Reading a function's CloudWatch Logs (`provisioner logs`), and what IAM must allow for it.

/// Every AWS operation `logs` calls, with what IAM must allow (`operations`).
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::FUNCTION_LOGS;
    &[op!(
        Logs,
        "FilterLogEvents",
        [("logs:FilterLogEvents", FUNCTION_LOGS)]
    )]
};

/// The group's events from `from_ms` on (every page), oldest first, as (timestamp, id, message);
/// None when the group does not exist.
pub async fn read(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    from_ms: i64,
) -> Result<Option<Vec<(i64, String, String)>>, crate::aws::AwsError> {
    let mut events = Vec::new();
    let mut pages = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(from_ms)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err) => {
                let err = crate::aws::AwsError::of::<aws_sdk_cloudwatchlogs::Error, _>(
                    "read the events of",
                    format!("log group `{group}`"),
                )(err);
                if err.is_not_found() {
                    return Ok(None);
                }
                return Err(err);
            }
        };
        events.extend(page.events().iter().filter_map(|e| {
            Some((
                e.timestamp()?,
                e.event_id()
                    .map_or_else(|| format!("{:?}", e.timestamp()), str::to_owned),
                e.message()?.to_owned(),
            ))
        }));
    }
    events.sort_by_key(|(timestamp, _, _)| *timestamp);
    Ok(Some(events))
}
