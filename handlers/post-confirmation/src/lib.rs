//! Cognito's post confirmation trigger: a user who has just confirmed their sign-up joins the
//! group named in `GROUP` (AdminAddUserToGroup on the pool the event comes from: the function's
//! role allows it on the pool's ARN, `${userPools.<pool>.arn}`). A confirmed forgotten-password
//! reset (the same trigger) changes nothing. A failure is the invocation's error: Cognito then
//! answers the confirmation with an error, and the user, confirmed already, is not in the group
//! until it is added by hand or confirms again (adding is idempotent).

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostConfirmation, CognitoEventUserPoolsPostConfirmationTriggerSource,
};
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use handler_common::{InitError, Refusal};

pub const GROUP_VAR: &str = "GROUP";

#[derive(Debug, Clone)]
pub struct Ctx {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub group: String,
}

impl Ctx {
    pub async fn from_env() -> Result<Ctx, InitError> {
        let group = match std::env::var(GROUP_VAR) {
            Ok(group) if !group.trim().is_empty() => group.trim().to_owned(),
            _ => {
                return Err(InitError(format!(
                    "environment variable `{GROUP_VAR}` is not set: set it to the group confirmed users join"
                )));
            }
        };
        Ok(Ctx {
            cognito: handler_common::cognito_client().await,
            group,
        })
    }
}

pub async fn handle(
    ctx: &Ctx,
    event: CognitoEventUserPoolsPostConfirmation,
) -> Result<CognitoEventUserPoolsPostConfirmation, Refusal> {
    let header = &event.cognito_event_user_pools_header;
    if header.trigger_source
        != Some(CognitoEventUserPoolsPostConfirmationTriggerSource::ConfirmSignUp)
    {
        return Ok(event);
    }
    let (Some(pool_id), Some(username)) = (&header.user_pool_id, &header.user_name) else {
        return Err(Refusal(
            "the event names no user pool or user: not an event from Cognito".to_owned(),
        ));
    };
    let added = ctx
        .cognito
        .admin_add_user_to_group()
        .user_pool_id(pool_id)
        .username(username)
        .group_name(&ctx.group)
        .send()
        .await;
    if let Err(err) = added {
        let code = err.code().unwrap_or("Unknown").to_owned();
        tracing::error!(code, group = %ctx.group, "AdminAddUserToGroup failed");
        return Err(Refusal(format!(
            "could not add the user to group `{}` ({code})",
            ctx.group
        )));
    }
    tracing::info!(group = %ctx.group, "user added to group");
    Ok(event)
}
