//! `diff`, `up` and `down`: load stack.yaml, connect, observe, plan, and (for `up`/`down`) apply.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use super::{LoadedStack, exit, replan};
use crate::aws::{Clients, Target};
use crate::cli::{DiffArgs, DownArgs, GlobalArgs, UpArgs};
use crate::engine::{Code, Context, Live, observe, run};
use crate::kinds::function::Waits;
use crate::kinds::rest_api::Pacer;
use crate::lock;
use crate::output;
use crate::plan::{Action, Plan};

/// Loads stack.yaml (printing its warnings).
pub(super) fn load(global: &GlobalArgs) -> anyhow::Result<LoadedStack> {
    load_for(global, true)
}

/// stack.yaml without its code: for commands that deploy none (`adopt`).
pub(super) fn load_without_code(global: &GlobalArgs) -> anyhow::Result<LoadedStack> {
    load_for(global, false)
}

/// The session opened and live AWS read for `stack`, with no code built.
pub(super) async fn start_without_code(
    global: &GlobalArgs,
    stack: LoadedStack,
) -> anyhow::Result<(Arc<Context>, Arc<Live>)> {
    let (_, ctx, live) = observe_in(global, stack, no_code(), Waits::default()).await?;
    Ok((ctx, live))
}

/// As [`load`]; without `code`, neither cargo nor the workspace is needed (see `load_stack_for`).
pub(super) fn load_for(global: &GlobalArgs, code: bool) -> anyhow::Result<LoadedStack> {
    let stack = super::load_stack_for(global, code)?;
    output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings);
    Ok(stack)
}

/// The code `up` deploys, as a future to run while live AWS is read ([`observe_in`]): the
/// release build of the stack's functions (cargo is killed if the future is dropped), or the
/// artifacts' code (`--artifacts`, read at once).
pub(super) type CodeFuture =
    futures_util::future::BoxFuture<'static, anyhow::Result<BTreeMap<String, Code>>>;

pub(super) fn build(stack: &LoadedStack) -> CodeFuture {
    if let Some((dir, manifest)) = &stack.artifacts {
        let code = manifest
            .code(dir, &stack.loaded.stack)
            .map_err(anyhow::Error::from);
        return Box::pin(std::future::ready(code));
    }
    let workspace = stack.workspace.clone();
    let functions = stack.loaded.stack.functions.clone();
    Box::pin(async move {
        let packages = super::build::build_packages(workspace, functions).await?;
        Ok(packages
            .into_iter()
            .map(|package| {
                let code = Code {
                    sha256: package.code_sha256,
                    zip: package.zip,
                };
                (package.function, code)
            })
            .collect())
    })
}

/// No code: `down` and `unlock` deploy none.
pub(super) fn no_code() -> CodeFuture {
    Box::pin(std::future::ready(Ok(BTreeMap::new())))
}

/// Who and where a command acts, settled before anything slow or anything that changes AWS: the
/// AWS options checked, the region pin, the caller's identity (one quick call), the account pin.
pub(super) struct Session {
    pub config: aws_config::SdkConfig,
    pub(super) clients: Clients,
    target: Target,
}

impl Session {
    /// Where it acts, as `sts:GetCallerIdentity` answered.
    pub(super) fn target(&self) -> &Target {
        &self.target
    }
}

/// Opens a [`Session`] for `stack`; refuses (with no call, or only `sts:GetCallerIdentity`) when
/// the region or the account is not one stack.yaml allows.
pub(super) async fn open(global: &GlobalArgs, stack: &LoadedStack) -> anyhow::Result<Session> {
    let config = crate::aws::sdk_config(&global.aws()).await?;
    let stack = &stack.loaded.stack;
    if let Some(region) = config.region() {
        check_region_pin(stack, region.as_ref())?;
    }
    let clients = Clients::new(&config);
    let target = Target::discover(&config, &clients).await?;
    check_account_pin(stack, &target)?;
    Ok(Session {
        config,
        clients,
        target,
    })
}

