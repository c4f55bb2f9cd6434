//! The RM's REST objects with YARN's field names (`/ws/v1/cluster/...`): what tools such as
//! yarn-api-client and Enterprise Gateway read. Wire shapes only; `views.rs` fills them from the
//! core. Optional fields YARN omits when unknown are `Option`s skipped when `None`.

use serde::Serialize;
use spindle_types::Resource;
use spindle_web::json::{EntryMap, JsonList};

/// `{"memory":..,"vCores":..}` (the short resource form every YARN 3.x client reads).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ResourceInfo {
    pub memory: i64,
    #[serde(rename = "vCores")]
    pub v_cores: i64,
}

impl From<&Resource> for ResourceInfo {
    fn from(r: &Resource) -> Self {
        Self {
            memory: r.memory_mb,
            v_cores: r.vcores,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub id: i64,
    pub started_on: i64,
    pub state: &'static str,
    pub ha_state: &'static str,
    pub rm_state_store_name: String,
    pub resource_manager_version: &'static str,
    pub resource_manager_build_version: String,
    pub resource_manager_version_built_on: &'static str,
    pub hadoop_version: &'static str,
    pub hadoop_build_version: String,
    pub hadoop_version_built_on: &'static str,
    pub ha_zoo_keeper_connection_state: String,
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMetricsInfo {
    pub apps_submitted: i64,
    pub apps_completed: i64,
    pub apps_pending: i64,
    pub apps_running: i64,
    pub apps_failed: i64,
    pub apps_killed: i64,
    #[serde(rename = "reservedMB")]
    pub reserved_mb: i64,
    #[serde(rename = "availableMB")]
    pub available_mb: i64,
    #[serde(rename = "allocatedMB")]
    pub allocated_mb: i64,
    pub reserved_virtual_cores: i64,
    pub available_virtual_cores: i64,
    pub allocated_virtual_cores: i64,
    #[serde(rename = "totalMB")]
    pub total_mb: i64,
    pub total_virtual_cores: i64,
    pub containers_allocated: i64,
    pub containers_reserved: i64,
    pub containers_pending: i64,
    pub total_nodes: i64,
    pub active_nodes: i64,
    pub lost_nodes: i64,
    pub unhealthy_nodes: i64,
    pub decommissioning_nodes: i64,
    pub decommissioned_nodes: i64,
    pub rebooted_nodes: i64,
    pub shutdown_nodes: i64,
}

#[derive(Debug, Serialize)]
pub struct Timeout {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "expiryTime")]
    pub expiry_time: &'static str,
    #[serde(rename = "remainingTimeInSeconds")]
    pub remaining_time_in_seconds: i64,
}

/// One application (`/apps/{id}` and each element of `/apps`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub id: String,
    pub user: String,
    pub name: String,
    pub queue: String,
    pub state: &'static str,
    pub final_status: &'static str,
    pub progress: f32,
    #[serde(rename = "trackingUI")]
    pub tracking_ui: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    pub diagnostics: String,
    pub cluster_id: i64,
    pub application_type: String,
    pub application_tags: String,
    pub priority: i32,
    pub started_time: i64,
    pub launch_time: i64,
    pub finished_time: i64,
    pub elapsed_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub am_container_logs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub am_host_http_address: Option<String>,
    #[serde(rename = "amRPCAddress", skip_serializing_if = "Option::is_none")]
    pub am_rpc_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_node_id: Option<String>,
    #[serde(rename = "allocatedMB")]
    pub allocated_mb: i64,
    #[serde(rename = "allocatedVCores")]
    pub allocated_v_cores: i64,
    #[serde(rename = "reservedMB")]
    pub reserved_mb: i64,
    #[serde(rename = "reservedVCores")]
    pub reserved_v_cores: i64,
    pub running_containers: i32,
    pub memory_seconds: i64,
    pub vcore_seconds: i64,
    pub queue_usage_percentage: f32,
    pub cluster_usage_percentage: f32,
    pub resource_seconds_map: EntryMap,
    #[serde(rename = "preemptedResourceMB")]
    pub preempted_resource_mb: i64,
    #[serde(rename = "preemptedResourceVCores")]
    pub preempted_resource_v_cores: i64,
    #[serde(rename = "numNonAMContainerPreempted")]
    pub num_non_am_container_preempted: i32,
    #[serde(rename = "numAMContainerPreempted")]
    pub num_am_container_preempted: i32,
    pub preempted_memory_seconds: i64,
    pub preempted_vcore_seconds: i64,
    pub preempted_resource_seconds_map: EntryMap,
    pub log_aggregation_status: &'static str,
    pub unmanaged_application: bool,
    pub app_node_label_expression: String,
    pub am_node_label_expression: String,
    pub timeouts: JsonList<Timeout>,
}

/// One attempt (`/apps/{id}/appattempts`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppAttemptInfo {
    pub id: i32,
    pub start_time: i64,
    pub finished_time: i64,
    pub container_id: String,
    pub node_http_address: String,
    pub node_id: String,
    pub logs_link: String,
    pub blacklisted_nodes: String,
    pub nodes_blacklisted_by_system: String,
    pub app_attempt_id: String,
    pub app_attempt_state: &'static str,
}

/// One container of an attempt (`/apps/{id}/appattempts/{aid}/containers`, the AHS fields).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInfo {
    pub container_id: String,
    #[serde(rename = "allocatedMB")]
    pub allocated_mb: i64,
    #[serde(rename = "allocatedVCores")]
    pub allocated_v_cores: i64,
    pub assigned_node_id: String,
    pub priority: i32,
    pub started_time: i64,
    pub finished_time: i64,
    pub elapsed_time: i64,
    pub diagnostics_info: String,
    pub log_url: String,
    pub container_exit_status: i32,
    pub container_state: &'static str,
    pub node_http_address: String,
}

/// One node (`/nodes`, `/nodes/{id}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub rack: String,
    pub state: &'static str,
    pub id: String,
    pub node_host_name: String,
    #[serde(rename = "nodeHTTPAddress")]
    pub node_http_address: String,
    pub last_health_update: i64,
    pub version: String,
    pub health_report: String,
    pub num_containers: i32,
    #[serde(rename = "usedMemoryMB")]
    pub used_memory_mb: i64,
    #[serde(rename = "availMemoryMB")]
    pub avail_memory_mb: i64,
    pub used_virtual_cores: i64,
    pub available_virtual_cores: i64,
    pub used_resource: ResourceInfo,
    pub available_resource: ResourceInfo,
    pub total_resource: ResourceInfo,
}

#[derive(Debug, Serialize)]
pub struct StatItem {
    pub state: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub count: i64,
}

/// `POST /apps/new-application`.
#[derive(Debug, Serialize)]
pub struct NewApplication {
    #[serde(rename = "application-id")]
    pub application_id: String,
    #[serde(rename = "maximum-resource-capability")]
    pub maximum_resource_capability: ResourceInfo,
}
