//! Generated bindings for the `outbound-p3` world: WASI 0.3.0 `wasi:http` (imported
//! from the host, `client` exported to the app) and `wasi:config`.

wit_bindgen::generate!({
    world: "outbound-p3",
    path: "wit",
    generate_all,
});
