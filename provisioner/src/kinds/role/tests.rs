use super::*;
use crate::spec::{Part, Template};

fn statement(actions: &[&str], pool: &str) -> Statement {
    Statement {
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        resources: vec![Template {
            parts: vec![Part::Ref(Reference::UserPoolArn {
                pool: pool.to_owned(),
            })],
        }],
    }
}

#[test]
fn documents_that_iam_considers_equal_compare_equal() {
    let written = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "cognito-idp:SignUp", "Resource": ["b", "a"]}});
    let answered = json!({"Statement": [{"Resource": ["a", "b"], "Action": ["cognito-idp:SignUp"], "Effect": "Allow"}], "Version": "2012-10-17"});
    assert_eq!(normalize_policy(&written), normalize_policy(&answered));
    // Two statements whose keys come in other orders sort the same way, and print the same.
    let one = json!({"Statement": [
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "z"},
        {"Resource": "y", "Action": "cognito-idp:AdminGetUser", "Effect": "Allow"}
    ]});
    let other = json!({"Statement": [
        {"Action": "cognito-idp:AdminGetUser", "Effect": "Allow", "Resource": "y"},
        {"Resource": "z", "Effect": "Allow", "Action": "logs:PutLogEvents"}
    ]});
    assert_eq!(
        normalize_policy(&one).to_string(),
        normalize_policy(&other).to_string()
    );
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]});
    assert_eq!(
        normalize_policy(&trust),
        normalize_policy(&lambda_trust_policy())
    );
}

#[test]
fn the_inline_policy_names_exact_actions_on_resolved_arns() {
    let arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc";
    let doc = inline_policy(&[statement(&["cognito-idp:SignUp"], "users")], |_| {
        Some(arn.to_owned())
    })
    .unwrap();
    assert_eq!(
        doc,
        Some(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["cognito-idp:SignUp"], "Resource": [arn]}]})
        )
    );
    assert_eq!(inline_policy(&[], |_| None).unwrap(), None);
    assert_eq!(
        inline_policy(&[statement(&["cognito-idp:SignUp"], "users")], |_| None),
        Err(Unresolved(Reference::UserPoolArn {
            pool: "users".to_owned()
        }))
    );
}

#[test]
fn an_added_statement_or_a_detached_policy_is_an_update() {
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cognito-idp:SignUp", "Resource": "arn:x"}]});
    let desired = RoleSettings::desired(Some(doc.clone()), "aws");
    assert_eq!(diff(&desired, &desired), (Action::NoOp, RoleChanges::new()));

    let mut widened = desired.clone();
    let mut more = doc;
    more["Statement"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}));
    widened
        .inline_policies
        .insert(INLINE_POLICY_NAME.to_owned(), normalize_policy(&more));
    assert!(
        matches!(diff(&widened, &desired).0, Action::Update { changes } if changes.len() == 1 && changes[0].field == "inlinePolicy")
    );
    assert_eq!(
        diff(&widened, &desired).1,
        RoleChanges::from([RoleChange::PutInline(INLINE_POLICY_NAME.to_owned())])
    );

    let mut detached = desired.clone();
    detached.managed_policies.clear();
    assert!(
        matches!(diff(&detached, &desired).0, Action::Update { changes } if changes[0].field == "managedPolicies")
    );
    assert_eq!(
        diff(&detached, &desired).1,
        RoleChanges::from([RoleChange::Attach(basic_execution_policy("aws"))])
    );
    // A trust policy changed behind our back is put back, and only it.
    let mut trusting = desired.clone();
    trusting.trust_policy = json!({"Version": "2012-10-17", "Statement": []});
    assert_eq!(
        diff(&trusting, &desired).1,
        RoleChanges::from([RoleChange::TrustPolicy])
    );
}

/// An action added beside another in one statement shows as that action alone, on one line;
/// a resource removed likewise. The call is still one PutRolePolicy of the whole document.
#[test]
fn a_statement_changed_in_one_list_shows_only_what_changed() {
    let pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc";
    let doc = |actions: &[&str], resources: &[&str]| {
        normalize_policy(&json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": resources}
        ]}))
    };
    let role = |doc: Value| RoleSettings::desired(Some(doc), "aws");
    let live = role(doc(&["cognito-idp:AdminGetUser"], &[pool]));
    let desired = role(doc(
        &[
            "cognito-idp:AdminGetUser",
            "cognito-idp:AdminUpdateUserAttributes",
        ],
        &[pool],
    ));
    let (Action::Update { changes }, calls) = diff(&live, &desired) else {
        panic!("an update");
    };
    let lines: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c.live.as_str(), c.desired.as_str()))
        .collect();
    assert_eq!(
        lines,
        [(
            "(absent)",
            format!("provisioner-allow: Allow cognito-idp:AdminUpdateUserAttributes on {pool}")
                .as_str()
        )]
    );
    assert_eq!(
        calls,
        RoleChanges::from([RoleChange::PutInline(INLINE_POLICY_NAME.to_owned())])
    );

    let narrowed = role(doc(&["cognito-idp:AdminGetUser"], &[pool, "arn:aws:x"]));
    let Action::Update { changes } = diff(&narrowed, &live).0 else {
        panic!("an update");
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].live.as_str(), changes[0].desired.as_str()),
        (
            "provisioner-allow: Allow cognito-idp:AdminGetUser on arn:aws:x",
            "(removed)"
        )
    );
}

