//! The app's outgoing requests: `outgoing-request`, its `outgoing-body` and
//! `outgoing-handler.handle`.
//!
//! The app's request is a host request the app builds as it likes (the host checks
//! each setter); where it goes with which token is decided once, when the app first
//! takes the body's stream or at `handle`, whichever comes first. A request with a
//! token goes out as a copy carrying `authorization`, so the app's own request never
//! holds the token, and it stays as the template of the one retry a claims challenge
//! may get. From then on its scheme and authority are fixed: a token only ever goes to
//! the resource it was issued for.

use crate::attach::{Target, internal};
use crate::bindings::VirtualHttp;
use crate::bindings::exports::entra::virtual_http::{outgoing_handler, types as v};
use crate::body::BodyState;
use crate::fields::Fields;
use crate::response::{FutureIncomingResponse, Retry};
use ::wasi::http::types::{self as host, ErrorCode, Method, Scheme};
use ::wasi::io::streams::OutputStream;
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

/// One request of the app's, shared by the request, its body and its response
/// future, which the app holds and drops independently.
pub(crate) struct Exchange {
    /// The app's request as the app builds it: its getters answer the app. Sent as it
    /// is when it gets no token; otherwise the template of each copy that carries one.
    app: RefCell<Option<host::OutgoingRequest>>,
    /// Whether the request carries a token, and to where: decided once.
    target: OnceCell<Result<Option<Target>, ErrorCode>>,
    /// The copy with the token, until `handle` sends it.
    copy: RefCell<Option<host::OutgoingRequest>>,
    /// The host's body of the request that goes out, once the app needs it.
    host_body: RefCell<Option<host::OutgoingBody>>,
    body: Cell<BodyState>,
}

impl Exchange {
    /// The target, deciding it (and getting the token) on first use.
    fn target(&self) -> Result<Option<&Target>, ErrorCode> {
        let decided = self.target.get_or_init(|| {
            let app = self.app.borrow();
            let app = app
                .as_ref()
                .expect("decided before the app's request is sent");
            let target = Target::of(app)?;
            if let Some(target) = &target {
                *self.copy.borrow_mut() = Some(target.request(app, None)?);
            }
            Ok(target)
        });
        decided.as_ref().map(Option::as_ref).map_err(Clone::clone)
    }

    fn carries_token(&self) -> bool {
        matches!(self.target.get(), Some(Ok(Some(_))))
    }

    /// The request that goes out: the copy with the token, or the app's own.
    fn outgoing(&self) -> &RefCell<Option<host::OutgoingRequest>> {
        match self.carries_token() {
            true => &self.copy,
            false => &self.app,
        }
    }

    /// Takes the host's body of the request that goes out, if not yet taken.
    fn take_host_body(&self) -> Result<(), ErrorCode> {
        if self.host_body.borrow().is_some() {
            return Ok(());
        }
        self.target()?;
        let body = (self.outgoing().borrow().as_ref())
            .ok_or_else(|| {
                internal("entra-identity: the request was sent without its body".into())
            })?
            .body()
            .map_err(|()| internal("entra-identity: the host refused the request's body".into()))?;
        *self.host_body.borrow_mut() = Some(body);
        Ok(())
    }

    fn write(&self) -> Result<OutputStream, ()> {
        self.take_host_body().map_err(|_| ())?;
        let stream = (self.host_body.borrow().as_ref()).ok_or(())?.write()?;
        self.body.set(BodyState::Written);
        Ok(stream)
    }

    fn finish(&self, trailers: Option<host::Fields>) -> Result<(), ErrorCode> {
        if trailers.is_some() {
            self.take_host_body()?;
        }
        self.body.set(self.body.get().finished(trailers.is_some()));
        match self.host_body.borrow_mut().take() {
            Some(body) => host::OutgoingBody::finish(body, trailers),
            // Never written and not yet sent: the request goes out without a body.
            None => Ok(()),
        }
    }

