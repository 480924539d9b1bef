//! What `up` says beside its plan: notes about where the stack goes that no plan entry shows.

use crate::cli::GlobalArgs;
use crate::output;

/// On an emulator the API's URL answers nothing (moto provisions Lambda but runs no function):
/// say where the API can be called instead.
pub(super) fn emulator_hint(global: &GlobalArgs, stack: &crate::spec::Stack) {
    if let (Some(endpoint), Some(api)) = (endpoint(global), &stack.api) {
        output::status(&format!(
            "note: `{endpoint}` provisions the API but runs no function, so nothing answers at apiUrl; `provisioner serve` runs it here, at http://127.0.0.1:3000/{}/",
            api.stage
        ));
    }
}

/// The endpoint every call goes to, when it is not AWS's (an emulator).
pub(super) fn endpoint(global: &GlobalArgs) -> Option<String> {
    global
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|url| !url.is_empty())
}

/// For a plan that makes a user pool on AWS (no emulator's endpoint): Cognito's default email
/// sends few emails a day, and stack.yaml cannot give a pool Amazon SES yet.
pub(super) fn default_mailer_note(
    plan: &crate::plan::Plan,
    endpoint: Option<&str>,
) -> Option<String> {
    use crate::plan::{Action, Kind};
    if endpoint.is_some() {
        return None;
    }
    let pools: Vec<&str> = plan
        .entries
        .iter()
        .filter(|e| e.kind == Kind::UserPool && e.action == Action::Create)
        .map(|e| e.address.as_str())
        .collect();
    (!pools.is_empty()).then(|| format!(
        "note: {} will send its codes with Cognito's default email, about 50 emails a day for the account; past that, SignUp and the other calls that send a code answer LimitExceededException (the handlers answer 429)\n  hint: a production pool needs Amazon SES, which stack.yaml cannot configure yet",
        pools.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use crate::plan::{Action, Entry, Kind, Plan};

    /// A pool made on AWS gets the note about Cognito's default email; on an emulator, or with
    /// no pool made, nothing is said.
    #[test]
    fn a_pool_made_on_aws_is_told_about_the_default_mailer() {
        let target = crate::aws::Target {
            region: "us-east-1".to_owned(),
            account: "1".to_owned(),
            partition: "aws".to_owned(),
            caller: "arn:aws:iam::1:user/u".to_owned(),
        };
        let pool = Entry::new("userPools.users", Kind::UserPool, "s-users", Action::Create);
        let plan = Plan::new("s", &target, vec![pool.clone()], Vec::new());
        let note = super::default_mailer_note(&plan, None).expect("a note");
        assert!(
            note.contains("userPools.users will send its codes with Cognito's default email")
                && note.contains("LimitExceededException")
                && note.contains("Amazon SES"),
            "{note}"
        );
        assert_eq!(
            super::default_mailer_note(&plan, Some("http://127.0.0.1:5000")),
            None
        );
        let kept = Entry {
            action: Action::NoOp,
            ..pool
        };
        let plan = Plan::new("s", &target, vec![kept], Vec::new());
        assert_eq!(super::default_mailer_note(&plan, None), None);
    }
}
