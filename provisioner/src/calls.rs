//! Counting and logging AWS calls. [`CallCounter`], an SDK interceptor on every client, records
//! each operation once (however many attempts its retries take), so `up --json` can say how many
//! reads and writes a run made, and by operation. A read is an operation whose name starts with
//! Get, List or Describe. [`CallLog`] logs every attempt (`-v` or `RUST_LOG`): service, operation,
//! the resource, status, duration, attempt number and AWS's request id; never a body or a header
//! that could hold a secret.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_lambda::config::ConfigBag;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use serde::Serialize;

/// Shared by every client of a run; cloning shares the counts.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Attempts after an operation's first (throttling, 5xx, a reset, a settling conflict).
    retries: Arc<std::sync::atomic::AtomicU64>,
}

/// What a run called, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Calls {
    pub reads: u64,
    pub writes: u64,
    /// Attempts beyond each operation's first, bounded by the retry policy (8 attempts a call).
    pub retries: u64,
    /// `Service.Operation` -> how many times.
    pub operations: BTreeMap<String, u64>,
}

/// Is this operation a read (it changes nothing: Get, List, Describe, Filter)?
pub fn is_read(operation: &str) -> bool {
    ["Get", "List", "Describe", "Filter"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

/// With `PROVISIONER_RECORD_CALLS=<file>` set, every operation a run makes is also appended to
/// that file, one `Service.Operation` a line: how the test suite checks that every call the tool
/// makes is declared (`operations`).
pub const RECORD_CALLS: &str = "PROVISIONER_RECORD_CALLS";

fn record_to_file(key: &str) {
    use std::io::Write;
    static FILE: std::sync::OnceLock<Option<Mutex<std::fs::File>>> = std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os(RECORD_CALLS)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    });
    if let Some(file) = file {
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        // A record that cannot be written is the test's to notice, not the run's to fail on.
        let _ = writeln!(file, "{key}");
    }
}

