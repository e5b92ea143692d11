//! The parts that call the `entra:identity` imports; only compiled for `wasm32`.

mod bindings;
mod convert;
pub(crate) mod credential;
pub mod tokens;
pub(crate) mod validator;