    fn abandon(&self) {
        if !matches!(self.body.get(), BodyState::Finished { .. }) {
            self.body.set(BodyState::Abandoned);
            // Dropped unfinished, the host's body fails the request, as the app meant.
            drop(self.host_body.borrow_mut().take());
        }
    }

    fn send(
        self: Rc<Self>,
        options: Option<host::RequestOptions>,
    ) -> Result<v::FutureIncomingResponse, ErrorCode> {
        let carries_token = self.target()?.is_some();
        if self.body.get().needs_host_body_at_send() {
            // The app writes (or abandoned) the body after `handle`: the host's must
            // exist before the request is handed over.
            self.take_host_body()?;
            if self.body.get() == BodyState::Abandoned {
                drop(self.host_body.borrow_mut().take());
            }
        }
        let request = (self.outgoing().borrow_mut().take())
            .expect("a request is sent once: handle consumes the app's");
        let timeouts = options.as_ref().map(Timeouts::of);
        let future = ::wasi::http::outgoing_handler::handle(request, options)?;
        let retry = carries_token.then(|| Retry::new(self.clone(), timeouts));
        Ok(v::FutureIncomingResponse::new(FutureIncomingResponse::new(
            future, retry,
        )))
    }

    /// A new request to the same target with a token satisfying `claims`, sent.
    /// Only for a request that carries a token and whose body is known to be empty.
    pub(crate) fn resend(
        &self,
        claims: &str,
        timeouts: Option<&Timeouts>,
    ) -> Result<host::FutureIncomingResponse, ErrorCode> {
        let target = self
            .target()?
            .expect("only a request with a token is retried");
        let app = self.app.borrow();
        let app = app
            .as_ref()
            .expect("the template of a request with a token is kept");
        let request = target.request(app, Some(claims))?;
        ::wasi::http::outgoing_handler::handle(request, timeouts.map(Timeouts::options))
    }

    pub(crate) fn body_is_known_empty(&self) -> bool {
        self.body.get().is_known_empty()
    }

    pub(crate) fn claims_to_retry(&self, response: &host::IncomingResponse) -> Option<String> {
        match self.target() {
            Ok(Some(target)) => target.claims_to_retry(response),
            _ => None,
        }
    }

    fn app(&self) -> std::cell::Ref<'_, host::OutgoingRequest> {
        std::cell::Ref::map(self.app.borrow(), |app| {
            app.as_ref()
                .expect("the app's request is sent only when the app gives it up")
        })
    }
}

/// A request's options, to give a retry the same ones.
pub(crate) struct Timeouts {
    connect: Option<u64>,
    first_byte: Option<u64>,
    between_bytes: Option<u64>,
}

impl Timeouts {
    fn of(options: &host::RequestOptions) -> Timeouts {
        Timeouts {
            connect: options.connect_timeout(),
            first_byte: options.first_byte_timeout(),
            between_bytes: options.between_bytes_timeout(),
        }
    }

    fn options(&self) -> host::RequestOptions {
        let options = host::RequestOptions::new();
        // Values the host took once; it takes them again.
        let _ = options.set_connect_timeout(self.connect);
        let _ = options.set_first_byte_timeout(self.first_byte);
        let _ = options.set_between_bytes_timeout(self.between_bytes);
        options
    }
}

impl outgoing_handler::Guest for VirtualHttp {
    fn handle(
        request: v::OutgoingRequest,
        options: Option<v::RequestOptions>,
    ) -> Result<v::FutureIncomingResponse, ErrorCode> {
        let exchange = request.into_inner::<OutgoingRequest>().0;
        let options = options.map(|o| o.into_inner::<crate::types::RequestOptions>().0);
        exchange.send(options)
    }
}

pub(crate) struct OutgoingRequest(Rc<Exchange>);

