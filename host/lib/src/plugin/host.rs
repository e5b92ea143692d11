//! [`PluginHost`]: one linker for every plugin, the host's [`Identity`] and one per
//! named identity of the policy, on the host identity's [`Runtime`](crate::Runtime).

use super::error::PluginError;
use super::policy::PluginPolicy;
use super::rate::TokenBucket;
use super::run::Plugin;
use super::state::PluginState;
use super::tokens::TokenGate;
use crate::Identity;
use crate::outbound::Resolver;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::Engine;
use wasmtime::component::{HasData, Linker};
use wasmtime_wasi::p2::bindings::CommandPre;

/// Runs plugin components (`wasi:cli/run` commands importing `entra:identity/tokens`)
/// under a [`PluginPolicy`], answering their token requests from the host's [`Identity`],
/// or from the identity their policy names.
///
/// Every plugin answered by one identity shares it and so its token cache: two such
/// plugins asking for the same scope cause one upstream request. Plugins answered by
/// different identities share nothing (cache entries are bound to each credential). A plugin never sees the identity's
/// configuration, only the tokens its policy allows.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use entra_identity_host::{Identity, plugin::{PluginHost, PluginPolicy}};
/// let policy = PluginPolicy::from_file("policy.toml".as_ref())?;
/// let host = PluginHost::new(Identity::from_env()?, policy)?;
/// let plugin = host.load_file("reporter", "reporter.wasm".as_ref())?;
/// let outcome = plugin.run(&["--verbose"]).await?;
/// std::process::exit(outcome.code);
/// # }
/// ```
#[derive(Clone)]
pub struct PluginHost {
    pub(crate) shared: Arc<Shared>,
    resolver: Option<Resolver>,
}

/// What every plugin of a host uses.
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    linker: Linker<PluginState>,
    pub(crate) identity: Identity,
    /// One identity per `[identities.<name>]`, shared by the plugins naming it.
    identities: BTreeMap<String, Identity>,
    policy: PluginPolicy,
    /// One bucket per plugin name, so loading a plugin again does not refill it.
    buckets: Mutex<HashMap<String, Arc<Mutex<TokenBucket>>>>,
}

impl Shared {
    /// The identity that answers a plugin with `rules` (checked: a named one exists).
    fn identity_of(&self, rules: &super::PluginRules) -> &Identity {
        (rules.identity.as_ref())
            .and_then(|name| self.identities.get(name))
            .unwrap_or(&self.identity)
    }
}

/// `HasData` marker: the `tokens` bindings reach the store's [`TokenGate`].
struct HasTokens;

impl HasData for HasTokens {
    type Data<'a> = &'a mut TokenGate;
}

impl PluginHost {
    /// A host for the plugins `policy` describes, answering from `identity`.
    ///
    /// Plugins run on the identity's [`Runtime`](crate::Runtime): its engine, epoch
    /// ticker and compile cache ([`Identity::runtime`]).
    ///
    /// The policy's named identities ([`PluginIdentity`](super::PluginIdentity)) are
    /// built here, from `identity`'s configuration (its endpoints, cache store, clock and
    /// limits) with their own credential; a secret they reference is read now from this
    /// process's environment or its file, and a missing one is an error naming the field.
    pub fn new(identity: Identity, policy: PluginPolicy) -> Result<Self, PluginError> {
        policy.check()?;
        let var = |name: &str| std::env::var(name).ok();
        let mut identities = BTreeMap::new();
        for (name, spec) in &policy.identities {
            let why = |why: String| PluginError::Policy(format!("identities.{name}.{why}"));
            let config = spec.config(identity.config(), &var).map_err(why)?;
            let named = Identity::with_runtime(identity.runtime(), config)
                .map_err(|e| why(format!("kind: this identity cannot start: {e}")))?;
            identities.insert(name.clone(), named);
        }
        let host_error = |e: wasmtime::Error| PluginError::Host(format!("{e:#}"));
        let engine = (identity.runtime().engine())
            .map_err(|e| PluginError::Host(format!("{e}")))?
            .clone();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(host_error)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(host_error)?;
        crate::bindings::plugin::tokens::add_to_linker::<PluginState, HasTokens>(
            &mut linker,
            |s| &mut s.tokens,
        )
        .map_err(host_error)?;
        Ok(PluginHost {
            shared: Arc::new(Shared {
                engine,
                linker,
                identity,
                identities,
                policy,
                buckets: Mutex::default(),
            }),
            resolver: None,
        })
    }

    /// Resolves the host names of plugins' outbound requests with `resolver` instead of
    /// the system's (plugins loaded afterwards). Its answers are checked all the same.
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The policy plugins run under.
    pub fn policy(&self) -> &PluginPolicy {
        &self.shared.policy
    }

    /// The identity that answers plugin `name`: the one its policy's `identity` names,
    /// else the host's own.
    pub fn identity_of(&self, name: &str) -> &Identity {
        self.shared.identity_of(&self.shared.policy.rules(name))
    }

    /// Compiles (or loads from the compile cache) the component `wasm` as plugin
    /// `name`, whose rules are the policy's `[plugins.<name>]`. Load once, run often.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<Plugin, PluginError> {
        let shared = &self.shared;
        let load_error = |e: wasmtime::Error| PluginError::Load {
            plugin: name.to_string(),
            reason: format!("{e:#}"),
        };
        let component = (shared.identity.runtime())
            .load_component(wasm)
            .map_err(load_error)?;
        let pre = shared
            .linker
            .instantiate_pre(&component)
            .and_then(CommandPre::new)
            .map_err(load_error)?;
        if !shared.policy.plugins.is_empty() && !shared.policy.plugins.contains_key(name) {
            tracing::warn!(
                plugin = name,
                "the policy has no [plugins.{name}] section; the plugin gets the defaults (no scopes, no outbound hosts)"
            );
        }
        let rules = Arc::new(shared.policy.rules(name));
        let bucket = shared
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(Mutex::new(TokenBucket::new(
                    rules.token_rate,
                    Instant::now(),
                )))
            })
            .clone();
        let identity = shared.identity_of(&rules).clone();
        Plugin::new(
            shared.clone(),
            identity,
            name.into(),
            rules,
            pre,
            bucket,
            self.resolver.clone(),
        )
    }

    /// [`Self::load`] of the file at `path`.
    pub fn load_file(&self, name: &str, path: &Path) -> Result<Plugin, PluginError> {
        let wasm = std::fs::read(path).map_err(|e| PluginError::Load {
            plugin: name.to_string(),
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        self.load(name, &wasm)
    }
}

impl fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginHost")
            .field("policy", &self.shared.policy)
            .field("runtime", self.shared.identity.runtime())
            .finish_non_exhaustive()
    }
}
