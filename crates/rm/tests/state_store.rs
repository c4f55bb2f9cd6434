//! The state store's backends and the strict reading of their records: a store's bytes are
//! outside input, so every malformed record is refused with an error that names it.

use prost::Message;
use spindle_proto::yarn::*;
use spindle_rm::store::embedded::EmbeddedStore;
use spindle_rm::store::memory::MemoryStore;
use spindle_rm::store::records::{self, MAX_RECORD_BYTES};
use spindle_rm::store::{classes, StateStore, StoreError, StoreWrite};
use spindle_types::{ApplicationAttemptId, ApplicationId};

fn app_record(id: ApplicationId) -> Vec<u8> {
    ApplicationStateDataProto {
        submit_time: Some(1),
        user: Some("alice".into()),
        application_submission_context: Some(ApplicationSubmissionContextProto {
            application_id: Some(id.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn attempt_record(id: ApplicationAttemptId) -> Vec<u8> {
    ApplicationAttemptStateDataProto {
        attempt_id: Some(id.into()),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A store with a version, an epoch and one application with one attempt.
fn filled(store: &mut dyn StateStore) -> (ApplicationId, ApplicationAttemptId) {
    let app = ApplicationId::new(1_700_000_000_000, 3);
    let attempt = ApplicationAttemptId::new(app, 1);
    store
        .apply(&[
            records::version_write(),
            records::epoch_write(4),
            StoreWrite::App {
                id: app,
                record: app_record(app),
            },
            StoreWrite::Attempt {
                id: attempt,
                record: attempt_record(attempt),
            },
        ])
        .unwrap();
    (app, attempt)
}

fn bad_record(result: Result<records::StoredState, StoreError>) -> (String, String) {
    match result {
        Err(StoreError::BadRecord { key, message }) => (key, message),
        other => panic!("expected a bad record, got {other:?}"),
    }
}

#[test]
fn the_embedded_store_keeps_records_across_reopening_and_removes_apps_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (app, attempt) = {
        let mut store = EmbeddedStore::open(dir.path(), classes::FILE_SYSTEM).unwrap();
        filled(&mut store)
    };
    let mut store = EmbeddedStore::open(dir.path(), classes::FILE_SYSTEM).unwrap();
    let state = records::decode(store.load().unwrap()).unwrap();
    assert_eq!(state.epoch, Some(4));
    assert_eq!(state.apps.len(), 1);
    assert_eq!(state.apps[0].id, app);
    assert_eq!(state.apps[0].attempts[0].0, attempt);
    store
        .apply(&[StoreWrite::RemoveApp {
            id: app,
            attempts: vec![attempt],
        }])
        .unwrap();
    let state = records::decode(store.load().unwrap()).unwrap();
    assert!(state.apps.is_empty());
}

#[test]
fn a_second_rm_cannot_open_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = EmbeddedStore::open(dir.path(), classes::FILE_SYSTEM).unwrap();
    let err = EmbeddedStore::open(dir.path(), classes::FILE_SYSTEM)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("another ResourceManager"), "{err}");
}

#[test]
fn a_fresh_store_reads_back_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = EmbeddedStore::open(dir.path(), classes::FILE_SYSTEM).unwrap();
    assert!(records::decode(store.load().unwrap()).unwrap().is_empty());
}

#[test]
fn malformed_records_are_refused_by_name() {
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "apps",
            "application_1700000000000_0003",
            vec![0xff, 0xff, 0xff],
            "not a valid record",
        ),
        (
            "apps",
            "application_1700000000000_0003",
            vec![0; MAX_RECORD_BYTES + 1],
            "record limit",
        ),
        (
            "apps",
            "not-an-id",
            app_record(ApplicationId::new(1, 1)),
            "not an application id",
        ),
        (
            "apps",
            "application_1700000000000_0003",
            app_record(ApplicationId::new(1, 1)),
            "not application_1700000000000_0003",
        ),
        (
            "attempts",
            "appattempt_1700000000000_0003_000001",
            attempt_record(ApplicationAttemptId::new(
                ApplicationId::new(1700000000000, 3),
                2,
            )),
            "not appattempt",
        ),
        (
            "attempts",
            "appattempt_1700000000000_0009_000001",
            attempt_record(ApplicationAttemptId::new(
                ApplicationId::new(1700000000000, 9),
                1,
            )),
            "no record",
        ),
        (
            "meta",
            "epoch",
            EpochProto { epoch: Some(-1) }.encode_to_vec(),
            "outside",
        ),
        (
            "meta",
            "master-keys",
            RmMasterKeysStateProto::default().encode_to_vec(),
            "missing or too short",
        ),
        ("meta", "surprise", vec![], "unknown metadata record"),
    ];
    for (table, key, bytes, expected) in cases {
        let mut store = MemoryStore::new();
        filled(&mut store);
        store.put_raw(table, key, bytes);
        let (named, message) = bad_record(records::decode(store.load().unwrap()));
        assert_eq!(named, format!("{table}/{key}"), "{message}");
        assert!(message.contains(expected), "{table}/{key}: {message}");
    }
}

#[test]
fn a_store_from_another_version_or_program_is_refused() {
    let mut store = MemoryStore::new();
    filled(&mut store);
    store.put_raw(
        "meta",
        "version",
        RmStateVersionProto {
            major_version: Some(2),
            minor_version: Some(0),
        }
        .encode_to_vec(),
    );
    let err = records::decode(store.load().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 2.0"), "{err}");

    let store = MemoryStore::new();
    let app = ApplicationId::new(1, 1);
    store.put_raw("apps", &app.to_string(), app_record(app));
    let (key, message) = bad_record(records::decode(store.clone().load().unwrap()));
    assert_eq!(key, "meta/version");
    assert!(message.contains("not a Spindle state store"), "{message}");
}

#[test]
fn the_configuration_selects_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let conf = |pairs: &[(&str, &str)]| {
        let mut c = spindle_conf::Configuration::with_yarn_defaults().unwrap();
        for (k, v) in pairs {
            c.set(k, v).unwrap();
        }
        c
    };
    let off = spindle_rm::store::from_configuration(&conf(&[])).unwrap();
    assert!(off.is_none(), "recovery is off by default, as in YARN");
    let path = format!("file://{}", dir.path().display());
    let on = spindle_rm::store::from_configuration(&conf(&[
        ("yarn.resourcemanager.recovery.enabled", "true"),
        ("yarn.resourcemanager.fs.state-store.uri", &path),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(on.class_name(), classes::FILE_SYSTEM);
    assert!(dir.path().join("rmstore.redb").exists());
    drop(on);
    let err = spindle_rm::store::from_configuration(&conf(&[
        ("yarn.resourcemanager.recovery.enabled", "true"),
        (
            "yarn.resourcemanager.fs.state-store.uri",
            "hdfs://nn:8020/rmstore",
        ),
    ]))
    .err()
    .unwrap();
    assert!(err.contains("only local paths"), "{err}");
    let err = spindle_rm::store::from_configuration(&conf(&[
        ("yarn.resourcemanager.recovery.enabled", "true"),
        ("yarn.resourcemanager.store.class", "com.example.Nope"),
    ]))
    .err()
    .unwrap();
    assert!(err.contains("unknown state store"), "{err}");
}
