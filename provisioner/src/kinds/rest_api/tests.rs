use super::*;
use crate::spec::{Authorizer, Route};

fn api(routes: &[(&str, &str, Option<&str>)]) -> DesiredApi {
    with_cors(routes, None)
}

fn with_cors(routes: &[(&str, &str, Option<&str>)], cors: Option<crate::spec::Cors>) -> DesiredApi {
    let api = Api {
        physical_name: "s-api".to_owned(),
        stage: "prod".to_owned(),
        authorizers: BTreeMap::from([(
            "cognito".to_owned(),
            Authorizer {
                user_pool: "users".to_owned(),
                identity_source: "method.request.header.Authorization".to_owned(),
            },
        )]),
        routes: routes
            .iter()
            .map(|(method, path, authorizer)| Route {
                scopes: Vec::new(),
                path: (*path).to_owned(),
                method: (*method).to_owned(),
                function: "f".to_owned(),
                authorizer: authorizer.map(str::to_owned),
            })
            .collect(),
        cors,
    };
    DesiredApi::new(
        &api,
        "aws",
        "us-east-1",
        |f| format!("arn:aws:lambda:us-east-1:1:function:{f}"),
        |p| format!("arn:pool/{p}"),
    )
}

/// What `desired` looks like once applied and deployed.
fn deployed(desired: &DesiredApi) -> LiveApi {
    let mut resources = BTreeMap::from([("/".to_owned(), "root".to_owned())]);
    for path in &desired.paths {
        resources.insert(path.clone(), format!("id{path}"));
    }
    LiveApi {
        id: "a1".to_owned(),
        name: desired.name.clone(),
        root_id: "root".to_owned(),
        resources,
        methods: desired.methods.clone(),
        gateway_responses: desired.gateway_responses.clone(),
        authorizers: desired
            .authorizers
            .iter()
            .map(|(name, settings)| {
                (
                    name.clone(),
                    LiveAuthorizer {
                        id: format!("au-{name}"),
                        settings: settings.clone(),
                    },
                )
            })
            .collect(),
        stage: Some(LiveStage {
            deployment_id: "d1".to_owned(),
            shape: Some(desired.shape.clone()),
            tags: desired.tags.clone().unwrap_or_default(),
        }),
        tags: desired.tags.clone().unwrap_or_default(),
    }
}

fn key(method: &str, path: &str) -> RouteKey {
    (path.to_owned(), method.to_owned())
}

const ROUTES: &[(&str, &str, Option<&str>)] = &[
    ("POST", "/sign-up", None),
    ("GET", "/users/{id}", Some("cognito")),
];

#[test]
fn a_new_api_creates_every_part_parents_included_and_deploys() {
    let desired = api(ROUTES);
    assert_eq!(
        desired.paths,
        BTreeSet::from(["/sign-up", "/users", "/users/{id}"].map(str::to_owned))
    );
    let changes = diff(None, &desired);
    assert_eq!(changes.api, Action::Create);
    assert_eq!(changes.authorizers["cognito"], Action::Create);
    assert!(changes.resources.values().all(|a| *a == Action::Create));
    assert_eq!(changes.resources.len(), 3);
    assert_eq!(changes.routes[&key("GET", "/users/{id}")], Action::Create);
    assert_eq!(changes.deployment.as_ref().unwrap().live, "none");
    assert_eq!(changes.stage, Action::Create);
}

#[test]
fn a_deployed_api_is_a_no_op_and_deploys_nothing() {
    let desired = api(ROUTES);
    let changes = diff(Some(&deployed(&desired)), &desired);
    assert_eq!(changes.api, Action::NoOp);
    assert!(changes.authorizers.values().all(|a| *a == Action::NoOp));
    assert!(changes.resources.is_empty());
    assert!(changes.routes.values().all(|a| *a == Action::NoOp));
    assert_eq!(changes.deployment, None);
    assert_eq!(changes.stage, Action::NoOp);
}

