use super::*;

fn settings() -> FunctionSettings {
    FunctionSettings {
        role_arn: "arn:aws:iam::123456789012:role/r".to_owned(),
        runtime: RUNTIME.to_owned(),
        handler: HANDLER.to_owned(),
        description: "d".to_owned(),
        memory_mb: 128,
        timeout_s: 10,
        architecture: "x86_64".to_owned(),
        environment: BTreeMap::from([("USER_POOL_CLIENT_ID".to_owned(), "abc".to_owned())]),
        code_sha256: "sha-1".to_owned(),
        tags: Tags::new(),
    }
}

fn calls(edit: impl FnOnce(&mut FunctionSettings)) -> (bool, bool) {
    let mut live = settings();
    edit(&mut live);
    match diff(&live, &settings()) {
        (Action::NoOp, changes) => {
            assert!(changes.is_empty());
            (false, false)
        }
        (Action::Update { .. }, changes) => (
            changes.contains(&FunctionChange::Code),
            changes.contains(&FunctionChange::Configuration),
        ),
        (other, _) => panic!("a function always changes in place, got {other:?}"),
    }
}

#[test]
fn code_changes_need_only_update_function_code_and_config_changes_only_configuration() {
    assert_eq!(calls(|_| {}), (false, false));
    assert_eq!(calls(|s| s.code_sha256 = "sha-0".to_owned()), (true, false));
    assert_eq!(calls(|s| s.timeout_s = 3), (false, true));
    assert_eq!(calls(|s| s.environment.clear()), (false, true));
    assert_eq!(calls(|s| s.role_arn = "other".to_owned()), (false, true));
    assert_eq!(
        calls(|s| {
            s.code_sha256 = "sha-0".to_owned();
            s.memory_mb = 256;
        }),
        (true, true)
    );
}

#[test]
fn readiness_follows_state_and_last_update_status() {
    let of = |state: State, update: Option<LastUpdateStatus>| {
        readiness(Some(&state), update.as_ref(), None, Some("boom"))
    };
    assert_eq!(
        of(State::Active, Some(LastUpdateStatus::Successful)),
        Readiness::Ready
    );
    assert_eq!(of(State::Inactive, None), Readiness::Ready);
    assert_eq!(
        of(State::Pending, None),
        Readiness::Busy("Pending".to_owned())
    );
    assert_eq!(
        of(State::Active, Some(LastUpdateStatus::InProgress)),
        Readiness::Busy("updating".to_owned())
    );
    assert_eq!(
        of(State::Failed, None),
        Readiness::Failed("Failed".to_owned(), "no reason given".to_owned())
    );
    assert_eq!(
        of(State::Active, Some(LastUpdateStatus::Failed)),
        Readiness::Failed("in a failed update".to_owned(), "boom".to_owned())
    );
}

/// GetFunction as AWS answers a caller without `lambda:ListTags`: no `Tags`, a `TagsError`.
fn get_function_without_tags() -> aws_sdk_lambda::operation::get_function::GetFunctionOutput {
    use aws_sdk_lambda::types::{FunctionConfiguration, TagsError};
    aws_sdk_lambda::operation::get_function::GetFunctionOutput::builder()
        .configuration(
            FunctionConfiguration::builder()
                .function_name("auth-demo-secret")
                .function_arn("arn:aws:lambda:us-east-1:123456789012:function:auth-demo-secret")
                .build(),
        )
        .tags_error(
            TagsError::builder()
                .error_code("AccessDeniedException")
                .message("User is not authorized to perform: lambda:ListTags")
                .build()
                .expect("both fields set"),
        )
        .build()
}

#[tokio::test]
async fn tags_hidden_from_get_function_are_read_with_list_tags() {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let get = mock!(Client::get_function).then_output(get_function_without_tags);
    let list = mock!(Client::list_tags)
        .match_requests(|req| {
            req.resource()
                == Some("arn:aws:lambda:us-east-1:123456789012:function:auth-demo-secret")
        })
        .then_http_response(|| {
            crate::replay::json_ok(serde_json::json!({
                "Tags": { "provisioner:stack": "auth-demo" }
            }))
        });
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get, &list]);
    let live = find(&client, "auth-demo-secret")
        .await
        .expect("tags read")
        .expect("the function exists");
    assert_eq!(live.owner.as_deref(), Some("auth-demo"));
    assert_eq!((get.num_calls(), list.num_calls()), (1, 1));
}

