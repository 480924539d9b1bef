//! `provisioner serve`: build the handlers, read the deployed stack for the values its functions'
//! environment refers to, and run the stack's API on 127.0.0.1 with the real `bootstrap` binaries
//! behind the pool's real authorizer keys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_credential_types::provider::ProvideCredentials;

use super::exit;
use super::reconcile::{build, load, observe_in, open};
use crate::cli::{GlobalArgs, ServeArgs};
use crate::engine::{Context, Resolve, Values, run};
use crate::kinds::function::Waits;
use crate::output;
use crate::serve::authorizer::{self, CachedAuthorizer};
use crate::serve::gateway::{Gateway, GatewayRoute, INTEGRATION_TIMEOUT, RouteAuthorizer};
use crate::serve::runtime::{Function, FunctionSpec};

pub async fn serve(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<i32> {
    let stack = load(global)?;
    let bootstrap_dir = bootstrap_dirs(&stack);
    let session = open(global, &stack).await?;
    let config = session.config.clone();
    let code = build(&stack)?;
    let (ctx, live) = observe_in(session, stack, code, Waits::default()).await?;
    let Some(api) = ctx.stack.api.clone() else {
        anyhow::bail!(
            "stack `{}` declares no `api`: there is nothing to serve\n\nhint: add an `api:` section with routes to stack.yaml",
            ctx.stack.name
        );
    };
    let values = Values::from_live(&live);
    let missing = not_up(&ctx, &values);
    if !missing.is_empty() {
        anyhow::bail!(
            "stack `{}` is not up in {} (account {}): {}\n\nhint: run `provisioner up` first; serve runs the handlers here but they use the stack's user pool and app client",
            ctx.stack.name,
            ctx.target.region,
            ctx.target.account,
            missing.join("; ")
        );
    }
    let plan = run::plan_up(&ctx.model(), &live);
    if plan.has_changes() {
        output::status(&format!(
            "warning: live AWS differs from stack.yaml ({} to create, {} to update, {} to replace, {} to delete); serve runs this checkout's handlers and routes. `provisioner diff` shows the differences, `provisioner up` applies them.",
            plan.summary.create, plan.summary.update, plan.summary.replace, plan.summary.delete
        ));
    }

    let functions =
        local_functions(&ctx, &config, &values, &bootstrap_dir, args.concurrency).await?;

    let mut verifiers = BTreeMap::new();
    for (name, spec) in &api.authorizers {
        let pool = values.pools.get(&spec.user_pool).with_context(|| {
            format!(
                "authorizer `{name}`: user pool `{}` is not up",
                spec.user_pool
            )
        })?;
        // Like API Gateway's authorizer: an id token of any app client of the pool passes
        // (every client id, from observe's one listing of the pool).
        let clients: BTreeSet<String> = live
            .client_ids
            .get(&spec.user_pool)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        let verifier = CachedAuthorizer::new(
            authorizer::jwks_url(config.endpoint_url(), &ctx.target.region, &pool.id),
            authorizer::issuer(&ctx.target.region, &pool.id),
            clients,
            crate::serve::fetch_jwks,
        );
        let header = spec
            .identity_source
            .strip_prefix("method.request.header.")
            .unwrap_or("Authorization")
            .to_owned();
        verifiers.insert(
            name.clone(),
            RouteAuthorizer {
                name: name.clone(),
                header,
                verifier: Arc::new(verifier),
            },
        );
    }

    let routes: Vec<GatewayRoute> = api
        .routes
        .iter()
        .map(|route| GatewayRoute {
            method: route.method.clone(),
            path: route.path.clone(),
            function: route.function.clone(),
            authorizer: route
                .authorizer
                .as_ref()
                .and_then(|name| verifiers.get(name).cloned()),
        })
        .collect();

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "failed to listen on 127.0.0.1:{}\n\nhint: another program uses the port; pass another with `--port`",
                args.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let base_url = format!("http://127.0.0.1:{port}/{}", api.stage);
    let table: Vec<(String, String, String)> = routes
        .iter()
        .map(|route| {
            let target = match &route.authorizer {
                Some(authorizer) => format!(
                    "{} (authorizer `{}`: `{}` header)",
                    route.function, authorizer.name, authorizer.header
                ),
                None => route.function.clone(),
            };
            (
                route.method.clone(),
                format!("{base_url}{}", route.path),
                target,
            )
        })
        .collect();
    let gateway = Arc::new(Gateway {
        stage: api.stage.clone(),
        api_id: values.api_id.clone().unwrap_or_default(),
        account: ctx.target.account.clone(),
        routes,
        functions,
        integration_timeout: INTEGRATION_TIMEOUT,
    });
    output::serve_banner(&ctx.stack.name, &base_url, &table);
    gateway.run(listener, stop_signal()).await;
    output::status("serve stopped; every handler process has ended");
    Ok(exit::OK)
}

/// Where each binary's `bootstrap` is: the build's `target/lambda/<binary>/`, or the artifacts'
/// `<dir>/<binary>/`.
pub(super) fn bootstrap_dirs(
    stack: &super::LoadedStack,
) -> impl Fn(&str) -> std::path::PathBuf + use<> {
    let target_dir = stack.workspace.target_dir.clone();
    let artifacts = stack.artifacts.as_ref().map(|(dir, _)| dir.clone());
    move |binary: &str| match &artifacts {
        Some(dir) => crate::artifacts::bootstrap_dir(dir, binary),
        None => crate::package::package_dir(&target_dir, binary),
    }
}

/// Every function of the stack as a local process pool: the function's environment with its
/// references resolved against live `values`, Lambda's own variables, the caller's credentials
/// (and the emulator's endpoint, on one), its `bootstrap` from `bootstrap_dir`. Refused on a
/// machine that cannot run the functions' binaries.
pub(super) async fn local_functions(
    ctx: &Context,
    config: &aws_config::SdkConfig,
    values: &Values,
    bootstrap_dir: &dyn Fn(&str) -> std::path::PathBuf,
    concurrency: u16,
) -> anyhow::Result<BTreeMap<String, Arc<Function>>> {
    let credentials = config
        .credentials_provider()
        .context("no AWS credentials are configured: the handlers need them to reach the stack's user pool")?
        .provide_credentials()
        .await
        .context("failed to load AWS credentials for the handlers")?;
    let mut shared_env = vec![
        ("AWS_REGION".to_owned(), ctx.target.region.clone()),
        ("AWS_DEFAULT_REGION".to_owned(), ctx.target.region.clone()),
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            credentials.access_key_id().to_owned(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            credentials.secret_access_key().to_owned(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_VERSION".to_owned(),
            "$LATEST".to_owned(),
        ),
        (
            "AWS_LAMBDA_INITIALIZATION_TYPE".to_owned(),
            "on-demand".to_owned(),
        ),
        ("_HANDLER".to_owned(), "bootstrap".to_owned()),
        ("TZ".to_owned(), ":UTC".to_owned()),
        ("LANG".to_owned(), "en_US.UTF-8".to_owned()),
        (
            "PATH".to_owned(),
            "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned(),
        ),
    ];
    if let Some(token) = credentials.session_token() {
        shared_env.push(("AWS_SESSION_TOKEN".to_owned(), token.to_owned()));
    }
    if let Some(endpoint) = config.endpoint_url() {
        // Not a Lambda variable: the handlers' SDK reaches the emulator the stack lives in.
        shared_env.push(("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()));
    }

    let host = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    };
    let foreign: Vec<String> = ctx
        .stack
        .functions
        .iter()
        .filter(|(_, f)| f.architecture.lambda_name() != host)
        .map(|(name, f)| format!("`{name}` ({})", f.architecture.lambda_name()))
        .collect();
    if !foreign.is_empty() || std::env::consts::OS != "linux" {
        anyhow::bail!(
            "serve runs each function's Lambda binary on this machine ({} {host}), which cannot run {}\n\nhint: run serve on Linux of the functions' architecture, or set `architecture: {host}` for local work",
            std::env::consts::OS,
            if foreign.is_empty() {
                "Linux binaries".to_owned()
            } else {
                format!("functions {}", foreign.join(", "))
            }
        );
    }

    let mut functions = BTreeMap::new();
    for (name, function) in &ctx.stack.functions {
        let dir = bootstrap_dir(&function.binary);
        let mut environment = Vec::new();
        for (key, template) in &function.environment {
            let value = ctx
                .model()
                .render(values, template, Resolve::Strict)
                .with_context(|| format!("function `{name}`, environment `{key}`"))?;
            environment.push((key.clone(), value));
        }
        environment.extend(shared_env.iter().cloned());
        environment.extend([
            (
                "AWS_LAMBDA_FUNCTION_NAME".to_owned(),
                function.physical_name.clone(),
            ),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
                function.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME".to_owned(),
                format!("/aws/lambda/{}", function.physical_name),
            ),
            ("LAMBDA_TASK_ROOT".to_owned(), dir.display().to_string()),
        ]);
        let spec = FunctionSpec {
            name: name.clone(),
            arn: ctx.target.lambda_arn(&function.physical_name),
            bootstrap: dir.join("bootstrap"),
            environment,
            timeout: Duration::from_secs(u64::from(function.timeout_s)),
            concurrency: usize::from(concurrency),
        };
        functions.insert(name.clone(), Arc::new(Function::new(spec)));
    }

    Ok(functions)
}

/// What must exist for serve to run: the API, the pools and clients the environment and the
/// authorizers refer to. One line per missing thing.
pub(super) fn not_up(ctx: &Context, values: &Values) -> Vec<String> {
    let mut missing = Vec::new();
    if values.api_id.is_none()
        && let Some(api) = &ctx.stack.api
    {
        missing.push(format!("REST API `{}` does not exist", api.physical_name));
    }
    for (name, function) in &ctx.stack.functions {
        for (key, template) in &function.environment {
            if let Err(unresolved) = ctx.model().render(values, template, Resolve::Strict) {
                missing.push(format!(
                    "function `{name}`'s environment `{key}` refers to `${{{}}}`, which does not exist",
                    unresolved.0
                ));
            }
        }
    }
    if let Some(api) = &ctx.stack.api {
        for (name, authorizer) in &api.authorizers {
            if !values.pools.contains_key(&authorizer.user_pool) {
                missing.push(format!(
                    "authorizer `{name}`'s user pool `{}` does not exist",
                    authorizer.user_pool
                ));
            }
        }
    }
    missing.dedup();
    missing
}

/// Completes on Ctrl-C (SIGINT), SIGTERM or SIGHUP.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).ok();
    let mut hangup = signal(SignalKind::hangup()).ok();
    let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = wait(terminate.take()) => {}
        () = wait(hangup.take()) => {}
    }
    output::status("stopping: ending the handler processes...");
}
