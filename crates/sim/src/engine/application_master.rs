//! A simulated MapReduce-style ApplicationMaster's bookkeeping, as MRAppMaster with
//! AMRMClient keeps it: which tasks wait, run or are done; the outstanding requests per
//! (priority, size) as YARN's absolute host/rack/`*` counts; and which task an allocated
//! container runs (a task wanting its host, else its rack, else any).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use spindle_scheduler::{ResourceRequest, ANY};
use spindle_types::Resource;

use crate::workload::{JobSpec, TaskStage};

pub(crate) type TaskIndex = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskState {
    /// Its stage has not started (reduces before the maps finish), or a new attempt has not
    /// asked for it yet.
    Waiting,
    Pending,
    Running,
    Done,
}

#[derive(Debug, Clone)]
struct TaskEntry {
    state: TaskState,
    stage: TaskStage,
    group: usize,
    host: Option<String>,
    rack: Option<String>,
}

/// The outstanding requests of one (stage, priority, capability): one YARN request key per
/// host, per rack and `*`, under one allocation_request_id.
#[derive(Debug, Clone)]
struct RequestGroup {
    priority: i32,
    allocation_request_id: i64,
    capability: Resource,
    host_counts: BTreeMap<String, i32>,
    rack_counts: BTreeMap<String, i32>,
    any_count: i32,
    /// Pending tasks by wanted host / rack, and all of them; entries of tasks no longer
    /// pending are skipped when met.
    pending_by_host: HashMap<String, VecDeque<TaskIndex>>,
    pending_by_rack: HashMap<String, VecDeque<TaskIndex>>,
    pending_any: VecDeque<TaskIndex>,
    /// When each outstanding container was asked for, oldest first: an allocation answers the
    /// oldest ask (its allocation latency).
    ask_times: VecDeque<i64>,
    dirty_hosts: BTreeSet<String>,
    dirty_racks: BTreeSet<String>,
    dirty_any: bool,
}

impl RequestGroup {
    fn new(priority: i32, allocation_request_id: i64, capability: Resource) -> Self {
        Self {
            priority,
            allocation_request_id,
            capability,
            host_counts: BTreeMap::new(),
            rack_counts: BTreeMap::new(),
            any_count: 0,
            pending_by_host: HashMap::new(),
            pending_by_rack: HashMap::new(),
            pending_any: VecDeque::new(),
            ask_times: VecDeque::new(),
            dirty_hosts: BTreeSet::new(),
            dirty_racks: BTreeSet::new(),
            dirty_any: false,
        }
    }

    fn is_dirty(&self) -> bool {
        self.dirty_any || !self.dirty_hosts.is_empty() || !self.dirty_racks.is_empty()
    }

    fn clear(&mut self) {
        let fresh = Self::new(
            self.priority,
            self.allocation_request_id,
            self.capability.clone(),
        );
        *self = fresh;
    }
}

/// The task table of one job's ApplicationMaster.
#[derive(Debug, Clone)]
pub(crate) struct TaskBook {
    tasks: Vec<TaskEntry>,
    groups: Vec<RequestGroup>,
    /// The job's stages in the order they run (maps, then reduces; empty ones left out).
    stages: Vec<TaskStage>,
    current_stage: usize,
    /// Tasks of the current stage not yet done.
    remaining_in_stage: usize,
    pending: usize,
}

