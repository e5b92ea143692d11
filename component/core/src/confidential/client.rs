//! The confidential-client flow: an app registration asks Entra ID for a token with
//! a secret, a certificate-signed assertion, or an assertion from elsewhere.

use super::assertion::{self, AssertionClaims, SigningAlgorithm};
use super::authority::{AllowedTenants, resolve_tenant, token_endpoint};
use super::certificate::{ClientCertificate, parse_pem};
use super::form::{ClientAuth, Grant as GrantForm};
use super::kept_assertion::{KeptAssertion, SignedFor};
use super::on_behalf_of::UserAssertion;
use super::token_proxy::TokenProxy;
use super::{entra_error, form};
use crate::binding::Proof;
use crate::claims::{Capabilities, request_claims};
use crate::credential::{Flow, FlowRequest};
use crate::error::{Error, ServiceError};
use crate::http::{Request, Response};
use crate::platform::{FileError, Platform};
use crate::retry::RetryPolicy;
use std::cell::RefCell;
use std::rc::Rc;

/// Certificate files are a few KiB; anything bigger is not one.
const MAX_CERTIFICATE_FILE: usize = 256 * 1024;

/// Somewhere an assertion comes from: a federated token file, another credential.
pub trait AssertionSource {
    /// The current assertion; `fresh` skips any copy kept from before, because Entra
    /// just said that copy expired.
    fn assertion(&self, platform: &dyn Platform, fresh: bool) -> Result<String, Error>;
    /// Where the assertion comes from, for people.
    fn describe(&self) -> String;
    /// What proves this source (see [`Flow::proof`]): its file, or its credential.
    fn proof(&self, platform: &dyn Platform) -> Result<Proof, Error>;
    /// What kind of client authentication this is, for people.
    fn kind(&self) -> &'static str {
        "client assertion"
    }
}

/// A certificate, given inline or as a path read (once) through the platform.
#[derive(Clone)]
pub enum CertificateInput {
    /// PEM bytes.
    Pem(Vec<u8>),
    /// Path of a PEM file.
    Path(String),
}

/// How an app proves who it is.
pub enum ClientCredential {
    /// A client secret.
    Secret(String),
    /// A certificate whose key signs the assertions, each reused for up to
    /// [`ASSERTION_REUSE`](super::ASSERTION_REUSE) seconds by this credential alone.
    Certificate {
        /// Where the PEM is.
        input: CertificateInput,
        /// Send `x5c` (needed for subject-name/issuer registration).
        send_chain: bool,
        /// PS256 or RS256.
        algorithm: SigningAlgorithm,
    },
    /// An assertion made elsewhere.
    Assertion(Box<dyn AssertionSource>),
}

/// What the app asks for.
pub(super) enum Grant {
    /// A token for itself.
    ClientCredentials,
    /// A token for the user whose token called it.
    OnBehalfOf(UserAssertion),
}

/// The confidential-client [`Flow`].
pub struct ConfidentialClient {
    kind: &'static str,
    host: String,
    tenant_id: String,
    client_id: String,
    allowed: AllowedTenants,
    credential: ClientCredential,
    grant: Grant,
    capabilities: Capabilities,
    retry: RetryPolicy,
    certificate: RefCell<Option<Rc<ClientCertificate>>>,
    /// The certificate credential's last signed assertion, for reuse.
    kept: KeptAssertion,
    /// AKS identity binding: token requests go to this proxy instead.
    proxy: Option<TokenProxy>,
    /// The last assertion sent and the tenant it went to: the assertion is a secret to
    /// scrub, the tenant names the refusal.
    sent: RefCell<(Option<String>, String)>,
}

impl ConfidentialClient {
    /// A flow for app `client_id` in `tenant_id` (both already validated) at `host`;
    /// `kind` names the credential in messages.
    pub fn new(
        kind: &'static str,
        host: String,
        tenant_id: String,
        client_id: String,
        allowed: AllowedTenants,
        credential: ClientCredential,
    ) -> Self {
        ConfidentialClient {
            kind,
            host,
            sent: RefCell::new((None, tenant_id.clone())),
            tenant_id,
            client_id,
            allowed,
            credential,
            grant: Grant::ClientCredentials,
            capabilities: Capabilities::default(),
            retry: RetryPolicy::sts(),
            certificate: RefCell::new(None),
            kept: KeptAssertion::default(),
            proxy: None,
        }
    }

