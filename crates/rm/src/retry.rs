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
