//! IAM's authorization of the tool's calls, as AWS makes it, for a proxy in front of the emulator
//! (which authorizes nothing by resource): each request is turned into the IAM requests AWS
//! evaluates for it (action, resource ARN, condition keys; a create with tags needs the tagging
//! action too, CreateFunction passes its role), independently of what the tool declares, and
//! each is evaluated against an identity policy. Written from the Service Authorization Reference
//! and AWS's AccessDenied answers, for the operations the tool calls; any other call is refused
//! with a message saying the harness does not know it, so nothing passes unexamined.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::faults::{Call, Fault};

/// Where the calls go: the emulator's account and region.
#[derive(Debug, Clone)]
pub struct Env {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Env {
    pub fn emulator() -> Env {
        Env {
            partition: "aws".to_owned(),
            region: crate::support::REGION.to_owned(),
            account: "123456789012".to_owned(),
        }
    }
}

/// One request IAM evaluates: an action on a resource, with the condition keys the call sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, String>,
    /// The call this request is implied by, when it is not the call's own action (a create
    /// with tags needs the tagging action too): AWS's refusal says so.
    pub implied_by: Option<&'static str>,
    /// Refusing it does not refuse the call, it takes something out of the answer
    /// (`lambda:GetFunction` without `lambda:ListTags` answers without the tags).
    pub soft: bool,
}

impl Request {
    /// An action on a resource with these condition keys, as a test asks the policy about it.
    pub fn asking(action: &str, resource: &str, context: &[(&str, &str)]) -> Request {
        let mut request = Request::new(action, resource);
        for (key, value) in context {
            request = request.with(key, *value);
        }
        request
    }

    fn new(action: &str, resource: impl Into<String>) -> Request {
        Request {
            action: action.to_owned(),
            resource: resource.into(),
            context: BTreeMap::new(),
            implied_by: None,
            soft: false,
        }
    }

    fn with(mut self, key: &str, value: impl Into<String>) -> Request {
        self.context.insert(key.to_owned(), value.into());
        self
    }

    /// The tags the request carries, as `aws:RequestTag/<key>` (and their keys as `aws:TagKeys`).
    fn tagged<'a>(mut self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Request {
        let mut keys = Vec::new();
        for (key, value) in tags {
            self = self.with(&format!("aws:RequestTag/{key}"), value);
            keys.push(key);
        }
        if !keys.is_empty() {
            self = self.with("aws:TagKeys", keys.join("\n"));
        }
        self
    }

    fn implied_by(mut self, call: &'static str) -> Request {
        self.implied_by = Some(call);
        self
    }
}

/// The permissions boundary each role has now, as the calls through the harness set it: IAM
/// evaluates `iam:PermissionsBoundary` against the role's boundary for the calls that change a
/// role's policies.
pub type Boundaries = BTreeMap<String, String>;

/// What a call that IAM allowed changes in the harness's picture of IAM.
pub fn note_allowed(call: &Call, env: &Env, boundaries: &mut Boundaries) {
    if call.service.as_deref() != Some("iam") {
        return;
    }
    let form = form(&call.body);
    let (Some(action), Some(role)) = (form.get("Action"), form.get("RoleName")) else {
        return;
    };
    let arn = format!("arn:{}:iam::{}:role/{role}", env.partition, env.account);
    match (action.as_str(), form.get("PermissionsBoundary")) {
        ("CreateRole" | "PutRolePermissionsBoundary", Some(boundary)) => {
            boundaries.insert(arn, boundary.clone());
        }
        ("DeleteRole" | "DeleteRolePermissionsBoundary", _) => {
            boundaries.remove(&arn);
        }
        _ => {}
    }
}

/// The IAM requests AWS evaluates for `call` (none for a call IAM never authorizes:
/// `sts:GetCallerIdentity`). Err: a call this harness does not know.
pub fn requests(call: &Call, env: &Env, boundaries: &Boundaries) -> Result<Vec<Request>, String> {
    let service = call.service.as_deref().unwrap_or_default();
    match service {
        "sts" => Ok(Vec::new()),
        "iam" => iam(&form(&call.body), env, boundaries),
        "cognito-idp" => cognito(call, env),
        "logs" => logs(call, env),
        "lambda" => lambda(call, env),
        "apigateway" => Ok(apigateway(call, env)),
        other => Err(format!(
            "a call to service `{other}` ({})",
            call.operation()
        )),
    }
}

