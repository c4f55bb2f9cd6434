//! The NM REST API's wire shapes (`nodeInfo`, `app`, `container`, `containerLogsInfo`) with
//! YARN's field names, and YARN's NM application states.

use serde::Serialize;

/// `GET /ws/v1/node/info`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeInfo {
    /// `host:port` (the NodeId).
    pub id: String,
    pub node_host_name: String,
    /// Memory offered to containers (`yarn.nodemanager.resource.memory-mb`).
    #[serde(rename = "totalPmemAllocatedContainersMB")]
    pub total_pmem_allocated_containers_mb: i64,
    /// That times `yarn.nodemanager.vmem-pmem-ratio`.
    #[serde(rename = "totalVmemAllocatedContainersMB")]
    pub total_vmem_allocated_containers_mb: i64,
    #[serde(rename = "totalVCoresAllocatedContainers")]
    pub total_vcores_allocated_containers: i64,
    pub vmem_check_enabled: bool,
    pub pmem_check_enabled: bool,
    pub last_node_update_time: i64,
    pub nm_startup_time: i64,
    pub node_healthy: bool,
    pub health_report: String,
    pub node_manager_version: &'static str,
    pub node_manager_build_version: String,
    pub node_manager_version_built_on: &'static str,
    pub hadoop_version: &'static str,
    pub hadoop_build_version: String,
    pub hadoop_version_built_on: &'static str,
}

/// YARN's NM application states (`ApplicationState` of the NM), in lifecycle order.
pub(crate) const APPLICATION_STATES: [&str; 6] = [
    "NEW",
    "INITING",
    "RUNNING",
    "FINISHING_CONTAINERS_WAIT",
    "APPLICATION_RESOURCES_CLEANINGUP",
    "FINISHED",
];

/// One application of `/ws/v1/node/apps`.
#[derive(Debug, Serialize)]
pub(crate) struct AppInfo {
    pub id: String,
    pub state: &'static str,
    pub user: String,
    /// Its containers not yet done on this node; absent when none.
    #[serde(rename = "containerids", skip_serializing_if = "Vec::is_empty")]
    pub container_ids: Vec<String>,
}

/// One container of `/ws/v1/node/containers`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContainerInfo {
    pub id: String,
    /// YARN's NM container state (`NEW` … `DONE`).
    pub state: &'static str,
    /// -1000 until the container is done.
    pub exit_code: i32,
    pub diagnostics: String,
    pub user: String,
    #[serde(rename = "totalMemoryNeededMB")]
    pub total_memory_needed_mb: i64,
    pub total_v_cores_needed: i64,
    pub execution_type: &'static str,
    pub container_logs_link: String,
    pub node_id: String,
    /// The names of its log files; absent when it has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub container_log_files: Vec<String>,
}

/// `/ws/v1/node/containers/{id}/logs`: a container's log files on this node.
#[derive(Debug, Serialize)]
pub(crate) struct ContainerLogsInfo {
    #[serde(rename = "containerLogInfo", skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ContainerLogFileInfo>,
    /// `LOCAL`: the files on this node (Spindle aggregates no logs).
    #[serde(rename = "logAggregationType")]
    pub log_aggregation_type: &'static str,
    #[serde(rename = "containerId")]
    pub container_id: String,
    #[serde(rename = "nodeId")]
    pub node_id: String,
}

/// One log file; size and time are strings, as YARN writes them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContainerLogFileInfo {
    pub file_name: String,
    pub file_size: String,
    pub last_modified_time: String,
}

/// A time as Java's `Date.toString`-like format YARN uses for log times
/// (`EEE MMM dd HH:mm:ss Z yyyy`), in UTC: `Tue Nov 14 22:13:20 +0000 2023`.
pub fn java_date(ms_since_epoch: i64) -> String {
    use spindle_types::calendar::{civil_from_days, MONTHS, WEEKDAYS_FROM_THURSDAY as DAYS};
    let seconds = ms_since_epoch.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} +0000 {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_javas() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 +0000 1970");
        assert_eq!(
            java_date(1_700_000_000_000),
            "Tue Nov 14 22:13:20 +0000 2023"
        );
        // A leap day, and the day after February of a century leap year.
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 +0000 2000");
        assert_eq!(java_date(951_868_800_000), "Wed Mar 01 00:00:00 +0000 2000");
        assert_eq!(java_date(-1_000), "Wed Dec 31 23:59:59 +0000 1969");
    }

    #[test]
    fn apps_without_running_containers_omit_containerids() {
        let app = AppInfo {
            id: "application_1_0001".into(),
            state: "FINISHED",
            user: "alice".into(),
            container_ids: vec![],
        };
        assert_eq!(
            serde_json::to_string(&app).unwrap(),
            r#"{"id":"application_1_0001","state":"FINISHED","user":"alice"}"#
        );
    }
}
