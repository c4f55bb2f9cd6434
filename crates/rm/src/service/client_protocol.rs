//! ApplicationClientProtocol (`yarn.resourcemanager.address`, 8032): what spark-submit, YarnClient
//! and the `spindle` CLI call.

use bytes::Bytes;
use futures::future::BoxFuture;
use spindle_ipc::{typed_call, CallContext, RpcError, RpcService};
use spindle_proto::yarn::*;
use spindle_types::states::NodeState;
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId};

use super::runtime::SharedCore;
use super::{invalid, protocols, required};

pub(crate) struct ClientProtocol {
    core: SharedCore,
}

impl ClientProtocol {
    pub(crate) fn new(core: SharedCore) -> Self {
        Self { core }
    }
}

fn app_id(proto: Option<&ApplicationIdProto>, message: &str) -> Result<ApplicationId, RpcError> {
    ApplicationId::try_from(required(proto, message, "application_id")?).map_err(invalid)
}

/// A live container as `getContainerReport` describes it (the RM keeps no record of finished
/// ones; YARN's RM does not report them either, its history server does).
fn container_report(core: &crate::core::RmCore, id: ContainerId) -> Option<ContainerReportProto> {
    let container = core.containers.get(&id)?;
    let user = core
        .application(id.attempt_id.application_id)
        .map(|app| app.user.clone())
        .unwrap_or_default();
    let http = core
        .nodes
        .get(&container.node)
        .map(|node| node.http_address())
        .unwrap_or_default();
    Some(ContainerReportProto {
        container_id: Some(id.into()),
        resource: Some((&container.resource).into()),
        node_id: Some((&container.node).into()),
        priority: Some(PriorityProto {
            priority: Some(container.priority),
        }),
        creation_time: Some(container.creation_time),
        finish_time: Some(0),
        diagnostics_info: Some(String::new()),
        log_url: Some(format!("http://{http}/node/containerlogs/{id}/{user}")),
        container_exit_status: Some(0),
        container_state: Some(ContainerStateProto::CRunning as i32),
        node_http_address: Some(format!("http://{http}")),
        ..Default::default()
    })
}

fn caller(context: &CallContext) -> String {
    context
        .identity
        .simple_user()
        .filter(|u| !u.is_empty())
        .unwrap_or("dr.who")
        .to_string()
}

