//! A Lambda function: its settings (configuration and code, the code by CodeSha256), the pure diff,
//! and the driver. Lambda is asynchronous: a new function is `Pending` until `Active`, and after an
//! update `LastUpdateStatus` is `InProgress` until `Successful`; another update meanwhile is refused.
//! So every change waits (bounded) for the function to settle. Right after its role is created,
//! IAM may not yet let Lambda assume it: CreateFunction and UpdateFunctionConfiguration retry that
//! one error for up to two minutes.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture as LambdaArchitecture, Environment, FunctionCode, FunctionConfiguration,
    LastUpdateStatus, Runtime, State,
};

use crate::kinds::tags::Tags;
use crate::plan::{Action, TypedDiffer};
use crate::progress::{Progress, Waiting};
use crate::spec::OWNERSHIP_TAG;

pub const RUNTIME: &str = "provided.al2023";
pub const HANDLER: &str = "bootstrap";

/// The settings of a function that stack.yaml (and the built zip) control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSettings {
    pub role_arn: String,
    pub runtime: String,
    pub handler: String,
    pub description: String,
    pub memory_mb: i32,
    pub timeout_s: i32,
    pub architecture: String,
    pub environment: BTreeMap<String, String>,
    /// base64(sha256(zip)), as Lambda reports it.
    pub code_sha256: String,
    /// The stack's `tags:` (the ownership tag aside).
    pub tags: Tags,
}

impl FunctionSettings {
    /// From the validated function, its resolved environment, its role and its package.
    pub fn desired(
        function: &crate::spec::Function,
        environment: BTreeMap<String, String>,
        role_arn: &str,
        code_sha256: &str,
        tags: &Tags,
    ) -> FunctionSettings {
        FunctionSettings {
            role_arn: role_arn.to_owned(),
            runtime: RUNTIME.to_owned(),
            handler: HANDLER.to_owned(),
            description: function.description.clone(),
            memory_mb: i32::try_from(function.memory_mb).unwrap_or(i32::MAX),
            timeout_s: i32::try_from(function.timeout_s).unwrap_or(i32::MAX),
            architecture: function.architecture.lambda_name().to_owned(),
            environment,
            code_sha256: code_sha256.to_owned(),
            tags: tags.clone(),
        }
    }

    pub fn live(configuration: &FunctionConfiguration) -> FunctionSettings {
        FunctionSettings {
            role_arn: configuration.role().unwrap_or_default().to_owned(),
            runtime: configuration
                .runtime()
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            handler: configuration.handler().unwrap_or_default().to_owned(),
            description: configuration.description().unwrap_or_default().to_owned(),
            memory_mb: configuration.memory_size().unwrap_or_default(),
            timeout_s: configuration.timeout().unwrap_or_default(),
            architecture: configuration
                .architectures()
                .first()
                .map_or("x86_64", |a| a.as_str())
                .to_owned(),
            environment: configuration
                .environment()
                .and_then(|e| e.variables())
                .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            code_sha256: configuration.code_sha256().unwrap_or_default().to_owned(),
            tags: Tags::new(),
        }
    }
}

impl FunctionSettings {
    /// What a new function is created with, for the plan.
    pub fn attributes(&self) -> Vec<crate::plan::Attribute> {
        use crate::plan::attribute;
        let mut attributes = vec![
            attribute("architecture", &self.architecture),
            attribute("memory", &self.memory_mb),
            attribute("timeout", &self.timeout_s),
            attribute("description", &self.description),
            attribute("environment", &self.environment),
        ];
        if !self.tags.is_empty() {
            attributes.push(attribute("tags", &self.tags));
        }
        attributes
    }
}

/// What applying a function's update takes: each is one call, in this order (the order they
/// sort in): the configuration first, so that new code never runs with the old configuration
/// (an environment variable it reads, a role it needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FunctionChange {
    /// UpdateFunctionConfiguration: role, runtime, handler, description, memory, timeout,
    /// environment.
    Configuration,
    /// UpdateFunctionCode: the code or the architecture (which goes with the code).
    Code,
    /// TagResource and UntagResource: the stack's `tags:`.
    Tags,
}

/// The typed changes of an update (empty when nothing changes).
pub type FunctionChanges = std::collections::BTreeSet<FunctionChange>;