#[test]
fn a_new_role_shows_its_policies_one_statement_per_line() {
    let inline = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["cognito-idp:AdminGetUser"], "Resource": ["arn:aws:cognito-idp:us-east-1:1:userpool/p"]},
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": ["arn:aws:dynamodb:us-east-1:1:table/t"]}
    ]});
    let shown: Vec<String> = RoleSettings::desired(Some(inline), "aws")
        .attributes()
        .iter()
        .map(|a| format!("{}: {}", a.field, a.value))
        .collect();
    assert_eq!(
        shown,
        [
            "managedPolicies: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "allow: cognito-idp:AdminGetUser on arn:aws:cognito-idp:us-east-1:1:userpool/p",
            "allow: dynamodb:GetItem, dynamodb:PutItem on arn:aws:dynamodb:us-east-1:1:table/t",
        ]
    );
}

/// Replay of apply: drift (the logging policy detached, an extra inline policy, ours widened)
/// is repaired with exactly AttachRolePolicy, PutRolePolicy of ours and DeleteRolePolicy of the
/// extra one; the unchanged trust policy is not sent.
#[tokio::test]
async fn an_update_repairs_exactly_what_drifted() {
    use aws_sdk_iam::operation::{
        attach_role_policy::AttachRolePolicyOutput, delete_role_policy::DeleteRolePolicyOutput,
        put_role_policy::PutRolePolicyOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let ours = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["cognito-idp:AdminGetUser"], "Resource": ["arn:aws:cognito-idp:us-east-1:1:userpool/p"]}
    ]});
    let desired = RoleSettings::desired(Some(ours.clone()), "aws");
    let widened = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}
    ]});
    let live = RoleSettings {
        trust_policy: desired.trust_policy.clone(),
        managed_policies: BTreeSet::new(),
        inline_policies: std::collections::BTreeMap::from([
            (INLINE_POLICY_NAME.to_owned(), normalize_policy(&widened)),
            ("extra".to_owned(), normalize_policy(&widened)),
        ]),
        permissions_boundary: None,
        tags: Default::default(),
    };
    let attach = mock!(Client::attach_role_policy)
        .match_requests(|r| {
            r.role_name() == Some("r")
                && r.policy_arn() == Some(basic_execution_policy("aws").as_str())
        })
        .then_output(|| AttachRolePolicyOutput::builder().build());
    let expected_doc = normalize_policy(&ours);
    let put = mock!(Client::put_role_policy)
        .match_requests(move |r| {
            r.policy_name() == Some(INLINE_POLICY_NAME)
                && r.policy_document()
                    .and_then(|d| serde_json::from_str::<Value>(d).ok())
                    .is_some_and(|d| normalize_policy(&d) == expected_doc)
        })
        .then_output(|| PutRolePolicyOutput::builder().build());
    let delete = mock!(Client::delete_role_policy)
        .match_requests(|r| r.policy_name() == Some("extra"))
        .then_output(|| DeleteRolePolicyOutput::builder().build());
    let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&attach, &put, &delete]);
    update(&client, "r", &diff(&live, &desired).1, &desired)
        .await
        .expect("exactly these calls");
    assert_eq!(
        (attach.num_calls(), put.num_calls(), delete.num_calls()),
        (1, 1, 1)
    );
}

/// A permissions boundary set, changed or removed is one typed change, shown as its own field.
#[test]
fn a_permissions_boundary_is_diffed_and_set_in_place() {
    let unbounded = RoleSettings::desired(None, "aws");
    let bounded = unbounded
        .clone()
        .bounded_by(Some("arn:aws:iam::aws:policy/PowerUserAccess".to_owned()));
    let (action, changes) = diff(&unbounded, &bounded);
    assert_eq!(changes, RoleChanges::from([RoleChange::Boundary]));
    let Action::Update { changes } = action else {
        panic!("an update");
    };
    assert_eq!(
        (
            changes[0].field,
            changes[0].live.as_str(),
            changes[0].desired.as_str()
        ),
        (
            "permissionsBoundary",
            "(none)",
            "arn:aws:iam::aws:policy/PowerUserAccess"
        )
    );
    // Without a boundary in stack.yaml, one found on the role is not managed: it stays.
    assert_eq!(
        diff(&bounded, &unbounded),
        (Action::NoOp, RoleChanges::new())
    );
    assert_eq!(diff(&bounded, &bounded).0, Action::NoOp);
}
