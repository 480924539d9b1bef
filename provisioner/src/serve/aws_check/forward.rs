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

/// Where a call of `service` goes: the emulator, or the service's endpoint in `region`.
pub(super) fn destination(session: &Session, service: &str, region: &str) -> String {
    if let Some(emulator) = &session.emulator {
        return emulator.trim_end_matches('/').to_owned();
    }
    // The few services whose host is not their signing name.
    let host = match service {
        "ses" => "email",
        "monitoring" => "monitoring",
        "execute-api" => "execute-api",
        other => other,
    };
    format!(
        "https://{host}.{region}.{}",
        crate::regions::dns_suffix(region)
    )
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
        None => anyhow::bail!("a call that names no service cannot be sent on"),
    };
    let base = destination(session, &service, &region);
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
        headers.extend(sign(
            &parts.method,
            &url,
            &headers,
            &body,
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

/// SigV4 headers for the request as it will be sent.
pub(super) fn sign(
    method: &http::Method,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    credentials: &Credentials,
    service: &str,
    region: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
    };
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
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
        method.as_str(),
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
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
