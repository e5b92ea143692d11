//! End-to-end tests: the real component, in the real wasmtime host, talking wasi:http
//! over loopback to the emulator. Every assertion about the wire is checked against
//! what the emulator recorded.

/// The log-capturing subscriber, installed before `main` so that it precedes every
/// callsite (see entra_test_support::logs).
#[ctor::ctor]
fn install_log_capture() {
    entra_test_support::logs::install();
}

mod examples;
mod fault_matrix;
mod host;
mod support;

mod bad_responses;
mod cache;
mod composition;
mod concurrency;
mod credentials;
mod instances;
mod managed_identity;
mod retries;
mod sandbox;
mod secrets;
mod secrets_sweep;
mod serve;
mod serve_limits;
mod shared_cache;
mod sources;
mod validation;
