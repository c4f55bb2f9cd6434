//! A test-only fault: `SPINDLE_TEST_PANIC_IN_CORE=1` in the RM's environment makes the next
//! `getClusterNodes` call panic while it holds the RM core, to prove that a panic there ends the
//! daemon (non-zero exit, the panic in its log) instead of leaving it running on half-updated
//! state. Nothing else reads it; only whoever starts the process can set it.

use std::sync::OnceLock;

/// The environment variable that arms the fault.
pub const PANIC_IN_CORE_VARIABLE: &str = "SPINDLE_TEST_PANIC_IN_CORE";

/// Panics if the fault is armed.
pub(crate) fn panic_in_core_if_asked() {
    static ARMED: OnceLock<bool> = OnceLock::new();
    if *ARMED.get_or_init(|| std::env::var_os(PANIC_IN_CORE_VARIABLE).is_some()) {
        panic!("injected panic inside the RM core ({PANIC_IN_CORE_VARIABLE} is set)");
    }
}
