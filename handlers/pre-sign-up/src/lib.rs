//! Cognito's pre sign-up trigger. Refuses an email whose domain is not in `ALLOWED_EMAIL_DOMAINS`
//! (unset or empty: every domain), and confirms at once, with the email verified, a user whose
//! domain is in `AUTO_CONFIRM_DOMAINS`. Both comma-separated, compared without case. A refusal
//! reaches the caller of SignUp as Cognito's `UserLambdaValidationException` with this message.

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreSignup;
use handler_common::{InitError, Refusal};

pub const ALLOWED_VAR: &str = "ALLOWED_EMAIL_DOMAINS";
pub const AUTO_CONFIRM_VAR: &str = "AUTO_CONFIRM_DOMAINS";

/// The domains, lowercased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Empty: every domain may sign up.
    pub allowed: Vec<String>,
    pub auto_confirm: Vec<String>,
}

impl Rules {
    pub async fn from_env() -> Result<Rules, InitError> {
        Ok(Rules::from_lists(
            std::env::var(ALLOWED_VAR).ok().as_deref(),
            std::env::var(AUTO_CONFIRM_VAR).ok().as_deref(),
        ))
    }

    pub fn from_lists(allowed: Option<&str>, auto_confirm: Option<&str>) -> Rules {
        let list = |text: Option<&str>| -> Vec<String> {
            text.unwrap_or_default()
                .split(',')
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect()
        };
        Rules {
            allowed: list(allowed),
            auto_confirm: list(auto_confirm),
        }
    }
}

/// The domain of an email address, lowercased (after the last `@`).
fn domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

pub async fn handle(
    rules: &Rules,
    mut event: CognitoEventUserPoolsPreSignup,
) -> Result<CognitoEventUserPoolsPreSignup, Refusal> {
    let email = event.request.user_attributes.get("email").cloned();
    let domain = email.as_deref().and_then(domain);
    if !rules.allowed.is_empty() {
        let allowed = domain.as_ref().is_some_and(|d| rules.allowed.contains(d));
        if !allowed {
            tracing::info!(
                domain = domain.as_deref().unwrap_or("(none)"),
                "sign-up refused"
            );
            return Err(Refusal(format!(
                "sign-up is open to email addresses at {} only",
                rules.allowed.join(", ")
            )));
        }
    }
    if domain
        .as_ref()
        .is_some_and(|d| rules.auto_confirm.contains(d))
    {
        event.response.auto_confirm_user = true;
        event.response.auto_verify_email = true;
    }
    Ok(event)
}
