//! One gate per instance, made on the first request from the settings, over the
//! identity component's validator (`entra:identity/validation`).

use crate::decision::{Gate, SetupError, misconfigured};
use crate::settings::Settings;
use entra_identity_sdk::{Claims, Validator};
use http::Response;
use std::cell::OnceCell;

thread_local! {
    static GATE: OnceCell<Option<Gate>> = const { OnceCell::new() };
}

/// The caller's claims, or the answer the caller gets instead of the app.
/// `config` is the gate's `wasi:config` lookup. A gate that cannot be made answers
/// every caller 500 and says why on stderr once per instance, for the operator.
pub fn check_caller(
    headers: &[(String, Vec<u8>)],
    config: impl Fn(&str) -> Option<String>,
) -> Result<Claims, Response<String>> {
    GATE.with(|gate| {
        let gate = gate.get_or_init(|| {
            (load(config).map_err(|why| eprintln!("entra-identity inbound: {why}"))).ok()
        });
        match gate {
            Some(gate) => gate.check(headers),
            None => Err(misconfigured()),
        }
    })
}

fn load(config: impl Fn(&str) -> Option<String>) -> Result<Gate, SetupError> {
    let settings = Settings::load(config)?;
    let validator = Validator::new(settings.validator.clone())?;
    Ok(Gate::new(
        settings,
        Box::new(move |token| validator.validate(token)),
    ))
}
