use super::*;
use entra_test_support::redis::{RedisServer, Reply};

/// As the backend configures it: answers wait up to 2 s (longer than the pauses below).
fn direct(server: &RedisServer) -> DirectGets {
    let info = redis::IntoConnectionInfo::into_connection_info(server.url().as_str()).unwrap();
    let config = AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(2)));
    DirectGets::new(info, None, config).unwrap()
}

fn set(server: &RedisServer, key: &str, value: &str) {
    assert_eq!(
        server.admin(&["SET", key, value]),
        Reply::Status("OK".into())
    );
}

fn idle(gets: &DirectGets) -> usize {
    gets.idle.lock().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gets_answer_on_one_connection_the_caller_drives() {
    let server = RedisServer::start();
    set(&server, "k", "value");
    let gets = direct(&server);
    for _ in 0..20 {
        let answer = gets.get("k").await.expect("a connection").unwrap();
        assert_eq!(answer.as_deref(), Some(&b"value"[..]));
    }
    assert_eq!(gets.get("missing").await.unwrap().unwrap(), None);
    assert_eq!(gets.open.load(Ordering::Acquire), 1);
    assert_eq!(idle(&gets), 1);
    assert_eq!(server.command_calls("get"), 21);
}

#[tokio::test]
async fn a_connection_the_server_dropped_is_replaced_and_the_get_answers() {
    let server = RedisServer::start();
    set(&server, "k", "value");
    let gets = direct(&server);
    gets.get("k").await.unwrap().unwrap();
    // Every client but the admin connection itself, ours included.
    let Reply::Int(killed) = server.admin(&["CLIENT", "KILL", "TYPE", "normal"]) else {
        panic!("CLIENT KILL answers a count");
    };
    assert!(killed >= 1);
    let answer = gets.get("k").await.unwrap().unwrap();
    assert_eq!(answer.as_deref(), Some(&b"value"[..]));
    assert_eq!(gets.open.load(Ordering::Acquire), 1, "the dead one is gone");
}

#[tokio::test]
async fn a_get_dropped_midway_takes_its_connection_with_it() {
    let server = RedisServer::start();
    set(&server, "a", "for a");
    set(&server, "b", "for b");
    let gets = direct(&server);
    gets.get("a").await.unwrap().unwrap();
    // The server holds every client's commands for 1.5 s: this GET is sent and not
    // answered before it is dropped.
    server.admin(&["CLIENT", "PAUSE", "1500", "ALL"]);
    let dropped = tokio::time::timeout(Duration::from_millis(100), gets.get("a")).await;
    assert!(dropped.is_err(), "the GET was still waiting");
    assert_eq!(gets.open.load(Ordering::Acquire), 0);
    assert_eq!(idle(&gets), 0);
    // A new connection (answered once the pause ends), which cannot be handed the
    // dropped GET's answer.
    let answer = gets.get("b").await.unwrap().unwrap();
    assert_eq!(answer.as_deref(), Some(&b"for b"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_a_get_is_left_to_the_shared_connection() {
    let server = RedisServer::start();
    set(&server, "k", "value");
    let gets = Arc::new(direct(&server));
    // Held for 1.5 s, so that every connection stays busy.
    server.admin(&["CLIENT", "PAUSE", "1500", "ALL"]);
    let waiting: Vec<_> = (0..MAX_CONNECTIONS)
        .map(|_| {
            let gets = gets.clone();
            tokio::spawn(async move { gets.get("k").await })
        })
        .collect();
    // Each waiting GET holds its connection; the next one is not opened.
    while gets.open.load(Ordering::Acquire) < MAX_CONNECTIONS {
        tokio::task::yield_now().await;
    }
    assert!(gets.get("k").await.is_none());
    for get in waiting {
        let answer = get.await.unwrap().expect("a connection").unwrap();
        assert_eq!(answer.as_deref(), Some(&b"value"[..]));
    }
    assert_eq!(idle(&gets), MAX_CONNECTIONS);
}

#[test]
fn addresses_it_does_not_open_are_left_to_the_shared_connection() {
    let insecure =
        redis::IntoConnectionInfo::into_connection_info("rediss://127.0.0.1:6380/#insecure")
            .unwrap();
    let config = tls_config(None).unwrap();
    assert!(DirectGets::new(insecure, Some(config), AsyncConnectionConfig::new()).is_none());
    let unix = redis::IntoConnectionInfo::into_connection_info("redis+unix:///tmp/redis.sock");
    if let Ok(unix) = unix {
        assert!(DirectGets::new(unix, None, AsyncConnectionConfig::new()).is_none());
    }
}
