//! One error for every AWS call that failed: the service, what was being done, the resource in
//! a user's words, and AWS's answer as its source, as AWS sent it (its code and message: the SDK
//! shows an error it does not model, `AccessDenied` say, as "unhandled error" and drops the
//! message, which names the action and resource refused). Whether an answer means "no such
//! resource" is decided here, once per service ([`ServiceError::is_not_found`]).

use std::borrow::Cow;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

use crate::operations::Service;

/// A service's SDK error: which service it is, and which of its answers say the resource named
/// does not exist.
pub trait ServiceError:
    std::error::Error + ProvideErrorMetadata + RequestId + Send + Sync + 'static
{
    const SERVICE: Service;

    /// The answer says the resource (or the part of it the call named) does not exist.
    fn is_not_found(&self) -> bool;
}

impl ServiceError for aws_sdk_cognitoidentityprovider::Error {
    const SERVICE: Service = Service::Cognito;
    fn is_not_found(&self) -> bool {
        matches!(self, Self::ResourceNotFoundException(_))
    }
}

impl ServiceError for aws_sdk_iam::Error {
    const SERVICE: Service = Service::Iam;
    fn is_not_found(&self) -> bool {
        matches!(self, Self::NoSuchEntityException(_))
    }
}

impl ServiceError for aws_sdk_lambda::Error {
    const SERVICE: Service = Service::Lambda;
    fn is_not_found(&self) -> bool {
        matches!(self, Self::ResourceNotFoundException(_))
    }
}

impl ServiceError for aws_sdk_apigateway::Error {
    const SERVICE: Service = Service::ApiGateway;
    fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFoundException(_))
    }
}

impl ServiceError for aws_sdk_cloudwatchlogs::Error {
    const SERVICE: Service = Service::Logs;
    fn is_not_found(&self) -> bool {
        matches!(self, Self::ResourceNotFoundException(_))
    }
}

/// A call to AWS that failed.
#[derive(Debug)]
pub struct AwsError {
    pub service: Service,
    /// What was being done, in words (`create`, `read the tags of`, `delete method GET /x of`).
    pub action: Cow<'static, str>,
    /// The resource, as a user knows it (``IAM role `use1-auth-demo-secret` ``).
    pub resource: String,
    not_found: bool,
    answer: Box<Answer>,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed to {} {}", self.action, self.resource)
    }
}

impl std::error::Error for AwsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The answer itself, not its box: so that the chain's causes downcast to `Answer`.
        Some(self.answer.as_ref())
    }
}

/// AWS's answer as it sent it: `code: message`, over the SDK's error.
#[derive(Debug)]
pub struct Answer {
    /// The service (as the SDK names it: `Lambda`) and the API operation (`CreateFunction`) that
    /// failed, when known.
    service: &'static str,
    operation: Option<String>,
    /// AWS's error code (`AccessDeniedException`), when it sent one.
    code: Option<String>,
    /// The id of AWS's answer, for AWS support.
    request_id: Option<String>,
    text: String,
    sdk: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Answer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.code {
            // AWS answered: `text` is all of it (under it is only the same code and message).
            Some(_) => None,
            // No answer: what lies under the SDK's error (a connection refused, a timeout).
            None => self.sdk.source(),
        }
    }
}

impl Answer {
    /// The service, as the SDK names it (`Lambda`, `CognitoIdentityProvider`).
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The API operation that failed (`CreateFunction`), when known.
    pub fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }

    /// AWS's error code (`AccessDeniedException`), when it sent one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The id of AWS's answer, for AWS support.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// AWS refused the call: the identity running the tool may not make it. (A kind's error that
    /// wraps an [`AwsError`] transparently shows this answer, not the `AwsError`, in its chain.)
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        )
    }
}

