//! Async driver of one server connection: moves bytes between the socket and `ConnectionState`,
//! runs dispatched calls concurrently and writes their replies in completion order.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use spindle_proto::common::rpc_response_header_proto::RpcStatusProto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, Instrument};

use super::connection_state::{ConnectionAction, ConnectionState};
use super::{ServerShared, UnauthenticatedSlot};
use crate::error::{java_class, RpcError};
use crate::service::{CallContext, CallerIdentity};
use crate::wire::request::CallFrame;
use crate::wire::response::{error_frame, success_frame, ErrorReply};

/// Room made for each read. Every connection holds about this much (the frames read are shared
/// out of the same buffer), so it stays small: an RM serves thousands of NM and AM connections,
/// and their calls are a few hundred bytes to a few KB; larger frames grow the buffer as needed.
const READ_CHUNK: usize = 4 * 1024;
/// How long a FATAL reply or the last replies may take to reach a peer that does not read.
const FINAL_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

enum Outbound {
    Frame(Bytes),
    /// A call's reply; its slot is given back once the reply is written.
    Reply(Bytes, OwnedSemaphorePermit),
    Close(Option<Bytes>),
}

/// Why the read loop stopped, which decides what happens to calls still running.
enum Ending {
    /// FATAL error or HTTP: send the last words at once, abandon running calls.
    Abrupt(Option<Bytes>),
    /// EOF, idle or shutdown: let running calls answer (within the grace period), then close.
    Graceful,
}

pub(crate) async fn serve_connection<S>(
    stream: S,
    peer_addr: SocketAddr,
    shared: Arc<ServerShared>,
    mut shutdown: watch::Receiver<bool>,
    mut unauthenticated: UnauthenticatedSlot,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    debug!("IPC connection accepted");
    let (mut reader, writer) = tokio::io::split(stream);
    let (outbound_sender, outbound_receiver) = mpsc::unbounded_channel();
    let mut writer_task = tokio::spawn(write_loop(writer, outbound_receiver));
    let mut state = ConnectionState::new(shared.config.auth.clone(), shared.config.max_frame_len);
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    let mut calls = JoinSet::new();
    let reply_slots = Arc::new(Semaphore::new(
        shared.config.max_unwritten_replies_per_connection.max(1),
    ));
    let mut last_activity = Instant::now();
    let auth_deadline = Instant::now() + shared.config.auth_timeout;
    let max_in_flight = shared.config.max_in_flight_calls_per_connection.max(1);

    let ending = 'connection: loop {
        // Frames already buffered wait too while the connection is at its in-flight limit.
        while calls.len() < max_in_flight {
            let Some(action) = state.next_action(&mut buffer) else {
                break;
            };
            match action {
                ConnectionAction::Send(frame) => {
                    let _ = outbound_sender.send(Outbound::Frame(frame));
                }
                ConnectionAction::Dispatch { call, identity } => {
                    dispatch(
                        &shared,
                        &mut calls,
                        &outbound_sender,
                        &reply_slots,
                        call,
                        identity,
                        peer_addr,
                    );
                }
                ConnectionAction::Close { last_words, reason } => {
                    debug!(%reason, "closing IPC connection");
                    break 'connection Ending::Abrupt(last_words);
                }
            }
        }
        if state.identity().is_some() {
            unauthenticated.release();
        }
        if *shutdown.borrow() {
            break Ending::Graceful;
        }
        buffer.reserve(READ_CHUNK);
        tokio::select! {
            read = reader.read_buf(&mut buffer), if calls.len() < max_in_flight => match read {
                Ok(0) => match state.end_of_stream(&buffer) {
                    Some(ConnectionAction::Close { last_words: Some(last_words), reason }) => {
                        debug!(%reason, "peer closed mid-frame");
                        break Ending::Abrupt(Some(last_words));
                    }
                    _ => {
                        debug!("peer closed the connection");
                        break Ending::Graceful;
                    }
                },
                Ok(_) => last_activity = Instant::now(),
                Err(error) => {
                    debug!(%error, "read failed");
                    break Ending::Abrupt(None);
                }
            },
            Some(_) = calls.join_next(), if !calls.is_empty() => last_activity = Instant::now(),
            _ = sleep_until(last_activity + shared.config.idle_timeout), if calls.is_empty() => {
                debug!(idle_timeout = ?shared.config.idle_timeout, "closing idle IPC connection");
                break Ending::Graceful;
            }
            _ = sleep_until(auth_deadline), if state.identity().is_none() => {
                debug!(auth_timeout = ?shared.config.auth_timeout, "closing IPC connection that did not authenticate in time");
                break Ending::Abrupt(None);
            }
            _ = shutdown.changed() => break Ending::Graceful,
            _ = &mut writer_task => {
                debug!("writer stopped, closing");
                break Ending::Abrupt(None);
            }
        }
    };

    match ending {
        Ending::Abrupt(last_words) => {
            calls.abort_all();
            let _ = outbound_sender.send(Outbound::Close(last_words));
        }
        Ending::Graceful => {
            let grace = shared.config.shutdown_grace;
            let drained =
                timeout(grace, async { while calls.join_next().await.is_some() {} }).await;
            if drained.is_err() {
                debug!(
                    abandoned = calls.len(),
                    "calls still running after the grace period"
                );
                calls.abort_all();
            }
            let _ = outbound_sender.send(Outbound::Close(None));
        }
    }
    drop(outbound_sender);
    if !writer_task.is_finished()
        && timeout(FINAL_WRITE_TIMEOUT, &mut writer_task)
            .await
            .is_err()
    {
        writer_task.abort();
    }
    debug!("IPC connection closed");
}

