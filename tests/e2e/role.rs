//! The IAM role kind against the emulator: created with its trust, managed and inline policies;
//! read back and compared as documents; drift repaired; foreign roles recognised; deleted twice.

use aws_sdk_iam::Client;
use provisioner::kinds::role::{self, BASIC_EXECUTION_POLICY, INLINE_POLICY_NAME, RoleSettings};
use provisioner::plan::Action;
use provisioner::spec::Function;
use serde_json::json;

use crate::support;

const POOL_ARN: &str = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Test123";

/// The repository's `sign-up` function (with a statement of its own: `SIGN_UP_GRANT`) for a stack
/// of this test's own, and its desired role.
fn sign_up(stack: &str) -> (Function, RoleSettings) {
    let function =
        support::repo_stack_with(stack, &[support::SIGN_UP_GRANT]).functions["sign-up"].clone();
    let inline = role::inline_policy(&function.allow, |_| Some(POOL_ARN.to_owned())).unwrap();
    (function, RoleSettings::desired(inline, "aws"))
}

async fn iam() -> Client {
    Client::new(&support::sdk_config().await)
}

#[tokio::test]
async fn a_created_role_reads_back_equal_and_drift_is_repaired() {
    let (iam, stack) = (iam().await, support::unique("role"));
    let (function, desired) = sign_up(&stack);
    let role_name = function.role_name(support::REGION);
    assert_eq!(role_name, support::role_name(&stack, "sign-up"));
    assert_eq!(role::find(&iam, &role_name).await.unwrap(), None);

    let arn = role::create(
        &iam,
        (&stack, support::REGION),
        &role_name,
        &function.description,
        &desired,
    )
    .await
    .unwrap();
    assert_eq!(arn, format!("arn:aws:iam::123456789012:role/{}", role_name));
    let live = role::find(&iam, &role_name)
        .await
        .unwrap()
        .expect("the created role");
    assert!(live.owned_by(&stack, support::REGION));
    assert!(!live.owned_by(&stack, "eu-west-1"));
    assert_eq!(
        live.settings, desired,
        "the role as read back (decoded, normalized) equals the desired one"
    );
    assert_eq!(
        live.settings.managed_policies.iter().collect::<Vec<_>>(),
        [BASIC_EXECUTION_POLICY]
    );
    assert_eq!(
        live.settings.inline_policies[INLINE_POLICY_NAME]["Statement"],
        json!([{ "Effect": "Allow", "Action": ["cognito-idp:AdminGetUser"], "Resource": [POOL_ARN] }]),
        "exactly the action the function calls, on exactly the pool"
    );
    assert_eq!(role::diff(&live.settings, &desired).0, Action::NoOp);

    // Behind our back: a wider statement, a second inline policy, the logging policy detached.
    let widened = json!({"Version": "2012-10-17", "Statement": [
        { "Effect": "Allow", "Action": "cognito-idp:SignUp", "Resource": POOL_ARN },
        { "Effect": "Allow", "Action": "s3:*", "Resource": "*" }
    ]});
    iam.put_role_policy()
        .role_name(&role_name)
        .policy_name(INLINE_POLICY_NAME)
        .policy_document(widened.to_string())
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(&role_name)
        .policy_name("extra")
        .policy_document(widened.to_string())
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name(&role_name)
        .policy_arn(BASIC_EXECUTION_POLICY)
        .send()
        .await
        .unwrap();
    let drifted = role::find(&iam, &role_name).await.unwrap().unwrap();
    match role::diff(&drifted.settings, &desired).0 {
        Action::Update { changes } => {
            // Each statement added or removed on a line of its own.
            let lines: Vec<String> = changes
                .iter()
                .map(|c| format!("{}: {} -> {}", c.field, c.live, c.desired))
                .collect();
            assert_eq!(
                lines,
                [
                    "managedPolicies: [] -> [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]".to_owned(),
                    format!("inlinePolicy: extra: Allow cognito-idp:SignUp on {POOL_ARN} -> (removed)"),
                    "inlinePolicy: extra: Allow s3:* on * -> (removed)".to_owned(),
                    format!("inlinePolicy: provisioner-allow: Allow cognito-idp:SignUp on {POOL_ARN} -> (removed)"),
                    "inlinePolicy: provisioner-allow: Allow s3:* on * -> (removed)".to_owned(),
                    format!("inlinePolicy: (absent) -> provisioner-allow: Allow cognito-idp:AdminGetUser on {POOL_ARN}"),
                ]
            );
        }
        other => panic!("expected an update, got {other:?}"),
    }

    role::update(
        &iam,
        &role_name,
        &role::diff(&drifted.settings, &desired).1,
        &desired,
    )
    .await
    .unwrap();
    let repaired = role::find(&iam, &role_name).await.unwrap().unwrap();
    assert_eq!(role::diff(&repaired.settings, &desired).0, Action::NoOp);

    // Delete reads the role afresh: a policy attached since it was observed goes too.
    iam.attach_role_policy()
        .role_name(&role_name)
        .policy_arn("arn:aws:iam::aws:policy/AWSLambdaExecute")
        .send()
        .await
        .unwrap();
    role::delete(&iam, &repaired.name).await.unwrap();
    assert_eq!(role::find(&iam, &role_name).await.unwrap(), None);
    role::delete(&iam, &repaired.name)
        .await
        .expect("deleting a role that is gone is done, not an error");
}

#[tokio::test]
async fn a_same_named_role_without_our_tag_is_foreign() {
    let (iam, stack) = (iam().await, support::unique("role-foreign"));
    let (function, _) = sign_up(&stack);
    let role_name = function.role_name(support::REGION);
    iam.create_role()
        .role_name(&role_name)
        .assume_role_policy_document(role::lambda_trust_policy().to_string())
        .send()
        .await
        .unwrap();
    let found = role::find(&iam, &role_name)
        .await
        .unwrap()
        .expect("the foreign role");
    assert!(!found.owned_by(&stack, support::REGION));
    assert_eq!(found.owner, None);
}
