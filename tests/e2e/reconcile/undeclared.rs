//! What stack.yaml no longer declares is deleted, and a stack whose name is a prefix is not.

use super::*;

#[tokio::test]
async fn what_stack_yaml_no_longer_declares_is_deleted_and_a_prefixed_stack_is_not() {
    let aws = aws().await;
    let stack = support::unique("gone");
    // Its functions are named `<stack>-x-...`: they share this stack's name prefix, not its tag.
    let neighbour = format!("{stack}-x");
    let file = support::write_stack(&[]);
    up(&file, &stack, &[]);
    up(&file, &neighbour, &[]);

    let without_secret = support::write_stack(&[
        ("  secret:\n    crate: handlers/secret\n", ""),
        (
            "    GET /secret: { function: secret, authorizer: cognito }\n",
            "",
        ),
    ]);
    let plan = diff(&without_secret, &stack, 2);
    assert_eq!(
        changed(&plan),
        BTreeMap::from(
            [
                ("functions.secret", "delete"),
                ("functions.secret.logGroup", "delete"),
                ("functions.secret.role", "delete"),
                ("api.resources./secret", "delete"),
                ("api.routes.GET /secret", "delete"),
                ("api.routes.OPTIONS /secret", "delete"),
                ("api.deployment", "create"),
                ("api.stages.prod", "update"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        ),
        "{plan:#}"
    );
    let report = up(&without_secret, &stack, &[]);
    assert_eq!(calls(&report, "Lambda.DeleteFunction"), 1);
    assert!(
        aws.lambda
            .get_function()
            .function_name(format!("{stack}-secret"))
            .send()
            .await
            .is_err()
    );
    assert!(
        aws.iam
            .get_role()
            .role_name(role_name(&stack, "secret"))
            .send()
            .await
            .is_err()
    );
    diff(&without_secret, &stack, 0);
    // The neighbour is whole.
    diff(&file, &neighbour, 0);

    json_from(
        &without_secret,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
    json_from(
        &file,
        &neighbour,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}
