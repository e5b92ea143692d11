//! What the example plugins share: one blocking GET over `wasi:http`.

#[cfg(target_arch = "wasm32")]
pub mod outbound;
