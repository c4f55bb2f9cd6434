//! Wire-compatibility checks against bytes the real Hadoop 3.5.0 Java client produced or accepted.

use spindle_proto::convert::require;
use spindle_proto::yarn::{
    AllocateRequestProto, ApplicationSubmissionContextProto, ContainerStatusProto,
    ContainerTokenIdentifierProto, ExecutionTypeProto, FinishApplicationMasterResponseProto,
    GetNewApplicationResponseProto, LocalResourceProto, LocalResourceTypeProto,
    LocalResourceVisibilityProto, ResourceRequestProto, UrlProto, YarnApplicationStateProto,
};
use spindle_proto::{ConvertError, Message};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text.replace(' ', "")).expect("test fixture is valid hex")
}

/// protocol.md 1.10: the body of the getNewApplication reply that the real YarnClient accepted
/// (varint length 0x12, then GetNewApplicationResponseProto).
const GET_NEW_APPLICATION_REPLY_BODY: &str =
    "12 0a 09 08 01 10 80 d0 95 ff bc 31 12 05 08 80 40 10 04";

#[test]
fn captured_get_new_application_reply_decodes_to_application_and_capability() {
    let reply = GetNewApplicationResponseProto::decode_length_delimited(
        bytes(GET_NEW_APPLICATION_REPLY_BODY).as_slice(),
    )
    .expect("the captured reply decodes");
    let application_id = ApplicationId::try_from(
        require(
            &reply.application_id,
            "GetNewApplicationResponseProto",
            "application_id",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(application_id, ApplicationId::new(1_700_000_000_000, 1));
    assert_eq!(application_id.to_string(), "application_1700000000000_0001");
    let maximum_capability =
        Resource::try_from(reply.maximum_capability.as_ref().unwrap()).unwrap();
    assert_eq!(maximum_capability, Resource::new(8192, 4));
}

/// Our encoding of the same reply (legacy fields plus the resource map). Hadoop 3.5.0's
/// GetNewApplicationResponsePBImpl read these exact bytes as application_1700000000000_0001 and
/// <memory:8192, vCores:4>.
const OUR_GET_NEW_APPLICATION_REPLY: &str =
    "0a0908011080d095ffbc31122b08804010041a140a096d656d6f72792d6d62\
                                             1080401a024d6920001a0e0a0676636f72657310041a002000";

#[test]
fn our_get_new_application_reply_has_the_bytes_the_java_client_accepted() {
    let reply = GetNewApplicationResponseProto {
        application_id: Some(ApplicationId::new(1_700_000_000_000, 1).into()),
        maximum_capability: Some(Resource::new(8192, 4).into()),
    };
    let wire = reply.encode_to_vec();
    assert_eq!(
        hex::encode(&wire),
        OUR_GET_NEW_APPLICATION_REPLY.replace(' ', "")
    );
    let decoded = GetNewApplicationResponseProto::decode(wire.as_slice()).unwrap();
    assert_eq!(
        Resource::try_from(decoded.maximum_capability.as_ref().unwrap()).unwrap(),
        Resource::new(8192, 4)
    );
}

#[test]
fn malformed_bytes_are_decode_errors_not_panics() {
    let full = bytes(GET_NEW_APPLICATION_REPLY_BODY);
    // Truncated in the middle of the nested ApplicationIdProto.
    assert!(GetNewApplicationResponseProto::decode_length_delimited(&full[..8]).is_err());
    // Length prefix claims more bytes than there are.
    assert!(
        GetNewApplicationResponseProto::decode_length_delimited(&[0x7f, 0x0a, 0x00][..]).is_err()
    );
    // Field 1 announced as a nested message with a length running past the end.
    assert!(GetNewApplicationResponseProto::decode(&[0x0a, 0x20, 0x08][..]).is_err());
    // Wire type 7 does not exist.
    assert!(AllocateRequestProto::decode(&[0x0f][..]).is_err());
    // A varint that never ends.
    assert!(ContainerStatusProto::decode(
        &[0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..]
    )
    .is_err());
}

#[test]
fn unknown_fields_from_newer_or_omitted_schema_parts_are_skipped() {
    // NodeReportProto field 15 (node attributes) and SchedulingRequestProto field 6 are not declared.
    let mut with_unknown = ResourceRequestProto {
        num_containers: Some(2),
        ..Default::default()
    }
    .encode_to_vec();
    with_unknown.extend_from_slice(&[0xfa, 0x01, 0x02, 0x08, 0x01]); // field 31, length 2: { 1: 1 }
    let decoded = ResourceRequestProto::decode(with_unknown.as_slice()).unwrap();
    assert_eq!(decoded.num_containers, Some(2));
}

#[test]
fn unset_fields_read_as_yarn_defaults() {
    let status = ContainerStatusProto::default();
    assert_eq!(status.diagnostics(), "N/A");
    assert_eq!(status.exit_status(), -1000);
    assert_eq!(status.execution_type(), ExecutionTypeProto::Guaranteed);

    let context = ApplicationSubmissionContextProto::default();
    assert_eq!(context.application_name(), "N/A");
    assert_eq!(context.queue(), "default");
    assert_eq!(context.application_type(), "YARN");
    assert!(context.cancel_tokens_when_complete());
    assert_eq!(context.attempt_failures_validity_interval(), -1);

    let request = ResourceRequestProto::default();
    assert!(request.relax_locality());
    assert_eq!(request.allocation_request_id(), -1);

    assert!(!FinishApplicationMasterResponseProto::default().is_unregistered());
    assert_eq!(ContainerTokenIdentifierProto::default().master_key_id(), -1);
    // An unset proto2 enum reads as its first declared value, as in Java.
    assert_eq!(
        spindle_proto::yarn::ApplicationReportProto::default().yarn_application_state(),
        YarnApplicationStateProto::New
    );
}

/// protocol.md 4.4: one 1408 MB / 1 core request as AMRMClient sends it.
#[test]
fn allocate_request_sample_round_trips() {
    let request = AllocateRequestProto {
        ask: vec![ResourceRequestProto {
            priority: Some(spindle_proto::yarn::PriorityProto { priority: Some(0) }),
            resource_name: Some("*".into()),
            capability: Some(Resource::new(1408, 1).into()),
            num_containers: Some(1),
            relax_locality: Some(true),
            node_label_expression: None,
            execution_type_request: Some(spindle_proto::yarn::ExecutionTypeRequestProto {
                execution_type: Some(ExecutionTypeProto::Guaranteed as i32),
                enforce_execution_type: Some(false),
            }),
            allocation_request_id: Some(0),
        }],
        blacklist_request: Some(Default::default()),
        response_id: Some(0),
        progress: Some(0.1),
        ..Default::default()
    };
    let wire = request.encode_to_vec();
    let back = AllocateRequestProto::decode(wire.as_slice()).unwrap();
    assert_eq!(back, request);
    let ask = &back.ask[0];
    assert_eq!(
        Resource::try_from(ask.capability.as_ref().unwrap()).unwrap(),
        Resource::new(1408, 1)
    );
    // The empty blacklist message is still present on the wire (field 3, length 0).
    assert!(wire.windows(2).any(|pair| pair == [0x1a, 0x00]));
}

#[test]
fn spark_style_local_resource_keeps_port_minus_one() {
    let resource = LocalResourceProto {
        resource: Some(UrlProto {
            scheme: Some("file".into()),
            port: Some(-1),
            file: Some("/home/u/.sparkStaging/application_1_0001/__spark_conf__.zip".into()),
            ..Default::default()
        }),
        size: Some(1234),
        timestamp: Some(1_700_000_000_000),
        r#type: Some(LocalResourceTypeProto::Archive as i32),
        visibility: Some(LocalResourceVisibilityProto::Private as i32),
        ..Default::default()
    };
    let wire = resource.encode_to_vec();
    // port -1 is a 10-byte varint, as the Java client writes it.
    assert!(wire
        .windows(11)
        .any(|w| w == [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    let back = LocalResourceProto::decode(wire.as_slice()).unwrap();
    assert_eq!(back.resource.as_ref().unwrap().port, Some(-1));
    assert_eq!(back.r#type(), LocalResourceTypeProto::Archive);
}

#[test]
fn container_token_identifier_carries_what_the_nm_needs() {
    let attempt = ApplicationAttemptId::new(ApplicationId::new(1_700_000_000_000, 3), 2);
    let container = ContainerId::new(attempt, 0, 4);
    let identifier = ContainerTokenIdentifierProto {
        container_id: Some(container.into()),
        nm_host_addr: Some("worker-1:45454".into()),
        app_submitter: Some("alice".into()),
        resource: Some(Resource::new(2048, 2).into()),
        container_type: Some(spindle_proto::yarn::ContainerTypeProto::Task as i32),
        ..Default::default()
    };
    // Token identifiers are the raw message bytes, without a length prefix.
    let token_identifier_bytes = identifier.encode_to_vec();
    let decoded = ContainerTokenIdentifierProto::decode(token_identifier_bytes.as_slice()).unwrap();
    let container_back = ContainerId::try_from(decoded.container_id.as_ref().unwrap()).unwrap();
    assert_eq!(
        container_back.to_string(),
        "container_1700000000000_0003_02_000004"
    );
    assert_eq!(decoded.app_submitter(), "alice");
    assert_eq!(
        Resource::try_from(decoded.resource.as_ref().unwrap()).unwrap(),
        Resource::new(2048, 2)
    );
}

#[test]
fn missing_container_id_in_a_token_is_a_named_error() {
    let identifier = ContainerTokenIdentifierProto::default();
    let error = require(
        &identifier.container_id,
        "ContainerTokenIdentifierProto",
        "container_id",
    )
    .unwrap_err();
    assert_eq!(
        error,
        ConvertError::MissingField {
            message: "ContainerTokenIdentifierProto",
            field: "container_id"
        }
    );
}
