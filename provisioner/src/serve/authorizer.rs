//! The Cognito user-pool authorizer, as API Gateway evaluates it, for `provisioner serve`: the token
//! comes from the identity source header (the raw token, or `Bearer <token>`); it must be an RS256
//! JWT signed by a key of the pool's JWKS, issued by the pool (`iss`), not expired (`exp`), an id
//! token for a client of the pool (`aud`) on a route without authorization scopes, an access token
//! (`token_use: access`) for a client of the pool (`client_id`) whose `scope` holds one of the
//! route's scopes on a route with them (API Gateway's rule). Any failure is a 401
//! `{"message":"Unauthorized"}`; the reason, naming the rule, is for serve's log.

use std::collections::{BTreeSet, HashMap};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Why a request was not authorized (never shown to the caller, who gets 401 either way).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("no token: the `Authorization` header is missing or empty")]
    NoToken,
    #[error("the token is not a JWT: {0}")]
    Malformed(String),
    #[error("the token is signed with `{0}`; only RS256 is accepted")]
    Algorithm(String),
    #[error("the token names key `{0}`, which the pool's JWKS does not have")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued by `{0}`, not this pool")]
    Issuer(String),
    #[error("the token is a `{0}` token; a route without authorization scopes takes id tokens")]
    NotAnIdToken(String),
    #[error("the token is a `{0}` token; a route with authorization scopes takes access tokens")]
    NotAnAccessToken(String),
    #[error("the token is for client `{0}`, not a client of this pool")]
    Audience(String),
    #[error("the access token's scopes ({0}) hold none of the route's ({1})")]
    Scope(String, String),
    #[error("the pool's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
}

/// The issuer of a pool's tokens, as Cognito writes it (also on the emulator): under its
/// partition's domain (`amazonaws.com.cn` in China).
pub fn issuer(region: &str, pool_id: &str) -> String {
    let domain = crate::regions::dns_suffix(region);
    format!("https://cognito-idp.{region}.{domain}/{pool_id}")
}

/// Where the pool's signing keys are published: on AWS under the issuer; on an emulator under its
/// endpoint.
pub fn jwks_url(endpoint: Option<&str>, region: &str, pool_id: &str) -> String {
    match endpoint {
        Some(endpoint) => format!(
            "{}/{pool_id}/.well-known/jwks.json",
            endpoint.trim_end_matches('/')
        ),
        None => format!("{}/.well-known/jwks.json", issuer(region, pool_id)),
    }
}

/// The token in an `Authorization` header value: `Bearer <token>` or the token itself.
pub fn token_from_header(value: Option<&str>) -> Result<&str, Rejected> {
    let value = value.map(str::trim).unwrap_or_default();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        None if value.eq_ignore_ascii_case("bearer") => "",
        _ => value,
    };
    if token.is_empty() {
        Err(Rejected::NoToken)
    } else {
        Ok(token)
    }
}

/// Verifies tokens for one pool with its current keys.
pub struct Authorizer {
    issuer: String,
    client_ids: BTreeSet<String>,
    keys: HashMap<String, DecodingKey>,
}

#[derive(Debug, thiserror::Error)]
#[error("the pool's JWKS is not usable: {0}")]
pub struct BadJwks(String);