/// What it takes to make `live` match `desired`. Pure. Everything changes in place: the action
/// shows the fields; the typed changes say which calls apply them.
pub fn diff(live: &FunctionSettings, desired: &FunctionSettings) -> (Action, FunctionChanges) {
    use FunctionChange::{Code, Configuration};
    let mut d = TypedDiffer::default();
    d.field(Code, "code", &live.code_sha256, &desired.code_sha256);
    d.field(
        Code,
        "architecture",
        &live.architecture,
        &desired.architecture,
    );
    d.field(Configuration, "role", &live.role_arn, &desired.role_arn);
    d.field(Configuration, "runtime", &live.runtime, &desired.runtime);
    d.field(Configuration, "handler", &live.handler, &desired.handler);
    d.field(
        Configuration,
        "description",
        &live.description,
        &desired.description,
    );
    d.field(Configuration, "memory", &live.memory_mb, &desired.memory_mb);
    d.field(
        Configuration,
        "timeout",
        &live.timeout_s,
        &desired.timeout_s,
    );
    d.field(
        Configuration,
        "environment",
        &live.environment,
        &desired.environment,
    );
    d.field(FunctionChange::Tags, "tags", &live.tags, &desired.tags);
    d.finish()
}

/// A function found live under the stack's physical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFunction {
    pub name: String,
    pub arn: String,
    pub owner: Option<String>,
    pub settings: FunctionSettings,
    /// Lambda's reason, when its `State` is `Failed`: it never became ready (its create failed)
    /// and no update repairs it; it is deleted and made again.
    pub failed: Option<String>,
}

impl LiveFunction {
    pub fn owned_by(&self, stack: &str) -> bool {
        self.owner.as_deref() == Some(stack)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// Whether the function is ours cannot be told: never read as "someone else's".
    #[error(
        "cannot read the tags of Lambda function `{name}` ({detail}), so cannot tell whether this stack owns it\n\nhint: allow `lambda:ListTags` on `{arn}` to the identity running provisioner"
    )]
    TagsUnreadable {
        name: String,
        arn: String,
        detail: String,
    },
    #[error("Lambda function `{name}` is {state}: {reason}")]
    Failed {
        name: String,
        state: String,
        reason: String,
    },
    #[error(
        "Lambda function `{name}` was still {state} after {waited:?}\n\nhint: run again to continue; every step is safe to repeat"
    )]
    Timeout {
        name: String,
        state: String,
        waited: Duration,
    },
}

fn aws_error<F: Into<aws_sdk_lambda::Error>>(
    action: &'static str,
    name: &str,
    err: F,
) -> FunctionError {
    FunctionError::Aws(crate::aws::AwsError::of::<aws_sdk_lambda::Error, F>(
        action,
        format!("Lambda function `{name}`"),
    )(err))
}

pub use crate::base::LambdaWaits as Waits;
pub use read::{find, names_with_prefix};

mod read;

/// "The role defined for the function cannot be assumed by Lambda": IAM has not propagated a new
/// role yet (real AWS, for seconds after CreateRole), or the role does not exist.
fn role_not_yet_assumable<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("InvalidParameterValueException")
        && err
            .message()
            .is_some_and(|m| m.contains("cannot be assumed by Lambda"))
}

/// Calls waiting for a role to propagate, in this process: they share Lambda's control-plane
/// rate (15 requests per second for the account), so each waits longer the more there are.
static PROPAGATION_WAITERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Told when one of them went through: IAM has propagated the run's roles made about then, so the
/// others try again at once.
static PROPAGATED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// How long a call waits before trying again while `waiters` calls wait: a refused CreateFunction
/// costs nothing, so at a short, even interval (IAM takes seconds; a doubling backoff overshoots
/// it by as much), all of them together at most 10 a second, within Lambda's 15.
fn propagation_interval(waiters: usize) -> Duration {
    let waiters = u32::try_from(waiters.max(1)).unwrap_or(u32::MAX);
    Duration::from_millis(500).max(Duration::from_millis(100).saturating_mul(waiters))
}

/// Leaves the count of waiting calls when it ends, however it ends.
struct Waiter;

impl Drop for Waiter {
    fn drop(&mut self) {
        PROPAGATION_WAITERS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs `call` until it succeeds, fails with another error, or `limit` has passed since the first
/// try, trying again at [`propagation_interval`] (or at once when another call's role went
/// through) while the role is not yet assumable.
async fn retry_while_role_propagates<T, E, F, Fut>(
    limit: Duration,
    waiting: &mut Waiting<'_>,
    mut call: F,
) -> Result<T, E>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    use std::sync::atomic::Ordering;
    let started = tokio::time::Instant::now();
    let mut waiter = None;
    loop {
        match call().await {
            Err(err) if role_not_yet_assumable(&err) && started.elapsed() < limit => {
                if waiter.is_none() {
                    PROPAGATION_WAITERS.fetch_add(1, Ordering::Relaxed);
                    waiter = Some(Waiter);
                }
                waiting.tick("IAM to let Lambda assume its new role (propagation)");
                let interval = propagation_interval(PROPAGATION_WAITERS.load(Ordering::Relaxed));
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = PROPAGATED.notified() => {}
                }
            }
            result => {
                if waiter.is_some() && result.is_ok() {
                    PROPAGATED.notify_waiters();
                }
                return result;
            }
        }
    }
}

