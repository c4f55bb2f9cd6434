//! The `spindle` command: YARN daemons and client tools in one binary.
fn main() {}
