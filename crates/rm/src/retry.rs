//! Which AM attempt failures count toward `yarn.resourcemanager.am.max-attempts`, as YARN decides.

use spindle_types::exit_status;

/// The number of attempts an application may have: its own request capped by the RM's maximum;
/// a request of 0 (unset) or above the maximum means the maximum.
pub fn effective_max_attempts(requested: i32, rm_max: i32) -> i32 {
    if requested <= 0 || requested > rm_max {
        rm_max
    } else {
        requested
    }
}

/// Whether an attempt whose AM container ended with `exit_status` counts as a failure. Exits that
/// are not the AM's fault (preemption, a lost node, failed disks, a kill by the RM) do not.
pub fn counts_as_failure(exit_status: i32) -> bool {
    !matches!(
        exit_status,
        exit_status::PREEMPTED
            | exit_status::ABORTED
            | exit_status::DISKS_FAILED
            | exit_status::KILLED_BY_RESOURCEMANAGER
    )
}

/// Drops the failures older than `validity_interval_ms` (YARN's
/// `attemptFailuresValidityInterval`; ≤ 0 keeps them all) and answers how many count.
pub fn failures_within(
    failure_times: &mut Vec<i64>,
    validity_interval_ms: i64,
    now_ms: i64,
) -> i32 {
    if validity_interval_ms > 0 {
        failure_times.retain(|t| *t > now_ms - validity_interval_ms);
    }
    failure_times.len() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_attempts_are_capped() {
        assert_eq!(effective_max_attempts(0, 2), 2);
        assert_eq!(effective_max_attempts(1, 2), 1);
        assert_eq!(effective_max_attempts(5, 2), 2);
        assert_eq!(effective_max_attempts(-1, 3), 3);
    }

    #[test]
    fn failures_older_than_the_validity_interval_stop_counting() {
        let mut times = vec![1_000, 5_000, 9_000];
        assert_eq!(failures_within(&mut times, -1, 100_000), 3);
        assert_eq!(failures_within(&mut times, 6_000, 10_000), 2);
        assert_eq!(times, vec![5_000, 9_000]);
        assert_eq!(failures_within(&mut times, 6_000, 20_000), 0);
    }

    #[test]
    fn only_the_ams_own_failures_count() {
        assert!(counts_as_failure(1));
        assert!(counts_as_failure(exit_status::KILLED_EXCEEDED_PMEM));
        assert!(counts_as_failure(exit_status::INVALID));
        assert!(!counts_as_failure(exit_status::PREEMPTED));
        assert!(!counts_as_failure(exit_status::ABORTED));
        assert!(!counts_as_failure(exit_status::DISKS_FAILED));
        assert!(!counts_as_failure(exit_status::KILLED_BY_RESOURCEMANAGER));
    }
}
