//! Which IAM action and resource an AWS API request needs, read from the request as the SDK
//! sends it: the service from the signature's credential scope (or, for the calls an SDK sends
//! unsigned, the JSON protocol's target prefix), the operation from `X-Amz-Target`, the query
//! protocol's `Action`, or the REST path; the resource from the fields that name it, for the
//! services whose ARNs can be formed from a request. Written from the Service Authorization
//! Reference. Pure.

use std::collections::BTreeMap;

/// Where the calls go: the partition, region and account of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub partition: String,
    pub region: String,
    pub account: String,
}

/// An AWS API request as it reached the local endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The path, percent-encoded as sent.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// How the request is written, which decides how AWS answers a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `X-Amz-Target` and a JSON body (Cognito, DynamoDB, SQS, ...).
    Json,
    /// A form body with `Action=` (STS, SNS, IAM, ...).
    Query,
    /// S3's REST protocol with XML errors.
    RestXml,
    /// A REST protocol with JSON errors (Lambda, API Gateway, ...).
    RestJson,
    /// Smithy's RPC v2 CBOR (`/service/<name>/operation/<op>`: CloudWatch).
    Cbor,
}

/// What IAM evaluates for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    /// The signing name (`cognito-idp`; `monitoring` for CloudWatch).
    pub service: String,
    /// The API operation (`AdminGetUser`); empty when it could not be read.
    pub operation: String,
    /// `prefix:Operation`, with IAM's prefix for the service (`cloudwatch:PutMetricData`).
    pub action: String,
    /// The ARNs IAM evaluates the action on; empty when they cannot be formed from the request
    /// (then only the action is checked, and the check says so).
    pub resources: Vec<String>,
    /// False for the operations IAM does not authorize (Cognito's public operations, which the
    /// caller's tokens or the app client authorize).
    pub by_iam: bool,
    pub protocol: Protocol,
    /// The region from the signature, when signed.
    pub region: Option<String>,
    /// Whether the SDK signed it (an unsigned call is forwarded unsigned).
    pub signed: bool,
}

/// Cognito's operations that IAM does not authorize: the app client, a session or the user's
/// own tokens do (the API reference lists them as unauthenticated or token-authorized).
const COGNITO_PUBLIC: &[&str] = &[
    "AssociateSoftwareToken",
    "ChangePassword",
    "CompleteWebAuthnRegistration",
    "ConfirmDevice",
    "ConfirmForgotPassword",
    "ConfirmSignUp",
    "DeleteUser",
    "DeleteUserAttributes",
    "DeleteWebAuthnCredential",
    "ForgetDevice",
    "ForgotPassword",
    "GetDevice",
    "GetTokensFromRefreshToken",
    "GetUser",
    "GetUserAttributeVerificationCode",
    "GetUserAuthFactors",
    "GlobalSignOut",
    "InitiateAuth",
    "ListDevices",
    "ListWebAuthnCredentials",
    "ResendConfirmationCode",
    "RespondToAuthChallenge",
    "RevokeToken",
    "SetUserMFAPreference",
    "SignUp",
    "StartWebAuthnRegistration",
    "UpdateDeviceStatus",
    "UpdateUserAttributes",
    "VerifySoftwareToken",
    "VerifyUserAttribute",
];

/// Operations IAM does not authorize, by service: the caller's tokens, an identity pool or the
/// request itself do (Cognito's public operations, STS's who-am-I and web-identity exchanges).
const NOT_BY_IAM: &[(&str, &[&str])] = &[
    ("cognito-idp", COGNITO_PUBLIC),
    (
        "cognito-identity",
        &[
            "GetId",
            "GetCredentialsForIdentity",
            "GetOpenIdToken",
            "UnlinkIdentity",
        ],
    ),
    (
        "sts",
        &[
            "GetCallerIdentity",
            "AssumeRoleWithWebIdentity",
            "AssumeRoleWithSAML",
        ],
    ),
];

/// IAM's action prefix where it is not the signing name.
const IAM_PREFIX: &[(&str, &str)] = &[("monitoring", "cloudwatch"), ("email", "ses")];

/// The signing name of the JSON protocol's target prefixes an SDK may send unsigned.
const TARGET_PREFIXES: &[(&str, &str)] = &[
    ("AWSCognitoIdentityProviderService", "cognito-idp"),
    ("AWSCognitoIdentityService", "cognito-identity"),
    ("DynamoDB_20120810", "dynamodb"),
    ("AmazonSQS", "sqs"),
    ("secretsmanager", "secretsmanager"),
    ("AmazonSSM", "ssm"),
    ("TrentService", "kms"),
    ("Logs_20140328", "logs"),
    ("AWSEvents", "events"),
];

