//! Generated bindings for the `gate-p3` world: WASI 0.3.0 `wasi:http` (the app's
//! `handler` imported, the host's exported) and `wasi:config`.

wit_bindgen::generate!({
    world: "gate-p3",
    path: "wit",
    generate_all,
});