impl TaskBook {
    /// `rack_of_host` gives the rack of a wanted host the trace names without one.
    pub(crate) fn new(job: &JobSpec, rack_of_host: &HashMap<String, String>) -> Self {
        let mut groups: Vec<RequestGroup> = Vec::new();
        // Groups are numbered in first-seen order; the map only finds them.
        let mut group_index: HashMap<(TaskStage, i32, Resource), usize> = HashMap::new();
        let mut tasks = Vec::with_capacity(job.tasks.len());
        for task in &job.tasks {
            let key = (task.stage, task.priority, task.resource.clone());
            let group = *group_index.entry(key).or_insert_with(|| {
                groups.push(RequestGroup::new(
                    task.priority,
                    groups.len() as i64,
                    task.resource.clone(),
                ));
                groups.len() - 1
            });
            let host = task.host.as_ref().map(|preference| preference.host.clone());
            let rack = task.host.as_ref().and_then(|preference| {
                preference
                    .rack
                    .clone()
                    .or_else(|| rack_of_host.get(&preference.host).cloned())
            });
            tasks.push(TaskEntry {
                state: TaskState::Waiting,
                stage: task.stage,
                group,
                host,
                rack,
            });
        }
        let mut stages: Vec<TaskStage> = tasks.iter().map(|task| task.stage).collect();
        stages.sort();
        stages.dedup();
        Self {
            tasks,
            groups,
            stages,
            current_stage: 0,
            remaining_in_stage: 0,
            pending: 0,
        }
    }

    /// Asks for every task of the current stage that is not done (at registration, and again
    /// by a new attempt).
    pub(crate) fn start_stage(&mut self, now_ms: i64) {
        let Some(&stage) = self.stages.get(self.current_stage) else {
            return;
        };
        self.remaining_in_stage = 0;
        for task in 0..self.tasks.len() {
            if self.tasks[task].stage != stage || self.tasks[task].state == TaskState::Done {
                continue;
            }
            self.remaining_in_stage += 1;
            if self.tasks[task].state == TaskState::Waiting {
                self.add_pending(task, now_ms);
            }
        }
    }

    /// Whether every task of the current stage is done.
    pub(crate) fn stage_complete(&self) -> bool {
        self.remaining_in_stage == 0
    }

    /// Moves to the next stage and asks for its tasks; false when the job has no more stages.
    pub(crate) fn advance_stage(&mut self, now_ms: i64) -> bool {
        self.current_stage += 1;
        if self.current_stage >= self.stages.len() {
            return false;
        }
        self.start_stage(now_ms);
        true
    }

    /// Containers asked for and not yet allocated.
    pub(crate) fn pending_containers(&self) -> usize {
        self.pending
    }

    pub(crate) fn has_asks_to_send(&self) -> bool {
        self.groups.iter().any(RequestGroup::is_dirty)
    }

    fn add_pending(&mut self, task: TaskIndex, now_ms: i64) {
        let entry = &mut self.tasks[task];
        entry.state = TaskState::Pending;
        let group = &mut self.groups[entry.group];
        if let Some(host) = &entry.host {
            *group.host_counts.entry(host.clone()).or_insert(0) += 1;
            group.dirty_hosts.insert(host.clone());
            group
                .pending_by_host
                .entry(host.clone())
                .or_default()
                .push_back(task);
        }
        if let Some(rack) = &entry.rack {
            *group.rack_counts.entry(rack.clone()).or_insert(0) += 1;
            group.dirty_racks.insert(rack.clone());
            group
                .pending_by_rack
                .entry(rack.clone())
                .or_default()
                .push_back(task);
        }
        group.any_count += 1;
        group.dirty_any = true;
        group.pending_any.push_back(task);
        group.ask_times.push_back(now_ms);
        self.pending += 1;
    }

    fn remove_pending(&mut self, task: TaskIndex) {
        let entry = &mut self.tasks[task];
        let group = &mut self.groups[entry.group];
        if let Some(host) = &entry.host {
            if let Some(count) = group.host_counts.get_mut(host) {
                *count -= 1;
            }
            group.dirty_hosts.insert(host.clone());
        }
        if let Some(rack) = &entry.rack {
            if let Some(count) = group.rack_counts.get_mut(rack) {
                *count -= 1;
            }
            group.dirty_racks.insert(rack.clone());
        }
        group.any_count -= 1;
        group.dirty_any = true;
        entry.state = TaskState::Running;
        self.pending -= 1;
    }

