//! Metrics and traces (OpenTelemetry), feature `metrics`: every instrument of the
//! crate lives here, and the rest of the crate only calls the few observation points
//! below.
//!
//! The host cannot see inside the component, but it sees everything the component
//! does during one `get_token` call, and infers from it where the answer came from:
//!
//! | layer | what the host saw |
//! |---|---|
//! | `fast_path` | answered by the host ([`IdentityConfig::host_fast_path`](crate::IdentityConfig::host_fast_path)), no instance entered |
//! | `upstream` | an outbound request (to a token endpoint: the only hosts an identity may reach) during the call |
//! | `l2` | a `wasi:keyvalue` read of a token entry (`entra-identity/v2/{...}/t`) returned a value, and no outbound request |
//! | `l1` | neither: the instance's own cache answered |
//! | `coalesced` | the call joined an identical one in flight and got its answer |
//!
//! Instruments (meter `entra-identity`):
//!
//! | name | kind | attributes |
//! |---|---|---|
//! | `entra_identity.token.requests` | counter | `layer`, `outcome` (`ok`, `throttled`, `error`) |
//! | `entra_identity.upstream.duration` | histogram (s) | `source`, `endpoint`, `status` |
//! | `entra_identity.upstream.retries` | counter | `source`, `endpoint` |
//! | `entra_identity.upstream.throttles` | counter | `source`, `endpoint` |
//! | `entra_identity.cache.lease_waits` | counter | |
//! | `entra_identity.cache.store_errors` | counter | `op` |
//! | `entra_identity.plugin.denials` | counter | `plugin`, `reason` (`scope`, `rate_limited`) |
//!
//! Each upstream request is a span `entra_identity.upstream` (tracer `entra-identity`)
//! with `entra.source`, `server.address` (`host:port`), `url.path` and
//! `http.response.status_code`. Never a query (it names identities and resources),
//! a header, a body or a token.
//!
//! A retry is a request to an endpoint the same call already reached; a throttle is a
//! `429` answer. A lease wait is a call that read another instance's fetch lease
//! (`.../l/...`) and never took one itself: it waited for that instance's fetch.
//!
//! Attribution uses a task-local scope around the call into the instance: wasmtime polls
//! host functions inside that call's poll, so the hooks find the scope; anything
//! outside a `get_token` call (a served app's own requests, a validator's key fetch) is
//! not counted.

#[cfg(feature = "metrics")]
pub use enabled::Telemetry;
#[cfg(feature = "metrics")]
pub(crate) use enabled::*;

#[cfg(not(feature = "metrics"))]
pub use disabled::Telemetry;
#[cfg(not(feature = "metrics"))]
pub(crate) use disabled::*;

/// `outcome` of a token request.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn outcome<T>(result: &crate::Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(crate::Error::Token(crate::TokenError::Throttled { .. })) => "throttled",
        Err(_) => "error",
    }
}

/// The identity's source, as a span and metric attribute: the credential kind, and the
/// managed-identity source for kinds that use one. No ids, no secrets.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn source_of(config: &crate::IdentityConfig) -> String {
    use crate::CredentialKind as K;
    let kind = match &config.credential {
        K::ManagedIdentity => "managed-identity",
        K::DefaultChain => "default-chain",
        K::ClientSecret { .. } => "client-secret",
        K::ClientCertificate { .. } => "client-certificate",
        K::WorkloadIdentity { .. } => "workload-identity",
        K::ManagedIdentityAsFederated { .. } => "managed-identity-as-federated",
    };
    match config
        .credential
        .uses_managed_identity()
        .then(|| config.managed_identity_source())
        .flatten()
    {
        Some(source) => format!("{kind}/{}", format!("{source:?}").to_ascii_lowercase()),
        None => kind.to_string(),
    }
}

