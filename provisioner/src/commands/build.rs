//! `provisioner build`: compile every function's crate and package it for Lambda.

use std::collections::BTreeMap;

use anyhow::Context;

use crate::cli::{BuildArgs, GlobalArgs};
use crate::{output, package};

pub async fn build(global: &GlobalArgs, args: &BuildArgs) -> anyhow::Result<i32> {
    if global.artifacts.is_some() {
        return Err(super::UsageError(
            "`build` compiles the handlers: `--artifacts` is for `diff`, `up` and `serve` (write artifacts with `provisioner build --out DIR`)".to_owned(),
        )
        .into());
    }
    let stack = super::load_stack(global)?;
    output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings);
    let mut packages = build_packages(
        stack.workspace.clone(),
        stack.loaded.stack.functions.clone(),
    )
    .await?;
    if let Some(dir) = &args.out {
        crate::artifacts::write(dir, &stack.loaded.stack, &packages)?;
        // What is listed is where the packages now are.
        for package in &mut packages {
            if let Some(function) = stack.loaded.stack.functions.get(&package.function) {
                package.bootstrap = dir.join(&function.binary).join("bootstrap");
                package.zip = dir.join(&function.binary).join("bootstrap.zip");
            }
        }
        output::status(&format!(
            "Wrote {} package(s) and their manifest to `{}`: `--artifacts {}` deploys them without cargo",
            packages.len(),
            dir.display(),
            dir.display()
        ));
    }
    output::packages(&packages, args.json)?;
    Ok(super::exit::OK)
}

/// Builds and packages `functions` (the release build): cargo runs as a child process killed if
/// the future is dropped, and packaging runs on a blocking thread. What `build` runs, and what
/// `diff`, `up` and `serve --release` run while they read live AWS.
pub async fn build_packages(
    workspace: crate::spec::Workspace,
    functions: BTreeMap<String, crate::spec::Function>,
) -> anyhow::Result<Vec<package::Package>> {
    if functions.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<_> = functions.iter().collect();
    // A function this machine cannot build for is refused before anything is said or built.
    crate::cargo::check_architectures(&list)?;
    output::status("Building the handlers (cargo build --release)...");
    let binaries = crate::cargo::build(&workspace, &list, crate::cargo::Profile::Release).await?;
    tokio::task::spawn_blocking(move || package_all(&workspace.target_dir, &functions, &binaries))
        .await
        .context("packaging the functions stopped")?
}

/// Checks and packages each function's built binary (`binaries`, by function).
fn package_all(
    target_dir: &std::path::Path,
    functions: &BTreeMap<String, crate::spec::Function>,
    binaries: &BTreeMap<String, std::path::PathBuf>,
) -> anyhow::Result<Vec<package::Package>> {
    // Checking, zipping and hashing each binary is independent work: one thread each.
    std::thread::scope(|scope| {
        let jobs: Vec<_> = functions
            .iter()
            .map(|(name, function)| {
                let binary = binaries.get(name);
                scope.spawn(move || -> anyhow::Result<package::Package> {
                    let binary = binary
                        .with_context(|| format!("no binary was built for function `{name}`"))?;
                    Ok(package::package_function(
                        name, function, binary, target_dir,
                    )?)
                })
            })
            .collect();
        jobs.into_iter()
            .map(|job| {
                job.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("packaging a function panicked")))
            })
            .collect()
    })
}