    /// The absolute counts of every request key that changed since the last call, as the
    /// next `allocate` call sends them (0 cancels a key).
    pub(crate) fn take_asks(&mut self) -> Vec<ResourceRequest> {
        let mut asks = Vec::new();
        for group in &mut self.groups {
            if !group.is_dirty() {
                continue;
            }
            let request = |resource_name: &str, count: i32| ResourceRequest {
                priority: group.priority,
                resource_name: resource_name.to_string(),
                capability: group.capability.clone(),
                num_containers: count.max(0),
                relax_locality: true,
                allocation_request_id: group.allocation_request_id,
            };
            for host in std::mem::take(&mut group.dirty_hosts) {
                let count = group.host_counts.get(&host).copied().unwrap_or(0);
                asks.push(request(&host, count));
                if count <= 0 {
                    group.host_counts.remove(&host);
                }
            }
            for rack in std::mem::take(&mut group.dirty_racks) {
                let count = group.rack_counts.get(&rack).copied().unwrap_or(0);
                asks.push(request(&rack, count));
                if count <= 0 {
                    group.rack_counts.remove(&rack);
                }
            }
            if std::mem::take(&mut group.dirty_any) {
                asks.push(request(ANY, group.any_count));
            }
        }
        asks
    }

    fn group_of(&self, allocation_request_id: i64) -> Option<usize> {
        usize::try_from(allocation_request_id)
            .ok()
            .filter(|&group| group < self.groups.len())
    }

    /// When the container the scheduler just allocated for `allocation_request_id` was asked
    /// for (the oldest outstanding ask), if any.
    pub(crate) fn take_ask_time(&mut self, allocation_request_id: i64) -> Option<i64> {
        let group = self.group_of(allocation_request_id)?;
        self.groups[group].ask_times.pop_front()
    }

    /// A container allocated but lost before the AM saw it: the scheduler restored its
    /// request, so its ask is outstanding again since `asked_ms`.
    pub(crate) fn restore_ask_time(&mut self, allocation_request_id: i64, asked_ms: i64) {
        if let Some(group) = self.group_of(allocation_request_id) {
            self.groups[group].ask_times.push_front(asked_ms);
        }
    }

    /// Picks the task an acquired container on `host` (in `rack`) runs: a pending task of
    /// the container's request group wanting that host, else that rack, else the oldest.
    /// None when the group has no pending task (the container is surplus and is released).
    pub(crate) fn assign(
        &mut self,
        allocation_request_id: i64,
        host: &str,
        rack: &str,
    ) -> Option<TaskIndex> {
        let group_index = self.group_of(allocation_request_id)?;
        let tasks = &self.tasks;
        let is_pending = |task: &TaskIndex| tasks[*task].state == TaskState::Pending;
        let group = &mut self.groups[group_index];
        let chosen = pop_pending(group.pending_by_host.get_mut(host), is_pending)
            .or_else(|| pop_pending(group.pending_by_rack.get_mut(rack), is_pending))
            .or_else(|| pop_pending(Some(&mut group.pending_any), is_pending))?;
        self.remove_pending(chosen);
        Some(chosen)
    }

    pub(crate) fn task_finished(&mut self, task: TaskIndex) {
        if self.tasks[task].state == TaskState::Running {
            self.tasks[task].state = TaskState::Done;
            self.remaining_in_stage -= 1;
        }
    }

    /// A running task's container was taken away (preempted, lost): it is asked for again.
    pub(crate) fn task_lost(&mut self, task: TaskIndex, now_ms: i64) {
        if self.tasks[task].state == TaskState::Running {
            self.add_pending(task, now_ms);
        }
    }

    /// A new attempt starts from the finished tasks only: everything else waits to be asked
    /// for again once its AM registers.
    pub(crate) fn reset_for_new_attempt(&mut self) {
        for task in &mut self.tasks {
            if task.state != TaskState::Done {
                task.state = TaskState::Waiting;
            }
        }
        for group in &mut self.groups {
            group.clear();
        }
        self.pending = 0;
    }
}

