//! GPU devices of this node and which container holds which: containers asking for
//! `yarn.io/gpu` get specific device indices, exposed as CUDA_VISIBLE_DEVICES and
//! NVIDIA_VISIBLE_DEVICES, and given back when the container completes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use spindle_types::ContainerId;

#[derive(Clone, Default)]
pub(crate) struct GpuAllocator {
    inner: Arc<Mutex<Devices>>,
}

#[derive(Default)]
struct Devices {
    free: Vec<u32>,
    held: BTreeMap<ContainerId, Vec<u32>>,
}

impl GpuAllocator {
    pub(crate) fn new(devices: &[u32]) -> Self {
        let mut free = devices.to_vec();
        free.sort_unstable();
        free.dedup();
        Self {
            inner: Arc::new(Mutex::new(Devices {
                free,
                held: BTreeMap::new(),
            })),
        }
    }

    /// Assigns `count` free devices (lowest indices first) to `container`.
    pub(crate) fn assign(&self, container: ContainerId, count: usize) -> Result<Vec<u32>, String> {
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if d.free.len() < count {
            return Err(format!(
                "Failed to find enough GPUs, requestor={container}, #RequestedGPUs={count}, #AvailableGPUs={}",
                d.free.len()
            ));
        }
        let assigned: Vec<u32> = d.free.drain(..count).collect();
        d.held.insert(container, assigned.clone());
        Ok(assigned)
    }

    /// Marks `devices` as held by `container` (a container a restarted NM recovered); devices
    /// this node does not offer (any more) are ignored.
    pub(crate) fn hold(&self, container: ContainerId, devices: &[u32]) {
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let held: Vec<u32> = devices
            .iter()
            .copied()
            .filter(|device| d.free.contains(device))
            .collect();
        d.free.retain(|device| !held.contains(device));
        d.held.insert(container, held);
    }

    /// Gives back the devices `container` held, if any.
    pub(crate) fn release(&self, container: ContainerId) {
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(devices) = d.held.remove(&container) {
            d.free.extend(devices);
            d.free.sort_unstable();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    fn c(n: i64) -> ContainerId {
        ContainerId::new(ApplicationAttemptId::new(ApplicationId::new(1, 1), 1), 0, n)
    }

    #[test]
    fn containers_get_distinct_devices_and_give_them_back() {
        let gpus = GpuAllocator::new(&[1, 0, 2]);
        assert_eq!(gpus.assign(c(1), 2).unwrap(), [0, 1]);
        assert_eq!(gpus.assign(c(2), 1).unwrap(), [2]);
        let err = gpus.assign(c(3), 1).unwrap_err();
        assert!(err.contains("#AvailableGPUs=0"), "{err}");
        gpus.release(c(1));
        gpus.release(c(1));
        assert_eq!(gpus.assign(c(3), 2).unwrap(), [0, 1]);
    }

    #[test]
    fn recovered_containers_keep_their_devices() {
        let gpus = GpuAllocator::new(&[0, 1, 2]);
        gpus.hold(c(1), &[1, 7]);
        assert_eq!(gpus.assign(c(2), 2).unwrap(), [0, 2]);
        gpus.release(c(1));
        assert_eq!(gpus.assign(c(3), 1).unwrap(), [1]);
    }
}
