//! One module per `spindle` subcommand; each returns the process exit code.

pub mod application;
pub mod attempts;
pub mod daemons;
pub mod demo;
pub mod dshell;
pub mod fatal_panics;
pub mod faults;
pub mod logs;
pub mod minicluster;
pub mod node;
pub mod queue;
pub mod rmadmin;
pub mod scaling;
pub mod sim;
pub mod soak;
pub mod stop_signal;
pub mod top;

/// Logs to stderr, filtered by `SPINDLE_LOG` (default `default_level`).
pub fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPINDLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Colour only on a terminal: a daemon's log file gets no escape codes.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
