//! ResourceManagerAdministrationProtocol (`yarn.resourcemanager.admin.address`, 8033):
//! `rmadmin -refreshQueues` re-reads the scheduler configuration files and applies them live;
//! `rmadmin -getGroups` asks which groups the RM's group mapping gives a user.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use spindle_ipc::{typed_call, CallContext, RpcError, RpcService};
use spindle_proto::yarn::*;

use super::protocols;

/// Reads the scheduler configuration from its files; an error names the file, queue and key.
pub type SchedulerConfigLoader =
    Arc<dyn Fn() -> Result<spindle_scheduler::SchedulerConfig, String> + Send + Sync>;

pub(crate) struct AdminProtocol {
    /// The core while this RM is active; None in standby.
    pub(crate) core: super::runtime::ActiveSlot,
    /// This RM's id in HA (for the standby's refusal).
    pub(crate) rm_id: Option<String>,
    pub(crate) loader: Option<SchedulerConfigLoader>,
    /// `yarn.admin.acl`: users allowed to administer the RM (`*` = everyone).
    pub(crate) admins: Vec<String>,
}

impl AdminProtocol {
    fn authorize(&self, context: &CallContext, method: &str) -> Result<(), RpcError> {
        let user = context.identity.simple_user().unwrap_or("");
        if self.admins.iter().any(|a| a == "*" || a == user) {
            Ok(())
        } else {
            Err(RpcError::new(
                "org.apache.hadoop.security.AccessControlException",
                format!("User {user} doesn't have permission to call '{method}'"),
            ))
        }
    }
}

/// What a standby RM answers to calls only the active serves; Hadoop's clients fail over on it.
pub(crate) fn standby_error(rm_id: Option<&str>) -> RpcError {
    RpcError::new(
        "org.apache.hadoop.ipc.StandbyException",
        format!("ResourceManager {} is not Active!", rm_id.unwrap_or("")),
    )
}

impl RpcService for AdminProtocol {
    fn protocol(&self) -> &'static str {
        protocols::RESOURCE_MANAGER_ADMINISTRATION
    }

    fn call(
        &self,
        context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        // Anyone may ask which groups a user has (as YARN's AdminService answers it).
        let authorized = if method == "getGroupsForUser" {
            Ok(())
        } else {
            self.authorize(&context, &method)
        };
        let core = self
            .core
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| standby_error(self.rm_id.as_deref()));
        let loader = self.loader.clone();
        Box::pin(async move {
            authorized?;
            let core = core?;
            match method.as_str() {
                "refreshQueues" => {
                    typed_call(request, |_: RefreshQueuesRequestProto| async move {
                        let loader = loader.ok_or_else(|| {
                            RpcError::new(
                            crate::core::exceptions::YARN,
                            "this ResourceManager has no scheduler configuration files to refresh",
                        )
                        })?;
                        let config = tokio::task::spawn_blocking(move || loader())
                            .await
                            .map_err(|e| {
                                RpcError::new(crate::core::exceptions::YARN, e.to_string())
                            })?
                            .map_err(|e| RpcError::new(crate::core::exceptions::YARN, e))?;
                        core.with(|c, now| c.replace_scheduler_config(config, now))?;
                        Ok(RefreshQueuesResponseProto {})
                    })
                    .await
                }
                "getGroupsForUser" => {
                    typed_call(request, |r: GetGroupsForUserRequestProto| async move {
                        let groups = core.read(|c| c.scheduler.scheduler().groups_of_user(&r.user));
                        Ok(GetGroupsForUserResponseProto { groups })
                    })
                    .await
                }
                _ => Err(RpcError::no_such_method(
                    protocols::RESOURCE_MANAGER_ADMINISTRATION,
                    &method,
                )),
            }
        })
    }
}
