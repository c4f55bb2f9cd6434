//! The node's localized-resource caches (YARN's `LocalResourcesTracker`s): one PUBLIC cache for
//! the node, one PRIVATE cache per user, one APPLICATION cache per application, each keyed by
//! (source path, timestamp, size, type, pattern). Concurrent requests for one resource localize
//! it once; later requests reuse the result while it is still on disk.
//!
//! A container holds a [`ResourceLease`] on every resource it uses until it is done. Every
//! `yarn.nodemanager.localizer.cache.cleanup.interval-ms` the NM calls
//! [`ResourceLocalizer::clean_up`]: while the PUBLIC and PRIVATE caches hold more than
//! `yarn.nodemanager.localizer.cache.target-size-mb`, the least recently used resource that no
//! container holds is deleted (APPLICATION resources go with their application). A lease is
//! only taken on an entry still in the index, under the index's lock, and eviction takes its
//! victims out of the index under the same lock, so a resource in use is never deleted.
//!
//! With recovery on, each localized resource is recorded (its request, cache and local path):
//! the directory layout alone (`<cache root>/<n>/<file name>`) does not say which request a copy
//! satisfied, so a restarted NM rebuilds the index from the records, keeping those whose copy is
//! still where the record says, inside its cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use spindle_types::ApplicationId;
use tokio::sync::OnceCell;

use super::download::{localize_into, LocalizedResource};
use super::error::LocalizationError;
use super::layout;
use super::resource::{LocalResource, LocalResourceType, LocalResourceVisibility};
use crate::recovery::{LocalizedRecord, NmStateStore};

/// Which cache a resource belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheScope {
    Public,
    Private {
        user: String,
    },
    Application {
        user: String,
        application_id: ApplicationId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    scope: CacheScope,
    source: PathBuf,
    timestamp: i64,
    size: i64,
    resource_type: LocalResourceType,
    pattern: Option<String>,
}

/// One cached resource; the cell is filled by whichever request localizes it first.
#[derive(Default)]
struct CacheEntry {
    result: OnceCell<Result<LocalizedResource, LocalizationError>>,
    /// Containers holding it ([`ResourceLease`]s).
    holders: AtomicUsize,
    /// When it was last taken or given back ([`USE_CLOCK`] ticks): least recently used first.
    last_used: AtomicU64,
}

/// A process-wide use counter: the order of lease takes and returns.
static USE_CLOCK: AtomicU64 = AtomicU64::new(1);

fn tick() -> u64 {
    USE_CLOCK.fetch_add(1, Ordering::Relaxed)
}

/// A container's hold on a localized resource: while any lease is alive, cache cleanup leaves
/// the resource on disk. Dropping it gives the resource back.
pub struct ResourceLease {
    entry: Arc<CacheEntry>,
}

impl ResourceLease {
    fn take(entry: &Arc<CacheEntry>) -> Self {
        entry.holders.fetch_add(1, Ordering::AcqRel);
        entry.last_used.store(tick(), Ordering::Relaxed);
        Self {
            entry: entry.clone(),
        }
    }
}

impl Drop for ResourceLease {
    fn drop(&mut self) {
        self.entry.last_used.store(tick(), Ordering::Relaxed);
        self.entry.holders.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for ResourceLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResourceLease")
    }
}

/// The result of one `localize` call.
#[derive(Debug)]
pub struct LocalizationOutcome {
    pub resource: LocalizedResource,
    /// True when an earlier (or concurrent) request had already localized the resource.
    pub cache_hit: bool,
    /// The caller's hold on the resource: keep it while the resource is in use.
    pub lease: ResourceLease,
}

/// What one [`ResourceLocalizer::clean_up`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanupOutcome {
    /// PUBLIC and PRIVATE bytes before and after.
    pub before_bytes: u64,
    pub after_bytes: u64,
    /// Resources deleted.
    pub deleted: usize,
}

/// Counters for observing the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LocalizerStats {
    /// Resources copied or unpacked (successfully or not).
    pub downloads: u64,
    /// Requests served from a cache.
    pub cache_hits: u64,
}

