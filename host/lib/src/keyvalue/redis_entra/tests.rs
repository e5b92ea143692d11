//! The credential schedule on tokio's paused clock: no test waits for real time.

use super::*;
use std::sync::Mutex as StdMutex;

/// A JWT-shaped token for `oid` (unsigned: only the payload is read).
fn jwt(oid: &str, n: u32) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"oid":"{oid}","n":{n}}}"#));
    format!("eyJhbGciOiJub25lIn0.{payload}.sig{n}")
}

/// Tokens `jwt("oid-1", n)` with `life` each; a cached one (the last) unless `fresh`
/// or `always_new`. Records every call's `fresh`.
struct Fake {
    life: Duration,
    always_new: bool,
    calls: StdMutex<Vec<bool>>,
    issued: AtomicU64,
}

impl Fake {
    fn new(life: Duration, always_new: bool) -> Arc<Self> {
        Arc::new(Fake {
            life,
            always_new,
            calls: StdMutex::new(Vec::new()),
            issued: AtomicU64::new(0),
        })
    }

    fn calls(&self) -> Vec<bool> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl RedisTokenProvider for Fake {
    async fn redis_token(&self, fresh: bool) -> Result<RedisToken, String> {
        self.calls.lock().unwrap().push(fresh);
        let issued = self.issued.load(Ordering::SeqCst);
        let n = if fresh || self.always_new || issued == 0 {
            self.issued.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            issued
        };
        Ok(RedisToken {
            token: jwt("oid-1", n as u32),
            expires_in: self.life,
        })
    }
}

#[test]
fn the_user_is_the_tokens_oid() {
    assert_eq!(object_id(&jwt("1f2e-oid", 1)).unwrap(), "1f2e-oid");
    let no_oid = format!("a.{}.c", URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#));
    assert!(object_id(&no_oid).unwrap_err().contains("oid"));
    assert!(object_id("opaque-token").is_err());
    let e = object_id("a.!!!.c").unwrap_err();
    assert!(!e.contains("!!!"), "errors do not echo the token: {e}");
}

#[test]
fn refresh_comes_at_least_three_minutes_before_expiry_with_jitter() {
    let hour = Duration::from_secs(3600);
    for unit in [0.0, 0.3, 0.999] {
        let at = refresh_delay(hour, unit);
        assert!(hour - at >= REAUTH_BEFORE + FETCH_ALLOWANCE, "{at:?}");
        assert!(
            hour - at <= REAUTH_BEFORE + FETCH_ALLOWANCE + JITTER,
            "{at:?}"
        );
    }
    assert_ne!(
        refresh_delay(hour, 0.0),
        refresh_delay(hour, 0.9),
        "jittered"
    );
    // Too short-lived for the margin: 40–50 % of its life.
    let short = Duration::from_secs(10);
    assert_eq!(refresh_delay(short, 0.0), Duration::from_secs(5));
    assert_eq!(refresh_delay(short, 1.0), Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn live_connections_get_the_next_token_before_the_current_one_expires() {
    let life = Duration::from_secs(3600);
    let fake = Fake::new(life, true);
    let creds = EntraCredentials::new(fake.clone());
    let _refresher = creds.spawn_refresher();
    let start = Instant::now();
    let mut connection = creds.subscribe();
    let first = connection.next().await.unwrap().unwrap();
    assert_eq!(first.username(), "oid-1");
    assert_eq!(first.password(), jwt("oid-1", 1));
    // The paused clock jumps to the refresher's deadline; nothing sleeps for real.
    let second = connection.next().await.unwrap().unwrap();
    let at = start.elapsed();
    assert_eq!(second.password(), jwt("oid-1", 2));
    assert!(
        life - at >= REAUTH_BEFORE + FETCH_ALLOWANCE,
        "re-AUTH at {at:?}"
    );
    assert!(
        life - at <= REAUTH_BEFORE + FETCH_ALLOWANCE + JITTER,
        "re-AUTH at {at:?}"
    );
    // And the next one before that one expires, measured from its arrival.
    let third = connection.next().await.unwrap().unwrap();
    assert_eq!(third.password(), jwt("oid-1", 3));
    assert!(2 * life - start.elapsed() > REAUTH_BEFORE + FETCH_ALLOWANCE);
    assert_eq!(fake.calls(), [false, false, false]);
}

#[tokio::test(start_paused = true)]
async fn a_cached_answer_at_refresh_time_is_refetched_fresh() {
    let fake = Fake::new(Duration::from_secs(3600), false);
    let creds = EntraCredentials::new(fake.clone());
    let _refresher = creds.spawn_refresher();
    let mut connection = creds.subscribe();
    let first = connection.next().await.unwrap().unwrap();
    let second = connection.next().await.unwrap().unwrap();
    assert_ne!(first.password(), second.password());
    assert_eq!(fake.calls(), [false, false, true]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_credential_makes_the_next_connection_fetch_a_fresh_token() {
    let fake = Fake::new(Duration::from_secs(3600), false);
    let creds = EntraCredentials::new(fake.clone());
    let a = creds.subscribe().next().await.unwrap().unwrap();
    let b = creds.subscribe().next().await.unwrap().unwrap();
    assert_eq!(
        a.password(),
        b.password(),
        "connections share the credential"
    );
    assert_eq!(fake.calls(), [false]);
    creds.reject();
    let c = creds.subscribe().next().await.unwrap().unwrap();
    assert_ne!(c.password(), a.password());
    assert_eq!(fake.calls(), [false, true]);
    // A second refusal right away does not force another fetch: the cached token is
    // the newest, so the connection fails instead of hammering the token endpoint.
    creds.reject();
    let e = creds.subscribe().next().await.unwrap().unwrap_err();
    assert!(e.to_string().contains("no newer one"), "{e}");
    assert!(!e.to_string().contains(c.password()));
    tokio::time::advance(MIN_FORCED_INTERVAL).await;
    let d = creds.subscribe().next().await.unwrap().unwrap();
    assert_ne!(d.password(), c.password());
}

#[tokio::test(start_paused = true)]
async fn an_expired_credential_is_not_used_to_reconnect() {
    let fake = Fake::new(Duration::from_secs(60), false);
    let creds = EntraCredentials::new(fake.clone());
    let a = creds.subscribe().next().await.unwrap().unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    let b = creds.subscribe().next().await.unwrap().unwrap();
    assert_ne!(a.password(), b.password());
    assert_eq!(fake.calls(), [false, true]);
}

#[test]
fn debug_never_shows_a_token() {
    let token = RedisToken {
        token: jwt("oid-1", 7),
        expires_in: Duration::from_secs(1),
    };
    assert!(!format!("{token:?}").contains("sig7"));
    let creds = EntraCredentials::new(Fake::new(Duration::from_secs(1), true));
    assert!(!format!("{creds:?}").contains("oid"));
    let config = crate::keyvalue::RedisConfig::new("rediss://u:hunter2@h:6380")
        .with_auth(crate::keyvalue::RedisAuth::Entra);
    assert!(!format!("{config:?}").contains("hunter2"));
}
