//! The RM's web UI in a real browser: headless Chromium (Debian's package, installed by
//! `scripts/ensure-chromium`) loads each page of a running minicluster with two queues and two
//! applications and the test checks what it shows; screenshots of the overview and the scheduler
//! and queue pages are kept under the target directory (`web-ui-screenshots/`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use spindle_minicluster::{MiniCluster, MiniClusterConfig};

fn chromium() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(root.join("scripts/ensure-chromium"))
        .output()
        .expect("scripts/ensure-chromium runs");
    assert!(
        output.status.success(),
        "installing chromium failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn browser_args(chromium: &str, profile: &Path) -> Command {
    let mut command = Command::new(chromium);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        &format!("--user-data-dir={}", profile.display()),
    ]);
    command
}

/// The DOM Chromium built for `url`.
async fn rendered(chromium: &str, profile: &Path, url: String) -> String {
    let mut command = browser_args(chromium, profile);
    command.arg("--dump-dom").arg(&url);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A PNG screenshot of `url` at `path`.
async fn screenshot(chromium: &str, profile: &Path, url: String, path: PathBuf) {
    let mut command = browser_args(chromium, profile);
    command
        .arg(format!("--screenshot={}", path.display()))
        .arg("--window-size=1280,900")
        .arg(&url);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "chromium could not screenshot {url}"
    );
    let png = std::fs::read(&path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "{}",
        path.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_load_in_chromium_and_show_the_cluster() {
    let chromium = chromium();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("chromium-profile");
    let mut config = MiniClusterConfig::new(dir.path().join("cluster"));
    config.nodes = 2;
    config.scheduler_files = vec![(
        "capacity-scheduler.xml".into(),
        spindle_conf::site_xml_string(&[
            ("yarn.scheduler.capacity.root.queues", "prod,dev"),
            ("yarn.scheduler.capacity.root.prod.capacity", "70"),
            ("yarn.scheduler.capacity.root.dev.capacity", "30"),
            ("yarn.scheduler.capacity.root.dev.maximum-capacity", "50"),
        ])
        .unwrap(),
    )];
    let cluster = MiniCluster::start(config).await.unwrap();
    let alice = common::client(&cluster, "alice").await;
    let prod = common::submit_to(&alice, "nightly-<etl>", "prod", "sleep 60").await;
    let bob = common::client(&cluster, "bob").await;
    let dev = common::submit_to(&bob, "notebook", "dev", "sleep 60").await;
    let base = format!("http://{}", cluster.rm.web_address().unwrap());
    // Both AM containers placed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics: serde_json::Value = reqwest::get(format!("{base}/ws/v1/cluster/metrics"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if metrics["clusterMetrics"]["containersAllocated"] == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "AMs not placed: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let overview = rendered(&chromium, &profile, format!("{base}/")).await;
    assert!(overview.contains("Cluster overview"), "{overview}");
    assert!(
        overview.contains("Memory: <b>512</b> MB used"),
        "{overview}"
    );
    assert!(overview.contains("id=\"apps-by-state\""), "{overview}");
    assert!(
        overview.contains("root.prod") && overview.contains("root.dev"),
        "{overview}"
    );
    assert!(overview.contains("<svg"), "usage charts: {overview}");

    let scheduler = rendered(&chromium, &profile, format!("{base}/cluster/scheduler")).await;
    assert!(scheduler.contains("Capacity Scheduler"), "{scheduler}");
    for queue in ["root.prod", "root.dev"] {
        assert!(
            scheduler.contains(&format!("/cluster/queue/{queue}")),
            "{scheduler}"
        );
    }
    assert!(scheduler.contains("class=\"bar\""), "{scheduler}");

    let apps = rendered(&chromium, &profile, format!("{base}/cluster/apps")).await;
    assert!(apps.contains("2 applications"), "{apps}");
    // The name is escaped, not markup.
    assert!(apps.contains("nightly-&lt;etl&gt;"), "{apps}");
    let accepted = rendered(
        &chromium,
        &profile,
        format!("{base}/cluster/apps/ACCEPTED?user=bob"),
    )
    .await;
    assert!(
        accepted.contains(&dev.to_string()) && !accepted.contains(&prod.to_string()),
        "{accepted}"
    );

    let app = rendered(&chromium, &profile, format!("{base}/cluster/app/{prod}")).await;
    assert!(app.contains(&format!("Application {prod}")), "{app}");
    assert!(
        app.contains("id=\"attempts\"") && app.contains("_01_000001"),
        "{app}"
    );
    assert!(
        app.contains("/node/containerlogs/"),
        "a link to the AM's logs: {app}"
    );
    assert!(
        app.contains("/cluster/queue/prod") || app.contains("/cluster/queue/root.prod"),
        "{app}"
    );

    let queue = rendered(
        &chromium,
        &profile,
        format!("{base}/cluster/queue/root.dev"),
    )
    .await;
    assert!(queue.contains("Queue root.dev"), "{queue}");
    assert!(queue.contains("Used memory over the last hour"), "{queue}");

    let nodes = rendered(&chromium, &profile, format!("{base}/cluster/nodes")).await;
    assert!(nodes.contains("2 nodes"), "{nodes}");

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (page, name) in [
        ("/cluster", "overview.png"),
        ("/cluster/scheduler", "scheduler.png"),
        ("/cluster/queue/root.prod", "queue.png"),
    ] {
        screenshot(
            &chromium,
            &profile,
            format!("{base}{page}"),
            shots.join(name),
        )
        .await;
    }
    println!("screenshots in {}", shots.display());
}
