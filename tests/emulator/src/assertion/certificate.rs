//! Certificate assertions: `iss` = `sub` = the client id, signed (PS256 or RS256) by a registered certificate's key.

use axum::http::StatusCode;
use base64::Engine as _;
use jsonwebtoken::Algorithm;

use super::jwt::{UnverifiedJwt, malformed};
use super::{Window, invalid_signature};
use crate::aadsts::AadError;
use crate::apps::RegisteredApp;
use crate::state::EmulatorState;

/// Longest validity accepted: MSAL signs for 10 minutes, so anything well beyond that is a client bug.
const MAX_LIFETIME: u64 = 15 * 60;

/// The algorithms certificate credentials are used with: MSAL's PS256 and the older RS256.
const ALGORITHMS: [Algorithm; 2] = [Algorithm::PS256, Algorithm::RS256];

pub(super) fn verify(
    state: &EmulatorState,
    app: &RegisteredApp,
    jwt: &UnverifiedJwt,
) -> Result<(), AadError> {
    let client_id = &app.registration.client_id;
    let (x5t_s256, x5t) = (jwt.header.x5t_s256.as_deref(), jwt.header.x5t.as_deref());
    let Some(certificate) = app.certificates.iter().find(|c| c.matches(x5t_s256, x5t)) else {
        return Err(invalid_signature(&format!(
            "The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph \
             Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the \
             documentation at https://learn.microsoft.com/en-us/graph/deployment-guide]",
            thumbprint_hex(x5t_s256.or(x5t).unwrap_or_default())
        )));
    };
    if !jwt.signed_by(&certificate.key, &ALGORITHMS) {
        return Err(invalid_signature(
            "The provided signature value did not match the expected signature value.",
        ));
    }
    let tenant = &state.config.tenant_id;
    let accepted = [
        format!("{}/{tenant}/oauth2/v2.0/token", state.base_url),
        format!("{}/{tenant}/oauth2/v2.0/token", state.https_base_url),
        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
    ];
    let audiences = jwt.audiences();
    if !audiences
        .iter()
        .any(|aud| accepted.iter().any(|a| a.eq_ignore_ascii_case(aud)))
    {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at \
             https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
        ));
    }
    let window = Window::of(jwt)?;
    window.check(state.now())?;
    if window.lifetime().is_some_and(|l| l > MAX_LIFETIME) {
        return Err(window.out_of_range(state.now()));
    }
    if jwt.string_claim("jti").is_none_or(str::is_empty) {
        return Err(malformed(
            "The 'jti' claim is missing from the client assertion.",
        ));
    }
    Ok(())
}

/// Entra quotes the thumbprint in hex; the header has it in base64 of either alphabet.
fn thumbprint_hex(encoded: &str) -> String {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(encoded));
    match bytes {
        Ok(bytes) => bytes.iter().map(|b| format!("{b:02X}")).collect(),
        Err(_) => encoded.to_owned(),
    }
}
