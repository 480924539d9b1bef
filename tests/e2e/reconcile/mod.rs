//! `provisioner diff`, `up` and `down` through the real binary against the emulator: a cold `up`
//! read back with the SDK, no-op runs that write nothing, changes in stack.yaml, drift behind the
//! tool's back, the replacement guard, and `down` with the retained pool and its adoption.

//! One file per flow; the helpers they share are here.

mod adopt;
mod boundary;
mod changes;
mod cold_up;
mod down;
mod drift;
mod environments;
mod partitions;
mod regions;
mod renames;
mod replacement;
pub(crate) mod tags;
mod terminal;
mod undeclared;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{self, FUNCTIONS, json_from, on_emulator, role_name};

struct Aws {
    cognito: aws_sdk_cognitoidentityprovider::Client,
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    apigateway: aws_sdk_apigateway::Client,
}

async fn aws() -> Aws {
    let config = support::sdk_config().await;
    Aws {
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
        iam: aws_sdk_iam::Client::new(&config),
        lambda: aws_sdk_lambda::Client::new(&config),
        logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        apigateway: aws_sdk_apigateway::Client::new(&config),
    }
}

/// `up --json`, which must succeed.
fn up(file: &Path, stack: &str, extra: &[&str]) -> Value {
    let mut args = vec!["up", "--yes", "--json"];
    args.extend_from_slice(extra);
    json_from(file, stack, &args, 0)
}

/// `diff --json` and its exit code (0 no changes, 2 changes).
fn diff(file: &Path, stack: &str, code: i32) -> Value {
    json_from(file, stack, &["diff", "--json"], code)
}

/// The addresses a plan changes, with their action.
fn changed(plan: &Value) -> BTreeMap<String, String> {
    plan["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] != "noOp")
        .map(|e| {
            (
                e["address"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// How many times a run called `operation` (`Lambda.UpdateFunctionCode`).
fn calls(report: &Value, operation: &str) -> u64 {
    report["calls"]["operations"][operation]
        .as_u64()
        .unwrap_or(0)
}

/// The write operations a run made, by name.
fn writes(report: &Value) -> BTreeMap<String, u64> {
    report["calls"]["operations"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| !provisioner::calls::is_read(op.rsplit('.').next().unwrap()))
        .map(|(op, n)| (op.clone(), n.as_u64().unwrap()))
        .collect()
}

async fn rest_api_id(aws: &Aws, name: &str) -> Option<String> {
    let apis = aws
        .apigateway
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .unwrap();
    apis.items()
        .iter()
        .find(|api| api.name() == Some(name))
        .and_then(|api| api.id().map(str::to_owned))
}

async fn sign_up_user(aws: &Aws, client_id: &str, username: &str) {
    aws.cognito
        .sign_up()
        .client_id(client_id)
        .username(username)
        .password("Passw0rd!x")
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value(format!("{username}@example.com"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Whether a user pool named `name` exists.
async fn pool_named(aws: &Aws, name: &str) -> bool {
    support::pool_id(&aws.cognito, name).await.is_some()
}

async fn user_exists(aws: &Aws, pool_id: &str, username: &str) -> bool {
    aws.cognito
        .admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .is_ok()
}

/// The write calls a run made, as `-v` logs them (one line per call).
fn logged_writes(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("provisioner::aws:"))
        .filter(|l| {
            [
                ".Create", ".Put", ".Update", ".Delete", ".Attach", ".Tag", ".Add", ".Remove",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
        .map(str::to_owned)
        .collect()
}