/// Localizes resources into the NM's local dirs and remembers what it localized.
pub struct ResourceLocalizer {
    local_dirs: Vec<PathBuf>,
    entries: Mutex<HashMap<CacheKey, Arc<CacheEntry>>>,
    /// YARN's node-wide unique number for cache directories; the first is 10.
    next_directory_number: AtomicU64,
    downloads: AtomicU64,
    cache_hits: AtomicU64,
    /// The recovery store, when recovery is on.
    store: Option<Arc<NmStateStore>>,
}

impl CacheKey {
    /// The cache entry `resource` takes for a container of `user` in `application_id`.
    fn of(
        resource: &LocalResource,
        user: &str,
        application_id: ApplicationId,
    ) -> Result<Self, LocalizationError> {
        Ok(Self {
            scope: CacheScope::of(resource.visibility, user, application_id),
            source: resource.url.to_local_path()?,
            timestamp: resource.timestamp,
            size: resource.size,
            resource_type: resource.resource_type,
            pattern: resource.pattern.clone(),
        })
    }
}

impl CacheScope {
    fn of(visibility: LocalResourceVisibility, user: &str, application_id: ApplicationId) -> Self {
        match visibility {
            LocalResourceVisibility::Public => CacheScope::Public,
            LocalResourceVisibility::Private => CacheScope::Private {
                user: user.to_string(),
            },
            LocalResourceVisibility::Application => CacheScope::Application {
                user: user.to_string(),
                application_id,
            },
        }
    }

    /// The scope a record names, if its user and application fit its visibility.
    fn of_record(record: &LocalizedRecord) -> Option<Self> {
        match (
            record.resource.visibility,
            &record.user,
            record.application_id,
        ) {
            (LocalResourceVisibility::Public, None, None) => Some(CacheScope::Public),
            (LocalResourceVisibility::Private, Some(user), None) => {
                Some(CacheScope::Private { user: user.clone() })
            }
            (LocalResourceVisibility::Application, Some(user), Some(application_id)) => {
                Some(CacheScope::Application {
                    user: user.clone(),
                    application_id,
                })
            }
            _ => None,
        }
    }

    fn user(&self) -> Option<String> {
        match self {
            CacheScope::Public => None,
            CacheScope::Private { user } | CacheScope::Application { user, .. } => {
                Some(user.clone())
            }
        }
    }

    fn application_id(&self) -> Option<ApplicationId> {
        match self {
            CacheScope::Application { application_id, .. } => Some(*application_id),
            _ => None,
        }
    }
}

impl ResourceLocalizer {
    /// A localizer over the NM's local dirs (`yarn.nodemanager.local-dirs`); at least one.
    pub fn new(local_dirs: Vec<PathBuf>) -> Self {
        assert!(
            !local_dirs.is_empty(),
            "the NodeManager needs at least one local dir"
        );
        Self {
            local_dirs,
            entries: Mutex::new(HashMap::new()),
            next_directory_number: AtomicU64::new(10),
            downloads: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            store: None,
        }
    }

    /// A localizer recording into `store`, its index rebuilt from `records`. A record is kept
    /// when its copy is still on disk at `<cache root>/<n>/<name>` of its cache on one of the
    /// local dirs; the keys of the others are returned for deletion.
    pub fn recovered(
        local_dirs: Vec<PathBuf>,
        store: Arc<NmStateStore>,
        records: Vec<LocalizedRecord>,
    ) -> (Self, Vec<String>) {
        let mut localizer = Self::new(local_dirs);
        localizer.store = Some(store);
        let mut stale = Vec::new();
        let mut highest = None;
        {
            let mut entries = localizer.entries.lock().unwrap();
            for record in records {
                let recovered = CacheScope::of_record(&record).and_then(|scope| {
                    let number = localizer.directory_number_in_cache(&scope, &record.path)?;
                    let source = record.resource.url.to_local_path().ok()?;
                    std::fs::symlink_metadata(&record.path).ok()?;
                    Some((scope, source, number))
                });
                let Some((scope, source, number)) = recovered else {
                    tracing::info!(
                        "NodeManager recovery: forgetting localized resource {}: not in its cache any more",
                        record.path.display()
                    );
                    stale.push(record.key());
                    continue;
                };
                highest = highest.max(Some(number));
                let key = CacheKey {
                    scope,
                    source,
                    timestamp: record.resource.timestamp,
                    size: record.resource.size,
                    resource_type: record.resource.resource_type,
                    pattern: record.resource.pattern.clone(),
                };
                let localized = LocalizedResource {
                    path: record.path,
                    size_bytes: record.size_bytes,
                };
                entries.insert(
                    key,
                    Arc::new(CacheEntry {
                        result: OnceCell::new_with(Some(Ok(localized))),
                        holders: AtomicUsize::new(0),
                        last_used: AtomicU64::new(tick()),
                    }),
                );
            }
        }
        if let Some(highest) = highest {
            localizer
                .next_directory_number
                .store(highest + 1, Ordering::Relaxed);
        }
        (localizer, stale)
    }