#[cfg(feature = "metrics")]
mod enabled {
    use super::{outcome, source_of};
    use crate::IdentityConfig;
    use entra_identity_core::shared_cache::StoredKind;
    use opentelemetry::global::BoxedTracer;
    use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider};
    use opentelemetry::trace::{Span, Status, Tracer, TracerProvider};
    use opentelemetry::{KeyValue, global};
    use std::fmt;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    const SCOPE: &str = "entra-identity";

    /// Where an [`Identity`](crate::Identity)'s metrics and spans go
    /// ([`IdentityConfig::telemetry`](crate::IdentityConfig::telemetry)).
    ///
    /// [`Telemetry::global`] (the default): OpenTelemetry's global meter and tracer
    /// providers, as installed when the identity is built (no-ops until the application
    /// installs some). [`Telemetry::from_providers`]: given ones (tests, or an
    /// application that keeps its providers to itself). [`Telemetry::off`]: nothing.
    #[derive(Clone, Default)]
    pub struct Telemetry {
        source: Source,
    }

    #[derive(Clone, Default)]
    enum Source {
        #[default]
        Global,
        Given(Arc<Instruments>),
        Off,
    }

    impl fmt::Debug for Telemetry {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self.source {
                Source::Global => "Telemetry::global",
                Source::Given(_) => "Telemetry::from_providers",
                Source::Off => "Telemetry::off",
            })
        }
    }

    impl Telemetry {
        /// OpenTelemetry's global providers ([`opentelemetry::global`]), as they are
        /// when the identity is built.
        pub fn global() -> Self {
            Telemetry {
                source: Source::Global,
            }
        }

        /// No metrics, no spans.
        pub fn off() -> Self {
            Telemetry {
                source: Source::Off,
            }
        }

        /// Metrics from `meters`, spans from `tracers`, both under the scope
        /// `entra-identity`.
        pub fn from_providers<M, T>(meters: &M, tracers: &T) -> Self
        where
            M: MeterProvider,
            T: TracerProvider,
            T::Tracer: Send + Sync + 'static,
            <T::Tracer as Tracer>::Span: Send + Sync + 'static,
        {
            let tracer = BoxedTracer::new(Box::new(tracers.tracer(SCOPE)));
            Telemetry {
                source: Source::Given(Arc::new(Instruments::new(&meters.meter(SCOPE), tracer))),
            }
        }

        fn instruments(&self) -> Option<Arc<Instruments>> {
            match &self.source {
                Source::Global => Some(Arc::new(Instruments::new(
                    &global::meter(SCOPE),
                    global::tracer(SCOPE),
                ))),
                Source::Given(instruments) => Some(instruments.clone()),
                Source::Off => None,
            }
        }
    }

    struct Instruments {
        requests: Counter<u64>,
        upstream_duration: Histogram<f64>,
        retries: Counter<u64>,
        throttles: Counter<u64>,
        lease_waits: Counter<u64>,
        store_errors: Counter<u64>,
        denials: Counter<u64>,
        tracer: BoxedTracer,
    }

    impl Instruments {
        fn new(meter: &Meter, tracer: BoxedTracer) -> Self {
            Instruments {
                requests: meter
                    .u64_counter("entra_identity.token.requests")
                    .with_description("Token requests, by the layer that answered and outcome")
                    .build(),
                upstream_duration: meter
                    .f64_histogram("entra_identity.upstream.duration")
                    .with_unit("s")
                    .with_description("Requests to token endpoints, until the response head")
                    .build(),
                retries: meter
                    .u64_counter("entra_identity.upstream.retries")
                    .with_description("Repeated requests to a token endpoint within one call")
                    .build(),
                throttles: meter
                    .u64_counter("entra_identity.upstream.throttles")
                    .with_description("429 answers from token endpoints")
                    .build(),
                lease_waits: meter
                    .u64_counter("entra_identity.cache.lease_waits")
                    .with_description("Calls that waited for another instance's fetch")
                    .build(),
                store_errors: meter
                    .u64_counter("entra_identity.cache.store_errors")
                    .with_description("Failed operations of the shared cache's store")
                    .build(),
                denials: meter
                    .u64_counter("entra_identity.plugin.denials")
                    .with_description("Plugin token requests refused by the host")
                    .build(),
                tracer,
            }
        }

        fn request(&self, layer: &'static str, outcome: &'static str) {
            self.requests.add(
                1,
                &[
                    KeyValue::new("layer", layer),
                    KeyValue::new("outcome", outcome),
                ],
            );
        }
    }

    /// One identity's recorder: its instruments and its source attribute.
    #[derive(Clone)]
    pub(crate) struct Recorder {
        instruments: Option<Arc<Instruments>>,
        source: Arc<str>,
    }

    impl Recorder {
        pub(crate) fn new(config: &IdentityConfig) -> Self {
            Recorder {
                instruments: config.telemetry.instruments(),
                source: source_of(config).into(),
            }
        }

        /// A token answered by the host's fast path.
        pub(crate) fn fast_path(&self) {
            if let Some(i) = &self.instruments {
                i.request("fast_path", "ok");
            }
        }

        /// A caller that joined an identical request in flight.
        pub(crate) fn coalesced<T>(&self, result: &crate::Result<T>) {
            if let Some(i) = &self.instruments {
                i.request("coalesced", outcome(result));
            }
        }

        /// A plugin's token request the host refused (`reason`: `scope`, `rate_limited`).
        pub(crate) fn denial(&self, plugin: &str, reason: &'static str) {
            if let Some(i) = &self.instruments {
                i.denials.add(
                    1,
                    &[
                        KeyValue::new("plugin", plugin.to_string()),
                        KeyValue::new("reason", reason),
                    ],
                );
            }
        }

        /// Runs `call` (one call into an instance) in a scope the hooks below record
        /// into, then counts the request by the layer they saw.
        pub(crate) async fn call<T, F>(&self, call: F) -> crate::Result<T>
        where
            F: Future<Output = crate::Result<T>>,
        {
            let Some(instruments) = &self.instruments else {
                return call.await;
            };
            let scope = Arc::new(CallScope {
                instruments: instruments.clone(),
                source: self.source.clone(),
                upstream: AtomicU32::new(0),
                token_hit: AtomicBool::new(false),
                lease_read: AtomicBool::new(false),
                lease_taken: AtomicBool::new(false),
                endpoints: Mutex::default(),
            });
            let result = CALL.scope(scope.clone(), call).await;
            let layer = if scope.upstream.load(Ordering::Relaxed) > 0 {
                "upstream"
            } else if scope.token_hit.load(Ordering::Relaxed) {
                "l2"
            } else {
                "l1"
            };
            instruments.request(layer, outcome(&result));
            if scope.lease_read.load(Ordering::Relaxed)
                && !scope.lease_taken.load(Ordering::Relaxed)
            {
                instruments.lease_waits.add(1, &[]);
            }
            result
        }
    }

    /// What the hooks saw during one call.
    pub(crate) struct CallScope {
        instruments: Arc<Instruments>,
        source: Arc<str>,
        upstream: AtomicU32,
        token_hit: AtomicBool,
        lease_read: AtomicBool,
        lease_taken: AtomicBool,
        /// Endpoints reached so far: a second request to one is a retry.
        endpoints: Mutex<Vec<String>>,
    }

    tokio::task_local! {
        static CALL: Arc<CallScope>;
    }

    fn current() -> Option<Arc<CallScope>> {
        CALL.try_with(Arc::clone).ok()
    }

    /// A `wasi:keyvalue` read of `key`; `found`: it returned a value.
    pub(crate) fn kv_read(key: &str, found: bool) {
        let Some(scope) = current() else { return };
        match StoredKind::of_key(key) {
            Some(StoredKind::Token) if found => scope.token_hit.store(true, Ordering::Relaxed),
            Some(StoredKind::Lease) => scope.lease_read.store(true, Ordering::Relaxed),
            _ => {}
        }
    }

    /// A successful `wasi:keyvalue` compare-and-swap of `key`.
    pub(crate) fn kv_swapped(key: &str) {
        let Some(scope) = current() else { return };
        if StoredKind::of_key(key) == Some(StoredKind::Lease) {
            scope.lease_taken.store(true, Ordering::Relaxed);
        }
    }

    /// A failed `wasi:keyvalue` operation `op` (`get`, `set`, `swap`, ...).
    pub(crate) fn store_error(op: &'static str) {
        let Some(scope) = current() else { return };
        (scope.instruments.store_errors).add(1, &[KeyValue::new("op", op)]);
    }

    /// One outbound request of the component: call it where the request is handed
    /// over (inside the call), and wrap the future that sends it with
    /// [`Upstream::around`].
    pub(crate) struct Upstream {
        scope: Option<(Arc<CallScope>, String, String)>,
    }

    impl Upstream {
        pub(crate) fn begin(uri: &http::Uri) -> Self {
            let scope = current().map(|scope| {
                let endpoint = uri.authority().map(|a| a.to_string()).unwrap_or_default();
                (scope, endpoint, uri.path().to_string())
            });
            Upstream { scope }
        }

        /// `send`, timed and traced when it happens inside a `get_token` call.
        pub(crate) async fn around<B, X, E, F>(self, send: F) -> Result<(http::Response<B>, X), E>
        where
            F: Future<Output = Result<(http::Response<B>, X), E>>,
        {
            let Some((scope, endpoint, path)) = self.scope else {
                return send.await;
            };
            scope.upstream.fetch_add(1, Ordering::Relaxed);
            let i = &scope.instruments;
            let source = scope.source.to_string();
            let attrs = [
                KeyValue::new("source", source.clone()),
                KeyValue::new("endpoint", endpoint.clone()),
            ];
            {
                let mut seen = scope.endpoints.lock().unwrap_or_else(|e| e.into_inner());
                if seen.contains(&endpoint) {
                    i.retries.add(1, &attrs);
                } else {
                    seen.push(endpoint.clone());
                }
            }
            let mut span = i.tracer.start("entra_identity.upstream");
            span.set_attribute(KeyValue::new("entra.source", source.clone()));
            span.set_attribute(KeyValue::new("server.address", endpoint.clone()));
            span.set_attribute(KeyValue::new("url.path", path));
            let started = Instant::now();
            let result = send.await;
            let elapsed = started.elapsed().as_secs_f64();
            let status = match &result {
                Ok((response, _)) => {
                    let code = response.status().as_u16();
                    span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
                    if code == 429 {
                        i.throttles.add(1, &attrs);
                    }
                    if code >= 500 {
                        span.set_status(Status::error(format!("HTTP {code}")));
                    }
                    code.to_string()
                }
                Err(_) => {
                    span.set_status(Status::error("no response"));
                    "error".to_string()
                }
            };
            span.end();
            let [a, b] = attrs;
            i.upstream_duration
                .record(elapsed, &[a, b, KeyValue::new("status", status)]);
            result
        }
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;
    use crate::IdentityConfig;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use std::collections::BTreeMap;

    fn recorder() -> (Recorder, SdkMeterProvider, InMemoryMetricExporter) {
        let exporter = InMemoryMetricExporter::default();
        let meters = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let telemetry = Telemetry::from_providers(&meters, &SdkTracerProvider::default());
        let recorder = Recorder::new(&IdentityConfig::default().with_telemetry(telemetry));
        (recorder, meters, exporter)
    }

    fn counts(
        meters: &SdkMeterProvider,
        exporter: &InMemoryMetricExporter,
    ) -> BTreeMap<String, u64> {
        meters.force_flush().unwrap();
        let all = exporter.get_finished_metrics().unwrap();
        let mut out = BTreeMap::new();
        for scope in all.last().unwrap().scope_metrics() {
            for metric in scope.metrics() {
                if let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() {
                    for p in sum.data_points() {
                        let mut attrs: Vec<String> = p
                            .attributes()
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect();
                        attrs.sort();
                        out.insert(
                            format!("{}{{{}}}", metric.name(), attrs.join(",")),
                            p.value(),
                        );
                    }
                }
            }
        }
        out
    }

    /// What the keyvalue hooks see during a call decides its layer, a lease wait and
    /// store errors; outside a call they count nothing.
    #[tokio::test]
    async fn the_hooks_inside_a_call_decide_what_is_counted() {
        let (recorder, meters, exporter) = recorder();
        let ok = || Ok::<(), crate::Error>(());
        // A token entry found: L2.
        recorder
            .call(async {
                kv_read("entra-identity/v2/{abc}/t", true);
                ok()
            })
            .await
            .unwrap();
        // A token entry missing and another instance's lease: L1 here (nothing
        // fetched), and a lease wait.
        recorder
            .call(async {
                kv_read("entra-identity/v2/{abc}/t", false);
                kv_read("entra-identity/v2/{abc}/l", true);
                store_error("set");
                ok()
            })
            .await
            .unwrap();
        // A lease read and then taken: no wait.
        recorder
            .call(async {
                kv_read("entra-identity/v2/{abc}/l", false);
                kv_swapped("entra-identity/v2/{abc}/l");
                ok()
            })
            .await
            .unwrap();
        // Outside any call: not counted.
        kv_read("entra-identity/v2/{abc}/l", true);
        store_error("get");
        recorder.fast_path();
        recorder.coalesced(&Err::<(), _>(crate::Error::Component("x".into())));
        recorder.denial("p", "scope");

        let expected: BTreeMap<String, u64> = [
            ("entra_identity.cache.lease_waits{}", 1),
            ("entra_identity.cache.store_errors{op=set}", 1),
            ("entra_identity.plugin.denials{plugin=p,reason=scope}", 1),
            (
                "entra_identity.token.requests{layer=coalesced,outcome=error}",
                1,
            ),
            (
                "entra_identity.token.requests{layer=fast_path,outcome=ok}",
                1,
            ),
            ("entra_identity.token.requests{layer=l1,outcome=ok}", 2),
            ("entra_identity.token.requests{layer=l2,outcome=ok}", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(counts(&meters, &exporter), expected);
    }
}

#[cfg(not(feature = "metrics"))]
mod disabled {
    use crate::IdentityConfig;

    /// Where an [`Identity`](crate::Identity)'s metrics and spans go: nowhere in this
    /// build (feature `metrics` is off).
    #[derive(Clone, Debug, Default)]
    pub struct Telemetry;

    impl Telemetry {
        /// OpenTelemetry's global providers; a no-op without feature `metrics`.
        pub fn global() -> Self {
            Telemetry
        }

        /// No metrics, no spans.
        pub fn off() -> Self {
            Telemetry
        }
    }

    #[derive(Clone)]
    pub(crate) struct Recorder;

    impl Recorder {
        pub(crate) fn new(_: &IdentityConfig) -> Self {
            Recorder
        }
        pub(crate) fn fast_path(&self) {}
        pub(crate) fn coalesced<T>(&self, _: &crate::Result<T>) {}
        #[allow(dead_code)]
        pub(crate) fn denial(&self, _: &str, _: &'static str) {}
        pub(crate) async fn call<T, F>(&self, call: F) -> crate::Result<T>
        where
            F: Future<Output = crate::Result<T>>,
        {
            call.await
        }
    }

    pub(crate) fn kv_read(_: &str, _: bool) {}
    pub(crate) fn kv_swapped(_: &str) {}
    pub(crate) fn store_error(_: &'static str) {}

    pub(crate) struct Upstream;

    impl Upstream {
        pub(crate) fn begin(_: &http::Uri) -> Self {
            Upstream
        }
        pub(crate) fn around<F: Future>(self, send: F) -> F {
            send
        }
    }
}
