//! Data-driven scheduler tests: a scenario is a text file of events; the expected output is the
//! same file with each event's actions written under it (`  => ...` lines).
//!
//! `check("name")` replays `tests/scenarios/name.txt` against a fresh scheduler, checks the
//! invariants after every event, and compares the transcript with the file. Run with
//! `UPDATE_SCENARIOS=1` to rewrite the files with what the scheduler does now (then review the diff).
//!
//! Event lines (ids are short: app `1` is `application_1700000000000_0001`, attempt `1` or `1.2`,
//! container `c1.1.2` = app 1, attempt 1, sequence 2; nodes are `host` (port 8041) or `host:port`;
//! resources are `memory,vcores`):
//!
//! ```text
//! config min=1024,1 max=8192,4 increment=1024,1 epoch=0   (first line only; else YARN defaults)
//! node h1 rack=/r1 cap=8192,8         update-node h1 cap=4096,4         remove-node h1
//! app 1 queue=default user=alice priority=0                             remove-app 1
//! attempt 1 am=1024,1                 remove-attempt 1 keep
//! ask 1 prio=1 cap=1024,1 *=4 h1=2 /r1=2! id=0 release=c1.1.2    (`!`: relax_locality=false)
//! release 1 c1.1.2 c1.1.3             acquire c1.1.2 c1.1.3
//! finish c1.1.2 exit=0                expire c1.1.2                     time 1000
//! recover-attempt 1 am=1024,1         recover e0:c1.1.1 on=h1 cap=1024,1 prio=0 id=-1 am
//! show cluster | show node h1 | show app 1 | show queue default
//! heartbeat h1                        groups alice=eng,dev
//! show queue-detail root.a | show explain 1
//! ```
//!
//! `config scheduler=capacity|fair` and `reconfigure` take a block (see `policy.rs`).

mod policy;

use std::fmt::Write as _;
use std::path::PathBuf;

use spindle_scheduler::{
    AllocationLimits, CompletionReason, RecoveryRefusal, ResourceRequest, Scheduler,
    SchedulerAction, SchedulerConfig, SchedulerEvent,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

pub const CLUSTER_TIMESTAMP: i64 = 1_700_000_000_000;
pub const DEFAULT_NM_PORT: i32 = 8041;
const OUTPUT_PREFIX: &str = "  => ";

pub fn application(number: i32) -> ApplicationId {
    ApplicationId::new(CLUSTER_TIMESTAMP, number)
}

pub fn attempt(application_number: i32, attempt_number: i32) -> ApplicationAttemptId {
    ApplicationAttemptId::new(application(application_number), attempt_number)
}

pub fn render_resource(resource: &Resource) -> String {
    let mut text = format!("<{},{}", resource.memory_mb, resource.vcores);
    for (name, value) in resource.others() {
        let _ = write!(text, ",{name}={value}");
    }
    text + ">"
}

pub fn render_node(node: &NodeId) -> String {
    if node.port == DEFAULT_NM_PORT {
        node.host.to_string()
    } else {
        node.to_string()
    }
}

pub fn render_attempt(attempt: &ApplicationAttemptId) -> String {
    format!("{}.{}", attempt.application_id.id, attempt.attempt_id)
}

pub fn render_container(container: &ContainerId) -> String {
    let short = format!(
        "c{}.{}.{}",
        container.attempt_id.application_id.id,
        container.attempt_id.attempt_id,
        container.sequence()
    );
    match container.epoch() {
        0 => short,
        epoch => format!("e{epoch}:{short}"),
    }
}

fn render_reason(reason: CompletionReason) -> &'static str {
    match reason {
        CompletionReason::Finished => "finished",
        CompletionReason::ReleasedByApplication => "released-by-application",
        CompletionReason::NodeLost => "node-lost",
        CompletionReason::ApplicationCompleted => "application-completed",
        CompletionReason::Expired => "expired",
        CompletionReason::Preempted => "preempted",
    }
}

