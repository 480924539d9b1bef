//! Sending a checked call on: to the emulator the stack lives in, or to the service's regional
//! endpoint on AWS, signed again (SigV4, the SDK's own signer) with the caller's credentials.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::{Inner, MAX_REQUEST_BYTES, NOT_FORWARDED, plain};
use crate::access::{Needed, Scope};
use crate::output;

/// Where the calls go, and as whom.
#[derive(Clone)]
pub(super) struct Session {
    pub(super) scope: Scope,
    /// The emulator's endpoint, or None for AWS's regional endpoints.
    pub(super) emulator: Option<String>,
    pub(super) credentials: Option<SharedCredentialsProvider>,
}

/// Where a call of `service` goes: the emulator, or the service's endpoint in `region` (the
/// host is the signing name but for the services below).
pub(super) fn destination(session: &Session, service: &str, region: &str, path: &str) -> String {
    if let Some(emulator) = &session.emulator {
        return emulator.trim_end_matches('/').to_owned();
    }
    let suffix = crate::regions::dns_suffix(region);
    let host = match service {
        // IAM's one endpoint in the commercial partition.
        "iam" if suffix == "amazonaws.com" && !region.starts_with("us-gov-") => {
            return "https://iam.amazonaws.com".to_owned();
        }
        "ses" => "email",
        // Bedrock's runtime signs as `bedrock`; its calls are under `/model/`.
        "bedrock" if path.starts_with("/model/") => "bedrock-runtime",
        other => other,
    };
    format!("https://{host}.{region}.{suffix}")
}

/// Sends the call on (signed again with the caller's credentials when the SDK signed it) and
/// returns AWS's answer as it is.
pub(super) async fn forward(
    inner: &Arc<Inner>,
    session: &Session,
    parts: &http::request::Parts,
    body: Bytes,
    needed: Option<&Needed>,
) -> Response<Full<Bytes>> {
    match send(inner, session, parts, body, needed).await {
        Ok(response) => response,
        Err(err) => {
            output::status(&format!("AWS call not forwarded: {err:#}"));
            plain(StatusCode::BAD_GATEWAY, &format!("{err:#}"))
        }
    }
}

async fn send(
    inner: &Arc<Inner>,
    session: &Session,
    parts: &http::request::Parts,
    body: Bytes,
    needed: Option<&Needed>,
) -> anyhow::Result<Response<Full<Bytes>>> {
    let (service, region, signed) = match needed {
        Some(n) => (
            n.service.clone(),
            n.region
                .clone()
                .unwrap_or_else(|| session.scope.region.clone()),
            n.signed,
        ),
        // The emulator answers every service at one endpoint.
        None if session.emulator.is_some() => (String::new(), session.scope.region.clone(), false),
        None => anyhow::bail!(
            "the call names no service the tool knows, so it cannot tell which AWS endpoint it is for"
        ),
    };
    let base = destination(session, &service, &region, parts.uri.path());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let url = format!("{base}{path_and_query}");
    let mut request = http::Request::builder()
        .method(parts.method.clone())
        .uri(&url);
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !NOT_FORWARDED.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    headers.push(("host".to_owned(), host));
    if signed {
        let credentials = inner.credentials(session).await?;
        let payload = parts
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok());
        headers.extend(sign(
            &Signable {
                method: &parts.method,
                url: &url,
                headers: &headers,
                body: &body,
                payload,
            },
            &credentials,
            &service,
            &region,
        )?);
    }
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let request = request
        .body(body.to_vec())
        .context("a request that cannot be sent on")?;
    let agent = inner.agent.clone();
    let answer = tokio::task::spawn_blocking(move || agent.run(request))
        .await
        .context("the forwarding task failed")?
        .with_context(|| format!("{service} at {base} did not answer"))?;
    let (answer_parts, mut answer_body) = answer.into_parts();
    let bytes = answer_body
        .with_config()
        .limit(MAX_REQUEST_BYTES as u64)
        .read_to_vec()
        .context("failed to read AWS's answer")?;
    let mut response = Response::builder().status(answer_parts.status);
    for (name, value) in &answer_parts.headers {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            response = response.header(name, value);
        }
    }
    response
        .body(Full::new(Bytes::from(bytes)))
        .context("an answer that cannot be passed on")
}

/// A request as it will be sent on.
pub(super) struct Signable<'a> {
    pub method: &'a http::Method,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The SDK's `x-amz-content-sha256` (S3's `UNSIGNED-PAYLOAD` or `STREAMING-...`), kept.
    pub payload: Option<&'a str>,
}

/// SigV4 headers for the request as it will be sent (S3's rules for S3: the path encoded once
/// and not normalized, the payload's hash in `x-amz-content-sha256`).
pub(super) fn sign(
    request: &Signable,
    credentials: &Credentials,
    service: &str,
    region: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let body = match request.payload {
        // Chunks signed one by one with the handler's key cannot be signed again.
        Some(payload) if payload.starts_with("STREAMING-AWS4-HMAC-SHA256") => anyhow::bail!(
            "a streaming upload with signed chunks cannot be signed again (send it with `UNSIGNED-PAYLOAD` or a computed checksum)"
        ),
        Some(payload) => {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            SignableBody::Precomputed(payload.to_owned())
        }
        None => SignableBody::Bytes(request.body),
    };
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .context("failed to sign the call")?
        .into();
    let signable = SignableRequest::new(
        request.method.as_str(),
        request.url,
        request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
    .context("failed to sign the call")?;
    let (instructions, _) = sign(signable, &params)
        .context("failed to sign the call")?
        .into_parts();
    let (signed, _) = instructions.into_parts();
    Ok(signed
        .into_iter()
        .map(|header| (header.name().to_owned(), header.value().to_owned()))
        .collect())
}
