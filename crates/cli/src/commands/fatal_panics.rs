//! A panic in a daemon is fatal: the daemon prints it and exits with status 70 at once, rather
//! than letting the task that panicked vanish (tokio catches panics in tasks, the IPC server turns
//! them into a RuntimeException for the caller) while the daemon keeps running on state the
//! interrupted transition left half-updated. A supervisor, or the HA standby, takes over.

/// The exit status of a daemon stopped by a panic (`EX_SOFTWARE`).
pub const PANIC_EXIT_STATUS: i32 = 70;

/// Makes every panic in this process print its message and location, then exit.
pub fn install(daemon: &'static str) {
    let print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        print(info);
        eprintln!(
            "{daemon}: stopping after a panic (exit status {PANIC_EXIT_STATUS}): its state may be \
             half-updated, so it does not go on serving"
        );
        std::process::exit(PANIC_EXIT_STATUS);
    }));
}