    /// `n` when `path` is `<cache root of scope>/<n>/<one name>` on one of the local dirs.
    fn directory_number_in_cache(&self, scope: &CacheScope, path: &Path) -> Option<u64> {
        let directory = path.parent()?;
        let number: u64 = directory.file_name()?.to_str()?.parse().ok()?;
        let name = path.file_name()?.to_str()?;
        if name == "." || name == ".." {
            return None;
        }
        let root = directory.parent()?;
        self.local_dirs
            .iter()
            .any(|local_dir| cache_root(local_dir, scope) == root)
            .then_some(number)
    }

    /// Records a resource just localized (with recovery on).
    fn record(&self, key: &CacheKey, resource: &LocalResource, localized: &LocalizedResource) {
        let Some(store) = &self.store else {
            return;
        };
        let record = LocalizedRecord {
            resource: resource.clone(),
            user: key.scope.user(),
            application_id: key.scope.application_id(),
            path: localized.path.clone(),
            size_bytes: localized.size_bytes,
        };
        if let Err(error) = store.store_localized(&record) {
            tracing::warn!(
                "cannot record localized resource {} for recovery: {error}",
                localized.path.display()
            );
        }
    }

    /// Deletes the records of resources the caches no longer hold (with recovery on).
    fn unrecord(&self, paths: &[PathBuf]) {
        if let (Some(store), false) = (&self.store, paths.is_empty()) {
            if let Err(error) = store.remove_localized(paths) {
                tracing::warn!("cannot forget localized resources in the recovery store: {error}");
            }
        }
    }

    pub fn local_dirs(&self) -> &[PathBuf] {
        &self.local_dirs
    }

