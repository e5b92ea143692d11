//! One live instance of the component: its store and its credential resource.
//!
//! Calls into a WASI 0.2 instance run one at a time, so an instance is used by one
//! caller at a time; `Identity` serialises access and coalesces identical requests.

use crate::bindings::{IdentityBindings as Bindings, IdentityPre};
use crate::clock::WasiWallClock;
use crate::config::IdentityConfig;
use crate::convert;
use crate::engine::EPOCH_TICK;
use crate::error::{Error, Result};
use crate::outbound::Allowlist;
use crate::state::HostState;
use entra_identity::{AccessToken, TokenRequest};
use std::time::Duration;
use wasmtime::component::{ResourceAny, ResourceTable};
use wasmtime::{Engine, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

pub(crate) struct Live {
    store: Store<HostState>,
    bindings: Bindings,
    credential: ResourceAny,
    deadline_ticks: u64,
}

fn ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

impl Live {
    /// Instantiates the component and constructs its managed-identity credential.
    pub(crate) async fn start(
        engine: &Engine,
        pre: &IdentityPre<HostState>,
        config: &IdentityConfig,
        allowlist: &Allowlist,
    ) -> Result<Live> {
        let mut wasi = WasiCtx::builder();
        // A guest panic prints its message before aborting; keep it visible.
        wasi.inherit_stderr();
        for (k, v) in &config.env {
            wasi.env(k, v);
        }
        if let Some(clock) = &config.wall_clock {
            wasi.wall_clock(WasiWallClock(clock.clone()));
        }
        let state = HostState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: allowlist.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(config.memory_limit)
                .build(),
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        let deadline_ticks = ticks(config.call_timeout);
        store.set_epoch_deadline(deadline_ticks);

        let bindings = pre
            .instantiate_async(&mut store)
            .await
            .map_err(Error::component)?;
        let options = convert::options(&config.managed_identity);
        let credential = bindings
            .entra_identity_credentials()
            .credential()
            .call_managed_identity(&mut store, &options)
            .await
            .map_err(Error::component)?
            .map_err(|e| Error::Token(convert::error(e)))?;
        Ok(Live {
            store,
            bindings,
            credential,
            deadline_ticks,
        })
    }

    pub(crate) async fn get_token(&mut self, request: &TokenRequest) -> Result<AccessToken> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        self.bindings
            .entra_identity_credentials()
            .credential()
            .call_get_token(&mut self.store, self.credential, &convert::request(request))
            .await
            .map_err(Error::component)?
            .map(convert::token)
            .map_err(|e| Error::Token(convert::error(e)))
    }

    pub(crate) async fn describe(&mut self) -> Result<String> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        self.bindings
            .entra_identity_credentials()
            .credential()
            .call_describe(&mut self.store, self.credential)
            .await
            .map_err(Error::component)
    }
}
