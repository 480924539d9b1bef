use aws_sdk_cognitoidentityprovider::types::{
    CustomEmailLambdaVersionConfigType, CustomEmailSenderLambdaVersionType, LambdaConfigType,
};

use super::*;

fn target() -> Target {
    Target {
        region: "us-east-1".to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::123456789012:user/ci".to_owned(),
    }
}

#[test]
fn a_config_sets_the_managed_triggers_and_keeps_the_custom_senders() {
    let sender = CustomEmailLambdaVersionConfigType::builder()
        .lambda_version(CustomEmailSenderLambdaVersionType::V10)
        .lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:mailer")
        .build()
        .unwrap();
    let live = LambdaConfigType::builder()
        .pre_sign_up("arn:aws:lambda:us-east-1:123456789012:function:old")
        .custom_message("arn:aws:lambda:us-east-1:123456789012:function:text")
        .custom_email_sender(sender.clone())
        .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/k")
        .build();
    let wanted = Triggers::from([(
        Trigger::PostConfirmation,
        "arn:aws:lambda:us-east-1:123456789012:function:auth-demo-post".to_owned(),
    )]);
    let config = config(Some(&live), &wanted);
    assert_eq!(super::live(Some(&config)), wanted, "only what is wanted");
    assert_eq!(config.custom_email_sender(), Some(&sender));
    assert_eq!(
        config.kms_key_id(),
        Some("arn:aws:kms:us-east-1:123456789012:key/k")
    );
}

#[test]
fn without_triggers_declared_only_the_stacks_own_functions_are_dropped() {
    let stack = crate::spec::testing::repo_stack();
    let target = target();
    let foreign = "arn:aws:lambda:us-east-1:123456789012:function:someone-else".to_owned();
    let ours = target.lambda_arn("auth-demo-old-trigger");
    let live = Triggers::from([
        (Trigger::PreSignUp, ours.clone()),
        (Trigger::CustomMessage, foreign.clone()),
    ]);
    let leftover = crate::base::Leftover::named(
        "functions.old-trigger".to_owned(),
        crate::plan::Kind::LambdaFunction,
        "auth-demo-old-trigger".to_owned(),
    );
    let stacks = stack_functions(&stack, &[leftover]);
    assert!(is_the_stacks(&stacks, &target, &ours));
    assert!(is_the_stacks(
        &stacks,
        &target,
        &target.lambda_arn("auth-demo-secret")
    ));
    assert!(!is_the_stacks(&stacks, &target, &foreign));
    // Another stack whose name starts with this one's.
    assert!(!is_the_stacks(
        &stacks,
        &target,
        &target.lambda_arn("auth-demo-admin-secret")
    ));
    assert!(!is_the_stacks(
        &stacks,
        &target,
        "arn:aws:lambda:eu-west-1:123456789012:function:auth-demo-old-trigger"
    ));
    assert_eq!(
        desired(&stack, &target, "users", &live, &stacks),
        Triggers::from([(Trigger::CustomMessage, foreign)])
    );
    assert_eq!(
        show(&live, &target).0,
        "{preSignUp: auth-demo-old-trigger, customMessage: someone-else}"
    );
}
