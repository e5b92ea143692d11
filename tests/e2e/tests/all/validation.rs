//! Validating incoming tokens in the component, with the emulator's real keys.

use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_emulator::Endpoint;
use entra_identity_host::{
    CacheKey, Error, InstanceLimits, MAX_TOKEN_BYTES, ValidationError, Validator, ValidatorConfig,
    ValidatorOptions,
};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::time::Duration;

const KEY_1: &str = keys::EMULATOR_SIGNING_1;
const KEY_2: &str = keys::EMULATOR_SIGNING_2;
const AUDIENCE: &str = "api://protected-api";
const OTHER_TENANT: &str = "0babe000-0000-4000-8000-000000000002";

struct Api {
    world: World,
    validator: Validator,
}

/// A validator of `world`'s tenant on its authority, clock and shared store.
fn validator_on(
    world: &World,
    options: impl FnOnce(&mut ValidatorOptions),
    config: impl FnOnce(ValidatorConfig) -> ValidatorConfig,
) -> Validator {
    let mut validator_options = ValidatorOptions::new(
        world.emulator.tenant_id(),
        &[AUDIENCE, "https://vault.azure.net"],
    )
    .authority(world.emulator.base_url());
    options(&mut validator_options);
    let identity = world.config(Source::Imds);
    let validator_config = ValidatorConfig::default()
        .with_wall_clock(identity.wall_clock)
        .with_cache(identity.cache);
    Validator::new(validator_options, config(validator_config)).unwrap()
}

/// Every call in an instance of its own, as Spin and `serve` run the component: only
/// the shared cache carries anything from one call to the next.
fn fresh_instances(config: ValidatorConfig) -> ValidatorConfig {
    config.with_limits(InstanceLimits::default().with_reuse_instances(false))
}

/// `(metadata, key set)` requests the emulator received.
fn key_requests(world: &World) -> (usize, usize) {
    (
        world.emulator.count(Endpoint::OpenIdConfiguration),
        world.emulator.count(Endpoint::Jwks),
    )
}

impl Api {
    async fn start(configure: impl FnOnce(&mut ValidatorOptions)) -> Api {
        Self::start_with(configure, |config| config).await
    }

    async fn start_with(
        options: impl FnOnce(&mut ValidatorOptions),
        config: impl FnOnce(ValidatorConfig) -> ValidatorConfig,
    ) -> Api {
        let world = World::start().await;
        let validator = validator_on(&world, options, config);
        Api { world, validator }
    }

