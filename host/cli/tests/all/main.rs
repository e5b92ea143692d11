//! The `entra-identity` binary, run as a process: one test binary, a module per area.

mod cli;
mod run;
mod shared_cache;
