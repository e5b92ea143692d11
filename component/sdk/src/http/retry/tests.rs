use super::*;
use ::http::header::WWW_AUTHENTICATE;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

const SCOPE: &str = "https://vault.azure.net/.default";
const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

/// The futures here never wait on anything: poll once.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waited"),
    }
}

/// Hands out `token-1`, `token-2`, ... and remembers each request.
#[derive(Default)]
struct Source {
    requests: RefCell<Vec<TokenRequest>>,
    fail_with_claims: bool,
}

impl TokenSource for Source {
    fn token(&self, request: &TokenRequest) -> Result<AccessToken, Error> {
        self.requests.borrow_mut().push(request.clone());
        if self.fail_with_claims && request.claims.is_some() {
            return Err(Error::Unavailable("no".into()));
        }
        let n = self.requests.borrow().len();
        Ok(AccessToken::new(format!("token-{n}"), 0))
    }
}

fn answer(status: u16, challenge: Option<&str>, body: &'static str) -> Response<&'static str> {
    let mut builder = Response::builder().status(status);
    if let Some(c) = challenge {
        builder = builder.header(WWW_AUTHENTICATE, c);
    }
    builder.body(body).unwrap()
}

fn cae() -> String {
    format!(
        "Bearer realm=\"\", error=\"insufficient_claims\", claims=\"{}\"",
        STANDARD.encode(CLAIMS)
    )
}

/// Sends with `answers` in turn, recording which token each call carried.
fn run(
    source: &Source,
    answers: Vec<Response<&'static str>>,
) -> (
    Result<Response<&'static str>, SendError<&'static str>>,
    Vec<String>,
) {
    let mut answers = answers.into_iter();
    let mut sent = Vec::new();
    let result = now(send_with_token(
        source,
        &[SCOPE],
        async |token: &AccessToken| {
            sent.push(token.secret().to_string());
            answers.next().ok_or("no more answers")
        },
    ));
    (result, sent)
}

#[test]
fn a_success_is_one_token_and_one_call() {
    let source = Source::default();
    let (result, sent) = run(&source, vec![answer(200, None, "ok")]);
    assert_eq!(*result.unwrap().body(), "ok");
    assert_eq!(sent, ["token-1"]);
    assert_eq!(*source.requests.borrow(), [TokenRequest::new(&[SCOPE])]);
}

#[test]
fn a_claims_challenge_gets_one_new_token_and_one_retry() {
    let source = Source::default();
    let (result, sent) = run(
        &source,
        vec![
            answer(401, Some(&cae()), "revoked"),
            answer(200, None, "ok"),
        ],
    );
    assert_eq!(*result.unwrap().body(), "ok");
    assert_eq!(sent, ["token-1", "token-2"]);
    assert_eq!(
        *source.requests.borrow(),
        [
            TokenRequest::new(&[SCOPE]),
            TokenRequest::new(&[SCOPE]).claims(CLAIMS)
        ]
    );
}

#[test]
fn the_second_answer_is_returned_whatever_it_is() {
    let source = Source::default();
    let (result, sent) = run(
        &source,
        vec![
            answer(401, Some(&cae()), "revoked"),
            answer(401, Some(&cae()), "still revoked"),
            answer(200, None, "never asked"),
        ],
    );
    let response = result.unwrap();
    assert_eq!(
        (response.status().as_u16(), *response.body()),
        (401, "still revoked")
    );
    assert_eq!(sent.len(), 2, "exactly one retry");
}

#[test]
fn a_401_without_a_valid_challenge_is_returned_as_is() {
    for challenge in [
        None,
        Some("Bearer realm=\"\", error=\"invalid_token\""),
        Some("Bearer error=\"insufficient_claims\", claims=\"not base64!\""),
        Some("Bearer error=\"insufficient_claims\", claims=\"unterminated"),
    ] {
        let source = Source::default();
        let (result, sent) = run(
            &source,
            vec![
                answer(401, challenge, "no"),
                answer(200, None, "never asked"),
            ],
        );
        let response = result.unwrap();
        assert_eq!(
            (response.status().as_u16(), *response.body()),
            (401, "no"),
            "{challenge:?}"
        );
        assert_eq!(sent.len(), 1, "{challenge:?}");
        assert_eq!(source.requests.borrow().len(), 1);
    }
}

#[test]
fn a_challenge_on_another_status_is_not_answered() {
    let source = Source::default();
    let (result, sent) = run(&source, vec![answer(403, Some(&cae()), "forbidden")]);
    assert_eq!(result.unwrap().status(), 403);
    assert_eq!(sent.len(), 1);
}

#[test]
fn token_and_send_failures_are_told_apart() {
    let failing = |_: &TokenRequest| -> Result<AccessToken, Error> {
        Err(Error::Unavailable("no managed identity here".into()))
    };
    let result = now(send_with_token(
        &failing,
        &[SCOPE],
        async |_: &AccessToken| Ok::<Response<()>, &str>(Response::new(())),
    ));
    assert!(matches!(
        result,
        Err(SendError::Token(Error::Unavailable(_)))
    ));

    // The claims request failing is a token error too, and nothing is sent again.
    let source = Source {
        fail_with_claims: true,
        ..Default::default()
    };
    let (result, sent) = run(&source, vec![answer(401, Some(&cae()), "revoked")]);
    assert!(matches!(result, Err(SendError::Token(_))));
    assert_eq!(sent.len(), 1);

    let (result, _) = run(&Source::default(), vec![]);
    let err = result.unwrap_err();
    assert!(matches!(err, SendError::Send("no more answers")));
    assert_eq!(err.to_string(), "request failed: no more answers");
}
