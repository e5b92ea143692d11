//! Federated assertions: a token from another issuer (a Kubernetes service account token from the emulator's
//! OIDC issuer, or a managed identity token the emulator's tenant issued) that one of the app's federated
//! identity credentials trusts.

use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::jwt::{UnverifiedJwt, malformed};
use super::{Window, invalid_signature};
use crate::aadsts::AadError;
use crate::apps::RegisteredApp;
use crate::routes::v2_issuer;
use crate::state::EmulatorState;
use crate::token::v1_issuer;

/// `1.01:00:00`, the longest lifetime Entra accepts for an external OIDC token (AADSTS70023).
const MAX_EXTERNAL_LIFETIME: u64 = 25 * 60 * 60;

pub(super) fn verify(
    state: &EmulatorState,
    app: &RegisteredApp,
    jwt: &UnverifiedJwt,
) -> Result<(), AadError> {
    let issuer = jwt
        .string_claim("iss")
        .ok_or_else(|| malformed("The 'iss' claim is missing from the client assertion."))?;
    let subject = jwt
        .string_claim("sub")
        .ok_or_else(|| malformed("The 'sub' claim is missing from the client assertion."))?;
    let audiences = jwt.audiences();
    let issuers = Issuers::of(state);
    let mut trusted = app
        .registration
        .federated_credentials
        .iter()
        .filter(|fic| issuers.same(&fic.issuer, issuer) && fic.subject == subject)
        .peekable();
    if trusted.peek().is_none() {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: \
                 '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{}'. \
                 https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
                audiences.join(",")
            ),
        ));
    }
    if !trusted.any(|fic| audiences.contains(&fic.audience.as_str())) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{}'. Please note \
                 that the matching is done using a case-sensitive comparison. Check your federated identity \
                 credential Subject, Audience and Issuer against the presented assertion.",
                audiences.join(",")
            ),
        ));
    }
    let own_tenant = issuers.is_own_tenant(issuer);
    let key = if own_tenant {
        jwt.header
            .kid
            .as_deref()
            .and_then(|kid| state.entra_decoding_key(kid))
    } else if issuer == issuers.oidc {
        Some(state.oidc_decoding_key())
    } else {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50166,
            format!("Request to External OIDC endpoint failed. Issuer: '{issuer}'."),
        ));
    };
    if !key.is_some_and(|key: DecodingKey| jwt.signed_by(&key, &[Algorithm::RS256])) {
        return Err(invalid_signature(
            "The provided signature value did not match the expected signature value.",
        ));
    }
    let window = Window::of(jwt)?;
    window.check(state.now())?;
    if !own_tenant && window.lifetime().is_some_and(|l| l > MAX_EXTERNAL_LIFETIME) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            70023,
            "External OIDC Provider token must have a lifetime of less than or equal to 1.01:00:00.",
        ));
    }
    Ok(())
}

/// The issuers the emulator can vouch for.
struct Issuers {
    v1: String,
    v2: String,
    oidc: String,
}

impl Issuers {
    fn of(state: &EmulatorState) -> Self {
        let tenant = &state.config.tenant_id;
        Self {
            v1: v1_issuer(tenant),
            v2: v2_issuer(tenant),
            oidc: state.oidc_issuer(),
        }
    }

    fn is_own_tenant(&self, issuer: &str) -> bool {
        issuer == self.v1 || issuer == self.v2
    }

    /// Exact comparison, except that the tenant's v1 and v2.0 issuers are one issuer.
    fn same(&self, configured: &str, presented: &str) -> bool {
        configured == presented || (self.is_own_tenant(configured) && self.is_own_tenant(presented))
    }
}
