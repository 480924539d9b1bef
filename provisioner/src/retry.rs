//! Errors AWS answers while a resource settles, which the SDK's standard retry mode does not
//! retry (they are neither throttling nor 5xx), and which Terraform's AWS provider retries on
//! every call that can meet them. Each is a retry classifier on its service's client, so every
//! call site gets it, with the standard mode's bound (attempts) and exponential backoff with jitter.
//!
//! | service | answer | when |
//! | --- | --- | --- |
//! | API Gateway | `ConflictException` "... concurrent modification. Please try again later." | under load, after recent changes to the API (other `ConflictException`s are real conflicts) |
//! | IAM | `DeleteConflict` on `DeleteRole` | right after its policies were detached or deleted |
//! | IAM | `ConcurrentModification` | two changes to one role at once (attach, detach, put) |
//! | Lambda | `ResourceConflictException` on `AddPermission` / `RemovePermission` | the function's policy or the function is being updated |
//! | CloudWatch Logs | `OperationAbortedException` | concurrent changes to one log group |
//!
//! Each error is matched through its operation's typed error and the SDK's own error parsing
//! (`ProvideErrorMetadata`), never by reading response bodies here.

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::interceptors::context::{Error, InterceptorContext};
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

/// The code and message of an operation error, if it is one of `$ty`.
macro_rules! metadata_of {
    ($error:expr, [$($ty:ty),+ $(,)?]) => {{
        let error: &Error = $error;
        None$(.or_else(|| error.downcast_ref::<$ty>().map(|e| (e.code(), e.message()))))+
    }};
}

/// A classifier that marks the errors `is_transient` recognizes as transient.
#[derive(Debug, Clone, Copy)]
pub struct SettlingConflicts {
    name: &'static str,
    is_transient: fn(&Error) -> bool,
}

impl ClassifyRetry for SettlingConflicts {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(err)) => match err.as_operation_error() {
                Some(error) if (self.is_transient)(error) => RetryAction::transient_error(),
                _ => RetryAction::NoActionIndicated,
            },
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// The API Gateway operations whose typed errors `api_gateway` reads, by name, from one list.
macro_rules! api_gateway_operations {
    ($($name:literal => $module:ident::$error:ident),+ $(,)?) => {
        /// Every API Gateway operation whose "concurrent modification" conflict is retried. A
        /// test checks it holds every API Gateway operation the tool declares (`operations`).
        pub const API_GATEWAY_RETRIED: &[&str] = &[$($name),+];

        /// The operation module of each name above, as written (a test checks they agree).
        #[cfg(test)]
        const API_GATEWAY_MODULES: &[&str] = &[$(stringify!($module)),+];

        fn api_gateway_metadata(error: &Error) -> Option<(Option<&str>, Option<&str>)> {
            use aws_sdk_apigateway::operation::*;
            metadata_of!(error, [$($module::$error),+])
        }
    };
}

api_gateway_operations! {
    "CreateAuthorizer" => create_authorizer::CreateAuthorizerError,
    "CreateDeployment" => create_deployment::CreateDeploymentError,
    "CreateResource" => create_resource::CreateResourceError,
    "CreateRestApi" => create_rest_api::CreateRestApiError,
    "CreateStage" => create_stage::CreateStageError,
    "DeleteAuthorizer" => delete_authorizer::DeleteAuthorizerError,
    "DeleteMethod" => delete_method::DeleteMethodError,
    "DeleteResource" => delete_resource::DeleteResourceError,
    "DeleteRestApi" => delete_rest_api::DeleteRestApiError,
    "PutIntegration" => put_integration::PutIntegrationError,
    "PutMethod" => put_method::PutMethodError,
    "PutMethodResponse" => put_method_response::PutMethodResponseError,
    "PutIntegrationResponse" => put_integration_response::PutIntegrationResponseError,
    "GetGatewayResponses" => get_gateway_responses::GetGatewayResponsesError,
    "PutGatewayResponse" => put_gateway_response::PutGatewayResponseError,
    "DeleteGatewayResponse" => delete_gateway_response::DeleteGatewayResponseError,
    "UpdateStage" => update_stage::UpdateStageError,
    "TagResource" => tag_resource::TagResourceError,
    "UntagResource" => untag_resource::UntagResourceError,
    "GetAuthorizers" => get_authorizers::GetAuthorizersError,
    "GetDeployment" => get_deployment::GetDeploymentError,
    "GetResources" => get_resources::GetResourcesError,
    "GetRestApis" => get_rest_apis::GetRestApisError,
    "GetStage" => get_stage::GetStageError,
}

