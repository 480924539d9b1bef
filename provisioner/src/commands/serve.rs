//! `provisioner serve`: build the handlers, read the deployed stack for the values its functions'
//! environment refers to, and run the stack's API on 127.0.0.1 with the real `bootstrap` binaries
//! behind the pool's real authorizer keys.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_credential_types::provider::ProvideCredentials;

use super::LoadedStack;
use super::binaries::Binaries;
use super::exit;
use super::reconcile::{load, observe_in};
use crate::access;
use crate::cli::{GlobalArgs, ServeArgs};
use crate::engine::units::Live;
use crate::engine::{Code, Context, Model, Resolve, Values, run};
use crate::kinds::function::Waits;
use crate::kinds::role::boundary::{BoundaryState, LiveBoundary};
use crate::output;
use crate::serve::authorizer::CachedAuthorizer;
use crate::serve::aws_check::AwsCheck;
use crate::serve::gateway::{Gateway, GatewayRoute, INTEGRATION_TIMEOUT, RouteAuthorizer, Table};
use crate::serve::runtime::{Function, FunctionSpec};

pub async fn serve(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<i32> {
    if args.watch && global.artifacts.is_some() {
        return Err(super::UsageError(
            "`serve --watch` rebuilds the handlers as you edit them: it cannot run with `--artifacts`, which serves binaries built elsewhere".to_owned(),
        )
        .into());
    }
    crate::output::outputs::check_prefix(&args.outputs_prefix, args.outputs_format)?;
    let stack = load(global)?;
    let binaries = Binaries::choose(&stack, args.release);
    let watched = args
        .watch
        .then(|| super::watch::WatchSet::new(&global.file, &stack));
    let check = Arc::new(AwsCheck::new());
    let prepared = prepare(global, stack, binaries, args.concurrency, &check).await?;
    // Watching starts before the banner: whatever is saved once serve answers is seen.
    let listening = watched.map(super::watch::listen).transpose()?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "failed to listen on 127.0.0.1:{}\n\nhint: another program uses the port; pass another with `--port`",
                args.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let origin = format!("http://127.0.0.1:{port}");
    let gateway = Arc::new(Gateway::new(
        prepared.account.clone(),
        INTEGRATION_TIMEOUT,
        prepared.table(&BTreeMap::new()),
    ));
    let functions = gateway.clone();
    check.set_lookup(Arc::new(move |name: &str| {
        functions.table().functions.get(name).cloned()
    }));
    if let Some(file) = &args.outputs {
        let outputs = crate::report::Outputs {
            api_url: Some(prepared.base_url(&origin)),
            ..prepared.outputs.clone()
        };
        let text =
            crate::output::outputs::render(&outputs, args.outputs_format, &args.outputs_prefix);
        super::outputs::write(file, &text)?;
        output::status(&format!(
            "Wrote the outputs, with this URL, to `{}`",
            file.display()
        ));
    }
    output::serve_banner(
        &prepared.stack_name,
        &prepared.base_url(&origin),
        &prepared.route_rows(&origin),
    );
    match listening {
        None => gateway.clone().run(listener, stop_signal()).await,
        Some(listening) => {
            let looping = super::watch::Watch {
                global: global.clone(),
                concurrency: args.concurrency,
                origin,
                gateway: gateway.clone(),
                check: check.clone(),
            };
            let watching = tokio::spawn(looping.run(listening, prepared));
            gateway.clone().run(listener, stop_signal()).await;
            // Dropping the loop kills a cargo build it is waiting for.
            watching.abort();
            let _ = watching.await;
        }
    }
    output::status("serve stopped; every handler process has ended");
    output::aws_calls(&check.summary(), args.json);
    Ok(exit::OK)
}

/// What serve answers from, worked out from stack.yaml and the deployed stack: see [`prepare`].
pub(super) struct Prepared {
    pub stack_name: String,
    pub account: String,
    stage: String,
    api_id: String,
    routes: Vec<GatewayRoute>,
    cors: Option<crate::spec::Cors>,
    /// The deployed stack's outputs (`serve --outputs` writes them with serve's URL).
    pub outputs: crate::report::Outputs,
    specs: BTreeMap<String, FunctionSpec>,
    /// The functions as stack.yaml declares them (crate, binary), and the workspace: what a
    /// rebuild of some of them needs.
    pub functions: BTreeMap<String, crate::spec::Function>,
    pub workspace: crate::spec::Workspace,
}

impl Prepared {
    /// The gateway's table: a function whose spec is unchanged keeps its process pool from
    /// `previous` (its warm processes), any other gets a new one.
    pub fn table(&self, previous: &BTreeMap<String, Arc<Function>>) -> Table {
        let functions = self
            .specs
            .iter()
            .map(|(name, spec)| {
                let function = match previous.get(name) {
                    Some(function) if function.spec() == spec => function.clone(),
                    _ => Arc::new(Function::new(spec.clone())),
                };
                (name.clone(), function)
            })
            .collect();
        Table {
            stage: self.stage.clone(),
            api_id: self.api_id.clone(),
            routes: self.routes.clone(),
            functions,
            cors: self.cors.clone(),
        }
    }

    pub fn base_url(&self, origin: &str) -> String {
        format!("{origin}/{}", self.stage)
    }

    /// The route table as printed: method, URL, what answers.
    pub fn route_rows(&self, origin: &str) -> Vec<(String, String, String)> {
        let base_url = self.base_url(origin);
        self.routes
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
            .collect()
    }
}

/// Builds the handlers while the deployed stack is read, checks that the stack is up, and works
/// out the routes, the authorizers and each function's process spec. What `serve` starts with and
/// what `serve --watch` redoes when stack.yaml changes.
pub(super) async fn prepare(
    global: &GlobalArgs,
    stack: LoadedStack,
    binaries: Binaries,
    concurrency: u16,
    check: &AwsCheck,
) -> anyhow::Result<Prepared> {
    let functions = stack.loaded.stack.functions.clone();
    let workspace = stack.workspace.clone();
    let dirs = binaries.dirs(&stack);
    let code = binaries.build(&stack);
    let (config, ctx, live) = observe_in(global, stack, code, Waits::default()).await?;
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
    warn_of_differences(&ctx, &live, binaries);

    let observed = (&values, live.boundary.as_ref());
    let specs = local_functions(&ctx, &config, observed, &dirs, concurrency, None, check).await?;
    local_triggers(&ctx, &config, &values, check);

    let mut verifiers = BTreeMap::new();
    for name in api.authorizers.keys() {
        let verifier = route_authorizer(&ctx, config.endpoint_url(), &live, name)?;
        verifiers.insert(name.clone(), verifier);
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
            scopes: route.scopes.clone(),
        })
        .collect();
    Ok(Prepared {
        stack_name: ctx.stack.name.clone(),
        account: ctx.target.account.clone(),
        stage: api.stage.clone(),
        api_id: values.api_id.clone().unwrap_or_default(),
        routes,
        cors: api.cors.clone(),
        outputs: crate::engine::run::outputs(&ctx.model(), &live),
        specs,
        functions,
        workspace,
    })
}

