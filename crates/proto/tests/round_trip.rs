//! Property tests: domain value -> wire message -> bytes -> wire message -> domain value is the
//! identity, and arbitrary bytes never make decoding or conversion panic.

use proptest::prelude::*;
use spindle_proto::yarn::{
    AllocateRequestProto, ApplicationAttemptIdProto, ApplicationIdProto, ContainerIdProto,
    NodeHeartbeatRequestProto, NodeIdProto, ResourceProto,
};
use spindle_proto::Message;
use spindle_types::resource::GPU;
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

fn through_bytes<M: Message + Default>(message: &M) -> M {
    M::decode(message.encode_to_vec().as_slice()).expect("own encoding decodes")
}

fn attempt_strategy() -> impl Strategy<Value = ApplicationAttemptId> {
    (0i64..=i64::MAX, 0i32..=i32::MAX, 0i32..=i32::MAX).prop_map(|(timestamp, app, attempt)| {
        ApplicationAttemptId::new(ApplicationId::new(timestamp, app), attempt)
    })
}

fn resource_strategy() -> impl Strategy<Value = Resource> {
    (
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        proptest::option::of("[a-z]{1,8}\\.io/[a-z]{1,8}"),
    )
        .prop_map(|(memory, vcores, gpus, custom)| {
            let resource = Resource::new(memory, vcores).with(GPU, gpus);
            match custom {
                Some(name) => resource.with(&name, 3),
                None => resource,
            }
        })
}

proptest! {
    #[test]
    fn ids_round_trip(attempt in attempt_strategy(), epoch in 0i64..(1 << 23), sequence in 0i64..(1 << 40)) {
        let application_id = attempt.application_id;
        prop_assert_eq!(ApplicationId::try_from(through_bytes(&ApplicationIdProto::from(application_id))).unwrap(), application_id);
        prop_assert_eq!(ApplicationAttemptId::try_from(through_bytes(&ApplicationAttemptIdProto::from(attempt))).unwrap(), attempt);
        let container = ContainerId::new(attempt, epoch, sequence);
        let back = ContainerId::try_from(through_bytes(&ContainerIdProto::from(container))).unwrap();
        prop_assert_eq!(back, container);
        prop_assert_eq!(back.to_string(), container.to_string());
    }

    #[test]
    fn node_ids_round_trip(host in "[a-z0-9.-]{1,40}", port in any::<i32>()) {
        let node = NodeId::new(host, port);
        prop_assert_eq!(NodeId::try_from(through_bytes(&NodeIdProto::from(&node))).unwrap(), node);
    }

    #[test]
    fn resources_round_trip(resource in resource_strategy()) {
        prop_assert_eq!(Resource::try_from(through_bytes(&ResourceProto::from(&resource))).unwrap(), resource);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(proto) = ContainerIdProto::decode(data.as_slice()) {
            let _ = ContainerId::try_from(&proto);
        }
        if let Ok(proto) = ResourceProto::decode(data.as_slice()) {
            let _ = Resource::try_from(&proto);
        }
        let _ = AllocateRequestProto::decode(data.as_slice());
        let _ = NodeHeartbeatRequestProto::decode_length_delimited(data.as_slice());
    }
}
