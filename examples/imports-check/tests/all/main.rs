//! One test binary, a module per area.

mod examples;
