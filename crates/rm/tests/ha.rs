//! ResourceManager HA with a real ZooKeeper, two RMs in one process on loopback: exactly one is
//! elected active and serves the client port, the standby serves only its admin port (clients
//! get connection refused there and fail over), HAServiceProtocol reports both correctly and
//! refuses manual transitions under automatic failover, and when the active leaves, the standby
//! takes over and recovers the applications from the shared store.

#[allow(dead_code)] // Not every test uses every method.
#[path = "../../minicluster/src/zookeeper.rs"]
mod zookeeper;

use std::net::SocketAddr;
use std::time::Duration;

use spindle_ipc::{ClientOptions, IpcClient};
use spindle_proto::common::*;
use spindle_proto::yarn::*;
use spindle_rm::ha::{HaResourceManager, HaSettings, HaState};
use spindle_rm::service::{now_ms, RmBindAddresses, SchedulerSetup};
use spindle_rm::settings::RmSettings;
use spindle_rm::store::zookeeper::ZkSettings;

fn free() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Rm {
    id: &'static str,
    bind: RmBindAddresses,
}

async fn start(zk: &zookeeper::ZooKeeper, rm: &Rm) -> HaResourceManager {
    let settings = RmSettings {
        cluster_timestamp: now_ms(),
        ..RmSettings::default()
    };
    HaResourceManager::start(
        settings,
        rm.bind.clone(),
        SchedulerSetup {
            loader: None,
            admins: vec!["*".into()],
            topology: Default::default(),
            registration_secret: None,
            ipc_server: None,
            web: None,
        },
        HaSettings {
            rm_id: rm.id.into(),
            cluster_id: "spindle-test".into(),
            zookeeper: ZkSettings {
                address: zk.address.clone(),
                parent_path: "/rmstore".into(),
                session_timeout: Duration::from_secs(3),
                fencing_user: rm.bind.client.to_string(),
            },
            election_base: "/yarn-leader-election".into(),
            automatic_failover: true,
        },
    )
    .await
    .unwrap()
}

async fn service_state(admin: SocketAddr) -> HaServiceStateProto {
    let client = IpcClient::connect(
        admin,
        ClientOptions::new("org.apache.hadoop.ha.HAServiceProtocol", "admin"),
    )
    .await
    .unwrap();
    let status: GetServiceStatusResponseProto = client
        .call("getServiceStatus", &GetServiceStatusRequestProto {})
        .await
        .unwrap();
    status.state()
}

async fn client_of(rm: &Rm) -> IpcClient {
    IpcClient::connect(
        rm.bind.client,
        ClientOptions::new(
            "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB",
            "alice",
        ),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rm_is_active_and_the_standby_takes_over_with_the_applications() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("spindle_rm=info")
        .with_test_writer()
        .try_init();
    let zk = zookeeper::ZooKeeper::start();
    let rms: Vec<Rm> = ["rm1", "rm2"]
        .into_iter()
        .map(|id| Rm {
            id,
            bind: RmBindAddresses {
                client: free(),
                scheduler: free(),
                tracker: free(),
                admin: free(),
            },
        })
        .collect();
    let first = start(&zk, &rms[0]).await;
    assert!(
        first
            .wait_for(HaState::Active, Duration::from_secs(30))
            .await
    );
    let second = start(&zk, &rms[1]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        second.state(),
        HaState::Standby,
        "first: {:?}",
        first.state()
    );
    assert_eq!(
        service_state(first.admin_address()).await,
        HaServiceStateProto::Active
    );
    assert_eq!(
        service_state(second.admin_address()).await,
        HaServiceStateProto::Standby
    );
    // The standby binds no client port: connection refused, so clients fail over at once.
    assert!(std::net::TcpStream::connect(rms[1].bind.client).is_err());

    // Manual transitions are refused under automatic failover.
    let admin = IpcClient::connect(
        second.admin_address(),
        ClientOptions::new("org.apache.hadoop.ha.HAServiceProtocol", "admin"),
    )
    .await
    .unwrap();
    let refused = admin
        .call::<_, TransitionToActiveResponseProto>(
            "transitionToActive",
            &TransitionToActiveRequestProto {
                req_info: HaStateChangeRequestInfoProto {
                    req_source: HaRequestSource::RequestByUser as i32,
                },
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("automatic failover is enabled"),
        "{refused}"
    );

    // An application submitted to the active.
    let client = client_of(&rms[0]).await;
    let new: GetNewApplicationResponseProto = client
        .call("getNewApplication", &GetNewApplicationRequestProto {})
        .await
        .unwrap();
    let app = new.application_id.unwrap();
    let _: SubmitApplicationResponseProto = client
        .call(
            "submitApplication",
            &SubmitApplicationRequestProto {
                application_submission_context: Some(ApplicationSubmissionContextProto {
                    application_id: Some(app),
                    application_name: Some("survives failover".into()),
                    queue: Some("default".into()),
                    am_container_spec: Some(ContainerLaunchContextProto {
                        command: vec!["sleep 100".into()],
                        ..Default::default()
                    }),
                    resource: Some(ResourceProto {
                        memory: Some(1024),
                        virtual_cores: Some(1),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            },
        )
        .await
        .unwrap();
    // Stored before it is accepted: once the report says ACCEPTED, it is durable.
    for _ in 0..100 {
        let report: GetApplicationReportResponseProto = client
            .call(
                "getApplicationReport",
                &GetApplicationReportRequestProto {
                    application_id: Some(app),
                },
            )
            .await
            .unwrap();
        if report.application_report.unwrap().yarn_application_state()
            == YarnApplicationStateProto::Accepted
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The active leaves: the standby is elected, recovers, and serves the application.
    first.shutdown().await;
    assert!(
        second
            .wait_for(HaState::Active, Duration::from_secs(30))
            .await
    );
    let client = client_of(&rms[1]).await;
    let report: GetApplicationReportResponseProto = client
        .call(
            "getApplicationReport",
            &GetApplicationReportRequestProto {
                application_id: Some(app),
            },
        )
        .await
        .unwrap();
    let report = report.application_report.unwrap();
    assert_eq!(report.name(), "survives failover");
    assert_eq!(
        report.yarn_application_state(),
        YarnApplicationStateProto::Accepted
    );
    // New applications get ids under the new active's cluster timestamp.
    let new: GetNewApplicationResponseProto = client
        .call("getNewApplication", &GetNewApplicationRequestProto {})
        .await
        .unwrap();
    assert_ne!(
        new.application_id.unwrap().cluster_timestamp,
        app.cluster_timestamp
    );
    second.shutdown().await;
}
