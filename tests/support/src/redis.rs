//! A private `redis-server` on a free loopback port, in a temp dir, persistence off,
//! killed on drop. A missing `redis-server` fails the test loudly, never skips it:
//! `scripts/test` installs it.
//!
//! `RedisServer::start_tls` (feature `tls`) plays Azure's Redis: TLS on its own port
//! with a certificate from a test CA, and ACL users. The plain port stays open for the
//! test's admin commands ([`RedisServer::admin`]), as the `default` user with a
//! password, so a client that does not authenticate gets `NOAUTH`.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    /// What it was started with, to start it again on the same port.
    args: Vec<OsString>,
    port: u16,
    tls: Option<Tls>,
    admin_password: Option<String>,
    dir: tempfile::TempDir,
}

pub(crate) struct Tls {
    pub(crate) port: u16,
    pub(crate) ca_file: PathBuf,
}

/// A reply of the Redis protocol (RESP2), as [`RedisServer::admin`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Vec<Reply>),
}

impl Reply {
    /// The text of a status or bulk reply.
    pub fn text(&self) -> Option<&str> {
        match self {
            Reply::Status(s) | Reply::Bulk(Some(s)) => Some(s),
            _ => None,
        }
    }
}

pub(crate) fn free_port() -> u16 {
    // Bind-then-release: the kernel picks a free port; the race with other
    // processes in between is negligible on a test machine.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn spawn(args: &[OsString]) -> std::io::Result<Child> {
    Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::try_start().unwrap_or_else(|| {
            panic!(
                "cannot start redis-server: install it with \
                 `apt-get install -y redis-server` (scripts/test does)"
            )
        })
    }

    /// As [`RedisServer::start`], or `None` when `redis-server` is not installed: for
    /// benchmarks, which report the row as missing rather than fail.
    pub fn try_start() -> Option<RedisServer> {
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        RedisServer::launch(dir, free_port(), Vec::new(), None, None)
    }

    /// `redis-server` on `port` in `dir`, persistence off, with `extra` arguments;
    /// `None` when it is not installed. Returns once it answers `PING`.
    pub(crate) fn launch(
        dir: tempfile::TempDir,
        port: u16,
        extra: Vec<OsString>,
        tls: Option<Tls>,
        admin_password: Option<String>,
    ) -> Option<RedisServer> {
        let port_text = port.to_string();
        let mut args: Vec<OsString> = ["--port", &port_text, "--bind", "127.0.0.1"]
            .into_iter()
            .chain(["--save", "", "--appendonly", "no", "--dir"])
            .map(OsString::from)
            .collect();
        args.push(dir.path().into());
        args.extend(extra);
        if let Some(pw) = &admin_password {
            args.extend(["--requirepass".into(), pw.into()]);
        }
        let child = spawn(&args).ok()?;
        let mut server = RedisServer {
            child,
            args,
            port,
            tls,
            admin_password,
            dir,
        };
        server.wait_for_ping();
        Some(server)
    }

    /// A server as Azure's: TLS on [`Self::tls_port`] with a certificate for
    /// `127.0.0.1` and `localhost` from a fresh test CA ([`Self::ca_file`]); the plain
    /// port for [`Self::admin`] only, its `default` user behind a password.
    #[cfg(feature = "tls")]
    pub fn start_tls() -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        let pki = crate::tls::TestPki::new(&["localhost", "127.0.0.1"]);
        let (tls, args) = Tls::files(dir.path(), &pki);
        let admin_password = format!("admin-{}", std::process::id());
        RedisServer::launch(dir, free_port(), args, Some(tls), Some(admin_password)).unwrap_or_else(
            || panic!("cannot start redis-server: `apt-get install -y redis-server`"),
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The TLS port (`start_tls`).
    pub fn tls_port(&self) -> u16 {
        self.tls.as_ref().expect("a server from start_tls").port
    }

    /// `rediss://127.0.0.1:{tls_port}` (`start_tls`).
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.tls_port())
    }

    /// The PEM file of the CA the TLS certificate comes from (`start_tls`).
    pub fn ca_file(&self) -> PathBuf {
        self.tls
            .as_ref()
            .expect("a server from start_tls")
            .ca_file
            .clone()
    }

    /// The server's scratch directory (for the test's own files).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Runs one command on a new plain connection (as `default`, authenticated when the
    /// server has a password) and returns its reply. Blocking; for test setup and
    /// checks (`ACL SETUSER`, `CLIENT KILL`, `INFO commandstats`).
    pub fn admin(&self, args: &[&str]) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("redis admin connection");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        if let Some(pw) = &self.admin_password {
            s.write_all(&encode(&["AUTH", pw])).unwrap();
            let r = read_reply(&mut reader).expect("AUTH reply");
            assert_eq!(r, Reply::Status("OK".into()), "admin AUTH");
        }
        s.write_all(&encode(args)).unwrap();
        read_reply(&mut reader).expect("a reply")
    }

    /// `INFO commandstats`' `calls` of `command` (e.g. `auth`), 0 if never called.
    pub fn command_calls(&self, command: &str) -> u64 {
        let info = self.admin(&["INFO", "commandstats"]);
        let text = info.text().unwrap_or_default().to_string();
        let prefix = format!("cmdstat_{command}:calls=");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Kills the server now: what uses it must then fail, not panic or hang.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again after [`Self::kill`] (or kills it first), on the same port and
    /// with the same settings, empty (persistence is off): a restarted node. Returns
    /// once it answers `PING`.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.args).expect("redis-server starts again");
        self.wait_for_ping();
    }

    fn wait_for_ping(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("redis-server status") {
                panic!("redis-server exited at startup: {status}");
            }
            if self.ping() {
                return;
            }
            // Polling a child process's readiness; no test outcome depends on this pause.
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut out = Vec::new();
        if let Some(pw) = &self.admin_password {
            out.extend(encode(&["AUTH", pw]));
        }
        out.extend(encode(&["PING"]));
        let Ok(clone) = s.try_clone() else {
            return false;
        };
        let mut reader = BufReader::new(clone);
        if s.write_all(&out).is_err() {
            return false;
        }
        if self.admin_password.is_some()
            && read_reply(&mut reader).ok() != Some(Reply::Status("OK".into()))
        {
            return false;
        }
        read_reply(&mut reader).ok() == Some(Reply::Status("PONG".into()))
    }
}

