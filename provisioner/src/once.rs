//! Creates that must happen at most once. CreateRestApi, CreateUserPool and CreateUserPoolClient
//! are not idempotent (names are not unique there): if the SDK retried one whose answer was lost
//! (a reset, a timeout, a 5xx after the work was done), AWS would make a second API, pool or
//! client, and the next run would find two of ours and stop. So these calls go out with the SDK's
//! retries off, and [`create_at_most_once`] retries them itself: an answer that says the call was
//! refused (4xx) means nothing was made, so it retries what any call would be retried after
//! (throttling, API Gateway's "concurrent modification" while an API settles) and no more; after
//! one that leaves the outcome unknown, it first looks for what the call would have made, and
//! creates again only if it is not there.

use std::future::Future;
use std::time::Duration;

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// The per-call configuration that turns the SDK's retries off, for the service crate `$sdk`: what
/// every create given to [`create_at_most_once`] is sent with (`.customize().config_override(..)`).
macro_rules! sdk_retries_off {
    ($sdk:ident) => {
        $sdk::config::Builder::default().retry_config($sdk::config::retry::RetryConfig::disabled())
    };
}
pub(crate) use sdk_retries_off;

/// How many times a create is sent at most.
const ATTEMPTS: u32 = 4;

/// How long to let a create of unknown outcome show in the service's listings before looking for
/// it: list calls are eventually consistent, and a look too soon would make a second one.
const SETTLE_BEFORE_LOOKING: Duration = Duration::from_secs(2);

/// What a failed call says about whether it took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused by the service: nothing was made. Retryable: throttled, or refused while
    /// something settles (worth another try, as any call would get).
    Refused { retryable: bool },
    /// No answer, or a 5xx: the work may have been done.
    Unknown,
}

/// Reads a failed call's outcome from its error.
pub fn outcome<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Outcome {
    match err {
        SdkError::ConstructionFailure(_) => Outcome::Refused { retryable: false },
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let (code, message) = (service.err().code(), service.err().message());
            let throttled = status == 429
                || matches!(
                    code,
                    Some("ThrottlingException" | "TooManyRequestsException" | "Throttling")
                );
            let settling = crate::retry::api_gateway_settling(code, message);
            if throttled || settling {
                Outcome::Refused { retryable: true }
            } else if status >= 500 {
                Outcome::Unknown
            } else {
                Outcome::Refused { retryable: false }
            }
        }
        // Dispatch failures (a reset mid-request), timeouts, unreadable answers.
        _ => Outcome::Unknown,
    }
}

/// Why a create made at most once failed.
#[derive(Debug)]
pub enum Failed<C, F> {
    /// The create's own error (refused, or still unknown after every attempt).
    Create(C),
    /// Looking for what a create of unknown outcome made failed.
    Find(F),
}

