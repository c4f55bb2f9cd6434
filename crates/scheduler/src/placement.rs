//! Where a submitted application goes, and whether its queue takes it: FIFO's single queue, the
//! Capacity Scheduler's queue mappings (`u:`/`g:` with `%user`, `%primary_group`,
//! `%secondary_group`), the Fair Scheduler's placement rules (creating queues where allowed),
//! then queue state, submit ACLs and application limits.

use spindle_types::ApplicationId;

use crate::capacity::config::{CapacitySchedulerConfig, QueueMapping, QueueState};
use crate::config::SchedulingPolicy;
use crate::error::SchedulerError;
use crate::fair::config::{FairSchedulerConfig, PlacementRule};
use crate::queues::{QueueIndex, QueueTree, DEFAULT_QUEUE, ROOT_QUEUE};
use crate::scheduler::Scheduler;

/// A Fair Scheduler placement: the leaf's path, and whether it must be created.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FairTarget {
    path: String,
    create: bool,
}

impl Scheduler {
    /// The leaf for a submission of `application` by `user` to `requested`, created if the Fair
    /// placement rules say so, after checking the queue accepts it.
    pub(crate) fn place_submission(
        &mut self,
        application: ApplicationId,
        requested: &str,
        user: &str,
    ) -> Result<QueueIndex, SchedulerError> {
        let requested = requested.trim();
        let groups = self.groups_of(user);
        let unknown = || SchedulerError::UnknownQueue {
            application,
            user: user.to_string(),
            queue: requested.to_string(),
        };
        let (leaf, created) = match &self.config.policy {
            SchedulingPolicy::Fifo => (
                self.queues.resolve_leaf(requested).ok_or_else(unknown)?,
                false,
            ),
            SchedulingPolicy::Capacity(config) => {
                let target = capacity_target(config, &self.queues, requested, user, &groups);
                let index =
                    self.queues
                        .find(&target)
                        .ok_or_else(|| SchedulerError::UnknownQueue {
                            application,
                            user: user.to_string(),
                            queue: target.clone(),
                        })?;
                if !self.queues.get(index).is_leaf {
                    return Err(SchedulerError::NotALeafQueue {
                        application,
                        user: user.to_string(),
                        queue: target,
                    });
                }
                (index, false)
            }
            SchedulingPolicy::Fair(config) => {
                let target = fair_target(config, &self.queues, requested, user, &groups).map_err(
                    |reason| SchedulerError::PlacementRejected {
                        application,
                        user: user.to_string(),
                        requested: requested.to_string(),
                        reason,
                    },
                )?;
                if target.create {
                    let config = config.clone();
                    let index = self
                        .queues
                        .add_dynamic_leaf(&target.path, &config)
                        .ok_or_else(|| SchedulerError::PlacementRejected {
                            application,
                            user: user.to_string(),
                            requested: requested.to_string(),
                            reason: format!("queue {} cannot be created", target.path),
                        })?;
                    (index, true)
                } else {
                    let index = self.queues.find_path(&target.path).ok_or_else(unknown)?;
                    (index, false)
                }
            }
        };
        if let Err(error) = self.admit(application, leaf, user, &groups) {
            if created {
                // Refused: the tree goes back to what it was, nothing else changes.
                self.discard_empty_dynamic_queues(leaf);
            }
            return Err(error);
        }
        if created {
            self.resolve_queue_limits();
        }
        Ok(leaf)
    }

    /// Queue state, submit ACLs and application limits of the leaf.
    fn admit(
        &self,
        application: ApplicationId,
        leaf: QueueIndex,
        user: &str,
        groups: &[String],
    ) -> Result<(), SchedulerError> {
        let queue = self.queues.get(leaf);
        if queue.settings.state == QueueState::Stopped {
            return Err(SchedulerError::QueueStopped {
                application,
                queue: queue.path.clone(),
            });
        }
        if !self.may_submit(leaf, user, groups) {
            return Err(SchedulerError::SubmissionDenied {
                application,
                user: user.to_string(),
                queue: queue.path.clone(),
            });
        }
        if let Some(limit) = queue.settings.maximum_applications {
            if queue.num_applications >= limit {
                return Err(SchedulerError::TooManyApplications {
                    application,
                    queue: queue.path.clone(),
                    count: queue.num_applications,
                });
            }
        }
        if let Some(limit) = queue.settings.maximum_applications_per_user {
            let count = queue
                .users
                .get(user)
                .map_or(0, |account| account.applications);
            if count >= limit {
                return Err(SchedulerError::TooManyUserApplications {
                    application,
                    user: user.to_string(),
                    queue: queue.path.clone(),
                    count,
                });
            }
        }
        Ok(())
    }

    /// YARN's rule: with ACLs enabled, a user may submit to a queue if the admin ACL, or the
    /// submit or administer ACL of the queue or of any ancestor, allows it.
    pub(crate) fn may_submit(&self, leaf: QueueIndex, user: &str, groups: &[String]) -> bool {
        let acls = &self.config.acls;
        if !acls.enabled || acls.admin.is_allowed(user, groups) {
            return true;
        }
        self.queues.chain(leaf).any(|index| {
            let settings = &self.queues.get(index).settings;
            settings
                .acl_submit
                .iter()
                .chain(settings.acl_administer.iter())
                .any(|acl| acl.is_allowed(user, groups))
        })
    }
}

impl Scheduler {
    /// The groups of `user` as the scheduler's group mapping knows them, primary first.
    pub fn groups_of_user(&self, user: &str) -> Vec<String> {
        self.groups_of(user)
    }

