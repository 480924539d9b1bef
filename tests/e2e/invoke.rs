//! `provisioner invoke`: one function's real handler run once on this machine, its environment
//! resolved against the deployed stack: the tutorial's sign-up answers 200 (the user exists in the
//! pool afterwards), a bad request 400 from the handler, an event the runtime cannot take a
//! function error (exit 1). The handler's AWS calls go through the tool and are checked against
//! its role: a call the role lacks is refused as AWS refuses it, with the statement to add.

use crate::support::{self, on_emulator};

#[test]
fn invoke_runs_one_handler_with_an_event_and_exits_1_on_a_function_error() {
    let stack = support::unique("invoke");
    let file = support::write_stack(&[]);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);

    // The tutorial's sign-up, as an API Gateway proxy event on the function's route.
    let username = support::unique("ada");
    let body = serde_json::json!({
        "username": username, "password": "Passw0rd!x", "email": "ada@example.com"
    })
    .to_string();
    let signed_up = on_emulator(&file, &stack, &["invoke", "sign-up", "--body", &body]);
    assert_eq!(signed_up.code, Some(0), "{}", signed_up.stderr);
    let response: serde_json::Value = serde_json::from_str(&signed_up.stdout).unwrap();
    assert_eq!(response["statusCode"], 200, "{response:#}");
    let answer: serde_json::Value =
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["userConfirmed"], false);
    // Its one call went through the role check: IAM does not authorize SignUp, nothing is missing.
    assert!(
        signed_up.stderr.contains(
            "AWS calls, checked against each function's role:\n  sign-up: cognito-idp:SignUp x1 (IAM does not authorize it)"
        ) && !signed_up.stderr.contains("refused here"),
        "{}",
        signed_up.stderr
    );
    assert!(
        !signed_up.stderr.contains("Passw0rd"),
        "no password in the log"
    );
    // The same user again: the pool said so, through the real handler.
    let again = on_emulator(&file, &stack, &["invoke", "sign-up", "--body", &body]);
    let response: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(response["statusCode"], 409, "{response:#}");

    // Behind the authorizer: without claims the handler refuses; `--claims` puts them where API
    // Gateway does, and the protected handler answers.
    let unclaimed = on_emulator(&file, &stack, &["invoke", "secret"]);
    let response: serde_json::Value = serde_json::from_str(&unclaimed.stdout).unwrap();
    assert_eq!(response["statusCode"], 401, "{response:#}");
    let claimed = on_emulator(
        &file,
        &stack,
        &[
            "invoke",
            "secret",
            "--claims",
            r#"{"cognito:username":"ada","email":"ada@example.com","token_use":"id"}"#,
        ],
    );
    assert_eq!(claimed.code, Some(0), "{}", claimed.stderr);
    let response: serde_json::Value = serde_json::from_str(&claimed.stdout).unwrap();
    let answer: serde_json::Value =
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            response["statusCode"].as_u64(),
            &answer["username"],
            &answer["email"]
        ),
        (
            Some(200),
            &serde_json::json!("ada"),
            &serde_json::json!("ada@example.com")
        ),
        "{response:#}"
    );
    let wrong = on_emulator(&file, &stack, &["invoke", "secret", "--claims", "[1]"]);
    assert_eq!(wrong.code, Some(64), "{}", wrong.stderr);

    // A bad request is the handler's 400, not a failure of the function.
    let bad = on_emulator(&file, &stack, &["invoke", "sign-up", "--body", "not json"]);
    assert_eq!(bad.code, Some(0), "{}", bad.stderr);
    let response: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(response["statusCode"], 400, "{response:#}");

    // An event the function cannot take: a function error, exit 1, named.
    let dir = support::temp_dir("events");
    let event = dir.join("empty.json");
    std::fs::write(&event, "{}").unwrap();
    let failed = on_emulator(
        &file,
        &stack,
        &["invoke", "sign-up", "--event", event.to_str().unwrap()],
    );
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("error: function `sign-up` failed")
            && failed.stdout.contains("errorType"),
        "{}{}",
        failed.stdout,
        failed.stderr
    );

    // Not JSON, or no such function: refused before anything is built.
    std::fs::write(&event, "{ nope").unwrap();
    let refused = on_emulator(
        &file,
        &stack,
        &["invoke", "sign-up", "--event", event.to_str().unwrap()],
    );
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("is not JSON") && !refused.stderr.contains("Building"),
        "{}",
        refused.stderr
    );
    let unknown = on_emulator(&file, &stack, &["invoke", "log-out"]);
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("no function `log-out`")
            && unknown.stderr.contains("confirm, forgot-password, refresh"),
        "{}",
        unknown.stderr
    );

    // stack.yaml grew a pool and a function that are not deployed yet: invoking a deployed
    // function needs only its own environment's references.
    let grown = support::write_stack(&[
        (
            "functions:\n",
            "functions:\n  audit:\n    crate: handlers/secret\n    environment:\n      POOL_ID: ${userPools.staff.id}\n",
        ),
        (
            "userPools:\n",
            "userPools:\n  staff:\n    selfSignUp: false\n",
        ),
    ]);
    let signed_up = on_emulator(&grown, &stack, &["invoke", "sign-up", "--body", "not json"]);
    assert_eq!(signed_up.code, Some(0), "{}", signed_up.stderr);
    assert!(signed_up.stdout.contains("400"), "{}", signed_up.stdout);
    // The new function's own reference is still named when it is the one invoked.
    let audit = on_emulator(&grown, &stack, &["invoke", "audit"]);
    assert_eq!(audit.code, Some(1), "{}", audit.stderr);
    assert!(
        audit.stderr.contains("userPools.staff.id"),
        "{}",
        audit.stderr
    );

    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// The probe: the echo fixture, which calls Cognito's AdminGetUser on the stack's pool when asked.