impl RpcService for ClientProtocol {
    fn protocol(&self) -> &'static str {
        protocols::APPLICATION_CLIENT
    }

    fn call(
        &self,
        context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        let core = self.core.clone();
        Box::pin(async move {
            match method.as_str() {
                "getNewApplication" => {
                    typed_call(request, |_: GetNewApplicationRequestProto| async move {
                        let (id, max) = core.with(|c, _| c.new_application());
                        Ok(GetNewApplicationResponseProto {
                            application_id: Some(id.into()),
                            maximum_capability: Some((&max).into()),
                        })
                    })
                    .await
                }
                "submitApplication" => {
                    typed_call(request, |r: SubmitApplicationRequestProto| async move {
                        let submission = required(
                            r.application_submission_context.as_ref(),
                            "SubmitApplicationRequestProto",
                            "application_submission_context",
                        )?
                        .clone();
                        let user = caller(&context);
                        core.with(|c, now| c.submit_application(&user, submission, now))?;
                        Ok(SubmitApplicationResponseProto {})
                    })
                    .await
                }
                "getApplicationReport" => {
                    typed_call(request, |r: GetApplicationReportRequestProto| async move {
                        let id = app_id(
                            r.application_id.as_ref(),
                            "GetApplicationReportRequestProto",
                        )?;
                        let report = core.with(|c, now| {
                            c.application(id).map(|app| c.application_report(app, now))
                        })?;
                        Ok(GetApplicationReportResponseProto {
                            application_report: Some(report),
                        })
                    })
                    .await
                }
                "getApplications" => {
                    let r: GetApplicationsRequestProto = spindle_ipc::decode(request)?;
                    Ok(core.list_applications(&r))
                }
                "forceKillApplication" => {
                    typed_call(request, |r: KillApplicationRequestProto| async move {
                        let id = app_id(r.application_id.as_ref(), "KillApplicationRequestProto")?;
                        let user = caller(&context);
                        let done = core.with(|c, now| {
                            crate::access::check_modify_access(
                                c,
                                id,
                                &user,
                                crate::access::AppOperation::Kill,
                            )?;
                            c.kill_application(id, now)
                        })?;
                        Ok(KillApplicationResponseProto {
                            is_kill_completed: Some(done),
                        })
                    })
                    .await
                }
                "getClusterMetrics" => {
                    typed_call(request, |_: GetClusterMetricsRequestProto| async move {
                        Ok(GetClusterMetricsResponseProto {
                            cluster_metrics: Some(core.with(|c, _| c.cluster_metrics())),
                        })
                    })
                    .await
                }
                "getClusterNodes" => {
                    typed_call(request, |r: GetClusterNodesRequestProto| async move {
                        let states: Vec<NodeState> = r
                            .node_states
                            .iter()
                            .filter_map(|s| NodeStateProto::try_from(*s).ok().map(NodeState::from))
                            .collect();
                        // An empty filter means every state, as in YARN's ClientRMService.
                        Ok(GetClusterNodesResponseProto {
                            node_reports: core.with(|c, _| {
                                super::fault_injection::panic_in_core_if_asked();
                                c.node_reports(&states)
                            }),
                        })
                    })
                    .await
                }
                "getQueueInfo" => {
                    typed_call(request, |r: GetQueueInfoRequestProto| async move {
                        let name = r.queue_name().to_string();
                        let info = core
                            .with(|c, now| {
                                c.queue_info(
                                    &name,
                                    r.include_applications(),
                                    r.include_child_queues(),
                                    r.recursive(),
                                    now,
                                )
                            })
                            .ok_or_else(|| {
                                RpcError::new(
                                    "java.io.IOException",
                                    format!("Unknown queue: {name}"),
                                )
                            })?;
                        Ok(GetQueueInfoResponseProto {
                            queue_info: Some(info),
                        })
                    })
                    .await
                }
                "getQueueUserAcls" => {
                    typed_call(request, |_: GetQueueUserAclsInfoRequestProto| async move {
                        let queues = core.with(|c, _| c.queue_names());
                        let acls = vec![
                            QueueAclProto::QaclSubmitApplications as i32,
                            QueueAclProto::QaclAdministerQueue as i32,
                        ];
                        Ok(GetQueueUserAclsInfoResponseProto {
                            queue_user_acls: queues
                                .into_iter()
                                .map(|q| QueueUserAclInfoProto {
                                    queue_name: Some(q),
                                    user_acls: acls.clone(),
                                })
                                .collect(),
                        })
                    })
                    .await
                }
                "getResourceTypeInfo" => {
                    typed_call(
                        request,
                        |_: GetAllResourceTypeInfoRequestProto| async move {
                            let info = |name: &str, units: &str| ResourceTypeInfoProto {
                                name: name.to_string(),
                                units: Some(units.to_string()),
                                r#type: Some(ResourceTypesProto::Countable as i32),
                            };
                            let mut types = vec![info("memory-mb", "Mi"), info("vcores", "")];
                            for name in core.with(|c, _| c.settings().resource_types.clone()) {
                                types.push(info(&name, ""));
                            }
                            Ok(GetAllResourceTypeInfoResponseProto {
                                resource_type_info: types,
                            })
                        },
                    )
                    .await
                }
                "getApplicationAttemptReport" => {
                    typed_call(
                        request,
                        |r: GetApplicationAttemptReportRequestProto| async move {
                            let id = ApplicationAttemptId::try_from(required(
                                r.application_attempt_id.as_ref(),
                                "GetApplicationAttemptReportRequestProto",
                                "application_attempt_id",
                            )?)
                            .map_err(invalid)?;
                            let report =
                                core.with(|c, _| c.attempt_report(id)).ok_or_else(|| {
                                    RpcError::new(
                                crate::core::exceptions::ATTEMPT_NOT_FOUND,
                                format!("ApplicationAttempt with id '{id}' doesn't exist in RM."),
                            )
                                })?;
                            Ok(GetApplicationAttemptReportResponseProto {
                                application_attempt_report: Some(report),
                            })
                        },
                    )
                    .await
                }
                "getApplicationAttempts" => {
                    typed_call(
                        request,
                        |r: GetApplicationAttemptsRequestProto| async move {
                            let id = app_id(
                                r.application_id.as_ref(),
                                "GetApplicationAttemptsRequestProto",
                            )?;
                            let reports = core.with(|c, _| {
                                c.application(id).map(|app| {
                                    app.attempts
                                        .iter()
                                        .filter_map(|a| c.attempt_report(*a))
                                        .collect()
                                })
                            })?;
                            Ok(GetApplicationAttemptsResponseProto {
                                application_attempts: reports,
                            })
                        },
                    )
                    .await
                }
                "getContainers" => {
                    typed_call(request, |r: GetContainersRequestProto| async move {
                        let attempt = ApplicationAttemptId::try_from(required(
                            r.application_attempt_id.as_ref(),
                            "GetContainersRequestProto",
                            "application_attempt_id",
                        )?)
                        .map_err(invalid)?;
                        let containers = core.read(|c| {
                            let record = c.attempt(attempt).ok_or_else(|| {
                                RpcError::new(
                                    crate::core::exceptions::ATTEMPT_NOT_FOUND,
                                    format!(
                                    "ApplicationAttempt with id '{attempt}' doesn't exist in RM."
                                ),
                                )
                            })?;
                            Ok::<_, RpcError>(
                                record
                                    .live_containers
                                    .iter()
                                    .filter_map(|id| container_report(c, *id))
                                    .collect(),
                            )
                        })?;
                        Ok(GetContainersResponseProto { containers })
                    })
                    .await
                }
                "getContainerReport" => {
                    typed_call(request, |r: GetContainerReportRequestProto| async move {
                        let id = ContainerId::try_from(required(
                            r.container_id.as_ref(),
                            "GetContainerReportRequestProto",
                            "container_id",
                        )?)
                        .map_err(invalid)?;
                        let report = core.read(|c| container_report(c, id)).ok_or_else(|| {
                            RpcError::new(
                                crate::core::exceptions::CONTAINER_NOT_FOUND,
                                format!("Container with id '{id}' doesn't exist in RM."),
                            )
                        })?;
                        Ok(GetContainerReportResponseProto {
                            container_report: Some(report),
                        })
                    })
                    .await
                }
                _ => Err(RpcError::no_such_method(
                    protocols::APPLICATION_CLIENT,
                    &method,
                )),
            }
        })
    }
}
