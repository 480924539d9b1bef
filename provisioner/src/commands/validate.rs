//! `provisioner validate`: load stack.yaml and report; no AWS call, no build. A file that declares
//! environments is checked for each of them unless `--env` names one.

use crate::cli::GlobalArgs;
use crate::output;

pub fn validate(global: &GlobalArgs) -> anyhow::Result<i32> {
    let environments = match (&global.env, std::fs::read_to_string(&global.file)) {
        (None, Ok(text)) => crate::spec::environments::names(&text),
        _ => Vec::new(),
    };
    if environments.is_empty() {
        let stack = super::load_stack(global)?;
        output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings);
        return Ok(super::exit::OK);
    }
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
