//! Entra's refusals: the AADSTS code, and what to check for the common ones.

use crate::error::{Error, ServiceError};

/// The `AADSTS<digits>` code at the start of an Entra error description (every Entra
/// description starts with it; `error_codes` repeats the number).
pub fn aadsts_code(description: &str) -> Option<String> {
    let start = description.find("AADSTS")?;
    let digits: String = description[start + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

/// A value Entra quotes as `<label> '<value>'` in a description.
fn quoted<'a>(description: &'a str, label: &str) -> Option<&'a str> {
    let rest = &description[description.find(label)? + label.len()..];
    let rest = rest.trim_start_matches([':', ' ']).strip_prefix('\'')?;
    rest.split('\'').next()
}

/// Whether only the signed-in user can resolve the refusal (consent, multi-factor
/// authentication, a Conditional Access policy), as MSAL.NET classifies it:
/// `interaction_required` and `consent_required` always; `invalid_grant` only when a
/// user's token was exchanged (on-behalf-of), and not when its `suberror` says the app
/// itself is at fault (`client_mismatch`, `protection_policy_required`). A client
/// credentials `invalid_grant` stays an authentication failure.
fn needs_user(error: &ServiceError, on_behalf_of: bool) -> bool {
    match error.code.as_str() {
        "interaction_required" | "consent_required" => true,
        "invalid_grant" => {
            on_behalf_of
                && !matches!(
                    error.suberror.as_deref(),
                    Some("client_mismatch" | "protection_policy_required")
                )
        }
        _ => false,
    }
}

/// The refusal as an error: `code` becomes the AADSTS code when there is one, and
/// `context` says what was asked (`app`, `tenant`) and what to check. Refusals only
/// the user can resolve are [`Error::InteractionRequired`], with their claims.
pub fn refusal(mut error: ServiceError, app: &str, tenant: &str, on_behalf_of: bool) -> Error {
    let user = needs_user(&error, on_behalf_of);
    if let Some(code) = aadsts_code(&error.description) {
        error.code = code;
    }
    if user {
        error.context = match error.claims {
            Some(_) => format!(
                "Entra ID needs the user to act before app {app} in tenant {tenant} gets this token (multi-factor authentication, consent or a Conditional Access policy): return 401 to the user's client with the claims challenge, so that it asks for a new token with those claims"
            ),
            None => format!(
                "Entra ID needs the user to act before app {app} in tenant {tenant} gets this token (consent, or signing in again): the user's client must get a new token interactively"
            ),
        };
        return Error::InteractionRequired(error);
    }
    let d = &error.description;
    error.context = match error.code.as_str() {
        "AADSTS70021" => format!(
            "no federated identity credential on app {app} matches the presented token (issuer '{}', subject '{}'); add one with exactly that issuer and subject",
            quoted(d, "Assertion Issuer").unwrap_or("?"),
            quoted(d, "Assertion Subject").unwrap_or("?"),
        ),
        "AADSTS700024" => format!(
            "the client assertion for app {app} is expired or not yet valid; a federated token file must be re-read as the platform rotates it, and clocks must be right"
        ),
        "AADSTS7000215" => format!(
            "the client secret for app {app} is wrong: use the secret's value (not its id) and check that it has not expired"
        ),
        "AADSTS700016" => format!(
            "no application {app} in tenant {tenant}: check the client id and tenant id, and that the app is registered (or consented) there"
        ),
        "AADSTS90002" => format!(
            "tenant {tenant} does not exist in this cloud: check the tenant id and the authority host"
        ),
        "AADSTS700027" => format!(
            "the certificate that signed the assertion is not registered on app {app}, or the signature is invalid"
        ),
        _ => format!("Entra ID refused a token for app {app} in tenant {tenant}"),
    };
    Error::AuthenticationFailed(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::parse_error;

    const FIC: &str = r#"{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://kubernetes.default.svc.cluster.local'. Assertion Subject: 'system:serviceaccount:default:workload-identity-sa'. Assertion Audience: 'api://AzureADTokenExchange'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation\r\nTrace ID: 30b6df93-efd2-459c-ae6a-bad0838f6f00\r\nCorrelation ID: dffc6012-a4af-4f00-80ab-3e831069b3cc\r\nTimestamp: 2022-10-27 23:39:22Z","error_codes":[70021],"timestamp":"2022-10-27 23:39:22Z","trace_id":"30b6df93-efd2-459c-ae6a-bad0838f6f00","correlation_id":"dffc6012-a4af-4f00-80ab-3e831069b3cc","error_uri":"https://login.microsoftonline.com/error?code=70021"}"#;

    fn entra(code: u32, text: &str) -> String {
        format!(
            r#"{{"error":"invalid_client","error_description":"AADSTS{code}: {text} Trace ID: t Correlation ID: c-{code} Timestamp: 2024-08-05 10:07:04Z","error_codes":[{code}],"correlation_id":"c-{code}"}}"#
        )
    }

    fn typed(status: u16, body: &str) -> ServiceError {
        match refusal(
            parse_error(status, body.as_bytes(), &[] as &[&str]),
            "app-1",
            "tenant-1",
            false,
        ) {
            Error::AuthenticationFailed(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn federated_mismatch_quotes_issuer_and_subject() {
        let e = typed(400, FIC);
        assert_eq!(e.code, "AADSTS70021");
        assert_eq!(
            e.correlation_id.as_deref(),
            Some("dffc6012-a4af-4f00-80ab-3e831069b3cc")
        );
        assert!(
            e.context
                .contains("issuer 'https://kubernetes.default.svc.cluster.local'"),
            "{}",
            e.context
        );
        assert!(
            e.context
                .contains("subject 'system:serviceaccount:default:workload-identity-sa'")
        );
    }

    #[test]
    fn common_codes_get_their_own_advice() {
        for (code, hint) in [
            (700024, "re-read"),
            (7000215, "secret's value"),
            (700016, "no application app-1 in tenant tenant-1"),
            (90002, "tenant tenant-1 does not exist"),
            (700027, "certificate"),
            (50027, "refused a token"),
        ] {
            let e = typed(400, &entra(code, "Something."));
            assert_eq!(e.code, format!("AADSTS{code}"));
            assert_eq!(e.correlation_id, Some(format!("c-{code}")));
            assert!(e.context.contains(hint), "{code}: {}", e.context);
        }
        // Without an AADSTS code the OAuth error stays the code.
        let e = typed(
            400,
            r#"{"error":"invalid_request","error_description":"invalid assertion"}"#,
        );
        assert_eq!(e.code, "invalid_request");
    }

    #[test]
    fn code_extraction() {
        assert_eq!(
            aadsts_code("AADSTS50027: x").as_deref(),
            Some("AADSTS50027")
        );
        assert_eq!(aadsts_code("no code"), None);
        assert_eq!(aadsts_code("AADSTS: x"), None);
    }
}
