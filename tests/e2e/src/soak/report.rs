//! What the soak saw: outcomes by kind, upstream requests against their bound, the
//! invariants, latency and resident memory.

use super::client::{Answer, Tally};
use super::{Bound, Shared, lock};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_emulator::{Emulator, Endpoint};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a correct answer holds.
#[derive(Clone)]
pub(super) struct Expected {
    pub(super) secret: String,
    /// The system-assigned identity's: every token Key Vault sees is for it.
    pub(super) object_id: String,
}

/// An answer's kind. Those for which [`Outcome::is_violation`] holds must never happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// `200` with the right body (the secret; the caller's identity).
    Ok,
    /// A forged caller refused with `401`.
    Refused,
    /// `502` from the Key Vault app: no token could be had (the app says why).
    NoToken,
    /// `503` from the server: at its concurrency cap.
    Overloaded,
    /// `503 temporarily_unavailable` from the API app: it could not get its signing keys.
    KeysUnavailable,
    /// The connection broke before an answer.
    Broken,
    /// No answer within two minutes.
    TimedOut,
    /// `200` with another secret, or for another caller. Never.
    WrongAnswer,
    /// Key Vault refused the token the app sent (a wrong or expired token). Never.
    TokenRefused,
    /// A forged token accepted. Never.
    ForgedAccepted,
    /// A valid caller refused with a `4xx`. Never.
    ValidRefused,
    /// `500`: the app trapped (a panic in the guest) or failed. Never.
    AppFailed,
    /// Any other status. Never.
    Unexpected,
}

impl Outcome {
    pub fn is_violation(self) -> bool {
        self >= Outcome::WrongAnswer
    }

    pub(super) fn of_secret(answer: Answer, expected: &Expected) -> Outcome {
        match answer {
            Answer::Response { status: 200, body } if body == expected.secret => Outcome::Ok,
            Answer::Response { status: 200, .. } => Outcome::WrongAnswer,
            Answer::Response { status: 502, body } if body.contains("Key Vault answered 40") => {
                Outcome::TokenRefused
            }
            Answer::Response { status: 502, .. } => Outcome::NoToken,
            other => Outcome::common(other),
        }
    }

    pub(super) fn of_valid_caller(answer: Answer, expected: &Expected) -> Outcome {
        match answer {
            Answer::Response { status: 200, body } if body.contains(&expected.object_id) => {
                Outcome::Ok
            }
            Answer::Response { status: 200, .. } => Outcome::WrongAnswer,
            Answer::Response {
                status: 400..=499, ..
            } => Outcome::ValidRefused,
            Answer::Response { status: 503, body } if body.contains("temporarily_unavailable") => {
                Outcome::KeysUnavailable
            }
            other => Outcome::common(other),
        }
    }

    pub(super) fn of_forged_caller(answer: Answer) -> Outcome {
        match answer {
            Answer::Response { status: 401, .. } => Outcome::Refused,
            Answer::Response { status: 200, .. } => Outcome::ForgedAccepted,
            other => Outcome::common(other),
        }
    }

    fn common(answer: Answer) -> Outcome {
        match answer {
            Answer::Response { status: 503, .. } => Outcome::Overloaded,
            Answer::Response { status: 500, .. } => Outcome::AppFailed,
            Answer::Response { .. } => Outcome::Unexpected,
            Answer::Broken => Outcome::Broken,
            Answer::TimedOut => Outcome::TimedOut,
        }
    }
}

/// One phase: its requests, upstream traffic and broken invariants.
pub struct PhaseReport {
    pub name: &'static str,
    /// Since the run started, at the phase's end.
    pub ended_at: Duration,
    pub requests: u64,
    pub outcomes: Vec<(Outcome, u64)>,
    /// Managed-identity token requests the emulator received.
    pub token_requests: usize,
    /// Discovery documents and key sets it served.
    pub key_fetches: usize,
    pub bound: Bound,
    pub violations: Vec<String>,
}

