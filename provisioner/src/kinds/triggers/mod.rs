//! A user pool's Lambda triggers, the permission Cognito needs to invoke each trigger's function,
//! and the pool's groups. A node of its own, after the pool and the functions: a function may
//! refer to its pool (`${userPools.users.arn}`) and still be its trigger, with no cycle (under
//! CloudFormation the pool would need the function and the function the pool).
//!
//! The triggers are the pool's `LambdaConfig`, set by UpdateUserPool with every other setting sent
//! as DescribeUserPool answers it just before (UpdateUserPool resets what it is not sent). The
//! pool's own updates send the live `LambdaConfig` back (`user_pool::kept`), so changing the
//! pool's other settings never drops a trigger.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cognitoidentityprovider::types::LambdaConfigType;

use crate::aws::Target;
pub use crate::kinds::permission::COGNITO_PRINCIPAL;
use crate::kinds::permission::{ACTION, Grant, Grants};
use crate::plan::Shown;
use crate::spec::{Stack, Trigger};

/// The trigger functions of a pool, by trigger: each a Lambda function's ARN.
pub type Triggers = BTreeMap<Trigger, String>;

/// The triggers this tool manages in a live `LambdaConfig` (the custom senders are not: they need
/// a KMS key). Pre token generation is Cognito's V1 field, or the versioned one's ARN.
pub fn live(config: Option<&LambdaConfigType>) -> Triggers {
    let Some(config) = config else {
        return Triggers::new();
    };
    Trigger::ALL
        .iter()
        .filter_map(|trigger| {
            let arn = match trigger {
                Trigger::PreSignUp => config.pre_sign_up(),
                Trigger::PostConfirmation => config.post_confirmation(),
                Trigger::PreAuthentication => config.pre_authentication(),
                Trigger::PostAuthentication => config.post_authentication(),
                Trigger::PreTokenGeneration => config.pre_token_generation().or_else(|| {
                    config
                        .pre_token_generation_config()
                        .map(|versioned| versioned.lambda_arn())
                }),
                Trigger::CustomMessage => config.custom_message(),
                Trigger::DefineAuthChallenge => config.define_auth_challenge(),
                Trigger::CreateAuthChallenge => config.create_auth_challenge(),
                Trigger::VerifyAuthChallengeResponse => config.verify_auth_challenge_response(),
                Trigger::UserMigration => config.user_migration(),
            };
            arn.filter(|arn| !arn.is_empty())
                .map(|arn| (*trigger, arn.to_owned()))
        })
        .collect()
}

/// `live` with the managed triggers set to `triggers` (what this tool does not manage, the custom
/// senders and their KMS key, kept as they are).
pub fn config(live: Option<&LambdaConfigType>, triggers: &Triggers) -> LambdaConfigType {
    let kept = live
        .cloned()
        .unwrap_or_else(|| LambdaConfigType::builder().build());
    let get = |trigger: Trigger| triggers.get(&trigger).cloned();
    let live_pre_token = self::live(live).remove(&Trigger::PreTokenGeneration);
    let mut builder = LambdaConfigType::builder()
        .set_custom_sms_sender(kept.custom_sms_sender().cloned())
        .set_custom_email_sender(kept.custom_email_sender().cloned())
        .set_kms_key_id(kept.kms_key_id().map(str::to_owned))
        .set_pre_sign_up(get(Trigger::PreSignUp))
        .set_post_confirmation(get(Trigger::PostConfirmation))
        .set_pre_authentication(get(Trigger::PreAuthentication))
        .set_post_authentication(get(Trigger::PostAuthentication))
        .set_pre_token_generation(get(Trigger::PreTokenGeneration))
        .set_custom_message(get(Trigger::CustomMessage))
        .set_define_auth_challenge(get(Trigger::DefineAuthChallenge))
        .set_create_auth_challenge(get(Trigger::CreateAuthChallenge))
        .set_verify_auth_challenge_response(get(Trigger::VerifyAuthChallengeResponse))
        .set_user_migration(get(Trigger::UserMigration));
    // A versioned pre token generation config (V2, set elsewhere) is kept while its function is
    // still the trigger; otherwise the V1 field alone says it.
    if live_pre_token == get(Trigger::PreTokenGeneration) {
        builder =
            builder.set_pre_token_generation_config(kept.pre_token_generation_config().cloned());
    }
    builder.build()
}

/// The names of the stack's functions: those stack.yaml declares, and those carrying its tag that
/// it no longer declares (`leftovers`). Not every `<stack>-` name: stack `shop`'s are not stack
/// `shop-admin`'s.
pub fn stack_functions(stack: &Stack, leftovers: &[crate::base::Leftover]) -> BTreeSet<String> {
    stack
        .functions
        .values()
        .map(|f| f.physical_name.clone())
        .chain(
            leftovers
                .iter()
                .filter(|l| l.entry.kind == crate::plan::Kind::LambdaFunction)
                .map(|l| l.name.clone()),
        )
        .collect()
}

/// Whether `arn` is one of `ours` in `target`'s region and account.
pub fn is_the_stacks(ours: &BTreeSet<String>, target: &Target, arn: &str) -> bool {
    arn.strip_prefix(&target.lambda_arn(""))
        .is_some_and(|name| ours.contains(name))
}

/// What the pool's triggers should be: those stack.yaml declares; without `triggers:`, the live
/// ones that are not the stack's functions (`ours`; someone else's are kept).
pub fn desired(
    stack: &Stack,
    target: &Target,
    pool: &str,
    live: &Triggers,
    ours: &BTreeSet<String>,
) -> Triggers {
    match &stack.user_pools[pool].triggers {
        Some(declared) => declared
            .iter()
            .map(|(trigger, function)| {
                (
                    *trigger,
                    target.lambda_arn(&stack.functions[function].physical_name),
                )
            })
            .collect(),
        None => live
            .iter()
            .filter(|(_, arn)| !is_the_stacks(ours, target, arn))
            .map(|(trigger, arn)| (*trigger, arn.clone()))
            .collect(),
    }
}

/// The statement id of pool `pool`'s permission on a function: one per (function, pool), however
/// many of the pool's triggers the function is.
pub fn statement_id(pool: &str) -> String {
    format!("cognito-{pool}")
}

/// The statements pool `pool` (of ARN `pool_arn`) needs, by function (logical name).
pub fn grants(stack: &Stack, pool: &str, pool_arn: &str) -> BTreeMap<String, Grants> {
    let mut grants: BTreeMap<String, Grants> = stack
        .functions
        .keys()
        .map(|f| (f.clone(), Grants::new()))
        .collect();
    for function in stack.user_pools[pool]
        .triggers
        .iter()
        .flat_map(|t| t.values())
    {
        grants.entry(function.clone()).or_default().insert(
            statement_id(pool),
            Grant {
                principal: COGNITO_PRINCIPAL.to_owned(),
                action: ACTION.to_owned(),
                source_arn: pool_arn.to_owned(),
            },
        );
    }
    grants
}

/// Triggers as the plan shows them: `{preSignUp: auth-demo-pre-sign-up}`, a function of another
/// region or account by its ARN.
pub fn show(triggers: &Triggers, target: &Target) -> Shown {
    let prefix = target.lambda_arn("");
    let parts: Vec<String> = triggers
        .iter()
        .map(|(trigger, arn)| format!("{trigger}: {}", arn.strip_prefix(&prefix).unwrap_or(arn)))
        .collect();
    Shown(format!("{{{}}}", parts.join(", ")))
}

#[cfg(test)]
mod tests;
pub mod unit;
