//! What a gate accepts: its settings, each named once here.
//!
//! A setting comes from the gate's environment variable, else from the host's
//! `wasi:config` variable of the same name in lower case (Spin variables), as the
//! outbound part reads its rules. `entra-identity compose --inbound --tenant …` bakes
//! them into the gate's environment: a generated `wasi:cli/environment` component
//! plugged into the gate alone, so the app neither sees them nor loses its own.

use entra_identity_sdk::ValidatorOptions;
use std::fmt;

/// The API's tenant: id, domain, or `organizations`/`common` with allowed tenants.
pub const TENANT: &str = "ENTRA_IDENTITY_INBOUND_TENANT";
/// Accepted `aud` values (app id URI, client id), separated by commas or whitespace.
pub const AUDIENCE: &str = "ENTRA_IDENTITY_INBOUND_AUDIENCE";
/// An app role every caller's token must carry (`roles`).
pub const ROLE: &str = "ENTRA_IDENTITY_INBOUND_ROLE";
/// A delegated scope every caller's token must carry (`scp`).
pub const SCOPE: &str = "ENTRA_IDENTITY_INBOUND_SCOPE";
/// The authority host, for other clouds (or an emulator); default Entra's global one.
pub const AUTHORITY: &str = "ENTRA_IDENTITY_INBOUND_AUTHORITY";

/// The gate's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Which tokens are valid.
    pub validator: ValidatorOptions,
    /// A role every caller needs.
    pub role: Option<String>,
    /// A scope every caller needs.
    pub scope: Option<String>,
}

/// A setting the gate cannot run without is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSetting(pub &'static str);

impl fmt::Display for MissingSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not set: compose with --tenant/--audience, or set the environment \
             variable (or the wasi:config variable {})",
            self.0,
            self.0.to_ascii_lowercase()
        )
    }
}

impl std::error::Error for MissingSetting {}

impl Settings {
    /// The settings of this instance: each from its environment variable, else from
    /// `config` (the `wasi:config` lookup) under its name in lower case.
    pub fn load(config: impl Fn(&str) -> Option<String>) -> Result<Self, MissingSetting> {
        Self::from_sources(|name| std::env::var(name).ok(), config)
    }

    /// [`Settings::load`] over any `environment`: a blank variable falls through to
    /// `config` too.
    pub fn from_sources(
        environment: impl Fn(&str) -> Option<String>,
        config: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, MissingSetting> {
        Self::from_lookup(|name| {
            (environment(name))
                .filter(|value| !value.trim().is_empty())
                .or_else(|| config(&name.to_ascii_lowercase()))
        })
    }

    /// The settings `lookup` finds; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, MissingSetting> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let tenant = get(TENANT).ok_or(MissingSetting(TENANT))?;
        let audiences = get(AUDIENCE).ok_or(MissingSetting(AUDIENCE))?;
        let audiences: Vec<&str> = (audiences.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|a| !a.is_empty())
            .collect();
        let mut validator = ValidatorOptions::new(tenant, &audiences);
        if let Some(authority) = get(AUTHORITY) {
            validator = validator.authority(authority);
        }
        Ok(Settings {
            validator,
            role: get(ROLE),
            scope: get(SCOPE),
        })
    }
}

#[cfg(test)]
mod tests;