    /// Localizes `resource` for a container of `user` in `application_id`, or returns the copy a
    /// previous request made. Requests racing for the same resource wait for the first one.
    pub async fn localize(
        &self,
        resource: &LocalResource,
        user: &str,
        application_id: ApplicationId,
    ) -> Result<LocalizationOutcome, LocalizationError> {
        let key = CacheKey::of(resource, user, application_id)?;
        loop {
            let entry = self
                .entries
                .lock()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .clone();
            let localized_here = AtomicBool::new(false);
            let result = entry
                .result
                .get_or_init(|| async {
                    localized_here.store(true, Ordering::Relaxed);
                    self.downloads.fetch_add(1, Ordering::Relaxed);
                    let result = self.download(&key, resource).await;
                    if let Ok(localized) = &result {
                        self.record(&key, resource, localized);
                    }
                    result
                })
                .await
                .clone();
            let localized_here = localized_here.load(Ordering::Relaxed);
            match result {
                Ok(localized) => {
                    // Held only while the entry is still in the index (cleanup may just have
                    // taken it out to delete it: then localize again).
                    let Some(lease) = self.lease_if_indexed(&key, &entry) else {
                        continue;
                    };
                    if !localized_here && std::fs::symlink_metadata(&localized.path).is_err() {
                        // Deleted behind the cache's back: forget it and localize again.
                        drop(lease);
                        self.forget_entry(&key, &entry);
                        self.unrecord(&[localized.path]);
                        continue;
                    }
                    if !localized_here {
                        self.cache_hits.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(LocalizationOutcome {
                        resource: localized,
                        cache_hit: !localized_here,
                        lease,
                    });
                }
                Err(error) => {
                    // A failed resource is not cached: a later request tries again.
                    self.forget_entry(&key, &entry);
                    return Err(error);
                }
            }
        }
    }

    fn lease_if_indexed(&self, key: &CacheKey, entry: &Arc<CacheEntry>) -> Option<ResourceLease> {
        let entries = self.entries.lock().unwrap();
        entries
            .get(key)
            .is_some_and(|current| Arc::ptr_eq(current, entry))
            .then(|| ResourceLease::take(entry))
    }

    /// A lease on `resource` if it is cached (a recovered container holds what it used).
    pub fn lease_cached(
        &self,
        resource: &LocalResource,
        user: &str,
        application_id: ApplicationId,
    ) -> Option<ResourceLease> {
        let key = CacheKey::of(resource, user, application_id).ok()?;
        let entries = self.entries.lock().unwrap();
        entries.get(&key).map(ResourceLease::take)
    }

    /// YARN's cache cleanup: while the PUBLIC and PRIVATE caches hold more than `target_bytes`,
    /// deletes the least recently used resource no container holds. Blocking (it deletes
    /// directories).
    pub fn clean_up(&self, target_bytes: u64) -> CleanupOutcome {
        let mut victims = Vec::new();
        let (before_bytes, after_bytes) = {
            let mut entries = self.entries.lock().unwrap();
            let mut sized: Vec<(u64, u64, bool, CacheKey)> = entries
                .iter()
                .filter(|(key, _)| !matches!(key.scope, CacheScope::Application { .. }))
                .filter_map(|(key, entry)| match entry.result.get() {
                    Some(Ok(localized)) => Some((
                        entry.last_used.load(Ordering::Relaxed),
                        localized.size_bytes,
                        entry.holders.load(Ordering::Acquire) > 0,
                        key.clone(),
                    )),
                    _ => None,
                })
                .collect();
            let before: u64 = sized.iter().map(|(_, size, _, _)| size).sum();
            let mut total = before;
            sized.sort_by_key(|(last_used, ..)| *last_used);
            for (_, size, held, key) in sized {
                if total <= target_bytes {
                    break;
                }
                if held {
                    continue;
                }
                if let Some(entry) = entries.remove(&key) {
                    if let Some(Ok(localized)) = entry.result.get() {
                        victims.push(localized.path.clone());
                    }
                    total -= size;
                }
            }
            (before, total)
        };
        for path in &victims {
            // `<cache root>/<n>/<name>`: the whole numbered directory goes.
            let directory = path.parent().unwrap_or(path);
            if let Err(error) = super::download::remove_tree(directory) {
                tracing::warn!(
                    "cache cleanup: cannot delete {}: {error}",
                    directory.display()
                );
            }
        }
        self.unrecord(&victims);
        if !victims.is_empty() {
            tracing::info!(
                "localizer cache cleanup: deleted {} resource(s), {before_bytes} -> {after_bytes} bytes (target {target_bytes})",
                victims.len()
            );
        }
        CleanupOutcome {
            before_bytes,
            after_bytes,
            deleted: victims.len(),
        }
    }

    /// Forgets the APPLICATION resources of an application (its directories are deleted with the
    /// application's appcache dirs).
    pub fn release_application(&self, application_id: ApplicationId) {
        let mut released = Vec::new();
        self.entries.lock().unwrap().retain(|key, entry| {
            let keep = key.scope.application_id() != Some(application_id);
            if !keep {
                if let Some(Ok(localized)) = entry.result.get() {
                    released.push(localized.path.clone());
                }
            }
            keep
        });
        self.unrecord(&released);
    }

    pub fn stats(&self) -> LocalizerStats {
        LocalizerStats {
            downloads: self.downloads.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
        }
    }

    fn forget_entry(&self, key: &CacheKey, entry: &Arc<CacheEntry>) {
        let mut entries = self.entries.lock().unwrap();
        if entries
            .get(key)
            .is_some_and(|current| Arc::ptr_eq(current, entry))
        {
            entries.remove(key);
        }
    }

    async fn download(
        &self,
        key: &CacheKey,
        resource: &LocalResource,
    ) -> Result<LocalizedResource, LocalizationError> {
        let destination = self.allocate_directory(&key.scope);
        let source = key.source.clone();
        let resource = resource.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = destination.parent() {
                std::fs::create_dir_all(parent).map_err(|error| LocalizationError::Io {
                    url: resource.url.to_string(),
                    source: Arc::new(error),
                })?;
            }
            localize_into(&source, &resource, &destination)
        })
        .await
        .unwrap_or_else(|join_error| {
            Err(LocalizationError::Io {
                url: key.source.display().to_string(),
                source: Arc::new(std::io::Error::other(join_error)),
            })
        })
    }

    /// `<cache root>/<n>` for a fresh `n`, spreading entries over the local dirs.
    fn allocate_directory(&self, scope: &CacheScope) -> PathBuf {
        loop {
            let number = self.next_directory_number.fetch_add(1, Ordering::Relaxed);
            let local_dir = &self.local_dirs[(number as usize) % self.local_dirs.len()];
            let root = cache_root(local_dir, scope);
            let directory = root.join(number.to_string());
            let work_directory = root.join(format!("{number}_tmp"));
            if !directory.exists() && !work_directory.exists() {
                return directory;
            }
        }
    }
}

