//! What `tracing` writes, captured in memory for assertions: on the test's own thread
//! ([`Logs::capture`]) or from every thread of the process ([`Logs::everywhere`]).
//!
//! A thread-local subscriber per test (`tracing::subscriber::set_default`) made the
//! outcome depend on order: callsite interest is cached process-wide, and a callsite
//! first hit while another test's dispatcher was being registered or dropped could be
//! cached as "never" for the capturing test too. So a test binary has one global
//! subscriber, installed once ([`install`], from a `#[ctor]` so that it precedes every
//! callsite) and never replaced, whose filter says "sometimes" for every callsite and
//! decides per event from the captures active now. Nothing is cached, so nothing
//! depends on which test ran first.

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, RwLock};
use tracing::Metadata;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

type Buffer = Arc<Mutex<Vec<u8>>>;

thread_local! {
    static ON_THIS_THREAD: RefCell<Vec<(Buffer, Targets)>> = const { RefCell::new(Vec::new()) };
}

static EVERYWHERE: RwLock<Vec<(Buffer, Targets)>> = RwLock::new(Vec::new());
/// Spares every event a lock until some test captures everywhere: callsites are
/// asked about each event (nothing is cached), trace-level ones in hot loops included.
static ANY_EVERYWHERE: AtomicBool = AtomicBool::new(false);

/// Buffers that want `meta`: this thread's captures and the process-wide ones.
fn wanting(meta: &Metadata<'_>) -> Vec<Buffer> {
    let wants = |(buffer, targets): &(Buffer, Targets)| {
        targets
            .would_enable(meta.target(), meta.level())
            .then(|| buffer.clone())
    };
    let mut buffers: Vec<Buffer> = ON_THIS_THREAD
        .try_with(|active| active.borrow().iter().filter_map(wants).collect())
        .unwrap_or_default();
    if ANY_EVERYWHERE.load(Ordering::Acquire) {
        let everywhere = EVERYWHERE.read().unwrap_or_else(|e| e.into_inner());
        buffers.extend(everywhere.iter().filter_map(wants));
    }
    buffers
}

struct Wanted;

impl<S> Filter<S> for Wanted {
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

/// Installs the global capturing subscriber, once. Call it from a `#[ctor::ctor]` in
/// the test binary; captures call it too, in case a binary did not.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(Route)
            .with_filter(Wanted);
        // Fails only if the binary set another global subscriber, which then wins.
        let _ = tracing::subscriber::set_global_default(Registry::default().with(layer));
    });
}

/// Captured log text.
#[derive(Clone, Default)]
pub struct Logs(Buffer);

/// Stops a thread's capture when dropped.
pub struct Capturing(Buffer);

impl Drop for Capturing {
    fn drop(&mut self) {
        let _ = ON_THIS_THREAD.try_with(|active| {
            active
                .borrow_mut()
                .retain(|(buffer, _)| !Arc::ptr_eq(buffer, &self.0))
        });
    }
}

impl Logs {
    /// Everything `tracing` writes at debug and up on this thread while the guard
    /// lives (use a current-thread runtime so the test's tasks all log here).
    pub fn capture() -> (Logs, Capturing) {
        Self::capture_filtered("debug")
    }

    /// As [`Logs::capture`], with directives such as `trace,crate=off`.
    pub fn capture_filtered(filter: &str) -> (Logs, Capturing) {
        install();
        let targets: Targets = filter.parse().expect("a valid filter");
        let logs = Logs::default();
        ON_THIS_THREAD.with(|active| active.borrow_mut().push((logs.0.clone(), targets)));
        (logs.clone(), Capturing(logs.0))
    }

    /// Everything `tracing` writes from now on, on any thread, that `filter` lets
    /// through; for what runs on threads a test does not own. It never stops: other
    /// tests running at the same time write here too, so assert on what only the
    /// test's own names or values can produce.
    pub fn everywhere(filter: &str) -> Logs {
        install();
        let targets: Targets = filter.parse().expect("a valid filter");
        let logs = Logs::default();
        EVERYWHERE
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((logs.0.clone(), targets));
        ANY_EVERYWHERE.store(true, Ordering::Release);
        logs
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}
