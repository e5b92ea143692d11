//! Cost of validating one token with the signing keys already cached: natively in the
//! core, and through the component in wasmtime. Reported, never asserted.
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench validate`

use entra_identity_core::http::{Request, Response};
use entra_identity_core::platform::{Platform, Transport, TransportError};
use entra_identity_core::validation::{KeyCache, Validator as CoreValidator};
use entra_identity_host::{IdentityConfig, Validator, ValidatorConfig, ValidatorOptions};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

const ITERATIONS: u32 = 2_000;

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

struct SystemPlatform;

impl Platform for SystemPlatform {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }
    fn monotonic(&self) -> Duration {
        Duration::ZERO
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration)
    }
    fn random_u64(&self) -> u64 {
        4
    }
}

fn report(what: &str, elapsed: Duration) {
    let per = elapsed / ITERATIONS;
    println!(
        "{what:<40} {:>9.1} µs/token  ({ITERATIONS} tokens)",
        per.as_secs_f64() * 1e6
    );
}

#[tokio::main]
async fn main() {
    let emulator = entra_emulator::Emulator::start(Default::default())
        .await
        .unwrap();
    let identity = entra_identity_host::Identity::new(
        IdentityConfig::default().with_env(
            [(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_string(),
                emulator.base_url(),
            )]
            .into(),
        ),
    )
    .unwrap();
    let token = identity
        .get_token(&["api://bench/.default"])
        .await
        .unwrap()
        .into_secret();
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
        Box::new(SystemPlatform),
    )
    .unwrap();
    core.validate(&token).unwrap();
    let started = Instant::now();
    for _ in 0..ITERATIONS {
        core.validate(&token).unwrap();
    }
    report("core, native", started.elapsed());

    let validator = Validator::new(options, ValidatorConfig::default()).unwrap();
    validator.validate(&token).await.unwrap();
    let started = Instant::now();
    for _ in 0..ITERATIONS {
        validator.validate(&token).await.unwrap();
    }
    report("component in wasmtime, via the host", started.elapsed());
}
