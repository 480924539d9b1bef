//! Cognito triggers on the emulator (`triggers.yaml`): set once the pool and the functions exist,
//! with Cognito's invoke permission on each function scoped to the pool; kept through a change of
//! the pool's other settings; one removed is cleared with its permission; and a pool that `down`
//! keeps is left with no trigger on the functions it deletes.

use aws_sdk_cognitoidentityprovider::types::LambdaConfigType;

use crate::support;

async fn pool(stack: &str) -> (String, String, Option<LambdaConfigType>, Vec<String>) {
    pool_named(&format!("{stack}-users")).await
}

async fn pool_named(name: &str) -> (String, String, Option<LambdaConfigType>, Vec<String>) {
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&support::sdk_config().await);
    let id = support::pool_id(&cognito, name)
        .await
        .expect("the stack's pool");
    let described = cognito
        .describe_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let groups = cognito
        .list_groups()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap()
        .groups()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_owned))
        .collect();
    (
        id,
        described.arn().unwrap().to_owned(),
        described.lambda_config().cloned(),
        groups,
    )
}

/// The statements on `function` that let Cognito invoke it, as (principal, source ARN).
async fn cognito_statements(stack: &str, function: &str) -> Vec<(String, String)> {
    let lambda = aws_sdk_lambda::Client::new(&support::sdk_config().await);
    let Ok(policy) = lambda
        .get_policy()
        .function_name(format!("{stack}-{function}"))
        .send()
        .await
    else {
        return Vec::new();
    };
    let doc: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Principal"]["Service"] == "cognito-idp.amazonaws.com")
        .map(|s| {
            (
                s["Action"].as_str().unwrap_or_default().to_owned(),
                s["Condition"]["ArnLike"]["AWS:SourceArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn arn_of(stack: &str, function: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{stack}-{function}")
}

#[tokio::test(flavor = "multi_thread")]
async fn triggers_are_set_after_their_functions_kept_cleared_and_left_off_a_kept_pool() {
    let stack = support::unique("trig");
    let file = support::write_stack_from("triggers.yaml", &[]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let (_, pool_arn, config, groups) = pool(&stack).await;
    let config = config.expect("a LambdaConfig");
    assert_eq!(
        (config.pre_sign_up(), config.post_confirmation()),
        (
            Some(arn_of(&stack, "pre-sign-up").as_str()),
            Some(arn_of(&stack, "post-confirmation").as_str())
        )
    );
    assert_eq!(groups, ["members"]);
    for function in ["pre-sign-up", "post-confirmation"] {
        assert_eq!(
            cognito_statements(&stack, function).await,
            [("lambda:InvokeFunction".to_owned(), pool_arn.clone())],
            "{function}'s permission for Cognito, scoped to the pool"
        );
    }
    assert_eq!(cognito_statements(&stack, "sign-up").await, []);

    // Nothing to do: no write.
    let again = support::json_from(&file, &stack, &["up", "--yes", "--json"], 0);
    assert_eq!(again["calls"]["writes"], 0, "{}", again["calls"]);

    // The pool's other settings change (UpdateUserPool, which on AWS resets what it is not
    // sent): the triggers stay.
    let stricter = support::write_stack_from(
        "triggers.yaml",
        &[(
            "    removal: retain\n",
            "    removal: retain\n    passwordPolicy: { minLength: 12 }\n",
        )],
    );
    let up = support::on_emulator(&stricter, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    assert!(
        up.stdout.contains("passwordPolicy") || up.stderr.contains("userPools.users"),
        "{}",
        up.stdout
    );
    let (_, _, config, _) = pool(&stack).await;
    assert_eq!(
        config.as_ref().and_then(|c| c.pre_sign_up()),
        Some(arn_of(&stack, "pre-sign-up").as_str()),
        "a password-policy change keeps the triggers"
    );

    // One trigger removed: cleared, with its function's permission.
    let one = support::write_stack_from(
        "triggers.yaml",
        &[("      postConfirmation: post-confirmation\n", "")],
    );
    let diff = support::on_emulator(&one, &stack, &["diff"]);
    assert_eq!(diff.code, Some(2), "{}", diff.stderr);
    assert!(
        diff.stdout.contains("userPools.users.triggers")
            && diff.stdout.contains(&format!("postConfirmation: {stack}-post-confirmation}} -> {{preSignUp: {stack}-pre-sign-up}}")),
        "{}",
        diff.stdout
    );
    let up = support::on_emulator(&one, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let (_, _, config, _) = pool(&stack).await;
    let config = config.unwrap();
    assert_eq!(
        (config.pre_sign_up().is_some(), config.post_confirmation()),
        (true, None)
    );
    assert_eq!(cognito_statements(&stack, "post-confirmation").await, []);
    assert_eq!(cognito_statements(&stack, "pre-sign-up").await.len(), 1);

    // A second pool with a trigger, then no longer in stack.yaml: kept (it holds users), and its
    // trigger on the stack's function cleared, with the function's permission for it.
    let two = support::write_stack_from(
        "triggers.yaml",
        &[
            ("      postConfirmation: post-confirmation\n", ""),
            (
                "functions:\n",
                "  extra:\n    triggers: { preSignUp: pre-sign-up }\n\nfunctions:\n",
            ),
        ],
    );
    let up = support::on_emulator(&two, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    assert_eq!(cognito_statements(&stack, "pre-sign-up").await.len(), 2);
    let diff = support::on_emulator(&one, &stack, &["diff"]);
    assert!(
        diff.stdout.contains("userPools.extra.triggers"),
        "the leftover pool's triggers are cleared: {}",
        diff.stdout
    );
    let up = support::on_emulator(&one, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let (_, _, extra, _) = pool_named(&format!("{stack}-extra")).await;
    assert_eq!(
        extra.as_ref().and_then(|c| c.pre_sign_up()),
        None,
        "{extra:?}"
    );
    assert_eq!(cognito_statements(&stack, "pre-sign-up").await.len(), 1);

    // `down` keeps the pool: it points at no deleted function after.
    let down = support::on_emulator(&one, &stack, &["down", "--yes"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    assert!(
        down.stdout.contains("userPools.users.triggers")
            || down.stderr.contains("userPools.users.triggers"),
        "down says it clears the triggers:\n{}\n{}",
        down.stdout,
        down.stderr
    );
    let (_, _, config, _) = pool(&stack).await;
    assert_eq!(
        config.as_ref().and_then(|c| c.pre_sign_up()),
        None,
        "{config:?}"
    );

    let down = support::on_emulator(&one, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// Locally: `invoke --trigger` builds Cognito's event; `serve` runs the pool's pre sign-up and
/// post-confirmation functions around the handlers' calls to the emulator (which runs none): a
/// refused domain answers 400 with the trigger's message, an auto-confirmed one signs in without
/// a code, and a user who confirms (or is auto-confirmed) is in the group after.
#[tokio::test(flavor = "multi_thread")]
async fn invoke_builds_the_trigger_event_and_serve_runs_the_triggers() {
    use crate::serve::{Served, http};
    use serde_json::json;
    let stack = support::unique("trigserve");
    let file = support::write_stack_from("triggers.yaml", &[]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);

    let invoked = support::on_emulator(
        &file,
        &stack,
        &[
            "invoke",
            "pre-sign-up",
            "--trigger",
            "preSignUp",
            "--username",
            "ada",
            "--email",
            "ada@example.org",
        ],
    );
    assert_eq!(invoked.code, Some(0), "{}", invoked.stderr);
    let answer: serde_json::Value = serde_json::from_str(&invoked.stdout).unwrap();
    assert_eq!(
        (
            &answer["triggerSource"],
            &answer["response"]["autoConfirmUser"]
        ),
        (&json!("PreSignUp_SignUp"), &json!(true)),
        "{answer:#}"
    );
    let refused = support::on_emulator(
        &file,
        &stack,
        &[
            "invoke",
            "pre-sign-up",
            "--trigger",
            "preSignUp",
            "--email",
            "eve@evil.test",
        ],
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("sign-up is open to email addresses at example.com, example.org only"),
        "{}",
        refused.stderr
    );

    let serve = tokio::task::spawn_blocking({
        let (file, stack) = (file.clone(), stack.clone());
        move || Served::start_with(&file, &stack, &[], &[])
    })
    .await
    .unwrap();
    let base = serve.base.clone();
    let (eve, ada, bob) = (
        support::unique("eve"),
        support::unique("ada"),
        support::unique("bob"),
    );
    let checked = tokio::task::spawn_blocking({
        let (eve, ada, bob) = (eve.clone(), ada.clone(), bob.clone());
        move || {
            let post = |path: &str, body: serde_json::Value| {
                let answer = http(
                    "POST",
                    &format!("{base}{path}"),
                    &[("content-type", "application/json")],
                    Some(body.to_string().as_bytes()),
                );
                let body: serde_json::Value =
                    serde_json::from_slice(&answer.body).unwrap_or_default();
                (answer.status, body)
            };
            let password = "Passw0rd!x";
            let (status, body) = post(
                "/sign-up",
                json!({"username": eve, "password": password, "email": "eve@evil.test"}),
            );
            assert_eq!(status, 400, "{body}");
            assert_eq!(
                body["message"],
                "PreSignUp failed with error sign-up is open to email addresses at example.com, example.org only."
            );
            // Auto-confirmed: signs in at once, no code.
            let (status, body) = post(
                "/sign-up",
                json!({"username": ada, "password": password, "email": "ada@example.org"}),
            );
            assert_eq!((status, &body["userConfirmed"]), (200, &json!(true)), "{body}");
            let (status, body) = post("/sign-in", json!({"username": ada, "password": password}));
            assert_eq!(status, 200, "{body}");
            // Confirmed with a code: joins the group.
            let (status, body) = post(
                "/sign-up",
                json!({"username": bob, "password": password, "email": "bob@example.com"}),
            );
            assert_eq!((status, &body["userConfirmed"]), (200, &json!(false)), "{body}");
            let (status, body) = post("/confirm", json!({"username": bob, "code": "123456"}));
            assert_eq!(status, 200, "{body}");
        }
    })
    .await;
    let log = serve.log();
    drop(serve);
    checked.unwrap_or_else(|err| panic!("{err}\nserve's log:\n{log}"));
    assert!(
        log.contains("serve runs the pools' preSignUp and postConfirmation"),
        "{log}"
    );

    let (pool_id, _, _, _) = pool(&stack).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&support::sdk_config().await);
    let groups_of = |user: String| {
        let (cognito, pool_id) = (cognito.clone(), pool_id.clone());
        async move {
            cognito
                .admin_list_groups_for_user()
                .user_pool_id(pool_id)
                .username(user)
                .send()
                .await
                .unwrap()
                .groups()
                .iter()
                .filter_map(|g| g.group_name().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        groups_of(bob).await,
        ["members"],
        "confirmed with a code: in the group"
    );
    assert_eq!(
        groups_of(ada).await,
        ["members"],
        "auto-confirmed: post confirmation runs for it too"
    );
    let down = support::on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}
