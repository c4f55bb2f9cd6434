//! `spindle soak` end to end, in small: real daemons run two rounds of short containers, every
//! application succeeds, and the report has a row per round with each daemon's memory and open
//! files and the growth per 10,000 containers. (The figures in BENCHMARKS.md come from the full
//! run; the per-round numbers of a run this small are noise.)

use std::process::Command;

#[test]
fn a_small_soak_runs_every_container_and_reports_each_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args([
            "soak",
            "--rounds",
            "2",
            "--applications",
            "1",
            "--containers",
            "20",
        ])
        .arg("--dir")
        .arg(dir.path())
        .env("SPINDLE_LOG", "warn")
        .output()
        .expect("spindle soak runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("2 of 2 applications succeeded (0 clients failed); 40 containers"),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| ")).collect();
    // Header, start, round 1, round 2.
    assert_eq!(rows.len(), 4, "{stdout}");
    for row in &rows[1..] {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let rm_rss: f64 = cells[4].parse().unwrap();
        assert!(rm_rss > 1.0, "the RM's RSS is read from /proc: {row}");
        assert_eq!(cells[6].split(" / ").count(), 2, "both NMs: {row}");
    }
    assert!(
        stdout.contains("Growth after the warm-up round, per 10,000 containers: RM"),
        "{stdout}"
    );
}