/// API Gateway: `ConflictException` with the "concurrent modification" message, on any call.
pub fn api_gateway() -> SettlingConflicts {
    SettlingConflicts {
        name: "provisioner::ApiGatewayConcurrentModification",
        is_transient: |error| {
            api_gateway_metadata(error)
                .is_some_and(|(code, message)| api_gateway_settling(code, message))
        },
    }
}

/// API Gateway's answer while an API settles: its "concurrent modification" conflict (other
/// `ConflictException`s are real conflicts). Also what `once` retries a create after.
pub fn api_gateway_settling(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ConflictException")
        && message.is_some_and(|m| m.to_ascii_lowercase().contains("concurrent modification"))
}

/// API Gateway says when a throttled call may be tried again: `Retry-After` (seconds) on its 429
/// (`TooManyRequestsException`) and 503 answers. The SDK reads only `x-amz-retry-after`, so this
/// puts API Gateway's delay on the retry the SDK's own classifiers decided (never deciding one
/// itself); the standard mode still bounds it (by its maximum backoff).
#[derive(Debug, Clone, Copy)]
pub struct RetryAfter;

impl ClassifyRetry for RetryAfter {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryReason;
        let RetryAction::RetryIndicated(RetryReason::RetryableError {
            kind,
            retry_after: None,
        }) = previous
        else {
            return RetryAction::NoActionIndicated;
        };
        let seconds = ctx
            .response()
            .and_then(|response| response.headers().get("retry-after"))
            .and_then(|value| value.trim().parse::<u64>().ok());
        match seconds {
            Some(seconds) => RetryAction::retryable_error_with_explicit_delay(
                *kind,
                std::time::Duration::from_secs(seconds),
            ),
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "provisioner::ApiGatewayRetryAfter"
    }

