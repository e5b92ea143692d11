//! OTLP export (feature `otlp`): when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or a
//! per-signal `..._METRICS_ENDPOINT` / `..._TRACES_ENDPOINT`) is set, the host's metrics
//! and spans go to that collector over OTLP/HTTP (binary protobuf), flushed at exit.
//!
//! Plain HTTP only: this build has no TLS client for the exporter. Point it at a local
//! collector (a sidecar on `http://localhost:4318`), which forwards wherever it must.

use entra_identity_host::Telemetry;
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The variables that turn export on; the exporter itself reads them (and the other
/// `OTEL_EXPORTER_OTLP_*` settings: headers, timeout).
const ENDPOINT_VARS: [&str; 3] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// The providers exporting to the collector, until [`Otlp::shutdown`].
pub(crate) struct Otlp {
    meters: SdkMeterProvider,
    tracers: SdkTracerProvider,
}

impl Otlp {
    /// Export when an endpoint variable is set; `Ok(None)` when none is.
    pub(crate) fn from_env() -> Result<Option<(Self, Telemetry)>, String> {
        let set = ENDPOINT_VARS
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|v| !v.trim().is_empty()));
        if !set {
            return Ok(None);
        }
        let metrics = MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| format!("OTLP metrics exporter: {e}"))?;
        let spans = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| format!("OTLP span exporter: {e}"))?;
        let meters = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics).build())
            .build();
        let tracers = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .build();
        let telemetry = Telemetry::from_providers(&meters, &tracers);
        Ok(Some((Otlp { meters, tracers }, telemetry)))
    }

    /// Sends what is left and stops; a collector that cannot be reached is reported,
    /// never fatal: the command's own answer has already been given.
    pub(crate) fn shutdown(self) {
        if let Err(e) = self.meters.shutdown() {
            eprintln!("entra-identity: OTLP metrics export: {e}");
        }
        if let Err(e) = self.tracers.shutdown() {
            eprintln!("entra-identity: OTLP span export: {e}");
        }
    }
}
