//! Loading a stack.yaml: text -> raw serde types -> a validated [`Stack`]. Pure: no file, network
//! or process I/O happens here; callers hand in the text and the cargo workspace.
//!
//! Every problem found is reported with `file:line:col`, the field, and a hint, all at once.

mod error;
mod model;
mod positions;
mod raw;
mod validate;
mod workspace;

use std::path::Path;

pub use error::{Diagnostic, Severity, SpecError};
pub use model::*;
pub use positions::Pos;
pub use workspace::{Workspace, WorkspaceMember};

use positions::Positions;
use validate::{Checker, did_you_mean};

/// A valid stack, and what is worth a warning in it.
#[derive(Debug)]
pub struct Loaded {
    pub stack: Stack,
    pub warnings: Vec<Diagnostic>,
}

/// Parses and validates stack.yaml `text`. `file` names it in messages; `stack_dir` is the
/// directory it lives in (absolute), against which `crate:` paths are resolved. `stack_name`
/// (the `--stack` flag) replaces the file's `stack:`.
///
/// This is the only place serde_yaml is used.
pub fn load(
    text: &str,
    file: &str,
    stack_dir: &Path,
    workspace: &Workspace,
    stack_name: Option<&str>,
) -> Result<Loaded, SpecError> {
    let positions = Positions::index(text);
    let invalid = |errors| SpecError::Invalid {
        file: file.to_owned(),
        errors,
    };
    let mut raw: raw::RawStack = match serde_yaml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => return Err(invalid(vec![yaml_diagnostic(&err, text)])),
    };
    let mut checker = Checker::new(&positions);
    if let Some(name) = stack_name {
        raw.stack = name.to_owned();
    }
    let stack = validate::validate(
        &raw,
        &mut checker,
        workspace,
        stack_dir,
        stack_name.is_some(),
    );
    let (errors, warnings): (Vec<_>, Vec<_>) = checker
        .diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    match stack {
        Some(stack) if errors.is_empty() => Ok(Loaded { stack, warnings }),
        _ => Err(invalid(errors)),
    }
}

/// A serde_yaml error as a diagnostic: its position, its path as the field, and a hint for
/// misspelt keys.
fn yaml_diagnostic(err: &serde_yaml::Error, text: &str) -> Diagnostic {
    let mut message = err.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    // serde_yaml prefixes the path of the offending node: `functions.sign-up: unknown field ...`.
    let mut field = String::new();
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.contains(' ')
        && !prefix.is_empty()
    {
        field = prefix.to_owned();
        message = rest.to_owned();
    }
    let mut hint = None;
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((given, expected)) = rest.split_once('`')
    {
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        hint = Some(match did_you_mean(given, candidates.iter().copied()) {
            Some(candidate) => format!("did you mean `{candidate}`?"),
            None => format!(
                "expected one of {}",
                candidates
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
        message = format!("unknown field `{given}`");
    } else if text.trim().is_empty() {
        message = "the file is empty".to_owned();
        hint = Some("start with `stack: <name>`; see README.md for the format".to_owned());
    } else if message.contains("invalid type: integer")
        || message.contains("invalid type: boolean")
        || message.contains("invalid type: floating point")
    {
        if message.contains("expected a string") {
            hint = Some("quote the value to make it a string".to_owned());
        }
    } else if message.contains("did not match any variant of untagged enum OneOrMany") {
        message = "expected a string or a list of strings".to_owned();
    }
    Diagnostic {
        severity: Severity::Error,
        field,
        pos: err.location().map(|l| Pos {
            line: l.line(),
            col: l.column(),
        }),
        message,
        hint,
    }
}