#[test]
fn a_changed_method_is_put_again_and_the_api_redeployed() {
    let desired = api(ROUTES);
    let mut live = deployed(&desired);
    let method = live.methods.get_mut(&key("GET", "/users/{id}")).unwrap();
    method.authorization = "NONE".to_owned();
    method.authorizer = None;
    let changes = diff(Some(&live), &desired);
    let Action::Update { changes: fields } = &changes.routes[&key("GET", "/users/{id}")] else {
        panic!("an update: {changes:?}");
    };
    let names: Vec<&str> = fields.iter().map(|c| c.field).collect();
    assert_eq!(names, ["authorization", "authorizer"]);
    // Applied as the method put again (and its integration with it), whatever the labels say.
    assert_eq!(
        changes.route_changes[&key("GET", "/users/{id}")],
        BTreeSet::from([RouteChange::Method])
    );
    assert!(!changes.route_changes.contains_key(&key("POST", "/sign-up")));
    assert!(
        changes
            .deployment
            .as_ref()
            .unwrap()
            .live
            .contains("working copy repaired"),
        "the shape is the same, but the working copy changed"
    );
    assert!(matches!(changes.stage, Action::Update { .. }));
}

#[test]
fn a_new_pool_replaces_the_authorizer_and_re_puts_its_methods() {
    let desired = api(ROUTES);
    let mut live = deployed(&desired);
    live.authorizers
        .get_mut("cognito")
        .unwrap()
        .settings
        .provider_arns = vec!["arn:pool/old".to_owned()];
    let changes = diff(Some(&live), &desired);
    assert!(
        matches!(&changes.authorizers["cognito"], Action::Replace { changes } if changes[0].field == "providerARNs")
    );
    assert!(matches!(
        &changes.routes[&key("GET", "/users/{id}")],
        Action::Update { changes } if changes[0].field == "authorizer"
    ));
    assert_eq!(changes.routes[&key("POST", "/sign-up")], Action::NoOp);
}

#[test]
fn extra_resources_and_methods_go_and_an_empty_api_is_not_deployed() {
    let desired = api(&[("POST", "/sign-up", None)]);
    let live = deployed(&api(ROUTES));
    let changes = diff(Some(&live), &desired);
    assert_eq!(changes.resources["/users"], Action::Delete);
    assert_eq!(changes.resources["/users/{id}"], Action::Delete);
    assert_eq!(changes.routes[&key("GET", "/users/{id}")], Action::Delete);
    assert!(changes.deployment.is_some());

    let empty = api(&[]);
    let changes = diff(None, &empty);
    assert_eq!(
        changes.deployment, None,
        "API Gateway cannot deploy an API without methods"
    );
    assert_eq!(changes.stage, Action::NoOp);
}