/// Says so when live AWS is not what stack.yaml declares: serve runs this checkout's routes and
/// handlers either way. Local builds are not what `up` deploys, so their code is not compared.
fn warn_of_differences(ctx: &Context, live: &Live, binaries: Binaries) {
    let deployed: BTreeMap<String, Code> = live
        .functions
        .iter()
        .filter_map(|(name, found)| {
            let found = found.as_ref()?;
            Some((
                name.clone(),
                Code {
                    sha256: found.settings.code_sha256.clone(),
                    zip: std::path::PathBuf::new(),
                },
            ))
        })
        .collect();
    let model = match binaries {
        Binaries::Local => Model {
            code: &deployed,
            ..ctx.model()
        },
        Binaries::Release | Binaries::Artifacts => ctx.model(),
    };
    let plan = run::plan_up(&model, live);
    if plan.has_changes() {
        let code = if binaries == Binaries::Local {
            "; code not compared: serve runs local builds"
        } else {
            ""
        };
        output::status(&format!(
            "warning: live AWS differs from stack.yaml ({} to create, {} to update, {} to replace, {} to delete{code}); serve runs this checkout's handlers and routes. `provisioner diff` shows the differences, `provisioner up` applies them.",
            plan.summary.create, plan.summary.update, plan.summary.replace, plan.summary.delete
        ));
    }
}

