//! What is wrong with a stack.yaml, where, and how to fix it.

use std::fmt;

use super::positions::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, at a position in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The field at fault, dotted (`functions.sign-up.memory`); empty for the whole file.
    pub field: String,
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
    /// A stable name of the kind of problem, for scripts (`unknownField`, `invalidValue`, ...).
    pub code: &'static str,
}

impl Diagnostic {
    /// `stack.yaml:14:13: `functions.sign-up.memory`: must be ...` and an indented hint line.
    pub fn render(&self, file: &str) -> String {
        let mut out = match self.pos {
            Some(pos) => format!("{file}:{}:{}: ", pos.line, pos.col),
            None => format!("{file}: "),
        };
        if self.severity == Severity::Warning {
            out.push_str("warning: ");
        }
        if !self.field.is_empty() {
            out.push_str(&format!("`{}`: ", self.field));
        }
        out.push_str(&self.message);
        if let Some(hint) = &self.hint {
            out.push_str("\n  hint: ");
            out.push_str(hint);
        }
        out
    }
}

/// At most this many diagnostics of each severity are kept and shown; the rest are counted.
pub const MAX_DIAGNOSTICS: usize = 50;

/// Why a stack.yaml could not be loaded: every error found (the first [`MAX_DIAGNOSTICS`] of them
/// shown), not just the first.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}", render_invalid(file, errors, *more))]
    Invalid {
        file: String,
        errors: Vec<Diagnostic>,
        /// Errors found beyond those in `errors`.
        more: usize,
    },
    /// The file is valid as far as it was read, and declares environments, but none was chosen:
    /// `validate` then checks each of `declared`; other commands refuse.
    #[error("{}", render_invalid(file, std::slice::from_ref(error.as_ref()), 0))]
    NoEnvironment {
        file: String,
        declared: Vec<String>,
        error: Box<Diagnostic>,
    },
}

fn render_invalid(file: &str, errors: &[Diagnostic], more: usize) -> String {
    let count = match errors.len() + more {
        1 => "1 error".to_owned(),
        n => format!("{n} errors"),
    };
    let mut out = format!("`{file}` is not a valid stack: {count}");
    for error in errors {
        out.push('\n');
        out.push_str(&error.render(file));
    }
    if more > 0 {
        out.push_str(&format!("\nand {more} more"));
    }
    out
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}