/// A query protocol's form body, decoded.
fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn iam(
    form: &BTreeMap<String, String>,
    env: &Env,
    boundaries: &Boundaries,
) -> Result<Vec<Request>, String> {
    let action = form.get("Action").ok_or("an IAM call without Action")?;
    if action == "ListRoles" {
        // IAM authorizes ListRoles on no resource.
        return Ok(vec![Request::new("iam:ListRoles", "*")]);
    }
    if matches!(action.as_str(), "GetPolicy" | "GetPolicyVersion") {
        // A managed policy, by its ARN.
        let policy = form
            .get("PolicyArn")
            .ok_or_else(|| format!("IAM {action} without PolicyArn"))?;
        return Ok(vec![Request::new(&format!("iam:{action}"), policy)]);
    }
    let role = form
        .get("RoleName")
        .ok_or_else(|| format!("IAM {action} without RoleName"))?;
    let arn = format!("arn:{}:iam::{}:role/{role}", env.partition, env.account);
    let mut request = Request::new(&format!("iam:{action}"), &arn);
    if let Some(policy) = form.get("PolicyArn") {
        request = request.with("iam:PolicyARN", policy);
    }
    // The boundary the call sets, or for a change of the role's policies the one it has.
    let changes_policies = matches!(
        action.as_str(),
        "PutRolePolicy"
            | "DeleteRolePolicy"
            | "AttachRolePolicy"
            | "DetachRolePolicy"
            | "DeleteRolePermissionsBoundary"
    );
    let boundary = match form.get("PermissionsBoundary") {
        Some(boundary) => Some(boundary),
        None if changes_policies => boundaries.get(&arn),
        None => None,
    };
    if let Some(boundary) = boundary {
        request = request.with("iam:PermissionsBoundary", boundary);
    }
    // A create's tags: `Tags.member.N.Key` and `Tags.member.N.Value`.
    let tags: Vec<(&str, &str)> = form
        .iter()
        .filter_map(|(field, key)| {
            let n = field.strip_prefix("Tags.member.")?.strip_suffix(".Key")?;
            let value = form.get(&format!("Tags.member.{n}.Value"))?;
            Some((key.as_str(), value.as_str()))
        })
        .collect();
    let mut requests = vec![request.tagged(tags.iter().copied())];
    if action == "CreateRole" && !tags.is_empty() {
        requests.push(
            Request::new("iam:TagRole", &arn)
                .tagged(tags)
                .implied_by("CreateRole"),
        );
    }
    Ok(requests)
}

fn json(call: &Call) -> Value {
    serde_json::from_str(&call.body).unwrap_or(Value::Null)
}

/// The tags of a JSON body's object `field`, as key and value.
fn body_tags<'a>(body: &'a Value, field: &str) -> Vec<(&'a str, &'a str)> {
    body[field]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.as_str(), value.as_str().unwrap_or_default()))
        .collect()
}

fn cognito(call: &Call, env: &Env) -> Result<Vec<Request>, String> {
    let operation = call.operation();
    let body = json(call);
    let action = format!("cognito-idp:{operation}");
    // The tags a request carries (`aws:RequestTag/<key>`): a new pool's, or those it sets.
    let request_tags = |request: Request| {
        request.tagged(
            body_tags(&body, "UserPoolTags")
                .into_iter()
                .chain(body_tags(&body, "Tags")),
        )
    };
    // Authorized on no resource.
    if matches!(operation.as_str(), "ListUserPools" | "CreateUserPool") {
        return Ok(vec![request_tags(Request::new(&action, "*"))]);
    }
    let id = match body["UserPoolId"].as_str() {
        Some(id) => id.to_owned(),
        None => body["ResourceArn"]
            .as_str()
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_owned)
            .ok_or_else(|| format!("Cognito {operation} without a pool"))?,
    };
    let pool = format!(
        "arn:{}:cognito-idp:{}:{}:userpool/{id}",
        env.partition, env.region, env.account
    );
    // Cognito authorizes a pool's actions by the tags it has (`aws:ResourceTag/<key>`).
    let mut request = request_tags(Request::new(&action, pool));
    for (key, value) in pool_tags(&id, env) {
        request = request.with(&format!("aws:ResourceTag/{key}"), value);
    }
    Ok(vec![request])
}

