//! Fuzz target: arbitrary client bytes through the server's connection state machine and frame parser.
#![no_main]

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use spindle_ipc::server::{ConnectionAction, ConnectionState};
use spindle_ipc::wire::request::parse_client_frame;
use spindle_ipc::{AuthPolicy, InvalidToken, TokenSecretManager};

struct EchoSecret;

impl TokenSecretManager for EchoSecret {
    fn token_kind(&self) -> &str {
        "FUZZ"
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
        Ok(identifier.to_vec())
    }
}

/// Feeds `bytes` in chunks whose sizes come from the first byte, then signals EOF.
fn drive(policy: AuthPolicy, bytes: &[u8]) {
    let (chunk_seed, bytes) = match bytes.split_first() {
        Some((seed, rest)) => (usize::from(*seed % 32) + 1, rest),
        None => (1, bytes),
    };
    let mut state = ConnectionState::new(policy, 64 * 1024);
    let mut buffer = BytesMut::new();
    let mut closed = false;
    for chunk in bytes.chunks(chunk_seed) {
        buffer.extend_from_slice(chunk);
        while let Some(action) = state.next_action(&mut buffer) {
            assert!(!closed, "an action followed a close");
            closed = matches!(action, ConnectionAction::Close { .. });
        }
    }
    if state.end_of_stream(&buffer).is_some() {
        assert!(!closed, "end of stream acted after a close");
    }
    assert!(state.is_closed());
}

fuzz_target!(|data: &[u8]| {
    drive(AuthPolicy::Simple, data);
    drive(AuthPolicy::Token(Arc::new(EchoSecret)), data);
    let _ = parse_client_frame(Bytes::copy_from_slice(data));
});