impl AwsError {
    /// `err`, answered by `E`'s service while doing `action` to `resource`.
    pub fn new<E: ServiceError>(
        action: impl Into<Cow<'static, str>>,
        resource: impl Into<String>,
        err: E,
    ) -> AwsError {
        let code = err.code().map(str::to_owned);
        let text = match (&code, err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, _) => err.to_string(),
        };
        AwsError {
            service: E::SERVICE,
            action: action.into(),
            resource: resource.into(),
            not_found: err.is_not_found(),
            answer: Box::new(Answer {
                service: E::SERVICE.sdk_name(),
                operation: None,
                request_id: err.request_id().map(str::to_owned),
                code,
                text,
                sdk: Box::new(err),
            }),
        }
    }

    /// For `map_err`: what an SDK call's error becomes, doing `action` to `resource`.
    pub fn of<E: ServiceError, F: Into<E>>(
        action: impl Into<Cow<'static, str>>,
        resource: impl Into<String>,
    ) -> impl FnOnce(F) -> AwsError {
        let (action, resource) = (action.into(), resource.into());
        move |err| {
            let mut error = AwsError::new::<E>(action, resource, err.into());
            error.answer.operation = operation_of(std::any::type_name::<F>());
            error
        }
    }

    /// AWS answered that the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.not_found
    }

    /// AWS's error code (`AccessDeniedException`), when it sent one.
    pub fn code(&self) -> Option<&str> {
        self.answer.code()
    }

    /// The id of AWS's answer, for AWS support.
    pub fn request_id(&self) -> Option<&str> {
        self.answer.request_id()
    }

    /// AWS refused the call: the identity running the tool may not make it.
    pub fn is_access_denied(&self) -> bool {
        self.answer.is_access_denied()
    }
}

/// The API operation of an SDK error type's name: `...::operation::create_function::...` is
/// `CreateFunction`.
fn operation_of(type_name: &str) -> Option<String> {
    let module = type_name
        .split("::operation::")
        .nth(1)?
        .split("::")
        .next()?;
    let camel: String = module
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    (!camel.is_empty()).then_some(camel)
}

/// A call's result with "no such resource" as `None`: for reads of what may be absent, and for
/// deletes, where it is what was wanted.
pub fn absent_as_none<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_services_not_found_answer_is_recognised_and_others_are_not() {
        use aws_sdk_iam::types::error::{NoSuchEntityException, ServiceFailureException};
        let gone = AwsError::new::<aws_sdk_iam::Error>(
            "delete",
            "IAM role `x`",
            aws_sdk_iam::Error::NoSuchEntityException(NoSuchEntityException::builder().build()),
        );
        assert!(gone.is_not_found());
        assert_eq!(gone.service, Service::Iam);
        assert_eq!(gone.to_string(), "failed to delete IAM role `x`");
        let failing =
            aws_sdk_iam::Error::ServiceFailureException(ServiceFailureException::builder().build());
        let failing = AwsError::new::<aws_sdk_iam::Error>("delete", "IAM role `x`", failing);
        assert!(!failing.is_not_found());
        assert!(absent_as_none::<()>(Err(gone)).is_ok_and(|v| v.is_none()));
        assert!(absent_as_none::<()>(Err(failing)).is_err());

        let api = aws_sdk_apigateway::Error::NotFoundException(
            aws_sdk_apigateway::types::error::NotFoundException::builder().build(),
        );
        assert!(AwsError::new("delete", "REST API `x`", api).is_not_found());
        let logs = aws_sdk_cloudwatchlogs::Error::ResourceNotFoundException(
            aws_sdk_cloudwatchlogs::types::error::ResourceNotFoundException::builder().build(),
        );
        assert!(AwsError::new("delete", "log group `x`", logs).is_not_found());
        let lambda = aws_sdk_lambda::Error::ResourceNotFoundException(
            aws_sdk_lambda::types::error::ResourceNotFoundException::builder().build(),
        );
        assert!(AwsError::new("delete", "Lambda function `x`", lambda).is_not_found());
        let cognito = aws_sdk_cognitoidentityprovider::Error::ResourceNotFoundException(
            aws_sdk_cognitoidentityprovider::types::error::ResourceNotFoundException::builder()
                .build(),
        );
        assert!(AwsError::new("delete", "user pool `x`", cognito).is_not_found());
    }
}

#[cfg(test)]
mod operation_tests {
    #[test]
    fn the_operation_is_read_from_the_sdk_error_type() {
        assert_eq!(
            super::operation_of(std::any::type_name::<
                aws_sdk_lambda::error::SdkError<
                    aws_sdk_lambda::operation::get_function::GetFunctionError,
                >,
            >())
            .as_deref(),
            Some("GetFunction")
        );
        assert_eq!(super::operation_of("aws_sdk_lambda::Error"), None);
    }
}
