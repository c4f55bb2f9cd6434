//! Waiting for the signal that stops a daemon: Ctrl-C (SIGINT) or SIGTERM, what systemd, docker
//! and `kill` send; either way the caller shuts down cleanly (an NM stops its containers first).

/// Waits until the process receives SIGINT or SIGTERM; returns the signal's name.
pub async fn stop_requested() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => {
            interrupted?;
            Ok("SIGINT")
        }
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}
