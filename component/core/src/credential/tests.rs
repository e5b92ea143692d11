use super::*;
use crate::cache::MemoryStore;
use crate::managed_identity::{self, ManagedIdentityOptions, UserAssignedId};
use crate::testing::*;
use std::collections::HashMap;

const T0: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

struct Harness {
    time: FakeTime,
    transport: FakeTransport,
    credential: Credential,
}

fn harness_with(options: ManagedIdentityOptions, vars: &[(&str, &str)]) -> Harness {
    let time = FakeTime::at(T0);
    let transport = FakeTransport::new(&time);
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let flow = managed_identity::flow(options, &move |k: &str| vars.get(k).cloned()).unwrap();
    let platform = FakePlatform::new(&time);
    let store: SharedStore = Rc::new(RefCell::new(MemoryStore::default()));
    let credential = Credential::new(flow, Box::new(transport.clone()), Box::new(platform), store);
    Harness {
        time,
        transport,
        credential,
    }
}

fn imds() -> Harness {
    harness_with(ManagedIdentityOptions::default(), &[])
}

fn vault() -> TokenRequest {
    TokenRequest::new(&["https://vault.azure.net/.default"])
}

impl Harness {
    fn get(&self) -> Result<AccessToken, Error> {
        self.credential.get_token(&vault())
    }
    fn serve_token(&self, token: &str, lifetime: u64) {
        self.transport
            .then(token_body(token, self.time.now(), lifetime));
    }
}

#[test]
fn a_fresh_token_comes_from_the_cache() {
    let h = imds();
    h.serve_token("one", DAY);
    let first = h.get().unwrap();
    h.time.advance(Duration::from_secs(3600));
    let second = h.get().unwrap();
    assert_eq!((first.secret(), second.secret()), ("one", "one"));
    assert_eq!(h.transport.count(), 1);
}

#[test]
fn a_token_within_five_minutes_of_expiry_is_never_served() {
    let h = imds();
    h.serve_token("short", 600);
    h.get().unwrap();
    h.time.advance(Duration::from_secs(299));
    assert_eq!(h.get().unwrap().secret(), "short");
    assert_eq!(h.transport.count(), 1);
    h.time.advance(Duration::from_secs(2)); // 301 s in: 299 s left
    h.serve_token("next", 600);
    assert_eq!(h.get().unwrap().secret(), "next");
    assert_eq!(h.transport.count(), 2);
}

#[test]
fn long_lived_tokens_refresh_at_half_life() {
    let h = imds();
    h.serve_token("day-one", DAY);
    let t = h.get().unwrap();
    assert!(
        t.refresh_on().abs_diff(T0 + DAY / 2) <= cache::REFRESH_JITTER,
        "{t:?}"
    );
    h.time
        .advance(Duration::from_secs(DAY / 2 - cache::REFRESH_JITTER - 1));
    assert_eq!(h.get().unwrap().secret(), "day-one");
    h.time
        .advance(Duration::from_secs(2 * cache::REFRESH_JITTER + 2));
    h.serve_token("day-two", DAY);
    assert_eq!(h.get().unwrap().secret(), "day-two");
    assert_eq!(h.transport.count(), 2);
}

#[test]
fn refresh_in_from_the_service_is_honoured() {
    let h = imds();
    h.transport.then(json(
        200,
        &format!(
            r#"{{"access_token":"a","expires_in":86400,"refresh_in":"3600","expires_on":"{}"}}"#,
            T0 + DAY
        ),
    ));
    assert_eq!(h.get().unwrap().refresh_on(), T0 + 3600);
    h.time.advance(Duration::from_secs(3600));
    h.serve_token("b", DAY);
    assert_eq!(h.get().unwrap().secret(), "b");
}

