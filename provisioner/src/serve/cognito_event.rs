//! The events Cognito sends a pool's Lambda triggers, as its developer guide documents them
//! (version 1): the header every trigger gets, and each trigger's `request` and `response`. Pure:
//! `invoke --trigger` and `serve`'s local triggers build them here.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::spec::Trigger;

/// Who the event is about, and where from.
#[derive(Debug, Clone)]
pub struct About<'a> {
    pub region: &'a str,
    pub pool_id: &'a str,
    pub client_id: &'a str,
    pub username: &'a str,
    /// The user's attributes (`email`, `sub`, ...).
    pub attributes: &'a BTreeMap<String, String>,
    pub client_metadata: &'a BTreeMap<String, String>,
}

/// The `triggerSource` of a trigger as the API call that runs it most often sets it.
pub fn source(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::PreSignUp => "PreSignUp_SignUp",
        Trigger::PostConfirmation => "PostConfirmation_ConfirmSignUp",
        Trigger::PreAuthentication => "PreAuthentication_Authentication",
        Trigger::PostAuthentication => "PostAuthentication_Authentication",
        Trigger::PreTokenGeneration => "TokenGeneration_Authentication",
        Trigger::CustomMessage => "CustomMessage_SignUp",
        Trigger::DefineAuthChallenge => "DefineAuthChallenge_Authentication",
        Trigger::CreateAuthChallenge => "CreateAuthChallenge_Authentication",
        Trigger::VerifyAuthChallengeResponse => "VerifyAuthChallengeResponse_Authentication",
        Trigger::UserMigration => "UserMigration_Authentication",
    }
}

/// The event for `trigger`, with an empty response for the function to fill in.
pub fn event(trigger: Trigger, about: &About) -> Value {
    let attributes = json!(about.attributes);
    let metadata = json!(about.client_metadata);
    let (request, response) = match trigger {
        Trigger::PreSignUp => (
            json!({ "userAttributes": attributes, "validationData": {}, "clientMetadata": metadata }),
            json!({ "autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false }),
        ),
        Trigger::PostConfirmation | Trigger::PostAuthentication => (
            json!({ "userAttributes": attributes, "clientMetadata": metadata, "newDeviceUsed": false }),
            json!({}),
        ),
        Trigger::PreAuthentication => (
            json!({ "userAttributes": attributes, "validationData": {}, "userNotFound": false }),
            json!({}),
        ),
        Trigger::PreTokenGeneration => (
            json!({
                "userAttributes": attributes,
                "groupConfiguration": { "groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null },
                "clientMetadata": metadata
            }),
            json!({ "claimsOverrideDetails": null }),
        ),
        Trigger::CustomMessage => (
            json!({
                "userAttributes": attributes,
                "codeParameter": "{####}",
                "usernameParameter": null,
                "clientMetadata": metadata
            }),
            json!({ "smsMessage": null, "emailMessage": null, "emailSubject": null }),
        ),
        Trigger::DefineAuthChallenge
        | Trigger::CreateAuthChallenge
        | Trigger::VerifyAuthChallengeResponse
        | Trigger::UserMigration => (
            json!({ "userAttributes": attributes, "clientMetadata": metadata }),
            json!({}),
        ),
    };
    json!({
        "version": "1",
        "triggerSource": source(trigger),
        "region": about.region,
        "userPoolId": about.pool_id,
        "userName": about.username,
        "callerContext": { "awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": about.client_id },
        "request": request,
        "response": response,
    })
}

/// What a trigger's error becomes for the caller of the API: Cognito's
/// `UserLambdaValidationException` with "<Trigger> failed with error <message>.".
pub fn refusal_message(trigger: Trigger, message: &str) -> String {
    let name = match trigger {
        Trigger::PreSignUp => "PreSignUp",
        Trigger::PostConfirmation => "PostConfirmation",
        Trigger::PreAuthentication => "PreAuthentication",
        Trigger::PostAuthentication => "PostAuthentication",
        Trigger::PreTokenGeneration => "PreTokenGeneration",
        Trigger::CustomMessage => "CustomMessage",
        Trigger::DefineAuthChallenge => "DefineAuthChallenge",
        Trigger::CreateAuthChallenge => "CreateAuthChallenge",
        Trigger::VerifyAuthChallengeResponse => "VerifyAuthChallengeResponse",
        Trigger::UserMigration => "UserMigration",
    };
    format!("{name} failed with error {message}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pre_sign_up_event_reads_as_the_rust_event_types_read_it() {
        let attributes = BTreeMap::from([("email".to_owned(), "ada@example.org".to_owned())]);
        let metadata = BTreeMap::new();
        let about = About {
            region: "us-east-1",
            pool_id: "us-east-1_abc",
            client_id: "client",
            username: "ada",
            attributes: &attributes,
            client_metadata: &metadata,
        };
        let value = event(Trigger::PreSignUp, &about);
        let parsed: aws_lambda_events::event::cognito::CognitoEventUserPoolsPreSignup =
            serde_json::from_value(value).unwrap();
        assert_eq!(
            parsed
                .request
                .user_attributes
                .get("email")
                .map(String::as_str),
            Some("ada@example.org")
        );
        assert_eq!(
            parsed.cognito_event_user_pools_header.user_name.as_deref(),
            Some("ada")
        );
        assert!(!parsed.response.auto_confirm_user);
        let value = event(Trigger::PostConfirmation, &about);
        let parsed: aws_lambda_events::event::cognito::CognitoEventUserPoolsPostConfirmation =
            serde_json::from_value(value).unwrap();
        assert_eq!(
            parsed.cognito_event_user_pools_header.trigger_source,
            Some(aws_lambda_events::event::cognito::CognitoEventUserPoolsPostConfirmationTriggerSource::ConfirmSignUp)
        );
    }
}
