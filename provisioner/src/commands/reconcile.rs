//! `diff`, `up` and `down`: load stack.yaml, connect, observe, plan, and (for `up`/`down`) apply.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use super::{LoadedStack, exit, load_stack};
use crate::aws::{Clients, Target};
use crate::cli::{DiffArgs, DownArgs, GlobalArgs, UpArgs};
use crate::engine::{Code, Context, observe, run};
use crate::kinds::function::Waits;
use crate::kinds::rest_api::Pacer;
use crate::output;
use crate::plan::{Action, Plan};

/// Loads stack.yaml and, for commands that deploy code, builds the handlers.
pub(super) fn load(
    global: &GlobalArgs,
    build: bool,
) -> anyhow::Result<(LoadedStack, BTreeMap<String, Code>)> {
    let stack = load_stack(global)?;
    output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings);
    let mut code = BTreeMap::new();
    if build && !stack.loaded.stack.functions.is_empty() {
        output::status("Building the handlers (cargo build --release)...");
        for package in super::build::build_packages(&stack)? {
            code.insert(
                package.function.clone(),
                Code {
                    sha256: package.code_sha256,
                    zip: package.zip,
                },
            );
        }
    }
    Ok((stack, code))
}

/// Connects to AWS (learning the account and partition) and reads what is live.
async fn connect(
    global: &GlobalArgs,
    stack: LoadedStack,
    code: BTreeMap<String, Code>,
) -> anyhow::Result<(Arc<Context>, Arc<observe::Live>)> {
    let config = crate::aws::sdk_config(&global.aws()).await;
    connect_with(&config, stack, code).await
}

/// As [`connect`], with an SDK configuration the caller keeps (`serve` hands its credentials on).
pub(super) async fn connect_with(
    config: &aws_config::SdkConfig,
    stack: LoadedStack,
    code: BTreeMap<String, Code>,
) -> anyhow::Result<(Arc<Context>, Arc<observe::Live>)> {
    let clients = Clients::new(config);
    let target = Target::discover(config, &clients).await?;
    let ctx = Context {
        stack: stack.loaded.stack,
        clients,
        target,
        pacer: Pacer::default(),
        code,
        waits: Waits::default(),
    };
    output::status(&format!(
        "Reading stack `{}` in {} (account {})...",
        ctx.stack.name, ctx.target.region, ctx.target.account
    ));
    let live = observe::observe(&ctx).await?;
    Ok((Arc::new(ctx), Arc::new(live)))
}

fn check_blockers(plan: &Plan) -> anyhow::Result<()> {
    if plan.blockers.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the stack cannot be applied as it is:\n  {}",
        plan.blockers.join("\n  ")
    )
}

pub async fn diff(global: &GlobalArgs, args: &DiffArgs) -> anyhow::Result<i32> {
    let (stack, code) = load(global, true)?;
    let (ctx, live) = connect(global, stack, code).await?;
    let plan = run::plan_up(&ctx, &live);
    output::plan(&plan, args.json)?;
    if args.json && !plan.blockers.is_empty() {
        // The plan on stdout already lists the blockers: one JSON document, the error on stderr.
        if let Err(err) = check_blockers(&plan) {
            output::error(&err);
        }
        return Ok(exit::ERROR);
    }
    check_blockers(&plan)?;
    Ok(if plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// On a terminal, asks before a plan that replaces or deletes; without one (CI) never waits.
fn confirm(plan: &Plan, yes: bool, question: &str) -> anyhow::Result<bool> {
    let destructive = plan
        .entries
        .iter()
        .any(|e| matches!(e.action, Action::Replace { .. } | Action::Delete));
    if yes || !destructive || !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    eprint!("{question} Only `yes` is accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("failed to read the answer")?;
    Ok(answer.trim() == "yes")
}

pub async fn up(global: &GlobalArgs, args: &UpArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let (stack, code) = load(global, true)?;
    let (ctx, live) = connect(global, stack, code).await?;
    let plan = run::plan_up(&ctx, &live);
    output::plan_to_stderr(&plan)?;
    check_blockers(&plan)?;
    let refused = run::unallowed_replacements(&plan, &args.allow_replace);
    if !refused.is_empty() {
        let lines: Vec<String> = refused
            .iter()
            .map(|entry| {
                let logical = entry.address.rsplit('.').next().unwrap_or(&entry.address);
                let fields: Vec<&str> = match &entry.action {
                    Action::Replace { changes } => changes
                        .iter()
                        .filter(|c| c.forces_replacement)
                        .map(|c| c.field)
                        .collect(),
                    _ => Vec::new(),
                };
                format!(
                    "{} must be replaced (`{}` cannot change in place); {}\n  hint: keep the old value in stack.yaml, or accept with `--allow-replace {logical}`",
                    entry.address,
                    fields.join("`, `"),
                    entry.note.as_deref().unwrap_or("replacing it loses what it holds")
                )
            })
            .collect();
        anyhow::bail!(
            "refusing to replace:\n{}\n\nnothing was changed",
            lines.join("\n")
        );
    }
    if !plan.has_changes() {
        let report = run::UpReport {
            outputs: run::outputs(&ctx, &live),
            changes: Vec::new(),
            summary: plan.summary,
            calls: ctx.clients.calls.snapshot(),
            seconds: started.elapsed().as_secs_f64(),
        };
        output::up_report(&report, args.json)?;
        return Ok(exit::OK);
    }
    if !confirm(&plan, args.yes, "Apply these changes?")? {
        anyhow::bail!("not applied: the answer was not `yes`");
    }
    let report = run::apply_up(ctx, live, usize::from(args.concurrency), started).await?;
    output::up_report(&report, args.json)?;
    Ok(exit::OK)
}

pub async fn down(global: &GlobalArgs, args: &DownArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let (stack, code) = load(global, false)?;
    let (ctx, live) = connect(global, stack, code).await?;
    let plan = run::plan_down(&ctx, &live, args.delete_data);
    output::plan_to_stderr(&plan)?;
    if plan.has_changes() && !confirm(&plan, args.yes, "Delete these resources?")? {
        anyhow::bail!("nothing deleted: the answer was not `yes`");
    }
    let report = run::apply_down(
        ctx,
        live,
        usize::from(args.concurrency),
        args.delete_data,
        started,
    )
    .await?;
    output::down_report(&report, args.json)?;
    Ok(exit::OK)
}
