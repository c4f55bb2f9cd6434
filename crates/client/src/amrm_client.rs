//! `AmRmClient`: ApplicationMasterProtocol (the RM's scheduler port) as `AMRMClientImpl` uses it —
//! register, allocate heartbeats with absolute asks and responseId bookkeeping, releases,
//! NMTokens into the shared cache, and unregister. Authenticates with the AMRMToken, the same one
//! against every RM when it fails over between RMs (RM HA).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use spindle_conf::{Configuration, HostPort, RmService};
use spindle_ipc::{ClientAuth, ClientOptions, TokenCredentials};
use spindle_proto::yarn::{
    AllocateRequestProto, AllocateResponseProto, ContainerIdProto, FinalApplicationStatusProto,
    FinishApplicationMasterRequestProto, FinishApplicationMasterResponseProto,
    RegisterApplicationMasterRequestProto, RegisterApplicationMasterResponseProto,
    ResourceBlacklistRequestProto,
};
use spindle_security::Token;
use spindle_types::states::FinalApplicationStatus;
use spindle_types::ContainerId;

use crate::addresses::{resolve, RmEndpoints};
use crate::am_environment::ApplicationMasterEnvironment;
use crate::ask_table::{AskTable, ContainerRequest};
use crate::channel::{protocols, Channel};
use crate::error::{exception_classes, ClientError};
use crate::nm_token_cache::NmTokenCache;
use crate::yarn_client::POLL_TIMEOUT;

/// How often `unregister` repeats finishApplicationMaster until the RM confirms (Java: 100 ms).
pub const UNREGISTER_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A registered (or registering) ApplicationMaster's connection to the RM.
#[derive(Debug)]
pub struct AmRmClient {
    channel: Channel,
    user: String,
    asks: AskTable,
    /// Releases not yet sent.
    releases_to_send: BTreeSet<ContainerId>,
    /// Released containers the RM has not reported completed yet (re-sent after a resync).
    pending_releases: BTreeSet<ContainerId>,
    last_response_id: i32,
    registration: Option<RegisterApplicationMasterRequestProto>,
    nm_token_cache: NmTokenCache,
}

fn token_auth(token: &Token) -> ClientAuth {
    ClientAuth::Token(TokenCredentials {
        kind: token.kind.clone(),
        identifier: token.identifier.clone(),
        password: token.password.clone(),
    })
}

impl AmRmClient {
    /// Connects to the scheduler address with `token` (an AMRMToken); `user` is only used if
    /// the server accepts SIMPLE auth. NMTokens received go into `nm_token_cache`.
    pub async fn connect(
        scheduler_address: SocketAddr,
        token: &Token,
        user: &str,
        nm_token_cache: NmTokenCache,
    ) -> Result<Self, ClientError> {
        Self::connect_to(
            RmEndpoints::single(scheduler_address),
            token,
            user,
            nm_token_cache,
        )
        .await
    }

    /// Connects to the scheduler of `endpoints` with `token`; with several RMs (HA) starts at
    /// the first and fails over by its policy, presenting the same AMRMToken to each (every RM
    /// of a cluster accepts it).
    pub async fn connect_to(
        endpoints: RmEndpoints,
        token: &Token,
        user: &str,
        nm_token_cache: NmTokenCache,
    ) -> Result<Self, ClientError> {
        let mut options = ClientOptions::new(protocols::APPLICATION_MASTER, user);
        options.auth = token_auth(token);
        Ok(Self {
            channel: Channel::connect(endpoints, options).await?,
            user: user.to_string(),
            asks: AskTable::new(),
            releases_to_send: BTreeSet::new(),
            pending_releases: BTreeSet::new(),
            last_response_id: 0,
            registration: None,
            nm_token_cache,
        })
    }