#[tokio::test]
async fn tags_that_cannot_be_read_are_an_error_never_someone_elses() {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let get = mock!(Client::get_function).then_output(get_function_without_tags);
    let list = mock!(Client::list_tags).then_http_response(|| {
        crate::replay::json_error(
            403,
            "AccessDeniedException",
            "User is not authorized to perform: lambda:ListTags",
        )
    });
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get, &list]);
    let err = find(&client, "auth-demo-secret")
        .await
        .expect_err("ownership unknown");
    assert_eq!(
        err.to_string(),
        "cannot read the tags of Lambda function `auth-demo-secret` (GetFunction answered AccessDeniedException; ListTags answered AccessDeniedException), so cannot tell whether this stack owns it\n\nhint: allow `lambda:ListTags` on `arn:aws:lambda:us-east-1:123456789012:function:auth-demo-secret` to the identity running provisioner"
    );
}

/// A function that takes updates: Active, its last update done.
fn settled() -> aws_sdk_lambda::operation::get_function::GetFunctionOutput {
    in_state(State::Active, LastUpdateStatus::Successful, None)
}

/// GetFunction's answer for a function in `state` whose last update is `update` (`reason`).
fn in_state(
    state: State,
    update: LastUpdateStatus,
    reason: Option<&str>,
) -> aws_sdk_lambda::operation::get_function::GetFunctionOutput {
    let configuration = aws_sdk_lambda::types::FunctionConfiguration::builder()
        .state(state)
        .last_update_status(update)
        .set_last_update_status_reason(reason.map(str::to_owned))
        .build();
    aws_sdk_lambda::operation::get_function::GetFunctionOutput::builder()
        .configuration(configuration)
        .build()
}

/// Replay: `changes` applied to function `f`, answered by `rules` in order; any other request
/// fails the call (aws-smithy-mocks answers only what a rule matches).
async fn apply_changes(
    changes: &FunctionChanges,
    rules: &[&aws_smithy_mocks::Rule],
) -> Result<(), FunctionError> {
    let client = aws_smithy_mocks::mock_client!(
        aws_sdk_lambda,
        aws_smithy_mocks::RuleMode::Sequential,
        rules.iter().copied()
    );
    let live = LiveFunction {
        name: "f".to_owned(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:f".to_owned(),
        owner: Some("s".to_owned()),
        settings: settings(),
        failed: None,
    };
    update(
        &client,
        &live,
        changes,
        &settings(),
        b"zip",
        Waits::default(),
        &crate::progress::Silent,
    )
    .await
}

#[tokio::test]
async fn no_change_makes_no_request() {
    apply_changes(&FunctionChanges::new(), &[])
        .await
        .expect("nothing to call");
}

/// A timeout change is one UpdateFunctionConfiguration carrying the whole configuration (it
/// resets what it is not sent), between waits for the function to settle; never the code.
#[tokio::test]
async fn a_configuration_change_is_one_call_with_the_whole_configuration() {
    use aws_smithy_mocks::mock;
    let before = mock!(Client::get_function).then_output(settled);
    let update = mock!(Client::update_function_configuration)
        .match_requests(|req| {
            let desired = settings();
            req.function_name() == Some("f")
                && req.role() == Some(desired.role_arn.as_str())
                && req.runtime().map(|r| r.as_str()) == Some(RUNTIME)
                && req.handler() == Some(HANDLER)
                && req.description() == Some("d")
                && req.memory_size() == Some(128)
                && req.timeout() == Some(10)
                && req
                    .environment()
                    .and_then(|e| e.variables())
                    .is_some_and(|v| v.get("USER_POOL_CLIENT_ID").map(String::as_str) == Some("abc"))
        })
        .then_output(|| {
            aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput::builder().build()
        });
    let after = mock!(Client::get_function).then_output(settled);
    apply_changes(
        &FunctionChanges::from([FunctionChange::Configuration]),
        &[&before, &update, &after],
    )
    .await
    .expect("the exact calls");
    assert_eq!(
        (before.num_calls(), update.num_calls(), after.num_calls()),
        (1, 1, 1)
    );
}

/// New code is one UpdateFunctionCode (with the architecture), and no configuration call.
#[tokio::test]
async fn a_code_change_is_one_update_function_code() {
    use aws_smithy_mocks::mock;
    let before = mock!(Client::get_function).then_output(settled);
    let code = mock!(Client::update_function_code)
        .match_requests(|req| {
            req.function_name() == Some("f")
                && req.zip_file().map(|z| z.as_ref()) == Some(&b"zip"[..])
                && req.architectures() == [LambdaArchitecture::X8664]
        })
        .then_output(|| {
            aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput::builder()
                .build()
        });
    let after = mock!(Client::get_function).then_output(settled);
    apply_changes(
        &FunctionChanges::from([FunctionChange::Code]),
        &[&before, &code, &after],
    )
    .await
    .expect("the exact calls");
    assert_eq!(code.num_calls(), 1);
}

/// Code and configuration both changed: the configuration first, so that the new code never runs
/// with the old configuration (an environment variable it reads), each between settle waits.
#[tokio::test]
async fn the_configuration_goes_before_the_code() {
    use aws_smithy_mocks::mock;
    let settle = || mock!(Client::get_function).then_output(settled);
    let (first, second, third, fourth) = (settle(), settle(), settle(), settle());
    let configuration = mock!(Client::update_function_configuration).then_output(|| {
        aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput::builder().build()
    });
    let code = mock!(Client::update_function_code).then_output(|| {
        aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput::builder().build()
    });
    // Sequential rules: any other order fails the call.
    apply_changes(
        &FunctionChanges::from([FunctionChange::Code, FunctionChange::Configuration]),
        &[&first, &configuration, &second, &third, &code, &fourth],
    )
    .await
    .expect("configuration, then code");
    assert_eq!((configuration.num_calls(), code.num_calls()), (1, 1));
}

/// Replay: right after CreateFunction, Lambda's reads may not see the function yet: the wait
/// takes a NotFound as "not visible yet" and polls on, instead of failing at once.
#[tokio::test(start_paused = true)]
async fn the_settle_wait_takes_a_function_not_visible_yet_as_busy() {
    use crate::replay::json_error;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let reads = mock!(Client::get_function)
        .sequence()
        .http_response(|| {
            json_error(
                404,
                "ResourceNotFoundException",
                "Function not found: arn:aws:lambda:us-east-1:1:function:f",
            )
        })
        .output(settled)
        .build();
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&reads]);
    wait_until_settled(
        &client,
        "f",
        Duration::from_secs(60),
        &crate::progress::Silent,
    )
    .await
    .expect("visible, then settled");
    assert_eq!(reads.num_calls(), 2);
}

