use super::*;
use crate::testing::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

mod shared_keys;

pub(super) const NOW: u64 = 1_800_000_000;
pub(super) const TENANT: &str = "7e57e000-0000-4000-8000-000000000001";
pub(super) const OTHER_TENANT: &str = "0babe000-0000-4000-8000-000000000002";
pub(super) const AUDIENCE: &str = "api://my-api";
const AUTHORITY: &str = "https://login.microsoftonline.com";
// Test-only keys shipped with the emulator.
pub(super) const KEY_PEM: &str =
    include_str!("../../../../tests/support/keys/emulator-signing-1.pem");
pub(super) const OTHER_KEY_PEM: &str =
    include_str!("../../../../tests/support/keys/emulator-signing-2.pem");

pub(super) fn jwk(pem: &str, kid: &str) -> Value {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap();
    let b64 = |b: Vec<u8>| URL_SAFE_NO_PAD.encode(b);
    json!({"kty": "RSA", "use": "sig", "kid": kid, "n": b64(key.n().to_bytes_be()), "e": b64(key.e().to_bytes_be())})
}

pub(super) fn sign(claims: &Value, kid: &str, pem: &str) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub(super) fn v1_claims(tid: &str) -> Value {
    json!({
        "aud": AUDIENCE, "iss": format!("https://sts.windows.net/{tid}/"), "tid": tid,
        "oid": "oid-1", "sub": "oid-1", "appid": "app-1", "roles": ["Secrets.Read"],
        "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600, "ver": "1.0"
    })
}

pub(super) fn v2_claims(tid: &str) -> Value {
    json!({
        "aud": AUDIENCE, "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"), "tid": tid,
        "oid": "oid-2", "azp": "app-2", "scp": "user_impersonation Files.Read",
        "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600, "ver": "2.0"
    })
}

pub(super) struct Harness {
    pub(super) transport: FakeTransport,
    pub(super) validator: Validator,
    pub(super) time: FakeTime,
}

