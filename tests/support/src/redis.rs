//! A private `redis-server` on a free loopback port, in a temp dir, persistence off,
//! killed on drop. A missing `redis-server` fails the test loudly, never skips it:
//! `scripts/test` installs it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
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
        // Bind-then-release: the kernel picks a free port; the race with other
        // processes in between is negligible on a test machine.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        server.wait_for_ping();
        Some(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server now: what uses it must then fail, not panic or hang.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_for_ping(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("redis-server status") {
                panic!("redis-server exited at startup: {status}");
            }
            if ping(self.port) {
                return;
            }
            // Polling a child process's readiness; no test outcome depends on this pause.
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut pong = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok()
        && s.shutdown(Shutdown::Write).is_ok()
        && s.read_exact(&mut pong).is_ok()
        && &pong == b"+PONG\r\n"
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
