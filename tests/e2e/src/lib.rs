//! End-to-end tests (`tests/e2e/`): the real component in the real host, against the
//! emulator over loopback. The tests are in `tests/all`; the library holds what a
//! benchmark runs as well: the [`soak`] under faults (the e2e suite runs it for 30
//! seconds, `bench/benches/soak.rs` for minutes).

pub mod soak;
