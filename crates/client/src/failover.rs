//! The RM HA retry policy of every RM client (Hadoop's `RMProxy` HA policy over
//! `ConfiguredRMFailoverProxyProvider`): which failures move a call to the next RM, how long to
//! sleep first, and when to give up. Pure functions; the channel applies them.
//!
//! The rules, per call (Hadoop's `FailoverOnNetworkExceptionRetry` with no retries on the same RM):
//! * The RM could not be reached — connection refused, connect timeout, no route, unknown host,
//!   connection closed before the request went out — or it answered with
//!   `org.apache.hadoop.ipc.StandbyException`: fail over to the next rm-id (round robin).
//! * The connection closed or timed out after the request went out, so the RM may have run it:
//!   fail over only when YARN marks the method `@Idempotent` or `@AtMostOnce`
//!   ([`method_safety`]); otherwise give up ("the invoked method is not idempotent, and unable to
//!   determine whether it was invoked"). Every method Spindle's clients call is one of the two:
//!   `@AtMostOnce` `allocate`/`finishApplicationMaster` are safe to replay because the RM
//!   de-duplicates by response id.
//! * `org.apache.hadoop.ipc.RetriableException`: retry the same RM once.
//! * Authentication failures, malformed replies and every other remote exception: the caller gets
//!   the original error at once.
//! * The first failover of a call is immediate; failover n (n ≥ 1 failovers already made) sleeps
//!   `min(base·2^n, max) × U[0.5, 1.5)`. A call that has made `max_failovers` failovers and fails
//!   again gives up with an error saying so ("failovers (3) exceeded maximum allowed (3)").

use std::time::Duration;

use spindle_conf::RmFailoverSettings;
use spindle_ipc::IpcClientError;

use crate::error::{exception_classes, ClientError};

/// How YARN annotates a protocol method, which decides whether a call that may have reached the
/// RM can be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodSafety {
    /// `@Idempotent`: running it twice does no harm.
    Idempotent,
    /// `@AtMostOnce`: the RM recognises a repeat (AM response ids) and answers it once.
    AtMostOnce,
    /// No annotation: never repeated once it may have reached the RM.
    Unmarked,
}

/// YARN's annotation of `method` (ApplicationClientProtocol and ApplicationMasterProtocol names
/// do not overlap).
pub fn method_safety(method: &str) -> MethodSafety {
    match method {
        // ApplicationMasterProtocol.
        "registerApplicationMaster" => MethodSafety::Idempotent,
        "allocate" | "finishApplicationMaster" => MethodSafety::AtMostOnce,
        // ApplicationClientProtocol.
        "getNewApplication"
        | "submitApplication"
        | "forceKillApplication"
        | "getApplicationReport"
        | "getApplications"
        | "getApplicationAttemptReport"
        | "getApplicationAttempts"
        | "getContainerReport"
        | "getContainers"
        | "getClusterMetrics"
        | "getClusterNodes"
        | "getQueueInfo"
        | "getQueueUserAcls"
        | "getDelegationToken"
        | "renewDelegationToken"
        | "cancelDelegationToken"
        | "moveApplicationAcrossQueues"
        | "updateApplicationPriority"
        | "updateApplicationTimeouts" => MethodSafety::Idempotent,
        _ => MethodSafety::Unmarked,
    }
}

/// Where in an attempt a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Opening the connection (TCP, SASL, connection context): no request went out.
    Connect,
    /// The call itself.
    Call,
}

/// What went wrong with one attempt, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request never reached an RM.
    Unreachable,
    /// The RM is not the active one (`StandbyException`).
    Standby,
    /// The RM asked to be asked again (`RetriableException`).
    Retriable,
    /// The connection closed or timed out after the request went out.
    Interrupted,
    /// Anything else: the caller gets the error.
    Final,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Sleep, then move to the next RM and try again.
    FailOver { sleep: Duration },
    /// Sleep, then try the same RM again.
    Retry { sleep: Duration },
    /// Give the caller the error as it is.
    Fail,
    /// Give up on a failure that is retryable in itself, for `reason`.
    GiveUp { reason: String },
}

/// Sorts a failed attempt's error.
pub(crate) fn classify(error: &ClientError, stage: Stage) -> Failure {
    let by_class = |class_name: &str| match class_name {
        exception_classes::STANDBY => Failure::Standby,
        exception_classes::RETRIABLE => Failure::Retriable,
        _ => Failure::Final,
    };
    match error {
        ClientError::Resolve { .. } | ClientError::Ipc(IpcClientError::Connect { .. }) => {
            Failure::Unreachable
        }
        ClientError::Ipc(
            IpcClientError::ConnectionClosed { .. } | IpcClientError::Timeout { .. },
        ) => match stage {
            Stage::Connect => Failure::Unreachable,
            Stage::Call => Failure::Interrupted,
        },
        ClientError::Remote { class_name, .. }
        | ClientError::Ipc(IpcClientError::Fatal { class_name, .. }) => by_class(class_name),
        _ => Failure::Final,
    }
}

