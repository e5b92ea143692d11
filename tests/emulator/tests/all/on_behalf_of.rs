use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_emulator::{AppRegistration, Emulator, EmulatorConfig, ManualClock, UserToken};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::signing::{Assertion, CERT, JWT_BEARER, KEY, claims};
use crate::start_with;
use crate::support::{HttpResponse, get, post_form};
use crate::token_endpoint::{assert_aadsts, token_path};

pub const API: &str = "a9100000-0000-4000-8000-0000000000a1";
pub const API_URI: &str = "api://spin-protected-api";
pub const API_SECRET: &str = "middle-tier-secret";
pub const USER: &str = "7e57e000-0000-4000-8000-0000000d0001";
pub const VAULT_SCOPE: &str = "https://vault.azure.net/user_impersonation";
pub const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const NOW: u64 = 1_800_000_000;

pub async fn emulator() -> (Emulator, ManualClock) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW));
    let emulator = start_with(EmulatorConfig {
        clock: Arc::new(clock.clone()),
        apps: vec![
            AppRegistration::new(API)
                .with_secret(API_SECRET)
                .with_certificate(CERT)
                .with_identifier_uri(API_URI),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    (emulator, clock)
}

/// The middle tier's on-behalf-of request, authenticated with its secret, plus `extra` fields.
pub async fn obo(
    emulator: &Emulator,
    assertion: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> HttpResponse {
    let mut form = vec![
        ("grant_type", OBO_GRANT),
        ("client_id", API),
        ("client_secret", API_SECRET),
        ("assertion", assertion),
        ("scope", scope),
        ("requested_token_use", "on_behalf_of"),
    ];
    form.extend_from_slice(extra);
    post_form(emulator.addr(), &token_path(emulator.tenant_id()), &form).await
}

/// Verifies `token` against the emulator's JWKS as an API would, for `audience`.
fn verified(emulator: &Emulator, token: &str, audience: &str) -> Value {
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwks = emulator.jwks();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the JWKS serves the signing key");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[format!(
        "https://login.microsoftonline.com/{}/v2.0",
        emulator.tenant_id()
    )]);
    // The emulator's clock is not the wall clock.
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn user_tokens_verify_against_the_jwks_with_entra_claims() {
    let (emulator, _clock) = emulator().await;
    let token = emulator.mint_user_token(&UserToken::new(USER, API_URI));
    let claims = verified(&emulator, &token, API_URI);
    assert_eq!(claims["oid"], USER);
    assert_eq!(claims["tid"], emulator.tenant_id());
    assert_eq!(claims["scp"], "access_as_user");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 86_400);
    assert!(claims["azp"].as_str().unwrap().len() == 36);
    assert_eq!(claims["sub"].as_str().unwrap().len(), 43);
    assert!(claims["uti"].is_string());
    assert!(claims.get("idtyp").is_none());

    emulator.rotate_signing_key();
    let custom = emulator.mint_user_token(
        &UserToken::new(USER, API)
            .scopes(&["Read", "Write"])
            .amr(&["pwd", "mfa"])
            .lifetime(Duration::from_secs(60))
            .tenant("other-tenant"),
    );
    let custom = crate::signing::claims(&custom);
    assert_eq!(custom["scp"], "Read Write");
    assert_eq!(custom["amr"], json!(["pwd", "mfa"]));
    assert_eq!(custom["exp"], NOW + 60);
    assert_eq!(custom["tid"], "other-tenant");
    assert_eq!(
        custom["iss"],
        "https://login.microsoftonline.com/other-tenant/v2.0"
    );
    assert_ne!(
        emulator.mint_user_token(&UserToken::new(USER, API)),
        emulator.mint_user_token(&UserToken::new(USER, API)),
        "every token is unique"
    );
}

