//! The rules, one case each: a small edit of the repository's stack.yaml and the exact message,
//! checked through one helper without starting the binary (the e2e suite keeps a few cases end to
//! end). `{file}` stands for the file's name in messages, `{root}` for the workspace root.

use crate::spec;
use crate::spec::testing::{base, repo, workspace};

/// `base()` with each `(from, to)` replaced once (each must be there).
pub(super) fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = base();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "stack.yaml no longer contains {from:?}: update this test"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

/// `base()` with an `allow` statement for sign-up (at lines 32-34).
fn with_allow(action: &str, resource: &str) -> String {
    let env = "      USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}\n";
    edited(&[(
        env,
        &format!("{env}    allow:\n      - actions: [{action}]\n        resources: {resource}\n"),
    )])
}

/// Each case's `(rule, stack text, expected)`: what loading the text says, checked as a table.
pub(super) fn check_table(cases: Vec<(&str, String, &str)>) {
    crate::testing::table(
        cases
            .into_iter()
            .map(|(rule, text, expected)| (rule, (text, expected))),
        |(text, expected)| crate::testing::same(&check(text), expected),
    );
}

/// What loading `text` says: the error, or the warnings (empty when the stack is valid).
pub(super) fn check(text: &str) -> String {
    let root = repo();
    let said = match spec::load(text.as_bytes(), "{file}", &root, &workspace(), None) {
        Ok(loaded) => loaded
            .warnings
            .iter()
            .map(|w| w.render("{file}"))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(err) => err.to_string(),
    };
    said.replace(&root.display().to_string(), "{root}")
}

#[test]
fn the_repository_stack_is_valid_without_a_warning() {
    assert_eq!(check(&base()), "");
}

/// `*` is the only resource IAM takes for actions it authorizes on no resource type.
#[test]
fn a_resource_less_action_is_granted_on_star() {
    assert_eq!(
        check(&with_allow(
            "xray:PutTraceSegments, cloudwatch:PutMetricData",
            "\"*\""
        )),
        ""
    );
    assert_eq!(
        check(&with_allow(
            "xray:PutTraceSegments, cognito-idp:AdminGetUser",
            "\"*\""
        )),
        "`{file}` is not a valid stack: 1 error\n{file}:34:20: `functions.sign-up.allow.0.resources`: `*` grants `cognito-idp:AdminGetUser` on every resource; roles here get exact resources only (`*` is accepted for actions IAM authorizes on no resource, such as `xray:PutTraceSegments` and `cloudwatch:PutMetricData`)\n  hint: give the actions IAM authorizes on no resource a statement of their own with `*`, and name the resource for the others, for example `${userPools.users.arn}`"
    );
}

/// The file as a whole: YAML syntax, unknown, missing and mistyped fields, the stack's name, and
/// several errors reported at once.
#[test]
fn syntax_and_structure_rules_name_the_file_position_field_and_fix() {
    let cases: Vec<(&str, String, &str)> = vec![
        // (rule, stack text, expected stderr)
        (
            "empty file",
            String::new(),
            "`{file}` is not a valid stack: 1 error\n{file}:1:1: the file is empty\n  hint: start with `stack: <name>`; see README.md for the format",
        ),
        (
            "YAML syntax",
            edited(&[("  sign-in:\n", "  sign-in\n")]),
            "`{file}` is not a valid stack: 1 error\n{file}:37:10: could not find expected ':', while scanning a simple key\n  hint: check the indentation and the `key: value` syntax here",
        ),
        (
            "unknown key",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    memroy: 256\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:42:5: `functions.secret`: unknown field `memroy`\n  hint: did you mean `memory`?",
        ),
        (
            "missing field",
            edited(&[("    crate: handlers/secret\n", "    timeout: 5\n")]),
            "`{file}` is not a valid stack: 1 error\n{file}:41:5: `functions.secret`: missing field `crate`",
        ),
        (
            "wrong type",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    timeout: ten\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:42:14: `functions.secret.timeout`: expected a whole number, got string \"ten\"",
        ),
        (
            "boolean expected",
            edited(&[("selfSignUp: true", "selfSignUp: maybe")]),
            "`{file}` is not a valid stack: 1 error\n{file}:8:17: `userPools.users.selfSignUp`: expected `true` or `false`, got string \"maybe\"",
        ),
        (
            "stack name",
            edited(&[("stack: auth-demo", "stack: auth demo")]),
            "`{file}` is not a valid stack: 1 error\n{file}:4:8: `stack`: `auth demo` is not a valid stack name\n  hint: use letters, digits and `-`, starting with a letter: it prefixes every resource's name",
        ),
        (
            "several errors at once",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    memory: 0\n    timeout: 0\n",
            )]),
            "`{file}` is not a valid stack: 2 errors\n{file}:42:13: `functions.secret.memory`: must be between 128 and 10240 (MB), got 0\n  hint: Lambda gives a function 128 MB to 10240 MB\n{file}:43:14: `functions.secret.timeout`: must be between 1 and 900 (seconds), got 0\n  hint: Lambda runs a function for at most 15 minutes",
        ),
    ];
    check_table(cases);
}

