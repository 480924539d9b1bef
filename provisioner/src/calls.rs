//! Counting AWS calls: an SDK interceptor on every client records each operation once (however
//! many attempts its retries take), so `up --json` can say how many reads and writes a run made,
//! and by operation. A read is an operation whose name starts with Get, List or Describe.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_lambda::config::ConfigBag;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use serde::Serialize;

/// Shared by every client of a run; cloning shares the counts.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

/// What a run called, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Calls {
    pub reads: u64,
    pub writes: u64,
    /// `Service.Operation` -> how many times.
    pub operations: BTreeMap<String, u64>,
}

/// Is this operation a read (it changes nothing)?
pub fn is_read(operation: &str) -> bool {
    ["Get", "List", "Describe"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

impl CallCounter {
    pub fn record(&self, service: &str, operation: &str) {
        let service: String = service.split_whitespace().collect();
        let key = format!("{service}.{operation}");
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(key).or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Calls {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut calls = Calls {
            operations: counts.clone(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
