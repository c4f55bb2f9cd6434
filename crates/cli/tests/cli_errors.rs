//! What a user sees when something is wrong: one clear line on stderr and a non-zero exit, never
//! a backtrace, whatever RUST_BACKTRACE says; and a daemon's log written to a file carries no
//! terminal colour codes.

use std::process::{Command, Stdio};
use std::time::Duration;

fn spindle() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spindle"));
    command
        .env("RUST_BACKTRACE", "full")
        .env_remove("HADOOP_CONF_DIR");
    command
}

fn site(dir: &std::path::Path, properties: &[(&str, &str)]) {
    let properties: Vec<(String, String)> = properties
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    spindle_conf::write_site_xml(&dir.join("yarn-site.xml"), &properties).unwrap();
}

fn one_line_error(output: &std::process::Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert!(
        !stderr.contains("backtrace") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn user_mistakes_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    site(
        dir.path(),
        &[
            ("yarn.resourcemanager.address", "127.0.0.1:1"),
            ("yarn.resourcemanager.connect.max-wait.ms", "500"),
        ],
    );
    let conf = dir.path().to_str().unwrap();
    let unreachable = spindle()
        .args([
            "--conf-dir",
            conf,
            "application",
            "-status",
            "application_1_0001",
        ])
        .output()
        .unwrap();
    one_line_error(
        &unreachable,
        "cannot reach the ResourceManager at 127.0.0.1:1",
    );

    let missing = spindle()
        .args(["--conf-dir", "/does/not/exist", "application", "-list"])
        .output()
        .unwrap();
    one_line_error(
        &missing,
        "Cannot find configuration directory: /does/not/exist",
    );

    let bad_id = spindle()
        .args(["--conf-dir", conf, "application", "-status", "garbage"])
        .output()
        .unwrap();
    one_line_error(&bad_id, "Invalid ApplicationId");
}

#[test]
fn a_daemon_logging_to_a_file_writes_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0";
    site(
        dir.path(),
        &[
            ("yarn.resourcemanager.address", any),
            ("yarn.resourcemanager.scheduler.address", any),
            ("yarn.resourcemanager.resource-tracker.address", any),
            ("yarn.resourcemanager.admin.address", any),
            ("yarn.resourcemanager.webapp.address", any),
        ],
    );
    let log = std::fs::File::create(dir.path().join("rm.log")).unwrap();
    let mut rm = spindle()
        .args([
            "--conf-dir",
            dir.path().to_str().unwrap(),
            "resourcemanager",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let log_path = dir.path().join("rm.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("ResourceManager started")
    {
        assert!(std::time::Instant::now() < deadline, "the RM did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(rm.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(rm.wait().unwrap().success());
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("ResourceManager started"));
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in a log file:\n{text}"
    );
}