#[tokio::test]
async fn on_behalf_of_issues_a_fresh_delegated_token_for_the_resource() {
    let (emulator, _clock) = emulator().await;
    let user_token = emulator.mint_user_token(&UserToken::new(USER, API_URI));
    let user_claims = claims(&user_token);

    let response = obo(&emulator, &user_token, VAULT_SCOPE, &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store, no-cache"));
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], VAULT_SCOPE);
    assert_eq!(body["expires_in"], 86_400);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let issued = verified(&emulator, &token, "https://vault.azure.net");
    assert_eq!(issued["oid"], USER);
    assert_eq!(issued["sub"], user_claims["sub"]);
    assert_eq!(issued["tid"], emulator.tenant_id());
    assert_eq!(issued["scp"], "user_impersonation");
    assert_eq!(issued["azp"], API);
    assert_eq!(issued["azpacr"], "1");
    assert!(issued.get("idtyp").is_none());
    assert!(issued.get("xms_cc").is_none());

    // Key Vault takes it.
    emulator.set_secret("db", "s3cret");
    let bearer = format!("Bearer {token}");
    let read = get(
        emulator.addr(),
        "/secrets/db?api-version=7.4",
        &[("Authorization", &bearer)],
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text());

    // `.default` asks for user_impersonation; the client id is an audience as good as the identifier URI; every
    // exchange is a new token.
    let by_client_id = emulator.mint_user_token(&UserToken::new(USER, API));
    let again = obo(
        &emulator,
        &by_client_id,
        "https://vault.azure.net/.default offline_access",
        &[],
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text());
    let again = again.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(again, token);
    assert_eq!(claims(&again)["scp"], "user_impersonation");
    assert_ne!(claims(&again)["uti"], issued["uti"]);
}

#[tokio::test]
async fn on_behalf_of_takes_a_certificate_assertion_as_client_authentication() {
    let (emulator, _clock) = emulator().await;
    let client_assertion = Assertion {
        alg: Algorithm::PS256,
        client_id: API,
        audience: emulator.token_endpoint(),
        nbf: NOW,
        exp: NOW + 600,
        jti: Some("0b0b0b0b-0000-4000-8000-000000000001"),
        key: KEY,
        cert: CERT,
    }
    .sign();
    let user_token = emulator.mint_user_token(&UserToken::new(USER, API_URI));
    let form = [
        ("grant_type", OBO_GRANT),
        ("client_id", API),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", client_assertion.as_str()),
        ("assertion", user_token.as_str()),
        ("scope", VAULT_SCOPE),
        ("requested_token_use", "on_behalf_of"),
    ];
    let response = post_form(emulator.addr(), &token_path(emulator.tenant_id()), &form).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let issued = claims(response.json()["access_token"].as_str().unwrap());
    assert_eq!(issued["azpacr"], "2");

    // A wrong secret is still the client's failure, before the assertion is looked at.
    let form = [
        ("grant_type", OBO_GRANT),
        ("client_id", API),
        ("client_secret", "wrong"),
        ("assertion", "not even a JWT"),
        ("scope", VAULT_SCOPE),
        ("requested_token_use", "on_behalf_of"),
    ];
    let response = post_form(emulator.addr(), &token_path(emulator.tenant_id()), &form).await;
    assert_aadsts(&response, 401, "invalid_client", 7000215);
}

