//! Our protocol core driven natively: the same `Credential` the component runs, over
//! an in-process transport that answers one token, so only the cache path is timed.

use crate::validation::SystemPlatform;
use entra_identity_core::cache::MemoryStore;
use entra_identity_core::credential::{Credential, SharedStore};
use entra_identity_core::http::{Request, Response};
use entra_identity_core::managed_identity::{self, ManagedIdentityOptions};
use entra_identity_core::platform::{Transport, TransportError};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

struct OneToken;

impl Transport for OneToken {
    fn send(&self, _: &Request, _: Duration, _: usize) -> Result<Response, TransportError> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let body = format!(
            r#"{{"access_token":"eyJ.bench.sig","expires_on":"{}","resource":"https://vault.azure.net","token_type":"Bearer"}}"#,
            now + 86_400
        );
        Ok(Response {
            status: 200,
            headers: vec![],
            body: body.into_bytes(),
        })
    }
}

pub fn warm_credential() -> Credential {
    let env = |k: &str| match k {
        "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:1/msi/token".to_string()),
        "IDENTITY_HEADER" => Some("bench".to_string()),
        _ => None,
    };
    let flow = managed_identity::flow(ManagedIdentityOptions::default(), &env).unwrap();
    let store: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
    let c = Credential::new(
        flow,
        Box::new(OneToken),
        Box::new(SystemPlatform(Instant::now())),
        store,
    );
    c.get_token(&entra_identity_core::TokenRequest::new(&[
        "https://vault.azure.net/.default",
    ]))
    .unwrap();
    c
}
