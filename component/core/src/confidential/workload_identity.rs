//! Workload identity: a platform-issued token (Kubernetes service account, any OIDC
//! issuer) in a file, exchanged for an Entra token through a federated credential.

use super::AppOptions;
use super::client::{AssertionSource, ClientCredential};
use super::token_proxy::TokenProxy;
use crate::binding::Proof;
use crate::credential::Flow;
use crate::error::Error;
use crate::platform::{FileError, Platform};
use std::cell::RefCell;
use std::time::Duration;

/// The file is re-read when the copy in hand is older than this. Kubernetes rotates
/// at 80 % of a lifetime of at least an hour, so a copy is never stale for long;
/// reading it only once fails a day later with AADSTS700024.
pub const REREAD_AFTER: Duration = Duration::from_secs(5 * 60);
/// Service account tokens are a few KiB.
pub const MAX_TOKEN_FILE: usize = 64 * 1024;

/// The assertion in a file, re-read every [`REREAD_AFTER`].
pub struct TokenFile {
    path: String,
    /// The content and the wall-clock time (Unix seconds) it was read. Wall time,
    /// because the kubelet rotates the file by wall time and a monotonic clock does not
    /// survive an instance.
    cached: RefCell<Option<(String, u64)>>,
}

impl TokenFile {
    /// The token file at `path`.
    pub fn new(path: String) -> Self {
        TokenFile {
            path,
            cached: RefCell::new(None),
        }
    }

    fn read(&self, platform: &dyn Platform) -> Result<String, Error> {
        let path = &self.path;
        let bytes = platform
            .read_file(path, MAX_TOKEN_FILE)
            .map_err(|e| match e {
                FileError::NotFound => Error::Unavailable(format!(
                    "the federated token file {path} (AZURE_FEDERATED_TOKEN_FILE) does not exist; check that the pod uses a service account with workload identity and that the file is mounted"
                )),
                FileError::NotAvailable => Error::Unavailable(format!(
                    "the federated token file {path} cannot be read: this platform has no file access; the host must give the component read access to its directory"
                )),
                FileError::TooLarge { limit } => Error::InvalidInput(format!(
                    "the federated token file {path} is larger than {limit} bytes; it should hold one JWT"
                )),
                other => Error::Unavailable(format!(
                    "cannot read the federated token file {path}: {other}"
                )),
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::InvalidInput(format!("the federated token file {path} is not text"))
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Error::Unavailable(format!(
                "the federated token file {path} is empty; the platform has not written a token yet"
            )));
        }
        Ok(token.to_string())
    }
}

impl AssertionSource for TokenFile {
    fn assertion(&self, platform: &dyn Platform, fresh: bool) -> Result<String, Error> {
        let now = platform.now_unix();
        if !fresh
            && let Some((token, read_at)) = self.cached.borrow().as_ref()
            && now.saturating_sub(*read_at) < REREAD_AFTER.as_secs()
        {
            return Ok(token.clone());
        }
        let token = self.read(platform)?;
        *self.cached.borrow_mut() = Some((token.clone(), now));
        Ok(token)
    }

    fn describe(&self) -> String {
        format!("the federated token in {}", self.path)
    }

    fn proof(&self, _: &dyn Platform) -> Result<Proof, Error> {
        Ok(Proof::new("token-file").with(&self.path))
    }
}

/// The workload identity flow. Reads `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
/// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST` and
/// `AZURE_ADDITIONALLY_ALLOWED_TENANTS`; `app` and `token_file` override them. The
/// `AZURE_KUBERNETES_*` variables are ignored (see [`workload_identity_with_options`]).
pub fn workload_identity(
    app: AppOptions,
    token_file: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    workload_identity_with_options(app, token_file, false, env)
}

/// [`workload_identity`], and with `enable_azure_proxy` AKS identity binding: when
/// `AZURE_KUBERNETES_TOKEN_PROXY` is set the token request goes to that proxy (see
/// [`super::token_proxy`]); invalid `AZURE_KUBERNETES_*` settings are refused here.
/// Without `enable_azure_proxy` those variables are ignored, as in the Azure SDKs.
pub fn workload_identity_with_options(
    app: AppOptions,
    token_file: Option<String>,
    enable_azure_proxy: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Flow>, Error> {
    let path = token_file
        .or_else(|| env("AZURE_FEDERATED_TOKEN_FILE"))
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            Error::InvalidInput("workload identity needs AZURE_FEDERATED_TOKEN_FILE (set by the workload identity webhook) or a token file option".into())
        })?;
    let proxy = if enable_azure_proxy {
        TokenProxy::from_env(env)?
    } else {
        None
    };
    let app = super::resolve(app, "workload identity", true, env)?;
    Ok(Box::new(
        app.client(
            "workload identity",
            ClientCredential::Assertion(Box::new(TokenFile::new(path))),
        )
        .with_token_proxy(proxy),
    ))
}
