//! One GET over `wasi:http/outgoing-handler`, blocking: a plugin call is sequential.

use ::http::header::WWW_AUTHENTICATE;
use ::http::{HeaderValue, Response, Uri};
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// The most of an answer the plugin reads; a plugin's memory is bounded by its host.
const MAX_BODY: usize = 1 << 20;

/// GETs `url`, with `Authorization: <authorization>` when given; the answer, its body read.
pub fn get(url: &str, authorization: Option<&HeaderValue>) -> Result<Response<Vec<u8>>, String> {
    let uri: Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    let scheme = match uri.scheme_str() {
        Some("https") => Scheme::Https,
        Some("http") => Scheme::Http,
        _ => return Err("only http and https URLs".into()),
    };
    let authority = uri.authority().ok_or("the URL has no host")?.as_str();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());

    let headers: Vec<_> = (authorization.iter())
        .map(|value| ("authorization".to_string(), value.as_bytes().to_vec()))
        .collect();
    let headers = Fields::from_list(&headers).map_err(|e| format!("header refused: {e:?}"))?;
    let request = OutgoingRequest::new(headers);
    let set = [
        request.set_method(&Method::Get),
        request.set_scheme(Some(&scheme)),
        request.set_authority(Some(authority)),
        request.set_path_with_query(Some(path)),
    ];
    if set.iter().any(Result::is_err) {
        return Err("the URL does not fit a wasi:http request".into());
    }
    let body = request.body().map_err(|()| "request body unavailable")?;
    OutgoingBody::finish(body, None).map_err(|e| format!("request body: {e:?}"))?;

    // The host's policy may deny the authority: that comes back as an error code here.
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response after waiting")?
        .map_err(|()| "response already taken")?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    // Only the challenge header matters to the plugin; the rest stays behind.
    let challenges: Vec<Vec<u8>> = response.headers().get("www-authenticate");

    let incoming = response
        .consume()
        .map_err(|()| "response body unavailable")?;
    let stream = incoming
        .stream()
        .map_err(|()| "response body stream unavailable")?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(format!("the answer is over {MAX_BODY} bytes"));
                }
            }
            Err(StreamError::Closed) => break,
            Err(e) => return Err(format!("reading the answer: {e:?}")),
        }
    }
    drop(stream);
    IncomingBody::finish(incoming);
    let mut answer = Response::builder().status(status);
    for value in challenges {
        answer = answer.header(WWW_AUTHENTICATE, value);
    }
    answer.body(body).map_err(|e| format!("the answer: {e}"))
}
