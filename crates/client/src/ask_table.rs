//! The AM's outstanding container asks, kept as YARN's AMRMClient keeps them: an absolute count
//! per (priority, resource name, capability), where only entries changed since the last
//! successful allocate are sent. Pure bookkeeping, no I/O.

use std::collections::{BTreeSet, HashMap};

use spindle_proto::yarn::{
    ExecutionTypeProto, ExecutionTypeRequestProto, PriorityProto, ResourceRequestProto,
};
use spindle_types::Resource;

/// `ResourceRequest.ANY`: anywhere in the cluster.
pub const ANY: &str = "*";
/// The rack every host resolves to without a topology script.
pub const DEFAULT_RACK: &str = "/default-rack";

/// One container the AM wants (`AMRMClient.ContainerRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRequest {
    pub capability: Resource,
    /// Preferred hosts (empty: no preference).
    pub nodes: Vec<String>,
    /// Preferred racks (empty: no preference).
    pub racks: Vec<String>,
    pub priority: i32,
    /// Whether the scheduler may place the container elsewhere than the preferred nodes/racks.
    pub relax_locality: bool,
}

impl ContainerRequest {
    /// A container of `capability` anywhere, at `priority`.
    pub fn anywhere(capability: Resource, priority: i32) -> Self {
        Self {
            capability,
            nodes: Vec::new(),
            racks: Vec::new(),
            priority,
            relax_locality: true,
        }
    }

    /// The resource names one request counts against, with the relax-locality flag of each,
    /// in AMRMClientImpl's expansion: each node, each given rack, the racks inferred from the
    /// nodes (all `/default-rack`), and `*`.
    fn expand(&self) -> Vec<(String, bool)> {
        let nodes: BTreeSet<&str> = self.nodes.iter().map(String::as_str).collect();
        let racks: BTreeSet<&str> = self.racks.iter().map(String::as_str).collect();
        let mut names: Vec<(String, bool)> = Vec::new();
        names.extend(nodes.iter().map(|node| (node.to_string(), true)));
        names.extend(racks.iter().map(|rack| (rack.to_string(), true)));
        if !nodes.is_empty() && !racks.contains(DEFAULT_RACK) {
            names.push((DEFAULT_RACK.to_string(), self.relax_locality));
        }
        names.push((ANY.to_string(), self.relax_locality));
        names
    }
}

/// The key of one ask entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AskKey {
    pub priority: i32,
    pub resource_name: String,
    pub capability: Resource,
}

