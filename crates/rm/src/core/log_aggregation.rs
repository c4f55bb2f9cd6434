//! An application's log aggregation status: each node that ran one of its containers reports
//! how its upload went (`log_aggregation_reports_for_apps` in heartbeats), and reports combine
//! them as YARN's RMAppImpl does. Time is an argument: a node that has not finished its upload
//! `yarn.log-aggregation-status.time-out.ms` after the application ended (or after its last
//! report, if later) counts as TIME_OUT.
//!
//! Combining, with aggregation on: no node, or every node NOT_START → NOT_START; every node
//! done (SUCCEEDED, FAILED or TIME_OUT) and the application ended → FAILED if any failed, else
//! TIME_OUT if any timed out, else SUCCEEDED; otherwise RUNNING_WITH_FAILURE if a node failed (or
//! reports a failure while running), else RUNNING. (YARN counts only RUNNING_WITH_FAILURE
//! reports in that last case; a node that already failed while others upload is counted too.)

use std::collections::BTreeMap;

use spindle_types::states::LogAggregationStatus;
use spindle_types::NodeId;

/// What one node last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLogAggregation {
    pub status: LogAggregationStatus,
    pub diagnostics: String,
    /// When the RM learned of the node's part (its first container, or its last report).
    pub updated_ms: i64,
}

/// The per-node reports of one application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppLogAggregation {
    nodes: BTreeMap<NodeId, NodeLogAggregation>,
}

impl AppLogAggregation {
    /// `node` runs (or ran) a container of the application: its upload is expected.
    pub fn node_ran_container(&mut self, node: &NodeId, now_ms: i64) {
        if !self.nodes.contains_key(node) {
            self.nodes.insert(
                node.clone(),
                NodeLogAggregation {
                    status: LogAggregationStatus::NotStart,
                    diagnostics: String::new(),
                    updated_ms: now_ms,
                },
            );
        }
    }

    /// A node's report. A node's final status (SUCCEEDED, FAILED) is not replaced by a later
    /// non-final one (a report repeated out of order).
    pub fn node_reported(
        &mut self,
        node: &NodeId,
        status: LogAggregationStatus,
        diagnostics: &str,
        now_ms: i64,
    ) {
        let entry = self
            .nodes
            .entry(node.clone())
            .or_insert_with(|| NodeLogAggregation {
                status: LogAggregationStatus::NotStart,
                diagnostics: String::new(),
                updated_ms: now_ms,
            });
        if entry.status.is_final() && !status.is_final() {
            return;
        }
        entry.status = status;
        entry.diagnostics = diagnostics.to_string();
        entry.updated_ms = now_ms;
    }

    /// Every node's part, by node.
    pub fn nodes(&self) -> impl Iterator<Item = (&NodeId, &NodeLogAggregation)> {
        self.nodes.iter()
    }

    /// A node's status at `now_ms`: TIME_OUT once an ended application's node has not finished
    /// for `timeout_ms`.
    pub fn node_status(
        node: &NodeLogAggregation,
        ended_at: Option<i64>,
        now_ms: i64,
        timeout_ms: i64,
    ) -> LogAggregationStatus {
        match ended_at {
            Some(ended) if !node.status.is_final() => {
                let since = ended.max(node.updated_ms);
                if now_ms.saturating_sub(since) > timeout_ms {
                    LogAggregationStatus::TimeOut
                } else {
                    node.status
                }
            }
            _ => node.status,
        }
    }