/// The sleep before a failover or retry: none for `times` = 0, else
/// `min(base·2^times, max) × (0.5 + unit_random)` with `unit_random` in [0, 1) (Hadoop's
/// `calculateExponentialTime`).
pub fn failover_sleep(settings: &RmFailoverSettings, times: u32, unit_random: f64) -> Duration {
    if times == 0 {
        return Duration::ZERO;
    }
    let base = u64::try_from(settings.sleep_base.as_millis()).unwrap_or(u64::MAX);
    let cap = u64::try_from(settings.sleep_max.as_millis()).unwrap_or(u64::MAX);
    let factor = 1u64.checked_shl(times).unwrap_or(u64::MAX);
    let bounded = base.saturating_mul(factor).min(cap);
    Duration::from_millis((bounded as f64 * (0.5 + unit_random.clamp(0.0, 1.0))) as u64)
}

/// The policy's answer for an attempt that failed with `failure`, after `failovers` failovers
/// and `retries` repeats in all (failovers included) of this call; `unit_random` in [0, 1)
/// spreads the sleep.
pub(crate) fn decide(
    settings: &RmFailoverSettings,
    failure: Failure,
    safety: MethodSafety,
    failovers: u32,
    retries: u32,
    unit_random: f64,
) -> Decision {
    if failure == Failure::Final {
        return Decision::Fail;
    }
    if failovers >= settings.max_failovers {
        return Decision::GiveUp {
            reason: format!(
                "failovers ({failovers}) exceeded maximum allowed ({})",
                settings.max_failovers
            ),
        };
    }
    // No retries on the same RM beyond what RetriableException allows once.
    if retries - failovers.min(retries) > 0 {
        return Decision::GiveUp {
            reason: format!("retries ({retries}) exceeded maximum allowed (0)"),
        };
    }
    match failure {
        Failure::Unreachable | Failure::Standby => Decision::FailOver {
            sleep: failover_sleep(settings, failovers, unit_random),
        },
        Failure::Retriable => Decision::Retry {
            sleep: failover_sleep(settings, retries, unit_random),
        },
        Failure::Interrupted if safety != MethodSafety::Unmarked => Decision::FailOver {
            sleep: failover_sleep(settings, retries, unit_random),
        },
        Failure::Interrupted => Decision::GiveUp {
            reason: "the invoked method is not idempotent, and unable to determine whether it was invoked".into(),
        },
        Failure::Final => Decision::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_ms: u64, max_ms: u64, max_failovers: u32) -> RmFailoverSettings {
        RmFailoverSettings {
            sleep_base: Duration::from_millis(base_ms),
            sleep_max: Duration::from_millis(max_ms),
            max_failovers,
        }
    }

    #[test]
    fn sleeps_grow_exponentially_up_to_the_cap_with_jitter() {
        let defaults = settings(30_000, 30_000, 30);
        assert_eq!(
            failover_sleep(&defaults, 0, 0.9),
            Duration::ZERO,
            "first failover"
        );
        // YARN's defaults: the cap is the base, so every later sleep is 15-45 s.
        assert_eq!(failover_sleep(&defaults, 1, 0.0), Duration::from_secs(15));
        assert_eq!(failover_sleep(&defaults, 7, 0.5), Duration::from_secs(30));
        assert_eq!(
            failover_sleep(&defaults, 29, 0.999),
            Duration::from_millis(44_970)
        );
        let growing = settings(100, 1_000, 30);
        let middle: Vec<u64> = (0..6)
            .map(|n| failover_sleep(&growing, n, 0.5).as_millis() as u64)
            .collect();
        assert_eq!(middle, [0, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(failover_sleep(&growing, 2, 0.0), Duration::from_millis(200));
        // Huge counts saturate instead of overflowing.
        assert_eq!(failover_sleep(&growing, 200, 0.5), Duration::from_secs(1));
        assert_eq!(
            failover_sleep(&settings(u64::MAX / 2, u64::MAX, 1), 100, 0.5),
            Duration::from_millis(u64::MAX)
        );
    }

    #[test]
    fn unreachable_and_standby_rms_fail_over_until_the_limit() {
        let policy = settings(10, 40, 3);
        for failure in [Failure::Unreachable, Failure::Standby] {
            assert_eq!(
                decide(&policy, failure, MethodSafety::Unmarked, 0, 0, 0.5),
                Decision::FailOver {
                    sleep: Duration::ZERO
                }
            );
            assert_eq!(
                decide(&policy, failure, MethodSafety::Unmarked, 2, 2, 0.5),
                Decision::FailOver {
                    sleep: Duration::from_millis(40)
                }
            );
            assert_eq!(
                decide(&policy, failure, MethodSafety::Idempotent, 3, 3, 0.5),
                Decision::GiveUp {
                    reason: "failovers (3) exceeded maximum allowed (3)".into()
                }
            );
        }
        assert_eq!(
            decide(
                &settings(10, 40, 0),
                Failure::Unreachable,
                MethodSafety::Idempotent,
                0,
                0,
                0.5
            ),
            Decision::GiveUp {
                reason: "failovers (0) exceeded maximum allowed (0)".into()
            },
            "no failovers allowed"
        );
    }

    #[test]
    fn interrupted_calls_fail_over_only_when_safe_to_repeat() {
        let policy = settings(10, 40, 3);
        for method in [
            "getApplications",
            "submitApplication",
            "registerApplicationMaster",
        ] {
            assert_eq!(method_safety(method), MethodSafety::Idempotent, "{method}");
        }
        for method in ["allocate", "finishApplicationMaster"] {
            assert_eq!(method_safety(method), MethodSafety::AtMostOnce, "{method}");
        }
        assert_eq!(
            method_safety("failApplicationAttempt"),
            MethodSafety::Unmarked
        );
        for safety in [MethodSafety::Idempotent, MethodSafety::AtMostOnce] {
            assert!(matches!(
                decide(&policy, Failure::Interrupted, safety, 1, 1, 0.5),
                Decision::FailOver { .. }
            ));
        }
        assert_eq!(
            decide(&policy, Failure::Interrupted, MethodSafety::Unmarked, 0, 0, 0.5),
            Decision::GiveUp {
                reason: "the invoked method is not idempotent, and unable to determine whether it was invoked".into()
            }
        );
    }

    #[test]
    fn retriable_retries_once_and_other_errors_are_final() {
        let policy = settings(10, 40, 3);
        assert_eq!(
            decide(
                &policy,
                Failure::Retriable,
                MethodSafety::Unmarked,
                0,
                0,
                0.5
            ),
            Decision::Retry {
                sleep: Duration::ZERO
            }
        );
        assert_eq!(
            decide(
                &policy,
                Failure::Retriable,
                MethodSafety::Unmarked,
                0,
                1,
                0.5
            ),
            Decision::GiveUp {
                reason: "retries (1) exceeded maximum allowed (0)".into()
            }
        );
        assert_eq!(
            decide(&policy, Failure::Final, MethodSafety::Idempotent, 5, 5, 0.5),
            Decision::Fail,
            "final errors reach the caller as they are, even past the limit"
        );
    }

    #[test]
    fn errors_are_classified_by_kind_and_stage() {
        let remote = |class_name: &str| ClientError::Remote {
            class_name: class_name.into(),
            message: "m".into(),
        };
        let refused = ClientError::Ipc(IpcClientError::Connect {
            address: "127.0.0.1:1".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        });
        let closed = ClientError::Ipc(IpcClientError::ConnectionClosed {
            reason: "eof".into(),
        });
        let timeout = ClientError::Ipc(IpcClientError::Timeout {
            method: "allocate".into(),
            after: Duration::from_secs(1),
        });
        assert_eq!(classify(&refused, Stage::Connect), Failure::Unreachable);
        assert_eq!(classify(&closed, Stage::Connect), Failure::Unreachable);
        assert_eq!(classify(&closed, Stage::Call), Failure::Interrupted);
        assert_eq!(classify(&timeout, Stage::Call), Failure::Interrupted);
        assert_eq!(
            classify(
                &ClientError::Resolve {
                    address: "nowhere:1".into(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                },
                Stage::Connect
            ),
            Failure::Unreachable
        );
        assert_eq!(
            classify(&remote(exception_classes::STANDBY), Stage::Call),
            Failure::Standby
        );
        assert_eq!(
            classify(
                &ClientError::Ipc(IpcClientError::Fatal {
                    class_name: exception_classes::STANDBY.into(),
                    message: "m".into(),
                }),
                Stage::Connect
            ),
            Failure::Standby
        );
        assert_eq!(
            classify(&remote(exception_classes::RETRIABLE), Stage::Call),
            Failure::Retriable
        );
        assert_eq!(
            classify(
                &remote(exception_classes::APPLICATION_NOT_FOUND),
                Stage::Call
            ),
            Failure::Final
        );
        assert_eq!(
            classify(
                &ClientError::Ipc(IpcClientError::Authentication {
                    message: "bad token".into()
                }),
                Stage::Connect
            ),
            Failure::Final
        );
    }
}