pub(super) fn serve_keys(transport: &FakeTransport, keys: Vec<Value>) {
    transport.then(json(
        200,
        &json!({"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                "jwks_uri": format!("{AUTHORITY}/common/discovery/v2.0/keys")})
        .to_string(),
    ));
    transport.then(json(200, &json!({ "keys": keys }).to_string()));
}

pub(super) fn harness(options: ValidatorOptions) -> Harness {
    let time = FakeTime::at(NOW);
    let transport = FakeTransport::new(&time);
    let platform = FakePlatform {
        time: time.clone(),
        random: std::cell::Cell::new(0),
    };
    let keys = Rc::new(RefCell::new(KeyCache::default()));
    let validator = Validator::new(
        options,
        keys,
        Box::new(transport.clone()),
        Box::new(platform),
    )
    .unwrap();
    Harness {
        transport,
        validator,
        time,
    }
}

pub(super) fn single_tenant() -> Harness {
    let h = harness(ValidatorOptions::new(TENANT, &[AUDIENCE, "client-id-guid"]));
    serve_keys(&h.transport, vec![jwk(KEY_PEM, "k1")]);
    h
}

#[test]
fn valid_v1_and_v2_tokens_give_their_claims() {
    let h = single_tenant();
    let c = h
        .validator
        .validate(&sign(&v1_claims(TENANT), "k1", KEY_PEM))
        .unwrap();
    assert_eq!(
        (c.tid.as_str(), c.version.as_str(), c.app_id.as_deref()),
        (TENANT, "1.0", Some("app-1"))
    );
    assert_eq!(c.roles, ["Secrets.Read"]);
    let bearer = format!("Bearer {}", sign(&v2_claims(TENANT), "k1", KEY_PEM));
    let c = h.validator.validate(&bearer).unwrap();
    assert_eq!(
        (c.version.as_str(), c.app_id.as_deref()),
        ("2.0", Some("app-2"))
    );
    assert_eq!(c.scopes, ["user_impersonation", "Files.Read"]);
    assert!(c.raw.contains("\"oid\":\"oid-2\""));
    assert_eq!(h.transport.count(), 2, "metadata and keys fetched once");
    let sent = h.transport.sent.borrow();
    assert_eq!(
        sent[0].url,
        format!("{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration")
    );
    assert_eq!(
        sent[1].url,
        format!("{AUTHORITY}/common/discovery/v2.0/keys")
    );
}

pub(super) fn rejected(h: &Harness, token: &str) -> ValidationError {
    h.validator.validate(token).unwrap_err()
}

#[test]
fn algorithm_none_and_hs256_with_the_public_key_are_rejected() {
    let h = single_tenant();
    let payload = URL_SAFE_NO_PAD.encode(v1_claims(TENANT).to_string());
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#);
    assert_eq!(
        rejected(&h, &format!("{none_header}.{payload}.")),
        ValidationError::Malformed("an empty part (unsigned tokens are not accepted)".into())
    );
    assert_eq!(
        rejected(&h, &format!("{none_header}.{payload}.c2ln")),
        ValidationError::UnsupportedAlgorithm("none".into())
    );
    // The classic confusion attack: HMAC keyed with the RSA public key's bytes.
    let public_pem = {
        use rsa::pkcs8::EncodePublicKey;
        rsa::RsaPrivateKey::from_pkcs8_pem(KEY_PEM)
            .unwrap()
            .to_public_key()
            .to_public_key_pem(Default::default())
            .unwrap()
    };
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    let forged = encode(
        &header,
        &v1_claims(TENANT),
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        rejected(&h, &forged),
        ValidationError::UnsupportedAlgorithm("HS256".into())
    );
    assert_eq!(
        h.transport.count(),
        0,
        "rejected before any key was fetched"
    );
}

#[test]
fn a_key_that_declares_another_algorithm_is_not_used_for_rs256() {
    let h = harness(ValidatorOptions::new(TENANT, &[AUDIENCE]));
    let mut key = jwk(KEY_PEM, "k1");
    key["alg"] = json!("RS512");
    serve_keys(&h.transport, vec![key]);
    assert_eq!(
        rejected(&h, &sign(&v1_claims(TENANT), "k1", KEY_PEM)),
        ValidationError::UnsupportedAlgorithm("RS512".into())
    );
}

#[test]
fn tampering_is_detected() {
    let h = single_tenant();
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = v1_claims(TENANT);
    claims["roles"] = json!(["Admin"]);
    let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_eq!(
        rejected(&h, &format!("{}.{forged_payload}.{}", parts[0], parts[2])),
        ValidationError::BadSignature
    );
    let mut sig = parts[2].to_string();
    let flipped = if sig.ends_with('A') { 'B' } else { 'A' };
    sig.pop();
    sig.push(flipped);
    assert_eq!(
        rejected(&h, &format!("{}.{}.{sig}", parts[0], parts[1])),
        ValidationError::BadSignature
    );
    // Signed by a key the authority does not publish under that kid.
    assert_eq!(
        rejected(&h, &sign(&v1_claims(TENANT), "k1", OTHER_KEY_PEM)),
        ValidationError::BadSignature
    );
}

#[test]
fn time_checks_use_the_leeway() {
    let h = single_tenant();
    let mut claims = v1_claims(TENANT);
    claims["exp"] = json!(NOW - 301);
    assert_eq!(
        rejected(&h, &sign(&claims, "k1", KEY_PEM)),
        ValidationError::Expired {
            exp: NOW - 301,
            now: NOW
        }
    );
    claims["exp"] = json!(NOW - 299);
    assert!(
        h.validator.validate(&sign(&claims, "k1", KEY_PEM)).is_ok(),
        "within leeway"
    );
    let mut claims = v1_claims(TENANT);
    claims["nbf"] = json!(NOW + 400);
    assert_eq!(
        rejected(&h, &sign(&claims, "k1", KEY_PEM)),
        ValidationError::NotYetValid {
            nbf: NOW + 400,
            now: NOW
        }
    );
}

#[test]
fn audience_issuer_and_tenant_are_checked() {
    let h = single_tenant();
    let mut claims = v1_claims(TENANT);
    claims["aud"] = json!("api://someone-else");
    assert_eq!(
        rejected(&h, &sign(&claims, "k1", KEY_PEM)),
        ValidationError::WrongAudience("api://someone-else".into())
    );
    claims["aud"] = json!(["x", "client-id-guid"]);
    assert!(
        h.validator.validate(&sign(&claims, "k1", KEY_PEM)).is_ok(),
        "any accepted audience in an array"
    );

    let mut claims = v1_claims(TENANT);
    claims["iss"] = json!("https://evil.example/");
    assert_eq!(
        rejected(&h, &sign(&claims, "k1", KEY_PEM)),
        ValidationError::WrongIssuer("https://evil.example/".into())
    );
    // An issuer for another tenant than the token's own tid.
    claims["iss"] = json!(format!("https://sts.windows.net/{OTHER_TENANT}/"));
    assert!(matches!(
        rejected(&h, &sign(&claims, "k1", KEY_PEM)),
        ValidationError::WrongIssuer(_)
    ));

    // A genuine token of another tenant.
    assert_eq!(
        rejected(&h, &sign(&v1_claims(OTHER_TENANT), "k1", KEY_PEM)),
        ValidationError::TenantNotAllowed(OTHER_TENANT.into())
    );
}

#[test]
fn multi_tenant_accepts_only_listed_tenants() {
    let options = {
        let mut v = ValidatorOptions::new("organizations", &[AUDIENCE]);
        v.allowed_tenants = vec![TENANT.into()];
        v
    };
    let h = harness(options);
    serve_keys(&h.transport, vec![jwk(KEY_PEM, "k1")]);
    assert!(
        h.validator
            .validate(&sign(&v2_claims(TENANT), "k1", KEY_PEM))
            .is_ok()
    );
    assert_eq!(
        rejected(&h, &sign(&v2_claims(OTHER_TENANT), "k1", KEY_PEM)),
        ValidationError::TenantNotAllowed(OTHER_TENANT.into())
    );
    assert!(matches!(
        super::options::check(&ValidatorOptions::new("common", &[AUDIENCE])),
        Err(ValidationError::InvalidConfiguration(_))
    ));
}

/// Entra's metadata for a tenant id or a domain names that tenant in its issuer, but
/// an allowed tenant's v2 token names its own: the v2 issuer is the home tenant's.
#[test]
fn allowed_tenants_v2_tokens_pass_when_the_tenant_is_an_id_or_a_domain() {
    const THIRD_TENANT: &str = "5eed0000-0000-4000-8000-000000000003";
    for tenant in [TENANT, "contoso.onmicrosoft.com"] {
        let mut options = ValidatorOptions::new(tenant, &[AUDIENCE]);
        options.allowed_tenants = vec![OTHER_TENANT.into()];
        let h = harness(options);
        serve_keys_with_issuer(
            &h.transport,
            &format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        );
        for claims in [
            v1_claims(OTHER_TENANT),
            v2_claims(OTHER_TENANT),
            v2_claims(TENANT),
        ] {
            h.validator
                .validate(&sign(&claims, "k1", KEY_PEM))
                .unwrap_or_else(|e| panic!("{tenant}: {claims}: {e}"));
        }
        // Still strict: the issuer is the token's own tenant's, on the metadata's host.
        for issuer in [
            format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            format!("https://login.microsoftonline.us/{OTHER_TENANT}/v2.0"),
            format!("https://login.microsoftonline.com/{OTHER_TENANT}/v2.0/"),
        ] {
            let mut claims = v2_claims(OTHER_TENANT);
            claims["iss"] = json!(issuer);
            assert_eq!(
                rejected(&h, &sign(&claims, "k1", KEY_PEM)),
                ValidationError::WrongIssuer(issuer),
                "{tenant}"
            );
        }
        assert_eq!(
            rejected(&h, &sign(&v2_claims(THIRD_TENANT), "k1", KEY_PEM)),
            ValidationError::TenantNotAllowed(THIRD_TENANT.into()),
            "{tenant}"
        );
    }
}

#[test]
fn unknown_kids_refresh_the_keys_at_most_once_per_five_minutes() {
    let h = single_tenant();
    h.validator
        .validate(&sign(&v1_claims(TENANT), "k1", KEY_PEM))
        .unwrap();
    assert_eq!(h.transport.count(), 2);
    // A rotation: k2 appears at the authority.
    serve_keys(
        &h.transport,
        vec![jwk(KEY_PEM, "k1"), jwk(OTHER_KEY_PEM, "k2")],
    );
    h.time.advance(Duration::from_secs(MIN_REFRESH_INTERVAL));
    h.validator
        .validate(&sign(&v1_claims(TENANT), "k2", OTHER_KEY_PEM))
        .unwrap();
    assert_eq!(h.transport.count(), 4, "one refresh for the new kid");
    // A flood of made-up kids right after: no further requests.
    for i in 0..100 {
        let err = rejected(
            &h,
            &sign(&v1_claims(TENANT), &format!("garbage-{i}"), KEY_PEM),
        );
        assert_eq!(err, ValidationError::UnknownKey(format!("garbage-{i}")));
    }
    assert_eq!(h.transport.count(), 4);
    // Five minutes later one more refresh is allowed.
    h.time.advance(Duration::from_secs(MIN_REFRESH_INTERVAL));
    serve_keys(&h.transport, vec![jwk(KEY_PEM, "k1")]);
    assert!(matches!(
        rejected(&h, &sign(&v1_claims(TENANT), "garbage-x", KEY_PEM)),
        ValidationError::UnknownKey(_)
    ));
    assert_eq!(h.transport.count(), 6);
}

#[test]
fn malformed_and_oversized_tokens_are_rejected_before_any_request() {
    let h = single_tenant();
    let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert!(matches!(
        rejected(&h, &huge),
        ValidationError::TooLarge { .. }
    ));
    for garbage in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.c2ln", "e30.e30.c2ln"] {
        assert!(
            matches!(rejected(&h, garbage), ValidationError::Malformed(_)),
            "{garbage}"
        );
    }
    // Deeply nested JSON in the header: serde's recursion limit, not a stack overflow.
    let nested = URL_SAFE_NO_PAD.encode(format!("{}{}", "[".repeat(5000), "]".repeat(5000)));
    assert!(matches!(
        rejected(&h, &format!("{nested}.e30.c2ln")),
        ValidationError::Malformed(_)
    ));
    // A jku header pointing elsewhere is ignored, not followed.
    let jku =
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k1","jku":"https://evil.example/keys"}"#);
    let good = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    let rest = good.split_once('.').unwrap().1;
    assert_eq!(
        rejected(&h, &format!("{jku}.{rest}")),
        ValidationError::BadSignature
    );
    assert!(
        h.transport
            .sent
            .borrow()
            .iter()
            .all(|r| !r.url.contains("evil"))
    );
}

#[test]
fn errors_never_echo_the_token() {
    let h = single_tenant();
    let mut claims = v1_claims(TENANT);
    claims["aud"] = json!("api://someone-else");
    let token = sign(&claims, "k1", KEY_PEM);
    let err = rejected(&h, &token);
    let text = format!("{err} {err:?}");
    for part in token.split('.') {
        assert!(!text.contains(part), "{text}");
    }
}

#[test]
fn role_and_scope_requirements_name_what_is_missing() {
    let h = single_tenant();
    let c = h
        .validator
        .validate(&sign(&v1_claims(TENANT), "k1", KEY_PEM))
        .unwrap();
    assert!(require_role(&c, "Secrets.Read").is_ok());
    assert_eq!(
        require_role(&c, "Secrets.Write"),
        Err(ValidationError::MissingRole("Secrets.Write".into()))
    );
    assert_eq!(
        require_scope(&c, "Files.Read"),
        Err(ValidationError::MissingScope("Files.Read".into()))
    );
}

#[test]
fn keys_unavailable_is_typed_and_retried_soon_when_cold() {
    let h = harness(ValidatorOptions::new(TENANT, &[AUDIENCE]));
    h.transport.then(json(503, "down"));
    let token = sign(&v1_claims(TENANT), "k1", KEY_PEM);
    assert!(matches!(
        rejected(&h, &token),
        ValidationError::KeysUnavailable(_)
    ));
    assert!(matches!(
        rejected(&h, &token),
        ValidationError::KeysUnavailable(_)
    ));
    assert_eq!(h.transport.count(), 1, "no immediate re-fetch");
    h.time.advance(Duration::from_secs(10));
    serve_keys(&h.transport, vec![jwk(KEY_PEM, "k1")]);
    assert!(h.validator.validate(&token).is_ok());
}

/// ID tokens of a user signed in to the API's own app carry its client id as `aud`
/// (often accepted) and can carry `roles`; they must not pass as access tokens.
#[test]
fn id_tokens_are_not_accepted_as_access_tokens() {
    let h = single_tenant();
    let v2_id = json!({
        "aud": "client-id-guid", "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "tid": TENANT, "oid": "user-1", "sub": "pairwise-sub", "roles": ["Secrets.Read"],
        "nonce": "n-0S6_WzA2Mj", "preferred_username": "ada@contoso.com", "name": "Ada",
        "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600, "ver": "2.0"
    });
    // A v1 ID token: no appid, no nonce (the v1 endpoint does not require one).
    let v1_id = json!({
        "aud": "client-id-guid", "iss": format!("https://sts.windows.net/{TENANT}/"),
        "tid": TENANT, "oid": "user-1", "sub": "pairwise-sub", "roles": ["Secrets.Read"],
        "unique_name": "ada@contoso.com", "amr": ["pwd"],
        "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600, "ver": "1.0"
    });
    // Even with a client named, the OpenID-only claims give an ID token away.
    let mut hybrid = v2_id.clone();
    hybrid["azp"] = json!("client-id-guid");
    hybrid["at_hash"] = json!("77QmUPtjPfzWtF2AnpK9RQ");
    for (name, claims) in [("v2", &v2_id), ("v1", &v1_id), ("hybrid", &hybrid)] {
        match rejected(&h, &sign(claims, "k1", KEY_PEM)) {
            ValidationError::NotAnAccessToken(why) => {
                assert!(!why.contains("ada@"), "{name}: {why}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // Real-shaped access tokens for the same audience still pass, in both versions:
    // app-only (roles, the caller in azp/appid) and delegated (scp).
    let mut v2_app = v2_claims(TENANT);
    v2_app["aud"] = json!("client-id-guid");
    v2_app["roles"] = json!(["Secrets.Read"]);
    v2_app["idtyp"] = json!("app");
    v2_app.as_object_mut().unwrap().remove("scp");
    let mut v1_user = v1_claims(TENANT);
    v1_user["scp"] = json!("user_impersonation");
    v1_user["uti"] = json!("AbCdEf");
    for claims in [v2_app, v1_user, v1_claims(TENANT), v2_claims(TENANT)] {
        h.validator
            .validate(&sign(&claims, "k1", KEY_PEM))
            .unwrap_or_else(|e| panic!("{claims}: {e}"));
    }
}

/// Metadata as Entra serves it for a named tenant: the issuer holds the tenant id.
fn serve_keys_with_issuer(transport: &FakeTransport, issuer: &str) {
    transport.then(json(
        200,
        &json!({"issuer": issuer, "jwks_uri": format!("{AUTHORITY}/{TENANT}/discovery/v2.0/keys")})
            .to_string(),
    ));
    transport.then(json(
        200,
        &json!({ "keys": [jwk(KEY_PEM, "k1")] }).to_string(),
    ));
}

/// Tokens carry the tenant id, never the domain, so a validator created with a
/// domain learns the id from the domain's OpenID metadata.
#[test]
fn a_domain_tenant_is_resolved_to_its_id_from_the_metadata() {
    let domain = "contoso.onmicrosoft.com";
    let h = harness(ValidatorOptions::new(domain, &[AUDIENCE]));
    serve_keys_with_issuer(
        &h.transport,
        &format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
    );
    for claims in [v1_claims(TENANT), v2_claims(TENANT)] {
        let c = h
            .validator
            .validate(&sign(&claims, "k1", KEY_PEM))
            .unwrap_or_else(|e| panic!("{claims}: {e}"));
        assert_eq!(c.tid, TENANT);
    }
    assert_eq!(
        h.transport.sent.borrow()[0].url,
        format!("{AUTHORITY}/{domain}/v2.0/.well-known/openid-configuration")
    );
    // Another tenant's tokens are still refused, whichever version they are.
    for claims in [v1_claims(OTHER_TENANT), v2_claims(OTHER_TENANT)] {
        assert_eq!(
            rejected(&h, &sign(&claims, "k1", KEY_PEM)),
            ValidationError::TenantNotAllowed(OTHER_TENANT.into())
        );
    }
}

#[test]
fn a_domain_whose_metadata_names_no_tenant_id_is_a_clear_configuration_error() {
    let h = harness(ValidatorOptions::new(
        "contoso.onmicrosoft.com",
        &[AUDIENCE],
    ));
    serve_keys_with_issuer(
        &h.transport,
        "https://login.microsoftonline.com/{tenantid}/v2.0",
    );
    match rejected(&h, &sign(&v2_claims(TENANT), "k1", KEY_PEM)) {
        ValidationError::InvalidConfiguration(m) => {
            assert!(
                m.contains("contoso.onmicrosoft.com") && m.contains("GUID"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// `consumers` is one tenant (personal Microsoft accounts) under a name: refused at
/// creation with the id to pass, like any name that tokens do not carry.
#[test]
fn consumers_is_refused_at_creation_with_the_id_to_use() {
    match super::options::check(&ValidatorOptions::new("Consumers", &[AUDIENCE])) {
        Err(ValidationError::InvalidConfiguration(m)) => {
            assert!(m.contains("9188040d-6c67-4c5b-b112-36a304b66dad"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}