    /// After every classifier that decides whether to retry.
    fn priority(
        &self,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryClassifierPriority {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryClassifierPriority;
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// IAM: `DeleteConflict` on `DeleteRole`; `ConcurrentModification` on the calls that change a role.
pub fn iam() -> SettlingConflicts {
    SettlingConflicts {
        name: "provisioner::IamSettling",
        is_transient: |error| {
            use aws_sdk_iam::operation::*;
            if let Some(delete) = error.downcast_ref::<delete_role::DeleteRoleError>() {
                return matches!(
                    delete.code(),
                    Some("DeleteConflict" | "ConcurrentModification")
                );
            }
            let metadata = metadata_of!(
                error,
                [
                    attach_role_policy::AttachRolePolicyError,
                    detach_role_policy::DetachRolePolicyError,
                    put_role_policy::PutRolePolicyError,
                    delete_role_policy::DeleteRolePolicyError,
                    create_role::CreateRoleError,
                    update_assume_role_policy::UpdateAssumeRolePolicyError,
                ]
            );
            matches!(metadata, Some((Some("ConcurrentModification"), _)))
        },
    }
}

/// Lambda: `ResourceConflictException` on `AddPermission` and `RemovePermission`.
pub fn lambda() -> SettlingConflicts {
    SettlingConflicts {
        name: "provisioner::LambdaPolicySettling",
        is_transient: |error| {
            use aws_sdk_lambda::operation::*;
            let metadata = metadata_of!(
                error,
                [
                    add_permission::AddPermissionError,
                    remove_permission::RemovePermissionError,
                ]
            );
            // Not "The statement id (...) provided already exists": that is no update in
            // progress, and never settles (the caller decides whether it is its own statement).
            matches!(metadata, Some((Some("ResourceConflictException"), message))
                if !message.is_some_and(statement_exists))
        },
    }
}

/// Lambda's answer to AddPermission with a statement id the policy already has.
pub fn statement_exists(message: &str) -> bool {
    message.contains("already exists")
}

/// CloudWatch Logs: `OperationAbortedException` on the calls that change a log group.
pub fn logs() -> SettlingConflicts {
    SettlingConflicts {
        name: "provisioner::LogsOperationAborted",
        is_transient: |error| {
            use aws_sdk_cloudwatchlogs::operation::*;
            let metadata = metadata_of!(
                error,
                [
                    create_log_group::CreateLogGroupError,
                    delete_log_group::DeleteLogGroupError,
                    put_retention_policy::PutRetentionPolicyError,
                    tag_resource::TagResourceError,
                ]
            );
            matches!(metadata, Some((Some("OperationAbortedException"), _)))
        },
    }
}

#[cfg(test)]
mod tests {
    //! Each client is built as `aws::Clients` builds it (its classifier, the standard mode) and
    //! answered as AWS answers on the wire: status, error-type header and body, parsed by the SDK.

    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use crate::replay::{json_error, json_ok, quick, xml_error};

    /// Each retried operation's name is its typed error's operation (`CreateStage` with
    /// `create_stage::CreateStageError`): the two halves of the list cannot drift apart.
    #[test]
    fn the_api_gateway_names_match_their_typed_errors() {
        for (name, module) in super::API_GATEWAY_RETRIED
            .iter()
            .zip(super::API_GATEWAY_MODULES)
        {
            let mut snake = String::new();
            for (i, ch) in name.chars().enumerate() {
                if ch.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(ch.to_ascii_lowercase());
            }
            assert_eq!(&snake, module);
        }
    }

    const CONCURRENT: &str =
        "Unable to complete operation due to concurrent modification. Please try again later.";

    #[tokio::test]
    async fn api_gateway_concurrent_modification_is_retried_and_other_conflicts_are_not() {
        use aws_sdk_apigateway::Client;
        let settles = mock!(Client::create_resource)
            .sequence()
            .http_response(|| json_error(409, "ConflictException", CONCURRENT))
            .output(|| {
                aws_sdk_apigateway::operation::create_resource::CreateResourceOutput::builder()
                    .id("r1")
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&settles], |c| c
            .retry_config(quick())
            .retry_classifier(super::api_gateway()));
        let created = client
            .create_resource()
            .rest_api_id("api")
            .parent_id("root")
            .path_part("sign-up")
            .send()
            .await
            .expect("retried after the concurrent modification");
        assert_eq!((created.id(), settles.num_calls()), (Some("r1"), 2));

        // A real conflict (the resource exists) is not retried.
        let exists = mock!(Client::create_resource).then_http_response(|| {
            json_error(
                409,
                "ConflictException",
                "Another resource with the same parent already has this name: sign-up",
            )
        });
        let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&exists], |c| c
            .retry_config(quick())
            .retry_classifier(super::api_gateway()));
        let err = client
            .create_resource()
            .rest_api_id("api")
            .parent_id("root")
            .path_part("sign-up")
            .send()
            .await
            .expect_err("a real conflict fails");
        assert!(err.into_service_error().is_conflict_exception());
        assert_eq!(exists.num_calls(), 1);
    }

    /// API Gateway's `Retry-After` becomes the delay of the retry the SDK decided; it never makes
    /// an answer retried by itself, nor replaces a delay the SDK has.
    #[test]
    fn api_gateway_retry_after_is_the_delay_of_a_throttled_retry() {
        use aws_smithy_runtime_api::client::interceptors::context::{Input, InterceptorContext};
        use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::retry::ErrorKind;
        use std::time::Duration;
        let answered = |retry_after: Option<&str>| {
            let mut ctx = InterceptorContext::new(Input::doesnt_matter());
            let mut response =
                Response::new(StatusCode::try_from(429).unwrap(), SdkBody::from("{}"));
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert("Retry-After", value.to_owned());
            }
            ctx.set_response(response);
            ctx
        };
        let throttled = RetryAction::throttling_error();
        assert_eq!(
            super::RetryAfter.classify_retry_v2(&answered(Some("3")), &throttled),
            RetryAction::retryable_error_with_explicit_delay(
                ErrorKind::ThrottlingError,
                Duration::from_secs(3)
            )
        );
        for (ctx, previous) in [
            (answered(Some("3")), RetryAction::NoActionIndicated),
            (answered(None), throttled.clone()),
            (
                answered(Some("Wed, 21 Oct 2026 07:28:00 GMT")),
                throttled.clone(),
            ),
            (
                answered(Some("3")),
                RetryAction::retryable_error_with_explicit_delay(
                    ErrorKind::ThrottlingError,
                    Duration::from_secs(1),
                ),
            ),
        ] {
            assert_eq!(
                super::RetryAfter.classify_retry_v2(&ctx, &previous),
                RetryAction::NoActionIndicated
            );
        }
    }

