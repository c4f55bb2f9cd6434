//! Property tests: arbitrary bytes never panic the server's connection logic, and how bytes are
//! chunked by the network never changes what the server does.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use prost::Message;
use spindle_ipc::server::{ConnectionAction, ConnectionState};
use spindle_ipc::wire::request::{parse_client_frame, request_header};
use spindle_ipc::wire::{frame, put_delimited_bytes};
use spindle_ipc::{AuthPolicy, InvalidToken, TokenSecretManager};
use spindle_proto::common::{IpcConnectionContextProto, RequestHeaderProto};

struct AnyToken;

impl TokenSecretManager for AnyToken {
    fn token_kind(&self) -> &str {
        "TEST"
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
        if identifier.is_empty() {
            Err(InvalidToken::new("empty"))
        } else {
            Ok(identifier.to_vec())
        }
    }
}

/// Feeds `bytes` split at `cuts`, then EOF; returns every action. Panics if an action follows a close.
fn drive(policy: AuthPolicy, bytes: &[u8], cuts: &[usize]) -> Vec<ConnectionAction> {
    let mut state = ConnectionState::new(policy, 4096);
    let mut buffer = BytesMut::new();
    let mut actions = Vec::new();
    let mut start = 0;
    let mut boundaries: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
    boundaries.push(bytes.len());
    boundaries.sort_unstable();
    for end in boundaries {
        buffer.extend_from_slice(&bytes[start..end]);
        start = end;
        while let Some(action) = state.next_action(&mut buffer) {
            assert!(
                !actions
                    .iter()
                    .any(|earlier| matches!(earlier, ConnectionAction::Close { .. })),
                "action after close"
            );
            actions.push(action);
        }
    }
    if let Some(action) = state.end_of_stream(&buffer) {
        actions.push(action);
    }
    assert!(state.is_closed());
    actions
}

fn valid_prefix() -> Vec<u8> {
    let mut bytes = b"hrpc\x09\x00\x00".to_vec();
    let mut payload = request_header(-3, &[1; 16], -1).encode_length_delimited_to_vec();
    put_delimited_bytes(
        &mut payload,
        &IpcConnectionContextProto::default().encode_to_vec(),
    );
    bytes.extend_from_slice(&frame(&payload));
    bytes
}

fn valid_call(call_id: i32, body: &[u8]) -> Bytes {
    let mut payload = request_header(call_id, &[1; 16], 0).encode_length_delimited_to_vec();
    let routing = RequestHeaderProto {
        method_name: "m".into(),
        declaring_class_protocol_name: "p".into(),
        client_protocol_version: 1,
    };
    put_delimited_bytes(&mut payload, &routing.encode_to_vec());
    put_delimited_bytes(&mut payload, body);
    frame(&payload)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        drive(AuthPolicy::Simple, &bytes, &cuts);
        drive(AuthPolicy::Token(Arc::new(AnyToken)), &bytes, &cuts);
    }

    #[test]
    fn arbitrary_frames_after_a_valid_start_never_panic(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..6),
        sasl in any::<bool>(),
    ) {
        let mut bytes = if sasl { b"hrpc\x09\x00\xdf".to_vec() } else { valid_prefix() };
        for payload in &frames {
            bytes.extend_from_slice(&frame(payload));
        }
        drive(AuthPolicy::Simple, &bytes, &[]);
        drive(AuthPolicy::Token(Arc::new(AnyToken)), &bytes, &[]);
    }

    #[test]
    fn mutated_valid_streams_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut bytes = valid_prefix();
        bytes.extend_from_slice(&valid_call(1, &[8, 1]));
        bytes.extend_from_slice(&valid_call(2, &[]));
        for (position, value) in flips {
            let index = position % bytes.len();
            bytes[index] = value;
        }
        drive(AuthPolicy::Simple, &bytes, &[]);
    }

    #[test]
    fn chunking_does_not_change_the_outcome(
        call_ids in proptest::collection::vec(0..1000i32, 0..5),
        junk in proptest::collection::vec(any::<u8>(), 0..40),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut bytes = valid_prefix();
        for call_id in &call_ids {
            bytes.extend_from_slice(&valid_call(*call_id, b"\x0a\x01x"));
        }
        bytes.extend_from_slice(&junk);
        let whole = drive(AuthPolicy::Simple, &bytes, &[]);
        let chunked = drive(AuthPolicy::Simple, &bytes, &cuts);
        prop_assert_eq!(&whole, &chunked);
        let dispatched: Vec<i32> = whole.iter().filter_map(|action| match action {
            ConnectionAction::Dispatch { call, .. } => Some(call.reply_to.call_id),
            _ => None,
        }).collect();
        prop_assert_eq!(&dispatched[..call_ids.len().min(dispatched.len())], &call_ids[..dispatched.len().min(call_ids.len())]);
        prop_assert!(dispatched.len() >= call_ids.len());
    }

    #[test]
    fn frame_parser_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_client_frame(Bytes::from(payload));
    }
}