    /// Sends every token request to the AKS token proxy `proxy` instead of the token
    /// endpoint (the URL rewritten, headers and body unchanged).
    pub fn with_token_proxy(mut self, proxy: Option<TokenProxy>) -> Self {
        self.proxy = proxy;
        self
    }

    /// Declares `capabilities` on every token request (see [`crate::claims`]).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Asks for `grant` instead of client credentials.
    pub(super) fn with_grant(mut self, grant: Grant) -> Self {
        self.grant = grant;
        self
    }

    fn certificate(
        &self,
        input: &CertificateInput,
        platform: &dyn Platform,
    ) -> Result<Rc<ClientCertificate>, Error> {
        if let Some(c) = self.certificate.borrow().as_ref() {
            return Ok(Rc::clone(c));
        }
        let pem = match input {
            CertificateInput::Pem(pem) => pem.clone(),
            CertificateInput::Path(path) => platform
                .read_file(path, MAX_CERTIFICATE_FILE)
                .map_err(|e| certificate_file_error(path, e))?,
        };
        let cert = Rc::new(parse_pem(&pem)?);
        *self.certificate.borrow_mut() = Some(Rc::clone(&cert));
        Ok(cert)
    }

    /// What proves the app itself (see [`Flow::proof`]).
    fn client_proof(&self, platform: &dyn Platform) -> Result<Proof, Error> {
        Ok(match &self.credential {
            ClientCredential::Secret(secret) => Proof::new("secret").with(secret),
            // The leaf certificate carries the public key of the key that signs.
            ClientCredential::Certificate { input, .. } => {
                Proof::new("certificate").with(&self.certificate(input, platform)?.leaf)
            }
            ClientCredential::Assertion(source) => {
                Proof::new("assertion").with_proof(&source.proof(platform)?)
            }
        })
    }

    /// The request, with a fresh assertion when `fresh`.
    fn request(
        &self,
        request: &FlowRequest<'_>,
        platform: &dyn Platform,
        fresh: bool,
    ) -> Result<Request, Error> {
        // Checked first: bad claims must fail before anything is sent, including the
        // request for a managed identity's assertion.
        let claims = request_claims(&self.capabilities, request.claims.as_deref())?;
        let scope = form::scope_param(&request.scopes)?;
        let tenant = resolve_tenant(&self.tenant_id, request.tenant_id.as_deref(), &self.allowed)?;
        let endpoint = token_endpoint(&self.host, &tenant);
        let assertion = match &self.credential {
            ClientCredential::Secret(_) => None,
            ClientCredential::Certificate {
                input,
                send_chain,
                algorithm,
            } => {
                let cert = self.certificate(input, platform)?;
                let now = platform.now_unix();
                let signed_for = SignedFor {
                    thumbprint: cert.leaf_sha256,
                    client_id: &self.client_id,
                    audience: &endpoint,
                };
                match self.kept.get(&signed_for, now).filter(|_| !fresh) {
                    Some(kept) => Some(kept),
                    None => {
                        let jti = assertion::uuid_v4(platform.random_u64(), platform.random_u64());
                        let claims = AssertionClaims {
                            audience: &endpoint,
                            client_id: &self.client_id,
                            now,
                            jti: &jti,
                        };
                        let signed =
                            assertion::sign(&cert, &claims, *algorithm, *send_chain, platform)?;
                        self.kept.keep(&signed_for, now, &signed);
                        Some(signed)
                    }
                }
            }
            ClientCredential::Assertion(source) => Some(source.assertion(platform, fresh)?),
        };
        let auth = match (&self.credential, &assertion) {
            (ClientCredential::Secret(secret), _) => ClientAuth::Secret(secret),
            (_, Some(assertion)) => ClientAuth::Assertion(assertion),
            (_, None) => unreachable!("every credential but a secret made an assertion"),
        };
        let grant = match &self.grant {
            Grant::ClientCredentials => GrantForm::ClientCredentials,
            Grant::OnBehalfOf(user) => GrantForm::OnBehalfOf {
                assertion: user.token(),
            },
        };
        let fields = form::token_form(&self.client_id, auth, grant, &scope);
        *self.sent.borrow_mut() = (assertion, tenant);
        let mut request = form::token_request(&endpoint, fields, claims.as_deref());
        if let Some(proxy) = &self.proxy {
            request.url = proxy.rewrite(&request.url)?;
        }
        Ok(request)
    }
}

