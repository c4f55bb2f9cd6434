//! `spindle bench scaling` as a user runs it: quick sweeps write scaling.json, scaling.csv and
//! scaling.html; bad arguments fail with a message naming the argument. No timing is asserted.

use std::process::{Command, Output};

fn spindle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args(args)
        .output()
        .expect("spindle runs")
}

#[test]
fn quick_scaling_writes_the_three_files() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("scaling");
    let output = spindle(&[
        "bench",
        "scaling",
        "--quick",
        "--policy",
        "capacity",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("| sweep | policy | nodes |"), "{stdout}");
    let html = std::fs::read_to_string(dir.join("scaling.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 4, "one plot per sweep");
    assert!(html.contains("bench scaling --quick --policy capacity"));
    let csv = std::fs::read_to_string(dir.join("scaling.csv")).unwrap();
    // Quick sweeps: 3 node counts, 3 queue counts, 2 application counts, 3 backlogs.
    assert_eq!(csv.lines().count(), 1 + 3 + 3 + 2 + 3);
    assert!(csv.lines().skip(1).all(|line| line.contains(",capacity,")));
    let json = std::fs::read_to_string(dir.join("scaling.json")).unwrap();
    assert_eq!(json.matches("\"sweep\": ").count(), 11, "{json}");
}

#[test]
fn bad_arguments_are_refused_naming_the_argument() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    for (args, named) in [
        (vec!["--policy", "lottery"], "--policy"),
        (vec!["--quick", "--nodes", "100,0"], "--nodes"),
        (vec!["--quick", "--base-pending", "0"], "--base-pending"),
        (vec!["--nodes", "many"], "--nodes"),
    ] {
        let mut line = vec!["bench", "scaling", "--out", dir];
        line.extend(&args);
        let output = spindle(&line);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "nothing is written for refused arguments"
    );
}
