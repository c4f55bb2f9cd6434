//! `getApplications` from a shared listing, so that clients polling the application list (dashboards,
//! schedulers, `application -list` watchers) cost the scheduling path one list build per change
//! instead of one per call.
//!
//! A listing holds every application's report, encoded once. It is rebuilt, under the core's lock,
//! only when the core's application generation moved (an application appeared, went away, or its
//! or an attempt's state changed) or when it is older than [`MAX_AGE`] (progress, resource usage
//! and waiting reasons change without a generation move). Filtering, limits and assembling the
//! response run outside the core's lock, on the listing. A state change is therefore visible to
//! the next call at once; progress and usage at most [`MAX_AGE`] late.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use spindle_proto::yarn::{ApplicationReportProto, GetApplicationsRequestProto};
use spindle_types::states::YarnApplicationState;

use crate::core::RmCore;

/// How long a listing serves calls while no application changed state.
pub const MAX_AGE: Duration = Duration::from_millis(250);

/// One application in a listing: what filters look at, and its report encoded.
struct Row {
    state: YarnApplicationState,
    application_type: String,
    user: String,
    /// The queue asked for and the queue the scheduler placed it in (filters accept either).
    queue: String,
    reported_queue: String,
    tags: Vec<String>,
    name: String,
    encoded: Bytes,
}

struct Listing {
    generation: u64,
    built: Instant,
    rows: Vec<Row>,
}

/// The current listing, shared by every call of the client port.
#[derive(Default)]
pub(crate) struct AppListing {
    current: Mutex<Option<Arc<Listing>>>,
    /// The core's application generation after its last call (written by the shell).
    generation: AtomicU64,
}

impl AppListing {
    /// Records the core's generation (after every core call; cheap).
    pub(crate) fn note_generation(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release);
    }

    /// The encoded `GetApplicationsResponseProto` for `request`. `lock_core` runs a closure under
    /// the core's lock; it is called only when the listing must be rebuilt.
    pub(crate) fn respond(
        &self,
        request: &GetApplicationsRequestProto,
        lock_core: impl FnOnce(&mut dyn FnMut(&RmCore)),
    ) -> Bytes {
        let listing = self.current(lock_core);
        let filter = Filter::of(request);
        let mut response = BytesMut::new();
        for row in listing
            .rows
            .iter()
            .filter(|row| filter.accepts(row))
            .take(filter.limit)
        {
            // Field 1 (repeated ApplicationReportProto), length-delimited.
            prost::encoding::encode_key(
                1,
                prost::encoding::WireType::LengthDelimited,
                &mut response,
            );
            prost::encoding::encode_varint(row.encoded.len() as u64, &mut response);
            response.put_slice(&row.encoded);
        }
        response.freeze()
    }

    fn current(&self, lock_core: impl FnOnce(&mut dyn FnMut(&RmCore))) -> Arc<Listing> {
        // One rebuild at a time: callers that find the listing stale wait for it here, then use it.
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(listing) = current.as_ref() {
            if listing.generation == generation && listing.built.elapsed() < MAX_AGE {
                return listing.clone();
            }
        }
        let mut reports: Vec<(ApplicationReportProto, String)> = Vec::new();
        let mut built_generation = generation;
        lock_core(&mut |core: &RmCore| {
            built_generation = core.app_generation();
            reports = core
                .application_reports(super::now_ms())
                .map(|(app, report)| (report, app.queue.clone()))
                .collect();
        });
        // Encoded off the core's lock.
        let rows = reports
            .into_iter()
            .map(|(report, queue)| Row {
                state: report
                    .yarn_application_state
                    .and_then(YarnApplicationState::from_wire)
                    .unwrap_or(YarnApplicationState::New),
                encoded: Bytes::from(report.encode_to_vec()),
                application_type: report.application_type.clone().unwrap_or_default(),
                user: report.user.clone().unwrap_or_default(),
                reported_queue: report.queue.clone().unwrap_or_default(),
                tags: report.application_tags,
                name: report.name.unwrap_or_default(),
                queue,
            })
            .collect();
        let listing = Arc::new(Listing {
            generation: built_generation,
            built: Instant::now(),
            rows,
        });
        *current = Some(listing.clone());
        listing
    }
}

/// `GetApplicationsRequestProto`'s filters, as YARN applies them.
struct Filter<'a> {
    states: Vec<YarnApplicationState>,
    request: &'a GetApplicationsRequestProto,
    limit: usize,
}

