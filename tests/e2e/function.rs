//! The Lambda function kind against the emulator: created tagged and Active, read back equal
//! (CodeSha256 included), a code-only change is code-only, drift repaired, the role-propagation
//! retry bounded, deleted twice. The emulator never runs the code, so a small zip stands in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use provisioner::kinds::function::{self, FunctionError, FunctionSettings, Waits};
use provisioner::kinds::function::{FunctionChange, FunctionChanges};
use provisioner::kinds::role::{self, RoleSettings};
use provisioner::package;
use provisioner::plan::Action;
use provisioner::progress::{Progress, Silent};
use provisioner::spec::Function;

use crate::support;

fn sign_up(stack: &str) -> Function {
    support::repo_stack(stack).functions["sign-up"].clone()
}

fn environment() -> BTreeMap<String, String> {
    BTreeMap::from([("USER_POOL_CLIENT_ID".to_owned(), "client-123".to_owned())])
}

#[tokio::test]
async fn a_function_is_created_updated_by_code_and_by_configuration_and_deleted() {
    let config = support::sdk_config().await;
    let (lambda, iam) = (
        aws_sdk_lambda::Client::new(&config),
        aws_sdk_iam::Client::new(&config),
    );
    let stack = support::unique("function");
    let function = sign_up(&stack);
    let role_arn = role::create(
        &iam,
        (&stack, support::REGION),
        &function.role_name(support::REGION),
        &function.description,
        &RoleSettings::desired(None, "aws"),
    )
    .await
    .unwrap();

    let zip = package::zip::bootstrap_zip(b"version one: the emulator never runs this").unwrap();
    let desired = FunctionSettings::desired(
        &function,
        environment(),
        &role_arn,
        &package::code_sha256(&zip),
        &Default::default(),
    );
    assert_eq!(
        function::find(&lambda, &function.physical_name)
            .await
            .unwrap(),
        None
    );
    let arn = function::create(
        &lambda,
        &stack,
        &function.physical_name,
        &desired,
        &zip,
        Waits::default(),
        &Silent,
    )
    .await
    .unwrap();
    assert_eq!(
        arn,
        format!(
            "arn:aws:lambda:{}:123456789012:function:{}",
            support::REGION,
            function.physical_name
        )
    );

    let live = function::find(&lambda, &function.physical_name)
        .await
        .unwrap()
        .unwrap();
    assert!(live.owned_by(&stack));
    assert_eq!(
        live.settings, desired,
        "read back equal, CodeSha256 included"
    );
    assert_eq!(
        (
            live.settings.runtime.as_str(),
            live.settings.handler.as_str()
        ),
        ("provided.al2023", "bootstrap")
    );

    // New code only: exactly an UpdateFunctionCode.
    let zip = package::zip::bootstrap_zip(b"version two").unwrap();
    let desired = FunctionSettings {
        code_sha256: package::code_sha256(&zip),
        ..desired
    };
    let (Action::Update { .. }, changes) = function::diff(&live.settings, &desired) else {
        panic!("expected an update")
    };
    assert_eq!(changes, FunctionChanges::from([FunctionChange::Code]));
    function::update(
        &lambda,
        &live,
        &changes,
        &desired,
        &zip,
        Waits::default(),
        &Silent,
    )
    .await
    .unwrap();
    let live = function::find(&lambda, &function.physical_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(function::diff(&live.settings, &desired).0, Action::NoOp);

    // A timeout changed in the console: a configuration update puts it back.
    lambda
        .update_function_configuration()
        .function_name(&function.physical_name)
        .timeout(3)
        .send()
        .await
        .unwrap();
    let drifted = function::find(&lambda, &function.physical_name)
        .await
        .unwrap()
        .unwrap();
    let (Action::Update { changes: shown }, changes) = function::diff(&drifted.settings, &desired)
    else {
        panic!("expected an update")
    };
    assert_eq!(
        (shown.len(), shown[0].field, shown[0].live.as_str()),
        (1, "timeout", "3")
    );
    assert_eq!(
        changes,
        FunctionChanges::from([FunctionChange::Configuration])
    );
    function::update(
        &lambda,
        &drifted,
        &changes,
        &desired,
        &zip,
        Waits::default(),
        &Silent,
    )
    .await
    .unwrap();
    let live = function::find(&lambda, &function.physical_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(function::diff(&live.settings, &desired).0, Action::NoOp);

    function::delete(&lambda, &function.physical_name)
        .await
        .unwrap();
    assert_eq!(
        function::find(&lambda, &function.physical_name)
            .await
            .unwrap(),
        None
    );
    function::delete(&lambda, &function.physical_name)
        .await
        .expect("deleting a function that is gone is done");
}

/// Records the waits it is told of.
#[derive(Debug, Default)]
struct Recorded(std::sync::Mutex<Vec<String>>);

impl Progress for Recorded {
    fn started(&self, _entry: &provisioner::plan::Entry) {}
    fn applied(&self, _entry: &provisioner::plan::Entry, _took: Duration) {}
    fn failed(&self, _entry: &provisioner::plan::Entry, _took: Duration) {}
    fn waiting(&self, subject: &str, reason: &str, _waited: Duration, limit: Option<Duration>) {
        let limit = limit.map_or(String::new(), |l| format!(", limit {} s", l.as_secs()));
        self.0
            .lock()
            .unwrap()
            .push(format!("{subject}: {reason}{limit}"));
    }
}

/// The emulator answers a missing role with the error real AWS gives while a new role propagates:
/// create retries it, for no longer than allowed, then fails naming the function.
#[tokio::test]
async fn a_role_lambda_cannot_assume_is_retried_within_a_bound_then_reported() {
    let lambda = aws_sdk_lambda::Client::new(&support::sdk_config().await);
    let stack = support::unique("function-norole");
    let function = sign_up(&stack);
    let zip = package::zip::bootstrap_zip(b"code").unwrap();
    let missing_role = format!(
        "arn:aws:iam::123456789012:role/{}",
        function.role_name(support::REGION)
    );
    let desired = FunctionSettings::desired(
        &function,
        environment(),
        &missing_role,
        &package::code_sha256(&zip),
        &Default::default(),
    );
    let waits = Waits {
        role_propagation: Duration::from_secs(4),
        ..Waits::default()
    };
    let progress = Recorded::default();
    let started = Instant::now();
    let err = function::create(
        &lambda,
        &stack,
        &function.physical_name,
        &desired,
        &zip,
        waits,
        &progress,
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "gave up after {:?} without retrying",
        started.elapsed()
    );
    // The wait said what it waited for, and its bound.
    assert_eq!(
        *progress.0.lock().unwrap(),
        [format!(
            "Lambda function `{}`: IAM to let Lambda assume its new role (propagation), limit 4 s",
            function.physical_name
        )]
    );
    assert!(
        matches!(
            &err,
            FunctionError::Aws(aws) if aws.action == "create"
                && aws.service == provisioner::operations::Service::Lambda
                && aws.code() == Some("InvalidParameterValueException")
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "failed to create Lambda function `{}`",
            function.physical_name
        )
    );
    assert_eq!(
        function::find(&lambda, &function.physical_name)
            .await
            .unwrap(),
        None
    );
}
