use std::collections::BTreeMap;

use super::*;

fn scope() -> Scope {
    Scope {
        partition: "aws".to_owned(),
        region: "eu-west-1".to_owned(),
        account: "123456789012".to_owned(),
    }
}

const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261205/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().unwrap());
    }
    map
}

fn read(
    method: &str,
    path: &str,
    query: Option<&str>,
    pairs: &[(&'static str, &str)],
    body: &str,
) -> Needed {
    let headers = headers(pairs);
    needed(
        &Incoming {
            method,
            path,
            query,
            headers: &headers,
            body: body.as_bytes(),
        },
        &scope(),
    )
    .unwrap()
}

fn policy(grants: &[(&[&str], &[&str])]) -> RolePolicy {
    RolePolicy {
        function: "probe".to_owned(),
        principal: "arn:aws:sts::123456789012:assumed-role/euw1-s-probe/s-probe".to_owned(),
        grants: std::iter::once(basic_execution_grant())
            .chain(
                grants
                    .iter()
                    .enumerate()
                    .map(|(i, (actions, resources))| Grant {
                        statement: Some(i),
                        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                        resources: resources.iter().map(|r| (*r).to_owned()).collect(),
                    }),
            )
            .collect(),
        boundary: None,
    }
}

const POOL: &str = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc";

#[test]
fn requests_are_read_for_the_action_and_resource_iam_evaluates() {
    // Cognito, signed: the pool's ARN from its id, the region from the signature.
    let admin = read(
        "POST",
        "/",
        None,
        &[
            ("authorization", SIGNED),
            (
                "x-amz-target",
                "AWSCognitoIdentityProviderService.AdminGetUser",
            ),
        ],
        r#"{"UserPoolId":"eu-west-1_abc","Username":"ada"}"#,
    );
    assert_eq!(admin.action, "cognito-idp:AdminGetUser");
    assert_eq!(admin.resources, vec![POOL.to_owned()]);
    assert!(admin.by_iam && admin.signed);
    assert_eq!(admin.protocol, Protocol::Json);
    assert_eq!(admin.region.as_deref(), Some("eu-west-1"));
}

#[test]
fn cognitos_public_operations_are_not_authorized_by_iam() {
    // SignUp goes unsigned, and IAM does not authorize it.
    let sign_up = read(
        "POST",
        "/",
        None,
        &[("x-amz-target", "AWSCognitoIdentityProviderService.SignUp")],
        r#"{"ClientId":"c","Username":"ada"}"#,
    );
    assert_eq!(sign_up.action, "cognito-idp:SignUp");
    assert!(!sign_up.by_iam && !sign_up.signed);
}

#[test]
fn json_and_query_calls_name_their_tables_queues_and_topics() {
    // DynamoDB: one table, or every table of a batch.
    let dynamo = |target: &str, body: &str| {
        read(
            "POST",
            "/",
            None,
            &[
                ("authorization", &SIGNED.replace("cognito-idp", "dynamodb")),
                ("x-amz-target", target),
            ],
            body,
        )
    };
    assert_eq!(
        dynamo("DynamoDB_20120810.GetItem", r#"{"TableName":"t"}"#).resources,
        vec!["arn:aws:dynamodb:eu-west-1:123456789012:table/t"]
    );
    assert_eq!(
        dynamo(
            "DynamoDB_20120810.BatchWriteItem",
            r#"{"RequestItems":{"a":[],"b":[]}}"#
        )
        .resources
        .len(),
        2
    );

    // SNS (query protocol): the topic.
    let publish = read(
        "POST",
        "/",
        None,
        &[
            ("authorization", &SIGNED.replace("cognito-idp", "sns")),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ],
        "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A1%3At&Message=hi",
    );
    assert_eq!(publish.action, "sns:Publish");
    assert_eq!(publish.resources, vec!["arn:aws:sns:eu-west-1:1:t"]);
    assert_eq!(publish.protocol, Protocol::Query);
}

#[test]
fn rest_calls_name_their_objects_and_functions_or_are_not_checked() {
    // S3 and Lambda (REST): the object, the function.
    let get = read(
        "GET",
        "/bucket/a/b.txt",
        Some("x-id=GetObject"),
        &[("authorization", &SIGNED.replace("cognito-idp", "s3"))],
        "",
    );
    assert_eq!(get.action, "s3:GetObject");
    assert_eq!(get.resources, vec!["arn:aws:s3:::bucket/a/b.txt"]);
    assert_eq!(get.protocol, Protocol::RestXml);
    let invoke = read(
        "POST",
        "/2015-03-31/functions/other/invocations",
        None,
        &[("authorization", &SIGNED.replace("cognito-idp", "lambda"))],
        "{}",
    );
    assert_eq!(invoke.action, "lambda:InvokeFunction");
    assert_eq!(
        invoke.resources,
        vec!["arn:aws:lambda:eu-west-1:123456789012:function:other"]
    );

    // A REST operation the tool cannot read: no operation, so not checked.
    let unknown = read(
        "GET",
        "/2015-03-31/event-source-mappings",
        None,
        &[("authorization", &SIGNED.replace("cognito-idp", "lambda"))],
        "",
    );
    assert_eq!(unknown.operation, "");
    assert_eq!(policy(&[]).decide(&unknown), Decision::Unchecked);

    // Unsigned, with no target the tool knows: an error, not a guess.
    let none = http::HeaderMap::new();
    assert!(
        needed(
            &Incoming {
                method: "GET",
                path: "/",
                query: None,
                headers: &none,
                body: b"",
            },
            &scope()
        )
        .is_err()
    );
}

#[test]
fn calls_are_decided_by_action_and_resource_as_iam_does() {
    let admin = |pool: &str| Needed {
        service: "cognito-idp".to_owned(),
        operation: "AdminGetUser".to_owned(),
        action: "cognito-idp:AdminGetUser".to_owned(),
        resources: vec![pool.to_owned()],
        by_iam: true,
        protocol: Protocol::Json,
        region: None,
        signed: true,
    };
    let denied = Decision::Denied {
        resource: POOL.to_owned(),
    };
    // Nothing granted: refused, naming the resource.
    assert_eq!(policy(&[]).decide(&admin(POOL)), denied);
    // The action on another pool: refused.
    let other = POOL.replace("abc", "xyz");
    assert_eq!(
        policy(&[(&["cognito-idp:AdminGetUser"], &[other.as_str()])]).decide(&admin(POOL)),
        denied
    );
    // The action (any case, or by a wildcard) on this pool: allowed.
    for action in [
        "cognito-idp:AdminGetUser",
        "cognito-idp:admin*",
        "cognito-idp:*",
    ] {
        assert_eq!(
            policy(&[(&[action], &[POOL])]).decide(&admin(POOL)),
            Decision::Allowed,
            "{action}"
        );
    }
    // The managed policy's logs actions are granted on any resource.
    let logs = Needed {
        service: "logs".to_owned(),
        operation: "PutLogEvents".to_owned(),
        action: "logs:PutLogEvents".to_owned(),
        resources: Vec::new(),
        ..admin(POOL)
    };
    assert_eq!(policy(&[]).decide(&logs), Decision::ActionOnly);
    // IAM does not authorize it: passes whatever the role.
    let public = Needed {
        by_iam: false,
        ..admin(POOL)
    };
    assert_eq!(policy(&[]).decide(&public), Decision::NotByIam);
    assert_eq!(
        policy(&[]).refusal("cognito-idp:AdminGetUser", POOL, None),
        format!(
            "User: arn:aws:sts::123456789012:assumed-role/euw1-s-probe/s-probe is not authorized to perform: cognito-idp:AdminGetUser on resource: {POOL} because no identity-based policy allows the cognito-idp:AdminGetUser action"
        )
    );
}

/// With a permissions boundary, a call the role allows passes only if the boundary allows it
/// too; a call the role does not allow is the role's refusal (the statement to add).
#[test]
fn a_permissions_boundary_refuses_what_it_does_not_allow() {
    let admin = Needed {
        service: "cognito-idp".to_owned(),
        operation: "AdminGetUser".to_owned(),
        action: "cognito-idp:AdminGetUser".to_owned(),
        resources: vec![POOL.to_owned()],
        by_iam: true,
        protocol: Protocol::Json,
        region: None,
        signed: true,
    };
    let bounded = |actions: &str| {
        RolePolicy {
        boundary: Some(
            Boundary::parse(
                "arn:aws:iam::123456789012:policy/b",
                &serde_json::json!({"Statement": {"Effect": "Allow", "Action": actions, "Resource": "*"}}),
            )
            .unwrap(),
        ),
        ..policy(&[(&["cognito-idp:AdminGetUser"], &[POOL])])
    }
    };
    assert_eq!(bounded("cognito-idp:*").decide(&admin), Decision::Allowed);
    let refused = Decision::Bounded {
        resource: POOL.to_owned(),
        by: BoundaryRefusal::NoAllow,
    };
    assert_eq!(bounded("logs:*").decide(&admin), refused);
    // The role's own refusal comes first: a statement to add is what the user can do.
    let list = Needed {
        action: "cognito-idp:ListUsers".to_owned(),
        ..admin.clone()
    };
    assert_eq!(
        bounded("logs:*").decide(&list),
        Decision::Denied {
            resource: POOL.to_owned()
        }
    );
    // The managed policy's logs actions (no resource read): the boundary decides by action.
    let logs = Needed {
        action: "logs:PutLogEvents".to_owned(),
        resources: Vec::new(),
        ..admin.clone()
    };
    assert_eq!(bounded("logs:*").decide(&logs), Decision::ActionOnly);
    assert_eq!(
        bounded("cognito-idp:*").decide(&logs),
        Decision::Bounded {
            resource: "*".to_owned(),
            by: BoundaryRefusal::NoAllow
        }
    );
    assert!(
        bounded("logs:*")
            .refusal(
                "cognito-idp:AdminGetUser",
                POOL,
                Some(BoundaryRefusal::NoAllow)
            )
            .ends_with(
                "because no permissions boundary allows the cognito-idp:AdminGetUser action"
            )
    );
    // IAM's words for a boundary's explicit deny.
    assert_eq!(
        bounded("logs:*").refusal(
            "cognito-idp:AdminGetUser",
            POOL,
            Some(BoundaryRefusal::ExplicitDeny)
        ),
        format!(
            "User: arn:aws:sts::123456789012:assumed-role/euw1-s-probe/s-probe is not authorized to perform: cognito-idp:AdminGetUser on resource: {POOL} with an explicit deny in a permissions boundary"
        )
    );
}

#[test]
fn the_statement_to_add_names_the_stacks_resource_by_its_reference() {
    let references = BTreeMap::from([(POOL.to_owned(), "userPools.users.arn".to_owned())]);
    assert_eq!(
        statement_to_add("probe", "cognito-idp:AdminGetUser", POOL, &references),
        "add to `functions.probe.allow` in stack.yaml:\n    - actions: [cognito-idp:AdminGetUser]\n      resources: [\"${userPools.users.arn}\"]"
    );
    assert!(
        statement_to_add(
            "probe",
            "sns:Publish",
            "arn:aws:sns:eu-west-1:1:t",
            &references
        )
        .ends_with("resources: [\"arn:aws:sns:eu-west-1:1:t\"]")
    );
}

#[test]
fn usage_reports_grants_never_used_and_grants_iam_never_checks() {
    let role = policy(&[
        (
            &["cognito-idp:AdminGetUser", "cognito-idp:ListUsers"],
            &[POOL],
        ),
        (&["cognito-idp:SignUp"], &[POOL]),
    ]);
    let call = |operation: &str, by_iam: bool| Needed {
        service: "cognito-idp".to_owned(),
        operation: operation.to_owned(),
        action: format!("cognito-idp:{operation}"),
        resources: vec![POOL.to_owned()],
        by_iam,
        protocol: Protocol::Json,
        region: None,
        signed: true,
    };
    let mut usage = Usage::default();
    for needed in [call("AdminGetUser", true), call("SignUp", false)] {
        usage.record(&needed, &role.decide(&needed));
    }
    assert_eq!(usage.never_used(&role), vec!["cognito-idp:ListUsers"]);
    assert_eq!(
        usage.granted_without_need(&role),
        vec!["cognito-idp:SignUp"]
    );
    assert_eq!(usage.used["cognito-idp:AdminGetUser"].calls, 1);
    assert!(usage.used["cognito-idp:SignUp"].not_by_iam);

    // A grant only ever refused (the wrong resource) is not a use.
    let narrow = policy(&[(
        &["cognito-idp:AdminGetUser"],
        &["arn:aws:cognito-idp:eu-west-1:1:userpool/other"],
    )]);
    let mut usage = Usage::default();
    let needed = call("AdminGetUser", true);
    usage.record(&needed, &narrow.decide(&needed));
    assert_eq!(usage.used["cognito-idp:AdminGetUser"].refused, 1);
    assert_eq!(usage.never_used(&narrow), vec!["cognito-idp:AdminGetUser"]);
}

#[test]
fn globs_match_as_iam_does() {
    assert!(glob(
        "arn:aws:iam::1:role/use1-s-*",
        "arn:aws:iam::1:role/use1-s-fn"
    ));
    assert!(!glob(
        "arn:aws:iam::1:role/use1-s-*",
        "arn:aws:iam::1:role/euw1-s-fn"
    ));
    assert!(glob("*", "anything"));
    assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
    assert!(glob("lambda:get*", "lambda:getfunction"));
}

#[test]
fn iam_prefixes_public_calls_and_narrower_resources_are_read_as_iam_evaluates_them() {
    let signed = |service: &str| SIGNED.replace("cognito-idp", service);
    // CloudWatch signs as `monitoring`, IAM calls it `cloudwatch`; RPC v2 CBOR names the operation
    // in the path.
    let metric = read(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/PutMetricData",
        None,
        &[
            ("authorization", &signed("monitoring")),
            ("smithy-protocol", "rpc-v2-cbor"),
        ],
        "",
    );
    assert_eq!(metric.action, "cloudwatch:PutMetricData");
    assert_eq!(metric.protocol, Protocol::Cbor);
    // Who-am-I is no IAM question.
    let whoami = read(
        "POST",
        "/",
        None,
        &[
            ("authorization", &signed("sts")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    assert!(!whoami.by_iam);
    assert_eq!(policy(&[]).decide(&whoami), Decision::NotByIam);
    // A query of an index is authorized on the index; an alias on the qualified function.
    let query = read(
        "POST",
        "/",
        None,
        &[
            ("authorization", &signed("dynamodb")),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ],
        r#"{"TableName":"t","IndexName":"by-email"}"#,
    );
    assert_eq!(
        query.resources,
        vec!["arn:aws:dynamodb:eu-west-1:123456789012:table/t/index/by-email"]
    );
    let alias = read(
        "POST",
        "/2015-03-31/functions/other/invocations",
        Some("Qualifier=live"),
        &[("authorization", &signed("lambda"))],
        "{}",
    );
    assert_eq!(
        alias.resources,
        vec!["arn:aws:lambda:eu-west-1:123456789012:function:other:live"]
    );
    // An S3 subresource is another action: not read, so not checked (never a wrong verdict).
    let acl = read(
        "PUT",
        "/bucket/key",
        Some("acl"),
        &[("authorization", &signed("s3"))],
        "",
    );
    assert_eq!(acl.operation, "");
    assert_eq!(policy(&[]).decide(&acl), Decision::Unchecked);
}
