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
    let claims = args.claims.as_deref().map(claims).transpose()?;
    let token = args.token.as_deref().map(read_token).transpose()?;
    let stack = load(global)?;
    super::function_named(&stack.loaded.stack, &args.function)?;
    // The route a token is for, before any build: API Gateway's choice for the request.
    let token_route = match &token {
        Some(_) => Some(token_route(&stack.loaded.stack, args)?),
        None => None,
    };
    let binaries = Binaries::choose(&stack, args.release);
    let dirs = binaries.dirs(&stack);
    let code = binaries.build(&stack);
    let (config, ctx, live) = observe_in(global, stack, code, Waits::default()).await?;
    let values = Values::from_live(&live);
    let check = AwsCheck::new();
    let observed = (&values, live.boundary.as_ref());
    let specs = local_functions(&ctx, &config, observed, &dirs, 1, Some(&args.function), &check)
        .await
        .context("the function's environment refers to the deployed stack\n\nhint: run `provisioner up` first")?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let (claims, authorization) = match (token, &token_route) {
        (Some(token), Some(route)) => {
            let (claims, header) =
                verified(&ctx, config.endpoint_url(), &live, route, &token).await?;
            (claims, Some((header, token)))
        }
        _ => (claims, None),
    };
    let payload = match (given, &args.trigger) {
        (Some(event), _) => event,
        (None, Some(trigger)) => trigger_event(&ctx, &values, args, trigger)?,
        (None, None) => {
            let identity = (claims.as_ref(), authorization.as_ref());
            proxy_event(&ctx, &values, args, &request_id, identity)
        }
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

/// The event Cognito sends `trigger`, about `--username` (`--email`, `--attribute`s), from the
/// pool whose triggers name the function (else the stack's first pool) and its first app client;
/// their ids when deployed.
fn trigger_event(
    ctx: &Context,
    values: &Values,
    args: &InvokeArgs,
    trigger: &str,
) -> anyhow::Result<Bytes> {
    let trigger = crate::spec::Trigger::parse(trigger)
        .with_context(|| format!("`{trigger}` is not a Cognito trigger"))?;
    let mut attributes = BTreeMap::new();
    for given in &args.attributes {
        let (name, value) = given.split_once('=').with_context(|| {
            format!("`--attribute {given}` is not NAME=VALUE\n\nhint: write `--attribute given_name=Ada`")
        })?;
        attributes.insert(name.to_owned(), value.to_owned());
    }
    if let Some(email) = &args.email {
        attributes.insert("email".to_owned(), email.clone());
    }
    let pools = &ctx.stack.user_pools;
    let pool = pools
        .iter()
        .find(|(_, p)| {
            p.triggers
                .as_ref()
                .is_some_and(|t| t.values().any(|f| *f == args.function))
        })
        .or_else(|| pools.iter().next())
        .map(|(name, _)| name.clone());
    let pool_id = pool
        .as_ref()
        .and_then(|p| values.pools.get(p))
        .map_or_else(|| "local".to_owned(), |p| p.id.clone());
    let client_id = pool
        .as_ref()
        .and_then(|p| values.clients.get(p))
        .and_then(|clients| clients.values().next().cloned())
        .unwrap_or_else(|| "local".to_owned());
    let metadata = BTreeMap::new();
    let event = crate::serve::cognito_event::event(
        trigger,
        &crate::serve::cognito_event::About {
            region: &ctx.target.region,
            pool_id: &pool_id,
            client_id: &client_id,
            username: &args.username,
            attributes: &attributes,
            client_metadata: &metadata,
        },
    );
    Ok(Bytes::from(event.to_string()))
}

/// `--claims`: a JSON object of claims.
fn claims(text: &str) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(super::UsageError(format!(
            "`--claims {text}` is not a JSON object: write the token's claims, such as `--claims '{{\"sub\":\"1234\",\"email\":\"ada@example.com\"}}'`"
        ))
        .into()),
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

/// `--token`: the token, or with `-` the first line of stdin (kept out of the shell's history and
/// the process list).
fn read_token(given: &str) -> anyhow::Result<String> {
    let token = if given == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("failed to read the token from stdin")?;
        text.lines().next().unwrap_or_default().trim().to_owned()
    } else {
        given.trim().to_owned()
    };
    if token.is_empty() {
        return Err(super::UsageError("`--token`: the token is empty".to_owned()).into());
    }
    Ok(token)
}