impl<'a> Filter<'a> {
    fn of(request: &'a GetApplicationsRequestProto) -> Self {
        Self {
            states: request
                .application_states
                .iter()
                .filter_map(|s| YarnApplicationState::from_wire(*s))
                .collect(),
            limit: request
                .limit
                .filter(|l| *l > 0)
                .map(|l| l as usize)
                .unwrap_or(usize::MAX),
            request,
        }
    }

    fn accepts(&self, row: &Row) -> bool {
        let r = self.request;
        (self.states.is_empty() || self.states.contains(&row.state))
            && (r.application_types.is_empty()
                || r.application_types
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(&row.application_type)))
            && (r.users.is_empty() || r.users.contains(&row.user))
            && (r.queues.is_empty()
                || r.queues.contains(&row.queue)
                || r.queues.contains(&row.reported_queue))
            && (r.application_tags.is_empty()
                || r.application_tags.iter().any(|t| row.tags.contains(t)))
            && r.name.as_ref().is_none_or(|n| n == &row.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: YarnApplicationState, queue: &str, placed: &str) -> Row {
        Row {
            state,
            application_type: "SPARK".into(),
            user: "alice".into(),
            queue: queue.into(),
            reported_queue: placed.into(),
            tags: vec!["nightly".into()],
            name: name.into(),
            encoded: Bytes::new(),
        }
    }

    fn accepted(request: &GetApplicationsRequestProto, rows: &[Row]) -> Vec<String> {
        let filter = Filter::of(request);
        rows.iter()
            .filter(|r| filter.accepts(r))
            .take(filter.limit)
            .map(|r| r.name.clone())
            .collect()
    }

    #[test]
    fn filters_apply_as_yarn_applies_them() {
        let rows = [
            row(
                "a",
                YarnApplicationState::Running,
                "default",
                "root.default",
            ),
            row("b", YarnApplicationState::Finished, "prod", "root.prod"),
            row("c", YarnApplicationState::Running, "dev", "root.dev.eng"),
        ];
        let all = GetApplicationsRequestProto::default();
        assert_eq!(accepted(&all, &rows), ["a", "b", "c"]);
        let running = GetApplicationsRequestProto {
            application_states: vec![YarnApplicationState::Running as i32],
            ..Default::default()
        };
        assert_eq!(accepted(&running, &rows), ["a", "c"]);
        // Either the queue asked for or the queue placed in.
        let queue = GetApplicationsRequestProto {
            queues: vec!["root.dev.eng".into(), "prod".into()],
            ..Default::default()
        };
        assert_eq!(accepted(&queue, &rows), ["b", "c"]);
        let limited = GetApplicationsRequestProto {
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(accepted(&limited, &rows), ["a", "b"]);
        let no_limit = GetApplicationsRequestProto {
            limit: Some(0),
            ..Default::default()
        };
        assert_eq!(accepted(&no_limit, &rows).len(), 3);
        let typed = GetApplicationsRequestProto {
            application_types: vec!["spark".into()],
            name: Some("b".into()),
            application_tags: vec!["nightly".into()],
            users: vec!["alice".into()],
            ..Default::default()
        };
        assert_eq!(accepted(&typed, &rows), ["b"]);
        let other_tag = GetApplicationsRequestProto {
            application_tags: vec!["hourly".into()],
            ..Default::default()
        };
        assert!(accepted(&other_tag, &rows).is_empty());
    }

    #[test]
    fn the_response_is_the_reports_as_a_get_applications_response() {
        let listing = AppListing::default();
        let report = ApplicationReportProto {
            name: Some("x".into()),
            user: Some("alice".into()),
            ..Default::default()
        };
        let encoded = Bytes::from(report.encode_to_vec());
        *listing.current.lock().unwrap() = Some(Arc::new(Listing {
            generation: 0,
            built: Instant::now(),
            rows: vec![Row {
                encoded: encoded.clone(),
                ..row("x", YarnApplicationState::Running, "q", "q")
            }],
        }));
        let bytes = listing.respond(&GetApplicationsRequestProto::default(), |_| {
            panic!("a fresh listing is served without the core")
        });
        let response = spindle_proto::yarn::GetApplicationsResponseProto::decode(bytes).unwrap();
        assert_eq!(response.applications, vec![report]);
    }
}
