//! The ZooKeeper state store (YARN's `ZKRMStateStore`), the store RMs share in HA: the same
//! records as the embedded store, one znode each under YARN's layout, and YARN's fencing. On
//! open the RM claims the root: it sets the root's ACL so that only it may create and delete the
//! root's children (world keeps read, write and admin), with a digest identity (this RM's address
//! and a password drawn per process). Every write is one ZooKeeper transaction that creates the
//! fencing lock znode under the root, makes the changes, and deletes the lock: once another RM
//! has claimed the root, the first step fails with NoAuth and nothing is written
//! ([`StoreError::Fenced`]).
//!
//! Layout under `<parent>/ZKRMStateRoot` (parent `yarn.resourcemanager.zk-state-store.parent-path`,
//! default `/rmstore`): `RMVersionNode`, `EpochNode`, `AMRMTokenSecretManagerRoot` (the master
//! keys), `RMAppRoot/<application id>` and `RMAppRoot/<application id>/<attempt id>`.
//!
//! The ZooKeeper client is asynchronous; the store runs it on a thread of its own with its own
//! runtime, so the synchronous [`StateStore`] calls work from the writer's blocking thread and at
//! start alike. That thread always waits inside its runtime, so the session's pings go out while
//! no write is pending. When the session ends anyway (expired after a pause longer than the
//! session timeout), the next call opens a new one with the same digest identity and carries on,
//! as Curator does for YARN: the root's ACL still names this RM unless another has claimed it,
//! and then the write is fenced.

use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use sha1::Digest;
use zookeeper_client as zk;

use super::records::meta;
use super::{RawState, StateStore, StoreError, StoreWrite};

const ROOT: &str = "ZKRMStateRoot";
const APP_ROOT: &str = "RMAppRoot";
const VERSION_NODE: &str = "RMVersionNode";
const EPOCH_NODE: &str = "EpochNode";
const KEYS_NODE: &str = "AMRMTokenSecretManagerRoot";
const FENCING_LOCK: &str = "RM_ZK_FENCING_LOCK";
/// Pause between attempts to open a session.
const CONNECT_RETRY: Duration = Duration::from_millis(200);

/// Where and how to reach ZooKeeper.
#[derive(Debug, Clone)]
pub struct ZkSettings {
    /// `hadoop.zk.address`: `host:port[,host:port...]`.
    pub address: String,
    /// `yarn.resourcemanager.zk-state-store.parent-path` (default `/rmstore`).
    pub parent_path: String,
    /// `hadoop.zk.timeout-ms` (default 10 s): the session timeout.
    pub session_timeout: Duration,
    /// Who claims the root: this RM's `yarn.resourcemanager.address` (YARN's fencing user).
    pub fencing_user: String,
}

type Reply<T> = mpsc::Sender<Result<T, StoreError>>;
type Inbox = tokio::sync::mpsc::UnboundedReceiver<Request>;

enum Request {
    Load(Reply<RawState>),
    Apply(Vec<StoreWrite>, Reply<()>),
    Stall(Duration, Reply<()>),
    SessionId(Reply<i64>),
}