pub fn render_action(action: &SchedulerAction) -> String {
    match action {
        SchedulerAction::Allocated {
            container,
            attempt,
            node,
            resource,
            priority,
            allocation_request_id,
            is_am,
            locality,
        } => {
            let mut line = format!(
                "allocated {} on {} {} prio={priority} {}",
                render_container(container),
                render_node(node),
                render_resource(resource),
                locality.name()
            );
            if *is_am {
                line += " am";
            } else if *allocation_request_id != 0 {
                let _ = write!(line, " id={allocation_request_id}");
            }
            if *attempt != container.attempt_id {
                let _ = write!(line, " attempt={}", render_attempt(attempt));
            }
            line
        }
        SchedulerAction::Completed {
            container,
            attempt,
            node,
            resource,
            exit_status,
            reason,
            acquired,
        } => {
            let mut line = format!(
                "completed {} on {} {} exit={exit_status} {}",
                render_container(container),
                render_node(node),
                render_resource(resource),
                render_reason(*reason)
            );
            if !acquired {
                line += " unacquired";
            }
            if *attempt != container.attempt_id {
                let _ = write!(line, " attempt={}", render_attempt(attempt));
            }
            line
        }
        SchedulerAction::PreemptionRequested { container, attempt } => {
            format!(
                "preemption-requested {} attempt={}",
                render_container(container),
                render_attempt(attempt)
            )
        }
        SchedulerAction::RecoveryRefused {
            container,
            node,
            reason,
        } => format!(
            "recovery-refused {} on {} {}",
            render_container(container),
            render_node(node),
            render_refusal(*reason)
        ),
    }
}

fn render_refusal(reason: RecoveryRefusal) -> &'static str {
    match reason {
        RecoveryRefusal::UnknownApplication => "unknown-application",
        RecoveryRefusal::NotCurrentAttempt => "not-current-attempt",
        RecoveryRefusal::UnknownNode => "unknown-node",
        RecoveryRefusal::AlreadyLive => "already-live",
        RecoveryRefusal::SecondAmContainer => "second-am-container",
        RecoveryRefusal::NegativeResource => "negative-resource",
    }
}

/// A fixture line that could not be read; the message names the line.
#[derive(Debug)]
pub struct FixtureError(pub String);

type Parsed<T> = Result<T, FixtureError>;

fn fail<T>(message: impl Into<String>) -> Parsed<T> {
    Err(FixtureError(message.into()))
}

fn parse_number<T: std::str::FromStr>(text: &str, what: &str) -> Parsed<T> {
    text.parse()
        .or_else(|_| fail(format!("bad {what} '{text}'")))
}

pub fn parse_resource(text: &str) -> Parsed<Resource> {
    let mut parts = text.split(',');
    let (Some(memory), Some(vcores)) = (parts.next(), parts.next()) else {
        return fail(format!(
            "resource '{text}' must be memory,vcores[,type=value...]"
        ));
    };
    let mut resource = Resource::new(
        parse_number(memory, "memory")?,
        parse_number(vcores, "vcores")?,
    );
    for extra in parts {
        let Some((name, value)) = extra.split_once('=') else {
            return fail(format!("extra resource '{extra}' must be type=value"));
        };
        resource.set(name, parse_number(value, "resource value")?);
    }
    Ok(resource)
}

fn parse_node(text: &str) -> Parsed<NodeId> {
    match text.split_once(':') {
        Some((host, port)) => Ok(NodeId::new(host, parse_number(port, "port")?)),
        None => Ok(NodeId::new(text, DEFAULT_NM_PORT)),
    }
}

fn parse_attempt(text: &str) -> Parsed<ApplicationAttemptId> {
    match text.split_once('.') {
        Some((app, number)) => Ok(attempt(
            parse_number(app, "application")?,
            parse_number(number, "attempt")?,
        )),
        None => Ok(attempt(parse_number(text, "application")?, 1)),
    }
}

fn parse_container(text: &str, epoch: i64) -> Parsed<ContainerId> {
    if let Some((prefix, short)) = text.split_once(':') {
        let Some(explicit) = prefix.strip_prefix('e') else {
            return fail(format!("bad epoch in '{text}'"));
        };
        return parse_container(short, parse_number(explicit, "epoch")?);
    }
    let Some(rest) = text.strip_prefix('c') else {
        return fail(format!("container '{text}' must look like c1.1.2"));
    };
    let parts: Vec<&str> = rest.split('.').collect();
    let [app, attempt_number, sequence] = parts[..] else {
        return fail(format!("container '{text}' must look like c1.1.2"));
    };
    Ok(ContainerId::new(
        attempt(
            parse_number(app, "application")?,
            parse_number(attempt_number, "attempt")?,
        ),
        epoch,
        parse_number(sequence, "sequence")?,
    ))
}

/// `key=value` options of a line, with the bare words kept apart.
struct Options<'a> {
    pairs: Vec<(&'a str, &'a str)>,
    words: Vec<&'a str>,
}