/// Opens the session and reads what is live for `stack` while `code` (the build) runs: a
/// no-op run costs the longer of the two, not their sum. Either failing stops the other (a
/// build's cargo is killed). Returns the session's SDK configuration, the context (with the
/// code) and what is live.
pub(super) async fn observe_in(
    global: &GlobalArgs,
    stack: LoadedStack,
    code: CodeFuture,
    waits: Waits,
) -> anyhow::Result<(aws_config::SdkConfig, Arc<Context>, Arc<Live>)> {
    let reading = async move {
        let session = open(global, &stack).await?;
        let progress: Arc<dyn crate::progress::Progress> = Arc::new(output::Terminal::stderr());
        let ctx = Context {
            stack: stack.loaded.stack,
            clients: session.clients,
            target: session.target,
            pacer: Pacer::reporting(progress.clone()),
            code: BTreeMap::new(),
            waits,
            progress,
            interrupt: crate::interrupt::Interrupt::default(),
        };
        output::status(&format!(
            "Reading stack `{}` in {} (account {})...",
            ctx.stack.name, ctx.target.region, ctx.target.account
        ));
        let live = observe(&ctx).await?;
        anyhow::Ok((session.config, ctx, live))
    };
    let ((config, mut ctx, live), code) = tokio::try_join!(reading, code)?;
    ctx.code = code;
    Ok((config, Arc::new(ctx), Arc::new(live)))
}

/// A run of `diff`, `up` or `down` once it has read live AWS.
pub(super) struct Started {
    pub ctx: Arc<Context>,
    pub live: Arc<Live>,
    /// stack.yaml as read.
    stack_file: Vec<u8>,
}

/// The whole start of `diff`, `up`, `down`: load, open the session, build (when `build`), observe.
pub(super) async fn start(
    global: &GlobalArgs,
    build_code: bool,
    waits: Waits,
) -> anyhow::Result<Started> {
    let mut stack = load_for(global, build_code)?;
    let code = if build_code { build(&stack) } else { no_code() };
    let stack_file = std::mem::take(&mut stack.bytes);
    let (_, ctx, live) = observe_in(global, stack, code, waits).await?;
    Ok(Started {
        ctx,
        live,
        stack_file,
    })
}

/// The plan file of `plan`: what it was computed from, as this run saw it.
fn plan_file(started: &Started, plan: &Plan) -> crate::planfile::PlanFile {
    let code = started
        .ctx
        .code
        .iter()
        .map(|(function, code)| (function.clone(), code.sha256.clone()))
        .collect();
    crate::planfile::PlanFile::new(plan, &started.stack_file, code)
}

/// `regions:` in stack.yaml: refused before any call.
fn check_region_pin(stack: &crate::spec::Stack, region: &str) -> anyhow::Result<()> {
    if stack.regions.is_empty() || stack.regions.iter().any(|r| r == region) {
        return Ok(());
    }
    let hint = match stack.regions.as_slice() {
        [only] => format!("pass `--region {only}`, or add `{region}` to `regions:`"),
        _ => format!("pass `--region` with one of them, or add `{region}` to `regions:`"),
    };
    Err(crate::usage::Refused::error(
        "regionNotAllowed",
        format!(
            "stack `{}` may be deployed only to {} (`regions:` in stack.yaml), not to {region}; nothing was called\n\nhint: {hint}",
            stack.name,
            stack.regions.join(", "),
        ),
    ))
}

/// `accounts:` in stack.yaml: refused right after `sts:GetCallerIdentity`, before anything else
/// is read or written.
fn check_account_pin(stack: &crate::spec::Stack, target: &Target) -> anyhow::Result<()> {
    if stack.accounts.is_empty() || stack.accounts.contains(&target.account) {
        return Ok(());
    }
    Err(crate::usage::Refused::error(
        "accountNotAllowed",
        format!(
            "stack `{}` may be deployed only to account {} (`accounts:` in stack.yaml), but the credentials are of account {} ({}); nothing was read or changed\n\nhint: use credentials of an allowed account (`--profile`), or add {} to `accounts:` if this account is meant",
            stack.name,
            stack.accounts.join(", "),
            target.account,
            target.caller,
            target.account,
        ),
    ))
}

