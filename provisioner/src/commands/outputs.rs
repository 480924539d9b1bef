//! `provisioner outputs`: the deployed stack's outputs for a front end, read from live AWS (the
//! read-only `plan` policy is enough).

use anyhow::Context as _;

use super::exit;
use super::reconcile::start;
use crate::cli::{GlobalArgs, OutputsArgs};
use crate::engine::run;
use crate::kinds::function::Waits;
use crate::output::outputs::{check_prefix, render};

pub async fn outputs(global: &GlobalArgs, args: &OutputsArgs) -> anyhow::Result<i32> {
    check_prefix(&args.prefix, args.format)?;
    let started = start(global, false, Waits::default()).await?;
    let ctx = &started.ctx;
    let outputs = run::outputs(&ctx.model(), &started.live);
    if outputs.api_url.is_none() && outputs.user_pools.is_empty() {
        anyhow::bail!(
            "stack `{}` is not up in {} (account {}): it has no API and no user pool to output\n\nhint: run `provisioner up` first",
            ctx.stack.name,
            ctx.target.region,
            ctx.target.account
        );
    }
    let text = render(&outputs, args.format, &args.prefix);
    match &args.out {
        None => print!("{text}"),
        Some(file) => write(file, &text)?,
    }
    Ok(exit::OK)
}

/// Writes `text` to `file` whole (a reader never sees half of it): to `<file>.<pid>.partial`
/// beside it first, then renamed.
pub(super) fn write(file: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut partial = file.as_os_str().to_owned();
    partial.push(format!(".{}.partial", std::process::id()));
    let partial = std::path::PathBuf::from(partial);
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, file))
        .with_context(|| format!("failed to write the outputs to `{}`", file.display()))
}
