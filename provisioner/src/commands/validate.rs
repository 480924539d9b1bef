//! `provisioner validate`: load stack.yaml and report; no AWS call, no build.

use crate::cli::GlobalArgs;
use crate::output;

pub fn validate(global: &GlobalArgs) -> anyhow::Result<i32> {
    let stack = super::load_stack(global)?;
    output::warnings(&stack.file.display().to_string(), &stack.loaded.warnings);
    Ok(super::exit::OK)
}
