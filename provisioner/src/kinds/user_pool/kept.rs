//! What UpdateUserPool would reset and stack.yaml does not manage. UpdateUserPool sets every
//! setting it is not sent back to its default: MFA, the Lambda triggers, the email and SMS
//! configuration, the add-ons (advanced security), device tracking, attribute-update settings,
//! the messages, the sign-in policy, the password history and temporary password validity, the
//! invitation message, the tier, keys and issuer. A pool's update sends what DescribeUserPool
//! answered for each of them, unchanged, so that changing a setting stack.yaml manages never
//! removes one someone else set (a trigger, MFA, a custom email sender).

use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, DefaultEmailOptionType, PasswordPolicyType, UserPoolPolicyType,
    UserPoolType, VerificationMessageTemplateType,
};

/// The pool as DescribeUserPool answered it (compared as a whole).
#[derive(Debug, Clone, PartialEq)]
pub struct Described(pub Box<UserPoolType>);

// The SDK's type compares field by field; none of its fields is a float.
impl Eq for Described {}

/// `request` with the settings stack.yaml does not manage as `described` has them.
pub fn keep(
    request: UpdateUserPoolFluentBuilder,
    described: Option<&Described>,
) -> UpdateUserPoolFluentBuilder {
    let Some(Described(pool)) = described else {
        return request;
    };
    request
        .set_pool_name(pool.name().map(str::to_owned))
        .set_lambda_config(pool.lambda_config().cloned())
        .set_mfa_configuration(pool.mfa_configuration().cloned())
        .set_sms_authentication_message(pool.sms_authentication_message().map(str::to_owned))
        .set_user_attribute_update_settings(pool.user_attribute_update_settings().cloned())
        .set_device_configuration(pool.device_configuration().cloned())
        .set_email_configuration(pool.email_configuration().cloned())
        .set_sms_configuration(pool.sms_configuration().cloned())
        .set_user_pool_add_ons(pool.user_pool_add_ons().cloned())
        .set_user_pool_tier(pool.user_pool_tier().cloned())
        .set_key_configuration(pool.key_configuration().cloned())
        .set_issuer_configuration(pool.issuer_configuration().cloned())
        .set_acr_configuration(pool.acr_configuration().cloned())
}

/// The password policy stack.yaml gives, with the live sign-in policy, password history and
/// temporary password validity.
pub fn policies(ours: UserPoolPolicyType, described: Option<&Described>) -> UserPoolPolicyType {
    let Some(live) = described.and_then(|d| d.0.policies()) else {
        return ours;
    };
    let password = ours.password_policy().map(|p| {
        let live = live.password_policy();
        PasswordPolicyType::builder()
            .set_minimum_length(p.minimum_length())
            .require_uppercase(p.require_uppercase())
            .require_lowercase(p.require_lowercase())
            .require_numbers(p.require_numbers())
            .require_symbols(p.require_symbols())
            .set_password_history_size(live.and_then(PasswordPolicyType::password_history_size))
            .set_temporary_password_validity_days(
                live.map(PasswordPolicyType::temporary_password_validity_days),
            )
            .build()
    });
    UserPoolPolicyType::builder()
        .set_password_policy(password)
        .set_sign_in_policy(live.sign_in_policy().cloned())
        .build()
}

/// Who may sign up, as stack.yaml says, with the live invitation message.
pub fn admin_create_user_config(
    ours: AdminCreateUserConfigType,
    described: Option<&Described>,
) -> AdminCreateUserConfigType {
    let live = described.and_then(|d| d.0.admin_create_user_config());
    AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(ours.allow_admin_create_user_only())
        .set_invite_message_template(live.and_then(|l| l.invite_message_template().cloned()))
        .build()
}

/// Sign-ups confirmed with a code (as the tutorial's /confirm expects), with the live messages.
pub fn verification_message_template(
    described: Option<&Described>,
) -> VerificationMessageTemplateType {
    let live = described.and_then(|d| d.0.verification_message_template());
    VerificationMessageTemplateType::builder()
        .default_email_option(DefaultEmailOptionType::ConfirmWithCode)
        .set_email_message(live.and_then(|l| l.email_message().map(str::to_owned)))
        .set_email_subject(live.and_then(|l| l.email_subject().map(str::to_owned)))
        .set_sms_message(live.and_then(|l| l.sms_message().map(str::to_owned)))
        .set_email_message_by_link(live.and_then(|l| l.email_message_by_link().map(str::to_owned)))
        .set_email_subject_by_link(live.and_then(|l| l.email_subject_by_link().map(str::to_owned)))
        .build()
}