fn cache_root(local_dir: &Path, scope: &CacheScope) -> PathBuf {
    match scope {
        CacheScope::Public => layout::public_file_cache(local_dir),
        CacheScope::Private { user } => layout::user_file_cache(local_dir, user),
        CacheScope::Application {
            user,
            application_id,
        } => layout::application_file_cache(local_dir, user, *application_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn app(id: i32) -> ApplicationId {
        ApplicationId::new(1700000000000, id)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_localize_once() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("lib.jar");
        fs::write(&source, vec![7u8; 100_000]).unwrap();
        let resource = LocalResource::from_local_path(
            &source,
            LocalResourceType::File,
            LocalResourceVisibility::Application,
        )
        .unwrap();
        let localizer = Arc::new(ResourceLocalizer::new(vec![temp.path().join("local")]));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let localizer = localizer.clone();
            let resource = resource.clone();
            tasks.push(tokio::spawn(async move {
                localizer
                    .localize(&resource, "alice", app(1))
                    .await
                    .unwrap()
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        assert!(outcomes.iter().all(|o| o.resource == outcomes[0].resource));
        assert_eq!(outcomes.iter().filter(|o| !o.cache_hit).count(), 1);
        assert_eq!(
            localizer.stats(),
            LocalizerStats {
                downloads: 1,
                cache_hits: 5
            }
        );
        let expected_root = temp
            .path()
            .join("local/usercache/alice/appcache/application_1700000000000_0001/filecache");
        assert_eq!(outcomes[0].resource.path, expected_root.join("10/lib.jar"));
    }

    #[tokio::test]
    async fn caches_are_separated_by_visibility_user_and_application() {
        let temp = tempfile::tempdir().unwrap();
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let source = temp.path().join("shared.txt");
        fs::write(&source, b"s").unwrap();
        fs::set_permissions(&source, fs::Permissions::from_mode(0o644)).unwrap();
        let localizer = ResourceLocalizer::new(vec![temp.path().join("local")]);
        let with = |visibility| {
            LocalResource::from_local_path(&source, LocalResourceType::File, visibility).unwrap()
        };

        let public_a = localizer
            .localize(&with(LocalResourceVisibility::Public), "alice", app(1))
            .await
            .unwrap();
        let public_b = localizer
            .localize(&with(LocalResourceVisibility::Public), "bob", app(2))
            .await
            .unwrap();
        assert!(
            public_b.cache_hit,
            "PUBLIC is shared across users and applications"
        );
        assert!(public_a
            .resource
            .path
            .starts_with(temp.path().join("local/filecache")));

        let private_a1 = localizer
            .localize(&with(LocalResourceVisibility::Private), "alice", app(1))
            .await
            .unwrap();
        let private_a2 = localizer
            .localize(&with(LocalResourceVisibility::Private), "alice", app(2))
            .await
            .unwrap();
        let private_b = localizer
            .localize(&with(LocalResourceVisibility::Private), "bob", app(1))
            .await
            .unwrap();
        assert!(private_a2.cache_hit && !private_b.cache_hit);
        assert_eq!(
            fs::metadata(&private_a1.resource.path).unwrap().ino(),
            fs::metadata(&private_a2.resource.path).unwrap().ino()
        );
        assert!(private_b
            .resource
            .path
            .starts_with(temp.path().join("local/usercache/bob/filecache")));

        let app_1 = localizer
            .localize(&with(LocalResourceVisibility::Application), "alice", app(1))
            .await
            .unwrap();
        let app_2 = localizer
            .localize(&with(LocalResourceVisibility::Application), "alice", app(2))
            .await
            .unwrap();
        assert!(!app_1.cache_hit && !app_2.cache_hit);
        assert_ne!(app_1.resource.path, app_2.resource.path);

        // A released application's resources are localized afresh.
        localizer.release_application(app(1));
        let again = localizer
            .localize(&with(LocalResourceVisibility::Application), "alice", app(1))
            .await
            .unwrap();
        assert!(!again.cache_hit);
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_deleted_copies_are_redone() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("conf.xml");
        fs::write(&source, b"<x/>").unwrap();
        let localizer =
            ResourceLocalizer::new(vec![temp.path().join("l1"), temp.path().join("l2")]);
        let good = LocalResource::from_local_path(
            &source,
            LocalResourceType::File,
            LocalResourceVisibility::Private,
        )
        .unwrap();
        let mut stale = good.clone();
        stale.timestamp += 5;
        assert!(localizer.localize(&stale, "alice", app(1)).await.is_err());
        assert!(localizer.localize(&stale, "alice", app(1)).await.is_err());
        assert_eq!(
            localizer.stats().downloads,
            2,
            "a failure is retried by the next request"
        );

        let first = localizer.localize(&good, "alice", app(1)).await.unwrap();
        fs::remove_dir_all(first.resource.path.parent().unwrap()).unwrap();
        let second = localizer.localize(&good, "alice", app(1)).await.unwrap();
        assert!(!second.cache_hit);
        assert_eq!(fs::read(&second.resource.path).unwrap(), b"<x/>");
    }

    #[tokio::test]
    async fn cleanup_deletes_least_recently_used_unheld_resources_down_to_the_target() {
        let temp = tempfile::tempdir().unwrap();
        let localizer = ResourceLocalizer::new(vec![temp.path().join("local")]);
        let resource = |name: &str, visibility| {
            let source = temp.path().join(name);
            fs::write(&source, vec![1u8; 100_000]).unwrap();
            LocalResource::from_local_path(&source, LocalResourceType::File, visibility).unwrap()
        };
        let first = resource("first.jar", LocalResourceVisibility::Private);
        let held = resource("held.jar", LocalResourceVisibility::Private);
        let last = resource("last.jar", LocalResourceVisibility::Private);
        let own = resource("own.jar", LocalResourceVisibility::Application);
        let mut outcomes = Vec::new();
        for r in [&first, &held, &last, &own] {
            outcomes.push(localizer.localize(r, "alice", app(1)).await.unwrap());
        }
        let paths: Vec<PathBuf> = outcomes.iter().map(|o| o.resource.path.clone()).collect();
        let mut outcomes = outcomes.into_iter();
        drop(outcomes.next()); // first: given back first, the least recently used
        let held_lease = outcomes.next().unwrap();
        drop(outcomes.next()); // last
        drop(outcomes.next()); // own: APPLICATION, left to its application's cleanup

        // Within the target: nothing goes.
        let kept = localizer.clean_up(1 << 20);
        assert_eq!((kept.before_bytes, kept.deleted), (300_000, 0));

        // 150 KB: first goes, held stays although older than last, then last goes.
        let outcome = localizer.clean_up(150_000);
        assert_eq!(
            outcome,
            CleanupOutcome {
                before_bytes: 300_000,
                after_bytes: 100_000,
                deleted: 2
            }
        );
        assert!(!paths[0].exists() && !paths[0].parent().unwrap().exists());
        assert!(paths[1].exists(), "a held resource is never deleted");
        assert!(!paths[2].exists());
        assert!(paths[3].exists());

        // Held below the target of zero, it still stays; given back, it goes.
        assert_eq!(localizer.clean_up(0).deleted, 0);
        drop(held_lease);
        assert_eq!(localizer.clean_up(0).deleted, 1);
        assert!(!paths[1].exists());

        // A deleted resource is localized again when asked for.
        let again = localizer.localize(&first, "alice", app(1)).await.unwrap();
        assert!(!again.cache_hit);
        assert!(again.resource.path.exists());
    }
}