fn dispatch(
    shared: &Arc<ServerShared>,
    calls: &mut JoinSet<()>,
    outbound: &mpsc::UnboundedSender<Outbound>,
    reply_slots: &Arc<Semaphore>,
    call: CallFrame,
    identity: CallerIdentity,
    peer_addr: SocketAddr,
) {
    let span = tracing::debug_span!("ipc_call", call_id = call.reply_to.call_id, method = %call.method_name);
    let Some(service) = shared.services.get(&call.protocol_name).cloned() else {
        let _guard = span.enter();
        debug!(protocol = %call.protocol_name, "unknown protocol");
        let error = RpcError::no_such_protocol(&call.protocol_name);
        let _ = outbound.send(Outbound::Frame(error_reply(&call, &error)));
        return;
    };
    let call_permits = shared.call_permits.clone();
    let outbound = outbound.clone();
    let reply_slots = reply_slots.clone();
    let context = CallContext {
        identity,
        protocol: call.protocol_name.clone(),
        peer_addr,
        call_id: call.reply_to.call_id,
    };
    let metrics = shared.metrics.clone();
    let received = std::time::Instant::now();
    calls.spawn(
        async move {
            let CallFrame {
                reply_to,
                method_name,
                request,
                ..
            } = &call;
            // Wait until the client has taken enough earlier replies (never closed while the
            // connection lives).
            let Ok(slot) = reply_slots.acquire_owned().await else {
                return;
            };
            // Admission for the whole server, once the call has its reply slot (so a client that
            // never reads holds slots of its own connection only): past the limit the caller is
            // told to come back, at once and without running anything.
            let Ok(admitted) = call_permits.try_acquire_owned() else {
                debug!("server too busy");
                metrics.record_too_busy();
                let error = RpcError::new(java_class::RETRIABLE, "Server too busy");
                let _ = outbound.send(Outbound::Reply(error_reply(&call, &error), slot));
                return;
            };
            debug!("call started");
            let started = std::time::Instant::now();
            let protocol = context.protocol.clone();
            let future = service.call(context, method_name.clone(), request.clone());
            let result = AssertUnwindSafe(future)
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    Err(RpcError::new(
                        "java.lang.RuntimeException",
                        format!("the server failed while handling {method_name}"),
                    ))
                });
            metrics.record(
                &protocol,
                method_name,
                started - received,
                started.elapsed(),
                result.is_err(),
            );
            let frame = match result {
                Ok(response) => {
                    debug!(response_len = response.len(), "call succeeded");
                    success_frame(reply_to, &response)
                }
                Err(error) => {
                    debug!(class = %error.class_name, message = %error.message, "call failed");
                    error_reply(&call, &error)
                }
            };
            drop(admitted);
            let _ = outbound.send(Outbound::Reply(frame, slot));
        }
        .instrument(span),
    );
}

fn error_reply(call: &CallFrame, error: &RpcError) -> Bytes {
    let reply = ErrorReply {
        status: RpcStatusProto::Error,
        code: error.error_code(),
        class_name: error.class_name.clone(),
        message: error.message.clone(),
    };
    error_frame(&call.reply_to, &reply)
}

async fn write_loop<W: AsyncWrite>(writer: W, mut outbound: mpsc::UnboundedReceiver<Outbound>) {
    tokio::pin!(writer);
    while let Some(message) = outbound.recv().await {
        match message {
            Outbound::Frame(frame) => {
                if let Err(error) = writer.write_all(&frame).await {
                    debug!(%error, "write failed");
                    return;
                }
            }
            Outbound::Reply(frame, slot) => {
                if let Err(error) = writer.write_all(&frame).await {
                    debug!(%error, "write failed");
                    return;
                }
                // Written: the next call may run.
                drop(slot);
            }
            Outbound::Close(last_words) => {
                if let Some(last_words) = last_words {
                    let _ = writer.write_all(&last_words).await;
                }
                break;
            }
        }
    }
    let _ = writer.flush().await;
    let _ = writer.shutdown().await;
}
