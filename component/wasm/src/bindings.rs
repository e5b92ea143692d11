//! Generated bindings for the `identity` world; WASI types come from the `wasi` crate
//! so that its client code and ours share one set of resources. `wasi:keyvalue`
//! (draft2, which the `wasi` crate does not carry) is generated here.

wit_bindgen::generate!({
    world: "identity",
    path: "../../wit",
    with: {
        "wasi:http/types@0.2.12": ::wasi::http::types,
        "wasi:http/outgoing-handler@0.2.12": ::wasi::http::outgoing_handler,
        "wasi:io/poll@0.2.12": ::wasi::io::poll,
        "wasi:io/error@0.2.12": ::wasi::io::error,
        "wasi:io/streams@0.2.12": ::wasi::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": ::wasi::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": ::wasi::clocks::wall_clock,
        "wasi:random/random@0.2.12": ::wasi::random::random,
        "wasi:cli/environment@0.2.12": ::wasi::cli::environment,
        "wasi:cli/stderr@0.2.12": ::wasi::cli::stderr,
        "wasi:filesystem/types@0.2.12": ::wasi::filesystem::types,
        "wasi:filesystem/preopens@0.2.12": ::wasi::filesystem::preopens,
        "wasi:keyvalue/store@0.2.0-draft2": generate,
        "wasi:keyvalue/atomics@0.2.0-draft2": generate,
        "wasi:config/store@0.2.0-draft-2024-09-27": generate,
    },
});
