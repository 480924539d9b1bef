//! A failed run as the JSON document `--json` prints, with the stable code scripts branch on.

/// The document [`error_json`] prints.
pub fn error_document(err: &anyhow::Error) -> serde_json::Value {
    let causes: Vec<String> = err.chain().skip(1).map(ToString::to_string).collect();
    let mut error = serde_json::json!({ "code": error_code(err), "message": err.to_string(), "causes": causes });
    if let Some(answer) = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::aws::Answer>())
    {
        error["aws"] = serde_json::json!({
            "service": answer.service(),
            "operation": answer.operation(),
            "code": answer.code(),
            "requestId": answer.request_id(),
        });
    }
    if let Some(incomplete) = err.downcast_ref::<crate::report::Incomplete>() {
        error["incomplete"] = serde_json::json!({
            "done": incomplete.done,
            "total": incomplete.total,
            "failed": incomplete.failed,
            "stopped": incomplete.stopped,
            "notStarted": incomplete.not_started,
        });
    }
    if let Some(interrupted) = err.downcast_ref::<crate::interrupt::Interrupted>() {
        error["interrupted"] = serde_json::json!({
            "done": interrupted.done,
            "total": interrupted.total,
            "stopped": interrupted.stopped,
            "notStarted": interrupted.not_started,
        });
    }
    serde_json::json!({ "error": error })
}

/// The stable code of a failed run, for scripts (README: "Errors for scripts").
pub fn error_code(err: &anyhow::Error) -> &'static str {
    use crate::aws::TargetError;
    for cause in err.chain() {
        if let Some(refused) = cause.downcast_ref::<crate::usage::Refused>() {
            return refused.code;
        }
        if cause.is::<crate::usage::UsageError>() {
            return "usage";
        }
        if cause.is::<crate::spec::SpecError>() {
            return "invalidStack";
        }
        if cause.is::<crate::interrupt::Interrupted>() {
            return "interrupted";
        }
        if let Some(crate::lock::LockError::Held { .. }) = cause.downcast_ref() {
            return "locked";
        }
        match cause.downcast_ref::<TargetError>() {
            Some(TargetError::Unreachable { .. }) => return "unreachable",
            Some(
                TargetError::Credentials { .. }
                | TargetError::NoCredentials(_)
                | TargetError::CredentialsTimeout { .. },
            ) => return "credentials",
            _ => {}
        }
    }
    // Part of the plan was applied: whatever failed (`aws` says which call, when AWS refused it).
    if err.chain().any(|c| c.is::<crate::report::Incomplete>()) {
        return "incomplete";
    }
    if err.chain().any(|c| c.is::<crate::aws::Answer>()) {
        return "awsError";
    }
    "error"
}