#[cfg(feature = "tls")]
impl Tls {
    /// `pki`'s files in `dir`, and the arguments that make a server listen with them on
    /// a TLS port of its own (client certificates not asked for).
    pub(crate) fn files(dir: &std::path::Path, pki: &crate::tls::TestPki) -> (Tls, Vec<OsString>) {
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write a PEM file");
            path
        };
        let ca_file = write("ca.pem", &pki.ca_pem);
        let cert = write("server.pem", &pki.cert_pem);
        let key = write("server.key", &pki.key_pem);
        let port = free_port();
        let args = [
            "--tls-port".into(),
            port.to_string().into(),
            "--tls-cert-file".into(),
            cert.into(),
            "--tls-key-file".into(),
            key.into(),
            "--tls-ca-cert-file".into(),
            ca_file.clone().into(),
            "--tls-auth-clients".into(),
            "no".into(),
        ];
        (Tls { port, ca_file }, Vec::from(args))
    }
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).into_bytes());
        out.extend(a.as_bytes());
        out.extend(b"\r\n");
    }
    out
}

fn read_reply(r: &mut impl BufRead) -> std::io::Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at(1.min(line.len()));
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad RESP");
    Ok(match kind {
        "+" => Reply::Status(rest.into()),
        "-" => Reply::Error(rest.into()),
        ":" => Reply::Int(rest.parse().map_err(|_| bad())?),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Reply::Bulk(None)
            } else {
                let mut buf = vec![0u8; n as usize + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                Reply::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            let mut items = Vec::new();
            for _ in 0..n.max(0) {
                items.push(read_reply(r)?);
            }
            Reply::Array(items)
        }
        _ => return Err(bad()),
    })
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
