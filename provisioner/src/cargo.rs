//! The cargo workspace: which crates it has (`cargo metadata`) and building handler binaries
//! (`cargo build --release`, one invocation for all of them).

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use cargo_metadata::{Message, MetadataCommand, TargetKind};

use crate::spec::{Architecture, Stack, Workspace, WorkspaceMember};

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
        })
        .collect();
    Ok(Workspace {
        root: metadata.workspace_root.into_std_path_buf(),
        target_dir: metadata.target_directory.into_std_path_buf(),
        members,
    })
}

/// Set by cargo for the crate it runs; see `build_functions`.
const INHERITED_FROM_CARGO: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
];

/// Builds every function's binary in one `cargo build --release` and returns, per function,
/// the path of its executable. Cargo's own progress goes to our stderr.
pub fn build_functions(
    workspace: &Workspace,
    stack: &Stack,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let host = host_architecture();
    for (name, function) in &stack.functions {
        if Some(function.architecture) != host {
            bail!(
                "function `{name}` is for `{}`, but this machine builds only for {}\n\nhint: set `architecture: {}` in stack.yaml; cross-building (for example with cargo-zigbuild) is not supported yet",
                function.architecture.lambda_name(),
                std::env::consts::ARCH,
                host.map_or("x86_64", Architecture::lambda_name),
            );
        }
    }
    if stack.functions.is_empty() {
        return Ok(BTreeMap::new());
    }

    crate::output::status(&format!(
        "building {} function(s) with `cargo build --release`",
        stack.functions.len()
    ));
    let mut command = Command::new(cargo_program());
    command.current_dir(&workspace.root).args([
        "build",
        "--release",
        "--locked",
        "--message-format=json-render-diagnostics",
    ]);
    let mut packages: Vec<&str> = stack
        .functions
        .values()
        .map(|f| f.package.as_str())
        .collect();
    packages.sort_unstable();
    packages.dedup();
    for package in &packages {
        command.args(["--package", package]);
    }
    for binary in stack.functions.values().map(|f| f.binary.as_str()) {
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
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run `{}`", cargo_program().display()))?;

    // binary target name -> executable
    let mut executables: BTreeMap<String, PathBuf> = BTreeMap::new();
    if let Some(stdout) = child.stdout.take() {
        for message in Message::parse_stream(BufReader::new(stdout)) {
            let message = message.context("failed to read cargo's build output")?;
            if let Message::CompilerArtifact(artifact) = message
                && artifact.target.kind.contains(&TargetKind::Bin)
                && let Some(executable) = artifact.executable
            {
                executables.insert(artifact.target.name.clone(), executable.into_std_path_buf());
            }
        }
    }
    let status = child.wait().context("failed to wait for cargo")?;
    if !status.success() {
        bail!(
            "`cargo build --release` failed for {} (cargo's errors are above)",
            packages.join(", ")
        );
    }
    stack
        .functions
        .iter()
        .map(|(name, function)| {
            let executable = executables.get(&function.binary).with_context(|| {
                format!(
                    "cargo built no executable `{}` for function `{name}`",
                    function.binary
                )
            })?;
            Ok((name.clone(), executable.clone()))
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