fn certificate_file_error(path: &str, e: FileError) -> Error {
    match e {
        FileError::NotAvailable => Error::Unavailable(format!(
            "the client certificate {path} cannot be read: this platform has no file access; the host must give the component read access to it"
        )),
        other => Error::InvalidInput(format!(
            "cannot read the client certificate {path}: {other}"
        )),
    }
}

impl Flow for ConfidentialClient {
    /// The user's part is the hash of their token, never the token: a token issued
    /// for one user must never be served to another.
    fn identity(&self) -> String {
        let (kind, user) = match &self.grant {
            Grant::ClientCredentials => ("entra", String::new()),
            Grant::OnBehalfOf(user) => ("entra-obo", format!("|user={}", user.hash())),
        };
        format!(
            "{kind}|{}|{}|{}{user}{}",
            self.host,
            self.tenant_id,
            self.client_id,
            self.capabilities.identity_suffix()
        )
    }

    fn proof(&self, platform: &dyn Platform) -> Result<Proof, Error> {
        let client = self.client_proof(platform)?;
        Ok(match &self.grant {
            Grant::ClientCredentials => client,
            Grant::OnBehalfOf(user) => Proof::new("on-behalf-of")
                .with_proof(&client)
                .with(user.hash()),
        })
    }

    fn describe(&self) -> String {
        if let Grant::OnBehalfOf(_) = &self.grant {
            let how = match &self.credential {
                ClientCredential::Secret(_) => "client secret",
                ClientCredential::Certificate { .. } => "certificate",
                ClientCredential::Assertion(source) => source.kind(),
            };
            return format!(
                "on-behalf-of for app {} in tenant {} ({how})",
                self.client_id, self.tenant_id
            );
        }
        let how = match &self.credential {
            ClientCredential::Secret(_) => "a client secret".to_string(),
            ClientCredential::Certificate { .. } => "a client certificate".to_string(),
            ClientCredential::Assertion(source) => source.describe(),
        };
        let through = match &self.proxy {
            Some(proxy) => format!(", through the AKS token proxy at {}", proxy.url()),
            None => String::new(),
        };
        format!(
            "{} for app {} in tenant {} at {}, with {how}{through}",
            self.kind, self.client_id, self.tenant_id, self.host
        )
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn build_request(
        &self,
        request: &FlowRequest<'_>,
        platform: &dyn Platform,
    ) -> Result<Request, Error> {
        self.request(request, platform, false)
    }

    /// On AADSTS700024 ("assertion expired") an assertion from elsewhere is fetched
    /// again and sent once more, but only if it changed: resending the same one
    /// would only be refused again. A kept certificate assertion is dropped and one
    /// signed now is sent instead (a clock far off Entra's can make it look expired).
    fn challenge(
        &self,
        request: &FlowRequest<'_>,
        response: &Response,
        platform: &dyn Platform,
    ) -> Option<Result<Request, Error>> {
        let body = String::from_utf8_lossy(&response.body);
        if response.status != 400 && response.status != 401 || !body.contains("AADSTS700024") {
            return None;
        }
        let source = match &self.credential {
            ClientCredential::Assertion(source) => source,
            ClientCredential::Certificate { .. } => {
                let sent = self.sent.borrow().0.clone()?;
                return self
                    .kept
                    .forget(&sent)
                    .then(|| self.request(request, platform, true));
            }
            ClientCredential::Secret(_) => return None,
        };
        let before = self.sent.borrow().0.clone();
        match source.assertion(platform, true) {
            Ok(now) if Some(&now) != before.as_ref() => {
                Some(self.request(request, platform, false))
            }
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn refusal(&self, error: ServiceError) -> Error {
        let tenant = self.sent.borrow().1.clone();
        let on_behalf_of = matches!(self.grant, Grant::OnBehalfOf(_));
        entra_error::refusal(error, &self.client_id, &tenant, on_behalf_of)
    }

    fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.sent.borrow().0.iter().cloned().collect();
        if let ClientCredential::Secret(s) = &self.credential {
            out.push(s.clone());
        }
        if let Grant::OnBehalfOf(user) = &self.grant {
            out.push(user.token().to_string());
        }
        out
    }
}
