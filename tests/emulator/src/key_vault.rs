//! The Key Vault's secrets: what [`crate::Emulator::set_secret`] stores and `GET /secrets/{name}` reads.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// One version of a secret, as Key Vault keeps it.
#[derive(Clone)]
pub(crate) struct SecretVersion {
    /// The name as first set: Key Vault answers with its own spelling, whatever case a request used.
    pub(crate) name: String,
    /// 32 lower-case hex digits, Key Vault's version id format.
    pub(crate) version: String,
    pub(crate) value: String,
    /// Unix seconds, by the emulator's clock.
    pub(crate) created: u64,
}

/// A secret's value never reaches `Debug` output, so that a test failure printing state does not leak it.
impl fmt::Debug for SecretVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretVersion")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("value", &"<redacted>")
            .field("created", &self.created)
            .finish()
    }
}

/// Every version of every secret, newest last. Names compare case-insensitively, as Key Vault's do.
#[derive(Default)]
pub(crate) struct SecretStore {
    secrets: Mutex<HashMap<String, Vec<SecretVersion>>>,
}

impl SecretStore {
    /// Adds a new version of `name` and returns its version id.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid Key Vault secret name (1–127 ASCII letters, digits and dashes): the real service
    /// would refuse it, so a test using one has a bug.
    pub(crate) fn set(&self, name: &str, value: &str, now: u64) -> String {
        assert!(
            is_valid_name(name),
            "{name:?} is not a Key Vault secret name (1-127 of 0-9, a-z, A-Z, -)"
        );
        let version = uuid::Uuid::new_v4().simple().to_string();
        let mut secrets = self.lock();
        let versions = secrets.entry(name.to_ascii_lowercase()).or_default();
        let name = versions
            .first()
            .map_or(name, |first| &first.name)
            .to_owned();
        versions.push(SecretVersion {
            name,
            version: version.clone(),
            value: value.to_owned(),
            created: now,
        });
        version
    }

    /// The version asked for, or the newest when `version` is `None`.
    pub(crate) fn get(&self, name: &str, version: Option<&str>) -> Option<SecretVersion> {
        let secrets = self.lock();
        let versions = secrets.get(&name.to_ascii_lowercase())?;
        match version {
            None => versions.last().cloned(),
            // Version ids are hex, and Key Vault matches them case-insensitively like names.
            Some(wanted) => versions
                .iter()
                .find(|v| v.version.eq_ignore_ascii_case(wanted))
                .cloned(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<SecretVersion>>> {
        // Plain data that no panic leaves half-updated.
        self.secrets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn is_valid_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_wins_and_old_ones_stay_readable() {
        let store = SecretStore::default();
        let first = store.set("Db-Password", "one", 10);
        let second = store.set("db-password", "two", 20);
        assert_ne!(first, second);
        assert_eq!(first.len(), 32);
        let newest = store.get("DB-PASSWORD", None).unwrap();
        assert_eq!(
            (newest.name.as_str(), newest.value.as_str()),
            ("Db-Password", "two")
        );
        let old = store
            .get("db-password", Some(&first.to_uppercase()))
            .unwrap();
        assert_eq!((old.value.as_str(), old.created), ("one", 10));
        assert!(store.get("db-password", Some("0123")).is_none());
        assert!(store.get("other", None).is_none());
    }

    #[test]
    fn debug_hides_values() {
        let store = SecretStore::default();
        store.set("s", "hunter2-value", 0);
        let shown = format!("{:?}", store.get("s", None).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn names_follow_key_vault_rules() {
        assert!(is_valid_name("a-B-9"));
        for bad in ["", "a_b", "a/b", "é", &"x".repeat(128)] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
