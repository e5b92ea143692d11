//! Memory per instance, alone: one `Identity` grown from 1 to 16 live instances,
//! measured as the linear memory the instances hold (`Identity::instance_stats`) and
//! as the process's resident memory growth, per added instance.

use entra_emulator::{Emulator, Endpoint, Fault};
use entra_identity_host::{Identity, PoolingConfig, Runtime, RuntimeConfig};
use std::time::Duration;

const INSTANCES: usize = 16;

pub struct PerInstance {
    pub linear_kib: usize,
    pub rss_kib: u64,
}

pub async fn memory_per_instance(emulator: &Emulator, pooling: bool) -> PerInstance {
    let mut config = crate::config(emulator, &format!("footprint-{pooling}"));
    config.limits.max_instances = INSTANCES;
    let runtime = RuntimeConfig::default().with_pooling_allocator(
        pooling.then(|| PoolingConfig::new(INSTANCES as u32, config.limits.memory_limit)),
    );
    let runtime = Runtime::new(runtime).unwrap();
    let identity = Identity::with_runtime(&runtime, config).unwrap();
    identity.get_token(&[crate::VAULT]).await.unwrap();
    let before = crate::rss_kib();
    // Slow answers keep every instance busy at once, so the pool has to grow to 16
    // (the first one, made above, is among them).
    emulator.push_faults(
        Endpoint::AppService,
        (0..INSTANCES).map(|_| Fault::Delay(Duration::from_millis(300))),
    );
    let calls = (0..INSTANCES).map(|i| {
        let identity = identity.clone();
        tokio::spawn(async move {
            let scope = format!("https://footprint-{pooling}-{i}.example/.default");
            identity.get_token(&[&scope]).await.unwrap();
        })
    });
    futures::future::join_all(calls).await;
    let stats = identity.instance_stats();
    assert_eq!(stats.instances, INSTANCES, "the pool grew to its limit");
    PerInstance {
        linear_kib: stats.linear_memory / stats.instances / 1024,
        rss_kib: crate::rss_kib().saturating_sub(before) / (INSTANCES as u64 - 1),
    }
}
