//! One module per resource kind: its comparable settings, the pure diff, and its AWS driver.
//! So far: the Cognito user pool, its app clients, and the functions' IAM roles. Lambda functions,
//! log groups, permissions and the REST API follow the same shape.

pub mod role;
pub mod user_pool;
pub mod user_pool_client;