/// Replay of apply: the route `GET /users/{id}` loses its authorizer. Exactly its method deleted
/// and put again (no authorizer), its integration put again, a deployment and the stage moved
/// to it; nothing else (any other request has no rule and fails the run).
#[tokio::test]
async fn a_method_change_deletes_and_puts_the_method_then_deploys() {
    use aws_sdk_apigateway::operation::{
        create_deployment::CreateDeploymentOutput, delete_method::DeleteMethodOutput,
        put_integration::PutIntegrationOutput, put_method::PutMethodOutput,
        update_stage::UpdateStageOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let live = deployed(&api(ROUTES));
    let desired = api(&[("POST", "/sign-up", None), ("GET", "/users/{id}", None)]);
    let changes = diff(Some(&live), &desired);
    assert_eq!(
        changes.route_changes[&key("GET", "/users/{id}")],
        BTreeSet::from([RouteChange::Method])
    );
    let resource = "id/users/{id}";
    let delete = mock!(aws_sdk_apigateway::Client::delete_method)
        .match_requests(move |r| {
            r.rest_api_id() == Some("a1")
                && r.resource_id() == Some(resource)
                && r.http_method() == Some("GET")
        })
        .then_output(|| DeleteMethodOutput::builder().build());
    let put = mock!(aws_sdk_apigateway::Client::put_method)
        .match_requests(move |r| {
            r.resource_id() == Some(resource)
                && r.http_method() == Some("GET")
                && r.authorization_type() == Some("NONE")
                && r.authorizer_id().is_none()
        })
        .then_output(|| PutMethodOutput::builder().build());
    let integration = mock!(aws_sdk_apigateway::Client::put_integration)
        .match_requests(move |r| {
            r.resource_id() == Some(resource)
                && r.integration_http_method() == Some("POST")
                && r.uri()
                    .is_some_and(|u| u.ends_with("function:f/invocations"))
        })
        .then_output(|| PutIntegrationOutput::builder().build());
    let deploy = mock!(aws_sdk_apigateway::Client::create_deployment)
        .match_requests(|r| r.rest_api_id() == Some("a1"))
        .then_output(|| CreateDeploymentOutput::builder().id("d2").build());
    let stage = mock!(aws_sdk_apigateway::Client::update_stage)
        .match_requests(|r| r.stage_name() == Some("prod"))
        .then_output(|| UpdateStageOutput::builder().build());
    let client = mock_client!(
        aws_sdk_apigateway,
        RuleMode::Sequential,
        [&delete, &put, &integration, &deploy, &stage]
    );
    let ready: FunctionReady<'_> = &|_| Box::pin(async { Ok(()) });
    let slots = tokio::sync::Semaphore::new(1);
    let id = apply(
        &client,
        &Pacer::default(),
        "s",
        &live,
        &desired,
        &changes,
        Schedule {
            slots: &slots,
            go_on: &|| Ok(()),
            ready,
            granted: &|| Box::pin(async { Ok(()) }),
        },
    )
    .await
    .expect("exactly these calls");
    assert_eq!(id, "a1");
    for (rule, name) in [
        (&delete, "DeleteMethod"),
        (&put, "PutMethod"),
        (&integration, "PutIntegration"),
        (&deploy, "CreateDeployment"),
        (&stage, "UpdateStage"),
    ] {
        assert_eq!(rule.num_calls(), 1, "{name}");
    }
}

/// `adopt api`: exactly one TagResource on the API's ARN with the stack's tag.
#[tokio::test]
async fn adopting_the_api_is_one_tag_resource_call() {
    use aws_sdk_apigateway::operation::tag_resource::TagResourceOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let arn = "arn:aws:apigateway:eu-west-1::/restapis/a1";
    let tag = mock!(aws_sdk_apigateway::Client::tag_resource)
        .match_requests(move |r| {
            r.resource_arn() == Some(arn)
                && r.tags().map(|t| t.len()) == Some(1)
                && r.tags()
                    .and_then(|t| t.get(crate::spec::OWNERSHIP_TAG))
                    .map(String::as_str)
                    == Some("s")
        })
        .then_output(|| TagResourceOutput::builder().build());
    let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&tag]);
    super::unit::adopt(&client, &Pacer::default(), arn, "s")
        .await
        .expect("tagged");
    assert_eq!(tag.num_calls(), 1);
}

/// Every API Gateway operation this kind calls gets the "concurrent modification" retry: the
/// retry's list is checked against the declaration, not kept beside it.
#[test]
fn every_declared_api_gateway_operation_is_retried_when_it_meets_a_concurrent_modification() {
    for operation in super::unit::OPERATIONS {
        assert!(
            crate::retry::API_GATEWAY_RETRIED.contains(&operation.name),
            "{} is declared but not in retry's list",
            operation.name
        );
    }
}

/// A listing is read to its last page, each page asked with the position the one before gave,
/// and ends at an empty page even if API Gateway keeps answering a position.
#[tokio::test]
async fn every_page_follows_positions_to_the_end_and_stops_at_an_empty_page() {
    use std::sync::Mutex;
    let pacer = Pacer::default();
    let asked = Mutex::new(Vec::new());
    let pages = |position: Option<String>| {
        asked.lock().unwrap().push(position.clone());
        async move {
            Ok(match position.as_deref() {
                None => (vec![1, 2], Some("p1".to_owned())),
                Some("p1") => (vec![3], Some("p2".to_owned())),
                Some(_) => (vec![4], None),
            })
        }
    };
    let all = super::read::every_page(&pacer, crate::pace::Quotas::General, pages)
        .await
        .unwrap();
    assert_eq!(all, [1, 2, 3, 4]);
    assert_eq!(
        *asked.lock().unwrap(),
        [None, Some("p1".to_owned()), Some("p2".to_owned())]
    );

    let endless = |_: Option<String>| async { Ok((Vec::<u8>::new(), Some("again".to_owned()))) };
    let all = super::read::every_page(&pacer, crate::pace::Quotas::General, endless)
        .await
        .unwrap();
    assert!(all.is_empty());
}

