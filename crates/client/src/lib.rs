//! Async client SDK for Spindle and YARN: equivalents of Hadoop's YarnClient, AMRMClient and
//! NMClient over Hadoop IPC.
//!
//! Map: [`YarnClient`] talks ApplicationClientProtocol to the RM's client port; [`AmRmClient`]
//! talks ApplicationMasterProtocol with an AMRMToken (usually found through
//! [`ApplicationMasterEnvironment`]) and keeps outstanding asks in an [`AskTable`]; [`NmClient`]
//! talks ContainerManagementProtocol with the NMTokens the AmRmClient put into the shared
//! [`NmTokenCache`]. [`launch_context`] builds launch-context pieces. Every failure is a
//! [`ClientError`]; remote ones keep the Java exception class.
//! RM clients dial through one private channel (`channel.rs`): one address, or with RM HA every
//! rm-id's address ([`RmEndpoints`]) and the failover policy of [`failover`].
//! Invariant: no protocol logic of its own beyond YARN's client-side bookkeeping; wire types
//! come from spindle-proto and framing from spindle-ipc.

pub mod addresses;
pub mod am_environment;
pub mod amrm_client;
pub mod ask_table;
mod channel;
pub mod error;
pub mod failover;
pub mod launch_context;
pub mod nm_client;
pub mod nm_token_cache;
pub mod reports;
pub mod yarn_client;

pub use addresses::RmEndpoints;
pub use am_environment::ApplicationMasterEnvironment;
pub use amrm_client::AmRmClient;
pub use ask_table::{AskTable, ContainerRequest};
pub use channel::protocols;
pub use error::ClientError;
pub use nm_client::NmClient;
pub use nm_token_cache::NmTokenCache;
pub use reports::{ApplicationReport, NodeReport};
pub use yarn_client::{ApplicationFilter, NewApplication, YarnClient};