/// The store's thread: opens the session, then answers requests, waiting inside the runtime so
/// that the session's own tasks (pings, reconnection) keep running between them.
async fn serve(
    settings: ZkSettings,
    ready: mpsc::Sender<Result<(), StoreError>>,
    mut inbox: Inbox,
) {
    let mut session = match Session::open(&settings).await {
        Ok(session) => {
            let _ = ready.send(Ok(()));
            session
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    while let Some(request) = inbox.recv().await {
        match request {
            Request::Load(reply) => {
                let result = match session.renew().await {
                    Ok(()) => session.load().await,
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Request::Apply(writes, reply) => {
                let result = match session.renew().await {
                    Ok(()) => session.apply(&writes).await,
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Request::SessionId(reply) => {
                let _ = reply.send(Ok(session.client.session().id().0));
            }
            Request::Stall(pause, reply) => {
                // The whole thread stops, pings included: the server expires the session.
                std::thread::sleep(pause);
                let _ = reply.send(Ok(()));
            }
        }
    }
}

/// The ZooKeeper store; dropping it closes the session.
pub struct ZkStore {
    requests: Option<tokio::sync::mpsc::UnboundedSender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
    address: String,
}

fn backend(address: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        path: format!("zookeeper {address}"),
        message: e.to_string(),
    }
}

/// A digest ACL identity: `user:base64(sha1(user:password))`, as ZooKeeper's digest scheme.
fn digest_id(user: &str, password: &str) -> String {
    let hash = sha1::Sha1::digest(format!("{user}:{password}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

struct Session {
    client: zk::Client,
    root: String,
    address: String,
    settings: ZkSettings,
    /// The digest identity (user, password) that claimed the root.
    identity: (String, String),
}

impl ZkStore {
    /// Connects, creates the layout if needed and claims the root for this RM (fencing any
    /// other RM that wrote before).
    pub fn open(settings: ZkSettings) -> Result<Self, StoreError> {
        let (requests, inbox) = tokio::sync::mpsc::unbounded_channel::<Request>();
        let (ready, opened) = mpsc::channel::<Result<(), StoreError>>();
        let address = settings.address.clone();
        let thread = std::thread::Builder::new()
            .name("zk-state-store".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(backend(&settings.address, e)));
                        return;
                    }
                };
                runtime.block_on(serve(settings, ready, inbox));
            })
            .map_err(|e| backend(&address, e))?;
        opened
            .recv()
            .map_err(|_| backend(&address, "the ZooKeeper thread ended"))??;
        Ok(Self {
            requests: Some(requests),
            thread: Some(thread),
            address,
        })
    }

    /// Stops the store's thread for `pause`, pings included, as a long stall of the process
    /// would: a test hook for the path where the server expired the session.
    #[doc(hidden)]
    pub fn stall_for_test(&self, pause: Duration) -> Result<(), StoreError> {
        self.ask(|reply| Request::Stall(pause, reply))
    }

    /// The current ZooKeeper session's id (a test hook).
    #[doc(hidden)]
    pub fn session_id_for_test(&self) -> Result<i64, StoreError> {
        self.ask(Request::SessionId)
    }

    fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .as_ref()
            .ok_or_else(|| backend(&self.address, "closed"))?
            .send(make(reply))
            .map_err(|_| backend(&self.address, "the ZooKeeper thread ended"))?;
        answer
            .recv()
            .map_err(|_| backend(&self.address, "the ZooKeeper thread ended"))?
    }
}

impl Drop for ZkStore {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl StateStore for ZkStore {
    fn load(&mut self) -> Result<RawState, StoreError> {
        self.ask(Request::Load)
    }

    fn apply(&mut self, writes: &[StoreWrite]) -> Result<(), StoreError> {
        self.ask(|reply| Request::Apply(writes.to_vec(), reply))
    }

    fn class_name(&self) -> &'static str {
        super::classes::ZOOKEEPER
    }
}

/// A session authenticated as `user:password`, retried within the session timeout: a server that
/// has just started may refuse sessions for a moment.
async fn connect(
    settings: &ZkSettings,
    user: &str,
    password: &str,
) -> Result<zk::Client, StoreError> {
    let address = &settings.address;
    let deadline = tokio::time::Instant::now() + settings.session_timeout;
    loop {
        let attempt = zk::Client::connector()
            .with_session_timeout(settings.session_timeout)
            .with_auth("digest", format!("{user}:{password}").as_bytes())
            .with_fail_eagerly()
            .connect(address);
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(e)) if tokio::time::Instant::now() + CONNECT_RETRY < deadline => {
                tracing::debug!("ZooKeeper {address}: {e}; trying again");
                tokio::time::sleep(CONNECT_RETRY).await;
            }
            Ok(Err(e)) => return Err(backend(address, e)),
            Err(_) => return Err(backend(address, "no session within the session timeout")),
        }
    }
}

impl Session {
    async fn open(settings: &ZkSettings) -> Result<Self, StoreError> {
        let address = settings.address.clone();
        let err = |e: zk::Error| backend(&address, e);
        let password: u64 = rand::random();
        let password = password.to_string();
        // ZooKeeper's digest scheme splits `user:password` at the first colon: the address's
        // port separator cannot stay.
        let user = settings.fencing_user.replace(':', "_");
        let client = connect(settings, &user, &password).await?;
        let parent = settings.parent_path.trim_end_matches('/');
        let root = format!("{parent}/{ROOT}");
        let open_node = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        // The parents and the root, readable and writable by all (the root's ACL is set below).
        let mut path = String::new();
        for part in root.split('/').filter(|p| !p.is_empty()) {
            path.push('/');
            path.push_str(part);
            match client.create(&path, &[], &open_node).await {
                Ok(_) | Err(zk::Error::NodeExists) => {}
                Err(e) => return Err(err(e)),
            }
        }
        // Claim the root: world may read, write and administer; only this RM may create and
        // delete its children, which every write does with the fencing lock.
        let acl = [
            zk::Acl::new(
                zk::Permission::READ | zk::Permission::WRITE | zk::Permission::ADMIN,
                zk::AuthId::anyone(),
            ),
            zk::Acl::new(
                zk::Permission::CREATE | zk::Permission::DELETE,
                zk::AuthId::new("digest", &digest_id(&user, &password)),
            ),
        ];
        client.set_acl(&root, &acl, None).await.map_err(err)?;
        // A fencing lock left by a writer that died inside a transaction cannot exist (the
        // transaction is atomic), but one created by hand would block every write.
        match client.delete(&format!("{root}/{FENCING_LOCK}"), None).await {
            Ok(()) | Err(zk::Error::NoNode) => {}
            Err(e) => return Err(err(e)),
        }
        let session = Self {
            client,
            root,
            address,
            settings: settings.clone(),
            identity: (user, password),
        };
        // The application root, created through the fenced path.
        if session.exists(&session.app_root()).await?.is_none() {
            session.apply(&[]).await?;
        }
        Ok(session)
    }

    /// A new session (same identity, no new claim) if the current one has ended.
    async fn renew(&mut self) -> Result<(), StoreError> {
        if !self.client.state().is_terminated() {
            return Ok(());
        }
        tracing::warn!(
            "ZooKeeper {}: the state store's session ended ({:?}); opening a new one",
            self.address,
            self.client.state()
        );
        let (user, password) = &self.identity;
        self.client = connect(&self.settings, user, password).await?;
        Ok(())
    }

    fn app_root(&self) -> String {
        format!("{}/{APP_ROOT}", self.root)
    }

    fn meta_path(&self, name: &str) -> Option<String> {
        let node = match name {
            meta::VERSION => VERSION_NODE,
            meta::EPOCH => EPOCH_NODE,
            meta::MASTER_KEYS => KEYS_NODE,
            _ => return None,
        };
        Some(format!("{}/{node}", self.root))
    }

    fn err(&self, e: zk::Error) -> StoreError {
        backend(&self.address, e)
    }

    async fn exists(&self, path: &str) -> Result<Option<zk::Stat>, StoreError> {
        self.client.check_stat(path).await.map_err(|e| self.err(e))
    }

    async fn load(&self) -> Result<RawState, StoreError> {
        let mut state = RawState::default();
        for name in [meta::VERSION, meta::EPOCH, meta::MASTER_KEYS] {
            let path = self.meta_path(name).expect("known name");
            match self.client.get_data(&path).await {
                Ok((data, _)) => state.meta.push((name.to_string(), data)),
                Err(zk::Error::NoNode) => {}
                Err(e) => return Err(self.err(e)),
            }
        }
        let apps = match self.client.list_children(&self.app_root()).await {
            Ok(apps) => apps,
            Err(zk::Error::NoNode) => Vec::new(),
            Err(e) => return Err(self.err(e)),
        };
        for app in apps {
            let path = format!("{}/{app}", self.app_root());
            let (data, _) = self.client.get_data(&path).await.map_err(|e| self.err(e))?;
            state.apps.push((app.clone(), data));
            let attempts = self
                .client
                .list_children(&path)
                .await
                .map_err(|e| self.err(e))?;
            for attempt in attempts {
                let (data, _) = self
                    .client
                    .get_data(&format!("{path}/{attempt}"))
                    .await
                    .map_err(|e| self.err(e))?;
                state.attempts.push((attempt, data));
            }
        }
        Ok(state)
    }

    /// One fenced transaction: the lock, the writes, the lock's removal.
    async fn apply(&self, writes: &[StoreWrite]) -> Result<(), StoreError> {
        let open_node = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        let lock = format!("{}/{FENCING_LOCK}", self.root);
        // Creates where the node is missing (asked before the transaction; the transaction
        // fails if another writer raced, and nobody else writes while this RM holds the root).
        let mut present = std::collections::HashSet::new();
        let app_root = self.app_root();
        let mut check = vec![app_root.clone()];
        for write in writes {
            match write {
                StoreWrite::App { id, .. } => check.push(format!("{app_root}/{id}")),
                StoreWrite::Attempt { id, .. } => {
                    check.push(format!("{app_root}/{}/{id}", id.application_id))
                }
                StoreWrite::Meta { name, .. } => check.extend(self.meta_path(name)),
                StoreWrite::RemoveApp { .. } => {}
            }
        }
        for path in check {
            if self.exists(&path).await?.is_some() {
                present.insert(path);
            }
        }
        let mut multi = self.client.new_multi_writer();
        let add = |result: Result<(), zk::Error>| result.map_err(|e| backend(&self.address, e));
        add(multi.add_create(&lock, &[], &open_node))?;
        if !present.contains(&app_root) {
            add(multi.add_create(&app_root, &[], &open_node))?;
            present.insert(app_root.clone());
        }
        let mut put = |multi: &mut zk::MultiWriter<'_>, path: String, data: &[u8]| {
            if present.contains(&path) {
                add(multi.add_set_data(&path, data, None))
            } else {
                present.insert(path.clone());
                add(multi.add_create(&path, data, &open_node))
            }
        };
        for write in writes {
            match write {
                StoreWrite::App { id, record } => {
                    put(&mut multi, format!("{app_root}/{id}"), record)?;
                }
                StoreWrite::Attempt { id, record } => {
                    put(
                        &mut multi,
                        format!("{app_root}/{}/{id}", id.application_id),
                        record,
                    )?;
                }
                StoreWrite::Meta { name, record } => {
                    let path = self
                        .meta_path(name)
                        .ok_or_else(|| backend(&self.address, format!("unknown record {name}")))?;
                    put(&mut multi, path, record)?;
                }
                StoreWrite::RemoveApp { id, .. } => {
                    let path = format!("{app_root}/{id}");
                    let children = match self.client.list_children(&path).await {
                        Ok(children) => children,
                        Err(zk::Error::NoNode) => continue,
                        Err(e) => return Err(self.err(e)),
                    };
                    for child in children {
                        add(multi.add_delete(&format!("{path}/{child}"), None))?;
                    }
                    add(multi.add_delete(&path, None))?;
                }
            }
        }
        add(multi.add_delete(&lock, None))?;
        match multi.commit().await {
            Ok(_) => Ok(()),
            Err(zk::MultiWriteError::OperationFailed {
                index: 0,
                source: zk::Error::NoAuth,
            }) => Err(StoreError::Fenced {
                message: format!(
                    "another ResourceManager has claimed {} in ZooKeeper {}; this one must stop writing",
                    self.root, self.address
                ),
            }),
            Err(e) => Err(backend(&self.address, e)),
        }
    }
}
