//! An HTTP server for a daemon's router: requests in flight bounded (a flood waits in the
//! kernel's backlog instead of growing memory), a deadline per request, bodies bounded, and a
//! clean stop that lets calls in flight finish.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Requests one server works on at once.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 512;
/// The longest a request may take (a proxied page included).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(60);
/// The largest request body (a REST submission with its launch context).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// A running web server.
pub struct WebServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl WebServer {
    /// Binds `address` (port 0 picks one) and serves `router`.
    pub async fn bind(address: SocketAddr, router: Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        Self::serve(listener, router)
    }

    /// Serves `router` on a listener the caller bound.
    pub fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let router = router
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(
                tower::ServiceBuilder::new()
                    .layer(axum::error_handling::HandleErrorLayer::new(
                        |_: tower::BoxError| async {
                            crate::WebError::plain(
                                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                                "the request took longer than the server's deadline",
                            )
                        },
                    ))
                    .timeout(REQUEST_DEADLINE)
                    .concurrency_limit(MAX_REQUESTS_IN_FLIGHT),
            );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let served = axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("web server on {address} stopped: {e}");
            }
        });
        Ok(Self {
            address,
            stop: Some(stop),
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets requests in flight finish (at most a few seconds), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