impl<'a> Options<'a> {
    fn of(tokens: &[&'a str]) -> Self {
        let mut pairs = Vec::new();
        let mut words = Vec::new();
        for token in tokens {
            match token.split_once('=') {
                Some((key, value)) => pairs.push((key, value)),
                None => words.push(*token),
            }
        }
        Self { pairs, words }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// One line of a fixture, read.
pub enum Step {
    Event(SchedulerEvent),
    Show(String),
}

pub fn parse_config(line: &str) -> Parsed<SchedulerConfig> {
    let tokens: Vec<&str> = line.split_whitespace().skip(1).collect();
    let options = Options::of(&tokens);
    let mut config = SchedulerConfig::default();
    let mut limits = AllocationLimits::default();
    if let Some(minimum) = options.get("min") {
        limits.minimum = parse_resource(minimum)?;
        limits.increment = limits.minimum.clone();
    }
    if let Some(maximum) = options.get("max") {
        limits.maximum = parse_resource(maximum)?;
    }
    if let Some(increment) = options.get("increment") {
        limits.increment = parse_resource(increment)?;
    }
    if let Some(epoch) = options.get("epoch") {
        config.rm_epoch = parse_number(epoch, "epoch")?;
    }
    config.limits = limits;
    Ok(config)
}

pub fn parse_step(line: &str, epoch: i64) -> Parsed<Step> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, rest)) = tokens.split_first() else {
        return fail("empty line");
    };
    let options = Options::of(rest);
    let first = || {
        rest.first()
            .copied()
            .ok_or_else(|| FixtureError(format!("'{verb}' needs an argument")))
    };
    let required = |key: &str| {
        options
            .get(key)
            .ok_or_else(|| FixtureError(format!("'{verb}' needs {key}=")))
    };
    let event = match verb {
        "node" => SchedulerEvent::NodeAdded {
            node: parse_node(first()?)?,
            rack: options.get("rack").unwrap_or("").to_string(),
            capability: parse_resource(required("cap")?)?,
        },
        "update-node" => SchedulerEvent::NodeUpdated {
            node: parse_node(first()?)?,
            capability: parse_resource(required("cap")?)?,
        },
        "remove-node" => SchedulerEvent::NodeRemoved {
            node: parse_node(first()?)?,
        },
        "app" => SchedulerEvent::ApplicationAdded {
            application: application(parse_number(first()?, "application")?),
            queue: options.get("queue").unwrap_or("default").to_string(),
            user: options.get("user").unwrap_or("user").to_string(),
            priority: parse_number(options.get("priority").unwrap_or("0"), "priority")?,
        },
        "remove-app" => SchedulerEvent::ApplicationRemoved {
            application: application(parse_number(first()?, "application")?),
        },
        "attempt" => SchedulerEvent::AttemptAdded {
            attempt: parse_attempt(first()?)?,
            am_resource: options.get("am").map(parse_resource).transpose()?,
        },
        "recover-attempt" => SchedulerEvent::AttemptRecovered {
            attempt: parse_attempt(first()?)?,
            am_resource: parse_resource(required("am")?)?,
        },
        "recover" => SchedulerEvent::ContainerRecovered {
            container: parse_container(first()?, epoch)?,
            node: parse_node(required("on")?)?,
            resource: parse_resource(required("cap")?)?,
            priority: parse_number(options.get("prio").unwrap_or("1"), "priority")?,
            allocation_request_id: parse_number(options.get("id").unwrap_or("0"), "allocation id")?,
            is_am: options.words.contains(&"am"),
        },
        "remove-attempt" => SchedulerEvent::AttemptRemoved {
            attempt: parse_attempt(first()?)?,
            keep_containers: options.words.contains(&"keep"),
        },
        "ask" => {
            let attempt = parse_attempt(first()?)?;
            let priority = parse_number(required("prio")?, "priority")?;
            let capability = parse_resource(required("cap")?)?;
            let allocation_request_id =
                parse_number(options.get("id").unwrap_or("0"), "allocation id")?;
            let mut asks = Vec::new();
            for (key, value) in &options.pairs {
                if matches!(*key, "prio" | "cap" | "id" | "release") {
                    continue;
                }
                let (count, relax_locality) = match value.strip_suffix('!') {
                    Some(count) => (count, false),
                    None => (*value, true),
                };
                asks.push(ResourceRequest {
                    priority,
                    resource_name: key.to_string(),
                    capability: capability.clone(),
                    num_containers: parse_number(count, "container count")?,
                    relax_locality,
                    allocation_request_id,
                });
            }
            let releases = match options.get("release") {
                Some(list) => list
                    .split(',')
                    .map(|c| parse_container(c, epoch))
                    .collect::<Parsed<Vec<_>>>()?,
                None => Vec::new(),
            };
            SchedulerEvent::Asks {
                attempt,
                asks,
                releases,
            }
        }
        "release" => SchedulerEvent::Asks {
            attempt: parse_attempt(first()?)?,
            asks: Vec::new(),
            releases: rest[1..]
                .iter()
                .map(|c| parse_container(c, epoch))
                .collect::<Parsed<Vec<_>>>()?,
        },
        "acquire" => SchedulerEvent::ContainersAcquired {
            containers: rest
                .iter()
                .map(|c| parse_container(c, epoch))
                .collect::<Parsed<Vec<_>>>()?,
        },
        "finish" => SchedulerEvent::ContainerFinished {
            container: parse_container(first()?, epoch)?,
            exit_status: parse_number(options.get("exit").unwrap_or("0"), "exit status")?,
        },
        "expire" => SchedulerEvent::ContainerExpired {
            container: parse_container(first()?, epoch)?,
        },
        "time" => SchedulerEvent::TimeAdvanced {
            now_ms: parse_number(first()?, "time")?,
        },
        "heartbeat" => SchedulerEvent::NodeHeartbeat {
            node: parse_node(first()?)?,
        },
        "groups" => {
            let (user, groups) = first()?
                .split_once('=')
                .ok_or_else(|| FixtureError("groups needs user=group1,group2".into()))?;
            SchedulerEvent::UserGroupsUpdated {
                user: user.to_string(),
                groups: groups
                    .split(',')
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect(),
            }
        }
        "show" => return Ok(Step::Show(rest.join(" "))),
        _ => return fail(format!("unknown event '{verb}'")),
    };
    Ok(Step::Event(event))
}

