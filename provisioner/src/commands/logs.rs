//! `provisioner logs <function>`: the function's CloudWatch Logs (its `/aws/lambda/<name>` group),
//! oldest first, each line with its time; `--follow` keeps printing new ones, as `sam logs -t` and
//! `serverless logs -f -t` do, until Ctrl-C.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;

use super::exit;
use super::reconcile::{load_without_code, open};
use crate::cli::{GlobalArgs, LogsArgs};

/// How late an event may arrive (after newer ones of other streams) and still be printed.
const LATE_MS: i64 = 5_000;

/// How often `--follow` asks for new events.
const POLL: Duration = Duration::from_secs(2);

/// `10m`, `2h`, `30s`, `1d` as a duration.
pub fn parse_since(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number: u64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        's' => number,
        'm' => number.checked_mul(60)?,
        'h' => number.checked_mul(3600)?,
        'd' => number.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

pub async fn logs(global: &GlobalArgs, args: &LogsArgs) -> anyhow::Result<i32> {
    let Some(since) = parse_since(&args.since) else {
        return Err(super::UsageError(format!(
            "`--since {}` is not a duration: write a number and a unit, `30s`, `10m`, `2h` or `1d`",
            args.since
        ))
        .into());
    };
    let stack = load_without_code(global)?;
    let function = super::function_named(&stack.loaded.stack, &args.function)?.clone();
    let session = open(global, &stack).await?;
    let group = format!("/aws/lambda/{}", function.physical_name);
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    };
    let start = now_ms() - i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    // The newest event printed; each poll asks again from `LATE` before it, for events of other
    // streams that arrive late, and `seen` (their ids) prints none twice.
    let mut newest = start;
    let mut seen: BTreeMap<String, i64> = BTreeMap::new();
    loop {
        let from = (newest - LATE_MS).max(start);
        let events = crate::function_logs::read(&session.clients.logs, &group, from)
            .await
            .with_context(|| format!("functions.{}: reading its logs", args.function))?;
        let Some(events) = events else {
            anyhow::bail!(
                "function `{}` has no logs in {} yet: its log group `{group}` does not exist\n\nhint: run `provisioner up`, then call the function; its output appears here",
                args.function,
                session.target().region
            );
        };
        for (timestamp, id, message) in events {
            if seen.insert(id, timestamp).is_some() {
                continue;
            }
            let time = aws_smithy_types::DateTime::from_millis(timestamp)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_else(|_| timestamp.to_string());
            println!("{time} {}", message.trim_end());
            newest = newest.max(timestamp);
        }
        seen.retain(|_, at| *at >= newest - LATE_MS);
        if !args.follow {
            return Ok(exit::OK);
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => return Ok(exit::OK),
        }
    }
}
