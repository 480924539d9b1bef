//! The stack's lock, without a state backend: `up` and `down` of one stack (account, region,
//! stack name) exclude each other.
//!
//! The lock is a CloudWatch Logs log group, `/provisioner/locks/<stack>`, made by CreateLogGroup
//! with its holder in the tags of the same call. Why Logs: the stack already uses it (its
//! functions' log groups), its names are unique per account and region, exactly the lock's
//! scope, and CreateLogGroup is an atomic create-if-absent: of two concurrent calls one succeeds
//! and the other gets `ResourceAlreadyExistsException`; the holder cannot be seen without the
//! lock, since the tags come with the create. Among the tags is a token of the run's own: taking
//! the lock is one call (no read-back), and giving it back is two (the tags by the group's ARN,
//! to be sure it is still this run's, then the delete). (IAM would be atomic too, but it is global, not per
//! region, and eventually consistent on reads.) The deploy role needs `logs:CreateLogGroup`,
//! `DeleteLogGroup`, `DescribeLogGroups` and `ListTagsForResource` on
//! `arn:aws:logs:*:*:log-group:/provisioner/locks/*`.
//!
//! A lock is stale, and taken over with a notice, when its holder ran on this host and is no
//! longer running (a killed run must not block the next one), when its holder stopped renewing
//! it (every [`HEARTBEAT`] the holder writes the time in a tag; silent for [`STALE_AFTER`], it is
//! dead wherever it ran: a CI job killed on another host; the clocks of the hosts are taken to
//! agree within a minute, as NTP keeps them), or when it is older than [`TTL`] (a lock of a
//! provisioner that wrote no heartbeat).
//! Taking over is itself guarded by a second group, `<lock>.takeover`, so that of two runs that
//! find the same stale lock only one replaces it. `provisioner unlock` removes a lock by hand.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatchlogs::Client;

use crate::progress::{Progress, Waiting};

/// Every AWS operation the lock calls, with what IAM must allow (`operations`): its one log group.
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    use crate::operations::arn::{
        LOCK_LOGS, LOCK_LOGS_ANY, LOCK_MARKER, LOCK_MARKER_ANY, LOG_GROUPS,
    };
    &[
        op!(
            Logs,
            "DescribeLogGroups",
            [("logs:DescribeLogGroups", LOG_GROUPS)]
        ),
        op!(
            Logs,
            "ListTagsForResource",
            [
                ("logs:ListTagsForResource", LOCK_LOGS),
                ("logs:ListTagsForResource", LOCK_MARKER)
            ]
        ),
        op!(
            Logs,
            "CreateLogGroup",
            [
                ("logs:CreateLogGroup", LOCK_LOGS_ANY),
                ("logs:CreateLogGroup", LOCK_MARKER_ANY),
                ("logs:TagResource", LOCK_LOGS),
                ("logs:TagResource", LOCK_MARKER),
                ("logs:TagResource", LOCK_LOGS_ANY),
                ("logs:TagResource", LOCK_MARKER_ANY)
            ]
        ),
        // The holder's heartbeat.
        op!(Logs, "TagResource", [("logs:TagResource", LOCK_LOGS)]),
        op!(
            Logs,
            "DeleteLogGroup",
            [
                ("logs:DeleteLogGroup", LOCK_LOGS_ANY),
                ("logs:DeleteLogGroup", LOCK_MARKER_ANY)
            ]
        ),
    ]
};

/// A lock older than this is stale whoever holds it: no run takes this long.
pub const TTL: Duration = Duration::from_secs(60 * 60);
/// A takeover marker older than this was left by a run killed while taking over.
const TAKEOVER_TTL: Duration = Duration::from_secs(60);
/// How often a waiting run looks again.
const POLL: Duration = Duration::from_secs(2);

const TAG_CALLER: &str = "provisioner:lock-caller";
const TAG_HOST: &str = "provisioner:lock-host";
const TAG_PID: &str = "provisioner:lock-pid";
const TAG_COMMAND: &str = "provisioner:lock-command";
/// A value of the run's own: which run holds the lock (another run's, or a takeover's, differs).
const TAG_TOKEN: &str = "provisioner:lock-token";
/// When the holder last said it runs, in ms since the epoch by its clock.
const TAG_HEARTBEAT: &str = "provisioner:lock-heartbeat";
/// How often the holder renews its lock.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// A lock whose heartbeat is older than this is stale wherever its holder ran.
pub const STALE_AFTER: Duration = Duration::from_secs(150);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The lock's log group for `stack`.
pub fn lock_name(stack: &str) -> String {
    format!("/provisioner/locks/{stack}")
}

