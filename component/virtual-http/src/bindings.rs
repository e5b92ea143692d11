//! Bindings for the `virtual-http` world of `component/inbound/wit` (or, with the
//! `outbound` feature, `virtual-http-outbound`). Host types come from the `wasi`
//! crate; the exported interface's value types (methods, schemes, error codes) are
//! the host's very Rust types, so they cross unchanged.

/// The one `generate!` of both worlds; `$extra` maps what only one of them imports.
macro_rules! bindings {
    ($world:literal, { $($extra:tt)* }) => {
        wit_bindgen::generate!({
            world: $world,
            path: "../inbound/wit",
            with: {
                "wasi:http/types@0.2.12": ::wasi::http::types,
                "wasi:http/outgoing-handler@0.2.12": ::wasi::http::outgoing_handler,
                "wasi:io/poll@0.2.12": ::wasi::io::poll,
                "wasi:io/error@0.2.12": ::wasi::io::error,
                "wasi:io/streams@0.2.12": ::wasi::io::streams,
                "wasi:clocks/monotonic-clock@0.2.12": ::wasi::clocks::monotonic_clock,
                "entra:virtual-http/types@0.2.12/method": ::wasi::http::types::Method,
                "entra:virtual-http/types@0.2.12/scheme": ::wasi::http::types::Scheme,
                "entra:virtual-http/types@0.2.12/DNS-error-payload": ::wasi::http::types::DnsErrorPayload,
                "entra:virtual-http/types@0.2.12/TLS-alert-received-payload": ::wasi::http::types::TlsAlertReceivedPayload,
                "entra:virtual-http/types@0.2.12/field-size-payload": ::wasi::http::types::FieldSizePayload,
                "entra:virtual-http/types@0.2.12/error-code": ::wasi::http::types::ErrorCode,
                "entra:virtual-http/types@0.2.12/header-error": ::wasi::http::types::HeaderError,
                $($extra)*
            },
        });
    };
}

#[cfg(not(feature = "outbound"))]
bindings!("virtual-http", {});
#[cfg(feature = "outbound")]
bindings!("virtual-http-outbound", {
    "wasi:config/store@0.2.0-draft-2024-09-27": generate,
});

pub(crate) struct VirtualHttp;

export!(VirtualHttp);
