//! The ZooKeeper state store against a real ZooKeeper server: records round-trip in YARN's
//! layout, and YARN's fencing holds: once a second RM has claimed the root, the first RM's writes
//! are refused and nothing of them lands. An idle store keeps its session; one whose session
//! ended opens another and keeps writing.

#[allow(dead_code)] // Not every test uses every method.
#[path = "../../minicluster/src/zookeeper.rs"]
mod zookeeper;

use std::time::Duration;

use prost::Message;
use spindle_proto::yarn::*;
use spindle_rm::store::records;
use spindle_rm::store::zookeeper::{ZkSettings, ZkStore};
use spindle_rm::store::{StateStore, StoreError, StoreWrite};
use spindle_types::{ApplicationAttemptId, ApplicationId};

fn settings(zk: &zookeeper::ZooKeeper, rm: &str) -> ZkSettings {
    ZkSettings {
        address: zk.address.clone(),
        parent_path: "/rmstore".into(),
        session_timeout: Duration::from_secs(10),
        fencing_user: rm.into(),
    }
}

fn app_write(id: ApplicationId, user: &str) -> StoreWrite {
    StoreWrite::App {
        id,
        record: ApplicationStateDataProto {
            submit_time: Some(1),
            user: Some(user.into()),
            application_submission_context: Some(ApplicationSubmissionContextProto {
                application_id: Some(id.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec(),
    }
}

fn attempt_write(id: ApplicationAttemptId) -> StoreWrite {
    StoreWrite::Attempt {
        id,
        record: ApplicationAttemptStateDataProto {
            attempt_id: Some(id.into()),
            ..Default::default()
        }
        .encode_to_vec(),
    }
}

#[test]
fn records_round_trip_and_a_second_rm_fences_the_first() {
    let zk = zookeeper::ZooKeeper::start();
    let app = ApplicationId::new(1_700_000_000_000, 1);
    let attempt = ApplicationAttemptId::new(app, 1);
    let mut rm1 = ZkStore::open(settings(&zk, "127.0.0.1:18032")).unwrap();
    rm1.apply(&[
        records::version_write(),
        records::epoch_write(1),
        app_write(app, "alice"),
        attempt_write(attempt),
    ])
    .unwrap();
    // Replacing records and adding an attempt in a later transaction.
    rm1.apply(&[
        app_write(app, "alice"),
        attempt_write(ApplicationAttemptId::new(app, 2)),
    ])
    .unwrap();
    let state = records::decode(rm1.load().unwrap()).unwrap();
    assert_eq!(state.epoch, Some(1));
    assert_eq!(state.apps.len(), 1);
    assert_eq!(state.apps[0].attempts.len(), 2);

    // A second RM opens the same store (the new active): it reads what the first wrote...
    let mut rm2 = ZkStore::open(settings(&zk, "127.0.0.1:28032")).unwrap();
    let seen = records::decode(rm2.load().unwrap()).unwrap();
    assert_eq!(seen.apps[0].id, app);
    // ...and from now on the first cannot write.
    let other = ApplicationId::new(1_700_000_000_000, 2);
    match rm1.apply(&[app_write(other, "mallory")]) {
        Err(StoreError::Fenced { message }) => {
            assert!(message.contains("another ResourceManager"), "{message}")
        }
        other => panic!("the deposed RM wrote: {other:?}"),
    }
    rm2.apply(&[
        records::epoch_write(2),
        StoreWrite::RemoveApp {
            id: app,
            attempts: vec![attempt],
        },
    ])
    .unwrap();
    let state = records::decode(rm2.load().unwrap()).unwrap();
    assert_eq!(state.epoch, Some(2));
    assert!(
        state.apps.is_empty(),
        "the application and both attempts are gone, and the fenced write never landed"
    );
}

#[test]
fn an_unreachable_zookeeper_is_an_error_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = ZkStore::open(ZkSettings {
        address: format!("127.0.0.1:{port}"),
        parent_path: "/rmstore".into(),
        session_timeout: Duration::from_secs(3),
        fencing_user: "rm".into(),
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn an_idle_store_keeps_its_session_and_a_lost_session_is_replaced() {
    let zk = zookeeper::ZooKeeper::start();
    let app = ApplicationId::new(1_700_000_000_000, 1);
    let mut store = ZkStore::open(ZkSettings {
        session_timeout: Duration::from_secs(2),
        ..settings(&zk, "127.0.0.1:18032")
    })
    .unwrap();
    store
        .apply(&[records::version_write(), app_write(app, "alice")])
        .unwrap();
    let session = store.session_id_for_test().unwrap();
    // Idle for more than twice the session timeout: the pings kept the session.
    std::thread::sleep(Duration::from_secs(5));
    store
        .apply(&[attempt_write(ApplicationAttemptId::new(app, 1))])
        .unwrap();
    assert_eq!(store.session_id_for_test().unwrap(), session);

    // A stall longer than the session timeout: the server expires the session, and the store
    // opens another one, with the same claim on the root, and the writes go on.
    store.stall_for_test(Duration::from_secs(5)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let second = ApplicationAttemptId::new(app, 2);
    loop {
        match store.apply(&[attempt_write(second)]) {
            Ok(()) => break,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "{e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    assert_ne!(store.session_id_for_test().unwrap(), session);
    let state = records::decode(store.load().unwrap()).unwrap();
    assert_eq!(state.apps[0].attempts.len(), 2);

    // A second RM's claim still fences the first, new session or not.
    let _rm2 = ZkStore::open(settings(&zk, "127.0.0.1:28032")).unwrap();
    assert!(matches!(
        store.apply(&[app_write(app, "mallory")]),
        Err(StoreError::Fenced { .. })
    ));
}
