//! Test doubles for the two platform traits: a scripted transport that records what
//! it was sent, and a clock that jumps instead of sleeping.

use crate::http::{Request, Response};
use crate::platform::{FileError, Platform, Transport, TransportError};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

/// Time shared by a [`FakePlatform`] and a [`FakeTransport`], and the platform's
/// files (here so that existing `FakePlatform { time, random }` literals keep working).
#[derive(Clone, Default)]
pub struct FakeTime {
    wall: Rc<Cell<u64>>,
    mono: Rc<Cell<Duration>>,
    slept: Rc<RefCell<Vec<Duration>>>,
    pub files: FakeFiles,
    /// Every line given to `Platform::warn`.
    pub warnings: Rc<RefCell<Vec<String>>>,
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

/// An in-memory file system shared between a test and the [`FakePlatform`] it boxed.
#[derive(Clone, Default)]
pub struct FakeFiles {
    files: Rc<RefCell<HashMap<String, FakeFile>>>,
    pub reads: Rc<Cell<usize>>,
}

#[derive(Clone)]
enum FakeFile {
    Data(Vec<u8>),
    Symlink,
    Unreadable,
}

impl FakeFiles {
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let data = FakeFile::Data(contents.as_ref().to_vec());
        self.files.borrow_mut().insert(path.into(), data);
    }
    pub fn symlink(&self, path: &str) {
        self.files
            .borrow_mut()
            .insert(path.into(), FakeFile::Symlink);
    }
    pub fn unreadable(&self, path: &str) {
        self.files
            .borrow_mut()
            .insert(path.into(), FakeFile::Unreadable);
    }
    pub fn remove(&self, path: &str) {
        self.files.borrow_mut().remove(path);
    }
    fn get(&self, path: &str) -> Result<FakeFile, FileError> {
        self.files
            .borrow()
            .get(path)
            .cloned()
            .ok_or(FileError::NotFound)
    }
}

pub struct FakePlatform {
    pub time: FakeTime,
    pub random: Cell<u64>,
}

impl FakePlatform {
    pub fn new(time: &FakeTime) -> Self {
        FakePlatform {
            time: time.clone(),
            random: Cell::new(0),
        }
    }
    fn files(&self) -> &FakeFiles {
        &self.time.files
    }
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
    fn warn(&self, message: &str) {
        self.time.warnings.borrow_mut().push(message.to_string());
    }
    fn read_file(&self, path: &str, max_len: usize) -> Result<Vec<u8>, FileError> {
        let files = self.files();
        files.reads.set(files.reads.get() + 1);
        match files.get(path)? {
            // Reading follows links; the tests never point one at real data.
            FakeFile::Symlink => Err(FileError::NotFound),
            FakeFile::Unreadable => Err(FileError::PermissionDenied),
            FakeFile::Data(d) if d.len() > max_len => Err(FileError::TooLarge { limit: max_len }),
            FakeFile::Data(d) => Ok(d),
        }
    }
    fn file_len(&self, path: &str) -> Result<u64, FileError> {
        match self.files().get(path)? {
            FakeFile::Data(d) => Ok(d.len() as u64),
            FakeFile::Symlink | FakeFile::Unreadable => Ok(10),
        }
    }
    fn is_symlink(&self, path: &str) -> Result<bool, FileError> {
        Ok(matches!(self.files().get(path)?, FakeFile::Symlink))
    }
}

pub type Reply = Result<Response, TransportError>;

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

/// A credential over fakes, with handles on everything a test scripts or inspects.
pub struct Rig {
    pub time: FakeTime,
    pub transport: FakeTransport,
    pub files: FakeFiles,
    pub credential: crate::credential::Credential,
}

pub const T0: u64 = 1_800_000_000;

impl Rig {
    pub fn new(flow: Box<dyn crate::credential::Flow>) -> Self {
        Self::at(flow, &FakeTime::at(T0))
    }

    /// A rig sharing `time` (and so files) with others (credentials wrapping credentials).
    pub fn at(flow: Box<dyn crate::credential::Flow>, time: &FakeTime) -> Self {
        let transport = FakeTransport::new(time);
        let platform = FakePlatform::new(time);
        let store: crate::credential::SharedStore =
            Rc::new(RefCell::new(crate::cache::MemoryStore::default()));
        let credential = crate::credential::Credential::new(
            flow,
            Box::new(transport.clone()),
            Box::new(platform),
            store,
        );
        Rig {
            time: time.clone(),
            transport,
            files: time.files.clone(),
            credential,
        }
    }

    pub fn get(&self, scope: &str) -> Result<crate::token::AccessToken, crate::Error> {
        self.credential
            .get_token(&crate::token::TokenRequest::new(&[scope]))
    }

    pub fn sent(&self) -> Vec<Request> {
        self.transport.sent.borrow().clone()
    }
}

/// An environment-variable reader over fixed pairs.
pub fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'static {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

/// The query of a URL as ordered pairs.
pub fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A form body as ordered pairs.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The text of an error in every form a user could see it.
pub fn shown(e: &crate::Error) -> String {
    format!("{e} {e:?}")
}
