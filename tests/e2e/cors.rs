//! `api.cors` deployed on the emulator, read back with the SDK as API Gateway keeps it: a preflight
//! `OPTIONS` on each resource with routes (no authorizer, a MOCK integration answering with the
//! headers), the gateway responses with the headers, the functions told the allowlist; a change of
//! origins applied in place; removing `cors` leaves none of it.

use std::collections::BTreeMap;

use aws_sdk_apigateway::Client;

use crate::support;

/// The repository's `api.cors` block, as stack.yaml writes it.
const CORS: &str = "  cors:\n    allowOrigins: [http://localhost:8000]\n";

/// What the API has: each OPTIONS method's (authorization, integration type, headers answered,
/// template), by path; and the gateway responses' headers, by type.
type Preflights = BTreeMap<String, (String, String, BTreeMap<String, String>, Option<String>)>;

async fn read(
    client: &Client,
    stack: &str,
) -> (Preflights, BTreeMap<String, BTreeMap<String, String>>) {
    let name = format!("{stack}-api");
    let apis = client.get_rest_apis().send().await.unwrap();
    let api = apis
        .items()
        .iter()
        .find(|api| api.name() == Some(name.as_str()))
        .expect("the stack's API");
    let id = api.id().unwrap();
    let resources = client
        .get_resources()
        .rest_api_id(id)
        .embed("methods")
        .send()
        .await
        .unwrap();
    let mut preflights = Preflights::new();
    for resource in resources.items() {
        let Some(options) = resource.resource_methods().and_then(|m| m.get("OPTIONS")) else {
            continue;
        };
        let integration = options.method_integration().unwrap();
        let answer = integration
            .integration_responses()
            .and_then(|r| r.get("204"))
            .expect("the preflight's integration response");
        let headers = answer
            .response_parameters()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let k = k.strip_prefix("method.response.header.").unwrap();
                (k.to_owned(), v.clone())
            })
            .collect();
        let declared = options
            .method_responses()
            .and_then(|r| r.get("204"))
            .and_then(|r| r.response_parameters())
            .map(|p| p.len())
            .unwrap_or_default();
        assert_eq!(declared, answer.response_parameters().unwrap().len());
        preflights.insert(
            resource.path().unwrap().to_owned(),
            (
                options.authorization_type().unwrap().to_owned(),
                integration.r#type().unwrap().as_str().to_owned(),
                headers,
                answer
                    .response_templates()
                    .and_then(|t| t.get("application/json"))
                    .filter(|t| !t.is_empty())
                    .cloned(),
            ),
        );
    }
    let gateway = client
        .get_gateway_responses()
        .rest_api_id(id)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|r| !r.default_response())
        .map(|r| {
            (
                r.response_type().unwrap().as_str().to_owned(),
                r.response_parameters()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    (preflights, gateway)
}

async fn environment(stack: &str, function: &str) -> BTreeMap<String, String> {
    let lambda = aws_sdk_lambda::Client::new(&support::sdk_config().await);
    let configuration = lambda
        .get_function_configuration()
        .function_name(format!("{stack}-{function}"))
        .send()
        .await
        .unwrap();
    configuration
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_is_deployed_changed_in_place_and_removed() {
    let client = Client::new(&support::sdk_config().await);
    let stack = support::unique("cors");
    let file = support::write_stack(&[]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);

    let (preflights, gateway) = read(&client, &stack).await;
    let routed: Vec<String> = support::FUNCTIONS.iter().map(|f| format!("/{f}")).collect();
    assert_eq!(
        preflights.keys().cloned().collect::<Vec<_>>(),
        routed,
        "a preflight on each resource with routes, none on the root"
    );
    let (authorization, kind, headers, template) = &preflights["/secret"];
    // No authorizer on the preflight, though GET /secret has one: a browser sends no token with it.
    assert_eq!((authorization.as_str(), kind.as_str()), ("NONE", "MOCK"));
    assert_eq!(
        headers["Access-Control-Allow-Origin"],
        "'http://localhost:8000'"
    );
    assert_eq!(headers["Access-Control-Allow-Methods"], "'GET,OPTIONS'");
    assert_eq!(
        headers["Access-Control-Allow-Headers"],
        "'Content-Type,Authorization'"
    );
    assert_eq!(headers["Vary"], "'Origin'");
    assert_eq!(template, &None, "one origin: a static header");
    let expected_gateway: BTreeMap<String, String> = [
        (
            "gatewayresponse.header.Access-Control-Allow-Origin",
            "'http://localhost:8000'",
        ),
        ("gatewayresponse.header.Vary", "'Origin'"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(
        gateway,
        BTreeMap::from([
            ("DEFAULT_4XX".to_owned(), expected_gateway.clone()),
            ("DEFAULT_5XX".to_owned(), expected_gateway)
        ])
    );
    assert_eq!(
        environment(&stack, "secret")
            .await
            .get("CORS_ALLOW_ORIGINS"),
        Some(&"http://localhost:8000".to_owned())
    );
    let diff = support::on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}{}", diff.stdout, diff.stderr);

    // Two origins, with credentials: the preflights name the listed origin asking (a template),
    // the gateway responses the first; the functions are told both.
    let two = support::write_stack(&[(
        CORS,
        "  cors:\n    allowOrigins: [http://localhost:8000, https://app.example.com]\n    allowCredentials: true\n    maxAge: 600\n",
    )]);
    let diff = support::on_emulator(&two, &stack, &["diff"]);
    assert_eq!(diff.code, Some(2), "{}{}", diff.stdout, diff.stderr);
    assert!(diff.stdout.contains("preflight"), "{}", diff.stdout);
    let up = support::on_emulator(&two, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let (preflights, gateway) = read(&client, &stack).await;
    let (_, _, headers, template) = &preflights["/sign-up"];
    assert_eq!(headers["Access-Control-Allow-Credentials"], "'true'");
    assert_eq!(headers["Access-Control-Max-Age"], "'600'");
    let template = template.as_deref().unwrap_or_default();
    assert!(
        template.contains(r#"$origin == "https://app.example.com""#)
            && template.contains("responseOverride.header.Access-Control-Allow-Origin"),
        "{template}"
    );
    assert_eq!(
        gateway["DEFAULT_4XX"]["gatewayresponse.header.Access-Control-Allow-Credentials"],
        "'true'"
    );
    assert_eq!(
        environment(&stack, "sign-up")
            .await
            .get("CORS_ALLOW_ORIGINS"),
        Some(&"http://localhost:8000,https://app.example.com".to_owned())
    );
    let diff = support::on_emulator(&two, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}{}", diff.stdout, diff.stderr);

    // Without `cors`: no preflight, no gateway response, no variable.
    let none = support::write_stack(&[(CORS, "")]);
    let up = support::on_emulator(&none, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let (preflights, gateway) = read(&client, &stack).await;
    assert!(
        preflights.is_empty() && gateway.is_empty(),
        "{preflights:?} {gateway:?}"
    );
    assert!(
        !environment(&stack, "secret")
            .await
            .contains_key("CORS_ALLOW_ORIGINS")
    );
    let diff = support::on_emulator(&none, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}{}", diff.stdout, diff.stderr);

    let down = support::on_emulator(&none, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// `serve` answers as the deployed API: the preflight before any authorizer, the gateway's own
/// 401 and 403 with the headers, the functions' answers with theirs (from `handlers/common`), and
/// an unlisted origin named nowhere. And a front end's one file: `provisioner outputs` writes the
/// deployed stack's, `serve --outputs` the same names with its local URL.
#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_cors_as_the_deployed_api_and_writes_the_same_outputs_file() {
    use crate::serve::{Served, http};
    let stack = support::unique("corsserve");
    let file = support::write_stack(&[]);
    let not_up = support::on_emulator(&file, &stack, &["outputs"]);
    assert_eq!(not_up.code, Some(1));
    assert!(not_up.stderr.contains("is not up"), "{}", not_up.stderr);
    let up = support::json_from(&file, &stack, &["up", "--yes", "--json"], 0);
    let deployed = &up["outputs"];
    let dotenv = support::on_emulator(
        &file,
        &stack,
        &["outputs", "--format", "dotenv", "--prefix", "VITE_"],
    );
    assert_eq!(dotenv.code, Some(0), "{}", dotenv.stderr);
    let variables = |text: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let from_aws = variables(&dotenv.stdout);
    for (name, field) in [
        ("VITE_API_URL", "apiUrl"),
        ("VITE_REGION", "region"),
        ("VITE_USER_POOL_ID", "userPoolId"),
        ("VITE_USER_POOL_ARN", "userPoolArn"),
        ("VITE_USER_POOL_CLIENT_ID", "userPoolClientId"),
    ] {
        assert_eq!(
            from_aws.get(name).map(String::as_str),
            deployed[field].as_str(),
            "{name}"
        );
    }
    assert_eq!(
        from_aws
            .get("VITE_USER_POOLS_USERS_CLIENTS_WEB_ID")
            .map(String::as_str),
        deployed["userPools"]["users"]["clients"]["web"].as_str()
    );
    let env_file = file.with_file_name(".env.local");
    let serve = tokio::task::spawn_blocking({
        let (file, stack, env_file) = (file.clone(), stack.clone(), env_file.clone());
        move || {
            let args = [
                "--outputs",
                env_file.to_str().unwrap(),
                "--outputs-format",
                "dotenv",
                "--outputs-prefix",
                "VITE_",
            ];
            Served::start_with(&file, &stack, &args, &[])
        }
    })
    .await
    .unwrap();
    let base = serve.base.clone();
    let from_serve = variables(&std::fs::read_to_string(&env_file).unwrap());
    assert_eq!(from_serve["VITE_API_URL"], base);
    assert_eq!(
        from_serve.keys().collect::<Vec<_>>(),
        from_aws.keys().collect::<Vec<_>>(),
        "the same names in both modes"
    );
    assert_eq!(
        from_serve["VITE_USER_POOL_CLIENT_ID"],
        from_aws["VITE_USER_POOL_CLIENT_ID"]
    );
    let page = ("origin", "http://localhost:8000");
    let stranger = ("origin", "https://evil.example");
    let allowed = |answer: &crate::serve::Answer| {
        answer
            .header("access-control-allow-origin")
            .first()
            .map(|v| (*v).to_owned())
    };
    tokio::task::spawn_blocking(move || {
        // The preflight of GET /secret: 204 without any token, though the route has an authorizer.
        let preflight = http(
            "OPTIONS",
            &format!("{base}/secret"),
            &[
                page,
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "authorization"),
            ],
            None,
        );
        assert_eq!(preflight.status, 204);
        assert_eq!(
            allowed(&preflight).as_deref(),
            Some("http://localhost:8000")
        );
        assert_eq!(
            preflight.header("access-control-allow-methods"),
            ["GET,OPTIONS"]
        );
        assert_eq!(
            preflight.header("access-control-allow-headers"),
            ["Content-Type,Authorization"]
        );
        // The gateway's own answers: the authorizer's 401, "Missing Authentication Token".
        let unauthorized = http("GET", &format!("{base}/secret"), &[page], None);
        assert_eq!(unauthorized.status, 401);
        assert_eq!(
            allowed(&unauthorized).as_deref(),
            Some("http://localhost:8000")
        );
        let missing = http("GET", &format!("{base}/nowhere"), &[page], None);
        assert_eq!(missing.status, 403);
        assert_eq!(allowed(&missing).as_deref(), Some("http://localhost:8000"));
        // A function's answer (a 400 for a body without fields) carries the function's headers.
        let body = Some(&b"{}"[..]);
        let json = ("content-type", "application/json");
        let refused = http("POST", &format!("{base}/sign-in"), &[page, json], body);
        assert_eq!(refused.status, 400);
        assert_eq!(allowed(&refused).as_deref(), Some("http://localhost:8000"));
        assert_eq!(refused.header("vary"), ["Origin"]);
        // Another origin is never named: not by the function, nor by the preflight.
        let other = http("POST", &format!("{base}/sign-in"), &[stranger, json], body);
        assert_eq!((other.status, allowed(&other)), (400, None));
        let other = http("OPTIONS", &format!("{base}/sign-in"), &[stranger], None);
        assert_eq!(allowed(&other).as_deref(), Some("http://localhost:8000"));
    })
    .await
    .unwrap();
    drop(serve);
    let down = support::on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}
