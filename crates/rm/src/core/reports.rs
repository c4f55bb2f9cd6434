//! Reports for clients: applications, attempts, nodes, cluster metrics and queues, in YARN's shapes.

use spindle_proto::yarn::{
    ApplicationAttemptReportProto, ApplicationReportProto, FinalApplicationStatusProto,
    LogAggregationStatusProto, NodeReportProto, NodeStateProto, PriorityProto, QueueInfoProto,
    QueueStateProto, YarnApplicationAttemptStateProto, YarnApplicationStateProto,
    YarnClusterMetricsProto,
};
use spindle_types::states::{LogAggregationStatus, NodeState};
use spindle_types::{ApplicationAttemptId, ApplicationId, Resource};

use super::usage::UsageBasis;
use super::{RmApp, RmAttempt, RmCore};
use crate::lifecycle::attempt::AttemptState;

/// What reports carry for a URL not known (YARN's `N/A`).
pub const UNAVAILABLE: &str = "N/A";

/// The web proxy's URL for an application: `http://<proxy>/proxy/<appId>/`.
pub fn proxy_url(proxy: &str, app: ApplicationId) -> String {
    format!("http://{proxy}/proxy/{app}/")
}

impl RmCore {
    /// The application report a client sees (`getApplicationReport`) at `now_ms`: the running
    /// containers' resource-seconds count up to then.
    pub fn application_report(&self, app: &RmApp, now_ms: i64) -> ApplicationReportProto {
        self.application_report_on(app, now_ms, &mut UsageBasis::default())
    }