    /// Connects as the AM of `environment`: its AMRMToken, to `scheduler_address` when given
    /// (`host:port`, e.g. from yarn-site.xml), else to the address in the token's service.
    pub async fn from_environment(
        environment: &ApplicationMasterEnvironment,
        scheduler_address: Option<&str>,
        nm_token_cache: NmTokenCache,
    ) -> Result<Self, ClientError> {
        let token = environment.amrm_token()?;
        let address = match scheduler_address {
            Some(address) => address.to_string(),
            None if !token.service.is_empty() => token.service.clone(),
            None => {
                return Err(ClientError::Usage(format!(
                    "the AMRMToken in {} names no scheduler address and none was given",
                    environment.credentials_path.display()
                )))
            }
        };
        let socket = resolve(&address).await?;
        Self::connect(
            socket,
            token,
            &environment.attempt_id().to_string(),
            nm_token_cache,
        )
        .await
    }

    /// Connects as the AM of `environment`, finding the RM from its own `configuration` (the
    /// submitter's, shipped to the AM): with RM HA every rm-id's
    /// `yarn.resourcemanager.scheduler.address.<id>` and the failover policy; without, as
    /// [`AmRmClient::from_environment`] with the configured scheduler address as the fallback for
    /// a token service that names no usable address.
    pub async fn from_environment_and_configuration(
        environment: &ApplicationMasterEnvironment,
        configuration: &Configuration,
        nm_token_cache: NmTokenCache,
    ) -> Result<Self, ClientError> {
        let endpoints = RmEndpoints::from_configuration(configuration, RmService::Scheduler)?;
        if endpoints.failover.is_some() {
            let token = environment.amrm_token()?;
            return Self::connect_to(
                endpoints,
                token,
                &environment.attempt_id().to_string(),
                nm_token_cache,
            )
            .await;
        }
        let token_service = &environment.amrm_token()?.service;
        let configured = &endpoints.addresses[0].address;
        let token_service_usable = HostPort::parse(token_service, None)
            .is_ok_and(|address| !address.is_wildcard() && address.port() != 0);
        let fallback =
            (!token_service_usable && !configured.is_wildcard() && configured.port() != 0)
                .then(|| configured.to_string());
        Self::from_environment(environment, fallback.as_deref(), nm_token_cache).await
    }

    /// The cache NMTokens are put into.
    pub fn nm_token_cache(&self) -> &NmTokenCache {
        &self.nm_token_cache
    }

    /// The outstanding asks.
    pub fn asks(&self) -> &AskTable {
        &self.asks
    }

    /// The response id the next allocate will carry.
    pub fn last_response_id(&self) -> i32 {
        self.last_response_id
    }

    /// The address of the scheduler last connected to.
    pub fn server_address(&self) -> SocketAddr {
        self.channel.address()
    }

    /// `registerApplicationMaster`; NMTokens from previous attempts go into the cache.
    pub async fn register(
        &mut self,
        host: &str,
        rpc_port: i32,
        tracking_url: &str,
    ) -> Result<RegisterApplicationMasterResponseProto, ClientError> {
        let request = RegisterApplicationMasterRequestProto {
            host: Some(host.to_string()),
            rpc_port: Some(rpc_port),
            tracking_url: Some(tracking_url.to_string()),
        };
        self.registration = Some(request);
        self.send_registration().await
    }

    async fn send_registration(
        &mut self,
    ) -> Result<RegisterApplicationMasterResponseProto, ClientError> {
        let request = self
            .registration
            .clone()
            .ok_or_else(|| ClientError::Usage("register before allocate or unregister".into()))?;
        let response: RegisterApplicationMasterResponseProto = self
            .channel
            .call("registerApplicationMaster", &request)
            .await?;
        self.nm_token_cache
            .insert_all(&response.nm_tokens_from_previous_attempts);
        self.last_response_id = 0;
        Ok(response)
    }

    /// `addContainerRequest`.
    pub fn add_container_request(&mut self, request: &ContainerRequest) {
        self.asks.add(request);
    }

    /// `removeContainerRequest` (after a container for `request` was allocated, or to cancel).
    pub fn remove_container_request(&mut self, request: &ContainerRequest) {
        self.asks.remove(request);
    }