impl CallCounter {
    pub fn record(&self, service: &str, operation: &str) {
        let service: String = service.split_whitespace().collect();
        let key = format!("{service}.{operation}");
        record_to_file(&key);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(key).or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Calls {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut calls = Calls {
            operations: counts.clone(),
            retries: self.retries.load(std::sync::atomic::Ordering::Relaxed),
            ..Calls::default()
        };
        for (key, count) in counts.iter() {
            let operation = key.rsplit('.').next().unwrap_or(key);
            if is_read(operation) {
                calls.reads += count;
            } else {
                calls.writes += count;
            }
        }
        calls
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "provisioner::CallCounter"
    }

    // Not `read_before_execution`: for client-level interceptors it runs before the operation's
    // configuration (which holds its `Metadata`) is in the bag. Serialization happens once per
    // operation, before the attempts that retries repeat.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            self.record(metadata.service(), metadata.name());
        }
        Ok(())
    }

    // Once per attempt: an attempt after the first is a retry.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg
            .load::<aws_smithy_runtime_api::client::retries::RequestAttempts>()
            .map_or(1, |a| a.attempts());
        if attempt > 1 {
            self.retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Logs each attempt of each AWS call at `info` under the target `provisioner::aws`.
#[derive(Debug, Clone, Default)]
pub struct CallLog;

/// What `read_before_transmit` learns for `read_after_attempt`.
#[derive(Debug, Clone)]
struct AttemptStart {
    started: std::time::Instant,
    resource: String,
}

impl aws_smithy_types::config_bag::Storable for AttemptStart {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// Parameters that name a resource in query-protocol (IAM, STS) and JSON-protocol (Cognito, Logs)
/// request bodies. Only these are ever read from a body: bodies can hold secrets and zips.
const RESOURCE_PARAMETERS: &[&str] = &[
    "RoleName",
    "PolicyName",
    "PolicyArn",
    "UserPoolId",
    "ClientId",
    "PoolName",
    "ClientName",
    "logGroupName",
    "logGroupNamePrefix",
    "resourceArn",
];

/// The resource a request is about: its path when that names it (REST APIs: Lambda, API Gateway),
/// and the identifying parameters of a small form or JSON body.
fn resource_of(request: &aws_smithy_runtime_api::http::Request) -> String {
    let mut parts = Vec::new();
    let path = request.uri().split('?').next().unwrap_or_default();
    let path = path
        .split_once("://")
        .map_or(path, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    if path != "/" && !path.is_empty() {
        parts.push(path.to_owned());
    }
    let Some(body) = request.body().bytes().filter(|b| b.len() <= 16 * 1024) else {
        return parts.join(" ");
    };
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) {
        for key in RESOURCE_PARAMETERS {
            if let Some(serde_json::Value::String(value)) = fields.get(*key) {
                parts.push(format!("{key}={value}"));
            }
        }
    } else if let Ok(text) = std::str::from_utf8(body) {
        for pair in text.split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && RESOURCE_PARAMETERS.contains(&key)
            {
                let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                parts.push(format!("{key}={value}"));
            }
        }
    }
    parts.join(" ")
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "provisioner::CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if tracing::enabled!(target: "provisioner::aws", tracing::Level::INFO) {
            cfg.interceptor_state().store_put(AttemptStart {
                started: std::time::Instant::now(),
                resource: resource_of(context.request()),
            });
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !tracing::enabled!(target: "provisioner::aws", tracing::Level::INFO) {
            return Ok(());
        }
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("?", "?"), |m| (m.service(), m.name()));
        let attempt = cfg
            .load::<aws_smithy_runtime_api::client::retries::RequestAttempts>()
            .map_or(1, |a| a.attempts());
        let (took, resource) = cfg.load::<AttemptStart>().map_or((0, String::new()), |s| {
            (s.started.elapsed().as_millis(), s.resource.clone())
        });
        let status = match context.response() {
            Some(response) => response.status().as_u16().to_string(),
            None => "no response".to_owned(),
        };
        let request_id = context
            .response()
            .and_then(|r| {
                ["x-amzn-requestid", "x-amz-request-id"]
                    .iter()
                    .find_map(|h| r.headers().get(*h))
            })
            .unwrap_or("-");
        let service: String = service.split_whitespace().collect();
        let resource = if resource.is_empty() {
            resource
        } else {
            format!(" {resource}")
        };
        tracing::info!(
            target: "provisioner::aws",
            "{service}.{operation}{resource} -> {status} in {took} ms (attempt {attempt}, request id {request_id})"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_comes_from_the_path_or_identifying_parameters_only() {
        let request = |uri: &str, body: &str| {
            let mut request = aws_smithy_runtime_api::http::Request::new(
                aws_smithy_types::body::SdkBody::from(body.to_owned()),
            );
            request.set_uri(uri).unwrap();
            request
        };
        assert_eq!(
            resource_of(&request(
                "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/auth-demo-secret/configuration",
                ""
            )),
            "/2015-03-31/functions/auth-demo-secret/configuration"
        );
        assert_eq!(
            resource_of(&request(
                "https://iam.amazonaws.com/",
                "Action=PutRolePolicy&RoleName=auth-demo-secret-role&PolicyName=provisioner-allow&PolicyDocument=%7B%22Version%22%7D&Version=2010-05-08"
            )),
            "RoleName=auth-demo-secret-role PolicyName=provisioner-allow"
        );
        assert_eq!(
            resource_of(&request(
                "https://cognito-idp.us-east-1.amazonaws.com/",
                r#"{"UserPoolId":"us-east-1_abc","ClientId":"c1","ClientSecret":"never","Password":"never"}"#
            )),
            "UserPoolId=us-east-1_abc ClientId=c1"
        );
    }

    #[test]
    fn reads_and_writes_by_operation_name() {
        let counter = CallCounter::default();
        counter.record("Lambda", "GetFunction");
        counter.record("Lambda", "UpdateFunctionCode");
        counter.record("CognitoIdentityProvider", "ListUserPools");
        counter.record("CognitoIdentityProvider", "DescribeUserPool");
        counter.record("Lambda", "GetFunction");
        let calls = counter.snapshot();
        assert_eq!((calls.reads, calls.writes), (4, 1));
        assert_eq!(calls.operations["Lambda.GetFunction"], 2);
    }
}
