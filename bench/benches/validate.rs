//! Cost of validating one token with the signing keys already cached: natively in the
//! core, and through the component in wasmtime; a token seen before and new ones.
//! The same table as the bench binary's validation section. Reported, never asserted.
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench validate`

#[path = "../src/validation.rs"]
mod validation;

#[tokio::main]
async fn main() {
    let emulator = entra_emulator::Emulator::start(Default::default())
        .await
        .unwrap();
    validation::validation(&emulator, 2_000, 500).await;
}
