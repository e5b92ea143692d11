//! `wasi:config/store` from environment variables.
//!
//! A key is looked up by its exact name, then upper-cased: apps and the identity
//! component ask for lower-case names (Spin variable names are `[a-z0-9_]`, e.g.
//! `entra_identity_cache_key`), while environments spell them `ENTRA_IDENTITY_CACHE_KEY`.

/// A key the environment cannot hold is the caller's mistake, said as such.
pub(crate) fn get(
    key: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    if key.is_empty() || key.contains(['=', '\0']) {
        return Err(format!(
            "config key {key:?} cannot name an environment variable: it must be non-empty \
             and contain no '=' or NUL"
        ));
    }
    Ok(env(key).or_else(|| {
        let upper = key.to_ascii_uppercase();
        (upper != key).then(|| env(&upper)).flatten()
    }))
}

#[cfg(test)]
mod tests {
    use super::get;

    fn env(name: &str) -> Option<String> {
        match name {
            "VAULT_URL" => Some("https://upper".into()),
            "mixed_Case" => Some("exact".into()),
            "MIXED_CASE" => Some("upper".into()),
            _ => None,
        }
    }

    #[test]
    fn a_lower_case_key_finds_the_upper_case_variable() {
        assert_eq!(get("vault_url", env), Ok(Some("https://upper".into())));
        assert_eq!(get("VAULT_URL", env), Ok(Some("https://upper".into())));
    }

    #[test]
    fn the_exact_name_wins_over_the_upper_cased_one() {
        assert_eq!(get("mixed_Case", env), Ok(Some("exact".into())));
    }

    #[test]
    fn an_unset_key_is_none_not_an_error() {
        assert_eq!(get("nothing_here", env), Ok(None));
    }

    #[test]
    fn keys_no_environment_can_hold_are_refused_with_a_reason() {
        for bad in ["", "a=b", "nul\0"] {
            let e = get(bad, env).unwrap_err();
            assert!(e.contains("cannot name an environment variable"), "{e}");
        }
    }
}
