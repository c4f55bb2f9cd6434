//! `GET /prom` on the NodeManager: NodeManagerMetrics with Hadoop's names (containers running
//! and allocated, allocated and available memory and vcores), read from the container manager
//! at scrape time, and RpcActivity/RpcDetailedActivity of its container-management port.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use spindle_types::Resource;
use spindle_web::prom::{hadoop_name, PromText};

use super::NmWeb;
use crate::container::ContainerLifecycleState;

pub(super) async fn prometheus(State(web): State<Arc<NmWeb>>) -> Response {
    let mut running = 0u64;
    let mut allocated_containers = 0u64;
    let mut allocated = Resource::ZERO;
    for container in web.manager.list() {
        if container.state == ContainerLifecycleState::Running {
            running += 1;
        }
        // Everything not done yet holds its resources (YARN counts from start to finish).
        if !matches!(
            container.state,
            ContainerLifecycleState::Done | ContainerLifecycleState::LocalizationFailed
        ) {
            allocated_containers += 1;
            allocated.add_assign(&container.resource);
        }
    }
    let available = web.resource.sub(&allocated);
    let mut text = PromText::default();
    let labels = [("hostname", web.node_id.host.as_ref())];
    let name = |attribute: &str| hadoop_name("NodeManagerMetrics", attribute);
    for (attribute, value) in [
        ("ContainersRunning", running as f64),
        ("AllocatedContainers", allocated_containers as f64),
        ("AllocatedGB", (allocated.memory_mb as f64 / 1024.0).ceil()),
        ("AllocatedMB", allocated.memory_mb as f64),
        ("AllocatedVCores", allocated.vcores as f64),
        (
            "AvailableGB",
            (available.memory_mb.max(0) as f64 / 1024.0).floor(),
        ),
        ("AvailableMB", available.memory_mb.max(0) as f64),
        ("AvailableVCores", available.vcores.max(0) as f64),
    ] {
        text.gauge(&name(attribute), &labels, value);
    }
    spindle_web::prom::rpc_samples(&mut text, "container-manager", &web.rpc);
    (
        [(header::CONTENT_TYPE, spindle_web::prom::CONTENT_TYPE)],
        text.finish(),
    )
        .into_response()
}