    fn now(&self) -> u64 {
        entra_emulator::Clock::now(&self.world.clock)
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn current_kid(&self) -> String {
        self.world.emulator.jwks()["keys"][0]["kid"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn claims(&self, tid: &str, v2: bool) -> Value {
        let now = self.now();
        let iss = if v2 {
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        } else {
            format!("https://sts.windows.net/{tid}/")
        };
        json!({"aud": AUDIENCE, "iss": iss, "tid": tid, "oid": "caller-oid", "azp": "caller-app",
               "roles": ["Secrets.Read"], "iat": now, "nbf": now, "exp": now + 3600,
               "ver": if v2 { "2.0" } else { "1.0" }})
    }

    fn sign(&self, claims: &Value) -> String {
        sign_with(claims, &self.current_kid(), KEY_1)
    }

    async fn reject(&self, token: &str) -> ValidationError {
        match self.validator.validate(token).await {
            Err(Error::Rejected(e)) => e,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// Ten tokens of `tid` signed under kids the authority never published.
    async fn forge_ten(&self, tid: &str, round: &str) {
        for i in 0..10 {
            let kid = format!("{round}-{i}");
            let forged = sign_with(&self.claims(tid, false), &kid, KEY_1);
            assert_eq!(self.reject(&forged).await, ValidationError::UnknownKey(kid));
        }
    }

    fn key_fetches(&self) -> usize {
        self.world.emulator.count(Endpoint::Jwks)
    }
}

fn sign_with(claims: &Value, kid: &str, pem: &str) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn with_header(token: &str, header: &str) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header))
}

#[tokio::test]
async fn a_managed_identity_token_from_the_emulator_validates() {
    let api = Api::start(|_| {}).await;
    let token = api
        .world
        .identity(Source::Imds)
        .get_token(&[VAULT])
        .await
        .unwrap();
    let claims = api
        .validator
        .validate(&format!("Bearer {}", token.secret()))
        .await
        .unwrap();
    assert_eq!(claims.tid, api.world.emulator.tenant_id());
    assert_eq!(
        claims.oid.as_deref(),
        Some(api.world.emulator.system_assigned().object_id.as_str())
    );
    assert_eq!(claims.version, "1.0");
    assert_eq!(claims.expires_on, token.expires_on());
    // Metadata and keys once; later validations use the cached keys.
    api.validator.validate(token.secret()).await.unwrap();
    assert_eq!(
        (
            api.world.emulator.count(Endpoint::OpenIdConfiguration),
            api.key_fetches()
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn v1_and_v2_tokens_validate_and_roles_and_scopes_are_checked() {
    let api = Api::start(|_| {}).await;
    let tid = api.world.emulator.tenant_id().to_string();
    let v1 = api
        .validator
        .validate(&api.sign(&api.claims(&tid, false)))
        .await
        .unwrap();
    assert!(entra_identity_host::require_role(&v1, "Secrets.Read").is_ok());
    assert_eq!(
        entra_identity_host::require_role(&v1, "Secrets.Write"),
        Err(ValidationError::MissingRole("Secrets.Write".into()))
    );
    let mut v2 = api.claims(&tid, true);
    v2["scp"] = json!("Files.Read");
    let v2 = api.validator.validate(&api.sign(&v2)).await.unwrap();
    assert_eq!(
        (v2.version.as_str(), v2.app_id.as_deref()),
        ("2.0", Some("caller-app"))
    );
    assert!(entra_identity_host::require_scope(&v2, "Files.Read").is_ok());
}

#[tokio::test]
async fn each_forgery_and_bad_claim_is_rejected_with_its_reason() {
    let api = Api::start(|_| {}).await;
    let tid = api.world.emulator.tenant_id().to_string();
    let good = api.sign(&api.claims(&tid, false));
    let kid = api.current_kid();
    api.validator.validate(&good).await.unwrap();

    let none = with_header(&good, &format!(r#"{{"alg":"none","kid":"{kid}"}}"#));
    assert_eq!(
        api.reject(&none).await,
        ValidationError::UnsupportedAlgorithm("none".into())
    );
    let hs256 = {
        let public_pem = {
            use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
            rsa::RsaPrivateKey::from_pkcs8_pem(KEY_1)
                .unwrap()
                .to_public_key()
                .to_public_key_pem(Default::default())
                .unwrap()
        };
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        encode(
            &header,
            &api.claims(&tid, false),
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
        .unwrap()
    };
    assert_eq!(
        api.reject(&hs256).await,
        ValidationError::UnsupportedAlgorithm("HS256".into())
    );

    let parts: Vec<&str> = good.split('.').collect();
    let mut elevated = api.claims(&tid, false);
    elevated["roles"] = json!(["Admin"]);
    let tampered_payload = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(elevated.to_string()),
        parts[2]
    );
    assert_eq!(
        api.reject(&tampered_payload).await,
        ValidationError::BadSignature
    );
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let tampered_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );
    assert_eq!(
        api.reject(&tampered_signature).await,
        ValidationError::BadSignature
    );

    let mut c = api.claims(&tid, false);
    c["aud"] = json!("api://someone-else");
    assert_eq!(
        api.reject(&api.sign(&c)).await,
        ValidationError::WrongAudience("api://someone-else".into())
    );
    let mut c = api.claims(&tid, false);
    c["iss"] = json!("https://sts.evil.example/");
    assert!(matches!(
        api.reject(&api.sign(&c)).await,
        ValidationError::WrongIssuer(_)
    ));
    assert_eq!(
        api.reject(&api.sign(&api.claims(OTHER_TENANT, false)))
            .await,
        ValidationError::TenantNotAllowed(OTHER_TENANT.into())
    );
    let mut c = api.claims(&tid, false);
    c["nbf"] = json!(api.now() + 3600);
    assert!(matches!(
        api.reject(&api.sign(&c)).await,
        ValidationError::NotYetValid { .. }
    ));

    assert!(matches!(
        api.reject(&"x".repeat(20_000)).await,
        ValidationError::TooLarge { .. }
    ));
    assert!(matches!(
        api.reject("not*base64.e30.c2ln").await,
        ValidationError::Malformed(_)
    ));
    let nested = URL_SAFE_NO_PAD.encode(format!("{}{}", "{\"a\":".repeat(1500), "}".repeat(1500)));
    assert!(matches!(
        api.reject(&format!("{nested}.e30.c2ln")).await,
        ValidationError::Malformed(_)
    ));

    // A jku header pointing elsewhere: ignored; nothing is fetched from it.
    let jku = with_header(
        &good,
        &format!(r#"{{"alg":"RS256","kid":"{kid}","jku":"http://127.0.0.1:1/keys"}}"#),
    );
    assert_eq!(api.reject(&jku).await, ValidationError::BadSignature);
    assert_eq!(api.key_fetches(), 1, "no key request beyond the first");

    // Expiry, by moving the clock both sides see.
    api.world.advance(Duration::from_secs(3600 + 301));
    assert!(matches!(
        api.reject(&good).await,
        ValidationError::Expired { .. }
    ));
}

/// What the WIT once dropped crosses the component intact: both times of a time
/// check, the size and the limit, and an ID token named as one.
#[tokio::test]
async fn rejections_carry_what_the_component_knows() {
    let api = Api::start(|_| {}).await;
    let tid = api.world.emulator.tenant_id().to_string();

    assert_eq!(
        api.reject(&"x".repeat(20_000)).await,
        ValidationError::TooLarge {
            size: 20_000,
            limit: MAX_TOKEN_BYTES
        }
    );

    let mut c = api.claims(&tid, true);
    let nbf = api.now() + 3600;
    c["nbf"] = json!(nbf);
    assert_eq!(
        api.reject(&api.sign(&c)).await,
        ValidationError::NotYetValid {
            nbf,
            now: api.now()
        }
    );

    let mut id_token = api.claims(&tid, true);
    id_token.as_object_mut().unwrap().remove("azp");
    id_token["nonce"] = json!("n-0S6_WzA2Mj");
    assert!(matches!(
        api.reject(&api.sign(&id_token)).await,
        ValidationError::NotAnAccessToken(why) if why.contains("nonce")
    ));

    let good = api.sign(&api.claims(&tid, true));
    let exp = api.now() + 3600;
    api.world.advance(Duration::from_secs(3600 + 301));
    assert_eq!(
        api.reject(&good).await,
        ValidationError::Expired {
            exp,
            now: api.now()
        }
    );
}

#[tokio::test]
async fn unknown_kids_refresh_once_per_five_minutes_and_rotation_is_picked_up() {
    let api = Api::start(|_| {}).await;
    let tid = api.world.emulator.tenant_id().to_string();
    api.validator
        .validate(&api.sign(&api.claims(&tid, false)))
        .await
        .unwrap();
    assert_eq!(api.key_fetches(), 1);

    // A flood of made-up kids: no refresh inside the five minutes since the last fetch.
    for i in 0..50 {
        let forged = sign_with(&api.claims(&tid, false), &format!("made-up-{i}"), KEY_1);
        assert_eq!(
            api.reject(&forged).await,
            ValidationError::UnknownKey(format!("made-up-{i}"))
        );
    }
    assert_eq!(api.key_fetches(), 1);

    // The authority rotates its key; a token signed with the new key validates after
    // one refresh, once five minutes have passed.
    api.world.emulator.rotate_signing_key();
    api.world.advance(Duration::from_secs(301));
    let new_kid = api.current_kid();
    let rotated = sign_with(&api.claims(&tid, false), &new_kid, KEY_2);
    api.validator.validate(&rotated).await.unwrap();
    assert_eq!(api.key_fetches(), 2);
    for i in 0..50 {
        let forged = sign_with(&api.claims(&tid, false), &format!("again-{i}"), KEY_1);
        assert!(matches!(
            api.reject(&forged).await,
            ValidationError::UnknownKey(_)
        ));
    }
    assert_eq!(api.key_fetches(), 2);
}

/// The limit holds across instances: a fresh instance finds the last attempt in the
/// shared cache with the key set, so forged kids cannot make each one refresh.
#[tokio::test]
async fn forged_kids_through_fresh_instances_refresh_the_keys_at_most_once_per_five_minutes() {
    let api = Api::start_with(|_| {}, fresh_instances).await;
    let tid = api.world.emulator.tenant_id().to_string();
    api.validator
        .validate(&api.sign(&api.claims(&tid, false)))
        .await
        .unwrap();
    assert_eq!(key_requests(&api.world), (1, 1), "the first fetch");
    api.forge_ten(&tid, "made-up").await;
    assert_eq!(
        key_requests(&api.world),
        (1, 1),
        "no refresh within five minutes of the fetch"
    );
    api.world.advance(Duration::from_secs(301));
    api.forge_ten(&tid, "later").await;
    assert_eq!(
        key_requests(&api.world),
        (2, 2),
        "one refresh in the next five minutes"
    );
}

/// Deployments that share a store but not its sealing key each keep their own record
/// of the authority's keys, rather than replacing each other's on every fetch.
#[tokio::test]
async fn deployments_with_different_cache_keys_keep_their_own_signing_key_records() {
    let world = World::start().await;
    let deployment = |key: u8| {
        validator_on(
            &world,
            |_| {},
            |mut config| {
                config.cache.keys = vec![CacheKey::from_bytes([key; 32])];
                fresh_instances(config)
            },
        )
    };
    let (a, b) = (deployment(1), deployment(2));
    let tid = world.emulator.tenant_id().to_string();
    let now = entra_emulator::Clock::now(&world.clock)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"aud": AUDIENCE, "iss": format!("https://sts.windows.net/{tid}/"),
        "tid": tid, "appid": "caller-app", "iat": now, "nbf": now, "exp": now + 3600});
    let kid = world.emulator.jwks()["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let token = sign_with(&claims, &kid, KEY_1);
    a.validate(&token).await.unwrap();
    b.validate(&token).await.unwrap();
    assert_eq!(key_requests(&world), (2, 2), "each deployment fetched once");
    for _ in 0..3 {
        a.validate(&token).await.unwrap();
        b.validate(&token).await.unwrap();
    }
    assert_eq!(
        key_requests(&world),
        (2, 2),
        "fresh instances of both found their own deployment's record"
    );
}

/// A v2 token's issuer names its own tenant, so an allowed tenant's v2 token names
/// that tenant, not the API's.
#[tokio::test]
async fn allowed_tenants_v2_tokens_pass_when_the_tenant_is_an_id() {
    let api = Api::start(|o| o.allowed_tenants = vec![OTHER_TENANT.into()]).await;
    let home = api.world.emulator.tenant_id().to_string();
    for v2 in [false, true] {
        let claims = api
            .validator
            .validate(&api.sign(&api.claims(OTHER_TENANT, v2)))
            .await
            .unwrap_or_else(|e| panic!("v2 {v2}: {e:?}"));
        assert_eq!(claims.tid, OTHER_TENANT);
    }
    // Still strict: the issuer must be the one of the token's own tenant.
    let mut borrowed_issuer = api.claims(OTHER_TENANT, true);
    borrowed_issuer["iss"] = json!(format!("https://login.microsoftonline.com/{home}/v2.0"));
    assert!(matches!(
        api.reject(&api.sign(&borrowed_issuer)).await,
        ValidationError::WrongIssuer(_)
    ));
    let third = "5eed0000-0000-4000-8000-000000000003";
    assert_eq!(
        api.reject(&api.sign(&api.claims(third, true))).await,
        ValidationError::TenantNotAllowed(third.into())
    );
}

#[tokio::test]
async fn multi_tenant_accepts_listed_tenants_only() {
    let api = Api::start(|o| {
        o.tenant = "organizations".into();
        o.allowed_tenants = vec!["7e57e000-0000-4000-8000-000000000001".into()];
    })
    .await;
    let tid = api.world.emulator.tenant_id().to_string();
    assert_eq!(tid, "7e57e000-0000-4000-8000-000000000001");
    api.validator
        .validate(&api.sign(&api.claims(&tid, true)))
        .await
        .unwrap();
    // Another tenant's perfectly valid token.
    assert_eq!(
        api.reject(&api.sign(&api.claims(OTHER_TENANT, true))).await,
        ValidationError::TenantNotAllowed(OTHER_TENANT.into())
    );
}

#[tokio::test]
async fn the_validator_reaches_only_its_authority() {
    let api = Api::start(|o| o.authority = Some("http://127.0.0.1:1".into())).await;
    let token = api.sign(&api.claims(api.world.emulator.tenant_id(), false));
    assert!(matches!(
        api.reject(&token).await,
        ValidationError::KeysUnavailable(_)
    ));
    assert_eq!(api.world.emulator.count(Endpoint::OpenIdConfiguration), 0);
}