    /// `releaseAssignedContainer`: gives an allocated container back with the next allocate.
    pub fn release_assigned_container(&mut self, container_id: ContainerId) {
        self.releases_to_send.insert(container_id);
        self.pending_releases.insert(container_id);
    }

    /// `allocate`: sends the changed asks and the releases with the last response id, stores
    /// the new response id and the NMTokens. If the RM no longer knows the registration (it
    /// restarted), registers again and re-sends every outstanding ask and release.
    pub async fn allocate(&mut self, progress: f32) -> Result<AllocateResponseProto, ClientError> {
        if self.registration.is_none() {
            return Err(ClientError::Usage("register before allocate".into()));
        }
        match self.allocate_once(progress).await {
            Err(error) if error.is_remote(exception_classes::APPLICATION_MASTER_NOT_REGISTERED) => {
                tracing::warn!(
                    "ApplicationMaster is out of sync with ResourceManager, hence resyncing."
                );
                self.send_registration().await?;
                self.asks.mark_all_changed();
                self.releases_to_send
                    .extend(self.pending_releases.iter().copied());
                self.allocate_once(progress).await
            }
            other => other,
        }
    }

    async fn allocate_once(&mut self, progress: f32) -> Result<AllocateResponseProto, ClientError> {
        let request = AllocateRequestProto {
            ask: self.asks.changed_asks(),
            release: self
                .releases_to_send
                .iter()
                .map(ContainerIdProto::from)
                .collect(),
            blacklist_request: Some(ResourceBlacklistRequestProto::default()),
            response_id: Some(self.last_response_id),
            progress: Some(progress),
            ..Default::default()
        };
        let response: AllocateResponseProto = self.channel.call("allocate", &request).await?;
        self.asks.mark_sent();
        self.releases_to_send.clear();
        self.last_response_id = response.response_id();
        self.nm_token_cache.insert_all(&response.nm_tokens);
        for status in &response.completed_container_statuses {
            if let Some(id) = status
                .container_id
                .as_ref()
                .and_then(|id| ContainerId::try_from(id).ok())
            {
                self.pending_releases.remove(&id);
            }
        }
        if let Some(token) = &response.am_rm_token {
            tracing::info!("received a new AMRMToken");
            self.channel
                .set_auth(token_auth(&Token {
                    identifier: token.identifier.clone(),
                    password: token.password.clone(),
                    kind: token.kind.clone(),
                    service: token.service.clone(),
                }))
                .await;
        }
        Ok(response)
    }

    /// `finishApplicationMaster`, repeated until the RM confirms the unregistration.
    pub async fn unregister(
        &mut self,
        final_status: FinalApplicationStatus,
        diagnostics: &str,
        tracking_url: &str,
    ) -> Result<(), ClientError> {
        let request = FinishApplicationMasterRequestProto {
            diagnostics: Some(diagnostics.to_string()),
            tracking_url: Some(tracking_url.to_string()),
            final_application_status: Some(FinalApplicationStatusProto::from(final_status) as i32),
        };
        let started = Instant::now();
        loop {
            let result: Result<FinishApplicationMasterResponseProto, ClientError> =
                self.channel.call("finishApplicationMaster", &request).await;
            match result {
                Ok(response) if response.is_unregistered() => return Ok(()),
                Ok(_) => {}
                Err(error)
                    if error.is_remote(exception_classes::APPLICATION_MASTER_NOT_REGISTERED) =>
                {
                    tracing::warn!("ApplicationMaster is out of sync with ResourceManager, re-registering before unregistering");
                    self.send_registration().await?;
                }
                Err(error) => return Err(error),
            }
            if started.elapsed() > POLL_TIMEOUT {
                return Err(ClientError::TimedOut(format!(
                    "the ResourceManager did not confirm the unregistration of {} within {} s",
                    self.user,
                    POLL_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(UNREGISTER_POLL_INTERVAL).await;
        }
    }
}
