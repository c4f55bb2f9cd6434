//! Scheduler behaviour as scenario files: events in, allocations and completions out.

mod scenario;

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                scenario::check(stringify!($name));
            }
        )*
    };
}

scenarios!(
    fifo_large_job_holds_cluster,
    fifo_skips_requests_that_do_not_fit,
    application_priority_orders_fifo,
    locality,
    strict_locality,
    absolute_asks,
    priorities,
    am_container_first,
    node_removal,
    normalization,
    attempts,
    node_update,
    releases,
    errors,
    expiry,
    capacity_small_job_own_queue,
    capacity_elasticity,
    fair_second_job_reaches_half,
    fair_seed_allocation_file,
    fair_min_share_preemption,
    capacity_preemption,
    reservations,
    reconfiguration,
    capacity_placement_and_acls,
    capacity_user_and_am_limits,
    fair_placement_and_limits,
    explanations,
    fair_share_preemption,
    delay_scheduling_charges_reached_requests,
    recovery,
);

#[test]
fn malformed_fixture_lines_are_reported_with_their_line() {
    for (fixture, expected) in [
        ("node h1\n", "needs cap="),
        ("node h1 cap=12\n", "memory,vcores"),
        ("node h1 cap=x,1\n", "bad memory 'x'"),
        ("finish 1.1.2\n", "must look like c1.1.2"),
        ("finish c1.1\n", "must look like c1.1.2"),
        ("frobnicate\n", "unknown event"),
        (
            "node h1 cap=1,1\nconfig epoch=1\n",
            "config must come before",
        ),
        ("show everything\n", "cannot show"),
        ("ask 1 prio=1 cap=1024,1 *=x\n", "bad container count"),
    ] {
        let error = scenario::run(fixture)
            .err()
            .unwrap_or_else(|| panic!("{fixture:?} was accepted"));
        assert!(error.0.contains(expected), "{fixture:?}: {}", error.0);
        assert!(error.0.starts_with("line "), "{}", error.0);
    }
}