impl Authorizer {
    /// `jwks` is the JSON document the pool publishes.
    pub fn new(issuer: String, client_ids: BTreeSet<String>, jwks: &str) -> Result<Self, BadJwks> {
        let set: JwkSet = serde_json::from_str(jwks).map_err(|err| BadJwks(err.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = &jwk.common.key_id else {
                continue;
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|err| BadJwks(err.to_string()))?;
            keys.insert(kid.clone(), key);
        }
        if keys.is_empty() {
            return Err(BadJwks("it has no key with a `kid`".to_owned()));
        }
        Ok(Authorizer {
            issuer,
            client_ids,
            keys,
        })
    }

    /// The claims of a valid token in the header value `authorization` for a route with
    /// authorization `scopes` (none: an id token; some: an access token with one of them).
    pub fn verify(
        &self,
        authorization: Option<&str>,
        scopes: &[String],
    ) -> Result<Map<String, Value>, Rejected> {
        let token = token_from_header(authorization)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| Rejected::Malformed(err.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(Rejected::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.unwrap_or_default();
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| Rejected::UnknownKey(kid.clone()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "iss"]);
        // `aud` is checked below, with the message it deserves (access tokens have none).
        validation.validate_aud = false;
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(|err| {
                match err.kind() {
                    ErrorKind::ExpiredSignature => Rejected::Expired,
                    ErrorKind::InvalidSignature => Rejected::Signature,
                    ErrorKind::InvalidAlgorithm => {
                        Rejected::Algorithm("another algorithm".to_owned())
                    }
                    other => Rejected::Malformed(format!("{other:?}")),
                }
            })?;
        let claims = data.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
        if text("iss") != self.issuer {
            return Err(Rejected::Issuer(text("iss").to_owned()));
        }
        if scopes.is_empty() {
            if text("token_use") != "id" {
                return Err(Rejected::NotAnIdToken(text("token_use").to_owned()));
            }
            if !self.client_ids.contains(text("aud")) {
                return Err(Rejected::Audience(text("aud").to_owned()));
            }
            return Ok(claims);
        }
        if text("token_use") != "access" {
            return Err(Rejected::NotAnAccessToken(text("token_use").to_owned()));
        }
        if !self.client_ids.contains(text("client_id")) {
            return Err(Rejected::Audience(text("client_id").to_owned()));
        }
        let held = text("scope");
        if !held
            .split_whitespace()
            .any(|s| scopes.iter().any(|w| w == s))
        {
            return Err(Rejected::Scope(held.to_owned(), scopes.join(" ")));
        }
        Ok(claims)
    }
}

/// An [`Authorizer`] whose keys are fetched once, when first needed, and again when a token names
/// a key they do not have (Cognito rotates keys), at most once a minute.
pub struct CachedAuthorizer {
    url: String,
    issuer: String,
    client_ids: BTreeSet<String>,
    fetch: fn(&str) -> anyhow::Result<String>,
    current: std::sync::Mutex<Keys>,
}

/// The keys in use, and when they were last fetched (None: given, never fetched).
#[derive(Default)]
struct Keys {
    authorizer: Option<std::sync::Arc<Authorizer>>,
    fetched: Option<std::time::Instant>,
}

impl CachedAuthorizer {
    /// Keys from `url`, fetched with `fetch` (blocking: call `verify` off the async threads).
    pub fn new(
        url: String,
        issuer: String,
        client_ids: BTreeSet<String>,
        fetch: fn(&str) -> anyhow::Result<String>,
    ) -> CachedAuthorizer {
        CachedAuthorizer {
            url,
            issuer,
            client_ids,
            fetch,
            current: std::sync::Mutex::new(Keys::default()),
        }
    }

    /// The authorizer of pool `pool_id` in `region`, as API Gateway's Cognito authorizer checks
    /// tokens: any of `clients`, keys from the pool's JWKS (at `endpoint`, when the stack lives
    /// on an emulator).
    pub fn for_pool(
        endpoint: Option<&str>,
        region: &str,
        pool_id: &str,
        clients: BTreeSet<String>,
    ) -> CachedAuthorizer {
        CachedAuthorizer::new(
            jwks_url(endpoint, region, pool_id),
            issuer(region, pool_id),
            clients,
            crate::serve::fetch_jwks,
        )
    }

    /// Starts from keys already known (for tests, or keys fetched at start-up).
    pub fn with_keys(self, jwks: &str) -> Result<CachedAuthorizer, BadJwks> {
        let authorizer = Authorizer::new(self.issuer.clone(), self.client_ids.clone(), jwks)?;
        self.lock().authorizer = Some(std::sync::Arc::new(authorizer));
        Ok(self)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refresh(&self) -> Result<std::sync::Arc<Authorizer>, Rejected> {
        let mut current = self.lock();
        if let (Some(authorizer), Some(at)) = (&current.authorizer, current.fetched)
            && at.elapsed() < std::time::Duration::from_secs(60)
        {
            return Ok(authorizer.clone());
        }
        let jwks =
            (self.fetch)(&self.url).map_err(|err| Rejected::KeysUnavailable(format!("{err:#}")))?;
        let authorizer = Authorizer::new(self.issuer.clone(), self.client_ids.clone(), &jwks)
            .map_err(|err| Rejected::KeysUnavailable(err.to_string()))?;
        let authorizer = std::sync::Arc::new(authorizer);
        *current = Keys {
            authorizer: Some(authorizer.clone()),
            fetched: Some(std::time::Instant::now()),
        };
        Ok(authorizer)
    }

    /// As [`Authorizer::verify`], fetching the keys first if needed and again on an unknown key.
    pub fn verify(
        &self,
        authorization: Option<&str>,
        scopes: &[String],
    ) -> Result<Map<String, Value>, Rejected> {
        let known = self.lock().authorizer.clone();
        let authorizer = match known {
            Some(authorizer) => authorizer,
            None => self.refresh()?,
        };
        match authorizer.verify(authorization, scopes) {
            Err(Rejected::UnknownKey(_)) => self.refresh()?.verify(authorization, scopes),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/jwt")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    fn authorizer() -> Authorizer {
        Authorizer::new(
            ISSUER.to_owned(),
            BTreeSet::from(["client-1".to_owned()]),
            &fixture("jwks.json"),
        )
        .unwrap()
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn claims() -> Value {
        json!({
            "sub": "abc", "aud": "client-1", "iss": ISSUER, "token_use": "id",
            "cognito:username": "ada", "email": "ada@example.com",
            "iat": now() - 10, "exp": now() + 3600,
        })
    }

    fn sign(claims: &Value, key: &str, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let key = EncodingKey::from_rsa_pem(fixture(key).as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    fn with(edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = claims();
        edit(&mut claims);
        sign(&claims, "test-key.pem", "test-key")
    }

    #[test]
    fn a_valid_id_token_gives_its_claims_raw_or_as_bearer() {
        let token = with(|_| {});
        let authorizer = authorizer();
        let claims = authorizer
            .verify(Some(&format!("Bearer {token}")), &[])
            .unwrap();
        assert_eq!(claims["cognito:username"], "ada");
        assert_eq!(authorizer.verify(Some(&token), &[]).unwrap(), claims);
    }

    /// API Gateway's rule: a route with scopes takes an access token for a client of the pool
    /// that holds one of them, and never an id token; one without scopes takes only id tokens.
    #[test]
    fn a_route_with_scopes_takes_only_an_access_token_with_one_of_them() {
        let authorizer = authorizer();
        let scopes = ["aws.cognito.signin.user.admin".to_owned()];
        let access = |scope: &str, client: &str| {
            with(|c| {
                let c = c.as_object_mut().unwrap();
                c.remove("aud");
                c.insert("token_use".into(), json!("access"));
                c.insert("client_id".into(), json!(client));
                c.insert("scope".into(), json!(scope));
                c.insert("username".into(), json!("ada"));
            })
        };
        let good = access("openid aws.cognito.signin.user.admin", "client-1");
        let claims = authorizer.verify(Some(&good), &scopes).unwrap();
        assert_eq!(claims["username"], "ada");
        let id_token = with(|_| {});
        assert_eq!(
            authorizer.verify(Some(&id_token), &scopes),
            Err(Rejected::NotAnAccessToken("id".to_owned()))
        );
        assert_eq!(
            authorizer.verify(Some(&good), &[]),
            Err(Rejected::NotAnIdToken("access".to_owned()))
        );
        assert_eq!(
            authorizer.verify(Some(&access("openid", "client-1")), &scopes),
            Err(Rejected::Scope(
                "openid".to_owned(),
                "aws.cognito.signin.user.admin".to_owned()
            ))
        );
        assert_eq!(
            authorizer.verify(
                Some(&access("aws.cognito.signin.user.admin", "other")),
                &scopes
            ),
            Err(Rejected::Audience("other".to_owned()))
        );
    }

    #[test]
    fn every_bad_token_is_rejected_for_its_own_reason() {
        let authorizer = authorizer();
        let unsigned = {
            let b64 = |v: &Value| {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
            };
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "kid": "test-key"})),
                b64(&claims())
            )
        };
        type Case = (&'static str, Option<String>, fn(&Rejected) -> bool);
        let cases: Vec<Case> = vec![
            ("no header", None, |r| *r == Rejected::NoToken),
            ("empty", Some(String::new()), |r| *r == Rejected::NoToken),
            ("bearer, nothing", Some("Bearer ".to_owned()), |r| {
                *r == Rejected::NoToken
            }),
            ("not a JWT", Some("Bearer abc.def".to_owned()), |r| {
                matches!(r, Rejected::Malformed(_))
            }),
            ("alg none", Some(unsigned), |r| {
                matches!(r, Rejected::Malformed(_) | Rejected::Algorithm(_))
            }),
            (
                "signed by another key",
                Some(sign(&claims(), "other-key.pem", "test-key")),
                |r| *r == Rejected::Signature,
            ),
            (
                "unknown key id",
                Some(sign(&claims(), "other-key.pem", "other")),
                |r| matches!(r, Rejected::UnknownKey(kid) if kid == "other"),
            ),
            (
                "expired",
                Some(with(|c| c["exp"] = json!(now() - 1))),
                |r| *r == Rejected::Expired,
            ),
            (
                "another pool",
                Some(with(|c| {
                    c["iss"] = json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")
                })),
                |r| matches!(r, Rejected::Issuer(_)),
            ),
            (
                "an access token",
                Some(with(|c| {
                    c["token_use"] = json!("access");
                    c.as_object_mut().unwrap().remove("aud");
                })),
                |r| matches!(r, Rejected::NotAnIdToken(used) if used == "access"),
            ),
            (
                "another client",
                Some(with(|c| c["aud"] = json!("client-2"))),
                |r| matches!(r, Rejected::Audience(aud) if aud == "client-2"),
            ),
        ];
        for (case, header, expected) in cases {
            let rejected = authorizer.verify(header.as_deref(), &[]).expect_err(case);
            assert!(expected(&rejected), "{case}: {rejected:?}");
        }
    }

    #[test]
    fn urls_follow_aws_or_the_emulator() {
        assert_eq!(
            jwks_url(None, "eu-west-1", "eu-west-1_A"),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_url(Some("http://127.0.0.1:5000/"), "eu-west-1", "eu-west-1_A"),
            "http://127.0.0.1:5000/eu-west-1_A/.well-known/jwks.json"
        );
        // In China the pool's tokens and keys are under amazonaws.com.cn.
        assert_eq!(
            issuer("cn-north-1", "cn-north-1_A"),
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_A"
        );
        assert_eq!(
            jwks_url(None, "cn-northwest-1", "cn-northwest-1_A"),
            "https://cognito-idp.cn-northwest-1.amazonaws.com.cn/cn-northwest-1_A/.well-known/jwks.json"
        );
        assert_eq!(
            issuer("us-gov-west-1", "us-gov-west-1_A"),
            "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_A"
        );
    }
}