#[test]
fn a_failed_refresh_returns_the_old_token_and_waits_before_trying_again() {
    let h = imds();
    h.serve_token("old", DAY);
    h.get().unwrap();
    h.time
        .advance(Duration::from_secs(DAY / 2 + cache::REFRESH_JITTER + 1));
    h.transport.then(json(500, "boom"));
    assert_eq!(h.get().unwrap().secret(), "old");
    // One attempt only: the caller holds a valid token, so no backoff is slept.
    assert_eq!((h.transport.count(), h.time.sleeps().len()), (2, 0));
    // Within the next 30 s the old token is served without asking again.
    h.time
        .advance(Duration::from_secs(cache::REFRESH_RETRY_DELAY - 1));
    assert_eq!(h.get().unwrap().secret(), "old");
    assert_eq!(h.transport.count(), 2);
    h.time.advance(Duration::from_secs(1));
    h.serve_token("new", DAY);
    assert_eq!(h.get().unwrap().secret(), "new");
}

#[test]
fn force_refresh_and_claims_bypass_the_cache_and_replace_its_token() {
    let h = imds();
    h.serve_token("one", DAY);
    h.get().unwrap();
    h.serve_token("two", DAY);
    let forced = h.credential.get_token(&vault().force_refresh());
    assert_eq!(forced.unwrap().secret(), "two");
    h.serve_token("three", DAY);
    let claims = h
        .credential
        .get_token(&vault().claims(r#"{"access_token":{"nbf":{"essential":true}}}"#));
    assert_eq!(claims.unwrap().secret(), "three");
    // The claims answer replaced the token the resource refused: callers without
    // claims get it from now on, without asking again.
    assert_eq!(h.get().unwrap().secret(), "three");
    assert_eq!(h.transport.count(), 3);
}

#[test]
fn imds_410_is_retried_for_at_least_70_seconds() {
    let h = imds();
    h.transport.always(json(410, "IMDS is updating"));
    let err = h.get().unwrap_err();
    let sleeps = h.time.sleeps();
    let before_last_attempt: Duration = sleeps.iter().sum();
    assert!(before_last_attempt >= Duration::from_secs(70), "{sleeps:?}");
    assert!(before_last_attempt <= RetryPolicy::imds().max_elapsed);
    assert_eq!(h.transport.count(), sleeps.len() + 1);
    match err {
        Error::AuthenticationFailed(e) => {
            assert_eq!(e.status, 410);
            assert!(e.context.contains("gave up after"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_410_410_200_sequence_succeeds() {
    let h = imds();
    h.transport.then(json(410, "")).then(json(410, ""));
    h.serve_token("after-update", DAY);
    assert_eq!(h.get().unwrap().secret(), "after-update");
    assert_eq!(
        h.time.sleeps(),
        [Duration::from_secs(1), Duration::from_secs(2)]
    );
}

#[test]
fn retry_after_is_honoured_and_persistent_429_is_throttled() {
    let h = imds();
    let throttle = || {
        with_header(
            json(
                429,
                r#"{"error":"invalid_request","error_description":"Temporarily throttled, too many requests"}"#,
            ),
            "Retry-After",
            "7",
        )
    };
    h.transport.then(throttle());
    h.serve_token("t", DAY);
    h.get().unwrap();
    assert_eq!(h.time.sleeps(), [Duration::from_secs(7)]);

    let h = imds();
    h.transport
        .always(with_header(json(429, ""), "Retry-After", "3600"));
    match h.get() {
        Err(Error::Throttled {
            retry_after,
            message,
        }) => {
            assert_eq!(retry_after, 3600);
            assert!(message.contains("429"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.transport.count(),
        1,
        "a Retry-After beyond the budget is not waited for"
    );
}

#[test]
fn unknown_identity_is_an_authentication_failure_naming_it() {
    let h = harness_with(
        ManagedIdentityOptions::default()
            .user_assigned(UserAssignedId::ClientId("11111111-2222".into())),
        &[],
    );
    h.transport.then(json(
        400,
        r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
    ));
    match h.get() {
        Err(Error::AuthenticationFailed(e)) => {
            assert_eq!((e.status, e.code.as_str()), (400, "invalid_request"));
            assert!(e.context.contains("client id 11111111-2222"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.transport.count(), 1, "400 is not retried");
}

#[test]
fn transport_failures_are_typed() {
    let h = imds();
    h.transport.always(Err(TransportError::Timeout));
    assert!(matches!(h.get(), Err(Error::Transport(m)) if m.contains("no answer")));
    // Timeouts are retried like 408, but each costs a whole attempt timeout, so the
    // total budget ends the retries before the retry count does.
    let policy = RetryPolicy::imds();
    assert!(h.transport.count() > 1);
    assert!(
        h.time.elapsed() <= policy.max_elapsed + policy.attempt_timeout,
        "{:?}",
        h.time.elapsed()
    );

    let h = imds();
    h.transport
        .then(Err(TransportError::Connect("connection refused".into())));
    assert!(matches!(h.get(), Err(Error::Unavailable(m)) if m.contains("169.254.169.254")));

    let h = imds();
    h.transport.then(Err(TransportError::Denied));
    assert!(matches!(h.get(), Err(Error::Transport(m)) if m.contains("denied")));

    let h = imds();
    h.transport
        .then(Err(TransportError::BodyTooLarge { limit: 10 }));
    assert!(matches!(h.get(), Err(Error::InvalidResponse(_))));
}

#[test]
fn malformed_success_bodies_are_invalid_responses_and_not_cached() {
    let h = imds();
    h.transport
        .then(json(200, "{\"access_token\": \"leaky-tok"));
    let err = h.get().unwrap_err();
    assert!(matches!(&err, Error::InvalidResponse(_)));
    assert!(!format!("{err} {err:?}").contains("leaky-tok"));
    h.serve_token("good", DAY);
    assert_eq!(h.get().unwrap().secret(), "good");
}

#[test]
fn the_identity_header_never_appears_in_errors() {
    let secret = "hdr-0123456789";
    let h = harness_with(
        ManagedIdentityOptions::default(),
        &[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token"),
            ("IDENTITY_HEADER", secret),
        ],
    );
    // A proxy that echoes the request headers back in its error page.
    h.transport.then(json(
        401,
        &format!(r#"{{"statusCode":401,"message":"bad X-IDENTITY-HEADER {secret}"}}"#),
    ));
    let err = h.get().unwrap_err();
    let text = format!("{err} {err:?} {}", h.credential.describe());
    assert!(!text.contains(secret), "{text}");
    assert!(
        text.contains("IDENTITY_HEADER"),
        "the message says what to check: {text}"
    );
    assert_eq!(
        h.transport.last().header_value("X-IDENTITY-HEADER"),
        Some(secret)
    );
}

/// A proxy echoing `IDENTITY_HEADER` in an error body, in the forms request data
/// takes on the way: raw at the point where long descriptions are cut, form-encoded,
/// and base64 (standard and URL-safe, padded or not, at any alignment).
#[test]
fn echoed_secrets_are_scrubbed_in_every_form_before_descriptions_are_cut() {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let secret = "hdr~0123/4567+89ab cdef=";
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let lower_hex = form.replace("%7E", "%7e");
    let echoes = [
        // The secret straddles the 400-character cut: cutting first left its prefix.
        format!("{}{secret} trailing words", "x".repeat(390)),
        format!("request was X-IDENTITY-HEADER={form}&resource=vault"),
        format!("request was X-IDENTITY-HEADER={lower_hex}"),
        format!("echo {}", STANDARD.encode(secret)),
        format!("echo {}", URL_SAFE_NO_PAD.encode(secret)),
        // Inside a larger base64 blob (`Basic base64(user:secret)`), misaligned.
        format!("echo Basic {}", STANDARD.encode(format!("u:{secret}"))),
        format!("echo {}", URL_SAFE_NO_PAD.encode(format!("ab{secret}zz"))),
    ];
    for echo in echoes {
        let h = harness_with(
            ManagedIdentityOptions::default(),
            &[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token"),
                ("IDENTITY_HEADER", secret),
            ],
        );
        let body = serde_json::json!({"statusCode": 401, "message": echo}).to_string();
        h.transport.then(json(401, &body));
        let err = h.get().unwrap_err();
        let text = format!("{err} {err:?}");
        // Any 8 consecutive characters of any form of the secret count as a leak.
        let forms = [
            secret.to_string(),
            form.clone(),
            lower_hex.clone(),
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ];
        for f in &forms {
            let chars: Vec<char> = f.chars().collect();
            for window in chars.windows(8) {
                let piece: String = window.iter().collect();
                assert!(!text.contains(&piece), "{piece:?} of {f:?} in {text}");
            }
        }
        assert!(text.contains("<redacted>"), "{text}");
    }
}
