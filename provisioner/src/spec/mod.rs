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
/// misspelt keys, wrong types and syntax.
fn yaml_diagnostic(err: &serde_yaml::Error, text: &str) -> Diagnostic {
    // The position is reported separately: drop serde_yaml's own `at line N column M`.
    let mut message = strip_positions(&err.to_string());
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
    if text.trim().is_empty() {
        message = "the file is empty".to_owned();
        hint = Some("start with `stack: <name>`; see README.md for the format".to_owned());
    } else if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((given, expected)) = rest.split_once('`')
    {
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let listed: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
        hint = Some(match did_you_mean(given, candidates.iter().copied()) {
            Some(candidate) => format!("did you mean `{candidate}`?"),
            None => format!("expected one of {}", listed.join(", ")),
        });
        message = format!("unknown field `{given}`");
    } else if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((got, expected)) = rest.split_once(", expected ")
    {
        // `invalid type: string "ten", expected i64` -> `expected a whole number, got string "ten"`
        let expected = match expected {
            "i64" | "u64" | "i32" | "u32" => "a whole number",
            "a boolean" => "`true` or `false`",
            other => other,
        };
        message = format!("expected {expected}, got {got}");
    } else if message.contains("did not match any variant of untagged enum OneOrMany") {
        message = "expected a string or a list of strings".to_owned();
    } else if message.contains("while scanning") || message.contains("while parsing") {
        hint = Some("check the indentation and the `key: value` syntax here".to_owned());
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

/// `could not find expected ':' at line 3 column 1, while scanning a simple key at line 2 column 3`
/// -> `could not find expected ':', while scanning a simple key`.
fn strip_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(" at line ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let line_len = digits(after);
        match after[line_len..].strip_prefix(" column ") {
            Some(col) if line_len > 0 => rest = &col[digits(col)..],
            _ => {
                out.push_str(" at line ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
