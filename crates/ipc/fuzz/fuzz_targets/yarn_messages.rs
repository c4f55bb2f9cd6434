//! Fuzzes decoding of the YARN messages the RM and NM read from the network, and their conversion
//! to domain types: neither may panic on any input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use prost::Message;
use spindle_proto::yarn::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SubmitApplicationRequestProto::decode(data) {
        if let Some(ctx) = m.application_submission_context {
            if let Some(id) = ctx.application_id.as_ref() {
                let _ = spindle_types::ApplicationId::try_from(id);
            }
            if let Some(r) = ctx.resource.as_ref() {
                let _ = spindle_types::Resource::try_from(r);
            }
        }
    }
    if let Ok(m) = AllocateRequestProto::decode(data) {
        for ask in &m.ask {
            if let Some(c) = ask.capability.as_ref() {
                let _ = spindle_types::Resource::try_from(c);
            }
        }
        for c in &m.release {
            let _ = spindle_types::ContainerId::try_from(c);
        }
    }
    if let Ok(m) = StartContainersRequestProto::decode(data) {
        for r in &m.start_container_request {
            if let Some(t) = r.container_token.as_ref() {
                let _ = ContainerTokenIdentifierProto::decode(t.identifier.as_slice());
            }
        }
    }
    let _ = NodeHeartbeatRequestProto::decode(data);
    let _ = RegisterNodeManagerRequestProto::decode(data);
});