/// Replay of apply: the stack's `tags:` changed (a value changed, one removed). The API and its
/// stage each get one TagResource with the new value and one UntagResource with the key gone, on
/// their ARNs, shown in the plan as `tags` and `stage.tags`; nothing is deployed.
#[tokio::test]
async fn a_tags_change_tags_and_untags_the_api_and_its_stage_in_place() {
    use aws_sdk_apigateway::operation::{
        tag_resource::TagResourceOutput, untag_resource::UntagResourceOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let tags = |pairs: &[(&str, &str)]| -> crate::kinds::tags::Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let before = DesiredApi {
        tags: Some(tags(&[("team", "identity"), ("cost-center", "42")])),
        ..api(ROUTES)
    };
    let live = deployed(&before);
    let desired = DesiredApi {
        tags: Some(tags(&[("team", "platform")])),
        ..api(ROUTES)
    };
    let changes = diff(Some(&live), &desired);
    let Action::Update { changes: shown } = &changes.api else {
        panic!("expected the API updated: {:?}", changes.api)
    };
    assert_eq!(
        shown.iter().map(|c| c.field).collect::<Vec<_>>(),
        ["tags", "stage.tags"]
    );
    assert_eq!(changes.deployment, None);
    let api_arn = "arn:aws:apigateway:us-east-1::/restapis/a1";
    let stage_arn = "arn:aws:apigateway:us-east-1::/restapis/a1/stages/prod";
    let tag = |arn: &'static str| {
        mock!(aws_sdk_apigateway::Client::tag_resource)
            .match_requests(move |r| {
                r.resource_arn() == Some(arn)
                    && r.tags().cloned().unwrap_or_default()
                        == std::collections::HashMap::from([(
                            "team".to_owned(),
                            "platform".to_owned(),
                        )])
            })
            .then_output(|| TagResourceOutput::builder().build())
    };
    let untag = |arn: &'static str| {
        mock!(aws_sdk_apigateway::Client::untag_resource)
            .match_requests(move |r| {
                r.resource_arn() == Some(arn) && r.tag_keys() == ["cost-center".to_owned()]
            })
            .then_output(|| UntagResourceOutput::builder().build())
    };
    let rules = [
        tag(api_arn),
        untag(api_arn),
        tag(stage_arn),
        untag(stage_arn),
    ];
    let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, &rules);
    let ready: FunctionReady<'_> = &|_| Box::pin(async { Ok(()) });
    let slots = tokio::sync::Semaphore::new(1);
    apply(
        &client,
        &Pacer::default(),
        "s",
        &live,
        &desired,
        &changes,
        Schedule {
            slots: &slots,
            go_on: &|| Ok(()),
            ready,
            granted: &|| Box::pin(async { Ok(()) }),
        },
    )
    .await
    .expect("exactly these calls");
    for rule in &rules {
        assert_eq!(rule.num_calls(), 1);
    }
}

/// CreateAuthorizer at most once: its answer lost (a 502), the API's authorizers are read, and
/// the one it made is used; no second authorizer of the name is made.
#[tokio::test(start_paused = true)]
async fn an_authorizer_whose_create_answer_was_lost_is_found_not_made_twice() {
    use aws_sdk_apigateway::operation::{
        create_deployment::CreateDeploymentOutput, get_authorizers::GetAuthorizersOutput,
        update_stage::UpdateStageOutput,
    };
    use aws_sdk_apigateway::types::{Authorizer as Found, AuthorizerType};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let desired = api(ROUTES);
    let mut live = deployed(&desired);
    live.authorizers.clear();
    let changes = diff(Some(&live), &desired);
    assert_eq!(changes.authorizers["cognito"], Action::Create);
    let lost = mock!(aws_sdk_apigateway::Client::create_authorizer)
        .match_requests(|r| r.name() == Some("cognito"))
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(502).unwrap(),
                aws_smithy_types::body::SdkBody::from("Bad Gateway"),
            )
        });
    let listed = mock!(aws_sdk_apigateway::Client::get_authorizers)
        .match_requests(|r| r.rest_api_id() == Some("a1"))
        .then_output(|| {
            GetAuthorizersOutput::builder()
                .items(
                    Found::builder()
                        .id("au-made")
                        .name("cognito")
                        .r#type(AuthorizerType::CognitoUserPools)
                        .build(),
                )
                .build()
        });
    let deploy = mock!(aws_sdk_apigateway::Client::create_deployment)
        .then_output(|| CreateDeploymentOutput::builder().id("d2").build());
    let stage = mock!(aws_sdk_apigateway::Client::update_stage)
        .then_output(|| UpdateStageOutput::builder().build());
    let client = mock_client!(
        aws_sdk_apigateway,
        RuleMode::MatchAny,
        [&lost, &listed, &deploy, &stage]
    );
    let ready: FunctionReady<'_> = &|_| Box::pin(async { Ok(()) });
    let slots = tokio::sync::Semaphore::new(1);
    apply(
        &client,
        &Pacer::default(),
        "s",
        &live,
        &desired,
        &changes,
        Schedule {
            slots: &slots,
            go_on: &|| Ok(()),
            ready,
            granted: &|| Box::pin(async { Ok(()) }),
        },
    )
    .await
    .expect("the authorizer found, the API deployed");
    assert_eq!((lost.num_calls(), listed.num_calls()), (1, 1));
}

