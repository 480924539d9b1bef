//! The cargo workspace: which crates it has (`cargo metadata`) and building handler binaries
//! (one `cargo build` for all of them: `--release` for Lambda, the `local` profile for serve).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use cargo_metadata::{Message, MetadataCommand, TargetKind};

use crate::spec::{Architecture, Function, Workspace, WorkspaceMember};

/// The cargo to run: the one that runs us (`CARGO`, set by `cargo run` and `cargo test`), else `cargo`.
fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The workspace that contains `dir`.
pub fn discover(dir: &Path) -> anyhow::Result<Workspace> {
    let metadata = MetadataCommand::new()
        .cargo_path(cargo_program())
        .current_dir(dir)
        .no_deps()
        .exec()
        .with_context(|| {
            format!(
                "failed to read the cargo workspace that contains `{}`",
                dir.display()
            )
        })?;
    let members = metadata
        .workspace_packages()
        .into_iter()
        .map(|package| WorkspaceMember {
            package: package.name.to_string(),
            dir: package
                .manifest_path
                .parent()
                .map(|p| p.as_std_path().to_path_buf())
                .unwrap_or_default(),
            binaries: package
                .targets
                .iter()
                .filter(|target| target.kind.contains(&TargetKind::Bin))
                .map(|target| target.name.clone())
                .collect(),
            path_dependencies: package
                .dependencies
                .iter()
                .filter(|dependency| dependency.path.is_some())
                .map(|dependency| dependency.name.clone())
                .collect(),
        })
        .collect();
    Ok(Workspace {
        root: metadata.workspace_root.into_std_path_buf(),
        target_dir: metadata.target_directory.into_std_path_buf(),
        members,
    })
}

/// Set by cargo for the crate it runs; see `build_command`.
const INHERITED_FROM_CARGO: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
];

/// Which cargo profile builds the handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// What Lambda runs (`build`, `up`, `serve --release`): `--release --locked`.
    Release,
    /// serve's and invoke's builds: the workspace's `local` profile (compile time first), its
    /// binaries in `target/local/`. Not `--locked`: as a plain `cargo build`, a dependency added
    /// while serving is resolved.
    Local,
}

/// The profile `Profile::Local` builds with; a workspace that does not define it gets
/// [`LOCAL_PROFILE_DEFAULTS`].
pub const LOCAL_PROFILE: &str = "local";
const LOCAL_PROFILE_DEFAULTS: &[&str] = &[
    "profile.local.inherits=\"dev\"",
    "profile.local.debug=\"line-tables-only\"",
    "profile.local.package.\"*\".debug=false",
];

impl Profile {
    /// The cargo command, for messages.
    pub fn command(self) -> &'static str {
        match self {
            Profile::Release => "cargo build --release",
            Profile::Local => "cargo build --profile local",
        }
    }
}

/// Builds `functions`' binaries in one `cargo build` with `profile` and returns, per function,
/// the path of its executable. Cargo's own progress (and the compiler's errors) goes to our
/// stderr; cargo runs as a child process killed if the returned future is dropped (a run whose
/// reads failed, serve stopping mid-build).
pub async fn build(
    workspace: &Workspace,
    functions: &[(&String, &Function)],
    profile: Profile,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    use tokio::io::AsyncBufReadExt as _;
    let Some(command) = build_command(workspace, functions, profile)? else {
        return Ok(BTreeMap::new());
    };
    let mut command = tokio::process::Command::from(command);
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run `{}`", cargo_program().display()))?;
    let mut executables = BTreeMap::new();
    if let Some(stdout) = child.stdout.take() {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Some(line) = lines
            .next_line()
            .await
            .context("failed to read cargo's build output")?
        {
            let message = serde_json::from_str(&line).unwrap_or(Message::TextLine(line));
            note_executable(&mut executables, message);
        }
    }
    let status = child.wait().await.context("failed to wait for cargo")?;
    built(functions, profile, status, &executables)
}

