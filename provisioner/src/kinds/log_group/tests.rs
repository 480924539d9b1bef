use super::*;

#[test]
fn retention_kept_forever_or_different_is_an_update() {
    assert_eq!(
        log_group_name("auth-demo-sign-up"),
        "/aws/lambda/auth-demo-sign-up"
    );
    assert_eq!(diff(Some(14), 14), Action::NoOp);
    assert!(
        matches!(diff(None, 14), Action::Update { changes } if changes[0].live == "never expire" && changes[0].desired == "14")
    );
    assert!(matches!(diff(Some(30), 14), Action::Update { .. }));
}
