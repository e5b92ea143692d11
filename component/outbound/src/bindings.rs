//! Generated bindings for the `outbound` world. WASI types come from the `wasi` crate,
//! so that the export's `outgoing-request` is the same type the host's handler takes.

wit_bindgen::generate!({
    world: "outbound",
    path: "../../wit",
    with: {
        "wasi:http/types@0.2.12": ::wasi::http::types,
        "wasi:http/outgoing-handler@0.2.12": ::wasi::http::outgoing_handler,
        "wasi:io/poll@0.2.12": ::wasi::io::poll,
        "wasi:io/error@0.2.12": ::wasi::io::error,
        "wasi:io/streams@0.2.12": ::wasi::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": ::wasi::clocks::monotonic_clock,
        "wasi:config/store@0.2.0-draft-2024-09-27": generate,
        "entra:identity/tokens@0.1.0": generate,
    },
});
