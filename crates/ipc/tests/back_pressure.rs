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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_replies_stalls_only_itself() {
    let ran = Arc::new(AtomicUsize::new(0));
    let mut services = test_services();
    services.push(Arc::new(BigReplies { ran: ran.clone() }));
    let server = spindle_ipc::Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            max_unwritten_replies_per_connection: 4,
            ..ServerConfig::default()
        },
        services,
    )
    .await
    .unwrap();
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
