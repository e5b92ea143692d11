//! Redis Cluster: Azure Managed Redis with its OSS cluster policy (port 10000, then
//! shard ports that move), Azure Cache for Redis Premium with clustering, a self-run
//! cluster. A client that is not cluster-aware gets `MOVED` there instead of values.
//!
//! - **Which.** [`RedisMode::Detect`](super::RedisMode::Detect) asks `CLUSTER INFO` when
//!   the shared connection first opens: an answer means cluster mode; an error reply
//!   (`ERR This instance has cluster support disabled`, a proxy that hides its shards
//!   and does not know the command) means one endpoint. Detected wrongly (a user not
//!   allowed `CLUSTER INFO`), the `MOVED` answers that follow fail the operations with
//!   an error that says to set `ENTRA_IDENTITY_CACHE_REDIS_CLUSTER=yes`.
//! - **How.** redis-rs's cluster connection (`cluster_async`): it reads the slot map
//!   (`CLUSTER SLOTS`), sends each command to its slot's primary, follows `MOVED`
//!   (refreshing the map) and `ASK` (with `ASKING`), and opens every node's connection
//!   with the backend's TLS trust and credentials: the URL's password, or the Entra
//!   credentials, whose every update each node connection re-sends as `AUTH`.
//! - **One slot per token.** A token's entry, lease and failure record share one hash
//!   tag (`entra-identity/v2/{<hash>}/…`, from the core), so they move and fail together.
//!   A key prefix with braces of its own would be the tag instead: refused
//!   ([`check_prefix`]).
//! - **`GET`s** go through the cluster connection: the direct connections
//!   (`redis_direct.rs`) reach the configured node only.

use super::backend::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, ErrorKind, RedisFuture, RedisResult, ServerErrorKind, Value};
use std::time::Duration;

/// What the server turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Topology {
    Standalone,
    Cluster,
}

/// The backend's shared connection: one endpoint's manager or the cluster's connection.
#[derive(Clone)]
pub(super) enum Shared {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Shared {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Shared::Single(c) => c.req_packed_command(cmd),
            Shared::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Shared::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Shared::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Shared::Single(c) => c.get_db(),
            Shared::Cluster(c) => c.get_db(),
        }
    }
}

/// A key prefix that cannot hide the cache's hash tags: Redis takes the first `{` of a
/// key, so a brace in the prefix would put every entry on one slot, or split a token's
/// records across slots.
pub(super) fn check_prefix(prefix: &str) -> Result<(), StoreError> {
    match prefix.contains(['{', '}']) {
        true => Err(StoreError::new(
            "redis",
            "the key prefix contains `{` or `}`, which Redis Cluster reads as a hash tag; \
             choose a prefix without braces",
        )),
        false => Ok(()),
    }
}

/// Settings of the cluster connection, as the single one's: 2 s to connect and to
/// answer, and few, short retries, so that a dead primary costs a caller well under the
/// backend's 5 s bound (redis-rs's defaults retry 16 times, waiting seconds).
pub(super) fn cluster_builder(url: &str) -> ClusterClientBuilder {
    ClusterClientBuilder::new([url])
        .connection_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .retries(3)
        .min_retry_wait(10)
        .max_retry_wait(200)
}

/// Connects to the cluster: its slot map, and a connection to each primary.
pub(super) async fn connect(client: &ClusterClient) -> RedisResult<Shared> {
    client.get_async_connection().await.map(Shared::Cluster)
}

/// `CLUSTER INFO` on `conn`: answered, a cluster; refused with an error reply (that is
/// not about the credential, which the caller handles), one endpoint.
pub(super) async fn detect(
    conn: &mut impl ConnectionLike,
    refused: impl Fn(&redis::RedisError) -> bool,
) -> RedisResult<Topology> {
    match redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async::<String>(conn)
        .await
    {
        Ok(_) => Ok(Topology::Cluster),
        Err(e) if e.code().is_some() && !refused(&e) => {
            tracing::debug!(reply = ?e.code(), "Redis: not a cluster (CLUSTER INFO refused)");
            Ok(Topology::Standalone)
        }
        Err(e) => Err(e),
    }
}

/// An answer only a cluster gives: the key lives on another node.
pub(super) fn redirected(e: &redis::RedisError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Server(ServerErrorKind::Moved | ServerErrorKind::Ask)
    )
}

/// One page of `SCAN … MATCH pattern` over every primary in turn. The cursor is
/// `<slot>-<cursor>`: the primary that owns `<slot>` (the first slot of one of its
/// ranges, when the walk reached it) and that node's own `SCAN` cursor.
pub(super) async fn scan_page(
    conn: &mut ClusterConnection,
    cursor: Option<&str>,
    pattern: &str,
    count: usize,
) -> RedisResult<(Option<String>, Vec<String>)> {
    let primaries = primaries(conn).await?;
    let (slot, node_cursor) = match cursor {
        None => (primaries.first().copied().unwrap_or(0), "0".to_string()),
        Some(text) => text
            .split_once('-')
            .and_then(|(slot, c)| Some((slot.parse::<u16>().ok()?, c.to_string())))
            .ok_or_else(|| {
                redis::RedisError::from((
                    ErrorKind::Client,
                    "list-keys",
                    "a cursor this backend did not hand out".to_string(),
                ))
            })?,
    };
    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(
        slot,
        SlotAddr::Master,
    )));
    let mut scan = redis::cmd("SCAN");
    scan.arg(&node_cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(count);
    let answer = conn.route_command(scan, route).await?;
    let (next, keys): (String, Vec<String>) = redis::from_redis_value(answer)?;
    let cursor = match next.as_str() {
        // This primary is done: the next one (in slot order) from its start.
        "0" => primaries
            .iter()
            .find(|first| **first > slot)
            .map(|first| format!("{first}-0")),
        _ => Some(format!("{slot}-{next}")),
    };
    Ok((cursor, keys))
}

/// The first slot of each primary's first range, in slot order.
async fn primaries(conn: &mut ClusterConnection) -> RedisResult<Vec<u16>> {
    let slots = conn
        .route_command(
            redis::cmd("CLUSTER").arg("SLOTS").clone(),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await?;
    // [[start, end, [host, port, id, ...], replicas...], ...]
    let ranges: Vec<Vec<Value>> = redis::from_redis_value(slots)?;
    let mut firsts: Vec<(u16, String)> = Vec::new();
    for range in ranges {
        let [start, _end, primary, ..] = &range[..] else {
            continue;
        };
        let start: u16 = redis::from_redis_value_ref(start)?;
        let node: Vec<Value> = redis::from_redis_value_ref(primary)?;
        let address = match &node[..] {
            [host, port, ..] => format!(
                "{}:{}",
                redis::from_redis_value_ref::<String>(host)?,
                redis::from_redis_value_ref::<u16>(port)?
            ),
            _ => continue,
        };
        match firsts.iter_mut().find(|(_, a)| *a == address) {
            Some(known) => known.0 = known.0.min(start),
            None => firsts.push((start, address)),
        }
    }
    let mut firsts: Vec<u16> = firsts.into_iter().map(|(slot, _)| slot).collect();
    firsts.sort_unstable();
    Ok(firsts)
}

#[cfg(test)]
mod tests;
