//! Test doubles for the two platform traits: a scripted transport that records what
//! it was sent, and a clock that jumps instead of sleeping.

use crate::http::{Request, Response};
use crate::platform::{Platform, Transport, TransportError};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

/// Time shared by a [`FakePlatform`] and a [`FakeTransport`].
#[derive(Clone, Default)]
pub struct FakeTime {
    wall: Rc<Cell<u64>>,
    mono: Rc<Cell<Duration>>,
    slept: Rc<RefCell<Vec<Duration>>>,
}

impl FakeTime {
    pub fn at(unix: u64) -> Self {
        let t = FakeTime::default();
        t.wall.set(unix);
        t
    }
    pub fn advance(&self, d: Duration) {
        self.wall.set(self.wall.get() + d.as_secs());
        self.mono.set(self.mono.get() + d);
    }
    pub fn now(&self) -> u64 {
        self.wall.get()
    }
    pub fn elapsed(&self) -> Duration {
        self.mono.get()
    }
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.borrow().clone()
    }
}

pub struct FakePlatform {
    pub time: FakeTime,
    pub random: Cell<u64>,
}

impl Platform for FakePlatform {
    fn now_unix(&self) -> u64 {
        self.time.now()
    }
    fn monotonic(&self) -> Duration {
        self.time.elapsed()
    }
    fn sleep(&self, duration: Duration) {
        self.time.slept.borrow_mut().push(duration);
        self.time.advance(duration);
    }
    fn random_u64(&self) -> u64 {
        self.random.get()
    }
}

type Reply = Result<Response, TransportError>;

/// Answers from a script (or a default once the script runs out) and records requests.
#[derive(Clone, Default)]
pub struct FakeTransport {
    script: Rc<RefCell<VecDeque<Reply>>>,
    default: Rc<RefCell<Option<Reply>>>,
    pub sent: Rc<RefCell<Vec<Request>>>,
    time: FakeTime,
}

impl FakeTransport {
    pub fn new(time: &FakeTime) -> Self {
        FakeTransport {
            time: time.clone(),
            ..Default::default()
        }
    }
    pub fn then(&self, reply: Reply) -> &Self {
        self.script.borrow_mut().push_back(reply);
        self
    }
    pub fn always(&self, reply: Reply) {
        *self.default.borrow_mut() = Some(reply);
    }
    pub fn count(&self) -> usize {
        self.sent.borrow().len()
    }
    pub fn last(&self) -> Request {
        self.sent
            .borrow()
            .last()
            .cloned()
            .expect("a request was sent")
    }
}

impl Transport for FakeTransport {
    fn send(&self, request: &Request, timeout: Duration, max_body: usize) -> Reply {
        self.sent.borrow_mut().push(request.clone());
        let reply = self
            .script
            .borrow_mut()
            .pop_front()
            .or_else(|| self.default.borrow().clone())
            .expect("the test scripted a reply for every request");
        // A timeout costs the whole attempt timeout, as it would for real.
        if reply == Err(TransportError::Timeout) {
            self.time.advance(timeout);
        }
        if let Ok(r) = &reply {
            assert!(
                r.body.len() <= max_body,
                "the script sends bodies within the limit"
            );
        }
        reply
    }
}

pub fn json(status: u16, body: &str) -> Reply {
    Ok(Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    })
}

pub fn with_header(reply: Reply, name: &str, value: &str) -> Reply {
    reply.map(|mut r| {
        r.headers.push((name.into(), value.into()));
        r
    })
}

/// An IMDS-style success body (string numbers), valid for `lifetime` seconds from `now`.
pub fn token_body(token: &str, now: u64, lifetime: u64) -> Reply {
    json(
        200,
        &format!(
            r#"{{"access_token":"{token}","refresh_token":"","expires_in":"{lifetime}","expires_on":"{}","not_before":"{now}","resource":"https://vault.azure.net","token_type":"Bearer"}}"#,
            now + lifetime
        ),
    )
}
