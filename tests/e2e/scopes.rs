//! Per-route authorization scopes: deployed as the method's `authorizationScopes`, and followed by
//! `serve` as API Gateway does: a route with scopes takes an access token holding one of them and
//! refuses the id token; a route without them still takes the id token. `secret` answers from
//! either token's claims. And complete auth (reset, refresh, sign out) through serve.

use crate::serve::{Served, http};
use crate::support;

#[tokio::test(flavor = "multi_thread")]
async fn a_route_with_scopes_takes_the_access_token_and_refuses_the_id_token() {
    let stack = support::unique("scopes");
    let file = support::write_stack(&[(
        "    GET /secret: { function: secret, authorizer: cognito }\n",
        "    GET /secret: { function: secret, authorizer: cognito, scopes: [aws.cognito.signin.user.admin] }\n    GET /whoami: { function: secret, authorizer: cognito }\n",
    )]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);

    // Deployed: the method's scopes, the other route's none.
    let apigateway = aws_sdk_apigateway::Client::new(&support::sdk_config().await);
    let apis = apigateway.get_rest_apis().send().await.unwrap();
    let api = apis
        .items()
        .iter()
        .find(|a| a.name() == Some(format!("{stack}-api").as_str()))
        .unwrap();
    let resources = apigateway
        .get_resources()
        .rest_api_id(api.id().unwrap())
        .embed("methods")
        .send()
        .await
        .unwrap();
    let scopes_of = |path: &str| {
        resources
            .items()
            .iter()
            .find(|r| r.path() == Some(path))
            .and_then(|r| r.resource_methods())
            .and_then(|m| m.get("GET"))
            .map(|m| m.authorization_scopes().to_vec())
            .unwrap()
    };
    assert_eq!(scopes_of("/secret"), ["aws.cognito.signin.user.admin"]);
    assert!(scopes_of("/whoami").is_empty());
    let diff = support::on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}", diff.stdout);

    let serve = tokio::task::spawn_blocking({
        let (file, stack) = (file.clone(), stack.clone());
        move || Served::start_with(&file, &stack, &[], &[])
    })
    .await
    .unwrap();
    let base = serve.base.clone();
    let user = support::unique("ada");
    let checked = tokio::task::spawn_blocking(move || {
        let json = ("content-type", "application/json");
        let post = |path: &str, body: serde_json::Value| {
            http("POST", &format!("{base}{path}"), &[json], Some(body.to_string().as_bytes()))
        };
        let password = "Passw0rd!x";
        assert_eq!(post("/sign-up", serde_json::json!({"username": user, "password": password, "email": format!("{user}@example.com")})).status, 200);
        assert_eq!(post("/confirm", serde_json::json!({"username": user, "code": "123456"})).status, 200);
        let signed_in = post("/sign-in", serde_json::json!({"username": user, "password": password}));
        let tokens: serde_json::Value = serde_json::from_slice(&signed_in.body).unwrap();
        let get = |path: &str, token: &str| {
            http("GET", &format!("{base}{path}"), &[("authorization", &format!("Bearer {token}"))], None)
        };
        let (id, access) = (tokens["idToken"].as_str().unwrap(), tokens["accessToken"].as_str().unwrap());
        assert_eq!(get("/secret", id).status, 401, "the id token on a route with scopes");
        let answered = get("/secret", access);
        assert_eq!(answered.status, 200, "the access token with the scope");
        let body: serde_json::Value = serde_json::from_slice(&answered.body).unwrap();
        assert_eq!(body["username"], user.as_str(), "from the access token's `username`");
        assert_eq!(get("/whoami", id).status, 200, "a route without scopes takes the id token");
        assert_eq!(get("/whoami", access).status, 401, "and not the access token");
    })
    .await;
    let log = serve.log();
    drop(serve);
    let down = support::on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    if let Err(panic) = checked {
        eprintln!("serve's log:\n{log}");
        std::panic::resume_unwind(panic.into_panic());
    }
    assert!(
        log.contains("a route with authorization scopes takes access tokens"),
        "the 401's log says which rule refused: {log}"
    );
}

/// Complete auth through `serve`, as a front end calls it: forgot -> reset -> sign in with the new
/// password; refresh gives working tokens; sign out, and then the refresh token no longer works.
#[tokio::test(flavor = "multi_thread")]
async fn complete_auth_through_serve_reset_refresh_and_sign_out() {
    let stack = support::unique("fullauth");
    let file = support::write_stack(&[]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let serve = tokio::task::spawn_blocking({
        let (file, stack) = (file.clone(), stack.clone());
        move || Served::start_with(&file, &stack, &[], &[])
    })
    .await
    .unwrap();
    let base = serve.base.clone();
    let user = support::unique("ada");
    let checked = tokio::task::spawn_blocking(move || {
        let post = |path: &str, body: serde_json::Value, token: Option<&str>| {
            let bearer = token.map(|t| format!("Bearer {t}"));
            let mut headers = vec![("content-type", "application/json")];
            if let Some(bearer) = &bearer {
                headers.push(("authorization", bearer.as_str()));
            }
            let answer = http(
                "POST",
                &format!("{base}{path}"),
                &headers,
                Some(body.to_string().as_bytes()),
            );
            let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            (answer.status, body)
        };
        use serde_json::json;
        let (old, new) = ("Passw0rd!x", "N3w-Passw0rd!x");
        assert_eq!(
            post(
                "/sign-up",
                json!({"username": user, "password": old, "email": format!("{user}@example.com")}),
                None
            )
            .0,
            200
        );
        assert_eq!(
            post(
                "/confirm",
                json!({"username": user, "code": "123456"}),
                None
            )
            .0,
            200
        );
        // A forgotten password: the same answer for a user that does not exist.
        let known = post("/forgot-password", json!({"username": user}), None);
        let unknown = post(
            "/forgot-password",
            json!({"username": "nobody-at-all"}),
            None,
        );
        assert_eq!((known.0, &known.1), (unknown.0, &unknown.1));
        assert_eq!(known.0, 200);
        assert_eq!(
            post(
                "/reset-password",
                json!({"username": user, "code": "123456", "password": new}),
                None
            )
            .0,
            200
        );
        assert_eq!(
            post("/sign-in", json!({"username": user, "password": old}), None).0,
            401
        );
        let (status, tokens) = post("/sign-in", json!({"username": user, "password": new}), None);
        assert_eq!(status, 200);
        let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
        let access = tokens["accessToken"].as_str().unwrap().to_owned();
        // Refresh: a new id token that the authorizer takes.
        let (status, fresh) = post("/refresh", json!({"refreshToken": refresh}), None);
        assert_eq!(status, 200, "{fresh}");
        let secret = http(
            "GET",
            &format!("{base}/secret"),
            &[(
                "authorization",
                &format!("Bearer {}", fresh["idToken"].as_str().unwrap()),
            )],
            None,
        );
        assert_eq!(secret.status, 200);
        // Sign out everywhere; the refresh token is refused after.
        assert_eq!(
            post("/sign-out", json!({"refreshToken": refresh}), Some(&access)).0,
            200
        );
        assert_eq!(
            post("/refresh", json!({"refreshToken": refresh}), None).0,
            401
        );
    })
    .await;
    drop(serve);
    let down = support::on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    if let Err(panic) = checked {
        std::panic::resume_unwind(panic.into_panic());
    }
}
