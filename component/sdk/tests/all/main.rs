//! One test binary, a module per area.

mod wit_in_sync;