pub(super) fn check_blockers(plan: &Plan) -> anyhow::Result<()> {
    if plan.blockers.is_empty() {
        return Ok(());
    }
    Err(crate::usage::Refused::error(
        "blocked",
        format!(
            "the stack cannot be applied as it is:\n  {}",
            plan.blockers.join("\n  ")
        ),
    ))
}

pub async fn diff(global: &GlobalArgs, args: &DiffArgs) -> anyhow::Result<i32> {
    let started = start(global, true, Waits::default()).await?;
    let (ctx, live) = (&started.ctx, &started.live);
    let plan = run::plan_up(&ctx.model(), live);
    let format = if args.json {
        output::Format::Json
    } else {
        args.format
    };
    output::plan_as(&plan, format)?;
    if let Some(out) = &args.out {
        plan_file(&started, &plan).write(out)?;
        output::status(&format!(
            "Saved the plan to `{}`: `provisioner up --plan {}` applies exactly it",
            out.display(),
            out.display()
        ));
    }
    if format == output::Format::Json && !plan.blockers.is_empty() {
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

/// Whether to apply a plan that changes something. `--yes` applies. Without a terminal to ask on
/// (CI, a pipe), nothing is applied without `--yes`: a script must say it means it, as with
/// Terraform's `-auto-approve`. On a terminal, a plan that replaces or deletes is asked about, and
/// so is one that grants or widens permissions (a new role, a statement or managed policy added, a
/// trust or boundary changed, an invoke permission added), as CDK asks; other creates and
/// in-place updates go ahead.
fn confirm(plan: &Plan, yes: bool, question: &str, command: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(crate::usage::Refused::error(
            "needsConfirmation",
            format!(
                "refusing to change AWS without confirmation: there is no terminal to ask on, and `--yes` was not given; nothing was changed\n\nhint: review the plan above (or `provisioner diff`), then run `provisioner {command} --yes`"
            ),
        ));
    }
    let destructive = plan
        .entries
        .iter()
        .any(|e| matches!(e.action, Action::Replace { .. } | Action::Delete));
    let granting: Vec<&crate::plan::Entry> = plan
        .entries
        .iter()
        .filter(|e| super::grants::grants(e))
        .collect();
    if !granting.is_empty() {
        let lines: Vec<String> = granting
            .iter()
            .map(|e| format!("  {} {}", output::marker(&e.action), e.address))
            .collect();
        output::status(&format!(
            "This plan grants or widens permissions:\n{}",
            lines.join("\n")
        ));
    }
    if !destructive && granting.is_empty() {
        return Ok(());
    }
    ask(question)
}

/// Asks `question` on the terminal; anything but `yes` refuses, with nothing changed.
pub(super) fn ask(question: &str) -> anyhow::Result<()> {
    output::prompt(question)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("failed to read the answer")?;
    if answer.trim() != "yes" {
        anyhow::bail!("nothing was changed: the answer was not `yes`");
    }
    Ok(())
}

pub async fn up(global: &GlobalArgs, args: &UpArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let waits = Waits {
        settle: std::time::Duration::from_secs(args.settle_timeout),
        ..Waits::default()
    };
    // A saved plan is read before anything is built or called: a bad file costs nothing.
    let saved = match &args.plan {
        Some(path) => Some(crate::planfile::PlanFile::read(path).map_err(|err| {
            anyhow::anyhow!(
                "{err}; nothing was changed\n\nhint: save a plan with `provisioner diff --out {}`",
                path.display()
            )
        })?),
        None => None,
    };
    let started_run = start(global, true, waits).await?;
    let plan = run::plan_up(&started_run.ctx.model(), &started_run.live);
    if let (Some(saved), Some(path)) = (&saved, &args.plan) {
        saved.still(&plan_file(&started_run, &plan)).map_err(|stale| {
            anyhow::anyhow!(
                "refusing to apply `{}`: {stale}; nothing was changed\n\nhint: save and review a new plan: `provisioner diff --out {}`",
                path.display(),
                path.display()
            )
        })?;
    }
    let Started { ctx, live, .. } = started_run;
    output::plan_to_stderr(&plan)?;
    if let Some(note) =
        super::notes::default_mailer_note(&plan, super::notes::endpoint(global).as_deref())
    {
        output::status(&note);
    }
    check_blockers(&plan)?;
    let refused = run::unallowed(&plan, &live, &args.allow_replace)
        .map_err(|err| super::UsageError(format!("{err}; nothing was changed")))?;
    // Ambiguity was refused just above.
    for unused in run::unused_allowances(&plan, &live, &args.allow_replace).unwrap_or_default() {
        output::warning(&format!(
            "`--allow-replace {unused}` names nothing this plan replaces or deletes"
        ));
    }
    if !refused.is_empty() {
        let lines: Vec<&str> = refused.iter().map(|g| g.message.as_str()).collect();
        anyhow::bail!(
            "refusing to replace or delete:\n{}\n\nnothing was changed",
            lines.join("\n")
        );
    }
    if !plan.has_changes() {
        // No lock needed; one a killed run left is removed if stale (else it would block the
        // next changing run, on another host for an hour).
        remove_stale_lock(&ctx).await?;
        let report = crate::report::UpReport {
            outputs: run::outputs(&ctx.model(), &live),
            changes: Vec::new(),
            summary: plan.summary,
            calls: ctx.clients.calls.snapshot(),
            seconds: started.elapsed().as_secs_f64(),
        };
        output::up_report(&report, args.json)?;
        super::notes::emulator_hint(global, &ctx.stack);
        return Ok(exit::OK);
    }
    // A saved plan was reviewed when it was saved (as with `terraform apply PLANFILE`).
    if saved.is_none() {
        confirm(&plan, args.yes, "Apply these changes?", "up")?;
    }
    // Someone looked at this plan (a saved one, or a terminal's answer): only it is applied.
    // With `--yes` and no saved plan no one did, so the plan made under the lock is applied.
    let reviewed = saved.is_some() || !args.yes;
    let lock = take_lock_unless_interrupted(&ctx, &plan, "up", args.lock_timeout).await?;
    let applied = apply_under_lock(&ctx, &plan, reviewed, args, started).await;
    release_lock(&ctx, lock).await;
    let mut report = applied?;
    // The lock's calls count too.
    report.calls = ctx.clients.calls.snapshot();
    output::up_report(&report, args.json)?;
    super::notes::emulator_hint(global, &ctx.stack);
    Ok(exit::OK)
}

/// Under the lock: live AWS read again, and the plan made from it applied if it may be (see
/// [`still_the_plan`] and [`unreviewed_plan`]).
async fn apply_under_lock(
    ctx: &Arc<Context>,
    plan: &Plan,
    reviewed: bool,
    args: &UpArgs,
    started: std::time::Instant,
) -> anyhow::Result<crate::report::UpReport> {
    let live = Arc::new(observe(ctx).await?);
    let again = run::plan_up(&ctx.model(), &live);
    let go = if reviewed {
        replan::still_the_plan(plan, &again, "up")?
    } else {
        replan::unreviewed_plan(plan, &again, &live, &args.allow_replace)?
    };
    if !go {
        return Ok(crate::report::UpReport {
            outputs: run::outputs(&ctx.model(), &live),
            changes: Vec::new(),
            summary: again.summary,
            calls: ctx.clients.calls.snapshot(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    run::apply_up(ctx.clone(), live, usize::from(args.concurrency), started).await
}

/// From here on SIGINT and SIGTERM stop the run cleanly (see `interrupt`); then the stack's lock.
/// An interrupt while waiting for the lock ends the run with nothing done.
async fn take_lock_unless_interrupted(
    ctx: &Context,
    plan: &Plan,
    command: &str,
    timeout: u64,
) -> anyhow::Result<lock::Lock> {
    ctx.interrupt.listen(|signal| {
        output::status(&format!(
            "{signal}: stopping: nothing new starts, what is in flight gets at most {} s to finish, the lock is given back; a second signal gives the lock back and stops at once",
            crate::interrupt::GRACE.as_secs()
        ))
    });
    tokio::select! {
        // A lock just taken wins over an interrupt at the same moment: it is then given back.
        biased;
        lock = take_lock(ctx, command, timeout) => {
            let lock = lock?;
            // A second signal gives the lock back before the process exits.
            let release = lock.releaser(&ctx.clients.logs);
            ctx.interrupt.on_second(Some(Arc::new(release)));
            Ok(lock)
        }
        () = ctx.interrupt.wait() => {
            let changing: Vec<String> = plan
                .entries
                .iter()
                .filter(|e| e.action != Action::NoOp)
                .map(|e| e.address.clone())
                .collect();
            Err(crate::interrupt::Interrupted {
                done: 0,
                total: changing.len(),
                stopped: Vec::new(),
                not_started: changing,
            }
            .into())
        }
    }
}

/// Takes the stack's lock for `command`, waiting up to `timeout` seconds for another run's.
pub(super) async fn take_lock(
    ctx: &Context,
    command: &str,
    timeout: u64,
) -> anyhow::Result<lock::Lock> {
    Ok(lock::Lock::acquire(
        &ctx.clients.logs,
        &ctx.stack.name,
        &ctx.target,
        command,
        std::time::Duration::from_secs(timeout),
        ctx.progress.as_ref(),
        output::status,
    )
    .await?)
}

/// Gives the lock back; a failure to is said, not fatal (the next run finds it stale or
/// `provisioner unlock` removes it).
pub(super) async fn release_lock(ctx: &Context, lock: lock::Lock) {
    // A second signal meanwhile waits for this release (they share the lock's state).
    let released = lock.release(&ctx.clients.logs).await;
    ctx.interrupt.on_second(None);
    if let Err(err) = released {
        output::warning(&format!(
            "{:#}\n  hint: `provisioner unlock` shows the lock and how to remove it",
            anyhow::Error::from(err)
        ));
    }
}

/// Removes the stack's lock if it is stale (its holder is gone), saying so: what a run with
/// nothing to change does, so that a killed run's lock never outlives the next run.
async fn remove_stale_lock(ctx: &Context) -> anyhow::Result<()> {
    if let Some((holder, why)) = lock::remove_if_stale(&ctx.clients.logs, &ctx.stack.name).await? {
        output::status(&format!(
            "note: removed the stale lock of stack `{}`, held by {holder}: {why}",
            ctx.stack.name
        ));
    }
    Ok(())
}

pub async fn down(global: &GlobalArgs, args: &DownArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let Started { ctx, live, .. } = start(global, false, Waits::default()).await?;
    let plan = run::plan_down(&ctx.model(), &live, args.delete_data);
    output::plan_to_stderr(&plan)?;
    if !plan.has_changes() {
        // Nothing to delete: no lock needed. A lock left by a run killed at its very end is
        // removed if stale, so that `down` leaves none behind.
        remove_stale_lock(&ctx).await?;
        let report = run::apply_down(ctx, live, 1, args.delete_data, started).await?;
        output::down_report(&report, args.json)?;
        return Ok(exit::OK);
    }
    confirm(&plan, args.yes, "Delete these resources?", "down")?;
    let lock = take_lock_unless_interrupted(&ctx, &plan, "down", args.lock_timeout).await?;
    let deleted = async {
        let live = Arc::new(observe(&ctx).await?);
        let again = run::plan_down(&ctx.model(), &live, args.delete_data);
        // What went meanwhile need not go again: `down` of what is left is what was asked
        // for. Anything new was not reviewed.
        if !again.entries.iter().all(|e| plan.entries.contains(e)) {
            replan::still_the_plan(&plan, &again, "down")?;
        }
        run::apply_down(
            ctx.clone(),
            live,
            usize::from(args.concurrency),
            args.delete_data,
            started,
        )
        .await
    }
    .await;
    release_lock(&ctx, lock).await;
    let mut report = deleted?;
    report.calls = ctx.clients.calls.snapshot();
    output::down_report(&report, args.json)?;
    Ok(exit::OK)
}