/// `functions`: the names, Lambda's limits on memory, timeout, architecture and log retention, and
/// the crate.
#[test]
fn function_setting_rules_name_the_file_position_field_and_fix() {
    let cases: Vec<(&str, String, &str)> = vec![
        // (rule, stack text, expected stderr)
        (
            "memory range",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    memory: 64\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:42:13: `functions.secret.memory`: must be between 128 and 10240 (MB), got 64\n  hint: Lambda gives a function 128 MB to 10240 MB",
        ),
        (
            "timeout range",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    timeout: 901\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:42:14: `functions.secret.timeout`: must be between 1 and 900 (seconds), got 901\n  hint: Lambda runs a function for at most 15 minutes",
        ),
        (
            "architecture",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    architecture: amd64\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:42:19: `functions.secret.architecture`: `amd64` is not a Lambda architecture\n  hint: did you mean `x86_64`?",
        ),
        (
            "log retention",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    logRetentionDays: 10\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:42:23: `functions.secret.logRetentionDays`: CloudWatch Logs does not keep logs for 10 days\n  hint: expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ),
        (
            "log retention past u32 (not wrapped to 1 day)",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    logRetentionDays: 4294967297\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:42:23: `functions.secret.logRetentionDays`: CloudWatch Logs does not keep logs for 4294967297 days\n  hint: expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ),
        (
            "function name length",
            edited(&[
                (
                    "  secret:\n",
                    "  secret-with-a-name-long-enough-to-overflow-aws-limits:\n",
                ),
                (
                    "{ function: secret,",
                    "{ function: secret-with-a-name-long-enough-to-overflow-aws-limits,",
                ),
            ]),
            "`{file}` is not a valid stack: 1 error\n{file}:40:3: `functions.secret-with-a-name-long-enough-to-overflow-aws-limits`: the IAM role name `<region>-auth-demo-secret-with-a-name-long-enough-to-overflow-aws-limits` is at least 68 characters; AWS allows at most 64\n  hint: shorten the stack name or this key: `<stack>-<function>` is at most 59 characters",
        ),
        (
            "logical name characters",
            edited(&[
                ("  secret:\n", "  \"secret!\":\n"),
                ("{ function: secret,", "{ function: \"secret!\","),
            ]),
            "`{file}` is not a valid stack: 1 error\n{file}:40:3: `functions.secret!`: `secret!` is not a valid function name\n  hint: use letters, digits, `-` and `_`, starting with a letter or digit",
        ),
        (
            "crate not in workspace",
            edited(&[("crate: handlers/confirm", "crate: handlers/confrim")]),
            "`{file}` is not a valid stack: 1 error\n{file}:33:12: `functions.confirm.crate`: `handlers/confrim` is not a crate of the cargo workspace at `{root}`\n  hint: did you mean `handlers/confirm`?",
        ),
    ];
    check_table(cases);
}

