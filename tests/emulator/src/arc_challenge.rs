//! Azure Arc's challenge secrets: each unauthenticated request gets a fresh secret in a `.key` file, and the
//! retry proves it can read that file by sending the contents back.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The key files and the secrets they hold.
pub(crate) struct ArcChallenges {
    dir: PathBuf,
    /// Every secret handed out stays valid: the agent does not promise a file outlives one use, but clients read
    /// and send it at once, so expiring them would only add flakiness.
    secrets: Mutex<HashSet<String>>,
}

impl ArcChallenges {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            secrets: Mutex::default(),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a new secret to `<dir>/<random>.key` and returns the file's absolute path, the challenge realm.
    pub(crate) fn issue(&self) -> std::io::Result<PathBuf> {
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let path = std::path::absolute(
            self.dir
                .join(format!("{}.key", uuid::Uuid::new_v4().simple())),
        )?;
        std::fs::write(&path, &secret)?;
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(secret);
        Ok(path)
    }

    /// Whether an `Authorization: Basic <secret>` header carries a secret from a key file.
    pub(crate) fn accepts(&self, authorization: &str) -> bool {
        let Some(secret) = authorization
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .map(|(_, secret)| secret.trim())
        else {
            return false;
        };
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(secret)
    }
}
