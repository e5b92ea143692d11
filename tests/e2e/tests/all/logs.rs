//! What `tracing` writes on a test's thread, captured for assertions.
//!
//! A thread-local subscriber per test (`tracing::subscriber::set_default`) made the
//! outcome depend on order: callsite interest is cached process-wide, and a callsite
//! first hit while another test's dispatcher was being registered or dropped could be
//! cached as "never" for the capturing test too. So the binary has one global
//! subscriber, installed before `main` and never replaced, whose filter says
//! "sometimes" for every callsite and decides per event from the captures active on
//! the current thread. Nothing is cached, so nothing depends on which test ran first.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing::Metadata;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

type Buffer = Arc<Mutex<Vec<u8>>>;

thread_local! {
    static ACTIVE: RefCell<Vec<(Buffer, Targets)>> = const { RefCell::new(Vec::new()) };
}

/// Buffers on this thread that want `meta`.
fn wanting(meta: &Metadata<'_>) -> Vec<Buffer> {
    ACTIVE
        .try_with(|active| {
            active
                .borrow()
                .iter()
                .filter(|(_, targets)| targets.would_enable(meta.target(), meta.level()))
                .map(|(buffer, _)| buffer.clone())
                .collect()
        })
        .unwrap_or_default()
}

struct ThisThread;

impl<S> Filter<S> for ThisThread {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        !wanting(meta).is_empty()
    }

    fn callsite_enabled(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
}

struct Route;

/// One formatted line, written to every capture that wanted it.
struct Line(Vec<Buffer>);

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for buffer in &self.0 {
            buffer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Route {
    type Writer = Line;
    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        Line(wanting(meta))
    }
}

#[ctor::ctor]
fn install() {
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Route)
        .with_filter(ThisThread);
    // Before `main`: no other subscriber can have been set.
    let _ = tracing::subscriber::set_global_default(Registry::default().with(layer));
}

/// Everything `tracing` writes on this thread while the guard lives (use a
/// current-thread runtime so the test's tasks all log here).
#[derive(Clone, Default)]
pub struct Logs(Buffer);

/// Stops the capture when dropped.
pub struct Capturing(Buffer);

impl Drop for Capturing {
    fn drop(&mut self) {
        let _ = ACTIVE.try_with(|active| {
            active
                .borrow_mut()
                .retain(|(buffer, _)| !Arc::ptr_eq(buffer, &self.0))
        });
    }
}

impl Logs {
    pub fn capture() -> (Logs, Capturing) {
        Self::capture_filtered("debug")
    }

    /// As [`Logs::capture`], with directives such as `trace,crate=off`.
    pub fn capture_filtered(filter: &str) -> (Logs, Capturing) {
        let targets: Targets = filter.parse().expect("a valid filter");
        let logs = Logs::default();
        ACTIVE.with(|active| active.borrow_mut().push((logs.0.clone(), targets)));
        (logs.clone(), Capturing(logs.0))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}