/// The method and path of the request `--method` and `--path` ask for, by default the function's
/// first route's.
fn request_line(stack: &crate::spec::Stack, args: &InvokeArgs) -> (String, String) {
    let route = stack
        .api
        .as_ref()
        .and_then(|api| api.routes.iter().find(|r| r.function == args.function));
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
    (method, path)
}

/// The route API Gateway picks for the request, which must be the function's: the one whose
/// authorizer checks `--token`.
fn token_route(
    stack: &crate::spec::Stack,
    args: &InvokeArgs,
) -> anyhow::Result<crate::spec::Route> {
    let (method, path) = request_line(stack, args);
    let function = &args.function;
    let routes = stack.api.as_ref().map_or(&[][..], |api| &api.routes[..]);
    let chosen = event::choose_route(routes, |r| (&r.method, &r.path), &method, &path);
    match chosen {
        Some((route, _)) if route.function == *function => Ok(route.clone()),
        Some((route, _)) => anyhow::bail!(
            "`--token`: API Gateway sends {method} {path} to function `{}` (route {}), not to `{function}`\n\nhint: give `--method` and `--path` of a route of `{function}`",
            route.function,
            route.key()
        ),
        None => anyhow::bail!(
            "`--token`: no route of the API takes {method} {path}, so no authorizer checks the token\n\nhint: give `--method` and `--path` of a route of `{function}`, or use `--claims`"
        ),
    }
}

/// `--token` on `route`: the claims its authorizer passes on once it accepts the token as API
/// Gateway's would (none on a route without one), and the header the token goes in; else why
/// not (the function is not run, as API Gateway answers 401).
async fn verified(
    ctx: &Context,
    endpoint: Option<&str>,
    live: &crate::engine::units::Live,
    route: &crate::spec::Route,
    token: &str,
) -> anyhow::Result<(Option<serde_json::Map<String, serde_json::Value>>, String)> {
    let Some(name) = &route.authorizer else {
        output::status(&format!(
            "note: route {} has no authorizer: the token goes in the `Authorization` header unchecked, and the event carries no claims",
            route.key()
        ));
        return Ok((None, "Authorization".to_owned()));
    };
    let authorizer = super::serve::route_authorizer(ctx, endpoint, live, name)?;
    let (token, scopes) = (token.to_owned(), route.scopes.clone());
    let verifier = authorizer.verifier.clone();
    // The keys are fetched with a blocking client.
    let checked = tokio::task::spawn_blocking(move || verifier.verify(Some(&token), &scopes))
        .await
        .context("checking the token")?;
    let claims = checked.map_err(|rejected| {
        anyhow::anyhow!(
            "`--token`: authorizer `{name}` of {} refuses it: {rejected}; API Gateway would answer 401 Unauthorized without running the function\n\nhint: sign in again for a fresh token (of one of the pool's app clients)",
            route.key()
        )
    })?;
    Ok((Some(claims), authorizer.header))
}

/// Who the request is from, as the route's authorizer passes it on: the token's claims, and the
/// header and token it read them from.
type Identity<'a> = (
    Option<&'a serde_json::Map<String, serde_json::Value>>,
    Option<&'a (String, String)>,
);

/// The API Gateway proxy event for `--method --path --body`, by default the function's route.
fn proxy_event(
    ctx: &Context,
    values: &Values,
    args: &InvokeArgs,
    request_id: &str,
    (claims, authorization): Identity<'_>,
) -> Bytes {
    let api = ctx.stack.api.as_ref();
    let (method, path) = request_line(&ctx.stack, args);
    // The route template the path falls on, as API Gateway picks it; if API Gateway would send
    // the request elsewhere, the first of the function's routes it matches.
    let routes = api.map_or(&[][..], |api| &api.routes[..]);
    let template = event::choose_route(routes, |r| (&r.method, &r.path), &method, &path)
        .filter(|(route, _)| route.function == args.function)
        .map(|(route, parameters)| (route.path.clone(), parameters))
        .or_else(|| {
            routes
                .iter()
                .filter(|r| r.function == args.function)
                .find_map(|r| event::match_route(&r.path, &path).map(|p| (r.path.clone(), p)))
        })
        .unwrap_or_else(|| (path.clone(), BTreeMap::new()));
    let body = args.body.clone().unwrap_or_default();
    let mut headers = if body.is_empty() {
        Vec::new()
    } else {
        vec![("Content-Type".to_owned(), "application/json".to_owned())]
    };
    // The header the route's authorizer read the token from, as API Gateway passes it on.
    if let Some((header, token)) = authorization {
        headers.push((header.clone(), token.clone()));
    }
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
        claims,
    );
    Bytes::from(event.to_string())
}