impl AskKey {
    fn sort_key(&self) -> (i32, &str, i64, i64) {
        (
            self.priority,
            &self.resource_name,
            self.capability.memory_mb,
            self.capability.vcores,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AskEntry {
    num_containers: i32,
    relax_locality: bool,
}

/// Outstanding asks and the set of entries to send with the next allocate.
#[derive(Debug, Default, Clone)]
pub struct AskTable {
    outstanding: HashMap<AskKey, AskEntry>,
    changed: std::collections::HashSet<AskKey>,
}

impl AskTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// `addContainerRequest`: one more container for every resource name the request expands to.
    pub fn add(&mut self, request: &ContainerRequest) {
        for (resource_name, relax_locality) in request.expand() {
            let key = AskKey {
                priority: request.priority,
                resource_name,
                capability: request.capability.clone(),
            };
            let entry = self.outstanding.entry(key.clone()).or_insert(AskEntry {
                num_containers: 0,
                relax_locality,
            });
            entry.num_containers += 1;
            entry.relax_locality = relax_locality;
            self.changed.insert(key);
        }
    }

    /// `removeContainerRequest`: one container fewer for each resource name (never below 0;
    /// names with nothing outstanding are left alone).
    pub fn remove(&mut self, request: &ContainerRequest) {
        for (resource_name, _) in request.expand() {
            let key = AskKey {
                priority: request.priority,
                resource_name,
                capability: request.capability.clone(),
            };
            let Some(entry) = self.outstanding.get_mut(&key) else {
                continue;
            };
            entry.num_containers -= 1;
            if entry.num_containers <= 0 {
                self.outstanding.remove(&key);
            }
            self.changed.insert(key);
        }
    }

    /// The outstanding count for one entry.
    pub fn outstanding(&self, priority: i32, resource_name: &str, capability: &Resource) -> i32 {
        let key = AskKey {
            priority,
            resource_name: resource_name.to_string(),
            capability: capability.clone(),
        };
        self.outstanding
            .get(&key)
            .map(|entry| entry.num_containers)
            .unwrap_or(0)
    }

    /// Containers still wanted at `priority` (the `*` entries).
    pub fn outstanding_anywhere(&self, priority: i32) -> i32 {
        self.outstanding
            .iter()
            .filter(|(key, _)| key.priority == priority && key.resource_name == ANY)
            .map(|(_, entry)| entry.num_containers)
            .sum()
    }

    /// The entries changed since the last [`AskTable::mark_sent`], as absolute asks (0 cancels),
    /// in a stable order. Does not clear them: a failed allocate sends them again.
    pub fn changed_asks(&self) -> Vec<ResourceRequestProto> {
        let mut keys: Vec<&AskKey> = self.changed.iter().collect();
        keys.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        keys.into_iter()
            .map(|key| {
                let entry = self.outstanding.get(key).copied().unwrap_or(AskEntry {
                    num_containers: 0,
                    relax_locality: true,
                });
                ResourceRequestProto {
                    priority: Some(PriorityProto {
                        priority: Some(key.priority),
                    }),
                    resource_name: Some(key.resource_name.clone()),
                    capability: Some((&key.capability).into()),
                    num_containers: Some(entry.num_containers),
                    relax_locality: Some(entry.relax_locality),
                    node_label_expression: None,
                    execution_type_request: Some(ExecutionTypeRequestProto {
                        execution_type: Some(ExecutionTypeProto::Guaranteed as i32),
                        enforce_execution_type: Some(false),
                    }),
                    allocation_request_id: Some(0),
                }
            })
            .collect()
    }

    /// The RM accepted the changed entries.
    pub fn mark_sent(&mut self) {
        self.changed.clear();
    }

    /// Marks every outstanding entry to be sent again (after re-registering with a restarted RM).
    pub fn mark_all_changed(&mut self) {
        self.changed.extend(self.outstanding.keys().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The changed asks as `name=count` strings, then marks them sent.
    fn send(table: &mut AskTable) -> Vec<String> {
        let asks = table
            .changed_asks()
            .iter()
            .map(|ask| {
                let capability = ask.capability.as_ref().unwrap();
                format!(
                    "p{} {} <{},{}>={}{}",
                    ask.priority.as_ref().unwrap().priority(),
                    ask.resource_name(),
                    capability.memory(),
                    capability.virtual_cores(),
                    ask.num_containers(),
                    if ask.relax_locality() { "" } else { " strict" }
                )
            })
            .collect();
        table.mark_sent();
        asks
    }

    fn small() -> ContainerRequest {
        ContainerRequest::anywhere(Resource::new(1024, 1), 0)
    }

    #[test]
    fn counts_are_absolute_and_only_changes_are_sent() {
        let mut table = AskTable::new();
        table.add(&small());
        table.add(&small());
        table.add(&small());
        assert_eq!(send(&mut table), ["p0 * <1024,1>=3"]);
        assert!(send(&mut table).is_empty(), "nothing changed since");
        table.remove(&small());
        assert_eq!(send(&mut table), ["p0 * <1024,1>=2"]);
        assert_eq!(table.outstanding(0, ANY, &Resource::new(1024, 1)), 2);
    }

    #[test]
    fn only_the_entry_that_changed_is_sent() {
        let mut table = AskTable::new();
        let big = ContainerRequest::anywhere(Resource::new(4096, 2), 1);
        table.add(&small());
        table.add(&big);
        assert_eq!(send(&mut table), ["p0 * <1024,1>=1", "p1 * <4096,2>=1"]);
        table.add(&big);
        assert_eq!(send(&mut table), ["p1 * <4096,2>=2"]);
    }

    #[test]
    fn removing_to_zero_sends_a_cancel_once() {
        let mut table = AskTable::new();
        table.add(&small());
        send(&mut table);
        table.remove(&small());
        table.remove(&small());
        assert_eq!(send(&mut table), ["p0 * <1024,1>=0"]);
        table.remove(&small());
        assert!(send(&mut table).is_empty(), "nothing outstanding to cancel");
        assert_eq!(table.outstanding_anywhere(0), 0);
    }

    #[test]
    fn adding_then_removing_before_a_heartbeat_sends_the_net_count() {
        let mut table = AskTable::new();
        table.add(&small());
        table.remove(&small());
        assert_eq!(send(&mut table), ["p0 * <1024,1>=0"]);
    }

    #[test]
    fn node_requests_expand_to_nodes_their_rack_and_anywhere() {
        let mut table = AskTable::new();
        let mut request = small();
        request.nodes = vec!["host2".into(), "host1".into(), "host1".into()];
        table.add(&request);
        assert_eq!(
            send(&mut table),
            [
                "p0 * <1024,1>=1",
                "p0 /default-rack <1024,1>=1",
                "p0 host1 <1024,1>=1",
                "p0 host2 <1024,1>=1"
            ]
        );
        request.relax_locality = false;
        table.add(&request);
        assert_eq!(
            send(&mut table),
            [
                "p0 * <1024,1>=2 strict",
                "p0 /default-rack <1024,1>=2 strict",
                "p0 host1 <1024,1>=2",
                "p0 host2 <1024,1>=2"
            ]
        );
    }

    #[test]
    fn unsent_changes_survive_a_failed_allocate() {
        let mut table = AskTable::new();
        table.add(&small());
        let first = table.changed_asks();
        // The allocate failed: mark_sent was not called, the next attempt sends the same.
        table.add(&small());
        let second = table.changed_asks();
        assert_eq!(first.len(), 1);
        assert_eq!(second[0].num_containers(), 2);
    }

    #[test]
    fn resync_resends_everything_outstanding() {
        let mut table = AskTable::new();
        table.add(&small());
        table.add(&ContainerRequest::anywhere(Resource::new(2048, 1), 3));
        send(&mut table);
        table.mark_all_changed();
        assert_eq!(send(&mut table), ["p0 * <1024,1>=1", "p3 * <2048,1>=1"]);
    }

    #[test]
    fn asks_carry_the_fields_the_java_client_sends() {
        let mut table = AskTable::new();
        table.add(&small());
        let ask = &table.changed_asks()[0];
        assert_eq!(ask.allocation_request_id, Some(0));
        assert_eq!(ask.relax_locality, Some(true));
        let execution = ask.execution_type_request.as_ref().unwrap();
        assert_eq!(
            execution.execution_type,
            Some(ExecutionTypeProto::Guaranteed as i32)
        );
        assert_eq!(execution.enforce_execution_type, Some(false));
    }
}
