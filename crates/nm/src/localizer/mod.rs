//! Resource localization: bringing a container's `LocalResource`s (`file://` sources) onto the
//! node, unpacking archives safely, and caching the results per visibility like YARN's
//! `ResourceLocalizationService` and `FSDownload`.
//!
//! Start with `ResourceLocalizer::localize`; `layout` names the directories.

mod archive_paths;
mod cache;
mod download;
mod error;
pub mod layout;
mod resource;
mod unpack;

pub use cache::{
    CleanupOutcome, LocalizationOutcome, LocalizerStats, ResourceLease, ResourceLocalizer,
};
pub use download::LocalizedResource;
pub use error::{LocalizationError, UnpackError};
pub use resource::{
    modification_time_millis, LocalResource, LocalResourceType, LocalResourceVisibility,
    ResourceUrl,
};

pub(crate) use download::remove_tree;
