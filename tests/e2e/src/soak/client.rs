//! The clients: tasks sending requests back to back over loopback, each answer sorted
//! into an [`Outcome`], counted per route, its latency kept in a histogram.

use super::report::{Expected, Outcome};
use super::{Shared, lock};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

/// Longer than any answer the apps give under the faults (a fetch's retries included);
/// past it the request counts as [`Outcome::TimedOut`].
const ANSWER_WITHIN: Duration = Duration::from_secs(120);

/// What a client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    /// `spin-call-azure`'s `GET /secrets/{name}`.
    KeyVault,
    /// `spin-protected-api` with a valid token.
    ValidCaller,
    /// `spin-protected-api` with that token tampered with (its signature no longer
    /// matches; its key id is a known one, so no key refresh is due).
    ForgedCaller,
}

const ROUTES: [Route; 3] = [Route::KeyVault, Route::ValidCaller, Route::ForgedCaller];

/// Counts and latencies of some stretch of the run.
#[derive(Clone, Default)]
pub struct Tally {
    pub outcomes: BTreeMap<(Route, Outcome), u64>,
    /// Microseconds from connect to the last byte; only kept by the totals.
    pub latency: BTreeMap<Route, Histogram<u64>>,
}

impl Tally {
    fn record(&mut self, route: Route, outcome: Outcome, took: Duration) {
        *self.outcomes.entry((route, outcome)).or_default() += 1;
        let histogram = self.latency.entry(route).or_insert_with(|| {
            Histogram::new_with_bounds(1, ANSWER_WITHIN.as_micros() as u64, 3)
                .expect("valid histogram bounds")
        });
        histogram.saturating_record(took.as_micros() as u64);
    }

    /// Requests sent on `route`.
    pub fn requests(&self, route: Route) -> u64 {
        (self.outcomes.iter())
            .filter(|((r, _), _)| *r == route)
            .map(|(_, n)| n)
            .sum()
    }

    /// Counts only: what happened between `earlier` and this one.
    pub fn since(&self, earlier: &Tally) -> Tally {
        let outcomes = (self.outcomes.iter())
            .map(|(k, n)| (*k, n - earlier.outcomes.get(k).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Tally {
            outcomes,
            latency: BTreeMap::new(),
        }
    }

    fn counts(&self) -> Tally {
        Tally {
            outcomes: self.outcomes.clone(),
            latency: BTreeMap::new(),
        }
    }
}

/// The running clients.
pub struct Clients {
    tally: Shared<Tally>,
    api_token: Shared<Arc<Tokens>>,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

/// The caller tokens in use: a valid one and its forgery.
struct Tokens {
    valid: String,
    forged: String,
}

impl Tokens {
    fn new(valid: String) -> Tokens {
        let forged = forge(&valid);
        Tokens { valid, forged }
    }
}

impl Clients {
    pub fn start(
        count: usize,
        key_vault_app: SocketAddr,
        api_app: SocketAddr,
        secret_name: &str,
        api_token: String,
        expected: &Expected,
    ) -> Clients {
        let tally: Shared<Tally> = Shared::default();
        let api_token = Arc::new(std::sync::Mutex::new(Arc::new(Tokens::new(api_token))));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for client in 0..count {
            let (tally, api_token, stop) = (tally.clone(), api_token.clone(), stop.clone());
            let expected = expected.clone();
            let secret_path = format!("/secrets/{secret_name}");
            tasks.spawn(async move {
                // Clients start on different routes, so every route is busy at once.
                for turn in client.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let route = ROUTES[turn % ROUTES.len()];
                    let tokens = lock(&api_token).clone();
                    let started = Instant::now();
                    let outcome = match route {
                        Route::KeyVault => {
                            let answer = get(key_vault_app, &secret_path, None).await;
                            Outcome::of_secret(answer, &expected)
                        }
                        Route::ValidCaller => {
                            let answer = get(api_app, "/", Some(&tokens.valid)).await;
                            Outcome::of_valid_caller(answer, &expected)
                        }
                        Route::ForgedCaller => {
                            let answer = get(api_app, "/", Some(&tokens.forged)).await;
                            Outcome::of_forged_caller(answer)
                        }
                    };
                    lock(&tally).record(route, outcome, started.elapsed());
                }
            });
        }
        Clients {
            tally,
            api_token,
            stop,
            tasks,
        }
    }

    /// Callers present `token` (and its forgery) from now on.
    pub fn set_api_token(&self, token: String) {
        *lock(&self.api_token) = Arc::new(Tokens::new(token));
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Tally {
        lock(&self.tally).counts()
    }

    /// Stops the clients after their current request; the whole run's tally.
    pub async fn stop(mut self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        std::mem::take(&mut *lock(&self.tally))
    }
}

/// One request to the Key Vault app once the faults are over: the server still serves.
pub async fn health_check(addr: SocketAddr, secret_name: &str, expected: &Expected) -> Outcome {
    let answer = get(addr, &format!("/secrets/{secret_name}"), None).await;
    Outcome::of_secret(answer, expected)
}

/// What came back.
pub enum Answer {
    Response {
        status: u16,
        body: String,
    },
    /// Refused, reset, or closed before a status line.
    Broken,
    TimedOut,
}

/// One HTTP/1.1 GET on a new connection, closed after it.
async fn get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> Answer {
    let auth = bearer
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}connection: close\r\n\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        std::io::Result::Ok(raw)
    };
    let raw = match tokio::time::timeout(ANSWER_WITHIN, exchange).await {
        Err(_) => return Answer::TimedOut,
        Ok(Err(_)) => return Answer::Broken,
        Ok(Ok(raw)) => String::from_utf8_lossy(&raw).into_owned(),
    };
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let Some(status) = head.split(' ').nth(1).and_then(|s| s.parse().ok()) else {
        return Answer::Broken;
    };
    let chunked = (head.to_ascii_lowercase()).contains("transfer-encoding: chunked");
    Answer::Response {
        status,
        body: if chunked { unchunk(body) } else { body.into() },
    }
}

/// The data of a chunked body.
fn unchunk(mut body: &str) -> String {
    let mut data = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        data.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    data
}

/// `token` with one claim changed and its signature kept: a forgery a validator must
/// refuse on the signature alone.
fn forge(token: &str) -> String {
    let mut parts = token.splitn(3, '.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("the emulator minted a token that is not a JWS");
    };
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
            .expect("a JSON payload");
    claims["oid"] = serde_json::Value::String("00000000-0000-4000-8000-0000000f0e9d".into());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{signature}")
}
