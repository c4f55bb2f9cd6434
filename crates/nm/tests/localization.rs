//! Localization seen by containers and by the localizer: FILE and ARCHIVE resources with links,
//! stale timestamps, malicious archives (CVE-2018-8009) and the once-per-node unpacking.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;
use spindle_nm::localizer::{LocalResourceType, LocalizationError, ResourceLocalizer, UnpackError};
use spindle_types::exit_status;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_zip_and_tar_gz_resources_are_linked_into_the_work_dir() {
    let node = node();
    let staging = node.source_dir();
    std::fs::write(staging.join("job.xml"), b"<conf/>\n").unwrap();
    write_zip(
        &staging.join("__app__.zip"),
        &[("inner/a.txt", b"from zip\n"), ("top.txt", b"top\n")],
    );
    write_tar_gz(
        &staging.join("env.tar.gz"),
        &[
            RawTarEntry {
                name: b"bin/",
                entry_type: tar::EntryType::Directory,
                link_name: b"",
                contents: b"",
            },
            file_entry("bin/tool", b"from tar\n"),
            link_entry("bin/tool-link", tar::EntryType::Symlink, "tool"),
            link_entry("bin/tool-hard", tar::EntryType::Link, "bin/tool"),
        ],
    );
    let id = container_id(1, 1);
    let mut request = spec(
        id,
        &[
            "cat conf/job.xml __app__/inner/a.txt env/bin/tool-link env/bin/tool-hard",
            "1><LOG_DIR>/stdout",
        ],
    );
    request.local_resources.insert(
        "conf/job.xml".into(),
        resource(&staging.join("job.xml"), LocalResourceType::File),
    );
    request.local_resources.insert(
        "__app__".into(),
        resource(&staging.join("__app__.zip"), LocalResourceType::Archive),
    );
    request.local_resources.insert(
        "env".into(),
        resource(&staging.join("env.tar.gz"), LocalResourceType::Archive),
    );
    node.manager.start(request).unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, 0, "{}", report.diagnostics);

    let paths = node.manager.paths(id).unwrap();
    assert_eq!(
        std::fs::read_to_string(paths.log_dir.join("stdout")).unwrap(),
        "<conf/>\nfrom zip\nfrom tar\nfrom tar\n"
    );
    let app_link = std::fs::read_link(paths.work_dir.join("__app__")).unwrap();
    let filecache = node
        .local_dir()
        .join("usercache/alice/appcache/application_1700000000000_0001/filecache");
    assert!(
        app_link.starts_with(&filecache) && app_link.ends_with("__app__.zip"),
        "{}",
        app_link.display()
    );
    assert!(
        app_link.is_dir(),
        "an archive is unpacked into a directory named like the archive"
    );
    assert!(
        std::fs::symlink_metadata(paths.work_dir.join("conf/job.xml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_source_fails_the_container_with_yarn_message() {
    let node = node();
    let source = node.source_dir().join("app.jar");
    std::fs::write(&source, b"jar").unwrap();
    let id = container_id(2, 1);
    let mut request = spec(id, &["touch <LOG_DIR>/ran"]);
    let mut stale = resource(&source, LocalResourceType::File);
    stale.timestamp -= 1;
    request
        .local_resources
        .insert("app.jar".into(), stale.clone());
    node.manager.start(request).unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(
        report.exit_status,
        exit_status::INVALID,
        "localization failures report INVALID like YARN"
    );
    let expected = format!(
        "]Resource file:{} changed on src filesystem (expected {}, was {})\n",
        source.display(),
        stale.timestamp,
        stale.timestamp + 1
    );
    assert!(
        report.diagnostics.contains(&expected),
        "{}",
        report.diagnostics
    );
    assert!(!node.manager.paths(id).unwrap().log_dir.join("ran").exists());
}

/// Localizes `archive` and expects an unpack error; nothing may appear in `outside`.
async fn expect_rejected(
    localizer: &ResourceLocalizer,
    archive: &Path,
    outside: &Path,
) -> UnpackError {
    let request = resource(archive, LocalResourceType::Archive);
    let error = localizer
        .localize(&request, "alice", application(3))
        .await
        .unwrap_err();
    assert_eq!(
        std::fs::read_dir(outside).unwrap().count(),
        0,
        "{} wrote outside its directory",
        archive.display()
    );
    match error {
        LocalizationError::Unpack { source, .. } => source,
        other => panic!(
            "{}: expected an unpack error, got {other}",
            archive.display()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malicious_archives_are_rejected_without_writing_outside() {
    let temp = tempfile::tempdir().unwrap();
    let staging = temp.path().join("staging");
    let outside = temp.path().join("outside");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let localizer = ResourceLocalizer::new(vec![temp.path().join("local")]);
    let absolute = outside.join("absolute-evil").to_string_lossy().into_owned();

    let zip_parent = staging.join("parent.zip");
    write_zip(
        &zip_parent,
        &[("ok.txt", b"fine"), ("../../../../outside/evil", b"pwned")],
    );
    assert!(matches!(
        expect_rejected(&localizer, &zip_parent, &outside).await,
        UnpackError::ParentTraversal { .. }
    ));

    let zip_absolute = staging.join("absolute.zip");
    write_zip(&zip_absolute, &[(&absolute, b"pwned")]);
    assert!(matches!(
        expect_rejected(&localizer, &zip_absolute, &outside).await,
        UnpackError::AbsolutePath { .. }
    ));

    let zip_symlink = staging.join("symlink.zip");
    write_zip_with_symlink(&zip_symlink, "after-link", &outside.to_string_lossy());
    assert!(matches!(
        expect_rejected(&localizer, &zip_symlink, &outside).await,
        UnpackError::EscapingSymlink { .. }
    ));

    let cases: Vec<(&str, Vec<RawTarEntry>)> = vec![
        (
            "tar-parent.tar.gz",
            vec![file_entry("../../../../outside/evil", b"pwned")],
        ),
        ("tar-absolute.tar.gz", vec![file_entry(&absolute, b"pwned")]),
        (
            "tar-symlink-up.tar.gz",
            vec![
                link_entry("up", tar::EntryType::Symlink, "../../../../outside"),
                file_entry("up/evil", b"pwned"),
            ],
        ),
        (
            "tar-symlink-abs.tar.gz",
            vec![
                link_entry("abs", tar::EntryType::Symlink, "/etc"),
                file_entry("abs/evil", b"pwned"),
            ],
        ),
        (
            "tar-hardlink.tar.gz",
            vec![link_entry(
                "hard",
                tar::EntryType::Link,
                "../../../../outside/secret",
            )],
        ),
        (
            "tar-self-dotdot.tar.gz",
            vec![
                link_entry("self", tar::EntryType::Symlink, "."),
                link_entry("out", tar::EntryType::Symlink, "self/.."),
            ],
        ),
    ];
    for (name, entries) in &cases {
        let archive = staging.join(name);
        write_tar_gz(&archive, entries);
        let error = expect_rejected(&localizer, &archive, &outside).await;
        let clear = matches!(
            error,
            UnpackError::ParentTraversal { .. }
                | UnpackError::AbsolutePath { .. }
                | UnpackError::EscapingSymlink { .. }
                | UnpackError::EscapingHardLink { .. }
        );
        assert!(clear, "{name}: {error}");
    }
    // Nothing half-unpacked is left in the cache either.
    let filecache = temp
        .path()
        .join("local/usercache/alice/appcache/application_1700000000000_0003/filecache");
    assert_eq!(std::fs::read_dir(&filecache).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malicious_archive_fails_its_container_with_a_clear_diagnostic() {
    let node = node();
    let archive = node.source_dir().join("evil.zip");
    write_zip(&archive, &[("../evil", b"pwned")]);
    let id = container_id(4, 1);
    let mut request = spec(id, &["true"]);
    request.local_resources.insert(
        "evil".into(),
        resource(&archive, LocalResourceType::Archive),
    );
    node.manager.start(request).unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, exit_status::INVALID);
    assert!(
        report.diagnostics.contains("Cannot unpack"),
        "{}",
        report.diagnostics
    );
    assert!(
        report
            .diagnostics
            .contains("archive entry '../evil' leaves the target directory through '..'"),
        "{}",
        report.diagnostics
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_one_application_share_one_unpacked_archive() {
    let node = node();
    let archive = node.source_dir().join("__spark_libs__.zip");
    write_zip(&archive, &[("a.jar", b"A"), ("b.jar", b"B")]);
    let ids = [container_id(5, 1), container_id(5, 2)];
    for id in ids {
        let mut request = spec(
            id,
            &[
                "cat __spark_libs__/a.jar __spark_libs__/b.jar",
                "1><LOG_DIR>/stdout",
            ],
        );
        request.local_resources.insert(
            "__spark_libs__".into(),
            resource(&archive, LocalResourceType::Archive),
        );
        node.manager.start(request).unwrap();
    }
    let mut targets = Vec::new();
    for id in ids {
        let report = node.manager.wait_for_completion(id).await.unwrap();
        assert_eq!(report.exit_status, 0, "{}", report.diagnostics);
        let paths = node.manager.paths(id).unwrap();
        assert_eq!(
            std::fs::read_to_string(paths.log_dir.join("stdout")).unwrap(),
            "AB"
        );
        targets.push(std::fs::read_link(paths.work_dir.join("__spark_libs__")).unwrap());
    }
    assert_eq!(targets[0], targets[1]);
    assert_eq!(
        std::fs::metadata(&targets[0]).unwrap().ino(),
        std::fs::metadata(&targets[1]).unwrap().ino()
    );
    let stats = node.manager.localizer().stats();
    assert_eq!(
        (stats.downloads, stats.cache_hits),
        (1, 1),
        "the archive is unpacked once"
    );
}

/// The cache cleanup never deletes what a running container uses; once the container is done,
/// its resources are ordinary cache entries, deleted down to the target and localized again by
/// the next container that asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_cleanup_spares_running_containers_and_frees_the_rest() {
    let node = node();
    let staging = node.source_dir();
    std::fs::write(staging.join("lib.jar"), vec![3u8; 200_000]).unwrap();
    let mut lib = resource(&staging.join("lib.jar"), LocalResourceType::File);
    lib.visibility = spindle_nm::localizer::LocalResourceVisibility::Private;
    let started = staging.join("started");
    let release = staging.join("release");
    let id = container_id(1, 1);
    let mut request = spec(
        id,
        &[&format!(
            "touch {}; while [ ! -e {} ]; do sleep 0.05; done; cat lib.jar > /dev/null",
            started.display(),
            release.display()
        )],
    );
    request
        .local_resources
        .insert("lib.jar".into(), lib.clone());
    node.manager.start(request).unwrap();
    wait_for_file_to_exist(&started).await;
    let localizer = node.manager.localizer();
    assert_eq!(
        localizer.clean_up(0).deleted,
        0,
        "held by a running container"
    );
    std::fs::write(&release, b"").unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, 0, "{}", report.diagnostics);
    let cleaned = localizer.clean_up(0);
    assert_eq!((cleaned.before_bytes, cleaned.deleted), (200_000, 1));

    let again = container_id(1, 2);
    let mut request = spec(again, &["test -s lib.jar"]);
    request.local_resources.insert("lib.jar".into(), lib);
    node.manager.start(request).unwrap();
    let report = node.manager.wait_for_completion(again).await.unwrap();
    assert_eq!(report.exit_status, 0, "{}", report.diagnostics);
    assert_eq!(
        localizer.stats().downloads,
        2,
        "localized again after the cleanup"
    );
}

async fn wait_for_file_to_exist(path: &Path) {
    for _ in 0..1000 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{} never appeared", path.display());
}
