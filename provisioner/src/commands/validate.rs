//! `provisioner validate`: load stack.yaml and report; no AWS call, no build. A file that declares
//! environments is checked for each of them unless `--env` names one.

use crate::cli::GlobalArgs;
use crate::output;
use crate::spec::SpecError;

pub fn validate(global: &GlobalArgs) -> anyhow::Result<i32> {
    let environments = match super::load_stack(global) {
        Ok(stack) => {
            output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings);
            return Ok(super::exit::OK);
        }
        Err(err) => match err.downcast_ref::<SpecError>() {
            // The file passed every check made before environments are chosen.
            Some(SpecError::NoEnvironment { declared, .. }) => declared.clone(),
            _ => return Err(err),
        },
    };
    let mut failed = 0;
    for env in &environments {
        let global = GlobalArgs {
            env: Some(env.clone()),
            ..global.clone()
        };
        match super::load_stack(&global) {
            Ok(stack) => {
                output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings)
            }
            Err(err) => {
                failed += 1;
                output::error(&err.context(format!("environment `{env}`")));
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} environments ({}) are not valid",
            environments.len(),
            environments.join(", ")
        );
    }
    Ok(super::exit::OK)
}
