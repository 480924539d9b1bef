//! The order `down` deletes in.

use crate::spec::ResourceId;

/// `down` deletes a function's log group only once its role is gone (no invocation left can
/// make the group again).
#[test]
fn down_deletes_a_log_group_after_its_role() {
    let waits = super::run::down_waits(&crate::spec::testing::repo_stack());
    let (group, role) = (
        ResourceId::LogGroup {
            function: "secret".to_owned(),
        },
        ResourceId::Role {
            function: "secret".to_owned(),
        },
    );
    assert!(waits[&group].contains(&role), "{waits:?}");
}
