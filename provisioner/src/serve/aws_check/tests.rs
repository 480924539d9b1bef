use super::forward::{Session, Signable, destination, sign};
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
        &Signable {
            method: &http::Method::POST,
            url: "https://cognito-idp.eu-west-1.amazonaws.com/",
            headers: &headers,
            body: b"{}",
            payload: None,
        },
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
        destination(&session(None), "cognito-idp", "eu-west-1", "/"),
        "https://cognito-idp.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        destination(&session(None), "dynamodb", "cn-north-1", "/"),
        "https://dynamodb.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        destination(&session(None), "ses", "eu-west-1", "/"),
        "https://email.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        destination(
            &session(Some("http://127.0.0.1:5000/")),
            "dynamodb",
            "eu-west-1",
            "/"
        ),
        "http://127.0.0.1:5000"
    );
}

/// S3 is signed by S3's rules: the payload's hash (or the SDK's `UNSIGNED-PAYLOAD`) in
/// `x-amz-content-sha256`, the key's path encoded once; chunks signed with the handler's key are
/// refused, not sent on with a signature S3 would reject.
#[test]
fn s3_is_signed_by_its_own_rules() {
    let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let headers = vec![("host".to_owned(), "s3.eu-west-1.amazonaws.com".to_owned())];
    let signed = |payload: Option<&str>| {
        sign(
            &Signable {
                method: &http::Method::PUT,
                url: "https://s3.eu-west-1.amazonaws.com/bucket/a%20b/c.txt",
                headers: &headers,
                body: b"hello",
                payload,
            },
            &credentials,
            "s3",
            "eu-west-1",
        )
    };
    let hashed = signed(None).unwrap();
    let sha = hashed
        .iter()
        .find(|(n, _)| n == "x-amz-content-sha256")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        sha,
        Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
    let unsigned = signed(Some("UNSIGNED-PAYLOAD")).unwrap();
    assert!(unsigned.contains(&(
        "x-amz-content-sha256".to_owned(),
        "UNSIGNED-PAYLOAD".to_owned()
    )));
    assert!(signed(Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")).is_err());
}

#[test]
fn global_and_renamed_services_go_to_their_hosts() {
    let aws = Session {
        scope: Scope {
            partition: "aws".to_owned(),
            region: "eu-west-1".to_owned(),
            account: "1".to_owned(),
        },
        emulator: None,
        credentials: None,
    };
    assert_eq!(
        destination(&aws, "iam", "us-east-1", "/"),
        "https://iam.amazonaws.com"
    );
    assert_eq!(
        destination(&aws, "bedrock", "eu-west-1", "/model/m/invoke"),
        "https://bedrock-runtime.eu-west-1.amazonaws.com"
    );
}

/// Only the handlers' own requests are signed with the caller's credentials: signed with the
/// session's key and addressed to the endpoint itself; unsigned ones go on unsigned; presigned
/// ones cannot be signed again.
#[test]
fn only_requests_signed_with_the_sessions_key_and_addressed_here_are_taken() {
    let check = AwsCheck::new();
    let (key, _) = check.handler_credentials();
    assert!(key.starts_with("PRVLOCAL") && key.len() == 20, "{key}");
    let host = "127.0.0.1:4000";
    let parts = |host: &str, authorization: Option<String>, query: &str| {
        let mut request = http::Request::builder()
            .uri(format!("http://{host}/{query}"))
            .header("host", host);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        request.body(()).unwrap().into_parts().0
    };
    let signed_by = |key: &str| {
        Some(format!(
            "AWS4-HMAC-SHA256 Credential={key}/20261205/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0"
        ))
    };
    assert_eq!(
        stranger(&check.inner, host, &parts(host, signed_by(&key), "")),
        None
    );
    assert_eq!(stranger(&check.inner, host, &parts(host, None, "")), None);
    assert!(stranger(&check.inner, host, &parts(host, signed_by("AKIAOTHER"), "")).is_some());
    assert!(
        stranger(
            &check.inner,
            host,
            &parts("evil.example:4000", signed_by(&key), "")
        )
        .is_some()
    );
    assert!(
        stranger(
            &check.inner,
            host,
            &parts(host, None, "?X-Amz-Credential=x&X-Amz-Signature=y")
        )
        .is_some()
    );
}

#[test]
fn a_cbor_refusal_is_a_cbor_map_of_type_and_message() {
    let body = cbor_error("AccessDeniedException", "no");
    assert_eq!(body[0], 0xa2);
    assert_eq!(&body[1..8], b"\x66__type");
    assert!(body.ends_with(b"\x67message\x62no"));
}
