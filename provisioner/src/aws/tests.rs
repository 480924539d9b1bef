use super::*;

#[tokio::test]
async fn flags_override_the_chain() {
    let config = sdk_config(&AwsOptions {
        region: Some("eu-west-3".to_owned()),
        profile: None,
        endpoint_url: Some("http://127.0.0.1:1".to_owned()),
    })
    .await
    .expect("valid options");
    assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
    assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
    let timeouts = config.timeout_config().expect("timeouts are set");
    assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(10)));
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(Duration::from_secs(120))
    );
    assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(8));
}

#[test]
fn an_aws_error_anywhere_in_the_chain_gives_its_request_id() {
    use aws_sdk_lambda::error::ErrorMetadata;
    use aws_sdk_lambda::types::error::ResourceNotFoundException;
    let answered = ResourceNotFoundException::builder()
        .message("Function not found")
        .meta(
            ErrorMetadata::builder()
                .code("ResourceNotFoundException")
                .custom("aws_request_id", "0b1c-request")
                .build(),
        )
        .build();
    let err = anyhow::Error::new(aws_sdk_lambda::Error::ResourceNotFoundException(answered))
        .context("failed to read Lambda function `auth-demo-secret`")
        .context("functions.secret: reading");
    assert_eq!(request_id(&err).as_deref(), Some("0b1c-request"));
    assert_eq!(request_id(&anyhow::anyhow!("not from AWS")), None);
}

/// An error AWS answers that the SDK does not model (IAM's `AccessDenied`) keeps AWS's code,
/// message and request id through `AwsError`, even wrapped transparently by a kind's error; and
/// it reads as AWS wrote it, never as "unhandled error".
#[test]
fn an_unmodelled_refusal_keeps_awss_words_and_request_id() {
    use aws_sdk_iam::error::ErrorMetadata;
    let meta = ErrorMetadata::builder()
        .code("AccessDenied")
        .message("User: arn:aws:iam::1:user/d is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::1:role/r")
        .custom("aws_request_id", "5a7e-request")
        .build();
    let sdk = aws_sdk_iam::Error::from(
        aws_sdk_iam::operation::create_role::CreateRoleError::generic(meta),
    );
    let refused = AwsError::new("create", "IAM role `r`", sdk);
    assert!(refused.is_access_denied() && !refused.is_not_found());
    let wrapped = crate::kinds::role::RoleError::from(refused);
    let err = anyhow::Error::new(wrapped).context("functions.x.role: creating");
    let shown = format!("{err:#}");
    assert_eq!(
        shown,
        "functions.x.role: creating: failed to create IAM role `r`: AccessDenied: User: arn:aws:iam::1:user/d is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::1:role/r"
    );
    assert_eq!(request_id(&err).as_deref(), Some("5a7e-request"));
    assert!(crate::output::hint(&err).is_some_and(|hint| hint.contains("provisioner policy")));
    assert_eq!(
        crate::output::hint(&anyhow::anyhow!("something else")),
        None
    );
}

#[test]
fn endpoints_need_a_scheme_and_a_host() {
    assert!(check_endpoint("http://127.0.0.1:5000", "x").is_ok());
    assert!(check_endpoint("https://sts.us-east-1.amazonaws.com", "x").is_ok());
    let err = check_endpoint("127.0.0.1:5000", "`--endpoint-url`").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`--endpoint-url` is `127.0.0.1:5000`, which is not an http(s) URL\n\nhint: did you mean `http://127.0.0.1:5000`? an endpoint needs its scheme"
    );
    assert!(check_endpoint("ftp://host", "x").is_err());
    assert!(check_endpoint("http://", "x").is_err());
}