#[tokio::test]
async fn wrong_audience_expired_tampered_and_app_only_assertions_are_refused() {
    let (emulator, clock) = emulator().await;

    let elsewhere = emulator.mint_user_token(&UserToken::new(USER, "api://someone-else"));
    let body = assert_aadsts(
        &obo(&emulator, &elsewhere, VAULT_SCOPE, &[]).await,
        400,
        "invalid_grant",
        500131,
    );
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(
            "Assertion audience does not match the Client app presenting the assertion. The audience in the \
             assertion was 'api://someone-else'"
        ),
        "{description}"
    );

    let token = emulator.mint_user_token(&UserToken::new(USER, API_URI));
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut forged: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    forged["oid"] = Value::from("7e57e000-0000-4000-8000-0000000d0666");
    let forged = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(forged.to_string())
    );
    let body = assert_aadsts(
        &obo(&emulator, &forged, VAULT_SCOPE, &[]).await,
        400,
        "invalid_grant",
        50013,
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Assertion failed signature validation.")
    );

    let other_tenant = emulator.mint_user_token(&UserToken::new(USER, API_URI).tenant("other"));
    assert_aadsts(
        &obo(&emulator, &other_tenant, VAULT_SCOPE, &[]).await,
        400,
        "invalid_grant",
        50013,
    );

    let app_only = emulator.mint_api_token(API_URI, &["Secrets.Read"]);
    assert_aadsts(
        &obo(&emulator, &app_only, VAULT_SCOPE, &[]).await,
        400,
        "invalid_grant",
        50013,
    );

    let short =
        emulator.mint_user_token(&UserToken::new(USER, API_URI).lifetime(Duration::from_secs(60)));
    clock.advance(Duration::from_secs(60));
    let body = assert_aadsts(
        &obo(&emulator, &short, VAULT_SCOPE, &[]).await,
        400,
        "invalid_grant",
        500133,
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Assertion is not within its valid time range.")
    );

    let garbage = obo(&emulator, "not-a-jwt", VAULT_SCOPE, &[]).await;
    assert_aadsts(&garbage, 400, "invalid_request", 50027);
}

#[tokio::test]
async fn missing_assertion_or_requested_token_use_is_aadsts900144() {
    let (emulator, _clock) = emulator().await;
    let token = emulator.mint_user_token(&UserToken::new(USER, API_URI));
    for missing in ["assertion", "requested_token_use"] {
        let fields = [
            ("grant_type", OBO_GRANT),
            ("client_id", API),
            ("client_secret", API_SECRET),
            ("assertion", token.as_str()),
            ("scope", VAULT_SCOPE),
            ("requested_token_use", "on_behalf_of"),
        ];
        let form: Vec<(&str, &str)> = fields
            .into_iter()
            .filter(|(name, _)| *name != missing)
            .collect();
        let response = post_form(emulator.addr(), &token_path(emulator.tenant_id()), &form).await;
        let body = assert_aadsts(&response, 400, "invalid_request", 900144);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(&format!(
                    "AADSTS900144: The request body must contain the following parameter: '{missing}'."
                ))
        );
    }
}

#[tokio::test]
async fn mfa_requirement_answers_interaction_required_until_the_user_did_mfa() {
    let (emulator, _clock) = emulator().await;
    emulator.require_mfa_for("https://vault.azure.net");
    let password_only = emulator.mint_user_token(&UserToken::new(USER, API_URI));

    let response = obo(&emulator, &password_only, VAULT_SCOPE, &[]).await;
    let body = assert_aadsts(&response, 400, "interaction_required", 50079);
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(
            "AADSTS50079: Due to a configuration change made by your administrator, or because you moved to a new \
             location, you must enroll in multi-factor authentication to access 'https://vault.azure.net'.\r\n"
        ),
        "{description}"
    );
    let challenge = body["claims"].as_str().expect("claims is a JSON string");
    let challenge: Value = serde_json::from_str(challenge).unwrap();
    assert_eq!(
        challenge,
        json!({"access_token": {"capolids": {"essential": true, "values": ["7e57e000-0000-4000-8000-0000000ca001"]}}})
    );

    // Other resources are not covered.
    let graph = obo(&emulator, &password_only, "User.Read", &[]).await;
    assert_eq!(graph.status, 200, "{}", graph.text());
    assert_eq!(
        claims(graph.json()["access_token"].as_str().unwrap())["aud"],
        "https://graph.microsoft.com"
    );

    let with_mfa = emulator.mint_user_token(&UserToken::new(USER, API_URI).amr(&["pwd", "mfa"]));
    let response = obo(&emulator, &with_mfa, VAULT_SCOPE, &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "mfa"])
    );
}
