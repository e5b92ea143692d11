//! The relay: the host's `wasi:http/incoming-handler` for an app whose `wasi:http`
//! types are the virtual ones (`component/virtual-http`) and that no gate stands in
//! front of, as `compose --outbound` makes it. The app's handler takes the virtual
//! types, which the host cannot make; the relay hands it each host request and
//! response slot through `entra:inbound/bridge`, unchanged.

#[cfg(target_arch = "wasm32")]
mod relay {
    wit_bindgen::generate!({
        world: "relay",
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
        },
    });

    use ::wasi::http::types::{IncomingRequest, ResponseOutparam};
    use entra::inbound::bridge;
    use entra::virtual_http::incoming_handler as app;
    use exports::wasi::http::incoming_handler::Guest;

    struct Relay;

    impl Guest for Relay {
        fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
            let headers = request.headers().entries();
            let request = bridge::wrap_request(request, &headers);
            app::handle(request, bridge::wrap_outparam(response_out));
        }
    }

    export!(Relay);
}
