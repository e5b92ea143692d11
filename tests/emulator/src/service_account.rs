//! The emulator's Kubernetes-style OIDC issuer: service account tokens like the projected ones the Azure
//! Workload Identity webhook mounts, signed with a key of their own.

use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;
use serde_json::{Value, json};

use crate::apps::TOKEN_EXCHANGE_AUDIENCE;
use crate::keys::SigningKey;

/// Test-only key, shipped so that the kid is stable (see tests/support/keys/README.md); distinct from the Entra
/// keys so that neither issuer's JWKS verifies the other's tokens.
const PEM: &str = entra_test_support::keys::OIDC_ISSUER_SIGNING;

pub(crate) fn signing_key() -> SigningKey {
    SigningKey::from_pem(PEM)
}

/// What Kubernetes publishes at `/openid/v1/jwks`: no `issuer` or `x5t`, unlike Entra's.
pub(crate) fn jwks(key: &SigningKey) -> Value {
    json!({ "keys": [{ "use": "sig", "kty": "RSA", "kid": key.kid, "alg": "RS256", "n": key.n, "e": key.e }] })
}

/// Kubernetes' discovery document, pointing at the JWKS under the same issuer.
pub(crate) fn openid_configuration(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: [&'a str; 1],
    exp: u64,
    iat: u64,
    nbf: u64,
    iss: &'a str,
    jti: String,
    #[serde(rename = "kubernetes.io")]
    kubernetes: Value,
    sub: String,
}

/// A service account token for `namespace`/`service_account`, valid from `now` for `lifetime` seconds, with the
/// audience the webhook projects (`api://AzureADTokenExchange`).
pub(crate) fn mint(
    key: &SigningKey,
    issuer: &str,
    namespace: &str,
    service_account: &str,
    now: u64,
    lifetime: u64,
) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let claims = Claims {
        aud: [TOKEN_EXCHANGE_AUDIENCE],
        exp: now + lifetime,
        iat: now,
        nbf: now,
        iss: issuer,
        jti: uuid::Uuid::new_v4().to_string(),
        kubernetes: json!({
            "namespace": namespace,
            "serviceaccount": { "name": service_account, "uid": stable_uid(namespace, service_account) },
        }),
        sub: format!("system:serviceaccount:{namespace}:{service_account}"),
    };
    // Only a broken key could make RS256 signing fail, and the key is compiled in.
    jsonwebtoken::encode(&header, &claims, &key.encoding).expect("RS256 signing with a shipped key")
}

/// The same service account keeps its uid across tokens, as it does in a cluster.
fn stable_uid(namespace: &str, service_account: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(format!("{namespace}/{service_account}"));
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}
