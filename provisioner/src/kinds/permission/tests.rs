use super::*;

fn route(method: &str, path: &str) -> Route {
    Route {
        scopes: Vec::new(),
        path: path.to_owned(),
        method: method.to_owned(),
        function: "f".to_owned(),
        authorizer: None,
    }
}

#[test]
fn source_arns_cover_every_stage_and_variable_segments() {
    let target = Target {
        region: "eu-west-1".to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::123456789012:user/u".to_owned(),
    };
    let arn = |method, path| source_arn(&target, "a1b2c3", &route(method, path));
    assert_eq!(
        arn("POST", "/sign-up"),
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/*/POST/sign-up"
    );
    assert_eq!(
        arn("GET", "/users/{id}/items"),
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/*/GET/users/*/items"
    );
    assert_eq!(
        arn("ANY", "/"),
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/*/*/"
    );
    let china = Target {
        region: "cn-north-1".to_owned(),
        partition: "aws-cn".to_owned(),
        ..target.clone()
    };
    assert_eq!(
        source_arn(&china, "a1b2c3", &route("POST", "/sign-up")),
        "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/*/POST/sign-up"
    );
}

#[test]
fn statement_ids_are_readable_valid_and_distinct() {
    let a = statement_id(&route("GET", "/a-b"));
    let b = statement_id(&route("GET", "/a/b"));
    assert!(a.starts_with("apigw-GET-a-b-") && b.starts_with("apigw-GET-a-b-"));
    assert_ne!(a, b);
    assert!(a.len() <= 100 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    assert_eq!(a, statement_id(&route("GET", "/a-b")), "deterministic");
}

#[test]
fn reads_lambda_resource_policies() {
    let text = r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"apigw-POST-sign-up-0a1b2c3d","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc/*/POST/sign-up"}}}]}"#;
    let grants = parse_policy(text).unwrap();
    assert_eq!(
        grants["apigw-POST-sign-up-0a1b2c3d"],
        Grant {
            principal: PRINCIPAL.to_owned(),
            action: ACTION.to_owned(),
            source_arn: "arn:aws:execute-api:us-east-1:123456789012:abc/*/POST/sign-up".to_owned()
        }
    );
}

#[test]
fn a_missing_an_extra_or_a_changed_statement_is_an_update() {
    let target = Target {
        region: "us-east-1".to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::123456789012:user/u".to_owned(),
    };
    let desired = desired([&route("POST", "/sign-up")], &target, "abc");
    assert_eq!(
        diff(&desired, &desired),
        (Action::NoOp, PermissionChanges::new())
    );
    // Statements missing from a live function are shown one by one (drift, or a new route).
    assert!(
        matches!(diff(&Grants::new(), &desired).0, Action::Update { changes } if changes.len() == 1)
    );
    let id = desired.keys().next().unwrap().clone();
    assert_eq!(
        diff(&Grants::new(), &desired).1,
        PermissionChanges::from([PermissionChange::Add(id.clone())])
    );
    let mut extra = desired.clone();
    extra.insert(
        "someone-else".to_owned(),
        Grant {
            principal: "s3.amazonaws.com".to_owned(),
            action: ACTION.to_owned(),
            source_arn: String::new(),
        },
    );
    assert!(matches!(diff(&extra, &desired).0, Action::Update { changes } if changes.len() == 1));
    assert_eq!(
        diff(&extra, &desired).1,
        PermissionChanges::from([PermissionChange::Remove("someone-else".to_owned())])
    );
    // A changed statement (another API id) is removed and added again under its id.
    let moved = super::desired([&route("POST", "/sign-up")], &target, "other");
    assert_eq!(
        diff(&moved, &desired).1,
        PermissionChanges::from([
            PermissionChange::Remove(id.clone()),
            PermissionChange::Add(id)
        ])
    );
}

