//! Client assertions (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`): a JWT the
//! app signed with a registered certificate's key, or a token another issuer minted that a federated identity
//! credential of the app trusts.
//!
//! Error codes, as Entra sends them (status, `error`, AADSTS code):
//!
//! * 400 `invalid_request` 50027: not a JWT, or a claim every assertion needs (`exp`, `iss`, `sub`, and `jti` for
//!   certificate assertions) is missing.
//! * 401 `invalid_client` 700027: no registered certificate has the header's `x5t#S256`/`x5t`, or the signature
//!   does not verify. Entra uses this code ("Client assertion contains an invalid signature") for certificate
//!   assertions; the emulator uses it for federated tokens with a bad signature too.
//! * 401 `invalid_client` 700023: a certificate assertion's `aud` is not this tenant's token endpoint (on
//!   the plain or the HTTPS listener, or the public cloud's).
//! * 400 `invalid_client` 700024: outside `nbf`..`exp` by the emulator's clock (no leeway), or a certificate
//!   assertion valid for more than 15 minutes (Entra's own limit is not documented; clients use 5–10 minutes).
//! * 400 `invalid_request` 70021: no federated credential has the token's issuer and subject.
//! * 400 `invalid_request` 700212: one does, but not for any of the token's audiences.
//! * 400 `invalid_request` 50166: the issuer is trusted but not one whose keys the emulator has (its own tenant
//!   and its OIDC issuer), standing in for "Request to External OIDC endpoint failed".
//! * 400 `invalid_request` 70023: an external token valid for more than 25 hours.

mod certificate;
mod federated;
mod jwt;

use axum::http::StatusCode;

use crate::aadsts::{AadError, iso_timestamp};
use crate::apps::RegisteredApp;
use crate::state::EmulatorState;

pub(crate) use jwt::{UnverifiedJwt, malformed};

/// Checks `assertion` as proof of `app`'s identity.
pub(crate) fn verify(
    state: &EmulatorState,
    app: &RegisteredApp,
    assertion: &str,
) -> Result<(), AadError> {
    let jwt = UnverifiedJwt::parse(assertion)?;
    let client_id = app.registration.client_id.as_str();
    let self_signed = [jwt.string_claim("iss"), jwt.string_claim("sub")]
        .iter()
        .all(|claim| claim.is_some_and(|c| c.eq_ignore_ascii_case(client_id)));
    if self_signed {
        certificate::verify(state, app, &jwt)
    } else {
        federated::verify(state, app, &jwt)
    }
}

/// When an assertion is valid, in Unix seconds.
struct Window {
    from: Option<u64>,
    until: u64,
}

impl Window {
    /// `nbf`, else `iat`, to `exp`; a missing `exp` is AADSTS50027.
    fn of(jwt: &UnverifiedJwt) -> Result<Self, AadError> {
        let until = jwt.time_claim("exp").ok_or_else(|| {
            jwt::malformed("The 'exp' claim is missing from the client assertion.")
        })?;
        let from = jwt.time_claim("nbf").or_else(|| jwt.time_claim("iat"));
        Ok(Self { from, until })
    }

    fn lifetime(&self) -> Option<u64> {
        self.from.map(|from| self.until.saturating_sub(from))
    }

    /// AADSTS700024 unless `now` is inside the window, worded as Entra words it.
    fn check(&self, now: u64) -> Result<(), AadError> {
        let started = self.from.is_none_or(|from| from <= now);
        if started && now < self.until {
            return Ok(());
        }
        Err(self.out_of_range(now))
    }

    fn out_of_range(&self, now: u64) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, \
                 expiry time of assertion {}. Review the documentation at \
                 https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                iso_timestamp(now),
                iso_timestamp(self.from.unwrap_or(0)),
                iso_timestamp(self.until),
            ),
        )
    }
}

/// AADSTS700027 with Entra's bracketed reason.
fn invalid_signature(reason: &str) -> AadError {
    AadError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        700027,
        format!("Client assertion contains an invalid signature. [Reason - {reason}]"),
    )
}
