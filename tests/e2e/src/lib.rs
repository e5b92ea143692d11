//! End-to-end tests (`tests/e2e/`): the real component in the real wasmtime host,
//! against the emulator over loopback. The library itself is empty.
