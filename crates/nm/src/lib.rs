//! The Spindle NodeManager: container launch, lifecycle, monitoring and resource localization.
//!
//! `container` owns the life of one container process (launch script, environment, process group,
//! exit status, memory monitor) behind `ContainerManager`; `localizer` brings the container's
//! resources onto the node and keeps YARN's public / private / application caches; `recovery`
//! is the store a restarted NM takes its containers back from (`yarn.nodemanager.recovery.*`);
//! `web` is the NM's web server (REST API and container log pages); `log_aggregation` uploads a
//! finished application's logs (`yarn.log-aggregation-enable`) and holds the file format and
//! layout `spindle logs` reads.

pub mod container;
pub mod localizer;
pub mod log_aggregation;
pub mod recovery;
pub mod service;
pub mod web;