    /// A throttled API Gateway call waits what its `Retry-After` says before its retry (in
    /// tokio's paused time: the delay is read, not measured on this machine), and only a
    /// moment without the classifier.
    #[tokio::test(start_paused = true)]
    async fn api_gateway_throttling_waits_its_retry_after() {
        use aws_sdk_apigateway::Client;
        use std::time::Duration;
        let waited = |with_retry_after: bool| async move {
            let throttled = mock!(Client::get_rest_apis)
                .sequence()
                .http_response(|| {
                    let mut response =
                        json_error(429, "TooManyRequestsException", "Too Many Requests");
                    response.headers_mut().insert("Retry-After", "7");
                    response
                })
                .output(|| {
                    aws_sdk_apigateway::operation::get_rest_apis::GetRestApisOutput::builder()
                        .build()
                })
                .build();
            let retry = quick().with_max_backoff(Duration::from_secs(30));
            let client = mock_client!(
                aws_sdk_apigateway,
                RuleMode::Sequential,
                [&throttled],
                |c| {
                    let c = c
                        .retry_config(retry.clone())
                        .retry_classifier(super::api_gateway());
                    if with_retry_after {
                        c.retry_classifier(super::RetryAfter)
                    } else {
                        c
                    }
                }
            );
            let start = tokio::time::Instant::now();
            client.get_rest_apis().send().await.expect("retried");
            assert_eq!(throttled.num_calls(), 2);
            start.elapsed()
        };
        // The standard mode takes the server's delay whole (up to its maximum backoff) or, in
        // its newer retry behaviour, at most 5 s above its own backoff: either way seconds.
        let with = waited(true).await;
        assert!(with >= Duration::from_secs(5), "{with:?}");
        let without = waited(false).await;
        assert!(without < Duration::from_secs(1), "{without:?}");
    }

    #[tokio::test]
    async fn api_gateway_retries_are_bounded() {
        use aws_sdk_apigateway::Client;
        let never = mock!(Client::create_deployment)
            .sequence()
            .http_response(|| json_error(409, "ConflictException", CONCURRENT))
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&never], |c| c
            .retry_config(quick())
            .retry_classifier(super::api_gateway()));
        let err = client
            .create_deployment()
            .rest_api_id("api")
            .send()
            .await
            .expect_err("still conflicting after every attempt");
        assert!(err.into_service_error().is_conflict_exception());
        assert_eq!(
            never.num_calls(),
            4,
            "the standard mode's attempts, no more"
        );
    }

    #[tokio::test]
    async fn iam_delete_conflict_after_detaching_is_retried() {
        use aws_sdk_iam::Client;
        let settles = mock!(Client::delete_role)
            .sequence()
            .http_response(|| {
                xml_error(
                    409,
                    "DeleteConflict",
                    "Cannot delete entity, must detach all policies first.",
                )
            })
            .times(2)
            .output(|| aws_sdk_iam::operation::delete_role::DeleteRoleOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&settles], |c| c
            .retry_config(quick())
            .retry_classifier(super::iam()));
        client
            .delete_role()
            .role_name("auth-demo-secret-role")
            .send()
            .await
            .expect("retried until IAM settled");
        assert_eq!(settles.num_calls(), 3);

        let attach = mock!(Client::attach_role_policy)
            .sequence()
            .http_response(|| xml_error(409, "ConcurrentModification", "Rate exceeded for role"))
            .output(|| {
                aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput::builder()
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&attach], |c| c
            .retry_config(quick())
            .retry_classifier(super::iam()));
        client
            .attach_role_policy()
            .role_name("r")
            .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
            .send()
            .await
            .expect("retried");
        assert_eq!(attach.num_calls(), 2);
    }

    #[tokio::test]
    async fn lambda_add_permission_conflict_is_retried() {
        use aws_sdk_lambda::Client;
        let settles = mock!(Client::add_permission)
            .sequence()
            .http_response(|| json_error(409, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:f"))
            .http_response(|| json_ok(serde_json::json!({ "Statement": "{}" })))
            .build();
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&settles], |c| c
            .retry_config(quick())
            .retry_classifier(super::lambda()));
        client
            .add_permission()
            .function_name("f")
            .statement_id("s")
            .action("lambda:InvokeFunction")
            .principal("apigateway.amazonaws.com")
            .send()
            .await
            .expect("retried after the policy update");
        assert_eq!(settles.num_calls(), 2);
    }

    #[tokio::test]
    async fn logs_operation_aborted_is_retried() {
        use aws_sdk_cloudwatchlogs::Client;
        let settles = mock!(Client::delete_log_group)
            .sequence()
            .http_response(|| {
                let mut response = json_error(
                    400,
                    "OperationAbortedException",
                    "Multiple concurrent requests to update the same resource were in conflict.",
                );
                response
                    .headers_mut()
                    .insert("Content-Type", "application/x-amz-json-1.1");
                response
            })
            .output(|| {
                aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupOutput::builder()
                    .build()
            })
            .build();
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&settles],
            |c| c.retry_config(quick()).retry_classifier(super::logs())
        );
        client
            .delete_log_group()
            .log_group_name("/aws/lambda/f")
            .send()
            .await
            .expect("retried");
        assert_eq!(settles.num_calls(), 2);
    }
}
