//! Where an outbound component's custom rules come from: the environment variable
//! [`RULES_SETTING`] (which a composition can bake in) and the host's `wasi:config`
//! key of the same name in lower case (a Spin variable, a host's runtime config).
//! Both apply, the environment's first: baked rules must not hide the ones configured
//! at run time. The caller reads the two; this says what they mean.

use super::{RULES_SETTING, Rule, RuleError, Rules, parse_rules};
use std::fmt;

/// Azure's built-ins with the custom rules from `env` and then `config` ahead of them.
/// A malformed list is an error for every request: guessing which rules were meant
/// could send a token where the operator did not intend.
pub fn load_rules(env: Option<&str>, config: Option<&str>) -> Result<Rules, SettingError> {
    let mut custom: Vec<Rule> = Vec::new();
    for (source, list) in [(SettingSource::Environment, env), (SettingSource::Config, config)] {
        let Some(list) = list else { continue };
        custom.extend(parse_rules(list).map_err(|error| SettingError { source, error })?);
    }
    Ok(Rules::azure().with_all(custom))
}

/// Which of the two settings a list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingSource {
    /// The environment variable [`RULES_SETTING`].
    Environment,
    /// The `wasi:config` key [`RULES_SETTING`] in lower case.
    Config,
}

/// A rules setting that does not parse: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// Where the list came from.
    pub source: SettingSource,
    /// The first rule that does not parse.
    pub error: RuleError,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (source, name) = match self.source {
            SettingSource::Environment => ("environment variable", RULES_SETTING.to_string()),
            SettingSource::Config => ("wasi:config key", RULES_SETTING.to_ascii_lowercase()),
        };
        write!(
            f,
            "the outbound rules in {source} {name} do not parse ({}); fix them (HOST=SCOPE, separated by spaces or ';')",
            self.error
        )
    }
}

impl std::error::Error for SettingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

#[cfg(test)]
mod tests;
