//! A client that pipelines calls and never reads the replies cannot make the server compute and
//! queue replies without bound: a connection has a few reply slots, a call waits for one before
//! it runs, and at the in-flight limit the server stops reading that connection. Other clients
//! are served meanwhile, and the stalled client gets every reply once it reads.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures::future::BoxFuture;
use spindle_ipc::{CallContext, RpcError, RpcService, ServerConfig};
use spindle_proto::common::rpc_response_header_proto::RpcStatusProto;

const FLOOD_PROTOCOL: &str = "org.spindle.test.FloodProtocolPB";
const REPLY_BYTES: usize = 1 << 20;

/// Answers every call with 1 MiB, counting the calls it has run.
struct BigReplies {
    ran: Arc<AtomicUsize>,
}

impl RpcService for BigReplies {
    fn protocol(&self) -> &'static str {
        FLOOD_PROTOCOL
    }

    fn call(
        &self,
        _context: CallContext,
        _method: String,
        _request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        self.ran.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            // A protobuf bytes field 1 of 1 MiB: tag, varint length, payload.
            let mut reply = vec![0x0a, 0x80, 0x80, 0x40];
            reply.resize(4 + REPLY_BYTES, b'x');
            Ok(Bytes::from(reply))
        })
    }
}

/// A server on 127.0.0.1 with the test services plus `service`.
async fn serve_with(service: Arc<dyn RpcService>, config: ServerConfig) -> spindle_ipc::Server {
    let mut services = test_services();
    services.push(service);
    spindle_ipc::Server::bind("127.0.0.1:0", config, services)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_replies_stalls_only_itself() {
    let ran = Arc::new(AtomicUsize::new(0));
    let server = serve_with(
        Arc::new(BigReplies { ran: ran.clone() }),
        ServerConfig {
            max_unwritten_replies_per_connection: 4,
            ..ServerConfig::default()
        },
    )
    .await;
    let address = server.local_addr();

    let calls = 200;
    let mut greedy = RawConnection::open_simple(address, FLOOD_PROTOCOL).await;
    for call_id in 0..calls {
        greedy
            .send(&call_frame(call_id, FLOOD_PROTOCOL, "big", &[]))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let computed = ran.load(Ordering::SeqCst);
    // 4 slots, one reply being written and what the loopback socket buffers hold (a few MiB);
    // without the slots all 200 replies (200 MiB) would be computed and queued.
    assert!(
        computed <= 40,
        "{computed} of {calls} replies computed for a client that reads none"
    );

    // Everyone else is served meanwhile.
    assert_server_healthy(address).await;

    // The stalled client gets every reply, in full, once it reads.
    for _ in 0..calls {
        let (header, body) = greedy.read_reply_up_to(2 * REPLY_BYTES).await;
        assert_eq!(header.status(), RpcStatusProto::Success);
        assert!(body.len() > REPLY_BYTES);
    }
    assert_eq!(ran.load(Ordering::SeqCst), calls as usize);
}

const HOLD_PROTOCOL: &str = "org.spindle.test.HoldProtocolPB";

/// Holds every call until `release` is sent true, counting the calls it started.
struct HeldCalls {
    started: Arc<AtomicUsize>,
    release: tokio::sync::watch::Receiver<bool>,
}

impl RpcService for HeldCalls {
    fn protocol(&self) -> &'static str {
        HOLD_PROTOCOL
    }

    fn call(
        &self,
        _context: CallContext,
        _method: String,
        _request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let mut release = self.release.clone();
        Box::pin(async move {
            let _ = release.wait_for(|go| *go).await;
            Ok(Bytes::new())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_server_wide_call_limit_callers_are_told_server_too_busy_at_once() {
    let started = Arc::new(AtomicUsize::new(0));
    let (release, held) = tokio::sync::watch::channel(false);
    let server = serve_with(
        Arc::new(HeldCalls {
            started: started.clone(),
            release: held,
        }),
        ServerConfig {
            max_calls_in_flight: 3,
            ..ServerConfig::default()
        },
    )
    .await;
    let address = server.local_addr();

    // Three connections, two calls each: three run (and wait), three are refused.
    let mut connections = Vec::new();
    for connection in 0..3 {
        let mut raw = RawConnection::open_simple(address, HOLD_PROTOCOL).await;
        for call in 0..2 {
            raw.send(&call_frame(
                connection * 10 + call,
                HOLD_PROTOCOL,
                "hold",
                &[],
            ))
            .await;
        }
        connections.push(raw);
    }
    // The refusals come at once, while the admitted calls are still held.
    let mut replies = [0; 3];
    let mut refused = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while refused < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {refused} of 3 calls refused"
        );
        for (index, raw) in connections.iter_mut().enumerate() {
            if replies[index] == 2 {
                continue;
            }
            if let Ok((header, _)) =
                tokio::time::timeout(Duration::from_millis(100), raw.read_reply()).await
            {
                assert_eq!(header.status(), RpcStatusProto::Error);
                assert_eq!(
                    header.exception_class_name(),
                    "org.apache.hadoop.ipc.RetriableException"
                );
                assert_eq!(header.error_msg(), "Server too busy");
                replies[index] += 1;
                refused += 1;
            }
        }
    }
    assert_eq!(started.load(Ordering::SeqCst), 3, "only admitted calls ran");

    // A Spindle client sees Hadoop's retriable class.
    let client = echo_client(address, "alice").await;
    let error = client
        .call::<_, EchoResponse>("echo", &echo("hi", 0))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("RetriableException")
            && error.to_string().contains("Server too busy"),
        "{error}"
    );

    // Once the running calls finish, their callers get answers and the server takes calls again.
    release.send(true).unwrap();
    for (index, raw) in connections.iter_mut().enumerate() {
        while replies[index] < 2 {
            let (header, _) = raw.read_reply().await;
            assert_eq!(header.status(), RpcStatusProto::Success);
            replies[index] += 1;
        }
    }
    assert_server_healthy(address).await;
}