/// Replay: a function whose last update failed (Lambda serves the version before it) gets the
/// update that repairs it, instead of a refusal before it is sent; a failed update after ours is
/// still reported, naming the function and Lambda's reason.
#[tokio::test]
async fn a_failed_last_update_is_repaired_by_the_next_update() {
    use aws_smithy_mocks::mock;
    let failed_before = || {
        in_state(
            State::Active,
            LastUpdateStatus::Failed,
            Some("The role cannot be assumed"),
        )
    };
    let before = mock!(Client::get_function).then_output(failed_before);
    let update = mock!(Client::update_function_configuration).then_output(|| {
        aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput::builder().build()
    });
    let after = mock!(Client::get_function).then_output(settled);
    apply_changes(
        &FunctionChanges::from([FunctionChange::Configuration]),
        &[&before, &update, &after],
    )
    .await
    .expect("the repairing update is sent");
    assert_eq!(update.num_calls(), 1);

    // Our own update failing is reported.
    let before = mock!(Client::get_function).then_output(settled);
    let update = mock!(Client::update_function_configuration).then_output(|| {
        aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput::builder().build()
    });
    let after = mock!(Client::get_function).then_output(failed_before);
    let err = apply_changes(
        &FunctionChanges::from([FunctionChange::Configuration]),
        &[&before, &update, &after],
    )
    .await
    .expect_err("the update failed");
    assert_eq!(
        err.to_string(),
        "Lambda function `f` is in a failed update: The role cannot be assumed"
    );
}

/// A role that becomes assumable 4 s after the first try: the call goes through within half a
/// second of it (a doubling backoff tried at 4.25 s, then 8.28 s), and the interval grows with the
/// calls waiting so that all of them stay within Lambda's rate.
#[tokio::test(start_paused = true)]
async fn a_refused_create_is_tried_again_at_a_short_even_interval() {
    use aws_smithy_types::error::ErrorMetadata;
    let started = tokio::time::Instant::now();
    let attempts = std::sync::Mutex::new(Vec::new());
    let mut waiting = Waiting::new(&crate::progress::Silent, "f", None);
    let result: Result<(), ErrorMetadata> =
        retry_while_role_propagates(Duration::from_secs(120), &mut waiting, || {
            let at = started.elapsed();
            attempts.lock().unwrap().push(at);
            async move {
                if at < Duration::from_secs(4) {
                    Err(ErrorMetadata::builder()
                        .code("InvalidParameterValueException")
                        .message("The role defined for the function cannot be assumed by Lambda.")
                        .build())
                } else {
                    Ok(())
                }
            }
        })
        .await;
    assert!(result.is_ok());
    let last = *attempts.lock().unwrap().last().unwrap();
    assert!(last <= Duration::from_millis(4500), "{last:?}");
    assert_eq!(propagation_interval(1), Duration::from_millis(500));
    assert_eq!(propagation_interval(50), Duration::from_secs(5));
}