/// The first entry of `queue` that is still pending, dropping stale ones met on the way.
fn pop_pending(
    queue: Option<&mut VecDeque<TaskIndex>>,
    is_pending: impl Fn(&TaskIndex) -> bool,
) -> Option<TaskIndex> {
    let queue = queue?;
    while let Some(task) = queue.pop_front() {
        if is_pending(&task) {
            return Some(task);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{HostPreference, TaskSpec};

    fn task(stage: TaskStage, host: Option<&str>) -> TaskSpec {
        TaskSpec {
            stage,
            task_type: if stage == TaskStage::Reduce {
                "reduce"
            } else {
                "map"
            }
            .into(),
            host: host.and_then(HostPreference::parse),
            duration_ms: 1000,
            priority: if stage == TaskStage::Reduce { 10 } else { 20 },
            resource: Resource::new(1024, 1),
        }
    }

    fn job(tasks: Vec<TaskSpec>) -> JobSpec {
        JobSpec {
            job_id: "job".into(),
            user: "user".into(),
            queue: "default".into(),
            am_type: "mapreduce".into(),
            submit_ms: 0,
            trace_end_ms: None,
            am_resource: Resource::new(1024, 1),
            tasks,
        }
    }

    fn counts(asks: &[ResourceRequest]) -> Vec<(String, i32)> {
        asks.iter()
            .map(|ask| (ask.resource_name.clone(), ask.num_containers))
            .collect()
    }

    #[test]
    fn asks_are_absolute_counts_per_host_rack_and_any() {
        let racks = HashMap::from([("node2".to_string(), "/r2".to_string())]);
        let mut book = TaskBook::new(
            &job(vec![
                task(TaskStage::First, Some("/r1/node1")),
                task(TaskStage::First, Some("/r1/node1")),
                task(TaskStage::First, Some("node2")),
                task(TaskStage::First, None),
            ]),
            &racks,
        );
        book.start_stage(0);
        assert_eq!(
            counts(&book.take_asks()),
            vec![
                ("node1".into(), 2),
                ("node2".into(), 1),
                ("/r1".into(), 2),
                ("/r2".into(), 1),
                ("*".into(), 4)
            ]
        );
        assert!(book.take_asks().is_empty(), "nothing changed since");
        assert_eq!(
            book.assign(0, "node2", "/r2"),
            Some(2),
            "the task wanting that host"
        );
        assert_eq!(
            counts(&book.take_asks()),
            vec![("node2".into(), 0), ("/r2".into(), 0), ("*".into(), 3)]
        );
        assert_eq!(
            book.assign(0, "node9", "/r1"),
            Some(0),
            "a task wanting the rack"
        );
        assert_eq!(book.assign(0, "node9", "/r9"), Some(1));
        assert_eq!(book.assign(0, "node9", "/r9"), Some(3));
        assert_eq!(book.assign(0, "node9", "/r9"), None, "surplus container");
        assert_eq!(book.pending_containers(), 0);
    }

    #[test]
    fn reduces_wait_for_the_maps_and_lost_tasks_are_asked_again() {
        let mut book = TaskBook::new(
            &job(vec![
                task(TaskStage::First, None),
                task(TaskStage::Reduce, None),
            ]),
            &HashMap::new(),
        );
        book.start_stage(0);
        assert_eq!(book.pending_containers(), 1, "only the map is asked for");
        let map = book.assign(0, "n", "/r").unwrap();
        book.task_lost(map, 5);
        assert_eq!(book.take_ask_time(0), Some(0));
        assert_eq!(book.take_ask_time(0), Some(5), "asked again when lost");
        let map = book.assign(0, "n", "/r").unwrap();
        book.task_finished(map);
        assert!(book.stage_complete());
        assert!(book.advance_stage(10));
        let asks = book.take_asks();
        assert_eq!(asks.last().unwrap().priority, 10, "the reduce's ask");
        let reduce = book.assign(1, "n", "/r").unwrap();
        book.task_finished(reduce);
        assert!(book.stage_complete());
        assert!(!book.advance_stage(20), "no stage left: the job is done");
    }
}
