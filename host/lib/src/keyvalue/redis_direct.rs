//! `GET`s on connections the calling task drives itself.
//!
//! redis-rs runs an async connection's I/O on a driver task: a command is a message to
//! that task and its answer a wake-up back, and on a multi-threaded runtime both can
//! cross threads. On the CI machines those hops cost more than the round trip to Redis
//! (BENCHMARKS.md, section 2), and a fresh instance answered from the shared cache
//! makes exactly one `GET`. So the backend keeps a few connections of its own, each
//! with its driver future unspawned: a `GET` takes one, polls the command and the
//! driver together in the caller's task, and puts both back once the answer is in.
//!
//! - A `GET` dropped midway (cancelled, timed out) drops its connection with it, so no
//!   connection is ever reused with an answer outstanding.
//! - A reused connection found closed (the server restarted or dropped an idle client,
//!   an Entra token expired while it sat idle) is discarded and the `GET` is tried once
//!   on a new one: a `GET` changes nothing, so trying again is safe.
//! - At most [`MAX_CONNECTIONS`] are open; past that a `GET` answers `None` and the
//!   backend sends it through its shared connection. Writes and scripts always go
//!   there.

use crate::outbound;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, RedisError, RedisResult};
use rustls::pki_types::ServerName;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Connections a backend opens for `GET`s, busy and idle together.
pub(super) const MAX_CONNECTIONS: usize = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

type Driver = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One connection and the future that does its I/O.
struct Direct {
    conn: MultiplexedConnection,
    driver: Driver,
    _slot: Slot,
}

/// Counts an open connection until it is dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The backend's own connections for `GET`s.
pub(super) struct DirectGets {
    info: ConnectionInfo,
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Response timeout; the Entra credentials when the backend uses them.
    config: AsyncConnectionConfig,
    idle: Mutex<Vec<Direct>>,
    open: Arc<AtomicUsize>,
}

impl DirectGets {
    /// For `info`'s address, with `tls` (rustls, the same trust as the backend's
    /// shared connection) for `rediss://`. `None` for addresses this does not open:
    /// Unix sockets, and TLS that skips verification.
    pub(super) fn new(
        info: ConnectionInfo,
        tls: Option<Arc<rustls::ClientConfig>>,
        config: AsyncConnectionConfig,
    ) -> Option<Self> {
        let (host, port, tls) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (host.clone(), *port, None),
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure: false,
                ..
            } => {
                let name = ServerName::try_from(host.clone()).ok()?;
                (host.clone(), *port, Some((TlsConnector::from(tls?), name)))
            }
            _ => return None,
        };
        Some(Self {
            info,
            host,
            port,
            tls,
            config,
            idle: Mutex::default(),
            open: Arc::default(),
        })
    }

    /// `GET key`, or `None` when every connection is busy.
    pub(super) async fn get(&self, key: &str) -> Option<RedisResult<Option<Vec<u8>>>> {
        let mut reused = self.take();
        let mut slot = match reused {
            Some(_) => None,
            None => Some(self.reserve()?),
        };
        loop {
            let retry = reused.is_some();
            let mut direct = match reused.take() {
                Some(direct) => direct,
                None => {
                    // The slot of a connection found dead was freed with it.
                    let slot = match slot.take() {
                        Some(slot) => slot,
                        None => self.reserve()?,
                    };
                    match self.connect(slot).await {
                        Ok(direct) => direct,
                        Err(e) => return Some(Err(e)),
                    }
                }
            };
            match direct.get(key).await {
                Ok(value) => {
                    self.put_back(direct);
                    return Some(Ok(value));
                }
                Err(e) if retry && e.is_connection_dropped() => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Closes the idle connections (the server turned out to be a cluster, where
    /// `GET`s follow the slot map instead).
    pub(super) fn close_idle(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn take(&self) -> Option<Direct> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn put_back(&self, direct: Direct) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(direct);
    }

    /// Room for one more connection, if there is any.
    fn reserve(&self) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < MAX_CONNECTIONS).then_some(open + 1)
            })
            .ok()?;
        Some(Slot(self.open.clone()))
    }

    async fn connect(&self, slot: Slot) -> RedisResult<Direct> {
        let opening = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port)).await?;
            tcp.set_nodelay(true)?;
            let settings = self.info.redis_settings();
            let config = self.config.clone();
            Ok::<_, RedisError>(match &self.tls {
                None => {
                    let (conn, driver) =
                        MultiplexedConnection::new_with_config(settings, tcp, config).await?;
                    (conn, Box::pin(driver) as Driver)
                }
                Some((connector, name)) => {
                    let tls = connector.connect(name.clone(), tcp).await?;
                    let (conn, driver) =
                        MultiplexedConnection::new_with_config(settings, tls, config).await?;
                    (conn, Box::pin(driver) as Driver)
                }
            })
        };
        let (conn, driver) = tokio::time::timeout(CONNECT_TIMEOUT, opening)
            .await
            .map_err(|_| {
                RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connecting to Redis took too long",
                ))
            })??;
        Ok(Direct {
            conn,
            driver,
            _slot: slot,
        })
    }
}

/// The TLS client configuration of `rediss://`, as redis-rs builds it for the shared
/// connection: the certificates of `ca_pem` alone when given, else the web PKI roots.
pub(super) fn tls_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    match ca_pem {
        Some(pem) => Ok(Arc::new(outbound::with_roots(outbound::roots_from_pem(
            pem,
        )?))),
        None => Ok(outbound::web_pki()),
    }
}

impl Direct {
    /// The command and the connection's I/O, polled together in this task.
    async fn get(&mut self, key: &str) -> RedisResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        let command = pin!(async move { redis::cmd("GET").arg(key).query_async(&mut conn).await });
        match futures::future::select(command, self.driver.as_mut()).await {
            futures::future::Either::Left((answer, _)) => answer,
            futures::future::Either::Right(((), _)) => Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the connection closed",
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
