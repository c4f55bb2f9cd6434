//! The embedded store when the disk refuses writes: a write that fails is an error the RM
//! retries (nothing is acknowledged), and once the disk takes writes again the store carries on
//! without a restart, with everything committed before the failure intact. The disk is made to
//! refuse by the process's file size limit (no root, no mount needed; EFBIG instead of ENOSPC,
//! the same I/O failure to the store). Alone in its test binary: the limit is process-wide.

use prost::Message;
use spindle_proto::yarn::*;
use spindle_rm::store::embedded::EmbeddedStore;
use spindle_rm::store::{records, StateStore, StoreWrite};
use spindle_types::ApplicationId;

fn app_write(id: ApplicationId, padding: usize) -> StoreWrite {
    StoreWrite::App {
        id,
        record: ApplicationStateDataProto {
            submit_time: Some(1),
            user: Some("alice".into()),
            diagnostics: Some("x".repeat(padding)),
            application_submission_context: Some(ApplicationSubmissionContextProto {
                application_id: Some(id.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec(),
    }
}

fn set_file_size_limit(bytes: u64) {
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE).unwrap();
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE, bytes, hard).unwrap();
}

#[test]
fn a_full_disk_fails_writes_until_it_has_room_again() {
    // Past the limit a write gets EFBIG once SIGXFSZ is handled (by default it ends the
    // process); tokio's handler stays installed for the life of the process.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _xfsz = runtime.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(
            nix::sys::signal::Signal::SIGXFSZ as i32,
        ))
        .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut store = EmbeddedStore::open(dir.path(), "embedded").unwrap();
    let first = ApplicationId::new(1_700_000_000_000, 1);
    store
        .apply(&[records::version_write(), app_write(first, 10)])
        .unwrap();
    let size = std::fs::metadata(store.path()).unwrap().len();

    // The disk is full: a large record cannot be written.
    set_file_size_limit(size);
    let second = ApplicationId::new(1_700_000_000_000, 2);
    for _ in 0..3 {
        let err = store.apply(&[app_write(second, 900_000)]).unwrap_err();
        assert!(err.to_string().contains("rmstore.redb"), "{err}");
    }
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE).unwrap();
    set_file_size_limit(hard);

    // Room again: the same store takes the write, and the first record is intact.
    store.apply(&[app_write(second, 900_000)]).unwrap();
    let state = records::decode(store.load().unwrap()).unwrap();
    let ids: Vec<_> = state.apps.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![first, second]);
    drop(store);
    let mut reopened = EmbeddedStore::open(dir.path(), "embedded").unwrap();
    assert_eq!(
        records::decode(reopened.load().unwrap())
            .unwrap()
            .apps
            .len(),
        2
    );
}