    /// Every application's report at `now_ms` (`getApplications`), in order of their ids; what
    /// the usage percentages divide by is worked out once per queue.
    pub fn application_reports(
        &self,
        now_ms: i64,
    ) -> impl Iterator<Item = (&RmApp, ApplicationReportProto)> + '_ {
        let mut basis = UsageBasis::default();
        self.apps
            .values()
            .map(move |app| (app, self.application_report_on(app, now_ms, &mut basis)))
    }

    /// The report of `app`, with what usage percentages divide by shared across calls.
    pub(crate) fn application_report_on(
        &self,
        app: &RmApp,
        now_ms: i64,
        basis: &mut UsageBasis,
    ) -> ApplicationReportProto {
        let attempt = app.current_attempt().and_then(|id| self.attempts.get(&id));
        let yarn_state: YarnApplicationStateProto = app.state.yarn_state().into();
        let final_status: FinalApplicationStatusProto = app.final_status.into();
        let (tracking_url, original_tracking_url) = match attempt {
            Some(attempt) => self.tracking_urls(app, attempt),
            None => (UNAVAILABLE.to_string(), UNAVAILABLE.to_string()),
        };
        let diagnostics = if app.diagnostics.is_empty() {
            self.waiting_reason(app)
        } else {
            app.diagnostics.clone()
        };
        ApplicationReportProto {
            application_id: Some(app.id.into()),
            user: Some(app.user.clone()),
            queue: Some(app.reported_queue().to_string()),
            name: Some(app.name.clone()),
            host: Some(
                attempt
                    .map(|a| a.host.clone())
                    .unwrap_or_else(|| "N/A".into()),
            ),
            rpc_port: Some(attempt.map(|a| a.rpc_port).unwrap_or(-1)),
            yarn_application_state: Some(yarn_state as i32),
            tracking_url: Some(tracking_url),
            original_tracking_url: Some(original_tracking_url),
            diagnostics: Some(diagnostics),
            start_time: Some(app.start_time),
            finish_time: Some(app.finish_time),
            launch_time: Some(app.launch_time),
            submit_time: Some(app.submit_time),
            final_application_status: Some(final_status as i32),
            app_resource_usage: Some(self.usage_report(app, attempt, now_ms, basis)),
            current_application_attempt_id: app.current_attempt().map(Into::into),
            progress: Some(if app.state.is_final() {
                1.0
            } else {
                attempt.map(|a| a.progress).unwrap_or(0.0)
            }),
            application_type: Some(app.application_type.clone()),
            application_tags: app.tags.clone(),
            priority: Some(PriorityProto {
                priority: Some(app.priority),
            }),
            log_aggregation_status: Some(LogAggregationStatusProto::from(
                self.log_aggregation_status(app, now_ms),
            ) as i32),
            ..Default::default()
        }
    }

    /// Where the upload of `app`'s logs stands at `now_ms`, combined from its nodes' reports
    /// (DISABLED when log aggregation is off).
    pub fn log_aggregation_status(&self, app: &RmApp, now_ms: i64) -> LogAggregationStatus {
        app.log_aggregation.status(
            self.settings.log_aggregation_enabled,
            app.state.is_final().then_some(app.finish_time),
            now_ms,
            self.settings.log_aggregation_status_timeout_ms,
        )
    }

    /// The URL the AM gave for its web UI: the one it registered (or updated in allocate),
    /// replaced by the one it gave when it unregistered (YARN's original tracking URL); None when
    /// it gave none.
    pub fn original_tracking_url<'a>(&self, attempt: &'a RmAttempt) -> Option<&'a str> {
        let url = attempt.tracking_url.trim();
        (!url.is_empty() && url != UNAVAILABLE).then_some(url)
    }

    /// An attempt's tracking URL and original tracking URL as YARN's RMAppAttempt reports them:
    /// the proxy's `http://<web proxy>/proxy/<appId>/` from the attempt's creation on (before the
    /// AM registers, and after it finished), and the AM's own URL ("N/A" while it has none). An
    /// unmanaged AM, or an RM without a web server, publishes the AM's own URL as both.
    pub(crate) fn tracking_urls(&self, app: &RmApp, attempt: &RmAttempt) -> (String, String) {
        let original = self
            .original_tracking_url(attempt)
            .unwrap_or(UNAVAILABLE)
            .to_string();
        let proxied = match &self.settings.web_proxy {
            Some(proxy) if !app.submission.unmanaged_am() => proxy_url(proxy, app.id),
            _ => original.clone(),
        };
        (proxied, original)
    }

    /// Why an application without diagnostics of its own waits: the scheduler's own explanation
    /// (queue at maximum capacity, user limit, AM resource limit, maxRunningApps, locality, no
    /// node large enough, ...) when it has one, else where its attempt is in its lifecycle.
    fn waiting_reason(&self, app: &RmApp) -> String {
        let Some(attempt) = app.current_attempt().and_then(|id| self.attempts.get(&id)) else {
            return String::new();
        };
        if attempt.state == AttemptState::Scheduled && self.running_node_count() == 0 {
            return "[Waiting for AM container to be allocated: no NodeManager is registered]"
                .into();
        }
        if let Some(reason) = self.scheduler.scheduler().explain(app.id) {
            let reason = reason.to_string();
            let reason = reason.strip_prefix("waiting: ").unwrap_or(&reason);
            return match attempt.state {
                AttemptState::Scheduled => {
                    format!("[Waiting for AM container to be allocated: {reason}]")
                }
                _ => format!("[Waiting for containers: {reason}]"),
            };
        }
        match attempt.state {
            AttemptState::Scheduled => format!(
                "[Waiting for AM container to be allocated, launched and register with RM. AM needs {}; cluster has {} available]",
                app.am_resource,
                self.scheduler.scheduler().cluster_metrics().available
            ),
            AttemptState::Allocated => "[AM container is allocated, waiting for it to be launched]".into(),
            AttemptState::Launched => "[AM container is launched, waiting for AM container to Register with RM]".into(),
            _ => String::new(),
        }
    }

    pub fn attempt_report(
        &self,
        id: ApplicationAttemptId,
    ) -> Option<ApplicationAttemptReportProto> {
        let a = self.attempts.get(&id)?;
        let app = self.apps.get(&id.application_id)?;
        let (tracking_url, original_tracking_url) = self.tracking_urls(app, a);
        let state = match a.state {
            AttemptState::Scheduled => YarnApplicationAttemptStateProto::AppAttemptScheduled,
            AttemptState::Allocated => YarnApplicationAttemptStateProto::AppAttemptAllocated,
            AttemptState::Launched => YarnApplicationAttemptStateProto::AppAttemptLaunched,
            AttemptState::Running => YarnApplicationAttemptStateProto::AppAttemptRunning,
            AttemptState::Finished => YarnApplicationAttemptStateProto::AppAttemptFinished,
            AttemptState::Failed => YarnApplicationAttemptStateProto::AppAttemptFailed,
            AttemptState::Killed => YarnApplicationAttemptStateProto::AppAttemptKilled,
        };
        Some(ApplicationAttemptReportProto {
            application_attempt_id: Some(id.into()),
            host: Some(a.host.clone()),
            rpc_port: Some(a.rpc_port),
            tracking_url: Some(tracking_url),
            original_tracking_url: Some(original_tracking_url),
            diagnostics: Some(a.diagnostics.clone()),
            yarn_application_attempt_state: Some(state as i32),
            am_container_id: a.am_container.map(Into::into),
            start_time: Some(a.start_time),
            finish_time: Some(a.finish_time),
        })
    }

    pub fn node_reports(&self, states: &[NodeState]) -> Vec<NodeReportProto> {
        self.nodes
            .sorted()
            .into_iter()
            .filter(|n| states.is_empty() || states.contains(&n.state))
            .map(|n| {
                let state: NodeStateProto = n.state.into();
                NodeReportProto {
                    node_id: Some((&n.id).into()),
                    http_address: Some(n.http_address()),
                    rack_name: Some(n.rack.to_string()),
                    used: Some((&n.used).into()),
                    capability: Some((&n.capability).into()),
                    num_containers: Some(n.num_containers),
                    node_state: Some(state as i32),
                    health_report: Some(n.health_report().to_string()),
                    last_health_report_time: Some(n.last_health_report_time),
                    ..Default::default()
                }
            })
            .collect()
    }

    pub fn cluster_metrics(&self) -> YarnClusterMetricsProto {
        let count = |s: NodeState| self.nodes.values().filter(|n| n.state == s).count() as i32;
        YarnClusterMetricsProto {
            num_node_managers: Some(count(NodeState::Running) + count(NodeState::Unhealthy)),
            num_active_nms: Some(count(NodeState::Running)),
            num_lost_nms: Some(count(NodeState::Lost)),
            num_unhealthy_nms: Some(count(NodeState::Unhealthy)),
            num_shutdown_nms: Some(count(NodeState::Shutdown)),
            num_decommissioned_nms: Some(0),
            num_rebooted_nms: Some(0),
            num_decommissioning_nms: Some(0),
        }
    }

    /// The names of the scheduler's queues.
    pub fn queue_names(&self) -> Vec<String> {
        self.scheduler
            .scheduler()
            .queue_infos()
            .into_iter()
            .map(|q| q.name)
            .collect()
    }

    /// Used resources as a fraction of the cluster's memory.
    fn current_capacity(&self, used: &Resource) -> f32 {
        let total = self.scheduler.scheduler().cluster_metrics().total;
        if total.memory_mb <= 0 {
            0.0
        } else {
            used.memory_mb as f32 / total.memory_mb as f32
        }
    }

    /// `getQueueInfo`: a queue with its statistics, its applications (reported at `now_ms`) and
    /// (when asked) its child queues, recursively.
    pub fn queue_info(
        &self,
        queue: &str,
        include_applications: bool,
        include_children: bool,
        recursive: bool,
        now_ms: i64,
    ) -> Option<QueueInfoProto> {
        let scheduler = self.scheduler.scheduler();
        let info = scheduler.queue_info(queue)?;
        let applications = if include_applications {
            self.apps
                .values()
                .filter(|a| {
                    self.scheduler
                        .scheduler()
                        .application_usage(a.id)
                        .map(|u| u.queue)
                        .as_deref()
                        == Some(info.path.as_str())
                })
                .map(|a| self.application_report(a, now_ms))
                .collect()
        } else {
            Vec::new()
        };
        let child_queues = if include_children {
            info.children
                .iter()
                .filter_map(|child| {
                    self.queue_info(
                        child,
                        include_applications && recursive,
                        recursive,
                        recursive,
                        now_ms,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let state = match info.state {
            spindle_scheduler::QueueState::Running => QueueStateProto::QRunning,
            spindle_scheduler::QueueState::Stopped => QueueStateProto::QStopped,
        };
        Some(QueueInfoProto {
            queue_name: Some(info.name.clone()),
            queue_path: Some(info.path.clone()),
            capacity: Some(info.capacity),
            maximum_capacity: Some(info.maximum_capacity),
            current_capacity: Some(self.current_capacity(&info.used)),
            state: Some(state as i32),
            child_queues,
            applications,
            scheduler_type: Some(
                match scheduler.config().policy {
                    spindle_scheduler::SchedulingPolicy::Fifo => "FifoScheduler",
                    spindle_scheduler::SchedulingPolicy::Capacity(_) => "CapacityScheduler",
                    spindle_scheduler::SchedulingPolicy::Fair(_) => "FairScheduler",
                }
                .into(),
            ),
            min_resource_memory: Some(info.guaranteed.memory_mb),
            min_resource_v_core: Some(info.guaranteed.vcores as i32),
            max_resource_memory: info.maximum.as_ref().map(|m| m.memory_mb),
            max_resource_v_core: info.maximum.as_ref().map(|m| m.vcores as i32),
            steady_fair_share_memory: Some(info.fair_share.memory_mb),
            steady_fair_share_v_core: Some(info.fair_share.vcores as i32),
            ..Default::default()
        })
    }
}
