//! End-to-end tests: the real component, in the real wasmtime host, talking wasi:http
//! over loopback to the emulator. Every assertion about the wire is checked against
//! what the emulator recorded.

/// The log-capturing subscriber, installed before `main` so that it precedes every
/// callsite (see entra_test_support::logs).
#[ctor::ctor]
fn install_log_capture() {
    entra_test_support::logs::install();
}

/// Every test here runs on the process's one shared `Runtime`, so the component is
/// compiled once per process; this points that runtime's compile cache into the target
/// directory instead of the user's cache directory.
#[ctor::ctor]
fn compile_into_the_target_directory() {
    if std::env::var_os("ENTRA_IDENTITY_CACHE_DIR").is_none() {
        // SAFETY: constructors run before `main`, on the only thread there is.
        unsafe {
            std::env::set_var(
                "ENTRA_IDENTITY_CACHE_DIR",
                entra_test_support::compile_cache(),
            )
        };
    }
}

mod examples;
mod fault_matrix;
mod host;
mod support;

mod aks;
mod bad_responses;
mod cache;
mod claims;
mod component_costs;
mod composition;
mod concurrency;
mod credentials;
mod dev_endpoint;
mod hosts;
mod inbound;
mod inbound_p3;
mod instances;
mod languages;
mod managed_identity;
mod node;
mod obo;
mod outbound;
mod outbound_p3;
mod retries;
mod sandbox;
mod secrets;
mod secrets_sweep;
mod serve;
mod serve_limits;
mod shared_cache;
mod soak;
mod sources;
mod standalone_adapter;
mod validation;
mod wasmtime_serve;
