//! The physical-memory monitor (`ContainersMonitorImpl` with `pmem-check-enabled`): every interval
//! it sums the RSS of each running container's process tree and kills containers above their
//! memory allocation with KILLED_EXCEEDED_PMEM.
//!
//! Simplification: YARN also kills at once above twice the limit and otherwise only counts
//! processes older than one interval; Spindle compares the whole tree's RSS with the limit.

use std::path::Path;
use std::sync::Weak;

use spindle_types::{exit_status, ContainerId};

use super::diagnostics::{beyond_physical_memory, MemoryUsage};
use super::manager::ManagerInner;
use super::process_tree::{clock_ticks_per_second, page_size, ProcessSnapshot};

/// One running container to check.
#[derive(Debug, Clone, Copy)]
struct MonitoredContainer {
    container_id: ContainerId,
    leader_pid: i32,
    physical_limit_bytes: u64,
    virtual_limit_bytes: u64,
}

/// A container found over its limit, with YARN's diagnostic.
#[derive(Debug, Clone)]
struct MemoryViolation {
    container_id: ContainerId,
    diagnostic: String,
}

/// Runs until the manager is dropped.
pub(crate) async fn run_memory_monitor(manager: Weak<ManagerInner>) {
    let interval = match manager.upgrade() {
        Some(inner) => inner.config.monitor_interval,
        None => return,
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = manager.upgrade() else {
            return;
        };
        let ratio = inner.config.vmem_pmem_ratio;
        let monitored: Vec<MonitoredContainer> = inner
            .running_containers()
            .iter()
            .filter_map(|runtime| {
                let leader = runtime.running_leader()?;
                let limit = u64::try_from(runtime.spec.resource.memory_mb)
                    .ok()
                    .filter(|mb| *mb > 0)?
                    * 1024
                    * 1024;
                Some(MonitoredContainer {
                    container_id: runtime.container_id(),
                    leader_pid: leader.as_raw(),
                    physical_limit_bytes: limit,
                    virtual_limit_bytes: (limit as f64 * f64::from(ratio)) as u64,
                })
            })
            .collect();
        if monitored.is_empty() {
            continue;
        }
        drop(inner);
        let violations =
            tokio::task::spawn_blocking(move || find_violations(Path::new("/proc"), &monitored))
                .await
                .unwrap_or_default();
        let Some(inner) = manager.upgrade() else {
            return;
        };
        for violation in violations {
            tracing::warn!(container = %violation.container_id, "{}", violation.diagnostic.lines().next().unwrap_or_default());
            inner.kill(
                violation.container_id,
                exit_status::KILLED_EXCEEDED_PMEM,
                &violation.diagnostic,
            );
        }
    }
}

fn find_violations(proc_root: &Path, monitored: &[MonitoredContainer]) -> Vec<MemoryViolation> {
    let snapshot = ProcessSnapshot::read(proc_root);
    let page_size = page_size();
    let ticks = clock_ticks_per_second();
    monitored
        .iter()
        .filter_map(|container| {
            let tree = snapshot.container_tree(container.leader_pid);
            let usage = MemoryUsage {
                physical_bytes: tree.iter().map(|p| p.resident_pages * page_size).sum(),
                physical_limit_bytes: container.physical_limit_bytes,
                virtual_bytes: tree.iter().map(|p| p.virtual_memory_bytes).sum(),
                virtual_limit_bytes: container.virtual_limit_bytes,
            };
            (usage.physical_bytes > usage.physical_limit_bytes).then(|| MemoryViolation {
                container_id: container.container_id,
                diagnostic: beyond_physical_memory(
                    container.leader_pid,
                    container.container_id,
                    usage,
                    &tree,
                    ticks,
                ),
            })
        })
        .collect()
}
