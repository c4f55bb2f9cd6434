//! Application and node reports as plain structs with domain ids and states, read from the RM's
//! `ApplicationReportProto` / `NodeReportProto` (tolerating the fields Java treats as optional).

use spindle_proto::convert::{require, require_enum, ConvertError};
use spindle_proto::yarn::{
    ApplicationReportProto, FinalApplicationStatusProto, NodeReportProto, NodeStateProto,
    YarnApplicationStateProto,
};
use spindle_types::states::{
    FinalApplicationStatus, LogAggregationStatus, NodeState, YarnApplicationState,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, NodeId, Resource};

/// Every node state, in YARN's order (`NodeState.values()`).
pub const ALL_NODE_STATES: [NodeState; 8] = NodeState::ALL;

/// A node state from its YARN name (`RUNNING`, case-insensitive).
pub fn node_state_from_name(name: &str) -> Option<NodeState> {
    NodeState::from_name(name.trim())
}

/// What `getApplicationReport` / `getApplications` say about one application.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationReport {
    pub application_id: ApplicationId,
    pub current_attempt_id: Option<ApplicationAttemptId>,
    pub name: String,
    pub application_type: String,
    pub user: String,
    pub queue: String,
    pub priority: i32,
    pub state: YarnApplicationState,
    pub final_status: FinalApplicationStatus,
    /// 0.0 ..= 1.0.
    pub progress: f32,
    pub tracking_url: String,
    pub original_tracking_url: String,
    /// The AM's host ("N/A" before it registers).
    pub host: String,
    pub rpc_port: i32,
    pub start_time: i64,
    pub launch_time: i64,
    pub finish_time: i64,
    pub diagnostics: String,
    pub tags: Vec<String>,
    /// Containers the application holds now (-1 once it ended, as YARN reports it).
    pub used_containers: i32,
    /// Resources the application holds now (-1 each once it ended).
    pub used_resources: Resource,
    /// What it used over its life, all attempts together (YARN's aggregate resource allocation).
    pub memory_seconds: i64,
    pub vcore_seconds: i64,
    /// The same per resource type, as the RM lists them ("memory-mb", "vcores", then others).
    pub resource_seconds: Vec<(String, i64)>,
    /// The part of it from containers that were preempted.
    pub preempted_memory_seconds: i64,
    pub preempted_vcore_seconds: i64,
    pub preempted_resource_seconds: Vec<(String, i64)>,
    /// Where the upload of its logs stands (DISABLED when the RM says nothing).
    pub log_aggregation_status: LogAggregationStatus,
}

impl TryFrom<&ApplicationReportProto> for ApplicationReport {
    type Error = ConvertError;

    fn try_from(proto: &ApplicationReportProto) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ApplicationReportProto";
        let application_id =
            ApplicationId::try_from(require(&proto.application_id, MESSAGE, "application_id")?)?;
        let state: YarnApplicationState = require_enum::<YarnApplicationStateProto>(
            proto.yarn_application_state,
            MESSAGE,
            "yarn_application_state",
        )?
        .into();
        let final_status = match proto.final_application_status {
            None => FinalApplicationStatus::Undefined,
            Some(_) => require_enum::<FinalApplicationStatusProto>(
                proto.final_application_status,
                MESSAGE,
                "final_application_status",
            )?
            .into(),
        };
        let current_attempt_id = proto
            .current_application_attempt_id
            .as_ref()
            .map(ApplicationAttemptId::try_from)
            .transpose()?;
        let usage = proto.app_resource_usage.clone().unwrap_or_default();
        let used_resources = usage
            .used_resources
            .as_ref()
            .map(Resource::try_from)
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            application_id,
            current_attempt_id,
            name: proto.name().to_string(),
            application_type: proto.application_type().to_string(),
            user: proto.user().to_string(),
            queue: proto.queue().to_string(),
            priority: proto.priority.as_ref().map(|p| p.priority()).unwrap_or(0),
            state,
            final_status,
            progress: proto.progress(),
            tracking_url: proto.tracking_url().to_string(),
            original_tracking_url: proto
                .original_tracking_url
                .clone()
                .unwrap_or_else(|| proto.tracking_url().to_string()),
            host: proto.host().to_string(),
            rpc_port: proto.rpc_port(),
            start_time: proto.start_time(),
            launch_time: proto.launch_time(),
            finish_time: proto.finish_time(),
            diagnostics: proto.diagnostics().to_string(),
            tags: proto.application_tags.clone(),
            used_containers: usage.num_used_containers(),
            used_resources,
            memory_seconds: usage.memory_seconds(),
            vcore_seconds: usage.vcore_seconds(),
            resource_seconds: entries(&usage.application_resource_usage_map),
            preempted_memory_seconds: usage.preempted_memory_seconds(),
            preempted_vcore_seconds: usage.preempted_vcore_seconds(),
            preempted_resource_seconds: entries(&usage.application_preempted_resource_usage_map),
            log_aggregation_status: proto
                .log_aggregation_status
                .and_then(LogAggregationStatus::from_wire)
                .unwrap_or(LogAggregationStatus::Disabled),
        })
    }
}

