//! Who may change an application (kill it; later move or reprioritize it), through RPC and REST
//! alike: its owner; with `yarn.acl.enable`, also a cluster administrator (`yarn.admin.acl`), an
//! administrator of its queue or an ancestor (`acl_administer_queue`, `aclAdministerApps`), or a
//! user the application's own MODIFY_APP ACL names. Anonymous web callers never reach this: the
//! web layer refuses them first.
//!
//! A deliberate difference from YARN: with ACLs disabled (the default) YARN lets anyone change
//! any application; Spindle lets only the owner, so that on a default cluster one user cannot
//! kill another's job.

use spindle_proto::yarn::ApplicationAccessTypeProto;
use spindle_scheduler::AccessControlList;
use spindle_types::ApplicationId;

use crate::core::{exceptions, RmCore, RmError};

/// What a caller wants to do to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppOperation {
    Kill,
    Move,
    UpdatePriority,
}

impl AppOperation {
    fn verb(self) -> &'static str {
        match self {
            AppOperation::Kill => "kill",
            AppOperation::Move => "move",
            AppOperation::UpdatePriority => "update the priority of",
        }
    }
}

/// Ok when `user` may perform `operation` on application `id`; else YARN's
/// AccessControlException ("User bob cannot perform operation MODIFY_APP on application_…").
pub fn check_modify_access(
    core: &RmCore,
    id: ApplicationId,
    user: &str,
    operation: AppOperation,
) -> Result<(), RmError> {
    let app = core.application(id)?;
    if app.user == user {
        return Ok(());
    }
    let scheduler = core.scheduler.scheduler();
    let acls_enabled = scheduler.config().acls.enabled;
    if acls_enabled {
        if scheduler.may_administer_queue(app.reported_queue(), user) {
            return Ok(());
        }
        let modify_acl = app
            .submission
            .am_container_spec
            .as_ref()
            .into_iter()
            .flat_map(|spec| spec.application_acls.iter())
            .find(|acl| acl.access_type() == ApplicationAccessTypeProto::AppaccessModifyApp);
        if let Some(acl) = modify_acl {
            let groups = scheduler.groups_of_user(user);
            if AccessControlList::parse(acl.acl()).is_allowed(user, &groups) {
                return Ok(());
            }
        }
    }
    tracing::warn!(
        "refused: user {user} may not {} {id} (owner {}, ACLs {})",
        operation.verb(),
        app.user,
        if acls_enabled { "enabled" } else { "disabled" }
    );
    Err(RmError::new(
        exceptions::ACCESS_CONTROL,
        format!("User {user} cannot perform operation MODIFY_APP on {id}"),
    ))
}
