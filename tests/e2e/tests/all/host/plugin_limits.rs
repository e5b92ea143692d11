//! A plugin's `memory_mib` bounds everything it can make the host hold, not one linear
//! memory: several memories, a table grown to 2^28 entries, and host resources created
//! in a loop each stop at the limit, and the process's resident memory stays near it.
//!
//! Each in a process of its own: the resident-memory check reads the whole process,
//! so no other test may run beside it.

use entra_emulator::{Emulator, EmulatorConfig};
use entra_identity_host::plugin::{PluginError, PluginHost, PluginPolicy, PluginRules};
use entra_identity_host::{Identity, IdentityConfig};

const MEMORY_MIB: u64 = 16;

/// Three memories of one page, each then grown by 7 MiB: 21 MiB in all, where each alone
/// is well within a per-memory limit of 16 MiB.
const MANY_MEMORIES: &str = r#"
(component
  (core module $m
    (memory $a 1) (memory $b 1) (memory $c 1)
    (func (export "run") (result i32)
      (if (i32.lt_s (memory.grow $a (i32.const 112)) (i32.const 0)) (then unreachable))
      (if (i32.lt_s (memory.grow $b (i32.const 112)) (i32.const 0)) (then unreachable))
      (if (i32.lt_s (memory.grow $c (i32.const 112)) (i32.const 0)) (then unreachable))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $cli)))
"#;

/// A table without a maximum, grown to 2^28 entries (2 GiB of pointers).
const HUGE_TABLE: &str = r#"
(component
  (core module $m
    (table $t 1 funcref)
    (func (export "run") (result i32)
      (if (i32.lt_s (table.grow $t (ref.null func) (i32.const 0x10000000)) (i32.const 0))
        (then unreachable))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $cli)))
"#;

/// `wasi:http` fields in a loop, never dropped, each given a 30 000-byte header value:
/// host memory the plugin's linear memory never sees.
const FIELDS_FOREVER: &str = r#"
(component
  (import "wasi:http/types@0.2.0" (instance $http
    (export "fields" (type $fields (sub resource)))
    (type $error (variant (case "invalid-syntax") (case "forbidden") (case "immutable")))
    (export "header-error" (type $header-error (eq $error)))
    (export "[constructor]fields" (func (result (own $fields))))
    (export "[method]fields.append"
      (func (param "self" (borrow $fields)) (param "name" string) (param "value" (list u8))
        (result (result (error $header-error)))))))
  (core module $mem (memory (export "memory") 1))
  (core instance $mem (instantiate $mem))
  (alias core export $mem "memory" (core memory $memory))
  (alias export $http "[constructor]fields" (func $new))
  (alias export $http "[method]fields.append" (func $append))
  (core func $new_core (canon lower (func $new)))
  (core func $append_core (canon lower (func $append) (memory $memory) string-encoding=utf8))
  (core module $m
    (import "host" "memory" (memory 1))
    (import "host" "new" (func $new (result i32)))
    (import "host" "append" (func $append (param i32 i32 i32 i32 i32 i32)))
    (data (i32.const 0) "x-fill")
    (func (export "run") (result i32)
      (local $f i32)
      (memory.fill (i32.const 64) (i32.const 0x61) (i32.const 30000))
      (loop $again
        (local.set $f (call $new))
        (call $append (local.get $f) (i32.const 0) (i32.const 6) (i32.const 64) (i32.const 30000) (i32.const 32))
        (br $again))
      (i32.const 0)))
  (core instance $i (instantiate $m (with "host" (instance
    (export "memory" (memory $memory))
    (export "new" (func $new_core))
    (export "append" (func $append_core))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $cli)))
"#;

/// This process's resident memory, in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib / 1024
}

/// Runs the plugin `text` under a `memory_mib` of [`MEMORY_MIB`]: it must stop with the
/// memory error saying what was `refused`, the process's resident memory having grown by less than the budget plus
/// slack for the allocator's and runtime's own bookkeeping.
async fn stops_at_the_limit(test: &str, name: &str, text: &str, refused: &str) {
    let test = entra_test_support::test_path(module_path!(), test);
    if !entra_test_support::in_a_process_of_its_own(&test) {
        return;
    }
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let mut config = IdentityConfig::default();
    config.env.insert(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
        emulator.base_url(),
    );
    let rules = PluginRules {
        memory_mib: MEMORY_MIB,
        ..Default::default()
    };
    let host = PluginHost::new(
        Identity::new(config).unwrap(),
        PluginPolicy::default().with_plugin(name, rules),
    )
    .unwrap();
    // Compiled before measuring: compilation is the host's memory, not the plugin's.
    let plugin = host.load(name, &wat::parse_str(text).unwrap()).unwrap();

    let before = rss_mib();
    let outcome = plugin.run_captured::<&str>(&[]).await;
    let after = rss_mib();
    eprintln!("{name}: RSS {before} MiB -> {after} MiB: {outcome:?}");
    let error = outcome.unwrap_err();
    assert!(
        matches!(&error, PluginError::Memory { limit_mib: MEMORY_MIB, plugin, .. } if plugin == name),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("memory limit of 16 MiB"),
        "{error}"
    );
    assert!(error.to_string().contains(refused), "{error}");
    let grew = after.saturating_sub(before);
    assert!(grew < MEMORY_MIB + 32, "resident memory grew by {grew} MiB");
}

#[tokio::test]
async fn several_memories_share_one_budget() {
    stops_at_the_limit(
        "several_memories_share_one_budget",
        "many-memories",
        MANY_MEMORIES,
        "refused growing a linear memory",
    )
    .await;
}

#[tokio::test]
async fn table_elements_count_against_the_budget() {
    stops_at_the_limit(
        "table_elements_count_against_the_budget",
        "huge-table",
        HUGE_TABLE,
        "refused growing a table",
    )
    .await;
}

#[tokio::test]
async fn host_resources_count_against_the_budget() {
    stops_at_the_limit(
        "host_resources_count_against_the_budget",
        "fields-forever",
        FIELDS_FOREVER,
        "resource table has no free keys",
    )
    .await;
}