/// `functions`: the environment and its references (and their cycles), and the role's `allow`
/// statements.
#[test]
fn function_environment_and_role_rules_name_the_file_position_field_and_fix() {
    let cases: Vec<(&str, String, &str)> = vec![
        // (rule, stack text, expected stderr)
        (
            "unknown reference",
            edited(&[(
                "USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}",
                "USER_POOL_CLIENT_ID: ${userPools.user.clients.web.id}",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:31:28: `functions.sign-up.environment.USER_POOL_CLIENT_ID`: `${userPools.user.clients.web.id}` does not name anything in this stack\n  hint: did you mean `${userPools.users.clients.web.id}`?",
        ),
        (
            "unterminated reference",
            edited(&[(
                "USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}",
                "USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:31:28: `functions.sign-up.environment.USER_POOL_CLIENT_ID`: `${userPools.users.clients.web.id` has a `${` without its closing `}`\n  hint: write `$${` for a literal `${`",
        ),
        (
            "reserved environment variable",
            edited(&[(
                "      USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}\n",
                "      AWS_REGION: eu-west-1\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:31:7: `functions.sign-up.environment.AWS_REGION`: `AWS_REGION` is set by Lambda itself and cannot be configured\n  hint: choose another name",
        ),
        (
            "cycle",
            edited(&[
                (
                    "    crate: handlers/secret\n",
                    "    crate: handlers/secret\n    environment: { CONFIRM: \"${functions.confirm.arn}\" }\n",
                ),
                (
                    "    crate: handlers/confirm\n    environment:\n",
                    "    crate: handlers/confirm\n    environment:\n      SECRET: ${functions.secret.name}\n",
                ),
            ]),
            "`{file}` is not a valid stack: 1 error\n{file}:35:13: `functions.confirm.environment`: references form a cycle: functions.confirm -> functions.secret -> functions.confirm\n  hint: a resource cannot need, directly or through others, a value of its own",
        ),
        (
            "wildcard action",
            with_allow("cognito-idp:*", "${userPools.users.arn}"),
            "`{file}` is not a valid stack: 1 error\n{file}:33:19: `functions.sign-up.allow.0.actions.0`: `cognito-idp:*` is a wildcard; roles here get exact actions only\n  hint: list each action the function calls",
        ),
        (
            "wildcard resource",
            with_allow("cognito-idp:AdminGetUser", "\"*\""),
            "`{file}` is not a valid stack: 1 error\n{file}:34:20: `functions.sign-up.allow.0.resources`: `*` grants `cognito-idp:AdminGetUser` on every resource; roles here get exact resources only (`*` is accepted for actions IAM authorizes on no resource, such as `xray:PutTraceSegments` and `cloudwatch:PutMetricData`)\n  hint: name the resource, for example `${userPools.users.arn}`",
        ),
        (
            "malformed action",
            with_allow("AdminGetUser", "${userPools.users.arn}"),
            "`{file}` is not a valid stack: 1 error\n{file}:33:19: `functions.sign-up.allow.0.actions.0`: `AdminGetUser` is not an IAM action\n  hint: write `service:Action`, for example `cognito-idp:SignUp`",
        ),
    ];
    check_table(cases);
}

/// `userPools`: an app client's auth flows and read attributes.
#[test]
fn user_pool_and_client_rules_name_the_file_position_field_and_fix() {
    let cases: Vec<(&str, String, &str)> = vec![
        // (rule, stack text, expected stderr)
        (
            "auth flow",
            edited(&[(
                "authFlows: [USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH]",
                "authFlows: [USER_PASWORD_AUTH, REFRESH_TOKEN_AUTH]",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:14:21: `userPools.users.clients.web.authFlows.0`: `USER_PASWORD_AUTH` is not a Cognito auth flow\n  hint: did you mean `USER_PASSWORD_AUTH`?",
        ),
        (
            "read attribute",
            edited(&[(
                "readAttributes: [email, email_verified]",
                "readAttributes: [emial, email_verified]",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:16:26: `userPools.users.clients.web.readAttributes.0`: `emial` is not a Cognito user attribute\n  hint: did you mean `email`?",
        ),
        (
            "no account recovery",
            edited(&[(
                "    removal: retain\n",
                "    removal: retain\n    accountRecovery: []\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:12:22: `userPools.users.accountRecovery`: lists no way to recover an account; Cognito needs at least one\n  hint: list `email` or `phone_number`, or leave `accountRecovery` out for `[email]`",
        ),
    ];
    check_table(cases);
}

/// `api`: route keys (method and path), repeated routes, sibling path variables, and the functions,
/// authorizers and user pools that routes and authorizers name.
#[test]
fn api_rules_name_the_file_position_field_and_fix() {
    let cases: Vec<(&str, String, &str)> = vec![
        // (rule, stack text, expected stderr)
        (
            "HTTP method",
            edited(&[("POST /confirm:", "FETCH /confirm:")]),
            "`{file}` is not a valid stack: 1 error\n{file}:75:5: `api.routes.FETCH /confirm`: `FETCH` is not an HTTP method API Gateway routes\n  hint: expected one of: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, `OPTIONS`, `ANY`",
        ),
        (
            "path syntax",
            edited(&[("POST /confirm:", "POST confirm:")]),
            "`{file}` is not a valid stack: 1 error\n{file}:75:5: `api.routes.POST confirm`: `confirm` is not a valid API path: it must start with `/`\n  hint: paths look like `/users/{id}`: segments of letters, digits, `-`, `.`, `_`, `~`, or one `{variable}`",
        ),
        (
            "path segment",
            edited(&[("POST /confirm:", "POST /con%firm/x:")]),
            "`{file}` is not a valid stack: 1 error\n{file}:75:5: `api.routes.POST /con%firm/x`: `/con%firm/x` is not a valid API path: the segment `con%firm` has characters API Gateway does not accept\n  hint: paths look like `/users/{id}`: segments of letters, digits, `-`, `.`, `_`, `~`, or one `{variable}`",
        ),
        (
            "duplicate route",
            edited(&[(
                "    GET /secret:",
                "    post /sign-up: { function: sign-up }\n    GET /secret:",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:77:5: `api.routes.post /sign-up`: route `post /sign-up` repeats `POST /sign-up`\n  hint: keep one of them",
        ),
        (
            "sibling path variables",
            edited(&[(
                "    GET /secret:",
                "    GET /users/{id}: { function: secret }\n    DELETE /users/{name}: { function: secret }\n    GET /secret:",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:77:5: `api.routes.GET /users/{id}`: `{id}` and `{name}` (in `DELETE /users/{name}`) are sibling path variables under `/users`\n  hint: API Gateway allows one variable per level: use the same name in both routes",
        ),
        (
            "route to unknown function",
            edited(&[(
                "POST /confirm: { function: confirm }",
                "POST /confirm: { function: confirmation }",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:75:32: `api.routes.POST /confirm.function`: function `confirmation` is not defined in `functions`\n  hint: did you mean `confirm`?",
        ),
        (
            "unknown authorizer",
            edited(&[("authorizer: cognito }", "authorizer: cognitoo }")]),
            "`{file}` is not a valid stack: 1 error\n{file}:77:50: `api.routes.GET /secret.authorizer`: authorizer `cognitoo` is not defined in `api.authorizers`\n  hint: did you mean `cognito`?",
        ),
        (
            "authorizer pool",
            edited(&[("      userPool: users\n", "      userPool: members\n")]),
            "`{file}` is not a valid stack: 1 error\n{file}:72:17: `api.authorizers.cognito.userPool`: user pool `members` is not defined in `userPools`\n  hint: defined user pools: `users`",
        ),
    ];
    check_table(cases);
}

/// `moved:` renames only what it can: each entry's old address is gone, its new one declared.
#[test]
fn moved_entries_name_an_old_and_a_declared_address() {
    let cases: Vec<(&str, &str)> = vec![
        (
            "moved:\n  - { from: userPools.users, to: userPools.users }\n",
            "`userPools.users` is still declared in stack.yaml",
        ),
        (
            "moved:\n  - { from: userPools.old, to: userPools.new }\n",
            "`userPools.new` is not declared in stack.yaml",
        ),
        (
            "moved:\n  - { from: functions.old, to: functions.secret }\n",
            "`functions.old` is not the address of a user pool or an app client",
        ),
        (
            "moved:\n  - { from: userPools.old, to: userPools.users.clients.web }\n",
            "`userPools.old` and `userPools.users.clients.web` are not the same kind of resource",
        ),
        (
            "moved:\n  - { from: userPools.other.clients.web, to: userPools.users.clients.web }\n",
            "`userPools.other.clients.web` cannot move to another pool (`users`)",
        ),
    ];
    crate::testing::table(
        cases
            .iter()
            .map(|&(moved, expected)| (moved, (moved, expected))),
        |(moved, expected)| {
            let said = check(&format!("{}\n{moved}", base()));
            if !said.contains(expected) {
                return Err(format!("does not say `{expected}`: {said}"));
            }
            if !said.contains(": `moved.0.") {
                return Err(format!("not positioned: {said}"));
            }
            Ok(())
        },
    );
    assert_eq!(
        check(&format!(
            "{}\nmoved:\n  - {{ from: userPools.users.clients.old, to: userPools.users.clients.web }}\n",
            base()
        )),
        ""
    );
}

/// What loading `text` with environment `env` says (as [`check`]).
fn check_in(text: &str, env: &str) -> String {
    let root = repo();
    match spec::check(text.as_bytes(), "{file}", &root, None, Some(env))
        .and_then(|checked| checked.resolve(&workspace()))
    {
        Ok(loaded) => format!("ok: {}", loaded.stack.name),
        Err(err) => err.to_string(),
    }
}

/// An environment's override is checked like the file, and reported where the environment
/// writes it; an environment may set only what it may (every environment's keys checked in any
/// run, as an editor checks them by the schema); its stack is `<stack>-<env>`.
#[test]
fn environments_merge_over_the_file_and_report_where_they_write() {
    let envs = "\nenvironments:\n  dev: {}\n  prod:\n    functions:\n      secret: { memory: 99999 }\n  old:\n    stack: auth-demo\n";
    let text = format!("{}{envs}", base());
    let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(check_in(&text, "dev"), "ok: auth-demo-dev");
    // An environment that names its stack keeps it (a stack deployed before environments).
    assert_eq!(check_in(&text, "old"), "ok: auth-demo");
    let prod = check_in(&text, "prod");
    assert!(
        prod.contains(&format!("{{file}}:{}:", line("secret: { memory: 99999 }")))
            && prod.contains(
                "`functions.secret.memory`: must be between 128 and 10240 (MB), got 99999"
            ),
        "{prod}"
    );
    // A key no environment may set, and a typo in an override: both named in any run (another
    // environment's, or none), where the environment writes them.
    let typos = format!(
        "{}\nenvironments:\n  dev: {{}}\n  qa:\n    stacks: other\n  demo:\n    functions:\n      secret: {{ memry: 256 }}\n",
        base()
    );
    let line = |needle: &str| typos.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for run in [check_in(&typos, "dev"), check(&typos)] {
        assert!(
            run.contains(&format!(
                "{{file}}:{}:5: `environments.qa`: environment `qa` cannot set `stacks`\n  hint: did you mean `stack`?",
                line("stacks: other")
            )) && run.contains(&format!(
                "{{file}}:{}:17: `environments.demo.functions.secret`: unknown field `memry`\n  hint: did you mean `memory`?",
                line("memry")
            )),
            "{run}"
        );
    }
    let text = format!(
        "{}\nenvironments:\n  dev: {{}}\n  prod: {{}}\n  old:\n    stack: auth-demo\n  demo: {{}}\n  qa: {{}}\n",
        base()
    );
    let without = check(&text);
    assert!(
        without.contains("the file declares environments (demo, dev, old, prod, qa): choose one"),
        "{without}"
    );
    // `${env.name}` needs an environment.
    let stage = edited(&[(
        "    crate: handlers/secret\n",
        "    crate: handlers/secret\n    environment:\n      STAGE: ${env.name}\n",
    )]);
    assert!(
        check(&stage).contains("choose one with `--env`"),
        "{}",
        check(&stage)
    );
}

/// A function called by so many routes that their invoke permissions pass Lambda's 20 KB
/// resource policy is refused before `up`, naming the function and the size; fewer pass.
#[test]
fn routes_past_a_functions_resource_policy_limit_are_refused() {
    let secret = "    GET /secret: { function: secret, authorizer: cognito }\n";
    let with = |n: usize| {
        let routes: String = (0..n)
            .map(|i| format!("    GET /items/page-{i:03}: {{ function: secret }}\n"))
            .collect();
        edited(&[(secret, &format!("{secret}{routes}"))])
    };
    let said = check(&with(60));
    assert!(
        said.contains("`api.routes`: 61 routes call function `secret`")
            && said.contains("bytes, and Lambda allows 20480 per function")
            && said.contains("hint: route fewer paths to one function"),
        "{said}"
    );
    assert_eq!(check(&with(20)), "");
}

/// `phone_number` to verify or to recover by: a warning, since the pool gets no SMS
/// configuration from stack.yaml, so Cognito would send no code by SMS.
#[test]
fn phone_numbers_without_sms_are_a_warning() {
    let said = check(&edited(&[(
        "    removal: retain\n",
        "    removal: retain\n    accountRecovery: [phone_number]\n",
    )]));
    assert!(
        said.contains(
            "`userPools.users.accountRecovery`: `phone_number` needs an SMS configuration"
        ) && said.contains("Cognito will send no code by SMS")
            && !said.contains("autoVerify"),
        "{said}"
    );
}

#[test]
fn tags_are_checked_as_aws_takes_them() {
    let tagged = |tags: &str| {
        edited(&[(
            "stack: auth-demo\n",
            &format!("stack: auth-demo\ntags:\n{tags}"),
        )])
    };
    assert_eq!(
        check(&tagged("  team: identity\n  cost-center: \"42\"\n")),
        ""
    );
    let said = check(&tagged(
        "  aws:owner: x\n  provisioner:stack: y\n  bad#key: z\n  note: \"a;b\"\n",
    ));
    for expected in [
        "`tags.aws:owner`: tag key `aws:owner` starts with `aws:`, which AWS keeps for its own tags",
        "`tags.provisioner:stack`: tag key `provisioner:stack` starts with `provisioner:`, which the stack's ownership tags use",
        "`tags.bad#key`: tag key `bad#key` has `#`, which AWS does not take in tags",
        "`tags.note`: tag `note`'s value has `;`, which AWS does not take in tags",
    ] {
        assert!(said.contains(expected), "{expected}\nin:\n{said}");
    }
    let long = format!("  k: {}\n", "v".repeat(257));
    assert!(
        check(&tagged(&long)).contains("tag `k`'s value has 257 characters; AWS takes at most 256"),
        "{}",
        check(&tagged(&long))
    );
    let said = check(&tagged("  Team: a\n  team: b\n  tab: \"a\\tb\"\n"));
    assert!(
        said.contains("tag keys `Team` and `team` differ only in case; IAM takes them as one key")
            && said.contains("tag `tab`'s value has `\t`, which AWS does not take in tags"),
        "{said}"
    );
    let many: String = (0..49).map(|i| format!("  k{i}: v\n")).collect();
    assert!(
        check(&tagged(&many)).contains("49 tags; a resource takes at most 48"),
        "{}",
        check(&tagged(&many))
    );
}

/// Every unknown key in one run (serde alone stops at the first), sorted by position, each with
/// its did-you-mean.
#[test]
fn every_unknown_key_is_reported_in_one_run() {
    let text = edited(&[
        ("userPools:\n", "userPool: {}\nuserPools:\n"),
        ("    selfSignUp: true\n", "    selfSignup: true\n"),
        (
            "    crate: handlers/secret\n",
            "    crate: handlers/secret\n    envirnoment: {}\n",
        ),
    ]);
    let said = check(&text);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(
        lines[0], "`{file}` is not a valid stack: 3 errors",
        "{said}"
    );
    assert!(lines[1].ends_with("unknown field `userPool`"), "{said}");
    assert_eq!(lines[2], "  hint: did you mean `userPools`?");
    assert!(
        lines[3].ends_with("`userPools.users`: unknown field `selfSignup`"),
        "{said}"
    );
    assert_eq!(lines[4], "  hint: did you mean `selfSignUp`?");
    assert!(
        lines[5].ends_with("`functions.secret`: unknown field `envirnoment`"),
        "{said}"
    );
    assert_eq!(lines[6], "  hint: did you mean `environment`?");
}
