//! One module per resource kind: its comparable settings, the pure diff, and its AWS driver.
//! So far: the Cognito user pool, its app clients, the functions' IAM roles, the functions and
//! their API Gateway invoke permissions.
//! Log groups and the REST API follow the same shape.

pub mod function;
pub mod permission;
pub mod role;
pub mod user_pool;
pub mod user_pool_client;
