//! Serve mode: an HTTP handler component (`wasi:http` 0.2 proxy or 0.3 service) with
//! the identity component linked for it, as `entra-identity serve app.wasm` runs it.
//!
//! What each file holds is in the serve row of `ARCHITECTURE.md`'s host table.
//!
//! Requests are dispatched by `wasmtime-wasi-http`'s own handler machinery, which
//! queues without bound (its docs leave backpressure to the embedder); this module
//! accepts connections and decides which requests reach it. The app and the identity
//! component are one composed component, so they share one environment and one
//! outbound allowlist (as in Spin, where a dependency's requests are checked against
//! the app's list). Run only apps you trust with the identity; untrusted code belongs
//! in the plugin host.

mod admission;
mod app;
mod baked_environment;
mod compose;
mod compose_outbound;
mod limits;
mod listen;
mod timeouts;
mod worker;

pub use compose::{
    HTTP_RELAY_WASM, INBOUND_GATE_P3_WASM, INBOUND_GATE_WASM, INBOUND_VIRTUAL_HTTP_WASM, Inbound,
    OUTBOUND_P3_WASM, STANDALONE_WASM, compose, compose_inbound, compose_outbound_p3,
    compose_standalone, imports_http_client_p3, imports_identity,
};
pub use compose_outbound::{
    OUTBOUND_WASM, OutboundOptions, compose_outbound, compose_outbound_inbound,
};
pub use limits::ServeLimits;

use crate::error::{Error, Result};
use crate::identity::IdentityConfig;
use crate::identity::instance::Blueprint;
use crate::identity::{outbound_policy, sandbox};
use crate::runtime::Runtime;
use crate::runtime::config_store::{self, ConfigVars};
use crate::runtime::engine;
use crate::runtime::state::HostState;
use crate::shared_cache::CACHE_ENV_VARS;
use admission::Admission;
use app::App;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime_wasi_http::handler::{ProxyHandler, ProxyPre};
use wasmtime_wasi_http::{p2, p3};
use worker::Reuse;

/// What to serve and how.
#[non_exhaustive]
pub struct ServeOptions {
    /// The app: a component exporting `wasi:http/incoming-handler@0.2` or
    /// `wasi:http/handler@0.3`. If it imports `entra:identity/*`, the identity
    /// component is plugged in.
    pub app: Vec<u8>,
    /// Where to listen.
    pub addr: SocketAddr,
    /// `wasi:config` variables for the app (Spin's application variables).
    pub variables: BTreeMap<String, String>,
    /// Environment for the app, besides the identity's own variables. The cache's
    /// (`ENTRA_IDENTITY_CACHE_*`) are left out: they come from `identity`'s cache.
    pub env: BTreeMap<String, String>,
    /// URLs the app may call, besides the identity's endpoints.
    pub allowed_outbound: Vec<String>,
    /// The identity component's configuration: credential, cache store, clock.
    pub identity: IdentityConfig,
    /// Memory limit of one instance (app and identity together).
    pub memory_limit: usize,
    /// Time one request may take.
    pub request_timeout: Duration,
    /// What clients may hold: requests in flight, connections, time, body bytes.
    pub limits: ServeLimits,
    /// The engine the app runs on; `None`: [`Runtime::shared`]. With a pooling
    /// runtime, the app's instances and memories take its slots.
    pub runtime: Option<Runtime>,
    /// A fresh instance for every request, WASIp3 handlers too. `false` (the
    /// default): a WASIp2 handler still gets one per request (as Spin runs it), a
    /// WASIp3 one takes up to 16 requests at once and 128 in all, as `wasmtime serve`
    /// and Spin do. Fresh instances keep nothing between requests but what the
    /// shared cache holds.
    pub fresh_instances: bool,
}

impl ServeOptions {
    /// Serving `app` on `addr` with the identity `identity`, and the defaults:
    /// 256 MiB per instance, 60 s per request, [`ServeLimits::default`].
    pub fn new(app: Vec<u8>, addr: SocketAddr, identity: IdentityConfig) -> Self {
        ServeOptions {
            app,
            addr,
            variables: BTreeMap::new(),
            env: BTreeMap::new(),
            allowed_outbound: Vec::new(),
            identity,
            memory_limit: 256 << 20,
            request_timeout: Duration::from_secs(60),
            limits: ServeLimits::default(),
            runtime: None,
            fresh_instances: false,
        }
    }

