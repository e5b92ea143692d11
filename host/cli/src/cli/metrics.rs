//! `--metrics`: the host's OpenTelemetry metrics, kept in this process and printed to
//! stderr as a short summary when the command ends.

use entra_identity_host::Telemetry;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The providers behind `--metrics`, and the summary of their last collection.
pub(crate) struct Summary {
    meters: SdkMeterProvider,
    text: Arc<Mutex<String>>,
}

/// Formats every collection; the last one is what [`Summary::print`] shows.
#[derive(Clone)]
struct Formatter(Arc<Mutex<String>>);

impl PushMetricExporter for Formatter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = format(metrics);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

impl Summary {
    /// Providers that keep everything in this process: metrics summed, spans dropped.
    pub(crate) fn start() -> (Self, Telemetry) {
        let text = Arc::new(Mutex::new(String::new()));
        let meters = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(Formatter(text.clone())).build())
            .build();
        let telemetry = Telemetry::from_providers(&meters, &SdkTracerProvider::default());
        (Summary { meters, text }, telemetry)
    }

    /// Collects once more and prints the summary to stderr.
    pub(crate) fn print(self) {
        let _ = self.meters.force_flush();
        let text = self.text.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = self.meters.shutdown();
        eprint!("{text}");
    }
}

/// One line per data point: `name{attributes} value` (histograms: count, sum, max).
fn format(metrics: &ResourceMetrics) -> String {
    let mut lines = Vec::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            let name = metric.name();
            let attrs = |attrs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                let parts: Vec<String> =
                    attrs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                if parts.is_empty() {
                    String::new()
                } else {
                    format!(" {}", parts.join(" "))
                }
            };
            match metric.data() {
                AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                    for p in sum.data_points() {
                        lines.push(format!(
                            "  {name}{}: {}",
                            attrs(&mut p.attributes()),
                            p.value()
                        ));
                    }
                }
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    for p in h.data_points() {
                        lines.push(format!(
                            "  {name}{}: {} in {:.3} s (max {:.3} s)",
                            attrs(&mut p.attributes()),
                            p.count(),
                            p.sum(),
                            p.max().unwrap_or_default()
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    lines.sort();
    if lines.is_empty() {
        return "entra-identity metrics: nothing recorded\n".into();
    }
    format!("entra-identity metrics:\n{}\n", lines.join("\n"))
}