impl PhaseReport {
    /// Reads the emulator's recordings of the phase (before they are reset) and checks
    /// them: every token Key Vault received is the system-assigned identity's, for Key
    /// Vault; upstream requests stay within the bound.
    pub(super) fn close(
        name: &'static str,
        ended_at: Duration,
        during: Tally,
        emulator: &Emulator,
        expected: &Expected,
        bound: impl FnOnce(&Tally) -> Bound,
    ) -> PhaseReport {
        let bound = bound(&during);
        let token_requests = emulator.count(Endpoint::Imds);
        let key_fetches =
            emulator.count(Endpoint::OpenIdConfiguration) + emulator.count(Endpoint::Jwks);
        let mut violations = Vec::new();
        for request in emulator.requests(Endpoint::KeyVault) {
            let bearer = (request.headers.iter())
                .find(|(name, _)| name == "authorization")
                .and_then(|(_, value)| value.strip_prefix("Bearer "));
            if let Err(why) = bearer.map_or(Err("no token".into()), |t| check(t, expected)) {
                violations.push(format!("{name}: Key Vault received a wrong token: {why}"));
            }
        }
        if token_requests > bound.tokens {
            violations.push(format!(
                "{name}: {token_requests} token requests, over the bound of {}",
                bound.tokens
            ));
        }
        if key_fetches > bound.keys {
            violations.push(format!(
                "{name}: {key_fetches} key fetches, over the bound of {}",
                bound.keys
            ));
        }
        let mut outcomes: Vec<(Outcome, u64)> = Vec::new();
        for ((route, outcome), n) in &during.outcomes {
            if outcome.is_violation() {
                violations.push(format!("{name}: {n} × {outcome:?} on {route:?}"));
            }
            match outcomes.iter_mut().find(|(o, _)| o == outcome) {
                Some((_, total)) => *total += n,
                None => outcomes.push((*outcome, *n)),
            }
        }
        outcomes.sort();
        PhaseReport {
            name,
            ended_at,
            requests: during.outcomes.values().sum(),
            outcomes,
            token_requests,
            key_fetches,
            bound,
            violations,
        }
    }
}

/// A Key Vault token's audience and subject, from its payload (Key Vault, the
/// emulator's, has checked the signature).
fn check(token: &str, expected: &Expected) -> Result<(), String> {
    let payload = token.split('.').nth(1).ok_or("not a JWS")?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|e| e.to_string())?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let audience = claims["aud"].as_str().unwrap_or_default();
    if !audience.trim_end_matches('/').ends_with("vault.azure.net") {
        return Err(format!("audience {audience:?}"));
    }
    if claims["oid"] != expected.object_id.as_str() {
        return Err(format!("object id {}", claims["oid"]));
    }
    Ok(())
}

/// The whole run.
pub struct Report {
    pub phases: Vec<PhaseReport>,
    pub totals: Tally,
    /// A request once the faults were over.
    pub after: Outcome,
    /// Resident memory of the process (emulator, servers and clients), sampled.
    pub rss: Vec<(Duration, u64)>,
}

impl Report {
    pub(super) fn new(
        phases: Vec<PhaseReport>,
        totals: Tally,
        after: Outcome,
        rss: Vec<(Duration, u64)>,
    ) -> Report {
        Report {
            phases,
            totals,
            after,
            rss,
        }
    }

    /// Every broken invariant; empty when the run was clean.
    pub fn violations(&self) -> Vec<String> {
        let mut all: Vec<String> = (self.phases.iter())
            .flat_map(|p| p.violations.iter().cloned())
            .collect();
        if self.after != Outcome::Ok {
            all.push(format!("after the faults: {:?}", self.after));
        }
        all
    }

    /// Requests sent in all.
    pub fn requests(&self) -> u64 {
        self.totals.outcomes.values().sum()
    }

    /// The report as Markdown tables, for BENCHMARKS.md.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| phase | ends at | requests | outcomes | MI token requests (bound) | key fetches (bound) |\n|---|---|---|---|---|---|"
        );
        for p in &self.phases {
            let outcomes: Vec<String> = (p.outcomes.iter())
                .map(|(o, n)| format!("{o:?} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {:.0} s | {} | {} | {} ({}) | {} ({}) |",
                p.name,
                p.ended_at.as_secs_f64(),
                p.requests,
                outcomes.join(", "),
                p.token_requests,
                p.bound.tokens,
                p.key_fetches,
                p.bound.keys,
            );
        }
        let _ = writeln!(
            out,
            "\n| route | requests | p50 | p99 | max |\n|---|---|---|---|---|"
        );
        for (route, h) in &self.totals.latency {
            let ms = |us: u64| format!("{:.2} ms", us as f64 / 1000.0);
            let _ = writeln!(
                out,
                "| {route:?} | {} | {} | {} | {} |",
                self.totals.requests(*route),
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                ms(h.max()),
            );
        }
        let _ = writeln!(out, "\n| time | RSS |\n|---|---|");
        for (at, bytes) in &self.rss {
            let _ = writeln!(
                out,
                "| {:.0} s | {:.1} MiB |",
                at.as_secs_f64(),
                *bytes as f64 / (1 << 20) as f64
            );
        }
        out
    }
}

/// Samples the process's resident memory in the background.
pub(super) struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(Duration, u64)>>,
}

impl RssSampler {
    pub(super) fn start(every: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples: Shared<Vec<(Duration, u64)>> = Shared::default();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let started = Instant::now();
                let mut tick = tokio::time::interval(every);
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    if let Some(rss) = resident_bytes() {
                        lock(&samples).push((started.elapsed(), rss));
                    }
                }
                std::mem::take(&mut *lock(&samples))
            }
        });
        RssSampler { stop, task }
    }

    pub(super) async fn stop(self) -> Vec<(Duration, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

/// `VmRSS` of this process, where `/proc` has it.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