/// How each function of the stack runs here: the function's environment with its references
/// resolved against live `values`, Lambda's own variables, the caller's credentials, its
/// `bootstrap` in `dirs`, and as its AWS endpoint its own endpoint of `check`, which decides each
/// call against the function's role (and the stack's permissions `boundary` as observed) and
/// sends it on to the emulator or AWS. Refused on a machine
/// that cannot run the functions' binaries. With `only`, that function alone (`invoke`: what
/// other functions' environments refer to need not exist).
pub(super) async fn local_functions(
    ctx: &Context,
    config: &aws_config::SdkConfig,
    (values, boundary): (&Values, Option<&LiveBoundary>),
    dirs: &BTreeMap<String, std::path::PathBuf>,
    concurrency: u16,
    only: Option<&str>,
    check: &AwsCheck,
) -> anyhow::Result<BTreeMap<String, FunctionSpec>> {
    let shared_env = shared_environment(ctx, config, check).await?;
    check_architecture(ctx)?;
    let boundary = boundary.and_then(local_boundary);
    let mut specs = BTreeMap::new();
    let mut policies = BTreeMap::new();
    for (name, function) in &ctx.stack.functions {
        if only.is_some_and(|only| only != name) {
            continue;
        }
        let role = access::role_policy(&ctx.stack, &ctx.target, values, name, boundary.as_ref());
        if let Some(policy) = role {
            policies.insert(name.clone(), policy);
        }
        let dir = dirs
            .get(name)
            .with_context(|| format!("no binary was built for function `{name}`"))?;
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
            // Not a Lambda variable: the handler's SDK calls AWS through the role check.
            ("AWS_ENDPOINT_URL".to_owned(), check.endpoint(name).await?),
        ]);
        let spec = FunctionSpec {
            name: name.clone(),
            arn: ctx.target.lambda_arn(&function.physical_name),
            bootstrap: dir.join("bootstrap"),
            environment,
            timeout: Duration::from_secs(u64::from(function.timeout_s)),
            concurrency: usize::from(concurrency),
        };
        specs.insert(name.clone(), spec);
    }
    check.set_policies(
        config,
        &ctx.target,
        policies,
        access::references(&ctx.stack, &ctx.target, values),
    );
    Ok(specs)
}

/// Authorizer `name` of the stack's API, as API Gateway's Cognito authorizer checks tokens: an id
/// token of any app client of its pool (every client id, from observe's one listing of the
/// pool), read from its identity source header.
pub(super) fn route_authorizer(
    ctx: &Context,
    endpoint: Option<&str>,
    live: &Live,
    name: &str,
) -> anyhow::Result<RouteAuthorizer> {
    let spec = ctx
        .stack
        .api
        .as_ref()
        .and_then(|api| api.authorizers.get(name))
        .with_context(|| format!("authorizer `{name}` is not declared"))?;
    let pool = live
        .pools
        .get(&spec.user_pool)
        .and_then(|search| search.owned.as_ref())
        .with_context(|| {
            format!(
                "authorizer `{name}`: user pool `{}` is not up\n\nhint: run `provisioner up` first",
                spec.user_pool
            )
        })?;
    let clients: BTreeSet<String> = live
        .client_ids
        .get(&spec.user_pool)
        .map(|ids| ids.iter().cloned().collect())
        .unwrap_or_default();
    let verifier = CachedAuthorizer::for_pool(endpoint, &ctx.target.region, &pool.id, clients);
    let header = spec
        .identity_source
        .strip_prefix("method.request.header.")
        .unwrap_or("Authorization")
        .to_owned();
    Ok(RouteAuthorizer {
        name: name.to_owned(),
        header,
        verifier: Arc::new(verifier),
    })
}

