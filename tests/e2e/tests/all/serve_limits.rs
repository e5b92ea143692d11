//! Serve mode's backpressure, over real sockets: half-sent requests, idle connections
//! and clients that stop reading are closed, requests past the cap get 503, bodies
//! past the limit 413, and connections past the cap wait to be accepted.

use crate::examples::example;
use crate::serve::{exchange, get};
use crate::support::*;
use entra_emulator::{Endpoint, Fault, Hold};
use entra_identity_host::serve::{ServeOptions, serve};
use std::io::Read as _;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A failure guard, not a measurement: far past every timeout these tests set.
const GUARD: Duration = Duration::from_secs(60);

fn options(world: &World, app: &str) -> ServeOptions {
    ServeOptions::new(
        example(app),
        "127.0.0.1:0".parse().unwrap(),
        world.config(Source::Imds),
    )
}

/// How the server left a connection the client stopped writing to.
#[derive(Debug, PartialEq)]
enum Ended {
    Closed,
    Answered(String),
    StillOpen,
}

/// Reads until the server closes the connection (or the guard runs out).
async fn until_closed(mut stream: TcpStream) -> Ended {
    let mut raw = Vec::new();
    match tokio::time::timeout(GUARD, stream.read_to_end(&mut raw)).await {
        Err(_) => Ended::StillOpen,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset && raw.is_empty() => {
            Ended::Closed
        }
        Ok(Err(e)) => panic!("reading failed: {e}"),
        Ok(Ok(_)) if raw.is_empty() => Ended::Closed,
        Ok(Ok(_)) => Ended::Answered(String::from_utf8_lossy(&raw).into_owned()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_half_sent_requests_are_closed_after_the_header_timeout() {
    let wanted = 2000;
    let n = connections_within_the_fd_limit(wanted);
    let world = World::start().await;
    let mut options = options(&world, "wasi-http-token");
    options.limits.header_timeout = Duration::from_millis(500);
    // Only the header clock can close them within the guard.
    options.limits.idle_timeout = Duration::from_secs(3600);
    options.limits.max_connections = n + 64;
    let server = serve(options).await.unwrap();
    let addr = server.local_addr();

    let mut half = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /token HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        half.push(stream);
    }
    // A whole request on a new connection is answered alongside them.
    let whole = get(addr, "/token", None).await;
    assert_eq!(whole.status, 200, "{} {}", whole.head, whole.body);

    let ended = futures::future::join_all(half.into_iter().map(until_closed)).await;
    let not_closed: Vec<_> = ended.iter().filter(|e| **e != Ended::Closed).collect();
    assert!(
        not_closed.is_empty(),
        "{} of {n} half-sent requests were not closed, e.g. {:?}",
        not_closed.len(),
        not_closed.first()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let world = World::start().await;
    let mut options = options(&world, "wasi-http-token");
    options.limits.idle_timeout = Duration::from_secs(1);
    options.limits.header_timeout = Duration::from_secs(3600);
    let server = serve(options).await.unwrap();
    let addr = server.local_addr();

    // Connected, never a byte.
    let silent = TcpStream::connect(addr).await.unwrap();
    assert_eq!(until_closed(silent).await, Ended::Closed);

    // Kept alive after one answer, then left idle.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(format!("GET /token HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    match until_closed(kept).await {
        Ended::Answered(raw) => assert!(raw.starts_with("HTTP/1.1 200"), "{raw}"),
        other => panic!("expected one answer, then the close: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_past_the_concurrency_cap_gets_503_and_never_reaches_the_app() {
    let world = World::start().await;
    world.emulator.set_secret("db-password", "s3cr3t-value");
    let mut options = options(&world, "spin-call-azure");
    options.variables = [("vault_url".to_string(), world.emulator.key_vault_url())].into();
    options.limits.max_concurrent_requests = 2;
    let server = serve(options).await.unwrap();
    let addr = server.local_addr();

    // Two requests held inside the app, waiting on Key Vault.
    let holds = [Hold::new(), Hold::new()];
    (world.emulator).push_faults(Endpoint::KeyVault, holds.iter().cloned().map(Fault::Hold));
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(get(addr, "/secrets/db-password", None)))
        .collect();
    for hold in &holds {
        hold.arrived().await;
    }

    let busy = get(addr, "/secrets/db-password", None).await;
    assert_eq!(busy.status, 503, "{} {}", busy.head, busy.body);
    assert!(
        busy.head
            .to_ascii_lowercase()
            .contains("\r\nretry-after: 1"),
        "{}",
        busy.head
    );
    assert_eq!(busy.body, "server busy\n");
    assert_eq!(
        world.emulator.count(Endpoint::KeyVault),
        2,
        "the refused request never ran"
    );

    for hold in &holds {
        hold.release();
    }
    for answer in held {
        let answer = answer.await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body, "s3cr3t-value");
    }
    // The held requests gave their slots back.
    let after = get(addr, "/secrets/db-password", None).await;
    assert_eq!(after.status, 200, "{}", after.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_that_never_read_a_large_response_lose_their_slots_after_the_send_timeout() {
    let world = World::start().await;
    // Far more than the kernel's and hyper's buffers hold between app and client.
    world.emulator.set_secret("large", &"x".repeat(8 << 20));
    world.emulator.set_secret("small", "s");
    let mut options = options(&world, "spin-call-azure");
    options.variables = [("vault_url".to_string(), world.emulator.key_vault_url())].into();
    options.limits.max_concurrent_requests = 2;
    options.limits.send_timeout = Duration::from_secs(1);
    // Only the send clock can free the slots within the guard.
    options.limits.idle_timeout = Duration::from_secs(3600);
    options.request_timeout = Duration::from_secs(3600);
    let server = serve(options).await.unwrap();
    let addr = server.local_addr();

    let mut stalled = Vec::new();
    for _ in 0..2 {
        stalled.push(never_reading(addr, "/secrets/large").await);
    }
    // Both answers started: each slot is held by a response nobody reads.
    for client in &stalled {
        let head = peek_head(client).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }

    let (answer, refused) = until_served(addr, "/secrets/small").await;
    assert_eq!(answer.body, "s");
    eprintln!("{refused} requests got 503 before the send timeout freed a slot");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_gets_413_and_one_at_the_limit_is_served() {
    let world = World::start().await;
    let mut options = options(&world, "wasi-http-token");
    options.limits.max_body_bytes = 1024;
    let server = serve(options).await.unwrap();
    let addr = server.local_addr();

    // The head alone is enough to refuse it: the body is never waited for.
    let over = format!(
        "POST /token HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 1025\r\nconnection: close\r\n\r\n"
    );
    let refused = exchange(addr, over.as_bytes()).await;
    assert_eq!(refused.status, 413, "{} {}", refused.head, refused.body);
    assert!(
        refused
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{}",
        refused.head
    );
    assert_eq!(world.emulator.count(Endpoint::Imds), 0, "the app never ran");

    let mut at = format!(
        "POST /token HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 1024\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    at.extend_from_slice(&[b'x'; 1024]);
    let served = exchange(addr, &at).await;
    assert_eq!(served.status, 200, "{} {}", served.head, served.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_past_the_cap_waits_until_one_closes() {
    let world = World::start().await;
    let mut options = options(&world, "wasi-http-token");
    options.limits.max_connections = 1;
    options.limits.idle_timeout = Duration::from_secs(3);
    let server = serve(options).await.unwrap();
    let addr = server.local_addr();
    // Compiled, instantiated once and a token cached, so the next answer is quick.
    assert_eq!(get(addr, "/token", None).await.status, 200);

    // `first` is accepted first (the backlog is FIFO) and holds the only slot, idle.
    let first = TcpStream::connect(addr).await.unwrap();
    let second = get(addr, "/token", None).await;
    assert_eq!(second.status, 200, "{}", second.body);
    // Had `second` been accepted beside it, it would have been answered long before
    // `first`'s idle timeout; the cap made it wait for the close, which is therefore
    // already in `first`'s receive queue.
    let first = first.into_std().unwrap();
    first.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    match (&first).read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the first connection is still open: {other:?}"),
    }
}

/// A client that sends `GET path` and never reads: its receive buffer is 4 KiB, so the
/// window it advertises closes after a few KiB of the answer.
async fn never_reading(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut stream = TcpStream::from_std(socket.into()).unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    stream
}

/// The status line a client has received, read without taking it off the socket (so
/// its window stays closed).
async fn peek_head(client: &TcpStream) -> String {
    let mut buf = [0u8; 12];
    let peeked = tokio::time::timeout(GUARD, async {
        loop {
            let n = client.peek(&mut buf).await.unwrap();
            if n == buf.len() {
                return String::from_utf8_lossy(&buf).into_owned();
            }
            // Fewer bytes than a status line: wait for more to arrive.
            tokio::task::yield_now().await;
        }
    });
    peeked.await.expect("no answer started within the guard")
}

/// Asks `path` until it is answered 200 (or the guard runs out); with how many 503s
/// came first.
async fn until_served(addr: std::net::SocketAddr, path: &str) -> (crate::serve::Answer, usize) {
    let guard = tokio::time::Instant::now() + GUARD;
    let mut refused = 0;
    loop {
        let answer = get(addr, path, None).await;
        match answer.status {
            200 => return (answer, refused),
            503 => refused += 1,
            other => panic!("expected 200 or 503, got {other}: {}", answer.body),
        }
        assert!(
            tokio::time::Instant::now() < guard,
            "still 503 after {GUARD:?}: the slots were never freed"
        );
        // A poll interval, not a wait for anything: the loop ends on the 200.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `wanted`, or fewer if this process may not open two descriptors per connection
/// (client and server end) besides what the other tests in this binary use. The soft
/// limit is raised toward the hard one first.
fn connections_within_the_fd_limit(wanted: usize) -> usize {
    const HEADROOM: u64 = 1024;
    let needed = 2 * wanted as u64 + HEADROOM;
    let soft = raise_fd_limit(needed);
    let n = (soft.saturating_sub(HEADROOM) / 2).min(wanted as u64) as usize;
    if n < wanted {
        eprintln!("note: the descriptor limit {soft} allows {n} of {wanted} connections");
    }
    assert!(
        n >= 100,
        "a descriptor limit of {soft} is too low for this test"
    );
    n
}

#[cfg(unix)]
fn raise_fd_limit(needed: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 256;
        }
        if limit.rlim_cur < needed {
            let raised = libc::rlimit {
                rlim_cur: needed.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

#[cfg(not(unix))]
fn raise_fd_limit(_needed: u64) -> u64 {
    // Windows has no per-process descriptor limit of this kind.
    u64::MAX
}
