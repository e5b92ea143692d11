//! Validating incoming tokens, signing keys cached: our core natively and our
//! component through the host, for a token seen before (answered from the validator's
//! memory of accepted tokens) and for a token never seen (the full checks: base64,
//! JSON, the RS256 signature, the claims). azure_identity validates nothing, so the
//! native column is our own core. Reported, never asserted.

use entra_emulator::Emulator;
use entra_identity_core::http::{Request, Response};
use entra_identity_core::platform::{Platform, Transport, TransportError};
use entra_identity_core::validation::{KeyCache, Validator as CoreValidator};
use entra_identity_host::{
    Identity, IdentityConfig, TokenRequest, Validator, ValidatorConfig, ValidatorOptions,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

/// Serves the emulator's metadata and keys from memory.
struct Canned {
    metadata: Vec<u8>,
    jwks: Vec<u8>,
}

impl Transport for Canned {
    fn send(&self, request: &Request, _: Duration, _: usize) -> Result<Response, TransportError> {
        let body = if request.url.ends_with("openid-configuration") {
            &self.metadata
        } else {
            &self.jwks
        };
        Ok(Response {
            status: 200,
            headers: vec![],
            body: body.clone(),
        })
    }
}

/// The core's platform over the system clock, for the native rows (here and in
/// `core_native.rs`). Randomness is fixed: nothing measured depends on it.
pub struct SystemPlatform(pub Instant);

impl Platform for SystemPlatform {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }
    fn monotonic(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration)
    }
    fn random_u64(&self) -> u64 {
        0
    }
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Prints the validation table: `seen` validations of one token, and `fresh`
/// distinct tokens validated once each, on both sides.
pub async fn validation(emulator: &Emulator, seen: usize, fresh: usize) {
    let identity = Identity::new(
        IdentityConfig::default().with_env(
            [(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(),
                emulator.base_url(),
            )]
            .into(),
        ),
    )
    .unwrap();
    // Every token the emulator issues is distinct (its own `uti`).
    let mut tokens = Vec::with_capacity(fresh + 1);
    for _ in 0..=fresh {
        let request = TokenRequest::new(&["api://bench/.default"]).force_refresh();
        tokens.push(
            identity
                .get_token_for(&request)
                .await
                .unwrap()
                .into_secret(),
        );
    }
    let options = ValidatorOptions::new(emulator.tenant_id(), &["api://bench"])
        .authority(emulator.base_url());
    let canned = Canned {
        metadata: serde_json::json!({"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                                     "jwks_uri": format!("{}/common/discovery/v2.0/keys", emulator.base_url())})
        .to_string()
        .into_bytes(),
        jwks: emulator.jwks().to_string().into_bytes(),
    };
    let core = CoreValidator::new(
        options.clone(),
        Rc::new(RefCell::new(KeyCache::default())),
        Box::new(canned),
        Box::new(SystemPlatform(Instant::now())),
    )
    .unwrap();
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed()
    };
    core.validate(&tokens[0]).unwrap();
    let core_seen = p50((0..seen)
        .map(|_| time(&mut || drop(core.validate(&tokens[0]).unwrap())))
        .collect());
    let core_new = p50(tokens[1..]
        .iter()
        .map(|token| time(&mut || drop(core.validate(token).unwrap())))
        .collect());
    assert_eq!(core.remembered_tokens().hits, seen as u64);

    let validator = Validator::new(options, ValidatorConfig::default()).unwrap();
    validator.validate(&tokens[0]).await.unwrap();
    let mut samples = Vec::with_capacity(seen);
    for _ in 0..seen {
        let t = Instant::now();
        validator.validate(&tokens[0]).await.unwrap();
        samples.push(t.elapsed());
    }
    let component_seen = p50(samples);
    let mut samples = Vec::with_capacity(fresh);
    for token in &tokens[1..] {
        let t = Instant::now();
        validator.validate(token).await.unwrap();
        samples.push(t.elapsed());
    }
    let component_new = p50(samples);

    println!("\n### Validating an incoming token (signing keys cached; p50)\n");
    println!(
        "| token | our core, natively µs | our component through the host µs | ratio |\n|---|---|---|---|"
    );
    for (what, native, component) in [
        (
            format!("seen before ({seen} validations of one token: the validator's memory)"),
            core_seen,
            component_seen,
        ),
        (
            format!("new ({fresh} distinct tokens: full RS256 validation)"),
            core_new,
            component_new,
        ),
    ] {
        println!(
            "| {what} | {:.1} | {:.1} | {:.1}× |",
            native.as_secs_f64() * 1e6,
            component.as_secs_f64() * 1e6,
            component.as_secs_f64() / native.as_secs_f64()
        );
    }
}