/// The signature's credential scope: (region, service).
fn credential_scope(headers: &http::HeaderMap) -> Option<(String, String)> {
    let authorization = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let credential = authorization
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    // AKID/date/region/service/aws4_request
    let mut parts = credential.split('/').skip(2);
    let region = parts.next()?.to_owned();
    let service = parts.next()?.to_owned();
    Some((region, service))
}

/// The IAM action and resources `request` needs, or why it cannot be read.
pub fn needed(request: &Incoming, scope: &Scope) -> Result<Needed, String> {
    let signed_scope = credential_scope(request.headers);
    let target = request
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let service = match (&signed_scope, target) {
        (Some((_, service)), _) => service.clone(),
        (None, Some(target)) => {
            let prefix = target.split('.').next().unwrap_or_default();
            TARGET_PREFIXES
                .iter()
                .find(|(p, _)| *p == prefix)
                .map(|(_, service)| (*service).to_owned())
                .ok_or_else(|| format!("an unsigned call with target `{target}`"))?
        }
        (None, None) => return Err("an unsigned call that names no service".to_owned()),
    };
    let region = signed_scope.as_ref().map(|(region, _)| region.clone());
    let at = Scope {
        region: region.clone().unwrap_or_else(|| scope.region.clone()),
        ..scope.clone()
    };
    let form = form_body(request);
    let cbor = request
        .path
        .strip_prefix("/service/")
        .and_then(|rest| rest.split_once("/operation/"))
        .map(|(_, operation)| operation.to_owned());
    let (protocol, operation, resources) = if let Some(operation) = cbor {
        (Protocol::Cbor, operation, Vec::new())
    } else if let Some(target) = target {
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let body: serde_json::Value =
            serde_json::from_slice(request.body).unwrap_or(serde_json::Value::Null);
        let resources = json_resources(&service, &operation, &body, &at);
        (Protocol::Json, operation, resources)
    } else if let Some(action) = form.get("Action") {
        let resources = query_resources(&service, &form);
        (Protocol::Query, action.clone(), resources)
    } else {
        let (operation, resources) = rest(&service, request, &at);
        let protocol = if service == "s3" {
            Protocol::RestXml
        } else {
            Protocol::RestJson
        };
        (protocol, operation, resources)
    };
    let by_iam = !NOT_BY_IAM
        .iter()
        .any(|(s, operations)| *s == service && operations.contains(&operation.as_str()));
    let prefix = IAM_PREFIX
        .iter()
        .find(|(signing, _)| *signing == service)
        .map_or(service.as_str(), |(_, prefix)| prefix);
    Ok(Needed {
        action: if operation.is_empty() {
            format!("{prefix}:*")
        } else {
            format!("{prefix}:{operation}")
        },
        service,
        operation,
        resources,
        by_iam,
        protocol,
        region,
        signed: signed_scope.is_some(),
    })
}

/// A query protocol's form body, decoded (empty for any other body).
fn form_body(request: &Incoming) -> BTreeMap<String, String> {
    let is_form = request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return BTreeMap::new();
    }
    let text = String::from_utf8_lossy(request.body);
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    percent_encoding::percent_decode_str(&text)
        .decode_utf8_lossy()
        .into_owned()
}

fn arn(scope: &Scope, service: &str, rest: &str) -> String {
    format!(
        "arn:{}:{service}:{}:{}:{rest}",
        scope.partition, scope.region, scope.account
    )
}

/// A name that may already be an ARN.
fn named(value: &str, make: impl FnOnce(&str) -> String) -> String {
    if value.starts_with("arn:") {
        value.to_owned()
    } else {
        make(value)
    }
}

