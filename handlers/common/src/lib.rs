//! What the four auth handlers share: reading a JSON body out of an API Gateway REST (v1) proxy event,
//! building proxy responses, mapping Cognito errors to honest HTTP statuses, and starting up.
//!
//! A handler is a plain async function `handle(&Ctx, ApiGatewayProxyRequest) -> ApiGatewayProxyResponse`:
//! every failure becomes a response here, so the Lambda runtime never sees an error for a bad request,
//! and tests call the function directly with real event fixtures.

mod body;
mod cognito;
pub mod cors;
mod response;
mod startup;

pub use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
pub use body::{MAX_BODY_BYTES, bearer_token, required_string_fields};
pub use cognito::{Operation, cognito_rejection, neutral_or_rejection};
pub use cors::Cors;
pub use response::{Rejection, json_response, tokens_response};
pub use startup::{Ctx, InitError, Refusal, client_id_from_env, cognito_client, run, run_trigger};
