//! Token and error bodies of every source go through the same two parsers; whatever a
//! hostile or broken endpoint sends, they return a value or a typed error, and a token
//! they accept is usable: not expired, with a sane lifetime.
#![no_main]

use entra_identity_core::response::{parse_error, parse_token, retry_after};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = parse_token(data, NOW) {
        assert!(token.expires_on > NOW, "an expired token was accepted");
        assert!(!token.access_token.is_empty());
    }
    let status = data.first().map_or(400, |b| 400 + u16::from(*b));
    let refusal = parse_error(status, data, &["s3cr3t-value"]);
    assert!(
        !refusal.to_string().contains("s3cr3t-value"),
        "a secret survived"
    );
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(after) = retry_after(Some(text), NOW) {
            assert!(after <= 24 * 3600, "Retry-After is capped");
        }
    }
});
