//! `tags:` (an organization's rule): every taggable resource the stack makes carries them from
//! its create call, beside the ownership tags; a change (a value changed, a tag added, one
//! removed) shows in `diff` on each resource and is applied in place. The stack here has no API:
//! the emulator cannot tag a REST API after it is made (its TagResource answers 404), so the API's
//! tag changes are replayed in its unit tests.

use super::*;

/// The repository's stack without its `api:` section, with `tags` (YAML lines) at the top (none
/// for an empty string).
pub(crate) fn tagged_stack(tags: &str) -> std::path::PathBuf {
    let api = std::fs::read_to_string(support::repo_root().join("stack.yaml"))
        .unwrap()
        .split_once("\napi:\n")
        .map(|(_, api)| format!("api:\n{api}"))
        .expect("stack.yaml has an api section");
    let top = if tags.is_empty() {
        "stack: auth-demo\n".to_owned()
    } else {
        format!("stack: auth-demo\ntags:\n{tags}")
    };
    support::write_stack(&[("stack: auth-demo\n", &top), (&api, "")])
}

/// The stack's tags on each taggable resource (the ownership tags aside), by address.
async fn tags_of(
    aws: &Aws,
    stack: &str,
    pool_id: &str,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mine = |pairs: Vec<(String, String)>| -> BTreeMap<String, String> {
        pairs
            .into_iter()
            .filter(|(k, _)| !k.starts_with("provisioner:"))
            .collect()
    };
    let mut found = BTreeMap::new();
    for function in FUNCTIONS {
        let name = format!("{stack}-{function}");
        let role = aws
            .iam
            .get_role()
            .role_name(role_name(stack, function))
            .send()
            .await
            .unwrap();
        let role_tags = role
            .role()
            .unwrap()
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        found.insert(format!("functions.{function}.role"), mine(role_tags));
        let got = aws
            .lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        let function_tags = got
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        found.insert(format!("functions.{function}"), mine(function_tags));
        let arn = format!(
            "arn:aws:logs:{}:123456789012:log-group:/aws/lambda/{name}",
            support::REGION
        );
        let listed = aws
            .logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let group_tags = listed
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        found.insert(format!("functions.{function}.logGroup"), mine(group_tags));
    }
    let pool = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .unwrap();
    let pool_tags = pool
        .user_pool()
        .unwrap()
        .user_pool_tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    found.insert("userPools.users".to_owned(), mine(pool_tags));
    found
}

fn every(tags: &[(&str, &str)]) -> BTreeMap<String, BTreeMap<String, String>> {
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut every: BTreeMap<String, BTreeMap<String, String>> = FUNCTIONS
        .iter()
        .flat_map(|f| {
            [
                format!("functions.{f}"),
                format!("functions.{f}.role"),
                format!("functions.{f}.logGroup"),
            ]
        })
        .map(|address| (address, tags.clone()))
        .collect();
    every.insert("userPools.users".to_owned(), tags);
    every
}

#[tokio::test]
async fn every_resource_carries_the_tags_and_a_change_is_applied_in_place() {
    let aws = aws().await;
    let stack = support::unique("tags");
    let first = tagged_stack("  team: identity\n  cost-center: \"42\"\n");
    let report = up(&first, &stack, &[]);
    let pool_id = report["outputs"]["userPoolId"]
        .as_str()
        .unwrap_or_else(|| panic!("no pool id in {report:#}"))
        .to_owned();
    // Tagged in the create calls: no tagging call of its own.
    for operation in [
        "IAM.TagRole",
        "Lambda.TagResource",
        "CloudWatchLogs.TagResource",
    ] {
        assert_eq!(calls(&report, operation), 0, "{operation}: {report:#}");
    }
    assert_eq!(
        tags_of(&aws, &stack, &pool_id).await,
        every(&[("team", "identity"), ("cost-center", "42")])
    );
    diff(&first, &stack, 0);

    // A value changed, a tag added, one removed: every resource shows `tags`, in place.
    let second = tagged_stack("  team: platform\n  owner: ada\n");
    let plan = diff(&second, &stack, 2);
    let updated: BTreeMap<String, String> = every(&[])
        .into_keys()
        .map(|address| (address, "update".to_owned()))
        .collect();
    assert_eq!(changed(&plan), updated, "{plan:#}");
    let role = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "functions.secret.role")
        .unwrap();
    assert_eq!(role["changes"][0]["field"], "tags", "{role:#}");
    let human = on_emulator(&second, &stack, &["diff"]);
    assert!(
        human.stdout.contains(
            r#"tags: {cost-center: "42", team: identity} -> {owner: ada, team: platform}"#
        ),
        "{}",
        human.stdout
    );
    let report = up(&second, &stack, &[]);
    for created in [
        "IAM.CreateRole",
        "Lambda.CreateFunction",
        "CognitoIdentityProvider.CreateUserPool",
    ] {
        assert_eq!(calls(&report, created), 0, "in place: {created}");
    }
    // The lock's group only.
    assert_eq!(calls(&report, "CloudWatchLogs.CreateLogGroup"), 1);
    let functions = FUNCTIONS.len() as u64;
    assert_eq!(calls(&report, "IAM.UntagRole"), functions, "{report:#}");
    assert_eq!(
        calls(&report, "Lambda.UntagResource"),
        functions,
        "{report:#}"
    );
    assert_eq!(
        calls(&report, "CloudWatchLogs.UntagResource"),
        functions,
        "{report:#}"
    );
    assert_eq!(
        tags_of(&aws, &stack, &pool_id).await,
        every(&[("team", "platform"), ("owner", "ada")])
    );
    diff(&second, &stack, 0);

    // `tags:` removed: the stack's tags go, the ownership tags stay.
    let untagged = tagged_stack("  {}\n");
    let plan = diff(&untagged, &stack, 2);
    // The pool, and each function with its role and log group.
    assert_eq!(changed(&plan).len(), 1 + 3 * FUNCTIONS.len(), "{plan:#}");
    up(&untagged, &stack, &[]);
    assert_eq!(tags_of(&aws, &stack, &pool_id).await, every(&[]));
    diff(&untagged, &stack, 0);

    // Without `tags:`, tags are not managed: one set by someone else stays, and is no drift.
    aws.iam
        .tag_role()
        .role_name(role_name(&stack, "secret"))
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("owner")
                .value("ops")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let unmanaged = tagged_stack("");
    diff(&unmanaged, &stack, 0);
    up(&unmanaged, &stack, &[]);
    assert_eq!(
        tags_of(&aws, &stack, &pool_id).await["functions.secret.role"],
        BTreeMap::from([("owner".to_owned(), "ops".to_owned())])
    );
    on_emulator(&untagged, &stack, &["down", "--yes", "--delete-data"]);
}
