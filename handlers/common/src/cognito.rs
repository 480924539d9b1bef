//! Cognito errors as honest HTTP statuses. Classified by the error code, which is the same across
//! operations and SDK versions; only messages we chose (or Cognito's own validation text) reach the
//! caller, never internals.

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;

use crate::response::Rejection;

/// Which call failed: some codes mean different things to the caller depending on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    SignUp,
    ConfirmSignUp,
    InitiateAuth,
    /// InitiateAuth with a refresh token, or GetTokensFromRefreshToken.
    Refresh,
    ConfirmForgotPassword,
    GlobalSignOut,
    /// ForgotPassword and ResendConfirmationCode: their refusals that would tell whether a user
    /// exists never reach this (the handlers answer them as a success).
    SendCode,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::SignUp => "SignUp",
            Operation::ConfirmSignUp => "ConfirmSignUp",
            Operation::InitiateAuth => "InitiateAuth",
            Operation::Refresh => "InitiateAuth(REFRESH_TOKEN_AUTH)/GetTokensFromRefreshToken",
            Operation::ConfirmForgotPassword => "ConfirmForgotPassword",
            Operation::GlobalSignOut => "GlobalSignOut",
            Operation::SendCode => "ForgotPassword/ResendConfirmationCode",
        }
    }
}

/// The response for a failed Cognito call. Logs the error code (never the request's values).
pub fn cognito_rejection(operation: Operation, err: &impl ProvideErrorMetadata) -> Rejection {
    let code = err.code().unwrap_or("Unknown");
    let rejection = rejection_for_code(operation, code, err.message());
    if rejection.status >= 500 {
        tracing::error!(operation = operation.name(), code, "cognito call failed");
    } else {
        tracing::info!(
            operation = operation.name(),
            code,
            status = rejection.status,
            "cognito refused the request"
        );
    }
    rejection
}

/// ForgotPassword and ResendConfirmationCode: a refusal that would tell whether the user exists
/// (or is confirmed already, or has no verified email) answers as a success would, with
/// `message`; throttling and failures as any call's.
pub fn neutral_or_rejection(
    operation: Operation,
    err: &impl ProvideErrorMetadata,
    message: &str,
) -> aws_lambda_events::apigw::ApiGatewayProxyResponse {
    match err.code() {
        // Cognito fakes the send for a user that does not exist: only a real user can meet a
        // per-user limit, a failed delivery, a confirmed or unverified state. Answered as sent.
        Some(
            code @ ("UserNotFoundException"
            | "InvalidParameterException"
            | "NotAuthorizedException"
            | "LimitExceededException"
            | "CodeDeliveryFailureException"
            | "UserNotConfirmedException"),
        ) => {
            tracing::warn!(
                operation = operation.name(),
                code,
                "answered as sent (the answer must not tell whether the user exists)"
            );
            crate::json_response(200, &serde_json::json!({ "message": message }))
        }
        _ => cognito_rejection(operation, err).into_response(),
    }
}