    /// Sets [`Self::runtime`].
    pub fn with_runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }
}

/// A running server; dropping it stops accepting connections.
pub struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process is interrupted (Ctrl-C).
    pub async fn run_until_ctrl_c(mut self) -> Result<()> {
        let _ = tokio::signal::ctrl_c().await;
        self.stop.take();
        let _ = (&mut self.task).await;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.take();
        self.task.abort();
    }
}

/// Composes (if needed), compiles and links the app, and starts listening.
pub async fn serve(options: ServeOptions) -> Result<Server> {
    options.limits.validate()?;
    let app = if imports_identity(&options.app)? {
        compose(&options.app, engine::COMPONENT_WASM)?
    } else {
        options.app
    };
    let allowlist = outbound_policy(&options.identity, &options.allowed_outbound)?;
    let runtime = match options.runtime {
        Some(runtime) => runtime,
        None => Runtime::shared()?,
    };
    // An Entra-authenticated Redis cache gets its tokens as an `Identity` does.
    let identity = crate::identity::redis_tokens::attach(&runtime, options.identity.clone())?;
    let blueprint = Blueprint::new(&runtime, sandbox(&identity, allowlist))?;
    let component = runtime.load_component(&app).map_err(Error::component)?;
    let engine = runtime.engine()?.clone();
    let (pre, reuse) = link(&engine, &component)?;
    let reuse = if options.fresh_instances {
        Reuse::FRESH
    } else {
        reuse
    };
    let handler = ProxyHandler::new(App {
        engine,
        pre,
        reuse,
        blueprint,
        config: ConfigVars(Arc::new(options.variables)),
        // As for the identity: the cache's variables come from its configuration alone.
        env: (options.env.into_iter())
            .filter(|(k, _)| !CACHE_ENV_VARS.contains(&k.as_str()))
            .collect(),
        memory_limit: options.memory_limit,
        request_timeout: options.request_timeout,
    });
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", options.addr)))?;
    let addr =
        (listener.local_addr()).map_err(|e| Error::Config(format!("listening socket: {e}")))?;
    let admission = Arc::new(Admission {
        handler,
        requests: Arc::new(Semaphore::new(options.limits.max_concurrent_requests)),
        max_body_bytes: options.limits.max_body_bytes,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(listen::accept(listener, admission, options.limits, stopped));
    tracing::info!(%addr, "serving");
    Ok(Server {
        addr,
        stop: Some(stop),
        task,
    })
}

fn link(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
) -> Result<(ProxyPre<HostState>, Reuse)> {
    let mut linker = Linker::<HostState>::new(engine);
    let linked = (|| {
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        p2::add_only_http_to_linker_async(&mut linker)?;
        p3::add_to_linker(&mut linker)?;
        crate::keyvalue::add_to_linker(&mut linker, HostState::keyvalue)?;
        config_store::add_to_linker(&mut linker, HostState::config)
    })();
    linked.map_err(Error::component)?;
    let pre = linker.instantiate_pre(component).map_err(|e| {
        Error::Config(format!(
            "the app needs an import this host does not provide ({e}); serve mode provides \
             WASI 0.2 and 0.3, wasi:http, wasi:keyvalue@0.2.0-draft2 and \
             wasi:config@0.2.0-draft-2024-09-27"
        ))
    })?;
    if let Ok(service) = p3::bindings::ServicePre::new(pre.clone()) {
        return Ok((ProxyPre::P3(service), Reuse::P3));
    }
    let proxy = p2::bindings::ProxyPre::new(pre).map_err(|e| {
        Error::Config(format!(
            "the app exports neither wasi:http/handler@0.3 nor wasi:http/incoming-handler@0.2 ({e})"
        ))
    })?;
    Ok((ProxyPre::P2(proxy), Reuse::P2))
}