fn probe_stack(granted: &str) -> std::path::PathBuf {
    bounded_probe_stack(granted, None)
}

/// The probe's stack with `permissionsBoundary:` the AWS managed policy `boundary`.
fn bounded_probe_stack(granted: &str, boundary: Option<&str>) -> std::path::PathBuf {
    let probe = format!(
        "  secret:\n    crate: handlers/secret\n  probe:\n    crate: ../../../tests/fixtures/echo\n    environment:\n      USER_POOL_ID: ${{userPools.users.id}}\n    allow:\n      - actions: [{granted}]\n        resources: ${{userPools.users.arn}}\n"
    );
    let top = match boundary {
        Some(policy) => {
            format!("stack: auth-demo\npermissionsBoundary: arn:aws:iam::aws:policy/{policy}\n")
        }
        None => "stack: auth-demo\n".to_owned(),
    };
    support::write_stack(&[
        ("stack: auth-demo\n", &top),
        ("  secret:\n    crate: handlers/secret\n", &probe),
    ])
}

/// With `permissionsBoundary:`, a call the role allows is refused here when the boundary does
/// not allow it (as IAM refuses it), naming the boundary rather than a statement to add; a
/// boundary that allows it lets it through.
#[test]
fn a_call_outside_the_permissions_boundary_is_refused_locally() {
    let stack = support::unique("accessbound");
    let logs_only = "service-role/AWSLambdaBasicExecutionRole";
    let file = bounded_probe_stack("cognito-idp:AdminGetUser", Some(logs_only));
    let event = up_with_probe_event(&file, &stack);
    let event = event.as_str();

    let refused = on_emulator(&file, &stack, &["invoke", "probe", "--event", event]);
    assert_eq!(refused.code, Some(0), "{}", refused.stderr);
    assert_eq!(
        code_of(&refused),
        "AccessDeniedException",
        "{}",
        refused.stderr
    );
    let log = &refused.stderr;
    assert!(
        log.contains("probe: refused here as AWS would: cognito-idp:AdminGetUser on arn:aws:cognito-idp:")
            && log.contains(&format!(
                "(function `probe`'s role allows it, but the stack's permissions boundary `arn:aws:iam::aws:policy/{logs_only}` does not: no statement of it allows it)"
            ))
            && !log.contains("add to `functions.probe.allow`")
            && log.contains("  probe: cognito-idp:AdminGetUser x1 (1 refused)"),
        "{log}"
    );

    // A boundary that allows Cognito's actions: the call reaches the pool.
    let wider = bounded_probe_stack("cognito-idp:AdminGetUser", Some("AmazonCognitoPowerUser"));
    let passed = on_emulator(&wider, &stack, &["invoke", "probe", "--event", event]);
    assert_eq!(passed.code, Some(0), "{}", passed.stderr);
    assert_eq!(
        code_of(&passed),
        "UserNotFoundException",
        "{}",
        passed.stderr
    );
    assert!(!passed.stderr.contains("refused"), "{}", passed.stderr);

    let down = on_emulator(&wider, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// `up` of the probe's stack, and the event that makes the probe call AdminGetUser (its path).
fn up_with_probe_event(file: &std::path::Path, stack: &str) -> String {
    let up = on_emulator(file, stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let event = support::temp_dir("events").join("admin-get-user.json");
    std::fs::write(
        &event,
        r#"{"queryStringParameters": {"call": "admin-get-user", "username": "nobody"}}"#,
    )
    .unwrap();
    event.to_str().unwrap().to_owned()
}

fn code_of(ran: &support::Ran) -> String {
    let response: serde_json::Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}\n{}", ran.stdout, ran.stderr));
    let body: serde_json::Value =
        serde_json::from_str(response["body"].as_str().unwrap_or_default()).unwrap();
    body["code"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_handler_call_its_role_lacks_is_refused_locally_with_the_statement_to_add() {
    let stack = support::unique("access");
    let file = probe_stack("cognito-idp:ListUsers");
    let event = up_with_probe_event(&file, &stack);
    let event = event.as_str();

    // The role grants ListUsers, not AdminGetUser: refused here, as AWS would (the SDK's error
    // code is AWS's), the log names the action, the pool, and the statement to paste.
    let refused = on_emulator(&file, &stack, &["invoke", "probe", "--event", event]);
    assert_eq!(refused.code, Some(0), "{}", refused.stderr);
    assert_eq!(
        code_of(&refused),
        "AccessDeniedException",
        "{}",
        refused.stderr
    );
    let log = &refused.stderr;
    assert!(
        log.contains(
            "probe: refused here as AWS would: cognito-idp:AdminGetUser on arn:aws:cognito-idp:"
        ) && log.contains(":userpool/"),
        "{log}"
    );
    assert!(
        log.contains(
            "add to `functions.probe.allow` in stack.yaml:\n    - actions: [cognito-idp:AdminGetUser]\n      resources: [\"${userPools.users.arn}\"]"
        ),
        "{log}"
    );
    assert!(
        log.contains(
            "  probe: cognito-idp:AdminGetUser x1 (1 refused); granted, never used: cognito-idp:ListUsers"
        ),
        "{log}"
    );

    // With the statement added (in stack.yaml only: the check reads the role stack.yaml
    // declares, before it is deployed), the call goes through to the pool, which answers.
    let granted = probe_stack("cognito-idp:AdminGetUser");
    let passed = on_emulator(&granted, &stack, &["invoke", "probe", "--event", event]);
    assert_eq!(passed.code, Some(0), "{}", passed.stderr);
    assert_eq!(
        code_of(&passed),
        "UserNotFoundException",
        "{}",
        passed.stderr
    );
    assert!(
        !passed.stderr.contains("refused")
            && passed
                .stderr
                .contains("  probe: cognito-idp:AdminGetUser x1\n"),
        "{}",
        passed.stderr
    );

    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// A user of the stack's pool, signed in through its app client: their id token.
async fn signed_in_id_token(stack: &str, username: &str, email: &str) -> String {
    use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&support::sdk_config().await);
    let (pool, client) = support::stack_pool_and_client(&cognito, stack).await;
    let password = "Correct-Horse-9-battery";
    cognito
        .admin_create_user()
        .user_pool_id(&pool)
        .username(username)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(email)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username(username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    let signed_in = cognito
        .initiate_auth()
        .client_id(client)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap();
    signed_in
        .authentication_result()
        .and_then(|r| r.id_token())
        .expect("an id token")
        .to_owned()
}

/// `--token`: a sign-in's id token is checked as the route's authorizer checks it (against the
/// pool's keys), its claims reach the handler; a token the authorizer refuses runs nothing, and
/// the token is never printed.
#[test]
fn invoke_with_a_token_checks_it_as_the_routes_authorizer_would() {
    let stack = support::unique("invoketoken");
    let file = support::write_stack(&[]);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id_token = runtime.block_on(signed_in_id_token(&stack, "grace", "grace@example.com"));

    let ran = on_emulator(&file, &stack, &["invoke", "secret", "--token", &id_token]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let response: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let answer: serde_json::Value =
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (response["statusCode"].as_u64(), &answer["email"]),
        (Some(200), &serde_json::json!("grace@example.com")),
        "{response:#}"
    );
    assert!(
        !ran.stdout.contains(&id_token) && !ran.stderr.contains(&id_token),
        "the token is printed"
    );

    // Not a token the pool signed: refused as the authorizer refuses it; the function not run.
    let (head, rest) = id_token.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let forged = format!("{head}.{payload}.c2lnbmF0dXJl");
    let refused = on_emulator(&file, &stack, &["invoke", "secret", "--token", &forged]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "`--token`: authorizer `cognito` of GET /secret refuses it: the token's signature does not verify; API Gateway would answer 401 Unauthorized without running the function"
        ) && refused.stdout.is_empty()
            && !refused.stderr.contains(&forged),
        "{}",
        refused.stderr
    );
    // From stdin (out of the shell's history and the process list): the same answer.
    let token_file = support::temp_dir("token").join("id-token");
    std::fs::write(&token_file, format!("{id_token}\n")).unwrap();
    let piped = support::run(
        support::provisioner()
            .args(["invoke", "secret", "--token", "-", "--file"])
            .arg(&file)
            .args(["--stack", &stack])
            .env("AWS_ENDPOINT_URL", support::emulator())
            .stdin(std::fs::File::open(&token_file).unwrap()),
    );
    assert!(
        piped.code == Some(0) && piped.stdout.contains("grace@example.com"),
        "{}",
        piped.stderr
    );
    // A request API Gateway would send to another function: refused before anything is built.
    let elsewhere = on_emulator(
        &file,
        &stack,
        &[
            "invoke", "secret", "--method", "POST", "--path", "/sign-in", "--token", &id_token,
        ],
    );
    assert!(
        elsewhere.code == Some(1)
            && elsewhere.stderr.contains(
                "`--token`: API Gateway sends POST /sign-in to function `sign-in` (route POST /sign-in), not to `secret`"
            )
            && !elsewhere.stderr.contains("Building"),
        "{}",
        elsewhere.stderr
    );
    // A route without an authorizer: the header is passed on unchecked, with no claims.
    let open = on_emulator(&file, &stack, &["invoke", "sign-up", "--token", &id_token]);
    assert!(
        open.code == Some(0)
            && open.stderr.contains(
                "note: route POST /sign-up has no authorizer: the token goes in the `Authorization` header unchecked"
            ),
        "{}",
        open.stderr
    );

    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}
