//! A mistake in how a command was called (not in stack.yaml, not in AWS): it exits
//! `commands::exit::USAGE` (64). Here, apart, so that what finds one (the AWS options, the
//! commands) needs no other module.

/// A usage error; the message says what to write instead.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A refusal scripts branch on: its `code` is in `--json` errors (`needsConfirmation`,
/// `accountNotAllowed`, ...), its message is what people read.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    pub fn error(code: &'static str, message: impl Into<String>) -> anyhow::Error {
        Refused {
            code,
            message: message.into(),
        }
        .into()
    }
}