/// The tags pool `id` has now, as the emulator says (none for a pool that does not exist).
fn pool_tags(id: &str, env: &Env) -> BTreeMap<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let answer = agent
        .post(crate::support::emulator())
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.DescribeUserPool",
        )
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0",
                env.region
            ),
        )
        .send(serde_json::json!({ "UserPoolId": id }).to_string());
    tags_in(answer, "/UserPool/UserPoolTags")
}

/// The tags at `pointer` in the emulator's JSON answer (none when it did not answer).
fn tags_in(
    answer: Result<http::Response<ureq::Body>, ureq::Error>,
    pointer: &str,
) -> BTreeMap<String, String> {
    let Ok(mut answer) = answer else {
        return BTreeMap::new();
    };
    let body: Value = answer
        .body_mut()
        .read_to_string()
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    body.pointer(pointer)
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn logs(call: &Call, env: &Env) -> Result<Vec<Request>, String> {
    let operation = call.operation();
    let body = json(call);
    let action = format!("logs:{operation}");
    let group = |name: &str| {
        format!(
            "arn:{}:logs:{}:{}:log-group:{name}",
            env.partition, env.region, env.account
        )
    };
    Ok(match operation.as_str() {
        // CloudWatch Logs authorizes DescribeLogGroups on this ARN (its AccessDenied names it).
        "DescribeLogGroups" => vec![Request::new(
            &action,
            format!(
                "arn:{}:logs:{}:{}:log-group::log-stream:",
                env.partition, env.region, env.account
            ),
        )],
        // The group's actions name it as `...:log-group:NAME:log-stream:` (their AccessDenied
        // says so); a create with tags needs logs:TagResource on the group as well.
        "CreateLogGroup" | "DeleteLogGroup" | "PutRetentionPolicy" | "FilterLogEvents" => {
            let name = body["logGroupName"]
                .as_str()
                .ok_or_else(|| format!("Logs {operation} without logGroupName"))?;
            let tags = body_tags(&body, "tags");
            let mut requests = vec![
                Request::new(&action, format!("{}:log-stream:", group(name)))
                    .tagged(tags.iter().copied()),
            ];
            if operation == "CreateLogGroup" && !tags.is_empty() {
                requests.push(
                    Request::new("logs:TagResource", group(name))
                        .tagged(tags)
                        .implied_by("CreateLogGroup"),
                );
            }
            requests
        }
        // The tagging actions take the group's ARN as given (without `:*`).
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            let arn = body["resourceArn"]
                .as_str()
                .ok_or_else(|| format!("Logs {operation} without resourceArn"))?;
            vec![Request::new(&action, arn.trim_end_matches(":*"))]
        }
        _ => return Err(format!("CloudWatch Logs {operation}")),
    })
}

fn lambda(call: &Call, env: &Env) -> Result<Vec<Request>, String> {
    let function = |name: &str| {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            format!(
                "arn:{}:lambda:{}:{}:function:{name}",
                env.partition, env.region, env.account
            )
        }
    };
    let path = decode(&call.path);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let body = json(call);
    let passes_role = |requests: &mut Vec<Request>| {
        if let Some(role) = body["Role"].as_str() {
            requests.push(
                Request::new("iam:PassRole", role)
                    .with("iam:PassedToService", "lambda.amazonaws.com"),
            );
        }
    };
    let one = |action: &str, name: &str| Ok(vec![Request::new(action, function(name))]);
    match (call.method.as_str(), parts.as_slice()) {
        ("GET", [_, "functions"]) => Ok(vec![Request::new("lambda:ListFunctions", "*")]),
        ("POST", [_, "functions"]) => {
            let name = body["FunctionName"]
                .as_str()
                .ok_or("CreateFunction without a name")?;
            let tags = body_tags(&body, "Tags");
            let mut requests = vec![
                Request::new("lambda:CreateFunction", function(name)).tagged(tags.iter().copied()),
            ];
            passes_role(&mut requests);
            if !tags.is_empty() {
                requests.push(
                    Request::new("lambda:TagResource", function(name))
                        .tagged(tags)
                        .implied_by("CreateFunction"),
                );
            }
            Ok(requests)
        }
        // Its answer carries the function's tags only if the caller may also list them.
        ("GET", [_, "functions", name]) => Ok(vec![
            Request::new("lambda:GetFunction", function(name)),
            Request {
                soft: true,
                ..Request::new("lambda:ListTags", function(name)).implied_by("GetFunction")
            },
        ]),
        ("DELETE", [_, "functions", name]) => one("lambda:DeleteFunction", name),
        ("GET", [_, "functions", name, "configuration"]) => {
            one("lambda:GetFunctionConfiguration", name)
        }
        ("PUT", [_, "functions", name, "configuration"]) => {
            let mut requests = vec![Request::new(
                "lambda:UpdateFunctionConfiguration",
                function(name),
            )];
            passes_role(&mut requests);
            Ok(requests)
        }
        ("PUT", [_, "functions", name, "code"]) => one("lambda:UpdateFunctionCode", name),
        ("GET", [_, "functions", name, "policy"]) => one("lambda:GetPolicy", name),
        ("POST", [_, "functions", name, "policy"]) => one("lambda:AddPermission", name),
        ("DELETE", [_, "functions", name, "policy", _]) => one("lambda:RemovePermission", name),
        ("GET", [_, "tags", arn @ ..]) => one("lambda:ListTags", &arn.join("/")),
        ("POST", [_, "tags", arn @ ..]) => one("lambda:TagResource", &arn.join("/")),
        ("DELETE", [_, "tags", arn @ ..]) => one("lambda:UntagResource", &arn.join("/")),
        _ => Err(format!("Lambda {} {}", call.method, call.path)),
    }
}

