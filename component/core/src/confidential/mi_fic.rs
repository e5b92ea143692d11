//! A managed identity as a federated credential of an app registration: the managed
//! identity's token for the token-exchange audience is the app's `client_assertion`.
//! The app may live in another tenant, which managed identity alone cannot reach.

use super::AppOptions;
use super::authority::Cloud;
use super::client::{AssertionSource, ClientCredential};
use crate::binding::Proof;
use crate::credential::{Credential, Flow};
use crate::error::Error;
use crate::platform::Platform;
use crate::token::TokenRequest;

/// The assertion: a managed-identity token, cached by the inner credential under the
/// managed identity's key (the outer token is cached under the app's).
///
/// The inner request never carries claims: a claims challenge (and the outer app's
/// capabilities) concern the app's token, and go to Entra with the app's request.
pub struct ManagedIdentityAssertion {
    managed_identity: Credential,
    audience: String,
}

impl ManagedIdentityAssertion {
    /// `managed_identity`'s tokens for `audience` (in the public cloud
    /// `api://AzureADTokenExchange`).
    pub fn new(managed_identity: Credential, audience: String) -> Self {
        ManagedIdentityAssertion {
            managed_identity,
            audience,
        }
    }
}

/// The token-exchange audience of the cloud `authority_host` belongs to
/// (`api://AzureADTokenExchange` in the public cloud).
pub fn exchange_audience(authority_host: &str) -> String {
    Cloud::from_authority_host(authority_host)
        .unwrap_or(Cloud::Public)
        .token_exchange_audience()
        .to_string()
}

impl AssertionSource for ManagedIdentityAssertion {
    fn assertion(&self, _: &dyn Platform, fresh: bool) -> Result<String, Error> {
        let mut request = TokenRequest::new(&[format!("{}/.default", self.audience)]);
        request.force_refresh = fresh;
        self.managed_identity
            .get_token(&request)
            .map(|t| t.into_secret())
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        Ok(Proof::new("managed-identity")
            .with(&self.audience)
            .with_proof(&self.managed_identity.proof()?))
    }

    fn kind(&self) -> &'static str {
        "managed identity as federated credential"
    }

    fn describe(&self) -> String {
        format!(
            "a {} token from {}",
            self.audience,
            self.managed_identity.describe()
        )
    }
}

/// The flow for app `app` (client and tenant id must be given: `AZURE_CLIENT_ID` in
/// such environments usually names the managed identity, not the app) whose federated
/// credential trusts `managed_identity`. `audience` defaults to the token-exchange
/// audience of the authority host's cloud.
pub fn managed_identity_as_federated_credential(
    app: AppOptions,
    managed_identity: Credential,
    audience: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let app = super::resolve(
        app,
        "managed identity as a federated credential",
        false,
        env,
    )?;
    let audience = audience.unwrap_or_else(|| exchange_audience(&app.host));
    let assertion = ManagedIdentityAssertion::new(managed_identity, audience);
    Ok(Box::new(app.client(
        "managed identity as federated credential",
        ClientCredential::Assertion(Box::new(assertion)),
    )))
}
