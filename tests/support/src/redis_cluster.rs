//! A Redis Cluster of three primaries on loopback (no replicas), made by the test:
//! three `redis-server --cluster-enabled yes`, a third of the slots each
//! (`CLUSTER ADDSLOTSRANGE`), introduced with `CLUSTER MEET`, ready once every node
//! reports `cluster_state:ok` with all 16384 slots (polled). `cluster-require-full-coverage
//! no`: with a primary killed, the others keep serving their slots, as a cluster whose
//! failed shard has no replica to promote does when configured so.
//!
//! Slot migrations are played step by step ([`RedisCluster::begin_migration`],
//! [`RedisCluster::move_keys`], [`RedisCluster::end_migration`]) so that a test can let
//! callers run between the steps.

use crate::redis::{RedisServer, Reply, free_port};
use std::ffi::OsString;
use std::time::{Duration, Instant};

/// Slots 0..=16383 in three ranges, one per primary.
const RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    /// `CLUSTER MYID` of each node.
    ids: Vec<String>,
    dead: Vec<bool>,
    /// The port clients are told about: the TLS port of a TLS cluster.
    client_ports: Vec<u16>,
    /// `AUTH` for `MIGRATE` between nodes (the admin password of a TLS cluster).
    password: Option<String>,
}

impl RedisCluster {
    /// Three plain primaries; no password.
    pub fn start() -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                let dir = tempfile::tempdir().expect("temp dir for redis-server");
                RedisServer::launch(dir, free_port(), cluster_args(), None, None).unwrap_or_else(
                    || panic!("cannot start redis-server: `apt-get install -y redis-server`"),
                )
            })
            .collect();
        let ports = nodes.iter().map(RedisServer::port).collect();
        RedisCluster::form(nodes, ports, None)
    }

    /// Three primaries as Azure's: TLS on their own ports (a certificate for `127.0.0.1`
    /// from one test CA, [`Self::ca_file`]), those ports the ones the slot map
    /// announces, the cluster bus over TLS too; the plain ports for [`Self::node`]'s
    /// `admin` only, behind a password.
    #[cfg(feature = "tls")]
    pub fn start_tls() -> RedisCluster {
        let pki = crate::tls::TestPki::new(&["localhost", "127.0.0.1"]);
        let password = format!("admin-{}", std::process::id());
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                let dir = tempfile::tempdir().expect("temp dir for redis-server");
                let (tls, mut args) = crate::redis::Tls::files(dir.path(), &pki);
                args.extend(cluster_args());
                args.extend(["--tls-cluster".into(), "yes".into()]);
                RedisServer::launch(dir, free_port(), args, Some(tls), Some(password.clone()))
                    .unwrap_or_else(|| {
                        panic!("cannot start redis-server: `apt-get install -y redis-server`")
                    })
            })
            .collect();
        let ports = nodes.iter().map(RedisServer::tls_port).collect();
        RedisCluster::form(nodes, ports, Some(password))
    }

    fn form(nodes: Vec<RedisServer>, client_ports: Vec<u16>, password: Option<String>) -> Self {
        let ids = nodes
            .iter()
            .map(|n| text(&n.admin(&["CLUSTER", "MYID"])))
            .collect();
        for (node, (first, last)) in nodes.iter().zip(RANGES) {
            let reply = node.admin(&[
                "CLUSTER",
                "ADDSLOTSRANGE",
                &first.to_string(),
                &last.to_string(),
            ]);
            assert_eq!(reply, Reply::Status("OK".into()), "ADDSLOTSRANGE");
        }
        for (other, port) in nodes[1..].iter().zip(&client_ports[1..]) {
            let bus = bus_port(other);
            let reply = nodes[0].admin(&[
                "CLUSTER",
                "MEET",
                "127.0.0.1",
                &port.to_string(),
                &bus.to_string(),
            ]);
            assert_eq!(reply, Reply::Status("OK".into()), "CLUSTER MEET");
        }
        let dead = vec![false; nodes.len()];
        let cluster = RedisCluster {
            nodes,
            ids,
            dead,
            client_ports,
            password,
        };
        cluster.wait_until_ok();
        cluster
    }

    /// Polls every node until each reports `cluster_state:ok` with every slot served
    /// and every node known; the deadline only turns a hang into a failure.
    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = |n: &RedisServer| {
            let info = text(&n.admin(&["CLUSTER", "INFO"]));
            info.contains("cluster_state:ok")
                && info.contains("cluster_slots_ok:16384")
                && info.contains(&format!("cluster_known_nodes:{}", self.nodes.len()))
        };
        while !self.nodes.iter().all(ready) {
            assert!(
                Instant::now() < deadline,
                "the cluster never reached cluster_state:ok"
            );
            // Polling the nodes' gossip; no test outcome depends on this pause.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:<port>/` of the first node: a client finds the others from it.
    pub fn url(&self) -> String {
        self.nodes[0].url()
    }

    /// `rediss://127.0.0.1:<tls port>` of the first node (`start_tls`).
    pub fn tls_url(&self) -> String {
        self.nodes[0].tls_url()
    }

    /// The CA every node's certificate comes from (`start_tls`).
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.nodes[0].ca_file()
    }

    /// Node `i`, for `admin` commands on it.
    pub fn node(&self, i: usize) -> &RedisServer {
        &self.nodes[i]
    }

    /// The nodes still running, with their index.
    pub fn live_nodes(&self) -> impl Iterator<Item = (usize, &RedisServer)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.dead[*i])
    }

    fn any_live(&self) -> &RedisServer {
        self.live_nodes().next().expect("a live node").1
    }

    /// `CLUSTER KEYSLOT key`.
    pub fn slot_of(&self, key: &str) -> u16 {
        match self.any_live().admin(&["CLUSTER", "KEYSLOT", key]) {
            Reply::Int(slot) => slot as u16,
            other => panic!("CLUSTER KEYSLOT answered {other:?}"),
        }
    }

    /// The index of the primary that owns `slot`, as a live node's slot map says.
    pub fn owner_of(&self, slot: u16) -> usize {
        let Reply::Array(ranges) = self.any_live().admin(&["CLUSTER", "SLOTS"]) else {
            panic!("CLUSTER SLOTS answers an array")
        };
        for range in ranges {
            let Reply::Array(parts) = range else { continue };
            let (Some(Reply::Int(first)), Some(Reply::Int(last)), Some(Reply::Array(node))) =
                (parts.first(), parts.get(1), parts.get(2))
            else {
                continue;
            };
            if (*first..=*last).contains(&i64::from(slot)) {
                let id = node.get(2).and_then(Reply::text).expect("a node id");
                return self.ids.iter().position(|i| i == id).expect("a known node");
            }
        }
        panic!("slot {slot} has no owner")
    }

    /// Every key on every live node that `KEYS pattern` matches, with its node.
    pub fn keys(&self, pattern: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, node) in self.live_nodes() {
            let Reply::Array(keys) = node.admin(&["KEYS", pattern]) else {
                panic!("KEYS answers an array")
            };
            out.extend(
                keys.iter()
                    .filter_map(Reply::text)
                    .map(|k| (i, k.to_string())),
            );
        }
        out
    }

    /// First step of moving `slot` from node `from` to node `to`: `to` imports it,
    /// `from` migrates it. Keys still on `from` are served there; a key already moved is
    /// answered `ASK` (follow it with `ASKING` to `to`).
    pub fn begin_migration(&self, slot: u16, from: usize, to: usize) {
        let slot = slot.to_string();
        let importing =
            self.nodes[to].admin(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &self.ids[from]]);
        assert_eq!(importing, Reply::Status("OK".into()), "SETSLOT IMPORTING");
        let migrating =
            self.nodes[from].admin(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &self.ids[to]]);
        assert_eq!(migrating, Reply::Status("OK".into()), "SETSLOT MIGRATING");
    }

    /// Second step: every key of `slot` on `from` moved to `to` with `MIGRATE`. Returns
    /// how many moved.
    pub fn move_keys(&self, slot: u16, from: usize, to: usize) -> usize {
        let slot = slot.to_string();
        let port = self.client_ports[to].to_string();
        let mut moved = 0;
        loop {
            let Reply::Array(keys) =
                self.nodes[from].admin(&["CLUSTER", "GETKEYSINSLOT", &slot, "100"])
            else {
                panic!("GETKEYSINSLOT answers an array")
            };
            let keys: Vec<&str> = keys.iter().filter_map(Reply::text).collect();
            if keys.is_empty() {
                return moved;
            }
            let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000"];
            if let Some(pw) = &self.password {
                migrate.extend(["AUTH", pw]);
            }
            migrate.push("KEYS");
            migrate.extend(&keys);
            let reply = self.nodes[from].admin(&migrate);
            assert_eq!(reply, Reply::Status("OK".into()), "MIGRATE");
            moved += keys.len();
        }
    }

    /// Last step: every live node is told that `to` owns `slot` (`SETSLOT … NODE`), the
    /// new owner first; clients that ask the old one are answered `MOVED`.
    pub fn end_migration(&self, slot: u16, to: usize) {
        let slot = slot.to_string();
        let order = std::iter::once(to).chain((0..self.nodes.len()).filter(|i| *i != to));
        for i in order.filter(|i| !self.dead[*i]) {
            let reply = self.nodes[i].admin(&["CLUSTER", "SETSLOT", &slot, "NODE", &self.ids[to]]);
            assert_eq!(reply, Reply::Status("OK".into()), "SETSLOT NODE");
        }
    }

    /// Kills node `i` now (no replica takes over).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
        self.dead[i] = true;
    }
}

/// The arguments of a cluster node: its bus on a free port of its own (the default,
/// port + 10000, may be taken or past 65535), gossip that notices a dead node within a
/// second, and slots served while another node's are not.
fn cluster_args() -> Vec<OsString> {
    let bus = free_port();
    [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-port",
        &bus.to_string(),
        "--cluster-node-timeout",
        "1000",
        "--cluster-require-full-coverage",
        "no",
    ]
    .into_iter()
    .map(OsString::from)
    .collect()
}

/// The cluster bus port a node was started with (`CONFIG GET cluster-port`).
fn bus_port(node: &RedisServer) -> u16 {
    let Reply::Array(pair) = node.admin(&["CONFIG", "GET", "cluster-port"]) else {
        panic!("CONFIG GET answers an array")
    };
    pair.get(1)
        .and_then(Reply::text)
        .and_then(|p| p.parse().ok())
        .expect("a cluster-port")
}

fn text(reply: &Reply) -> String {
    reply
        .text()
        .unwrap_or_else(|| panic!("a text reply, not {reply:?}"))
        .to_string()
}
