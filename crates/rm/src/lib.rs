//! The Spindle ResourceManager: client, AM and resource-tracker services around the pure
//! scheduling core, with the application, attempt, container and node lifecycles.

pub mod access;
pub mod core;
pub mod ha;
pub mod lifecycle;
pub mod liveness;
pub mod retry;
pub mod scheduler_files;
pub mod service;
pub mod settings;
pub mod store;
pub mod topology;
pub mod web;
