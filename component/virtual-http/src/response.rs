//! The app's `future-incoming-response`: the host's, and for a request with a token
//! whose body is known to be empty, the one retry a claims challenge gets.
//!
//! The retry happens inside `get`, which blocks on the new request's pollable: a
//! guest cannot make a `future-incoming-response`, so the app's future is this one
//! throughout, and what it answers is the retry's answer.

use crate::bindings::exports::entra::virtual_http::types as v;
use crate::outgoing::{Exchange, Timeouts};
use crate::types::IncomingResponse;
use ::wasi::http::types::{self as host, ErrorCode};
use ::wasi::io::poll::Pollable;
use std::cell::RefCell;
use std::rc::Rc;

/// What a request with a token needs to be sent once more.
pub(crate) struct Retry {
    exchange: Rc<Exchange>,
    timeouts: Option<Timeouts>,
}

impl Retry {
    pub(crate) fn new(exchange: Rc<Exchange>, timeouts: Option<Timeouts>) -> Retry {
        Retry { exchange, timeouts }
    }

    /// The claims to answer when `response` is a claims challenge to a request that
    /// can go out again: a body streamed through the host cannot be read back, so a
    /// request with one gets no retry and its 401 reaches the app as it is.
    fn claims(&self, response: &host::IncomingResponse) -> Option<String> {
        if !self.exchange.body_is_known_empty() {
            return None;
        }
        self.exchange.claims_to_retry(response)
    }
}

pub(crate) struct FutureIncomingResponse {
    host: RefCell<host::FutureIncomingResponse>,
    /// Futures a retry replaced: kept while this lives, because the pollables the app
    /// got from `subscribe` are their children.
    replaced: RefCell<Vec<host::FutureIncomingResponse>>,
    /// Taken by the first answer: never more than one retry.
    retry: RefCell<Option<Retry>>,
}

impl FutureIncomingResponse {
    pub(crate) fn new(host: host::FutureIncomingResponse, retry: Option<Retry>) -> Self {
        FutureIncomingResponse {
            host: RefCell::new(host),
            replaced: RefCell::new(Vec::new()),
            retry: RefCell::new(retry),
        }
    }

    /// `response`, or the answer to its one retry when it is a claims challenge that
    /// can be answered.
    fn answer(
        &self,
        response: host::IncomingResponse,
    ) -> Result<Result<host::IncomingResponse, ErrorCode>, ()> {
        let Some(retry) = self.retry.borrow_mut().take() else {
            return Ok(Ok(response));
        };
        let Some(claims) = retry.claims(&response) else {
            return Ok(Ok(response));
        };
        drop(response);
        let future = match retry.exchange.resend(&claims, retry.timeouts.as_ref()) {
            Ok(future) => future,
            Err(code) => return Ok(Err(code)),
        };
        future.subscribe().block();
        let answer = future.get();
        self.replaced.borrow_mut().push(self.host.replace(future));
        answer.unwrap_or(Err(()))
    }
}

impl v::GuestFutureIncomingResponse for FutureIncomingResponse {
    fn subscribe(&self) -> Pollable {
        self.host.borrow().subscribe()
    }
    #[allow(clippy::type_complexity)] // the WIT's own shape
    fn get(&self) -> Option<Result<Result<v::IncomingResponse, ErrorCode>, ()>> {
        let got = self.host.borrow().get()?;
        let got = match got {
            Ok(Ok(response)) => self.answer(response),
            other => other,
        };
        Some(got.map(|response| response.map(IncomingResponse::wrap)))
    }
}
