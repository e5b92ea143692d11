//! Azure Arc's `WWW-Authenticate: Basic realm=<path>` comes from the network; the only
//! paths it may yield are `.key` files directly in the agent's directory.
#![no_main]

use entra_identity_core::managed_identity::arc_key::{DEFAULT_TOKEN_DIR, key_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(challenge) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = key_path(challenge, DEFAULT_TOKEN_DIR) {
        let name = path
            .strip_prefix(DEFAULT_TOKEN_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .expect("inside the agent's directory");
        assert!(!name.contains('/') && !name.contains('\\'), "{path}");
        assert!(name.ends_with(".key") && name.len() > 4, "{path}");
        assert!(!path.split('/').any(|c| c == ".."), "{path}");
        assert!(!path.chars().any(char::is_control), "{path}");
    }
});
