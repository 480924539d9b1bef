//! `api.cors`'s rules, one case each, as `tests` checks the others: an edit of the repository's
//! stack.yaml (whose last lines are its `cors`) and the exact message.

use super::tests::{check_table, edited};

const CORS: &str = "  cors:\n    allowOrigins: [http://localhost:8000]\n";

fn with_cors(cors: &str) -> String {
    edited(&[(CORS, cors)])
}

#[test]
fn cors_rules_name_the_file_position_field_and_fix() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "`*` with credentials",
            with_cors("  cors:\n    allowOrigins: [\"*\"]\n    allowCredentials: true\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:86:20: `api.cors.allowOrigins.0`: `*` with `allowCredentials: true`: browsers refuse a credentialed answer to any origin\n  hint: list the origins themselves, or leave out `allowCredentials`",
        ),
        (
            "an origin with a path",
            with_cors("  cors:\n    allowOrigins: [https://app.example.com/]\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:86:20: `api.cors.allowOrigins.0`: `https://app.example.com/` is not an origin: it has a path (an origin ends after the host and port)\n  hint: write it as a browser sends it: `https://app.example.com` or `http://localhost:5173` (a scheme, a host in lower case, a port if not the scheme's; no path, no trailing `/`)",
        ),
        (
            "no origin",
            with_cors("  cors:\n    allowOrigins: []\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:86:19: `api.cors.allowOrigins`: `allowOrigins` is empty: no browser could call the API\n  hint: list the origins of the pages that call it, such as `https://app.example.com`, or remove `cors`",
        ),
        (
            "maxAge past what browsers keep",
            with_cors("  cors:\n    allowOrigins: [http://localhost:8000]\n    maxAge: 90000\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:87:13: `api.cors.maxAge`: `maxAge` is 90000 seconds; browsers take 0 to 86400\n  hint: Chromium keeps a preflight at most 7200 s and Firefox 86400 s; 600 is common",
        ),
        (
            "a route on the preflight",
            edited(&[(
                "    GET /secret:",
                "    OPTIONS /secret: { function: secret }\n    GET /secret:",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:77:5: `api.routes.OPTIONS /secret`: `OPTIONS /secret` is the preflight `api.cors` answers\n  hint: remove the route (the preflight needs no function), or remove `cors`",
        ),
        (
            "a variable the allowlist sets",
            edited(&[(
                "    crate: handlers/secret\n",
                "    crate: handlers/secret\n    environment:\n      CORS_ALLOW_ORIGINS: \"*\"\n",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:43:7: `functions.secret.environment.CORS_ALLOW_ORIGINS`: `CORS_ALLOW_ORIGINS` is set from `api.cors` for every function behind the API\n  hint: remove it here; `api.cors` says which origins may read the answers",
        ),
        (
            "several origins: a warning",
            with_cors(
                "  cors:\n    allowOrigins: [http://localhost:8000, https://app.example.com]\n",
            ),
            "{file}:86:19: warning: `api.cors.allowOrigins`: API Gateway's own answers (the authorizer's 401, 403, 429, its 5XX) can name one origin only: they name `http://localhost:8000`, and pages on the other origins see them as network errors\n  hint: list first the origin whose pages must tell \"sign in again\" from \"the network is down\"; the functions' answers and preflights name every listed origin",
        ),
    ];
    check_table(cases);
}

/// A route's `scopes` (in this file beside `cors`: the API's rules past `tests`' size).
#[test]
fn route_scopes_need_an_authorizer_and_a_scope_sign_in_tokens_carry() {
    let secret = "    GET /secret: { function: secret, authorizer: cognito }\n";
    let route = |text: &str| edited(&[(secret, text)]);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "scopes without an authorizer",
            route(
                "    GET /secret: { function: secret, scopes: [aws.cognito.signin.user.admin] }\n",
            ),
            "`{file}` is not a valid stack: 1 error\n{file}:77:46: `api.routes.GET /secret.scopes`: `scopes` without an `authorizer`: nothing would check them\n  hint: add `authorizer: <name>` to the route, or remove `scopes`",
        ),
        (
            "no scope",
            route("    GET /secret: { function: secret, authorizer: cognito, scopes: [] }\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:77:67: `api.routes.GET /secret.scopes`: `scopes` is empty\n  hint: list at least one (`[aws.cognito.signin.user.admin]`), or leave `scopes` out for id tokens",
        ),
        (
            "only a scope sign-in tokens lack: a warning",
            route(
                "    GET /secret: { function: secret, authorizer: cognito, scopes: [orders/read] }\n",
            ),
            "{file}:77:67: warning: `api.routes.GET /secret.scopes`: access tokens from the app client's sign-in carry only `aws.cognito.signin.user.admin`: the others come from OAuth flows or a pre token generation trigger, which this stack does not set up, so the route would refuse the tokens `POST /sign-in` gives\n  hint: add `aws.cognito.signin.user.admin` to accept them",
        ),
    ];
    check_table(cases);
}