/// Replay of apply: a statement someone added is removed, the missing one is added (with its
/// SourceArn), the one in place is left alone; nothing else is called.
#[tokio::test]
async fn an_update_removes_the_extra_statement_and_adds_the_missing_one() {
    use aws_sdk_lambda::operation::{
        add_permission::AddPermissionOutput, remove_permission::RemovePermissionOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let target = Target {
        region: "us-east-1".to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::123456789012:user/u".to_owned(),
    };
    let desired = desired(
        [&route("POST", "/sign-up"), &route("GET", "/users/{id}")],
        &target,
        "abc",
    );
    let (kept, missing) = {
        let mut ids = desired.keys();
        (ids.next().cloned().unwrap(), ids.next().cloned().unwrap())
    };
    let mut live: Grants = desired
        .iter()
        .filter(|(id, _)| **id == kept)
        .map(|(id, grant)| (id.clone(), grant.clone()))
        .collect();
    live.insert(
        "someone-else".to_owned(),
        Grant {
            principal: "s3.amazonaws.com".to_owned(),
            action: ACTION.to_owned(),
            source_arn: String::new(),
        },
    );
    let wanted = desired[&missing].clone();
    let remove = mock!(Client::remove_permission)
        .match_requests(|r| {
            r.function_name() == Some("f") && r.statement_id() == Some("someone-else")
        })
        .then_output(|| RemovePermissionOutput::builder().build());
    let missing_id = missing.clone();
    let add = mock!(Client::add_permission)
        .match_requests(move |r| {
            r.function_name() == Some("f")
                && r.statement_id() == Some(missing_id.as_str())
                && r.principal() == Some("apigateway.amazonaws.com")
                && r.action() == Some(ACTION)
                && r.source_arn() == Some(wanted.source_arn.as_str())
        })
        .then_output(|| AddPermissionOutput::builder().build());
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&remove, &add]);
    update(&client, "f", &diff(&live, &desired).1, &desired)
        .await
        .expect("exactly these calls");
    assert_eq!((remove.num_calls(), add.num_calls()), (1, 1));
}

/// Replay: AddPermission answers "already exists" (an SDK retry of a call whose answer was lost
/// made it): the statement in the policy is the one wanted, so the update is done, after one
/// read of the policy and without burning retries; a different statement under that id is an
/// error naming the function.
#[tokio::test]
async fn a_statement_already_there_as_wanted_is_success_and_otherwise_an_error() {
    use crate::replay::{json_error, json_ok, quick};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let route = route("GET", "/secret");
    let target = Target {
        region: "us-east-1".to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::123456789012:user/u".to_owned(),
    };
    let desired = super::desired([&route], &target, "abc");
    let id = statement_id(&route);
    let exists_id = id.clone();
    let exists = move || {
        let id = &exists_id;
        json_error(
            409,
            "ResourceConflictException",
            &format!(
                "The statement id ({id}) provided already exists. Please provide a new statement id, or remove the existing statement."
            ),
        )
    };
    let policy_id = id.clone();
    let policy_with = move |source_arn: &str| {
        let id = &policy_id;
        let statement = serde_json::json!({
            "Sid": id, "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "Condition": {"ArnLike": {"AWS:SourceArn": source_arn}},
        });
        json_ok(serde_json::json!({
            "Policy": serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string(),
            "RevisionId": "r"
        }))
    };
    let changes = diff(&Grants::new(), &desired).1;
    let wanted = desired[&id].source_arn.clone();
    for (in_policy, ok) in [
        (wanted.clone(), true),
        ("arn:aws:execute-api:other".to_owned(), false),
    ] {
        let add = mock!(aws_sdk_lambda::Client::add_permission)
            .sequence()
            .http_response(exists.clone())
            .build();
        let policy_with = policy_with.clone();
        let read = mock!(aws_sdk_lambda::Client::get_policy)
            .sequence()
            .http_response(move || policy_with(&in_policy))
            .build();
        let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&add, &read], |c| c
            .retry_config(quick())
            .retry_classifier(crate::retry::lambda()));
        let result = update(&client, "f", &changes, &desired).await;
        assert_eq!(result.is_ok(), ok, "{result:?}");
        if let Err(err) = result {
            assert!(err.to_string().contains("Lambda function `f`"), "{err}");
        }
        assert_eq!((add.num_calls(), read.num_calls()), (1, 1));
    }
}

/// Around a redeploy: what the new stage invokes through goes in before it moves (a changed
/// statement removed and added again), what only the old stage invoked through goes after.
#[test]
fn additions_go_before_the_stage_moves_and_removals_after() {
    use super::unit::PermissionPlan;
    let plan = PermissionPlan {
        live: Default::default(),
        desired: Default::default(),
        action: crate::plan::Action::NoOp,
        changes: PermissionChanges::from([
            PermissionChange::Add("new".to_owned()),
            PermissionChange::Remove("changed".to_owned()),
            PermissionChange::Add("changed".to_owned()),
            PermissionChange::Remove("gone".to_owned()),
        ]),
    };
    let (before, after) = plan.split();
    assert_eq!(
        before.changes,
        PermissionChanges::from([
            PermissionChange::Add("new".to_owned()),
            PermissionChange::Remove("changed".to_owned()),
            PermissionChange::Add("changed".to_owned()),
        ])
    );
    assert_eq!(
        after.changes,
        PermissionChanges::from([PermissionChange::Remove("gone".to_owned())])
    );
}