/// Who holds a lock, as its tags and creation time say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub caller: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    /// When the lock was taken (the group's creation time, by AWS's clock), in ms since the epoch.
    pub created_ms: i64,
    /// The holder's token (none on a lock taken by an older provisioner).
    pub token: Option<String>,
    /// When its holder last renewed it, in ms since the epoch (none: an older provisioner's).
    pub heartbeat_ms: Option<i64>,
}

impl Holder {
    /// The lock's id, which `unlock` takes: the holder's token (a lock taken by an older
    /// provisioner has none: then its creation time).
    pub fn id(&self) -> String {
        self.token
            .clone()
            .unwrap_or_else(|| format!("created-{}", self.created_ms))
    }

    fn age(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        now.saturating_sub(Duration::from_millis(
            u64::try_from(self.created_ms).unwrap_or(0),
        ))
    }

    /// Why this lock no longer protects anything, if it does not.
    pub fn stale(&self) -> Option<String> {
        if self.host == hostname() && !process_alive(self.pid) {
            return Some(format!(
                "its holder (pid {} on this host) is no longer running",
                self.pid
            ));
        }
        if let Some(heartbeat) = self.heartbeat_ms {
            let silent = Duration::from_millis(u64::try_from(now_ms() - heartbeat).unwrap_or(0));
            // A holder that renews its lock holds it however long it runs.
            return (silent > STALE_AFTER).then(|| {
                format!(
                    "its holder stopped renewing it {} s ago (a run renews its lock every {} s)",
                    silent.as_secs(),
                    HEARTBEAT.as_secs()
                )
            });
        }
        let age = self.age();
        (age > TTL).then(|| {
            format!(
                "it is {} min old, older than the lock's {} min",
                age.as_secs() / 60,
                TTL.as_secs() / 60
            )
        })
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` by {} on host `{}` (pid {}), {} s ago",
            self.command,
            self.caller,
            self.host,
            self.pid,
            self.age().as_secs()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "stack `{stack}` is locked: {holder} holds it (lock id `{}`){waited}; nothing was changed\n\nhint: wait for that run to finish (or pass `--lock-timeout <seconds>` to wait for it); if it is certain that no run holds it, `provisioner unlock {}` removes the lock", holder.id(), holder.id()
    )]
    Held {
        stack: String,
        holder: Holder,
        /// `, waited 30 s` or nothing.
        waited: String,
    },
    #[error("failed to read the lock of stack `{stack}`")]
    Read {
        stack: String,
        #[source]
        source: crate::kinds::log_group::LogGroupError,
    },
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
}

/// A lock this run holds. Release it with [`Lock::release`]; a run killed outright leaves it
/// behind, and the next run on this host finds it stale.
#[derive(Debug)]
pub struct Lock {
    stack: String,
    name: String,
    /// The group's ARN (for its tags).
    arn: String,
    token: String,
    /// Renews the lock every [`HEARTBEAT`] while it is held.
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    /// Whether it was given back: shared with [`Lock::releaser`], so that of a release and a
    /// second signal's, one gives it back and the other waits for it, and neither deletes a lock
    /// another run took meanwhile.
    released: std::sync::Arc<tokio::sync::Mutex<bool>>,
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
    }
}

/// What trying to create the lock gave.
enum Attempt {
    Taken,
    Held(Option<Holder>),
}

impl Lock {
    /// Takes `stack`'s lock for `command`, waiting up to `timeout` while another run holds it;
    /// a stale lock is taken over, said through `notice`. The holder is `target`'s caller.
    pub async fn acquire(
        client: &Client,
        stack: &str,
        target: &crate::aws::Target,
        command: &str,
        timeout: Duration,
        progress: &dyn Progress,
        notice: impl Fn(&str),
    ) -> Result<Lock, LockError> {
        let name = lock_name(stack);
        let token = uuid::Uuid::new_v4().to_string();
        let taken = |name: String| {
            let arn = target.log_group_arn(&name);
            Lock {
                stack: stack.to_owned(),
                heartbeat: Some(tokio::spawn(renew(
                    client.clone(),
                    arn.clone(),
                    token.clone(),
                ))),
                arn,
                name,
                token: token.clone(),
                released: std::sync::Arc::default(),
            }
        };
        let subject = format!("stack `{stack}`");
        let mut waiting = Waiting::new(progress, &subject, Some(timeout));
        let started = std::time::Instant::now();
        loop {
            let holder = Tags {
                caller: &target.caller,
                command,
                token: &token,
            };
            match try_create(client, stack, &name, &holder).await? {
                Attempt::Taken => return Ok(taken(name)),
                // Released between our create and our read: try again.
                Attempt::Held(None) => tokio::time::sleep(Duration::from_millis(100)).await,
                // Our own create went through but its answer was lost (a reset), and the SDK's
                // retry found the group: it is ours.
                Attempt::Held(Some(holder)) if holder.token.as_deref() == Some(&token) => {
                    return Ok(taken(name));
                }
                Attempt::Held(Some(holder)) => {
                    if let Some(why) = holder.stale() {
                        notice(&format!(
                            "note: taking over the lock of stack `{stack}`, held by {holder}: {why}"
                        ));
                        take_over(client, stack, &name, &holder).await?;
                        continue;
                    }
                    let waited = started.elapsed();
                    if waited >= timeout {
                        return Err(LockError::Held {
                            stack: stack.to_owned(),
                            holder,
                            waited: if timeout.is_zero() {
                                String::new()
                            } else {
                                format!(", waited {} s", waited.as_secs())
                            },
                        });
                    }
                    waiting.tick(&format!("its lock, held by {holder}"));
                    tokio::time::sleep(POLL.min(timeout - waited)).await;
                }
            }
        }
    }

    /// What gives the lock back from elsewhere (a second signal, while the run that holds it is
    /// cut off): as [`Lock::release`], its error dropped.
    pub fn releaser(
        &self,
        client: &Client,
    ) -> impl Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + Sync + 'static {
        let (client, stack, name, arn, token, released) = (
            client.clone(),
            self.stack.clone(),
            self.name.clone(),
            self.arn.clone(),
            self.token.clone(),
            self.released.clone(),
        );
        move || {
            let lock = Lock {
                stack: stack.clone(),
                name: name.clone(),
                arn: arn.clone(),
                token: token.clone(),
                heartbeat: None,
                released: released.clone(),
            };
            let client = client.clone();
            Box::pin(async move {
                let _ = lock.release(&client).await;
            })
        }
    }

    /// Gives the lock back, unless it is no longer this run's (taken over as stale meanwhile).
    pub async fn release(mut self, client: &Client) -> Result<(), LockError> {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        let released = self.released.clone();
        let mut released = released.lock().await;
        if *released {
            return Ok(());
        }
        *released = true;
        let tags = client
            .list_tags_for_resource()
            .resource_arn(&self.arn)
            .send()
            .await;
        match tags {
            Ok(tags) => {
                let token = tags.tags().and_then(|tags| tags.get(TAG_TOKEN));
                if token == Some(&self.token) {
                    delete(client, &self.stack, &self.name).await
                } else {
                    Ok(())
                }
            }
            Err(err) => match aws_error("read the holder of", &self.stack, &self.name)(err) {
                // Removed meanwhile (`provisioner unlock`): nothing to give back.
                LockError::Aws(err) if err.is_not_found() => Ok(()),
                err => Err(err),
            },
        }
    }
}

/// Writes the time in the lock's heartbeat tag every [`HEARTBEAT`], until aborted (the lock is
/// given back, or the run ends), or until the lock is no longer this run's (taken over, or
/// removed by `unlock`): never on another run's lock. A failed write is tried again at the next
/// beat.
async fn renew(client: Client, arn: String, token: String) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        match client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
        {
            Ok(tags) if tags.tags().and_then(|t| t.get(TAG_TOKEN)) != Some(&token) => return,
            Ok(_) => {}
            Err(err) => {
                use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata as _;
                if err.code() == Some("ResourceNotFoundException") {
                    return;
                }
                continue;
            }
        }
        let _ = client
            .tag_resource()
            .resource_arn(&arn)
            .tags(TAG_HEARTBEAT, now_ms().to_string())
            .send()
            .await;
    }
}

/// What a lock's tags say of its holder, besides where it runs.
struct Tags<'a> {
    caller: &'a str,
    command: &'a str,
    token: &'a str,
}

/// Who holds `stack`'s lock, if anyone.
pub async fn holder(client: &Client, stack: &str) -> Result<Option<Holder>, LockError> {
    read(client, stack, &lock_name(stack)).await
}

/// Removes `stack`'s lock if it is still the one of id `id` (a lock taken since is left alone);
/// returns its holder.
pub async fn remove_id(
    client: &Client,
    stack: &str,
    id: &str,
) -> Result<Option<Holder>, LockError> {
    let name = lock_name(stack);
    match read(client, stack, &name).await? {
        Some(holder) if holder.id() == id => {
            delete(client, stack, &name).await?;
            Ok(Some(holder))
        }
        _ => Ok(None),
    }
}

/// Removes `stack`'s lock if it is stale (a `down` with nothing left to delete cleans up after a
/// run killed at its very end); returns who held it and why it was stale.
pub async fn remove_if_stale(
    client: &Client,
    stack: &str,
) -> Result<Option<(Holder, String)>, LockError> {
    let name = lock_name(stack);
    let Some(holder) = read(client, stack, &name).await? else {
        return Ok(None);
    };
    let Some(why) = holder.stale() else {
        return Ok(None);
    };
    delete(client, stack, &name).await?;
    Ok(Some((holder, why)))
}

async fn try_create(
    client: &Client,
    stack: &str,
    name: &str,
    holder: &Tags<'_>,
) -> Result<Attempt, LockError> {
    let created = client
        .create_log_group()
        .log_group_name(name)
        .tags(crate::spec::OWNERSHIP_TAG, stack)
        .tags(TAG_CALLER, tag_value(holder.caller))
        .tags(TAG_HOST, tag_value(&hostname()))
        .tags(TAG_PID, std::process::id().to_string())
        .tags(TAG_COMMAND, holder.command)
        .tags(TAG_TOKEN, holder.token)
        .tags(TAG_HEARTBEAT, now_ms().to_string())
        .send()
        .await;
    match created {
        Ok(_) => Ok(Attempt::Taken),
        Err(err) => {
            let err = aws_sdk_cloudwatchlogs::Error::from(err);
            if matches!(
                err,
                aws_sdk_cloudwatchlogs::Error::ResourceAlreadyExistsException(_)
            ) {
                Ok(Attempt::Held(read(client, stack, name).await?))
            } else {
                Err(aws_error("take", stack, name)(err))
            }
        }
    }
}

/// Replaces the stale lock `stale`: only the run that creates the takeover marker may, and only
/// if the lock is still that one.
async fn take_over(
    client: &Client,
    stack: &str,
    name: &str,
    stale: &Holder,
) -> Result<(), LockError> {
    let marker = format!("{name}.takeover");
    let token = uuid::Uuid::new_v4().to_string();
    let holder = Tags {
        caller: "takeover",
        command: "takeover",
        token: &token,
    };
    match try_create(client, stack, &marker, &holder).await? {
        Attempt::Taken => {
            if read(client, stack, name)
                .await?
                .is_some_and(|now| now.created_ms == stale.created_ms)
            {
                delete(client, stack, name).await?;
            }
            delete(client, stack, &marker).await
        }
        // Another run is taking over; a marker left by a run killed meanwhile expires.
        Attempt::Held(Some(other)) if other.age() > TAKEOVER_TTL => {
            delete(client, stack, &marker).await
        }
        Attempt::Held(_) => {
            tokio::time::sleep(POLL).await;
            Ok(())
        }
    }
}

/// The lock group `name` and who holds it, if it exists (a log group as the stack's are read).
async fn read(client: &Client, stack: &str, name: &str) -> Result<Option<Holder>, LockError> {
    let group = crate::kinds::log_group::find(client, name)
        .await
        .map_err(|source| LockError::Read {
            stack: stack.to_owned(),
            source,
        })?;
    Ok(group.map(|group| {
        let tag = |key: &str| {
            group
                .tags
                .get(key)
                .cloned()
                .unwrap_or_else(|| "?".to_owned())
        };
        Holder {
            caller: tag(TAG_CALLER),
            host: tag(TAG_HOST),
            pid: tag(TAG_PID).parse().unwrap_or(0),
            command: tag(TAG_COMMAND),
            created_ms: group.created_ms.unwrap_or(0),
            token: group.tags.get(TAG_TOKEN).cloned(),
            heartbeat_ms: group.tags.get(TAG_HEARTBEAT).and_then(|ms| ms.parse().ok()),
        }
    }))
}

async fn delete(client: &Client, stack: &str, name: &str) -> Result<(), LockError> {
    match client.delete_log_group().log_group_name(name).send().await {
        Ok(_) => Ok(()),
        Err(err) => match aws_error("remove", stack, name)(err) {
            // Already gone counts as removed.
            LockError::Aws(err) if err.is_not_found() => Ok(()),
            err => Err(err),
        },
    }
}

fn aws_error<E: Into<aws_sdk_cloudwatchlogs::Error>>(
    action: &'static str,
    stack: &str,
    name: &str,
) -> impl FnOnce(E) -> LockError {
    let resource = format!("the lock of stack `{stack}` (log group `{name}`)");
    let aws = crate::aws::AwsError::of::<aws_sdk_cloudwatchlogs::Error, E>(action, resource);
    move |err| LockError::Aws(aws(err))
}

/// A tag value keeps letters, digits, spaces and `_.:/=+-@` (CloudWatch Logs' rule), at most 256.
fn tag_value(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

mod host;
pub use host::hostname;
use host::process_alive;

#[cfg(test)]
mod tests;
