//! Every AWS operation the tool calls, by who declares it: the session, the lock, each kind. The
//! deploy identity's policy (`provisioner policy`) is derived from these, and the e2e suite refuses
//! any call not here. Apart from `engine`, so that listing the lock's operations makes no circle.

use crate::kinds::{
    function, log_group, permission, rest_api, role, triggers, user_pool, user_pool_client,
};
use crate::operations::Operation;

pub fn declared() -> Vec<(&'static str, &'static [Operation])> {
    vec![
        ("session", crate::aws::OPERATIONS),
        ("lock", crate::lock::OPERATIONS),
        ("logs", crate::function_logs::OPERATIONS),
        ("userPool", user_pool::unit::OPERATIONS),
        ("userPoolClient", user_pool_client::unit::OPERATIONS),
        ("iamRole", role::unit::OPERATIONS),
        ("logGroup", log_group::unit::OPERATIONS),
        ("lambdaFunction", function::unit::OPERATIONS),
        ("lambdaPermissions", permission::unit::OPERATIONS),
        ("userPoolTriggers", triggers::unit::OPERATIONS),
        ("restApi", rest_api::unit::OPERATIONS),
    ]
}

/// Whether some part declares the operation `key` (`Lambda.CreateFunction`, as `calls` counts it).
pub fn is_declared(key: &str) -> bool {
    declared()
        .iter()
        .flat_map(|(_, operations)| operations.iter())
        .any(|operation| operation.key() == key)
}
