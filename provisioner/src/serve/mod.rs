//! `provisioner serve` (in progress): the stack's API on this machine. So far: the Cognito
//! authorizer ([`authorizer`]), fetching a pool's keys ([`fetch_jwks`]), and REST proxy events and
//! responses ([`event`]). Next: the HTTP front, the Lambda Runtime API, the handler processes.

pub mod authorizer;
pub mod event;

/// GETs a pool's JWKS document (http for an emulator, https on AWS), with a bounded wait.
pub fn fetch_jwks(url: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut response = agent
        .get(url)
        .call()
        .with_context(|| format!("failed to fetch the pool's signing keys from `{url}`"))?;
    response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("failed to read the pool's signing keys from `{url}`"))
}