fn rejection_for_code(operation: Operation, code: &str, message: Option<&str>) -> Rejection {
    // Cognito's own text for validation errors tells the user what to fix ("Password did not
    // conform with policy: Password not long enough") and carries no secret.
    let cognito_says = |fallback: &str| message.unwrap_or(fallback).to_owned();
    match code {
        "UsernameExistsException" => Rejection::field(409, "username", "username is already taken"),
        "AliasExistsException" => Rejection::new(409, "an account with this email already exists"),
        "InvalidPasswordException" => Rejection::field(
            400,
            "password",
            cognito_says("password does not meet the policy"),
        ),
        "InvalidParameterException" => Rejection::new(400, cognito_says("invalid parameter")),
        // The same answer for a wrong code, an expired one and a user that does not exist.
        "CodeMismatchException"
        | "ExpiredCodeException"
        | "UserNotFoundException"
        | "NotAuthorizedException"
            if operation == Operation::ConfirmForgotPassword =>
        {
            Rejection::field(
                400,
                "code",
                "the code is wrong or has expired: ask for a new one with POST /forgot-password",
            )
        }
        // The same for ConfirmSignUp: a wrong code, an expired one (only a real user's expires), a
        // user that does not exist and one confirmed already; none of them tells who exists.
        "CodeMismatchException"
        | "ExpiredCodeException"
        | "UserNotFoundException"
        | "NotAuthorizedException"
            if operation == Operation::ConfirmSignUp =>
        {
            Rejection::field(
                400,
                "code",
                "the code is wrong or has expired: ask for a new one with POST /resend-code",
            )
        }
        "CodeMismatchException" | "ExpiredCodeException" => {
            Rejection::field(400, "code", "the code is wrong or has expired")
        }
        // Same answer whether the user exists or not: do not help enumerate accounts.
        "NotAuthorizedException" | "UserNotFoundException" => match operation {
            Operation::InitiateAuth => Rejection::new(401, "incorrect username or password"),
            Operation::Refresh => Rejection::field(
                401,
                "refreshToken",
                "the refresh token is not valid (expired, revoked, or signed out): sign in again",
            ),
            Operation::GlobalSignOut => Rejection::new(
                401,
                "the access token is not valid (expired, or signed out already)",
            ),
            Operation::SignUp
            | Operation::ConfirmSignUp
            | Operation::ConfirmForgotPassword
            | Operation::SendCode => Rejection::new(401, "not authorized"),
        },
        // A rotating client's refresh token used again after its grace period.
        "RefreshTokenReuseException" => Rejection::field(
            401,
            "refreshToken",
            "the refresh token was replaced by a newer one: send the newest, or sign in again",
        ),
        // A trigger refused (pre sign-up, say): its message is the app's own rule, for the user.
        "UserLambdaValidationException" => {
            Rejection::new(400, cognito_says("refused by the user pool's rules"))
        }
        "UserNotConfirmedException" => Rejection::new(
            403,
            "user is not confirmed: confirm the sign-up with the emailed code first",
        ),
        "PasswordResetRequiredException" => {
            Rejection::new(403, "a password reset is required for this user")
        }
        "TooManyRequestsException"
        | "LimitExceededException"
        | "TooManyFailedAttemptsException"
        | "ThrottlingException" => Rejection::new(429, "too many requests: retry later"),
        _ => Rejection::new(502, "the authentication service failed; retry later"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_codes_to_statuses() {
        let cases = [
            (Operation::SignUp, "UsernameExistsException", 409),
            (Operation::SignUp, "InvalidPasswordException", 400),
            (Operation::SignUp, "InvalidParameterException", 400),
            (Operation::ConfirmSignUp, "CodeMismatchException", 400),
            (Operation::ConfirmSignUp, "ExpiredCodeException", 400),
            (Operation::InitiateAuth, "NotAuthorizedException", 401),
            (Operation::InitiateAuth, "UserNotFoundException", 401),
            (Operation::InitiateAuth, "UserNotConfirmedException", 403),
            (Operation::SignUp, "TooManyRequestsException", 429),
            (Operation::ConfirmSignUp, "LimitExceededException", 429),
            (Operation::InitiateAuth, "InternalErrorException", 502),
            (Operation::InitiateAuth, "ResourceNotFoundException", 502),
        ];
        for (operation, code, status) in cases {
            let got = rejection_for_code(operation, code, Some("detail"));
            assert_eq!(got.status, status, "{operation:?} {code}");
        }
    }

    #[test]
    fn does_not_reveal_whether_a_user_exists() {
        let wrong_password = rejection_for_code(
            Operation::InitiateAuth,
            "NotAuthorizedException",
            Some("Incorrect username or password."),
        );
        let no_such_user = rejection_for_code(
            Operation::InitiateAuth,
            "UserNotFoundException",
            Some("User does not exist."),
        );
        assert_eq!(wrong_password, no_such_user);
    }

    #[test]
    fn hides_internals_of_unknown_errors() {
        let got = rejection_for_code(
            Operation::SignUp,
            "InternalErrorException",
            Some("stack trace at 0xdeadbeef"),
        );
        assert_eq!(
            got.message,
            "the authentication service failed; retry later"
        );
    }
}