fn cors(origins: &[&str]) -> crate::spec::Cors {
    crate::spec::Cors {
        allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        allow_headers: vec!["Content-Type".to_owned(), "Authorization".to_owned()],
        allow_credentials: false,
        max_age: None,
    }
}

/// `api.cors`: a preflight on each resource with routes (none on a resource without), the
/// gateway responses, one deployment; removing it deletes them all and deploys again; an API
/// without CORS keeps the shape (and so the deployment) it had.
#[test]
fn cors_adds_preflights_and_gateway_responses_and_removing_it_takes_them_away() {
    let routes = [
        ("POST", "/sign-up", None),
        ("GET", "/users/{id}", Some("cognito")),
        ("DELETE", "/users/{id}", Some("cognito")),
    ];
    let plain = api(&routes);
    let with = with_cors(&routes, Some(cors(&["https://a.example"])));
    assert_ne!(plain.shape, with.shape);
    let preflights: Vec<&RouteKey> = with
        .methods
        .iter()
        .filter(|(_, m)| m.preflight.is_some())
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        preflights,
        [
            &("/sign-up".to_owned(), "OPTIONS".to_owned()),
            &("/users/{id}".to_owned(), "OPTIONS".to_owned())
        ]
    );
    let users = &with.methods[&("/users/{id}".to_owned(), "OPTIONS".to_owned())];
    assert_eq!(
        (users.authorization.as_str(), &users.authorizer),
        ("NONE", &None)
    );
    assert_eq!(
        users.preflight.as_ref().unwrap().headers["Access-Control-Allow-Methods"],
        "'DELETE,GET,OPTIONS'"
    );

    let added = diff(Some(&deployed(&plain)), &with);
    assert_eq!(
        added
            .routes
            .values()
            .filter(|a| **a == Action::Create)
            .count(),
        2
    );
    assert_eq!(
        added.gateway_responses,
        BTreeMap::from([
            ("DEFAULT_4XX".to_owned(), Action::Create),
            ("DEFAULT_5XX".to_owned(), Action::Create)
        ])
    );
    assert!(added.deployment.is_some());

    let settled = diff(Some(&deployed(&with)), &with);
    assert!(
        settled.deployment.is_none()
            && settled
                .gateway_responses
                .values()
                .all(|a| *a == Action::NoOp)
    );

    // Another origin: the preflights are put again, the gateway responses updated.
    let changed = with_cors(&routes, Some(cors(&["https://b.example"])));
    let moved = diff(Some(&deployed(&with)), &changed);
    assert!(
        moved
            .route_changes
            .values()
            .all(|c| c.contains(&RouteChange::Method))
    );
    assert_eq!(moved.route_changes.len(), 2);
    assert!(matches!(
        moved.gateway_responses["DEFAULT_4XX"],
        Action::Update { .. }
    ));

    let removed = diff(Some(&deployed(&with)), &plain);
    assert_eq!(
        removed
            .routes
            .values()
            .filter(|a| **a == Action::Delete)
            .count(),
        2
    );
    assert!(
        removed
            .gateway_responses
            .values()
            .all(|a| *a == Action::Delete)
    );
    assert!(removed.deployment.is_some());
}
