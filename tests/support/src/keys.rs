//! Test-only keys and certificates (see `keys/README.md`): public, never used outside
//! tests. Crates that cannot depend on this one (the core's unit tests, fuzz targets)
//! `include_str!` the files directly.

/// RSA keys the emulator signs Entra access tokens with.
pub const EMULATOR_SIGNING_1: &str = include_str!("../keys/emulator-signing-1.pem");
pub const EMULATOR_SIGNING_2: &str = include_str!("../keys/emulator-signing-2.pem");
/// RSA key of the emulator's Kubernetes-style OIDC issuer.
pub const OIDC_ISSUER_SIGNING: &str = include_str!("../keys/oidc-issuer-signing.pem");
/// A self-signed client certificate and its PKCS#8 key.
pub const CLIENT_CERT: &str = include_str!("../keys/client-cert.pem");
pub const CLIENT_CERT_KEY: &str = include_str!("../keys/client-cert-key.pem");
/// A second pair: the "wrong key" in signature tests.
pub const CLIENT_CERT_2: &str = include_str!("../keys/client-cert-2.pem");
pub const CLIENT_CERT_2_KEY: &str = include_str!("../keys/client-cert-2-key.pem");
