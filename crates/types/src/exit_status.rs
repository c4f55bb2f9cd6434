//! YARN's `ContainerExitStatus` values: visible on the wire, and Spark branches on them.

pub const SUCCESS: i32 = 0;
pub const INVALID: i32 = -1000;
pub const ABORTED: i32 = -100;
pub const DISKS_FAILED: i32 = -101;
pub const PREEMPTED: i32 = -102;
pub const KILLED_EXCEEDED_VMEM: i32 = -103;
pub const KILLED_EXCEEDED_PMEM: i32 = -104;
pub const KILLED_BY_APPMASTER: i32 = -105;
pub const KILLED_BY_RESOURCEMANAGER: i32 = -106;
pub const KILLED_AFTER_APP_COMPLETION: i32 = -107;
pub const KILLED_BY_CONTAINER_SCHEDULER: i32 = -108;
pub const KILLED_FOR_EXCESS_LOGS: i32 = -109;

/// YARN's name for an exit status, for diagnostics ("PREEMPTED"), or None for a process exit code.
pub fn name(status: i32) -> Option<&'static str> {
    Some(match status {
        SUCCESS => "SUCCESS",
        INVALID => "INVALID",
        ABORTED => "ABORTED",
        DISKS_FAILED => "DISKS_FAILED",
        PREEMPTED => "PREEMPTED",
        KILLED_EXCEEDED_VMEM => "KILLED_EXCEEDED_VMEM",
        KILLED_EXCEEDED_PMEM => "KILLED_EXCEEDED_PMEM",
        KILLED_BY_APPMASTER => "KILLED_BY_APPMASTER",
        KILLED_BY_RESOURCEMANAGER => "KILLED_BY_RESOURCEMANAGER",
        KILLED_AFTER_APP_COMPLETION => "KILLED_AFTER_APP_COMPLETION",
        KILLED_BY_CONTAINER_SCHEDULER => "KILLED_BY_CONTAINER_SCHEDULER",
        KILLED_FOR_EXCESS_LOGS => "KILLED_FOR_EXCESS_LOGS",
        _ => return None,
    })
}
