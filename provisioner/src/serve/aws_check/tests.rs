use super::forward::{Session, destination, sign};
use super::*;

#[test]
fn a_forwarded_call_is_signed_for_its_service_region_and_headers() {
    let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
    let headers = vec![
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        (
            "x-amz-target".to_owned(),
            "AWSCognitoIdentityProviderService.AdminGetUser".to_owned(),
        ),
        (
            "host".to_owned(),
            "cognito-idp.eu-west-1.amazonaws.com".to_owned(),
        ),
    ];
    let signed = sign(
        &http::Method::POST,
        "https://cognito-idp.eu-west-1.amazonaws.com/",
        &headers,
        b"{}",
        &credentials,
        "cognito-idp",
        "eu-west-1",
    )
    .unwrap();
    let get = |name: &str| {
        signed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {signed:?}"))
    };
    let authorization = get("authorization");
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && authorization.contains("/eu-west-1/cognito-idp/aws4_request")
            && authorization.contains("host;")
            && authorization.contains("x-amz-target"),
        "{authorization}"
    );
    assert_eq!(get("x-amz-security-token"), "token");
    assert!(!get("x-amz-date").is_empty());
    // The signature never carries the secret.
    assert!(!signed.iter().any(|(_, v)| v.contains("secret")));
}

#[test]
fn calls_go_to_the_emulator_or_to_the_services_regional_endpoint() {
    let session = |emulator: Option<&str>| Session {
        scope: Scope {
            partition: "aws".to_owned(),
            region: "eu-west-1".to_owned(),
            account: "1".to_owned(),
        },
        emulator: emulator.map(str::to_owned),
        credentials: None,
    };
    assert_eq!(
        destination(&session(None), "cognito-idp", "eu-west-1"),
        "https://cognito-idp.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        destination(&session(None), "dynamodb", "cn-north-1"),
        "https://dynamodb.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        destination(&session(None), "ses", "eu-west-1"),
        "https://email.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        destination(
            &session(Some("http://127.0.0.1:5000/")),
            "dynamodb",
            "eu-west-1"
        ),
        "http://127.0.0.1:5000"
    );
}
