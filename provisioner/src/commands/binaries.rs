//! Which handler binaries `serve` and `invoke` run, and building them: by default the workspace's
//! `local` profile (compile time first: a one-line change rebuilds in about a second), with
//! `--release` exactly what `up` deploys, with `--artifacts` what `build --out` wrote.
//!
//! Local binaries are linked into `target/lambda-local/<binary>/bootstrap` (a file of their own,
//! replaced by a rename, so a running process keeps its binary and a starting one never sees half
//! of one); they never touch `target/lambda/`, whose zips `up` uploads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::LoadedStack;
use super::reconcile::CodeFuture;
use crate::cargo::{self, Profile};
use crate::spec::{Function, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Binaries {
    /// The `local` profile, into `target/lambda-local/`.
    Local,
    /// The release build and packages `up` deploys (`target/lambda/`).
    Release,
    /// `--artifacts DIR`: built elsewhere.
    Artifacts,
}

impl Binaries {
    pub fn choose(stack: &LoadedStack, release: bool) -> Binaries {
        if stack.artifacts.is_some() {
            Binaries::Artifacts
        } else if release {
            Binaries::Release
        } else {
            Binaries::Local
        }
    }

    /// Where each function's `bootstrap` is, once built.
    pub fn dirs(self, stack: &LoadedStack) -> BTreeMap<String, PathBuf> {
        let target_dir = &stack.workspace.target_dir;
        stack
            .loaded
            .stack
            .functions
            .iter()
            .map(|(name, function)| {
                let dir = match (self, &stack.artifacts) {
                    (Binaries::Artifacts, Some((dir, _))) => {
                        crate::artifacts::bootstrap_dir(dir, &function.binary)
                    }
                    (Binaries::Local, _) => local_dir(target_dir, &function.binary),
                    _ => crate::package::package_dir(target_dir, &function.binary),
                };
                (name.clone(), dir)
            })
            .collect()
    }

    /// The build, to run while live AWS is read. Its code is what `up` would deploy, except for
    /// a local build, which is not (empty).
    pub fn build(self, stack: &LoadedStack) -> CodeFuture {
        match self {
            Binaries::Release | Binaries::Artifacts => super::reconcile::build(stack),
            Binaries::Local => {
                let workspace = stack.workspace.clone();
                let functions = stack.loaded.stack.functions.clone();
                Box::pin(async move {
                    if !functions.is_empty() {
                        crate::output::status(
                            "Building the handlers (cargo build --profile local)...",
                        );
                        let all: Vec<(&String, &Function)> = functions.iter().collect();
                        build_local(&workspace, &all).await?;
                    }
                    Ok(BTreeMap::new())
                })
            }
        }
    }
}

/// Builds `functions` with the `local` profile and links each binary into
/// `target/lambda-local/<binary>/bootstrap`; returns those directories by function. Cargo's
/// output (and the compiler's errors) goes to stderr.
pub(super) async fn build_local(
    workspace: &Workspace,
    functions: &[(&String, &Function)],
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let executables = cargo::build(workspace, functions, Profile::Local).await?;
    let mut dirs = BTreeMap::new();
    for (name, function) in functions {
        let executable = &executables[*name];
        let dir = local_dir(&workspace.target_dir, &function.binary);
        install(executable, &dir).with_context(|| {
            format!(
                "failed to put the binary of function `{name}` into `{}`",
                dir.display()
            )
        })?;
        dirs.insert((*name).clone(), dir);
    }
    Ok(dirs)
}

/// `<target>/lambda-local/<binary>/`: where serve's local build of `binary` runs from.
pub(super) fn local_dir(target_dir: &Path, binary: &str) -> PathBuf {
    target_dir.join("lambda-local").join(binary)
}

/// Makes `dir/bootstrap` the binary `executable` is now: a hard link (a copy across file systems)
/// under a temporary name, renamed over the old one. Unchanged when it already is that file.
fn install(executable: &Path, dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::create_dir_all(dir)?;
    let bootstrap = dir.join("bootstrap");
    let source = std::fs::metadata(executable)?;
    if let Ok(current) = std::fs::metadata(&bootstrap)
        && current.dev() == source.dev()
        && current.ino() == source.ino()
    {
        return Ok(());
    }
    let staged = dir.join(format!(".bootstrap.{}", std::process::id()));
    let _ = std::fs::remove_file(&staged);
    if std::fs::hard_link(executable, &staged).is_err() {
        std::fs::copy(executable, &staged)?;
    }
    std::fs::rename(&staged, &bootstrap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_replaces_the_bootstrap_by_rename_and_keeps_the_old_file_for_its_readers() {
        let root = std::env::temp_dir().join(format!("provisioner-install-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let first = root.join("first");
        let second = root.join("second");
        std::fs::write(&first, b"one").unwrap();
        std::fs::write(&second, b"two").unwrap();
        let dir = root.join("lambda-local/hello");
        install(&first, &dir).unwrap();
        let bootstrap = dir.join("bootstrap");
        assert_eq!(std::fs::read(&bootstrap).unwrap(), b"one");
        // A reader of the old binary (a running process) keeps it.
        let held = std::fs::File::open(&bootstrap).unwrap();
        install(&second, &dir).unwrap();
        assert_eq!(std::fs::read(&bootstrap).unwrap(), b"two");
        let mut old = String::new();
        std::io::Read::read_to_string(&mut &held, &mut old).unwrap();
        assert_eq!(old, "one");
        // Installing the same file again changes nothing; no staging file is left.
        let before = std::fs::metadata(&bootstrap).unwrap().modified().unwrap();
        install(&second, &dir).unwrap();
        assert_eq!(
            std::fs::metadata(&bootstrap).unwrap().modified().unwrap(),
            before
        );
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("bootstrap")]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
