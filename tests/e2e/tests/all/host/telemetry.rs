//! Metrics and spans of the host (feature `metrics`), read back from the OpenTelemetry
//! SDK's in-memory exporters after a scripted sequence: the layer that answered each
//! token request (fast path, L1, L2, upstream), a throttled and retried upstream
//! request, a plugin denial, and spans that never carry a token.

use crate::support::{Source, VAULT, World};
use entra_emulator::{Endpoint, Fault};
use entra_identity_host::plugin::{PluginHost, PluginPolicy, PluginRules};
use entra_identity_host::{Identity, InstanceLimits, Telemetry};
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use std::collections::BTreeMap;

const STORAGE: &str = "https://storage.azure.com/.default";

struct Exporters {
    meters: SdkMeterProvider,
    metrics: InMemoryMetricExporter,
    spans: InMemorySpanExporter,
    telemetry: Telemetry,
}

fn exporters() -> Exporters {
    let metrics = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let spans = InMemorySpanExporter::default();
    let tracers = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let telemetry = Telemetry::from_providers(&meters, &tracers);
    Exporters {
        meters,
        metrics,
        spans,
        telemetry,
    }
}

/// Every data point of every sum, as `name{k=v,...}` -> value, and every histogram's
/// count the same way, from the last collection.
fn points(exporters: &Exporters) -> BTreeMap<String, u64> {
    exporters.meters.force_flush().unwrap();
    let all: Vec<ResourceMetrics> = exporters.metrics.get_finished_metrics().unwrap();
    let last = all.last().expect("a collection");
    let mut out = BTreeMap::new();
    let key = |name: &str, attrs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        let mut attrs: Vec<String> = attrs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
        attrs.sort();
        format!("{name}{{{}}}", attrs.join(","))
    };
    for scope in last.scope_metrics() {
        for metric in scope.metrics() {
            match metric.data() {
                AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                    for p in sum.data_points() {
                        out.insert(key(metric.name(), &mut p.attributes()), p.value());
                    }
                }
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    for p in h.data_points() {
                        out.insert(key(metric.name(), &mut p.attributes()), p.count());
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn requests(points: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    points
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("entra_identity.token.requests")
                .map(|k| (k.to_string(), *v))
        })
        .collect()
}

fn sum_of(points: &BTreeMap<String, u64>, name: &str) -> u64 {
    points
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn each_request_is_counted_by_the_layer_that_answered_and_no_attribute_holds_a_token() {
    let world = World::start().await;
    let exporters = exporters();
    let config = || {
        world
            .config(Source::Imds)
            .with_telemetry(exporters.telemetry.clone())
    };
    let mut tokens = Vec::new();

    // 1 upstream fetch, then 5 answers from the host's fast path.
    let front = Identity::new(config()).unwrap();
    for _ in 0..6 {
        tokens.push(front.get_token(&[VAULT]).await.unwrap().into_secret());
    }
    assert_eq!(world.emulator.count(Endpoint::Imds), 1);

    // Fast path off, one reused instance: its first call finds the token in the shared
    // cache (L2), the next 3 in its own (L1).
    let inner = Identity::new(
        config()
            .with_host_fast_path(false)
            .with_limits(InstanceLimits::default().with_max_instances(1)),
    )
    .unwrap();
    for _ in 0..4 {
        tokens.push(inner.get_token(&[VAULT]).await.unwrap().into_secret());
    }
    // A fresh instance per call: L2 both times.
    let fresh = Identity::new(
        config()
            .with_host_fast_path(false)
            .with_limits(InstanceLimits::default().with_reuse_instances(false)),
    )
    .unwrap();
    for _ in 0..2 {
        tokens.push(fresh.get_token(&[VAULT]).await.unwrap().into_secret());
    }
    assert_eq!(
        world.emulator.count(Endpoint::Imds),
        1,
        "all from the caches"
    );

    // A throttled upstream request, retried: one call, two requests.
    world.emulator.push_faults(
        Endpoint::Imds,
        [Fault::TooManyRequests { retry_after: None }],
    );
    tokens.push(front.get_token(&[STORAGE]).await.unwrap().into_secret());
    assert_eq!(world.emulator.count(Endpoint::Imds), 3);

    // A plugin asking for a scope its policy does not list.
    let host = PluginHost::new(
        front.clone(),
        PluginPolicy::default().with_plugin(
            "nosy",
            PluginRules {
                scopes: vec![VAULT.into()],
                ..Default::default()
            },
        ),
    )
    .unwrap();
    let run = host
        .load("nosy", entra_test_support::plugin_guest_wasm())
        .unwrap()
        .run_captured(&["http://127.0.0.1:9/", STORAGE])
        .await
        .unwrap();
    assert_eq!(run.code, 1);

    let points = points(&exporters);
    let expected: BTreeMap<String, u64> = [
        ("{layer=fast_path,outcome=ok}", 5),
        ("{layer=l1,outcome=ok}", 3),
        ("{layer=l2,outcome=ok}", 3),
        ("{layer=upstream,outcome=ok}", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(requests(&points), expected, "{points:#?}");
    assert_eq!(
        sum_of(&points, "entra_identity.upstream.throttles"),
        1,
        "{points:#?}"
    );
    assert_eq!(
        sum_of(&points, "entra_identity.upstream.retries"),
        1,
        "{points:#?}"
    );
    assert_eq!(
        sum_of(&points, "entra_identity.upstream.duration"),
        3,
        "{points:#?}"
    );
    assert_eq!(
        points
            .get("entra_identity.plugin.denials{plugin=nosy,reason=scope}")
            .copied(),
        Some(1),
        "{points:#?}"
    );
    assert_eq!(sum_of(&points, "entra_identity.cache.lease_waits"), 0);
    assert_eq!(sum_of(&points, "entra_identity.cache.store_errors"), 0);
    let statuses: Vec<&String> = points
        .keys()
        .filter(|k| k.starts_with("entra_identity.upstream.duration"))
        .collect();
    assert!(
        statuses.iter().any(|k| k.contains("status=429"))
            && statuses.iter().any(|k| k.contains("status=200")),
        "{statuses:#?}"
    );

    // One span per upstream request, with its source and endpoint.
    let spans = exporters.spans.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let imds = url_authority(&world.emulator.base_url());
    for span in &spans {
        assert_eq!(span.name, "entra_identity.upstream");
        let attr = |k: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(attr("server.address"), Some(Value::from(imds.clone())));
        let source = attr("entra.source").expect("a source").to_string();
        assert!(source.starts_with("managed-identity"), "{source}");
        assert!(attr("url.path").is_some());
        assert!(attr("http.response.status_code").is_some());
    }

    // No attribute, of any metric point or span, holds a token or a piece of one.
    let everything = format!("{points:?}{spans:?}");
    for token in tokens {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!everything.contains(&token), "a token in telemetry");
        assert!(
            !everything.contains(signature),
            "a token's signature in telemetry"
        );
    }
}

/// `host:port` of a URL, as the spans name it.
fn url_authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap().to_string()
}