fn lambda_architecture(name: &str) -> LambdaArchitecture {
    LambdaArchitecture::from(name)
}

fn environment(settings: &FunctionSettings) -> Environment {
    Environment::builder()
        .set_variables(Some(settings.environment.clone().into_iter().collect()))
        .build()
}

/// Creates the function from `zip`, tagged as `stack`'s in the same call, and waits until it is
/// Active. Retries while its role is not yet assumable.
pub async fn create(
    client: &Client,
    stack: &str,
    name: &str,
    desired: &FunctionSettings,
    zip: &[u8],
    waits: Waits,
    progress: &dyn Progress,
) -> Result<String, FunctionError> {
    let subject = format!("Lambda function `{name}`");
    let mut waiting = Waiting::new(progress, &subject, Some(waits.role_propagation));
    let output = retry_while_role_propagates(waits.role_propagation, &mut waiting, || {
        client
            .create_function()
            .function_name(name)
            .role(&desired.role_arn)
            .runtime(Runtime::from(desired.runtime.as_str()))
            .handler(&desired.handler)
            .description(&desired.description)
            .memory_size(desired.memory_mb)
            .timeout(desired.timeout_s)
            .architectures(lambda_architecture(&desired.architecture))
            .environment(environment(desired))
            .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
            .set_tags(Some(crate::kinds::tags::with_ownership(
                &desired.tags,
                &[(OWNERSHIP_TAG, stack)],
            )))
            .send()
    })
    .await
    .map_err(|err| aws_error("create", name, err))?;
    wait_until_settled(client, name, waits.settle, progress).await?;
    Ok(output.function_arn().unwrap_or_default().to_owned())
}

/// Applies an update to `live`: one call per typed change (exactly one UpdateFunctionCode for a
/// code-only change), waiting for the function to settle before and after each; the
/// configuration goes first (the order `FunctionChange` sorts in); tags need no wait.
pub async fn update(
    client: &Client,
    live: &LiveFunction,
    changes: &FunctionChanges,
    desired: &FunctionSettings,
    zip: &[u8],
    waits: Waits,
    progress: &dyn Progress,
) -> Result<(), FunctionError> {
    let name = live.name.as_str();
    for change in changes {
        match change {
            FunctionChange::Code => {
                update_code(client, name, desired, zip, waits, progress).await?
            }
            FunctionChange::Configuration => {
                update_configuration(client, name, desired, waits, progress).await?
            }
            FunctionChange::Tags => retag(client, live, &desired.tags).await?,
        }
    }
    Ok(())
}

/// TagResource with the tags new or changed, UntagResource with the keys no longer declared.
async fn retag(client: &Client, live: &LiveFunction, desired: &Tags) -> Result<(), FunctionError> {
    let change = crate::kinds::tags::TagChange::between(&live.settings.tags, desired);
    if !change.set.is_empty() {
        client
            .tag_resource()
            .resource(&live.arn)
            .set_tags(Some(change.set.into_iter().collect()))
            .send()
            .await
            .map_err(|err| aws_error("tag", &live.name, err))?;
    }
    if !change.remove.is_empty() {
        client
            .untag_resource()
            .resource(&live.arn)
            .set_tag_keys(Some(change.remove))
            .send()
            .await
            .map_err(|err| aws_error("untag", &live.name, err))?;
    }
    Ok(())
}

/// UpdateFunctionCode (with the architecture, which goes with the code).
async fn update_code(
    client: &Client,
    name: &str,
    desired: &FunctionSettings,
    zip: &[u8],
    waits: Waits,
    progress: &dyn Progress,
) -> Result<(), FunctionError> {
    {
        wait_to_update(client, name, waits.settle, progress).await?;
        client
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(zip))
            .architectures(lambda_architecture(&desired.architecture))
            .send()
            .await
            .map_err(|err| aws_error("update the code of", name, err))?;
        wait_until_settled(client, name, waits.settle, progress).await?;
    }
    Ok(())
}

/// UpdateFunctionConfiguration with the whole configuration (it resets what it is not sent).
async fn update_configuration(
    client: &Client,
    name: &str,
    desired: &FunctionSettings,
    waits: Waits,
    progress: &dyn Progress,
) -> Result<(), FunctionError> {
    {
        wait_to_update(client, name, waits.settle, progress).await?;
        let subject = format!("Lambda function `{name}`");
        let mut waiting = Waiting::new(progress, &subject, Some(waits.role_propagation));
        retry_while_role_propagates(waits.role_propagation, &mut waiting, || {
            client
                .update_function_configuration()
                .function_name(name)
                .role(&desired.role_arn)
                .runtime(Runtime::from(desired.runtime.as_str()))
                .handler(&desired.handler)
                .description(&desired.description)
                .memory_size(desired.memory_mb)
                .timeout(desired.timeout_s)
                .environment(environment(desired))
                .send()
        })
        .await
        .map_err(|err| aws_error("update the configuration of", name, err))?;
        wait_until_settled(client, name, waits.settle, progress).await?;
    }
    Ok(())
}

