//! `spindle soak`: the long-running check. Real daemons (`spindle resourcemanager` with its
//! state store and two `spindle nodemanager`s with recovery on) run round after round of
//! distributed-shell applications of many short containers; after each round the resident
//! memory and open file descriptors of every daemon are sampled from `/proc`. What a daemon
//! keeps per container or per application must be bounded, so after a warm-up round the
//! figures stay flat; the report gives the growth per 10,000 containers.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::faults::{Cluster, Proc, Store};

#[derive(clap::Args)]
pub struct SoakArgs {
    /// Rounds of applications (the first is the warm-up).
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Applications submitted together in each round.
    #[arg(long, default_value_t = 2)]
    pub applications: usize,
    /// Containers per application (each runs `true`).
    #[arg(long, default_value_t = 1000)]
    pub containers: u32,
    /// Where the daemons' directories and logs go (default: a new temporary directory, removed
    /// afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// One daemon's footprint.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    rss_kib: u64,
    fds: u64,
}

fn sample(proc: &Option<Proc>) -> Sample {
    let Some(proc) = proc else {
        return Sample::default();
    };
    let pid = proc.0.id();
    let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count() as u64)
        .unwrap_or(0);
    Sample { rss_kib, fds }
}

fn samples(cluster: &Cluster) -> Vec<Sample> {
    std::iter::once(sample(&cluster.rms[0]))
        .chain(cluster.nms.iter().map(sample))
        .collect()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub async fn run(args: SoakArgs) -> anyhow::Result<i32> {
    anyhow::ensure!(
        args.rounds >= 2,
        "--rounds must be at least 2 (one warm-up)"
    );
    let temporary = match &args.dir {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("spindle-soak-").tempdir()?),
    };
    let dir = args
        .dir
        .clone()
        .or_else(|| temporary.as_ref().map(|t| t.path().to_path_buf()))
        .expect("a directory");
    let mut cluster = Cluster::new(&dir, 2, Store::Embedded(dir.join("rmstore")), true)?;
    cluster.start_rm(0)?;
    for index in 0..cluster.nms.len() {
        cluster.start_nm(index)?;
    }
    cluster.wait_serving(Duration::from_secs(60)).await?;
    println!(
        "Soak: {} rounds of {} applications x {} containers (`true`), 1 RM + 2 NMs with recovery on; logs in {}",
        args.rounds,
        args.applications,
        args.containers,
        dir.display()
    );
    println!();
    println!("| round | containers run | seconds | RM RSS MiB | RM fds | NM RSS MiB | NM fds |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let print = |round: &str, containers: u64, seconds: f64, s: &[Sample]| {
        let nms = &s[1..];
        println!(
            "| {round} | {containers} | {seconds:.0} | {:.1} | {} | {} | {} |",
            mib(s[0].rss_kib),
            s[0].fds,
            nms.iter()
                .map(|n| format!("{:.1}", mib(n.rss_kib)))
                .collect::<Vec<_>>()
                .join(" / "),
            nms.iter()
                .map(|n| n.fds.to_string())
                .collect::<Vec<_>>()
                .join(" / ")
        );
    };
    let started = Instant::now();
    print("start", 0, 0.0, &samples(&cluster));
    let mut run_so_far = 0u64;
    let mut warm = (0u64, Vec::new());
    let mut failed = 0usize;
    for round in 1..=args.rounds {
        let mut clients = Vec::new();
        for index in 0..args.applications {
            clients.push(cluster.spawn_dshell(
                args.containers,
                "true",
                &format!("dshell-{round}-{index}.log"),
            )?);
        }
        for mut client in clients {
            let status = tokio::task::spawn_blocking(move || client.0.wait()).await??;
            if !status.success() {
                failed += 1;
            }
        }
        run_so_far += u64::from(args.containers) * args.applications as u64;
        // Completions, acknowledgements and cleanups settle over a few heartbeats.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = samples(&cluster);
        if round == 1 {
            warm = (run_so_far, now.clone());
        }
        print(
            &round.to_string(),
            run_so_far,
            started.elapsed().as_secs_f64(),
            &now,
        );
    }
    let end = samples(&cluster);
    let (succeeded, _) = cluster.verdicts().await?;
    let (warm_containers, warm_samples) = warm;
    let per_10k = |from: u64, to: u64| {
        let containers = run_so_far.saturating_sub(warm_containers).max(1) as f64;
        (to as f64 - from as f64) * 10_000.0 / containers
    };
    println!();
    println!(
        "{succeeded} of {} applications succeeded ({failed} clients failed); {run_so_far} containers in {:.0} s",
        args.rounds * args.applications,
        started.elapsed().as_secs_f64()
    );
    println!(
        "Growth after the warm-up round, per 10,000 containers: RM {:+.2} MiB RSS, {:+.1} fds; NMs {}",
        per_10k(warm_samples[0].rss_kib, end[0].rss_kib) / 1024.0,
        per_10k(warm_samples[0].fds, end[0].fds),
        (1..end.len())
            .map(|i| format!(
                "{:+.2} MiB RSS, {:+.1} fds",
                per_10k(warm_samples[i].rss_kib, end[i].rss_kib) / 1024.0,
                per_10k(warm_samples[i].fds, end[i].fds)
            ))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    drop(cluster);
    Ok(
        if failed == 0 && succeeded == args.rounds * args.applications {
            0
        } else {
            1
        },
    )
}