    /// Whether `user` administers the queue `queue` (a path or a leaf's name): with ACLs enabled
    /// (`yarn.acl.enable`), the admin ACL (`yarn.admin.acl`) or the administer ACL
    /// (`acl_administer_queue`, `aclAdministerApps`) of the queue or an ancestor allows it. With
    /// ACLs disabled nobody does (the RM then lets only an application's owner and the RM's own
    /// user change it, see `RmCore::check_modify_access`). YARN's rule for who may kill, move or
    /// reprioritize someone else's application.
    pub fn may_administer_queue(&self, queue: &str, user: &str) -> bool {
        let acls = &self.config.acls;
        if !acls.enabled {
            return false;
        }
        let groups = self.groups_of(user);
        if acls.admin.is_allowed(user, &groups) {
            return true;
        }
        let Some(index) = self.queues.find(queue) else {
            return false;
        };
        self.queues.chain(index).any(|index| {
            self.queues
                .get(index)
                .settings
                .acl_administer
                .as_ref()
                .is_some_and(|acl| acl.is_allowed(user, &groups))
        })
    }
}

/// The queue a Capacity Scheduler submission goes to: the first matching queue mapping (when
/// the application asked for `default`, or always with override), else what it asked for.
fn capacity_target(
    config: &CapacitySchedulerConfig,
    queues: &QueueTree,
    requested: &str,
    user: &str,
    groups: &[String],
) -> String {
    let requested = if requested.is_empty() {
        DEFAULT_QUEUE
    } else {
        requested
    };
    let asked_default = requested == DEFAULT_QUEUE || requested == "root.default";
    if config.queue_mappings_override || asked_default {
        for mapping in &config.queue_mappings {
            let template = match mapping {
                QueueMapping::User {
                    user: mapped,
                    queue,
                } if mapped == user || mapped == "%user" => queue,
                QueueMapping::Group { group, queue } if groups.contains(group) => queue,
                _ => continue,
            };
            if let Some(target) = resolve_mapping(template, queues, user, groups) {
                return target;
            }
        }
    }
    requested.to_string()
}

/// A mapping's queue with `%user`, `%primary_group` and `%secondary_group` filled in, when it
/// names an existing leaf.
fn resolve_mapping(
    template: &str,
    queues: &QueueTree,
    user: &str,
    groups: &[String],
) -> Option<String> {
    let with_user = template.replace("%user", user);
    let candidates: Vec<String> = if with_user.contains("%secondary_group") {
        groups
            .iter()
            .skip(1)
            .map(|group| with_user.replace("%secondary_group", group))
            .collect()
    } else if with_user.contains("%primary_group") {
        groups
            .first()
            .map(|group| with_user.replace("%primary_group", group))
            .into_iter()
            .collect()
    } else {
        vec![with_user]
    };
    candidates
        .into_iter()
        .find(|candidate| queues.resolve_leaf(candidate).is_some())
}

/// Fair Scheduler queue names cannot hold dots: YARN writes them as `_dot_`.
fn clean(name: &str) -> String {
    name.trim().replace('.', "_dot_")
}

fn under_root(name: &str) -> String {
    if name == ROOT_QUEUE || name.starts_with("root.") {
        name.to_string()
    } else {
        format!("{ROOT_QUEUE}.{name}")
    }
}

/// Runs the Fair Scheduler's placement rules; Err holds why no rule placed the application.
fn fair_target(
    config: &FairSchedulerConfig,
    queues: &QueueTree,
    requested: &str,
    user: &str,
    groups: &[String],
) -> Result<FairTarget, String> {
    let specified = match requested {
        "" | DEFAULT_QUEUE | "root.default" => None,
        name => Some(under_root(name)),
    };
    for rule in &config.placement_rules {
        if let PlacementRule::Reject = rule {
            return Err("the 'reject' rule refused it".to_string());
        }
        let Some((path, create)) = rule_queue(rule, queues, specified.as_deref(), user, groups)
        else {
            continue;
        };
        match queues.find_path(&path) {
            Some(index) if queues.get(index).is_leaf => {
                return Ok(FairTarget {
                    path,
                    create: false,
                })
            }
            Some(_) => continue,
            None if create && config.site.allow_undeclared_pools => {
                if queues.can_create_leaf(&path) {
                    return Ok(FairTarget { path, create: true });
                }
                continue;
            }
            None if create => {
                return Ok(FairTarget {
                    path: "root.default".to_string(),
                    create: false,
                })
            }
            None => continue,
        }
    }
    Err("no placement rule applied".to_string())
}

/// The queue a rule names (and whether it may create it), or None when it does not apply.
fn rule_queue(
    rule: &PlacementRule,
    queues: &QueueTree,
    specified: Option<&str>,
    user: &str,
    groups: &[String],
) -> Option<(String, bool)> {
    match rule {
        PlacementRule::Specified { create } => specified.map(|path| (path.to_string(), *create)),
        PlacementRule::User { create } => Some((under_root(&clean(user)), *create)),
        PlacementRule::PrimaryGroup { create } => groups
            .first()
            .map(|group| (under_root(&clean(group)), *create)),
        PlacementRule::SecondaryGroupExistingQueue => groups
            .iter()
            .skip(1)
            .map(|group| under_root(&clean(group)))
            .find(|path| {
                queues
                    .find_path(path)
                    .is_some_and(|i| queues.get(i).is_leaf)
            })
            .map(|path| (path, false)),
        PlacementRule::NestedUserQueue { inner, create } => {
            let (parent, parent_create) = rule_queue(inner, queues, specified, user, groups)?;
            let usable_parent = match queues.find_path(&parent) {
                Some(index) => !queues.get(index).is_leaf,
                None => parent_create,
            };
            usable_parent.then(|| (format!("{parent}.{}", clean(user)), *create))
        }
        PlacementRule::Default { queue, create } => Some((queue.clone(), *create)),
        PlacementRule::Reject => None,
    }
}
