//! The log group kind against the emulator: created tagged with its retention, found, drift in
//! retention repaired, a pre-existing group tolerated, deleted twice.

use provisioner::kinds::log_group;
use provisioner::plan::Action;

use crate::support;

#[tokio::test]
async fn a_log_group_is_created_with_retention_found_repaired_and_deleted() {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&support::sdk_config().await);
    let stack = support::unique("logs");
    let name = log_group::log_group_name(&format!("{stack}-sign-up"));
    assert_eq!(log_group::find(&logs, &name).await.unwrap(), None);

    log_group::create(&logs, (&stack, &Default::default()), &name, 14)
        .await
        .unwrap();
    let live = log_group::find(&logs, &name)
        .await
        .unwrap()
        .expect("the created group");
    assert!(live.owned_by(&stack), "{live:?}");
    assert_eq!(live.retention_days, Some(14));
    assert_eq!(
        log_group::diff(
            live.retention_days,
            14,
            &Default::default(),
            &Default::default()
        ),
        Action::NoOp
    );
    // A second create (a re-run after a crash) is not an error.
    log_group::create(&logs, (&stack, &Default::default()), &name, 14)
        .await
        .unwrap();

    logs.delete_retention_policy()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    let drifted = log_group::find(&logs, &name).await.unwrap().unwrap();
    assert!(matches!(
        log_group::diff(
            drifted.retention_days,
            14,
            &Default::default(),
            &Default::default()
        ),
        Action::Update { .. }
    ));
    log_group::set_retention(&logs, &name, 14).await.unwrap();
    assert_eq!(
        log_group::find(&logs, &name)
            .await
            .unwrap()
            .unwrap()
            .retention_days,
        Some(14)
    );

    log_group::delete(&logs, &name).await.unwrap();
    assert_eq!(log_group::find(&logs, &name).await.unwrap(), None);
    log_group::delete(&logs, &name)
        .await
        .expect("deleting a log group that is gone is done");
}