/// API Gateway authorizes its management calls by HTTP method on the path's ARN; a create with
/// tags needs `apigateway:PUT` on `/tags/*` as well. A REST API's parts are authorized by the API's
/// tags (`aws:ResourceTag/<key>`: they inherit them for IAM); a request's tags are
/// `aws:RequestTag/<key>` and their keys `aws:TagKeys` (the `/tags/...` resource has no tags).
fn apigateway(call: &Call, env: &Env) -> Vec<Request> {
    let arn = |path: &str| format!("arn:{}:apigateway:{}::{path}", env.partition, env.region);
    // A tagged resource's ARN stays URL-encoded in the resource IAM evaluates (`/tags/arn%3A...`).
    let path = if call.path.starts_with("/tags/") {
        call.path.clone()
    } else {
        decode(&call.path)
    };
    let body = json(call);
    let tags = body_tags(&body, "tags");
    let mut request = Request::new(&format!("apigateway:{}", call.method), arn(&path));
    if let Some(id) = path.strip_prefix("/restapis/") {
        let id = id.split('/').next().unwrap_or_default();
        for (key, value) in api_tags(id) {
            request = request.with(&format!("aws:ResourceTag/{key}"), value);
        }
    }
    if path.starts_with("/tags/") {
        // UntagResource names its keys in the query (`tagKeys=a&tagKeys=b`).
        let query_keys: Vec<String> = call
            .query
            .split('&')
            .filter_map(|pair| pair.strip_prefix("tagKeys="))
            .map(decode)
            .collect();
        if !query_keys.is_empty() {
            request = request.with("aws:TagKeys", query_keys.join("\n"));
        }
        return vec![request.tagged(tags)];
    }
    let mut requests = vec![request.tagged(tags.iter().copied())];
    if call.method == "POST" && !tags.is_empty() {
        // The ARN of what the create makes, its id still unknown (`.../restapis/*`; AWS's refusal
        // of a create with tags names `/tags/arn%3Aaws%3Aapigateway%3A...%2Frestapis%2F*`).
        let made = arn(&format!("{}/*", path.trim_end_matches('/')));
        let encoded = made.replace(':', "%3A").replace('/', "%2F");
        requests.push(
            Request::new("apigateway:PUT", arn(&format!("/tags/{encoded}")))
                .tagged(tags)
                .implied_by("a create with tags"),
        );
    }
    requests
}

/// The tags REST API `id` has now, as the emulator says (none for an API that does not exist).
fn api_tags(id: &str) -> BTreeMap<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let answer = agent
        .get(format!("{}/restapis/{id}", crate::support::emulator()))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=0",
        )
        .call();
    tags_in(answer, "/tags")
}

/// An identity policy: its statements, each an Allow.
#[derive(Debug, Clone)]
pub struct Policy {
    pub statements: Vec<Value>,
}

