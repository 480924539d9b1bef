//! API Gateway invoke permissions on a function, against the emulator: added per route, read back
//! equal, and drift (a statement removed, a foreign one added) repaired.

use provisioner::kinds::function::{self, FunctionSettings, Waits};
use provisioner::kinds::permission::{self, Grants};
use provisioner::kinds::role::{self, RoleSettings};
use provisioner::package;
use provisioner::plan::Action;
use provisioner::spec::Route;

use crate::support;

#[tokio::test]
async fn statements_per_route_are_added_read_back_and_repaired() {
    let config = support::sdk_config().await;
    let (lambda, iam) = (
        aws_sdk_lambda::Client::new(&config),
        aws_sdk_iam::Client::new(&config),
    );
    let stack = support::unique("permission");
    let loaded_stack = support::repo_stack(&stack);
    let function = &loaded_stack.functions["secret"];
    let role_arn = role::create(
        &iam,
        (&stack, support::REGION),
        &function.role_name(support::REGION),
        &function.description,
        &RoleSettings::desired(None, "aws"),
    )
    .await
    .unwrap();
    let zip = package::zip::bootstrap_zip(b"code").unwrap();
    let settings = FunctionSettings::desired(
        function,
        Default::default(),
        &role_arn,
        &package::code_sha256(&zip),
        &Default::default(),
    );
    function::create(
        &lambda,
        &stack,
        &function.physical_name,
        &settings,
        &zip,
        Waits::default(),
        &provisioner::progress::Silent,
    )
    .await
    .unwrap();

    let mut routes: Vec<Route> = loaded_stack
        .api
        .as_ref()
        .unwrap()
        .routes
        .iter()
        .filter(|r| r.function == "secret")
        .cloned()
        .collect();
    routes.push(Route {
        scopes: Vec::new(),
        path: "/users/{id}".to_owned(),
        method: "GET".to_owned(),
        function: "secret".to_owned(),
        authorizer: None,
    });
    let target = provisioner::aws::Target {
        region: support::REGION.to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:sts::123456789012:user/moto".to_owned(),
    };
    let desired = permission::desired(&routes, &target, "abc123");
    assert_eq!(desired.len(), 2);

    let live = permission::find(&lambda, &function.physical_name)
        .await
        .unwrap();
    assert_eq!(live, Grants::new());
    permission::update(
        &lambda,
        &function.physical_name,
        &permission::diff(&live, &desired).1,
        &desired,
    )
    .await
    .unwrap();
    let live = permission::find(&lambda, &function.physical_name)
        .await
        .unwrap();
    assert_eq!(live, desired, "read back exactly as granted");
    let sources: Vec<&str> = live.values().map(|g| g.source_arn.as_str()).collect();
    assert_eq!(
        sources,
        [
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/secret",
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/users/*",
        ]
    );

    // Behind our back: one statement removed, a foreign one added.
    let removed = live.keys().next().unwrap().clone();
    lambda
        .remove_permission()
        .function_name(&function.physical_name)
        .statement_id(&removed)
        .send()
        .await
        .unwrap();
    lambda
        .add_permission()
        .function_name(&function.physical_name)
        .statement_id("added-by-hand")
        .principal("s3.amazonaws.com")
        .action("lambda:InvokeFunction")
        .send()
        .await
        .unwrap();
    let drifted = permission::find(&lambda, &function.physical_name)
        .await
        .unwrap();
    assert!(
        matches!(permission::diff(&drifted, &desired).0, Action::Update { changes } if changes.len() == 2)
    );
    permission::update(
        &lambda,
        &function.physical_name,
        &permission::diff(&drifted, &desired).1,
        &desired,
    )
    .await
    .unwrap();
    let repaired = permission::find(&lambda, &function.physical_name)
        .await
        .unwrap();
    assert_eq!(permission::diff(&repaired, &desired).0, Action::NoOp);
}
