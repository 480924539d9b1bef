//! One module per resource kind: its comparable settings, the pure diff, and its AWS driver.
//! So far: the Cognito user pool. App clients, IAM roles, Lambda functions, log groups,
//! permissions and the REST API follow the same shape.

pub mod user_pool;