fn show(scheduler: &Scheduler, what: &str) -> Parsed<String> {
    let tokens: Vec<&str> = what.split_whitespace().collect();
    let list = |containers: Vec<String>| {
        if containers.is_empty() {
            "-".to_string()
        } else {
            containers.join(",")
        }
    };
    Ok(match tokens[..] {
        ["cluster"] => {
            let m = scheduler.cluster_metrics();
            format!(
                "cluster nodes={} total={} allocated={} available={} pending={} containers={} apps={}",
                m.num_nodes,
                render_resource(&m.total),
                render_resource(&m.allocated),
                render_resource(&m.available),
                render_resource(&m.pending),
                m.num_containers,
                m.num_applications
            )
        }
        ["node", node] => match scheduler.node_report(&parse_node(node)?) {
            None => format!("node {node} unknown"),
            Some(r) => format!(
                "node {} rack={} cap={} allocated={} available={} containers={}",
                render_node(&r.node),
                r.rack,
                render_resource(&r.capability),
                render_resource(&r.allocated),
                render_resource(&r.available),
                list(r.containers.iter().map(render_container).collect())
            ),
        },
        ["app", app] => {
            match scheduler.application_usage(application(parse_number(app, "application")?)) {
                None => format!("app {app} unknown"),
                Some(u) => format!(
                    "app {app} queue={} attempt={} allocated={} pending={} containers={}",
                    u.queue,
                    u.current_attempt
                        .as_ref()
                        .map(render_attempt)
                        .unwrap_or_else(|| "-".into()),
                    render_resource(&u.allocated),
                    render_resource(&u.pending),
                    list(
                        u.containers
                            .iter()
                            .map(|c| render_container(&c.container))
                            .collect()
                    )
                ),
            }
        }
        ["queue-detail", queue] => match scheduler.queue_info(queue) {
            None => format!("queue {queue} unknown"),
            Some(q) => format!(
                "queue {} state={} guaranteed={} maximum={} fair-share={} used={} pending={} am-used={} apps={} runnable={}{}",
                q.path,
                q.state.name(),
                render_resource(&q.guaranteed),
                q.maximum.as_ref().map(render_resource).unwrap_or_else(|| "-".into()),
                render_resource(&q.fair_share),
                render_resource(&q.used),
                render_resource(&q.pending),
                render_resource(&q.am_used),
                q.num_applications,
                q.num_runnable,
                if q.dynamic { " dynamic" } else { "" },
            ),
        },
        ["explain", app] => match scheduler.explain(application(parse_number(app, "application")?)) {
            None => format!("explain {app}: not waiting"),
            Some(reason) => format!("explain {app}: {reason}"),
        },
        ["queue", queue] => match scheduler.queue_info(queue) {
            None => format!("queue {queue} unknown"),
            Some(q) => format!(
                "queue {} capacity={} used={} apps={}",
                q.path,
                q.capacity,
                render_resource(&q.used),
                q.num_applications
            ),
        },
        _ => return fail(format!("cannot show '{what}'")),
    })
}

