//! One thin function per subcommand, over the library. Shared here: finding and loading stack.yaml.

mod adopt;
mod binaries;
mod build;
mod grants;
mod invoke;
pub mod logs;
mod notes;
mod outputs;
mod policy;
mod reconcile;
mod replan;
mod serve;
mod unlock;
mod validate;
mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::spec::{self, Loaded, Workspace};

pub use adopt::adopt;
pub use build::build;
pub use invoke::invoke;
pub use outputs::outputs;
pub use policy::policy;
pub use reconcile::{diff, down, up};
pub use serve::serve;
pub use unlock::unlock;
pub use validate::validate;

/// Process exit codes, documented in README.md and `--help` (`cli::EXIT_CODES`).
pub mod exit {
    /// Success (for `diff`: no changes).
    pub const OK: i32 = 0;
    /// An error: invalid stack.yaml, a refusal, a failed build, a failed AWS call.
    pub const ERROR: i32 = 1;
    /// `diff` only: live AWS differs from stack.yaml.
    pub const CHANGES: i32 = 2;
    /// The command line is wrong: an unknown flag, a missing value, an endpoint URL without a
    /// scheme, a region AWS does not have (sysexits' EX_USAGE). Never 2, so a typo in a CI
    /// script cannot read as "changes".
    pub const USAGE: i32 = 64;
    /// `up` or `down` stopped by SIGINT or SIGTERM (128 + SIGINT); the next run finishes.
    pub const INTERRUPTED: i32 = crate::interrupt::EXIT_CODE;
}

pub use crate::usage::UsageError;

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let json = match &cli.command {
        Command::Build(args) => args.json,
        Command::Diff(args) => args.json || args.format == crate::output::Format::Json,
        Command::Up(args) => args.json,
        Command::Down(args) => args.json,
        Command::Validate(args) => args.json,
        Command::Serve(_)
        | Command::Unlock(_)
        | Command::Adopt(_)
        | Command::Policy(_)
        | Command::Outputs(_)
        | Command::Invoke(_)
        | Command::Completions(_)
        | Command::Logs(_)
        | Command::Schema => false,
    };
    let result = match cli.command {
        Command::Validate(args) => validate(&cli.global, &args),
        Command::Build(args) => build(&cli.global, &args).await,
        Command::Diff(args) => diff(&cli.global, &args).await,
        Command::Up(args) => up(&cli.global, &args).await,
        Command::Down(args) => down(&cli.global, &args).await,
        Command::Serve(args) => serve(&cli.global, &args).await,
        Command::Unlock(args) => unlock(&cli.global, &args).await,
        Command::Adopt(args) => adopt(&cli.global, &args).await,
        Command::Policy(args) => policy(&cli.global, &args).await,
        Command::Invoke(args) => invoke(&cli.global, &args).await,
        Command::Outputs(args) => outputs(&cli.global, &args).await,
        Command::Completions(args) => {
            use clap::CommandFactory as _;
            let mut command = Cli::command();
            clap_complete::generate(
                args.shell,
                &mut command,
                "provisioner",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
        Command::Logs(args) => logs::logs(&cli.global, &args).await,
        Command::Schema => {
            let schema = crate::spec::schema::schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(exit::OK)
        }
    };
    if json && let Err(err) = &result {
        crate::output::error_json(err);
    }
    result
}

/// The function stack.yaml calls `name`, or an error naming the closest one (or all of them).
pub(crate) fn function_named<'s>(
    stack: &'s spec::Stack,
    name: &str,
) -> anyhow::Result<&'s spec::Function> {
    if let Some(function) = stack.functions.get(name) {
        return Ok(function);
    }
    let names: Vec<&str> = stack.functions.keys().map(String::as_str).collect();
    let hint = match spec::did_you_mean(name, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("one of: {}", names.join(", ")),
    };
    anyhow::bail!("stack.yaml has no function `{name}`\n\nhint: {hint}")
}

/// stack.yaml, loaded and validated, with the workspace its crates live in.
pub struct LoadedStack {
    pub loaded: Loaded,
    pub workspace: Workspace,
    pub file: PathBuf,
    /// The file as read (at most 1 MiB): what a saved plan fingerprints.
    pub bytes: Vec<u8>,
    /// `--artifacts`: the directory and its manifest (then `workspace` is empty).
    pub artifacts: Option<(PathBuf, crate::artifacts::Manifest)>,
}

/// Reads and validates the stack file named by the global flags. The file alone is checked
/// first, so its problems are reported even outside a cargo workspace or without cargo; only then
/// is the workspace read to resolve `crate:` paths.
pub fn load_stack(global: &GlobalArgs) -> anyhow::Result<LoadedStack> {
    load_stack_for(global, true)
}

/// As [`load_stack`]; without `code` (`down`, `unlock`: nothing is built or deployed) neither
/// cargo nor the workspace is read, so they run where only stack.yaml is.
pub fn load_stack_for(global: &GlobalArgs, code: bool) -> anyhow::Result<LoadedStack> {
    // A bad `--stack` is the command line's mistake, not the file's.
    if let Some((message, hint)) = global.stack.as_deref().and_then(spec::stack_name_problem) {
        return Err(UsageError(format!("`--stack`: {message}\n\nhint: {hint}")).into());
    }
    let file = &global.file;
    let bytes = match read_limited(file, spec::MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(source) => {
            let hint = if global.file == Path::new("stack.yaml") {
                "run in the directory that holds stack.yaml, or pass `--file <path>`".to_owned()
            } else {
                format!("check the path given to `--file`: `{}`", file.display())
            };
            anyhow::bail!(
                "failed to read `{}`: {source}\n\nhint: {hint}",
                file.display()
            );
        }
    };
    let dir = file
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = dir
        .canonicalize()
        .with_context(|| format!("failed to resolve the directory of `{}`", file.display()))?;
    let label = file.display().to_string();
    let checked = spec::check(
        &bytes,
        &label,
        &dir,
        global.stack.as_deref(),
        global.env.as_deref(),
    )?;
    if !code {
        return Ok(LoadedStack {
            loaded: checked.resolved_by(&BTreeMap::new()),
            workspace: Workspace::default(),
            file: file.clone(),
            bytes,
            artifacts: None,
        });
    }
    if let Some(artifacts) = &global.artifacts {
        // Built elsewhere: no cargo, no workspace; the manifest says what each function is.
        let manifest = crate::artifacts::read(artifacts)?;
        let binaries = manifest.binaries(artifacts, checked.stack())?;
        return Ok(LoadedStack {
            loaded: checked.resolved_by(&binaries),
            workspace: Workspace::default(),
            file: file.clone(),
            bytes,
            artifacts: Some((artifacts.clone(), manifest)),
        });
    }
    let workspace = crate::cargo::discover(&dir)?;
    let loaded = checked.resolve(&workspace)?;
    Ok(LoadedStack {
        loaded,
        workspace,
        file: file.clone(),
        bytes,
        artifacts: None,
    })
}

/// Reads at most `limit + 1` bytes of `file`: enough for the loader to see it is too large,
/// without reading a huge file (or a device that never ends) whole.
fn read_limited(file: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