/// A scheme as a comparable name.
fn scheme_name(scheme: Option<Scheme>) -> Option<String> {
    scheme.map(|scheme| match scheme {
        Scheme::Http => "http".to_string(),
        Scheme::Https => "https".to_string(),
        Scheme::Other(other) => other,
    })
}

impl v::GuestOutgoingRequest for OutgoingRequest {
    fn new(headers: v::Fields) -> Self {
        OutgoingRequest(Rc::new(Exchange {
            app: RefCell::new(Some(host::OutgoingRequest::new(Fields::into_host(headers)))),
            target: OnceCell::new(),
            copy: RefCell::new(None),
            host_body: RefCell::new(None),
            body: Cell::new(BodyState::Untouched),
        }))
    }
    fn body(&self) -> Result<v::OutgoingBody, ()> {
        if self.0.body.get() != BodyState::Untouched {
            return Err(());
        }
        self.0.body.set(BodyState::Open);
        Ok(v::OutgoingBody::new(OutgoingBody::Request(RequestBody(
            self.0.clone(),
        ))))
    }
    fn method(&self) -> Method {
        self.0.app().method()
    }
    fn set_method(&self, method: Method) -> Result<(), ()> {
        self.0.app().set_method(&method)?;
        match self.0.copy.borrow().as_ref() {
            Some(copy) => copy.set_method(&method),
            None => Ok(()),
        }
    }
    fn path_with_query(&self) -> Option<String> {
        self.0.app().path_with_query()
    }
    fn set_path_with_query(&self, path_with_query: Option<String>) -> Result<(), ()> {
        self.0
            .app()
            .set_path_with_query(path_with_query.as_deref())?;
        match self.0.copy.borrow().as_ref() {
            Some(copy) => copy.set_path_with_query(path_with_query.as_deref()),
            None => Ok(()),
        }
    }
    fn scheme(&self) -> Option<Scheme> {
        self.0.app().scheme()
    }
    /// Refused once the request carries a token, unless it changes nothing.
    fn set_scheme(&self, scheme: Option<Scheme>) -> Result<(), ()> {
        let app = self.0.app();
        if self.0.carries_token() && scheme_name(scheme.clone()) != scheme_name(app.scheme()) {
            return Err(());
        }
        app.set_scheme(scheme.as_ref())
    }
    fn authority(&self) -> Option<String> {
        self.0.app().authority()
    }
    /// Refused once the request carries a token, unless it changes nothing.
    fn set_authority(&self, authority: Option<String>) -> Result<(), ()> {
        let app = self.0.app();
        if self.0.carries_token() && authority != app.authority() {
            return Err(());
        }
        app.set_authority(authority.as_deref())
    }
    /// The app's own headers: never the copy's, which hold the token.
    fn headers(&self) -> v::Fields {
        Fields::host(self.0.app().headers())
    }
}

/// A body the app writes: a response's is the host's; a request's is the host's body
/// of the request that goes out, taken when the app asks for its stream.
pub(crate) enum OutgoingBody {
    Response(host::OutgoingBody),
    Request(RequestBody),
}

pub(crate) struct RequestBody(Rc<Exchange>);

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

impl OutgoingBody {
    pub(crate) fn response(body: host::OutgoingBody) -> v::OutgoingBody {
        v::OutgoingBody::new(OutgoingBody::Response(body))
    }
}

impl v::GuestOutgoingBody for OutgoingBody {
    fn write(&self) -> Result<OutputStream, ()> {
        match self {
            OutgoingBody::Response(body) => body.write(),
            OutgoingBody::Request(body) => body.0.write(),
        }
    }
    fn finish(this: v::OutgoingBody, trailers: Option<v::Fields>) -> Result<(), ErrorCode> {
        let trailers = trailers.map(Fields::into_host);
        match this.into_inner::<OutgoingBody>() {
            OutgoingBody::Response(body) => host::OutgoingBody::finish(body, trailers),
            // Finished first, so that dropping it abandons nothing.
            OutgoingBody::Request(body) => body.0.finish(trailers),
        }
    }
}