/// Deletes the function; one that is already gone counts as deleted.
pub async fn delete(client: &Client, name: &str) -> Result<(), FunctionError> {
    match client.delete_function().function_name(name).send().await {
        Ok(_) => Ok(()),
        Err(err) => match aws_error("delete", name, err) {
            FunctionError::Aws(err) if err.is_not_found() => Ok(()),
            err => Err(err),
        },
    }
}

/// Where a function stands, from (State, LastUpdateStatus).
#[derive(Debug, PartialEq, Eq)]
enum Readiness {
    Ready,
    Busy(String),
    Failed(String, String),
}

/// How [`readiness`] calls a function whose last update failed.
const FAILED_UPDATE: &str = "in a failed update";

fn readiness(
    state: Option<&State>,
    update: Option<&LastUpdateStatus>,
    state_reason: Option<&str>,
    update_reason: Option<&str>,
) -> Readiness {
    let reason = |r: Option<&str>| r.unwrap_or("no reason given").to_owned();
    match (state, update) {
        (Some(State::Failed), _) => Readiness::Failed("Failed".to_owned(), reason(state_reason)),
        (_, Some(LastUpdateStatus::Failed)) => {
            Readiness::Failed(FAILED_UPDATE.to_owned(), reason(update_reason))
        }
        (Some(State::Pending), _) => Readiness::Busy("Pending".to_owned()),
        (_, Some(LastUpdateStatus::InProgress)) => Readiness::Busy("updating".to_owned()),
        // Active, Inactive (an idle function that the next update wakes), or states this
        // SDK does not know yet: Lambda takes updates in all of them.
        _ => Readiness::Ready,
    }
}

/// Polls until the function takes an update, before one is sent: as [`wait_until_settled`], but
/// a failed last update is no dead end (Lambda keeps serving the version before it and takes a
/// new update, which is what repairs it).
pub async fn wait_to_update(
    client: &Client,
    name: &str,
    limit: Duration,
    progress: &dyn Progress,
) -> Result<(), FunctionError> {
    settle(client, name, limit, progress, true).await
}

/// Polls until the function takes updates again, with backoff, for at most `limit`: after a
/// create or an update, whose failure it reports.
pub async fn wait_until_settled(
    client: &Client,
    name: &str,
    limit: Duration,
    progress: &dyn Progress,
) -> Result<(), FunctionError> {
    settle(client, name, limit, progress, false).await
}

async fn settle(
    client: &Client,
    name: &str,
    limit: Duration,
    progress: &dyn Progress,
    before_update: bool,
) -> Result<(), FunctionError> {
    let subject = format!("Lambda function `{name}`");
    let mut waiting = Waiting::new(progress, &subject, Some(limit));
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        // GetFunction, as the SDKs' v2 waiters: it has a quota of its own (100 per second for
        // the account), where GetFunctionConfiguration shares Lambda's 15 per second with every
        // other control-plane call, the creates and updates this wait is for among them.
        let read = client
            .get_function()
            .function_name(name)
            .send()
            .await
            .map_err(|err| aws_error("read the state of", name, err));
        let readiness = match read {
            Ok(function) => {
                let configuration = function.configuration();
                readiness(
                    configuration.and_then(|c| c.state()),
                    configuration.and_then(|c| c.last_update_status()),
                    configuration.and_then(|c| c.state_reason()),
                    configuration.and_then(|c| c.last_update_status_reason()),
                )
            }
            // Right after CreateFunction, Lambda's reads may not see the function yet.
            Err(FunctionError::Aws(err)) if err.is_not_found() => {
                Readiness::Busy("not visible yet".to_owned())
            }
            Err(err) => return Err(err),
        };
        match readiness {
            Readiness::Ready => return Ok(()),
            // A failed update of a function that runs: the next update repairs it.
            Readiness::Failed(state, _) if before_update && state == FAILED_UPDATE => {
                return Ok(());
            }
            Readiness::Failed(state, reason) => {
                return Err(FunctionError::Failed {
                    name: name.to_owned(),
                    state,
                    reason,
                });
            }
            Readiness::Busy(state) if started.elapsed() >= limit => {
                return Err(FunctionError::Timeout {
                    name: name.to_owned(),
                    state,
                    waited: started.elapsed(),
                });
            }
            Readiness::Busy(state) => {
                waiting.tick(&format!("it to settle (it is {state})"));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests;
pub mod unit;
