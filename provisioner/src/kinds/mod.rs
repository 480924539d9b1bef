//! One module per resource kind: its comparable settings, the pure diff, and its AWS driver.
//! So far: the Cognito user pool and its app clients; per function its IAM role, log group,
//! Lambda function and API Gateway invoke permissions. The REST API follows the same shape.

pub mod function;
pub mod log_group;
pub mod permission;
pub mod rest_api;
pub mod role;
pub mod tags;
pub mod triggers;
pub mod user_pool;
pub mod user_pool_client;
