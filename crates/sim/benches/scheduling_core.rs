//! `cargo bench -p spindle-sim --bench scheduling_core`: the scheduling core's allocations per
//! second and per-call latency at 1k, 10k and 50k nodes with 100 and 10,000 applications, for
//! each scheduler; 10, 100 and 1,000 queues for the Capacity and Fair schedulers; and the
//! target configuration (10k nodes, 1,000 queues, 10,000 applications, DRF, locality asks
//! with delay scheduling, preemption on). Printed as a markdown table (the same runs as
//! `spindle bench scheduler`).
//!
//! `SPINDLE_BENCH_QUICK=1` measures 1k and 10k nodes only.

use spindle_sim::bench::{
    machine_description, results_table, run_core_benchmark, BenchPolicy, CoreBenchmarkSpec,
};

fn main() {
    let quick = std::env::var_os("SPINDLE_BENCH_QUICK").is_some();
    let node_counts: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 50_000]
    };
    let mut specs = Vec::new();
    for &nodes in node_counts {
        for applications in [100, 10_000] {
            specs.push(CoreBenchmarkSpec {
                nodes,
                applications,
                ..Default::default()
            });
        }
    }
    for policy in [BenchPolicy::Capacity, BenchPolicy::Fair] {
        for queues in [10, 100, 1_000] {
            specs.push(CoreBenchmarkSpec {
                nodes: 10_000,
                applications: 10_000,
                queues,
                policy,
                ..Default::default()
            });
        }
        // The target configuration: DRF, locality asks with delay scheduling, preemption.
        specs.push(CoreBenchmarkSpec {
            nodes: 10_000,
            applications: 10_000,
            queues: 1_000,
            policy,
            locality: true,
            dominant_resource_fairness: true,
            preemption: true,
            ..Default::default()
        });
    }
    println!("machine: {}", machine_description());
    let mut results = Vec::new();
    for spec in &specs {
        eprintln!(
            "running: {} scheduler, {} nodes, {} queues, {} applications",
            spec.policy.name(),
            spec.nodes,
            spec.queues,
            spec.applications
        );
        match run_core_benchmark(spec) {
            Ok(result) => results.push(result),
            Err(error) => println!(
                "not measured: {} with {} queues: {error}",
                spec.policy.name(),
                spec.queues
            ),
        }
    }
    print!("{}", results_table(&results));
}