    /// The application's status at `now_ms`. `ended_at` is when the application reached its
    /// final state (None while it runs).
    pub fn status(
        &self,
        enabled: bool,
        ended_at: Option<i64>,
        now_ms: i64,
        timeout_ms: i64,
    ) -> LogAggregationStatus {
        use LogAggregationStatus::*;
        if !enabled {
            return Disabled;
        }
        let statuses: Vec<LogAggregationStatus> = self
            .nodes
            .values()
            .map(|node| Self::node_status(node, ended_at, now_ms, timeout_ms))
            .collect();
        let count =
            |wanted: LogAggregationStatus| statuses.iter().filter(|s| **s == wanted).count();
        if statuses.iter().all(|s| *s == NotStart) {
            return NotStart;
        }
        if statuses.iter().all(|s| s.is_final()) && ended_at.is_some() {
            return if count(Failed) > 0 {
                Failed
            } else if count(TimeOut) > 0 {
                TimeOut
            } else {
                Succeeded
            };
        }
        if count(Failed) + count(RunningWithFailure) > 0 {
            RunningWithFailure
        } else {
            Running
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LogAggregationStatus::*;

    const TIMEOUT: i64 = 600_000;

    fn node(i: i32) -> NodeId {
        NodeId::new("nm", i)
    }

    /// The application's status with nodes in `statuses`, reported at time 0, seen at `now`,
    /// the application having ended at `ended_at`.
    fn check(
        statuses: &[LogAggregationStatus],
        ended_at: Option<i64>,
        now: i64,
    ) -> LogAggregationStatus {
        let mut app = AppLogAggregation::default();
        for (i, status) in statuses.iter().enumerate() {
            app.node_ran_container(&node(i as i32), 0);
            if *status != NotStart {
                app.node_reported(&node(i as i32), *status, "", 0);
            }
        }
        app.status(true, ended_at, now, TIMEOUT)
    }

    #[test]
    fn statuses_combine_as_yarns() {
        let ended = Some(0);
        let cases: &[(
            &[LogAggregationStatus],
            Option<i64>,
            i64,
            LogAggregationStatus,
        )] = &[
            (&[], None, 0, NotStart),
            (&[], ended, 0, NotStart),
            (&[NotStart, NotStart], None, 0, NotStart),
            (&[NotStart, NotStart], ended, 1, NotStart),
            (&[Running, NotStart], ended, 1, Running),
            (&[Succeeded, Running], ended, 1, Running),
            (&[Succeeded, Succeeded], ended, 1, Succeeded),
            (&[Succeeded, Failed], ended, 1, Failed),
            (&[Failed, Running], ended, 1, RunningWithFailure),
            (
                &[RunningWithFailure, Succeeded],
                ended,
                1,
                RunningWithFailure,
            ),
            // While the application runs nothing is final.
            (&[Succeeded, Succeeded], None, 1, Running),
            // A node silent past the time-out after the end.
            (&[Succeeded, Running], ended, TIMEOUT + 1, TimeOut),
            (&[Succeeded, NotStart], ended, TIMEOUT + 1, TimeOut),
            (&[Failed, Running], ended, TIMEOUT + 1, Failed),
            (&[Succeeded, Running], ended, TIMEOUT, Running),
            // No time-out while the application runs.
            (&[Running], None, 10 * TIMEOUT, Running),
        ];
        for (statuses, ended_at, now, expected) in cases {
            assert_eq!(
                check(statuses, *ended_at, *now),
                *expected,
                "{statuses:?} ended {ended_at:?} seen at {now}"
            );
        }
        assert_eq!(
            AppLogAggregation::default().status(false, Some(0), 0, TIMEOUT),
            Disabled
        );
    }

    #[test]
    fn the_time_out_counts_from_the_later_of_the_end_and_the_last_report() {
        let mut app = AppLogAggregation::default();
        app.node_ran_container(&node(1), 0);
        app.node_reported(&node(1), Running, "", 5 * TIMEOUT);
        assert_eq!(
            app.status(true, Some(0), 5 * TIMEOUT + 10, TIMEOUT),
            Running
        );
        assert_eq!(app.status(true, Some(0), 6 * TIMEOUT + 1, TIMEOUT), TimeOut);
        // A report after the time-out still counts.
        app.node_reported(&node(1), Succeeded, "done", 7 * TIMEOUT);
        assert_eq!(app.status(true, Some(0), 7 * TIMEOUT, TIMEOUT), Succeeded);
    }

    #[test]
    fn a_final_report_is_not_undone_and_containers_do_not_reset_it() {
        let mut app = AppLogAggregation::default();
        app.node_reported(&node(1), Succeeded, "uploaded", 10);
        app.node_reported(&node(1), Running, "", 20);
        app.node_ran_container(&node(1), 30);
        let (_, part) = app.nodes().next().unwrap();
        assert_eq!(
            (part.status, part.diagnostics.as_str()),
            (Succeeded, "uploaded")
        );
        app.node_reported(&node(1), Failed, "disk full", 40);
        assert_eq!(app.nodes().next().unwrap().1.status, Failed);
    }
}
