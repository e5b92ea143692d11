//! The access tokens the emulator issues: real RS256 JWTs shaped like Entra's v1 app tokens.

use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use crate::keys::SigningKey;

/// The issuer of v1 tokens, which is what Entra issues for Azure resources such as ARM and Key Vault.
pub(crate) fn v1_issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

/// When a token starts and stops being valid, in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) issued_at: u64,
    pub(crate) expires_on: u64,
}

impl Validity {
    /// Seconds left at `now`; never negative because every wire format carries it unsigned.
    pub(crate) fn expires_in(&self, now: u64) -> u64 {
        self.expires_on.saturating_sub(now)
    }
}

/// The application a token is issued to.
pub(crate) struct Subject<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) object_id: &'a str,
    /// Azure resource id of a managed identity; absent for app registrations.
    pub(crate) resource_id: Option<&'a str>,
    /// How the client authenticated, Entra's `appidacr`: "1" secret, "2" certificate or assertion; managed
    /// identities carry "2" too.
    pub(crate) authentication: &'static str,
    /// App roles the resource granted the application (`roles`), for APIs that check them.
    pub(crate) roles: &'a [String],
    /// Client capabilities the request declared that Entra marks in the token (`xms_cc`, e.g. `cp1` for CAE).
    pub(crate) capabilities: &'a [String],
}

impl<'a> Subject<'a> {
    /// A managed identity authenticating to its own endpoint.
    pub(crate) fn managed(identity: &'a crate::identity::ManagedIdentity) -> Self {
        Subject {
            client_id: &identity.client_id,
            object_id: &identity.object_id,
            resource_id: Some(&identity.resource_id),
            authentication: "2",
            roles: &[],
            capabilities: &[],
        }
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    tid: &'a str,
    oid: &'a str,
    sub: &'a str,
    appid: &'a str,
    appidacr: &'static str,
    idtyp: &'static str,
    ver: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    xms_mirid: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roles: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    xms_cc: &'a [String],
    uti: &'a str,
}

/// Signs an access token for `subject` to call `audience`, with `uti` as its unique id.
pub(crate) fn mint(
    key: &SigningKey,
    tenant_id: &str,
    subject: &Subject<'_>,
    audience: &str,
    validity: Validity,
    uti: &str,
) -> String {
    let claims = Claims {
        aud: audience,
        iss: v1_issuer(tenant_id),
        iat: validity.issued_at,
        nbf: validity.issued_at,
        exp: validity.expires_on,
        tid: tenant_id,
        oid: subject.object_id,
        sub: subject.object_id,
        appid: subject.client_id,
        appidacr: subject.authentication,
        idtyp: "app",
        ver: "1.0",
        xms_mirid: subject.resource_id,
        roles: subject.roles,
        xms_cc: subject.capabilities,
        uti,
    };
    sign(key, &claims)
}

/// Signs any claims set as Entra does: RS256, with `kid` and `x5t` naming the key.
pub(crate) fn sign(key: &SigningKey, claims: &impl Serialize) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    header.x5t = Some(key.kid.clone());
    // Only a broken key could make RS256 signing fail, and the keys are compiled in.
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("RS256 signing with a shipped key")
}

/// Entra's `uti` is a random 22-character base64url string.
pub(crate) fn unique_token_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}
