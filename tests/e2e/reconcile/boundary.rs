//! `permissionsBoundary:` (an organization's rule): every role the stack creates carries it from
//! its create call; a change shows in `diff` and is applied in place; without the setting, a
//! role's boundary is left as it is.

use super::*;

async fn boundaries(aws: &Aws, stack: &str) -> BTreeSet<Option<String>> {
    let mut found = BTreeSet::new();
    for function in FUNCTIONS {
        let role = aws
            .iam
            .get_role()
            .role_name(role_name(stack, function))
            .send()
            .await
            .unwrap();
        found.insert(
            role.role()
                .and_then(|r| r.permissions_boundary())
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned),
        );
    }
    found
}

#[tokio::test]
async fn every_role_is_bounded_and_a_changed_boundary_is_set_in_place() {
    let aws = aws().await;
    let stack = support::unique("boundary");
    let bounded = |policy: &str| {
        support::write_stack(&[(
            "stack: auth-demo\n",
            &format!("stack: auth-demo\npermissionsBoundary: arn:aws:iam::aws:policy/{policy}\n"),
        )])
    };
    let power = "arn:aws:iam::aws:policy/PowerUserAccess";
    let read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let first = up(&bounded("PowerUserAccess"), &stack, &[]);
    assert_eq!(
        calls(&first, "IAM.PutRolePermissionsBoundary"),
        0,
        "set at create"
    );
    assert_eq!(
        boundaries(&aws, &stack).await,
        BTreeSet::from([Some(power.to_owned())])
    );

    let narrower = bounded("ReadOnlyAccess");
    let plan = diff(&narrower, &stack, 2);
    let roles: BTreeMap<String, String> = FUNCTIONS
        .iter()
        .map(|f| (format!("functions.{f}.role"), "update".to_owned()))
        .collect();
    assert_eq!(changed(&plan), roles, "{plan:#}");
    let report = up(&narrower, &stack, &[]);
    assert_eq!(
        calls(&report, "IAM.PutRolePermissionsBoundary"),
        FUNCTIONS.len() as u64
    );
    assert_eq!(calls(&report, "IAM.CreateRole"), 0);
    assert_eq!(
        boundaries(&aws, &stack).await,
        BTreeSet::from([Some(read_only.to_owned())])
    );

    // Without `permissionsBoundary:` a boundary is not managed: it stays (an organization may
    // have set it), and the plan is empty.
    let unbounded = support::write_stack(&[]);
    diff(&unbounded, &stack, 0);
    assert_eq!(
        boundaries(&aws, &stack).await,
        BTreeSet::from([Some(read_only.to_owned())])
    );
}

/// A boundary that does not exist is named by `diff`, and `up` makes nothing: IAM would refuse
/// every CreateRole part-way through the run.
#[tokio::test]
async fn a_boundary_that_does_not_exist_is_named_before_anything_is_made() {
    let aws = aws().await;
    let stack = support::unique("noboundary");
    let arn = "arn:aws:iam::123456789012:policy/no-such-boundary";
    let file = support::write_stack(&[(
        "stack: auth-demo\n",
        &format!("stack: auth-demo\npermissionsBoundary: {arn}\n"),
    )]);
    for command in [&["diff"][..], &["up", "--yes"]] {
        let ran = on_emulator(&file, &stack, command);
        assert_eq!(ran.code, Some(1), "{command:?}: {}", ran.stderr);
        // Said once, on the stack's first role.
        let said = format!("permissionsBoundary: the managed policy `{arn}` does not exist");
        assert!(
            ran.stderr
                .contains(&format!("functions.confirm.role: {said}"))
                && !ran
                    .stderr
                    .contains(&format!("functions.sign-up.role: {said}"))
                && ran.stderr.contains("hint: create the policy in IAM first"),
            "{command:?}: {}",
            ran.stderr
        );
    }
    for function in FUNCTIONS {
        let role = aws
            .iam
            .get_role()
            .role_name(role_name(&stack, function))
            .send()
            .await;
        assert!(
            role.is_err_and(|err| err.into_service_error().is_no_such_entity_exception()),
            "no role was made: {function}'s is there"
        );
    }
    assert!(
        !pool_named(&aws, &format!("{stack}-users")).await,
        "no pool was made"
    );
}