/// The resources of a JSON protocol call, for the services whose ARNs a request names.
fn json_resources(
    service: &str,
    operation: &str,
    body: &serde_json::Value,
    scope: &Scope,
) -> Vec<String> {
    let field = |name: &str| body[name].as_str();
    match service {
        // Authorized on no resource.
        "cognito-idp" if matches!(operation, "ListUserPools" | "CreateUserPool") => {
            vec!["*".to_owned()]
        }
        "cognito-idp" => field("UserPoolId")
            .map(|id| arn(scope, "cognito-idp", &format!("userpool/{id}")))
            .or_else(|| field("ResourceArn").map(str::to_owned))
            .into_iter()
            .collect(),
        "dynamodb" => {
            let table = |name: &str| named(name, |n| arn(scope, "dynamodb", &format!("table/{n}")));
            if let Some(name) = field("TableName") {
                // A query or scan of an index is authorized on the index.
                return match field("IndexName") {
                    Some(index) => vec![format!("{}/index/{index}", table(name))],
                    None => vec![table(name)],
                };
            }
            // BatchGetItem, BatchWriteItem: every table the call names.
            body["RequestItems"]
                .as_object()
                .map(|items| items.keys().map(|name| table(name)).collect())
                .unwrap_or_default()
        }
        "sqs" => field("QueueUrl")
            .and_then(queue_arn(scope))
            .into_iter()
            .collect(),
        "ssm" => {
            let parameter = |name: &str| {
                named(name, |n| {
                    arn(
                        scope,
                        "ssm",
                        &format!("parameter/{}", n.trim_start_matches('/')),
                    )
                })
            };
            match (field("Name"), body["Names"].as_array()) {
                (Some(name), _) => vec![parameter(name)],
                (None, Some(names)) => names
                    .iter()
                    .filter_map(|n| n.as_str())
                    .map(parameter)
                    .collect(),
                (None, None) => Vec::new(),
            }
        }
        // A secret's ARN ends in a suffix a name does not carry: only an ARN is checked.
        "secretsmanager" => field("SecretId")
            .filter(|id| id.starts_with("arn:"))
            .map(str::to_owned)
            .into_iter()
            .collect(),
        "kms" => field("KeyId")
            .filter(|id| id.starts_with("arn:"))
            .map(str::to_owned)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// An SQS queue's ARN from its URL (`https://sqs.R.amazonaws.com/ACCOUNT/NAME`).
fn queue_arn(scope: &Scope) -> impl Fn(&str) -> Option<String> + '_ {
    move |url| {
        let mut parts = url.trim_end_matches('/').rsplit('/');
        let name = parts.next()?;
        let account = parts.next()?;
        Some(format!(
            "arn:{}:sqs:{}:{account}:{name}",
            scope.partition, scope.region
        ))
    }
}

fn query_resources(service: &str, form: &BTreeMap<String, String>) -> Vec<String> {
    match service {
        "sns" => form
            .get("TopicArn")
            .or_else(|| form.get("TargetArn"))
            .cloned()
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The operation and resources of a REST call, for the operations a handler commonly makes.
fn rest(service: &str, request: &Incoming, scope: &Scope) -> (String, Vec<String>) {
    let path = decode(request.path);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let query = request.query.unwrap_or_default();
    match (service, request.method, parts.as_slice()) {
        ("lambda", "POST", [_, "functions", name, "invocations"]) => {
            let function = named(name, |n| arn(scope, "lambda", &format!("function:{n}")));
            // A version or alias is authorized on the qualified ARN.
            let qualifier = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("Qualifier="));
            let function = match qualifier {
                Some(q) => format!("{function}:{q}"),
                None => function,
            };
            ("InvokeFunction".to_owned(), vec![function])
        }
        ("s3", method, [bucket, key @ ..]) if !bucket.is_empty() => {
            let object = format!("arn:{}:s3:::{bucket}/{}", scope.partition, key.join("/"));
            let bucket_arn = format!("arn:{}:s3:::{bucket}", scope.partition);
            // Only the plain object and listing calls: a subresource (`?acl`, `?tagging`,
            // `?uploads`...) or a copy is another action, not read here (not checked).
            let plain = query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .all(|pair| {
                    [
                        "x-id=",
                        "list-type=",
                        "prefix=",
                        "continuation-token=",
                        "max-keys=",
                        "delimiter=",
                        "start-after=",
                    ]
                    .iter()
                    .any(|allowed| pair.starts_with(allowed))
                });
            let copy = request.headers.contains_key("x-amz-copy-source");
            match (method, key.is_empty()) {
                _ if !plain || copy => (String::new(), Vec::new()),
                ("GET", true) => ("ListBucket".to_owned(), vec![bucket_arn]),
                ("GET" | "HEAD", false) => ("GetObject".to_owned(), vec![object]),
                ("PUT", false) => ("PutObject".to_owned(), vec![object]),
                ("DELETE", false) => ("DeleteObject".to_owned(), vec![object]),
                _ => (String::new(), Vec::new()),
            }
        }
        _ => (String::new(), Vec::new()),
    }
}
