//! One stack name in two regions of one account: each region's `up`, `diff` and `down` sees and
//! touches only its own resources, its IAM roles (IAM is global) included; a role the stack made
//! before roles were per region is reported and kept, never deleted.

use super::*;

async fn role_tags(aws: &Aws, name: &str) -> Option<BTreeMap<String, String>> {
    let role = aws.iam.get_role().role_name(name).send().await.ok()?;
    Some(
        role.role()?
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
    )
}

#[tokio::test]
async fn two_regions_of_one_stack_never_touch_each_others_roles() {
    let aws = aws().await;
    let stack = support::unique("regions");
    let file = support::write_stack(&[]);
    let eu = ["--region", "eu-west-1"];

    // A role of the stack from before roles were per region: the stack's tag, no region's.
    let legacy = format!("{stack}-secret-role");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    aws.iam
        .create_role()
        .role_name(&legacy)
        .assume_role_policy_document(trust.to_string())
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("provisioner:stack")
                .value(&stack)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    up(&file, &stack, &[]);
    up(&file, &stack, &eu);
    for function in FUNCTIONS {
        let east = role_tags(&aws, &role_name(&stack, function)).await;
        let west = role_tags(&aws, &format!("euw1-{stack}-{function}")).await;
        for (tags, region) in [(east, "us-east-1"), (west, "eu-west-1")] {
            let tags = tags.unwrap_or_else(|| panic!("{function}'s role in {region}"));
            assert_eq!(tags["provisioner:stack"], stack);
            assert_eq!(tags["provisioner:region"], region);
        }
    }
    let plan = diff(&file, &stack, 0);
    let kept = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == legacy.as_str())
        .unwrap_or_else(|| panic!("the old role is reported: {plan:#}"));
    assert_eq!(kept["action"], "noOp", "{kept:#}");
    assert!(
        kept["note"]
            .as_str()
            .unwrap()
            .contains("earlier provisioner"),
        "{kept:#}"
    );
    json_from(
        &file,
        &stack,
        &["diff", "--json", "--region", "eu-west-1"],
        0,
    );

    // `down` in eu-west-1 deletes its own roles and none of us-east-1's.
    let report = json_from(
        &file,
        &stack,
        &["down", "--yes", "--json", "--region", "eu-west-1"],
        0,
    );
    let deleted: Vec<&str> = report["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "iamRole")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(deleted.len(), super::FUNCTIONS.len(), "{report:#}");
    assert!(
        deleted.iter().all(|n| n.starts_with("euw1-")),
        "{deleted:?}"
    );
    for function in FUNCTIONS {
        assert!(
            role_tags(&aws, &format!("euw1-{stack}-{function}"))
                .await
                .is_none(),
            "{function}'s eu-west-1 role is gone"
        );
        assert!(
            role_tags(&aws, &role_name(&stack, function))
                .await
                .is_some()
        );
    }
    assert!(
        role_tags(&aws, &legacy).await.is_some(),
        "the old role is kept"
    );
    diff(&file, &stack, 0);
    let east = up(&file, &stack, &[]);
    assert!(writes(&east).is_empty(), "{east:#}");
}
