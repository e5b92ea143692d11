//! The component's `credential` resource in a live instance.

use crate::config::IdentityConfig;
use crate::convert;
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::outbound::Allowlist;
use crate::runtime::Runtime;
use entra_identity::{AccessToken, TokenRequest};
use wasmtime::component::ResourceAny;

pub(crate) struct LiveCredential {
    instance: Instance,
    credential: ResourceAny,
}

impl LiveCredential {
    /// Instantiates the component and constructs its managed-identity credential.
    pub(crate) async fn start(
        runtime: &Runtime,
        config: &IdentityConfig,
        allowlist: &Allowlist,
    ) -> Result<Self> {
        let mut instance = Instance::start(runtime, config, allowlist).await?;
        let options = convert::options(&config.managed_identity);
        let (store, bindings) = instance.arm();
        let credential = bindings
            .entra_identity_credentials()
            .credential()
            .call_managed_identity(store, &options)
            .await
            .map_err(Error::component)?
            .map_err(|e| Error::Token(convert::error(e)))?;
        Ok(LiveCredential {
            instance,
            credential,
        })
    }

    pub(crate) async fn get_token(&mut self, request: &TokenRequest) -> Result<AccessToken> {
        let (store, bindings) = self.instance.arm();
        bindings
            .entra_identity_credentials()
            .credential()
            .call_get_token(store, self.credential, &convert::request(request))
            .await
            .map_err(Error::component)?
            .map(convert::token)
            .map_err(|e| Error::Token(convert::error(e)))
    }

    pub(crate) async fn describe(&mut self) -> Result<String> {
        let (store, bindings) = self.instance.arm();
        bindings
            .entra_identity_credentials()
            .credential()
            .call_describe(store, self.credential)
            .await
            .map_err(Error::component)
    }
}