/// Replays a fixture text and returns the transcript (the event lines with their outputs).
pub fn run(fixture: &str) -> Parsed<String> {
    let mut transcript = String::new();
    let mut scheduler: Option<Scheduler> = None;
    let lines: Vec<&str> = fixture.lines().collect();
    let mut number = 0;
    while number < lines.len() {
        let line = lines[number];
        number += 1;
        if line.starts_with(OUTPUT_PREFIX) {
            continue;
        }
        transcript.push_str(line);
        transcript.push('\n');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let line_number = number;
        let at = |e: FixtureError| FixtureError(format!("line {line_number}: {line}: {}", e.0));
        let is_config = trimmed.starts_with("config ");
        let is_reconfigure = trimmed == "reconfigure" || trimmed.starts_with("reconfigure ");
        if is_config || is_reconfigure {
            let options: Vec<&str> = trimmed.split_whitespace().skip(1).collect();
            let policy = Options::of(&options).get("scheduler").map(str::to_string);
            let mut block = policy::Block { lines: Vec::new() };
            if policy.is_some() || is_reconfigure {
                loop {
                    let Some(next) = lines.get(number) else {
                        return Err(at(FixtureError("the block has no 'end' line".into())));
                    };
                    number += 1;
                    transcript.push_str(next);
                    transcript.push('\n');
                    if next.trim() == "end" {
                        break;
                    }
                    block
                        .lines
                        .push(next.strip_prefix("  ").unwrap_or(next).to_string());
                }
            }
            if is_config && scheduler.is_some() {
                return Err(at(FixtureError(
                    "config must come before every event".into(),
                )));
            }
            let base = match (&scheduler, is_config) {
                (Some(running), false) => running.config().clone(),
                _ => parse_config(trimmed).map_err(at)?,
            };
            let built = match &policy {
                Some(kind) => policy::configure(base, kind, &block),
                None => Ok(base),
            };
            let output = if is_config {
                let config = built.map_err(|e| at(FixtureError(e)))?;
                scheduler =
                    Some(Scheduler::new(config).map_err(|e| at(FixtureError(e.to_string())))?);
                Vec::new()
            } else {
                let running = scheduler.get_or_insert_with(|| {
                    Scheduler::new(SchedulerConfig::default()).expect("default config is valid")
                });
                match built {
                    Err(message) => vec![format!("rejected: {message}")],
                    Ok(config) => {
                        match running.handle(SchedulerEvent::ConfigurationReplaced {
                            config: Box::new(config),
                        }) {
                            Ok(actions) => actions.iter().map(render_action).collect(),
                            Err(error) => vec![format!("error: {error}")],
                        }
                    }
                }
            };
            for output in output {
                transcript.push_str(OUTPUT_PREFIX);
                transcript.push_str(&output);
                transcript.push('\n');
            }
            continue;
        }
        let scheduler = scheduler.get_or_insert_with(|| {
            Scheduler::new(SchedulerConfig::default()).expect("default config is valid")
        });
        let epoch = scheduler.config().rm_epoch;
        let outputs = match parse_step(trimmed, epoch).map_err(at)? {
            Step::Show(what) => vec![show(scheduler, &what).map_err(at)?],
            Step::Event(event) => match scheduler.handle(event) {
                Ok(actions) => actions.iter().map(render_action).collect(),
                Err(error) => vec![format!("error: {error}")],
            },
        };
        if let Err(violation) = scheduler.check_invariants() {
            return Err(at(FixtureError(violation.to_string())));
        }
        for output in outputs {
            transcript.push_str(OUTPUT_PREFIX);
            transcript.push_str(&output);
            transcript.push('\n');
        }
    }
    Ok(transcript)
}

/// Replays `tests/scenarios/<name>.txt` and compares (or, with UPDATE_SCENARIOS=1, rewrites) it.
pub fn check(name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(format!("{name}.txt"));
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let actual = run(&expected).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.0));
    if actual == expected {
        return;
    }
    if std::env::var_os("UPDATE_SCENARIOS").is_some() {
        std::fs::write(&path, &actual)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let mut diff = String::new();
    for (line, (want, got)) in expected.lines().zip(actual.lines()).enumerate() {
        if want != got {
            let _ = writeln!(
                diff,
                "first difference at line {}:\n  expected: {want}\n  actual:   {got}",
                line + 1
            );
            break;
        }
    }
    panic!(
        "{} differs from what the scheduler does (UPDATE_SCENARIOS=1 rewrites it)\n{diff}\n--- actual ---\n{actual}",
        path.display()
    );
}