/// Runs `create` (sent with the SDK's retries off) until it succeeds, is refused, or its attempts
/// run out; after an unknown outcome, `find` looks for what it would have made first.
pub async fn create_at_most_once<T, E, Create, CreateFut, Find, FindFut, FindErr>(
    create: Create,
    find: Find,
) -> Result<T, Failed<SdkError<E, HttpResponse>, FindErr>>
where
    E: ProvideErrorMetadata,
    Create: Fn() -> CreateFut,
    CreateFut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    Find: Fn() -> FindFut,
    FindFut: Future<Output = Result<Option<T>, FindErr>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match create().await {
            Ok(made) => return Ok(made),
            Err(err) => err,
        };
        let last = attempt >= ATTEMPTS;
        match outcome(&err) {
            Outcome::Refused { retryable: false } => return Err(Failed::Create(err)),
            Outcome::Refused { retryable: true } if last => return Err(Failed::Create(err)),
            Outcome::Refused { retryable: true } => {}
            Outcome::Unknown => {
                tokio::time::sleep(SETTLE_BEFORE_LOOKING).await;
                if let Some(made) = find().await.map_err(Failed::Find)? {
                    return Ok(made);
                }
                if last {
                    return Err(Failed::Create(err));
                }
            }
        }
        // Exponential backoff: 200 ms, 400 ms, 800 ms.
        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use aws_sdk_cognitoidentityprovider::operation::create_user_pool::CreateUserPoolError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    type Error = SdkError<CreateUserPoolError, HttpResponse>;

    fn answered(status: u16, code: &str) -> Error {
        answered_saying(status, code, "")
    }

    fn answered_saying(status: u16, code: &str, message: &str) -> Error {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(
            CreateUserPoolError::generic(meta),
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
        )
    }

    fn reset() -> Error {
        SdkError::dispatch_failure(ConnectorError::io("connection reset".into()))
    }

    /// Runs a create whose answers are `answers` (then success), with `found` as what a look finds;
    /// returns the result and how many creates and looks were made.
    async fn run(
        answers: Vec<Error>,
        found: Option<&'static str>,
    ) -> (Result<&'static str, String>, u32, u32) {
        let (creates, looks) = (AtomicU32::new(0), AtomicU32::new(0));
        let answers = std::sync::Mutex::new(answers.into_iter());
        let result = create_at_most_once(
            || async {
                creates.fetch_add(1, Ordering::Relaxed);
                match answers.lock().unwrap().next() {
                    Some(err) => Err(err),
                    None => Ok("created"),
                }
            },
            || async {
                looks.fetch_add(1, Ordering::Relaxed);
                Ok::<_, String>(found)
            },
        )
        .await
        .map_err(|failed| match failed {
            Failed::Create(err) => format!("create: {:?}", outcome(&err)),
            Failed::Find(err) => err,
        });
        (
            result,
            creates.load(Ordering::Relaxed),
            looks.load(Ordering::Relaxed),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_without_looking() {
        let throttled = || answered(400, "TooManyRequestsException");
        assert_eq!(
            run(vec![throttled(), throttled()], None).await,
            (Ok("created"), 3, 0)
        );
    }

    /// A definite answer that any call would be retried after: nothing was made, so the create
    /// is sent again, without looking (API Gateway's conflict while an API settles, as its
    /// CreateRestApi answers it under load).
    #[tokio::test(start_paused = true)]
    async fn a_conflict_while_settling_is_retried_and_a_real_conflict_is_not() {
        let settling = || {
            answered_saying(
                409,
                "ConflictException",
                "Unable to complete operation due to concurrent modification. Please try again later.",
            )
        };
        assert_eq!(
            run(vec![settling(), settling()], None).await,
            (Ok("created"), 3, 0)
        );
        let real = answered_saying(409, "ConflictException", "Name already exists");
        assert_eq!(
            run(vec![real], None).await,
            (Err("create: Refused { retryable: false }".to_owned()), 1, 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_lost_answer_what_was_made_is_found_not_made_again() {
        // A 5xx and a reset leave the outcome unknown: look first.
        assert_eq!(
            run(vec![answered(503, "ServiceUnavailable")], Some("found")).await,
            (Ok("found"), 1, 1)
        );
        assert_eq!(run(vec![reset()], None).await, (Ok("created"), 2, 1));
    }

    /// The look for what a create of unknown outcome made waits for the listings to show it.
    #[tokio::test(start_paused = true)]
    async fn the_look_after_a_lost_answer_waits_for_the_listings() {
        let started = tokio::time::Instant::now();
        let looked_at = std::sync::Mutex::new(None);
        let made = create_at_most_once(
            || async { Err::<&str, _>(reset()) },
            || async {
                *looked_at.lock().unwrap() = Some(started.elapsed());
                Ok::<_, String>(Some("found"))
            },
        )
        .await;
        assert!(matches!(made, Ok("found")));
        let looked_at = looked_at.lock().unwrap().expect("looked");
        assert!(looked_at >= SETTLE_BEFORE_LOOKING, "{looked_at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_final_and_attempts_are_bounded() {
        assert_eq!(
            run(vec![answered(400, "InvalidParameterException")], None).await,
            (Err("create: Refused { retryable: false }".to_owned()), 1, 0)
        );
        let resets = (0..ATTEMPTS).map(|_| reset()).collect();
        assert_eq!(
            run(resets, None).await,
            (Err("create: Unknown".to_owned()), ATTEMPTS, ATTEMPTS)
        );
    }
}
