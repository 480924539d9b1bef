//! `provisioner invoke <function>`: runs one function's handler once on this machine, against a
//! Lambda Runtime API of its own, with an event (as `sam local invoke` and `cargo lambda
//! invoke`). The function's environment is resolved against the deployed stack, as `serve` does.
//! The response goes to stdout, the function's log to stderr; a function error exits 1.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::Context as _;
use bytes::Bytes;

use super::binaries::Binaries;
use super::exit;
use super::reconcile::{load, observe_in};
use super::serve::local_functions;
use crate::cli::{GlobalArgs, InvokeArgs};
use crate::engine::{Context, Values};
use crate::kinds::function::Waits;
use crate::output;
use crate::serve::aws_check::AwsCheck;
use crate::serve::event;
use crate::serve::runtime::{Function, Outcome};

pub async fn invoke(global: &GlobalArgs, args: &InvokeArgs) -> anyhow::Result<i32> {
    // The event first: a bad one costs no build and no call.
    let given = match &args.event {
        Some(path) => Some(read_event(path)?),
        None => None,
    };
    let stack = load(global)?;
    if !stack.loaded.stack.functions.contains_key(&args.function) {
        let names: Vec<&str> = stack
            .loaded
            .stack
            .functions
            .keys()
            .map(String::as_str)
            .collect();
        anyhow::bail!(
            "stack.yaml has no function `{}`\n\nhint: one of: {}",
            args.function,
            names.join(", ")
        );
    }
    let binaries = Binaries::choose(&stack, args.release);
    let dirs = binaries.dirs(&stack);
    let code = binaries.build(&stack);
    let (config, ctx, live) = observe_in(global, stack, code, Waits::default()).await?;
    let values = Values::from_live(&live);
    let check = AwsCheck::new();
    let specs = local_functions(&ctx, &config, &values, &dirs, 1, Some(&args.function), &check)
        .await
        .context("the function's environment refers to the deployed stack\n\nhint: run `provisioner up` first")?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let payload = match given {
        Some(event) => event,
        None => proxy_event(&ctx, &values, args, &request_id),
    };
    let function = Function::new(specs[&args.function].clone());
    let invoked = function.invoke(&request_id, payload).await;
    function.shutdown().await;
    output::aws_calls(&check.summary(), false);
    let name = &args.function;
    match invoked.outcome {
        Outcome::Response(body) => {
            output::invoke_response(&body);
            Ok(exit::OK)
        }
        Outcome::FunctionError { error_type, body } => {
            output::invoke_response(&body);
            output::status(&format!(
                "error: function `{name}` failed: {}",
                crate::serve::runtime::error_message(&error_type, &body)
            ));
            Ok(exit::ERROR)
        }
        Outcome::Timeout => anyhow::bail!(
            "function `{name}` ran past its timeout ({} s) and was stopped",
            ctx.stack.functions[name].timeout_s
        ),
        Outcome::Crashed(reason) => anyhow::bail!("function `{name}` exited: {reason}"),
        Outcome::InitFailed(reason) => anyhow::bail!("function `{name}` did not start: {reason}"),
        Outcome::Stopped => anyhow::bail!("function `{name}` was stopped"),
    }
}

/// A JSON event from a file, or from stdin for `-`.
fn read_event(path: &std::path::Path) -> anyhow::Result<Bytes> {
    let bytes = if path == std::path::Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("failed to read the event from stdin")?;
        bytes
    } else {
        std::fs::read(path)
            .with_context(|| format!("failed to read the event `{}`", path.display()))?
    };
    serde_json::from_slice::<serde_json::Value>(&bytes).with_context(|| {
        format!(
            "the event `{}` is not JSON\n\nhint: pass a JSON document, or leave `--event` out for an API Gateway proxy event built from `--method`, `--path` and `--body`",
            path.display()
        )
    })?;
    Ok(Bytes::from(bytes))
}

/// The API Gateway proxy event for `--method --path --body`, by default the function's route.
fn proxy_event(ctx: &Context, values: &Values, args: &InvokeArgs, request_id: &str) -> Bytes {
    let api = ctx.stack.api.as_ref();
    let route = api.and_then(|api| api.routes.iter().find(|r| r.function == args.function));
    let method = args
        .method
        .clone()
        .or_else(|| route.map(|r| r.method.clone()))
        .unwrap_or_else(|| "GET".to_owned());
    let path = args
        .path
        .clone()
        .or_else(|| route.map(|r| r.path.clone()))
        .unwrap_or_else(|| "/".to_owned());
    // The route template the path matches, as API Gateway would pick it.
    let template = api
        .and_then(|api| {
            api.routes
                .iter()
                .filter(|r| r.function == args.function)
                .find_map(|r| event::match_route(&r.path, &path).map(|p| (r.path.clone(), p)))
        })
        .unwrap_or_else(|| (path.clone(), BTreeMap::new()));
    let body = args.body.clone().unwrap_or_default();
    let headers = if body.is_empty() {
        Vec::new()
    } else {
        vec![("Content-Type".to_owned(), "application/json".to_owned())]
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let event = event::proxy_event(
        &template.0,
        &template.1,
        &event::Request {
            method: &method,
            path: &path,
            query: None,
            headers: &headers,
            body: body.as_bytes(),
            source_ip: "127.0.0.1",
        },
        &event::Stage {
            stage: api.map_or("local", |api| api.stage.as_str()),
            api_id: values.api_id.as_deref().unwrap_or("local"),
            account_id: &ctx.target.account,
            request_id,
            now_ms,
        },
        None,
    );
    Bytes::from(event.to_string())
}