/// The `cargo build` of `functions`' binaries with `profile` (None when there are none).
fn build_command(
    workspace: &Workspace,
    functions: &[(&String, &Function)],
    profile: Profile,
) -> anyhow::Result<Option<Command>> {
    check_architectures(functions)?;
    if functions.is_empty() {
        return Ok(None);
    }
    let mut command = Command::new(cargo_program());
    command.current_dir(&workspace.root).arg("build");
    match profile {
        Profile::Release => {
            command.args(["--release", "--locked"]);
        }
        Profile::Local => {
            command.args(["--profile", LOCAL_PROFILE]);
            if !defines_profile(&workspace.root, LOCAL_PROFILE) {
                for setting in LOCAL_PROFILE_DEFAULTS {
                    command.args(["--config", setting]);
                }
            }
        }
    }
    command.arg("--message-format=json-render-diagnostics");
    let mut packages: Vec<&str> = functions.iter().map(|(_, f)| f.package.as_str()).collect();
    packages.sort_unstable();
    packages.dedup();
    for package in &packages {
        command.args(["--package", package]);
    }
    let mut binaries: Vec<&str> = functions.iter().map(|(_, f)| f.binary.as_str()).collect();
    binaries.sort_unstable();
    binaries.dedup();
    for binary in binaries {
        command.args(["--bin", binary]);
    }
    // Variables cargo sets for a crate it runs (`cargo run`, `cargo test`) are not ours to pass on:
    // some build scripts (ring's) watch CARGO_MANIFEST_DIR, and an inherited value would make
    // every build from such a process rebuild the handlers' dependencies from scratch.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if INHERITED_FROM_CARGO.contains(&name.as_ref())
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            command.env_remove(name.as_ref());
        }
    }
    Ok(Some(command))
}

/// Refuses a function this machine cannot build for (no cross-building).
pub fn check_architectures(functions: &[(&String, &Function)]) -> anyhow::Result<()> {
    let host = host_architecture();
    for (name, function) in functions {
        if Some(function.architecture) != host {
            bail!(
                "function `{name}` is for `{}`, but this machine builds only for {}\n\nhint: set `architecture: {}` in stack.yaml; cross-building (for example with cargo-zigbuild) is not supported yet",
                function.architecture.lambda_name(),
                std::env::consts::ARCH,
                host.map_or("x86_64", Architecture::lambda_name),
            );
        }
    }
    Ok(())
}

/// Whether the workspace's root Cargo.toml defines `[profile.<name>]`.
fn defines_profile(root: &Path, name: &str) -> bool {
    std::fs::read_to_string(root.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|manifest| manifest.get("profile")?.get(name).cloned())
        .is_some()
}

/// Records the executable of a binary target cargo reports built: binary target name -> path.
fn note_executable(executables: &mut BTreeMap<String, PathBuf>, message: Message) {
    if let Message::CompilerArtifact(artifact) = message
        && artifact.target.kind.contains(&TargetKind::Bin)
        && let Some(executable) = artifact.executable
    {
        executables.insert(artifact.target.name.clone(), executable.into_std_path_buf());
    }
}

/// Per function, its executable, once cargo has exited with `status`.
fn built(
    functions: &[(&String, &Function)],
    profile: Profile,
    status: std::process::ExitStatus,
    executables: &BTreeMap<String, PathBuf>,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    if !status.success() {
        let mut packages: Vec<&str> = functions.iter().map(|(_, f)| f.package.as_str()).collect();
        packages.sort_unstable();
        packages.dedup();
        bail!(
            "`{}` failed for {} (cargo's errors are above)",
            profile.command(),
            packages.join(", ")
        );
    }
    functions
        .iter()
        .map(|(name, function)| {
            let executable = executables.get(&function.binary).with_context(|| {
                format!(
                    "cargo built no executable `{}` for function `{name}`",
                    function.binary
                )
            })?;
            Ok(((*name).clone(), executable.clone()))
        })
        .collect()
}

fn host_architecture() -> Option<Architecture> {
    match std::env::consts::ARCH {
        "x86_64" => Some(Architecture::X86_64),
        "aarch64" => Some(Architecture::Arm64),
        _ => None,
    }
}
