//! HAServiceProtocol on the admin port: `rmadmin -getServiceState`, `-checkHealth`,
//! `-transitionToActive` and `-transitionToStandby`, answered as YARN's RM answers them.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use spindle_ipc::{typed_call, CallContext, RpcError, RpcService};
use spindle_proto::common::*;

use super::{HaState, Supervisor};

/// The IPC protocol name Hadoop's HAAdmin dials.
pub const HA_SERVICE_PROTOCOL: &str = "org.apache.hadoop.ha.HAServiceProtocol";

const SERVICE_FAILED: &str = "org.apache.hadoop.ha.ServiceFailedException";
const HEALTH_CHECK_FAILED: &str = "org.apache.hadoop.ha.HealthCheckFailedException";
const ACCESS_CONTROL: &str = "org.apache.hadoop.security.AccessControlException";

pub(super) struct HaProtocol {
    pub(super) supervisor: Arc<Supervisor>,
}

fn state_proto(state: HaState) -> HaServiceStateProto {
    match state {
        HaState::Initializing => HaServiceStateProto::Initializing,
        HaState::Active => HaServiceStateProto::Active,
        HaState::Standby => HaServiceStateProto::Standby,
    }
}

/// Manual transitions are refused while the election decides, unless forced (`--forcemanual`).
fn check_manual(supervisor: &Supervisor, source: i32) -> Result<(), RpcError> {
    let source = HaRequestSource::try_from(source).unwrap_or(HaRequestSource::RequestByUser);
    if supervisor.ha.automatic_failover && source == HaRequestSource::RequestByUser {
        return Err(RpcError::new(
            ACCESS_CONTROL,
            "Manual failover for this ResourceManager is disallowed, because automatic failover is enabled.",
        ));
    }
    Ok(())
}

impl RpcService for HaProtocol {
    fn protocol(&self) -> &'static str {
        HA_SERVICE_PROTOCOL
    }

    fn call(
        &self,
        _context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        let supervisor = self.supervisor.clone();
        Box::pin(async move {
            match method.as_str() {
                "getServiceStatus" => {
                    typed_call(request, |_: GetServiceStatusRequestProto| async move {
                        let state = supervisor.state();
                        let ready = matches!(state, HaState::Active | HaState::Standby);
                        Ok(GetServiceStatusResponseProto {
                            state: state_proto(state) as i32,
                            ready_to_become_active: Some(ready),
                            not_ready_reason: (!ready)
                                .then(|| format!("State is {}", state.name().to_uppercase())),
                        })
                    })
                    .await
                }
                "monitorHealth" => {
                    typed_call(request, |_: MonitorHealthRequestProto| async move {
                        let active = supervisor.state() == HaState::Active;
                        if active && supervisor.active.lock().await.is_none() {
                            return Err(RpcError::new(
                                HEALTH_CHECK_FAILED,
                                "Active ResourceManager services are not running!",
                            ));
                        }
                        Ok(MonitorHealthResponseProto {})
                    })
                    .await
                }
                "transitionToStandby" => {
                    typed_call(request, |r: TransitionToStandbyRequestProto| async move {
                        check_manual(&supervisor, r.req_info.req_source)?;
                        if supervisor.state() == HaState::Active {
                            // The elector stops the active services, deletes the lock and
                            // rejoins after a pause (never keeps the lock, YARN-11870).
                            supervisor.relinquish.send_modify(|n| *n += 1);
                        }
                        Ok(TransitionToStandbyResponseProto {})
                    })
                    .await
                }
                "transitionToActive" => {
                    typed_call(request, |r: TransitionToActiveRequestProto| async move {
                        check_manual(&supervisor, r.req_info.req_source)?;
                        if supervisor.state() == HaState::Active {
                            return Ok(TransitionToActiveResponseProto {});
                        }
                        // Only the election makes an RM active: the holder of the lock.
                        Err(RpcError::new(
                            SERVICE_FAILED,
                            format!(
                                "ResourceManager {} becomes active only by winning the election in ZooKeeper",
                                supervisor.ha.rm_id
                            ),
                        ))
                    })
                    .await
                }
                _ => Err(RpcError::no_such_method(HA_SERVICE_PROTOCOL, &method)),
            }
        })
    }
}
