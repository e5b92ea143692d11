//! Where a command's metrics and spans go: a summary on stderr (`--metrics`), an OTLP
//! collector (feature `otlp` and `OTEL_EXPORTER_OTLP_ENDPOINT`), or nowhere.

use super::metrics::Summary;
#[cfg(feature = "otlp")]
use super::otlp::Otlp;
use entra_identity_host::IdentityConfig;

/// Chosen before the command runs; [`Sink::finish`] flushes it after.
pub(crate) enum Sink {
    Summary(Summary),
    #[cfg(feature = "otlp")]
    Otlp(Otlp),
    Nowhere,
}

impl Sink {
    /// `--metrics` wins over a collector: asking for a summary is asking to see it here.
    pub(crate) fn start(summary: bool, config: &mut IdentityConfig) -> Result<Sink, String> {
        if summary {
            let (summary, telemetry) = Summary::start();
            config.telemetry = telemetry;
            return Ok(Sink::Summary(summary));
        }
        #[cfg(feature = "otlp")]
        if let Some((otlp, telemetry)) = Otlp::from_env()? {
            config.telemetry = telemetry;
            return Ok(Sink::Otlp(otlp));
        }
        Ok(Sink::Nowhere)
    }

    /// Prints the summary or sends what the collector has not had yet.
    pub(crate) fn finish(self) {
        match self {
            Sink::Summary(summary) => summary.print(),
            #[cfg(feature = "otlp")]
            Sink::Otlp(otlp) => otlp.shutdown(),
            Sink::Nowhere => {}
        }
    }
}