impl Policy {
    pub fn from_document(document: &Value) -> Policy {
        let statements = document["Statement"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            statements.iter().all(|s| s["Effect"] == "Allow"),
            "only Allow statements are evaluated here: {document:#}"
        );
        Policy { statements }
    }

    /// The policy without its statement `index`.
    pub fn without(&self, index: usize) -> Policy {
        let mut statements = self.statements.clone();
        statements.remove(index);
        Policy { statements }
    }

    /// Whether some statement allows `request` (action, resource and every condition).
    pub fn allows(&self, request: &Request) -> bool {
        self.statements.iter().any(|s| allows(s, request))
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn allows(statement: &Value, request: &Request) -> bool {
    let action = strings(&statement["Action"])
        .iter()
        .any(|pattern| glob(&pattern.to_lowercase(), &request.action.to_lowercase()));
    let resource = strings(&statement["Resource"])
        .iter()
        .any(|pattern| glob(pattern, &request.resource));
    action && resource && conditions(&statement["Condition"], &request.context)
}

/// Every condition of a statement holds for the request's keys (a key the request does not set
/// fails its condition, as IAM evaluates StringEquals and ArnEquals).
fn conditions(block: &Value, context: &BTreeMap<String, String>) -> bool {
    let Some(block) = block.as_object() else {
        return true;
    };
    block.iter().all(|(operator, tests)| {
        tests.as_object().is_some_and(|tests| {
            tests.iter().all(|(key, wanted)| {
                // Multi-valued keys (`aws:TagKeys`) hold their values one per line; `ForAllValues`
                // holds for a request without the key (no value to fail it).
                if operator == "ForAllValues:StringNotEquals" {
                    let wanted = strings(wanted);
                    return context.get(key).is_none_or(|values| {
                        values.split('\n').all(|v| !wanted.iter().any(|w| w == v))
                    });
                }
                // `Null`: "true" holds when the request has no such key, "false" when it has.
                if operator == "Null" {
                    return strings(wanted)
                        .iter()
                        .any(|w| (w == "true") != context.contains_key(key));
                }
                let Some(value) = context.get(key) else {
                    return false;
                };
                let wanted = strings(wanted);
                match operator.as_str() {
                    "StringEquals" | "ArnEquals" => wanted.iter().any(|w| w == value),
                    "StringLike" | "ArnLike" => wanted.iter().any(|w| glob(w, value)),
                    other => panic!("condition operator `{other}` is not evaluated here"),
                }
            })
        })
    })
}

/// IAM's wildcard match (`*` any run of characters, `?` any one): the tool's own, which its
/// local check of handlers' calls uses too (tested there).
pub use provisioner::access::glob;

/// AWS's AccessDenied for `request`, in the protocol and shape of the call's service.
pub fn denial(call: &Call, request: &Request, env: &Env) -> Fault {
    let user = format!("arn:{}:iam::{}:user/deployer", env.partition, env.account);
    let message = match (request.action.as_str(), request.implied_by) {
        // CloudWatch Logs' own words for a create with tags.
        ("logs:TagResource", Some("CreateLogGroup")) => format!(
            "User: {user} is not authorized to perform CreateLogGroup with Tags. An additional permission \"logs:TagResource\" is required."
        ),
        _ => format!(
            "User: {user} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
            request.action, request.resource, request.action
        ),
    };
    let (status, code) = match call.service.as_deref() {
        Some("iam" | "sts") => (403, "AccessDenied"),
        Some("cognito-idp" | "logs") => (400, "AccessDeniedException"),
        _ => (403, "AccessDeniedException"),
    };
    Fault::Refused {
        status,
        code,
        message,
    }
}

/// The policy's statements, each narrowed to one of its actions: what the per-action check of
/// `least_privilege` asks the lifecycle to have used.
pub fn grants(policy: &Policy) -> Vec<(usize, String, Value)> {
    let mut grants = Vec::new();
    for (index, statement) in policy.statements.iter().enumerate() {
        for action in strings(&statement["Action"]) {
            let mut one = statement.clone();
            one["Action"] = Value::String(action.clone());
            grants.push((index, action, one));
        }
    }
    grants
}

/// Whether `statement` allows `request`.
pub fn statement_allows(statement: &Value, request: &Request) -> bool {
    allows(statement, request)
}