/// The permissions boundary the role check applies; None, with a warning, when there is none to
/// apply (the policy does not exist or cannot be read, or its document is not one this check
/// reads).
fn local_boundary(live: &LiveBoundary) -> Option<access::Boundary> {
    let arn = &live.arn;
    let alone = "handlers' calls are checked against their roles alone";
    let document = match &live.state {
        BoundaryState::Found(document) => document,
        BoundaryState::Missing => {
            output::status(&format!(
                "warning: permissionsBoundary: the policy `{arn}` does not exist; {alone} (`up` will refuse to make the roles)"
            ));
            return None;
        }
        BoundaryState::Unreadable(why) => {
            output::status(&format!(
                "warning: permissionsBoundary: the policy `{arn}` cannot be read ({why}); {alone}"
            ));
            return None;
        }
    };
    access::Boundary::parse(arn, document)
        .map_err(|why| {
            output::status(&format!(
                "warning: permissionsBoundary: the policy `{arn}` is not one this check reads ({why}); {alone}"
            ));
        })
        .ok()
}

/// The pools' pre sign-up and post-confirmation triggers, run here around the handlers' Cognito
/// calls when the stack lives on an emulator (which runs none); on AWS, AWS runs them. What serve
/// cannot reproduce is said once.
fn local_triggers(
    ctx: &Context,
    config: &aws_config::SdkConfig,
    values: &Values,
    check: &AwsCheck,
) {
    let (by_client, not_here) = crate::serve::triggers::of_stack(&ctx.stack, values);
    if config.endpoint_url().is_none() {
        check.set_triggers(None);
        return;
    }
    if !by_client.is_empty() {
        output::status(
            "The emulator runs no Cognito trigger: serve runs the pools' preSignUp and postConfirmation functions around the handlers' SignUp and ConfirmSignUp",
        );
    }
    if !not_here.is_empty() {
        output::status(&format!(
            "warning: not run here (claims the emulator signs into tokens, messages it sends, sign-in challenges): {}",
            not_here.join(", ")
        ));
    }
    check.set_triggers(Some(crate::serve::triggers::TriggerConfig {
        by_client,
        region: ctx.target.region.clone(),
        cognito: ctx.clients.cognito.clone(),
    }));
}

/// The environment every function gets, as Lambda sets it, with the session's key pair of
/// `check` (the caller's credentials stay in the tool, which signs the checked calls with them:
/// they are loaded here so that a missing or broken profile fails before anything starts).
async fn shared_environment(
    ctx: &Context,
    config: &aws_config::SdkConfig,
    check: &AwsCheck,
) -> anyhow::Result<Vec<(String, String)>> {
    config
        .credentials_provider()
        .context("no AWS credentials are configured: the handlers' calls to the stack's user pool are signed with them")?
        .provide_credentials()
        .await
        .context("failed to load AWS credentials for the handlers' calls")?;
    let (key_id, secret) = check.handler_credentials();
    let shared_env = vec![
        ("AWS_REGION".to_owned(), ctx.target.region.clone()),
        ("AWS_DEFAULT_REGION".to_owned(), ctx.target.region.clone()),
        ("AWS_ACCESS_KEY_ID".to_owned(), key_id),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), secret),
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
    Ok(shared_env)
}

/// serve runs each function's Lambda binary here: only on Linux of the functions' architecture.
fn check_architecture(ctx: &Context) -> anyhow::Result<()> {
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
    Ok(())
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
