//! A function's settings within Lambda's and IAM's limits: the role's name, memory, timeout,
//! architecture, log retention and description.

use super::*;

/// The role's name `<region>-<stack>-<function>` fits IAM's 64 characters in every region (or
/// in some: a warning).
pub(super) fn check_role_name(c: &mut Checker, name: &str, physical_name: &str) {
    // The role's name starts with the region's short code (4 to 8 characters), known only once
    // connected: too long even with the shortest is an error; too long with the longest, a
    // warning (the plan refuses in the regions where it does not fit).
    let role_len = |code: usize| code + 1 + physical_name.len();
    if role_len(crate::regions::SHORT_CODE_MIN) > 64 {
        c.key_error(
            &function_path(name, &[]),
            format!(
                "the IAM role name `<region>-{physical_name}` is at least {} characters; AWS allows at most 64",
                role_len(crate::regions::SHORT_CODE_MIN)
            ),
            Some(format!(
                "shorten the stack name or this key: `<stack>-<function>` is at most {} characters",
                64 - 1 - crate::regions::SHORT_CODE_MIN
            )),
        );
    } else if role_len(crate::regions::SHORT_CODE_MAX) > 64 {
        c.warning(
            &function_path(name, &[]),
            format!(
                "the IAM role name `<region>-{physical_name}` is too long for AWS's 64 characters in some regions (up to {})",
                role_len(crate::regions::SHORT_CODE_MAX)
            ),
            format!(
                "`<stack>-<function>` of at most {} characters fits every region",
                64 - 1 - crate::regions::SHORT_CODE_MAX
            ),
        );
    }
}

/// `memory`: 128 to 10240 MB (128 by default).
pub(super) fn memory(c: &mut Checker, name: &str, raw: &RawFunction) -> u32 {
    match raw.memory {
        None => 128,
        Some(mb) if (128..=10240).contains(&mb) => mb as u32,
        Some(mb) => {
            c.error_hint(
                &function_path(name, &["memory"]),
                format!("must be between 128 and 10240 (MB), got {mb}"),
                "Lambda gives a function 128 MB to 10240 MB",
            );
            128
        }
    }
}

/// `timeout`: 1 to 900 s (10 by default), and a warning past API Gateway's if `routed`.
pub(super) fn timeout(c: &mut Checker, name: &str, raw: &RawFunction, routed: bool) -> u32 {
    let timeout_s = match raw.timeout {
        None => 10,
        Some(s) if (1..=900).contains(&s) => s as u32,
        Some(s) => {
            c.error_hint(
                &function_path(name, &["timeout"]),
                format!("must be between 1 and 900 (seconds), got {s}"),
                "Lambda runs a function for at most 15 minutes",
            );
            10
        }
    };
    if routed && timeout_s > API_GATEWAY_TIMEOUT_S {
        c.warning(
            &function_path(name, &["timeout"]),
            format!(
                "is {timeout_s} s, but API Gateway answers 504 after {API_GATEWAY_TIMEOUT_S} s"
            ),
            format!(
                "a function behind the API gets no more than {API_GATEWAY_TIMEOUT_S} s per request"
            ),
        );
    }
    timeout_s
}

/// `architecture`: `x86_64` (the default) or `arm64`, with a hint for their other names.
pub(super) fn architecture(c: &mut Checker, name: &str, raw: &RawFunction) -> Architecture {
    match raw.architecture.as_deref() {
        None | Some("x86_64") => Architecture::X86_64,
        Some("arm64") => Architecture::Arm64,
        Some(other) => {
            // Other names for the same two architectures.
            let hint = match other.to_ascii_lowercase().as_str() {
                "amd64" | "x86-64" | "x64" | "x86" => "did you mean `x86_64`?".to_owned(),
                "aarch64" | "arm" | "arm64v8" => "did you mean `arm64`?".to_owned(),
                _ => hint_for(other, &["x86_64", "arm64"], "expected one of"),
            };
            c.error_hint(
                &function_path(name, &["architecture"]),
                format!("`{other}` is not a Lambda architecture"),
                hint,
            );
            Architecture::X86_64
        }
    }
}

/// `logRetentionDays`: a period CloudWatch Logs accepts (14 by default).
pub(super) fn log_retention_days(c: &mut Checker, name: &str, raw: &RawFunction) -> u32 {
    // Converted only once in range: `4294967297 as u32` would be 1.
    match raw.log_retention_days.map(|days| {
        (
            days,
            u32::try_from(days)
                .ok()
                .filter(|d| LOG_RETENTION_DAYS.contains(d)),
        )
    }) {
        None => 14,
        Some((_, Some(days))) => days,
        Some((days, None)) => {
            let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
            c.error_hint(
                &function_path(name, &["logRetentionDays"]),
                format!("CloudWatch Logs does not keep logs for {days} days"),
                format!("expected one of {}", allowed.join(", ")),
            );
            14
        }
    }
}

/// `description`: at most 256 characters.
pub(super) fn check_description(c: &mut Checker, name: &str, raw: &RawFunction) {
    if let Some(description) = &raw.description
        && description.chars().count() > 256
    {
        c.error_hint(
            &function_path(name, &["description"]),
            format!(
                "is {} characters; Lambda allows at most 256",
                description.chars().count()
            ),
            "shorten the description",
        );
    }
}
