//! `provisioner build`: compile every function's crate and package it for Lambda.

use anyhow::Context;

use crate::cli::{BuildArgs, GlobalArgs};
use crate::{output, package};

pub fn build(global: &GlobalArgs, args: &BuildArgs) -> anyhow::Result<i32> {
    if global.artifacts.is_some() {
        return Err(super::UsageError(
            "`build` compiles the handlers: `--artifacts` is for `diff`, `up` and `serve` (write artifacts with `provisioner build --out DIR`)".to_owned(),
        )
        .into());
    }
    let stack = super::load_stack(global)?;
    output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings);
    let packages = build_packages(&stack)?;
    if let Some(dir) = &args.out {
        crate::artifacts::write(dir, &stack.loaded.stack, &packages)?;
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

/// Builds and packages every function of the stack (also what `up` will call).
pub fn build_packages(stack: &super::LoadedStack) -> anyhow::Result<Vec<package::Package>> {
    let functions = &stack.loaded.stack.functions;
    let binaries = crate::cargo::build_functions(&stack.workspace, &stack.loaded.stack)?;
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
                        name,
                        function,
                        binary,
                        &stack.workspace.target_dir,
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
