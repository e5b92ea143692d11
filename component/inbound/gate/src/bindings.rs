//! Bindings for the `gate` world of `component/inbound/wit`: the host's `wasi:http`
//! from the `wasi` crate, the virtual one (the app's) and the bridge generated here.

wit_bindgen::generate!({
    world: "gate",
    path: "../wit",
    with: {
        "wasi:http/types@0.2.12": ::wasi::http::types,
        "wasi:io/poll@0.2.12": ::wasi::io::poll,
        "wasi:io/error@0.2.12": ::wasi::io::error,
        "wasi:io/streams@0.2.12": ::wasi::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": ::wasi::clocks::monotonic_clock,
        "entra:virtual-http/types@0.2.12": generate,
        "entra:virtual-http/incoming-handler@0.2.12": generate,
        "entra:inbound/bridge@0.1.0": generate,
        "wasi:config/store@0.2.0-draft-2024-09-27": generate,
    },
});

pub(crate) struct Gate;

export!(Gate);