fn entries(map: &[spindle_proto::yarn::StringLongMapProto]) -> Vec<(String, i64)> {
    map.iter().map(|e| (e.key.clone(), e.value)).collect()
}

/// What `getClusterNodes` says about one NodeManager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub node_id: NodeId,
    pub state: NodeState,
    pub http_address: String,
    pub rack_name: String,
    pub num_containers: i32,
    pub used: Resource,
    pub capability: Resource,
    pub health_report: String,
    pub last_health_report_time: i64,
    pub node_labels: Vec<String>,
}

impl TryFrom<&NodeReportProto> for NodeReport {
    type Error = ConvertError;

    fn try_from(proto: &NodeReportProto) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "NodeReportProto";
        let node_id = NodeId::try_from(require(&proto.node_id, MESSAGE, "node_id")?)?;
        let state: NodeState =
            require_enum::<NodeStateProto>(proto.node_state, MESSAGE, "node_state")?.into();
        let resource = |value: &Option<spindle_proto::yarn::ResourceProto>| {
            value
                .as_ref()
                .map(Resource::try_from)
                .transpose()
                .map(Option::unwrap_or_default)
        };
        Ok(Self {
            node_id,
            state,
            http_address: proto.http_address().to_string(),
            rack_name: proto.rack_name().to_string(),
            num_containers: proto.num_containers(),
            used: resource(&proto.used)?,
            capability: resource(&proto.capability)?,
            health_report: proto.health_report().to_string(),
            last_health_report_time: proto.last_health_report_time(),
            node_labels: proto.node_labels.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_proto::yarn::{ApplicationIdProto, NodeIdProto};

    fn minimal_report() -> ApplicationReportProto {
        ApplicationReportProto {
            application_id: Some(ApplicationId::new(1700000000000, 3).into()),
            yarn_application_state: Some(YarnApplicationStateProto::Accepted as i32),
            ..Default::default()
        }
    }

    #[test]
    fn a_minimal_report_reads_with_java_defaults() {
        let report = ApplicationReport::try_from(&minimal_report()).unwrap();
        assert_eq!(
            report.application_id.to_string(),
            "application_1700000000000_0003"
        );
        assert_eq!(report.state, YarnApplicationState::Accepted);
        assert_eq!(report.final_status, FinalApplicationStatus::Undefined);
        assert_eq!(report.diagnostics, "N/A");
        assert_eq!(report.current_attempt_id, None);
        assert_eq!(report.used_resources, Resource::ZERO);
    }

    #[test]
    fn reports_without_id_or_state_are_rejected() {
        let mut no_state = minimal_report();
        no_state.yarn_application_state = None;
        assert_eq!(
            ApplicationReport::try_from(&no_state)
                .unwrap_err()
                .to_string(),
            "ApplicationReportProto.yarn_application_state is missing"
        );
        let mut unknown_state = minimal_report();
        unknown_state.yarn_application_state = Some(42);
        assert!(ApplicationReport::try_from(&unknown_state).is_err());
        let mut bad_final = minimal_report();
        bad_final.final_application_status = Some(-3);
        assert!(ApplicationReport::try_from(&bad_final).is_err());
        let mut no_id = minimal_report();
        no_id.application_id = None;
        assert!(ApplicationReport::try_from(&no_id).is_err());
        let mut half_id = minimal_report();
        half_id.application_id = Some(ApplicationIdProto {
            id: Some(1),
            cluster_timestamp: None,
        });
        assert!(ApplicationReport::try_from(&half_id).is_err());
    }

    #[test]
    fn node_reports_need_id_and_state() {
        let proto = NodeReportProto {
            node_id: Some(NodeIdProto {
                host: Some("host1".into()),
                port: Some(8041),
            }),
            node_state: Some(NodeStateProto::NsRunning as i32),
            num_containers: Some(2),
            ..Default::default()
        };
        let report = NodeReport::try_from(&proto).unwrap();
        assert_eq!(report.node_id.to_string(), "host1:8041");
        assert_eq!(report.state, NodeState::Running);
        assert_eq!(report.num_containers, 2);
        let mut no_state = proto.clone();
        no_state.node_state = None;
        assert!(NodeReport::try_from(&no_state).is_err());
        let mut no_id = proto;
        no_id.node_id = None;
        assert!(NodeReport::try_from(&no_id).is_err());
    }

    #[test]
    fn node_state_names_parse_case_insensitively() {
        assert_eq!(node_state_from_name("running"), Some(NodeState::Running));
        assert_eq!(
            node_state_from_name(" DECOMMISSIONING "),
            Some(NodeState::Decommissioning)
        );
        assert_eq!(node_state_from_name("ALL"), None);
        assert_eq!(node_state_from_name(""), None);
    }
}
