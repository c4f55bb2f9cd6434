//! `spindle logs -applicationId ID [-containerId C] [-log_files F,..] [-size N]`: an
//! application's container logs, printed as `yarn logs` prints them. Aggregated logs come first:
//! the node files under `yarn.nodemanager.remote-app-log-dir` (the owner taken from the RM's
//! report, else every owner's directory searched, as `yarn logs` does when the RM does not know
//! the application), readable once the NMs are gone. Containers not aggregated (the application
//! still runs, or aggregation is off) are read from the NMs' local log directories the client
//! configuration names (`yarn.nodemanager.log-dirs`, as the minicluster writes it).

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use spindle_client::ApplicationReport;
use spindle_conf::{keys, Configuration};
use spindle_nm::log_aggregation::format::AggregatedLogFile;
use spindle_nm::log_aggregation::{self, layout};
use spindle_nm::web::java_date;
use spindle_types::states::LogAggregationStatus;
use spindle_types::{ApplicationId, ContainerId};

const USAGE: &str = "usage: spindle logs -applicationId <application ID> [-containerId <container ID>] [-log_files <file,...>] [-size <bytes: the first n, or the last -n>]";

/// How long the RM may take to name the application's owner before every owner's directory
/// is searched instead (an RM that is down would otherwise be retried for minutes).
const RM_ANSWER_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct LogsArgs {
    application: ApplicationId,
    container: Option<ContainerId>,
    /// Empty: every file.
    files: Vec<String>,
    /// `-size`: the first n bytes of each file, or the last -n.
    size: Option<i64>,
}

fn parse(args: &[String]) -> Result<LogsArgs, String> {
    let mut application = None;
    let mut container = None;
    let mut files = Vec::new();
    let mut size = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.trim_start_matches('-') {
            "applicationId" => {
                application = Some(
                    value()?
                        .parse::<ApplicationId>()
                        .map_err(|e| e.to_string())?,
                )
            }
            "containerId" => {
                container = Some(value()?.parse::<ContainerId>().map_err(|e| e.to_string())?)
            }
            "log_files" | "logFiles" => {
                files = value()?
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if files.iter().any(|f| f == "ALL") {
                    files.clear();
                }
            }
            "size" => {
                let text = value()?;
                size = Some(
                    text.parse::<i64>()
                        .map_err(|_| format!("-size {text}: expected a whole number of bytes"))?,
                )
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let application = application.ok_or("-applicationId is required")?;
    if let Some(c) = container {
        if c.application_id() != application {
            return Err(format!("container {c} does not belong to {application}"));
        }
    }
    Ok(LogsArgs {
        application,
        container,
        files,
        size,
    })
}

impl LogsArgs {
    fn wants_container(&self, id: ContainerId) -> bool {
        self.container.is_none_or(|c| c == id)
    }

    fn wants_file(&self, name: &str) -> bool {
        self.files.is_empty() || self.files.iter().any(|f| f == name)
    }
}

/// The bytes of a `length`-byte file that `-size` shows: all without it, the first n bytes
/// for n ≥ 0, the last -n for n < 0.
fn byte_range(size: Option<i64>, length: u64) -> Range<u64> {
    match size {
        None => 0..length,
        Some(n) if n >= 0 => 0..length.min(n as u64),
        Some(n) => length.saturating_sub(n.unsigned_abs())..length,
    }
}

/// What `yarn logs` prints before a file's bytes.
fn header(
    container: ContainerId,
    node: Option<&str>,
    aggregation_type: &str,
    name: &str,
    modified_ms: i64,
    length: u64,
) -> String {
    let title = match node {
        Some(node) => format!("Container: {container} on {node}"),
        None => format!("Container: {container}"),
    };
    format!(
        "{title}\nLogAggregationType: {aggregation_type}\n{}\nLogType:{name}\nLogLastModifiedTime:{}\nLogLength:{length}\nLogContents:\n",
        "=".repeat(title.len()),
        java_date(modified_ms),
    )
}

/// What `yarn logs` prints after a file's bytes.
fn footer(name: &str) -> String {
    let end = format!("End of LogType:{name}");
    format!("\n{end}\n{}\n\n", "*".repeat(end.len() + 50))
}

/// The application's aggregated directories: the owner's when the RM named one and it exists,
/// else every owner's (`<root>/*/bucket-*/<NNNN>/<appId>`).
fn aggregated_dirs(
    root: &Path,
    suffix: &str,
    application: ApplicationId,
    owner: Option<&str>,
) -> Vec<PathBuf> {
    if let Some(owner) = owner.filter(|o| layout::is_valid_user(o)) {
        let dir = layout::application_dir(root, owner, suffix, application);
        if dir.is_dir() {
            return vec![dir];
        }
    }
    layout::find_application_dirs(root, application)
        .into_iter()
        .map(|(_, dir)| dir)
        .collect()
}

/// What was printed, and what could not be read.
#[derive(Default)]
struct Printed {
    containers: BTreeSet<ContainerId>,
    errors: usize,
}

/// Prints the wanted logs of every node file in `dirs`. A file that cannot be read is reported
/// on stderr, naming it, and the others are still printed.
fn print_aggregated(
    out: &mut impl Write,
    dirs: &[PathBuf],
    args: &LogsArgs,
    printed: &mut Printed,
) -> anyhow::Result<()> {
    for dir in dirs {
        let node_files = match layout::node_files(dir) {
            Ok(files) => files,
            Err(error) => {
                eprintln!("cannot list {}: {error}", dir.display());
                printed.errors += 1;
                continue;
            }
        };
        for path in node_files {
            let file = match AggregatedLogFile::open(&path) {
                Ok(file) => file,
                Err(error) => {
                    eprintln!("{error}");
                    printed.errors += 1;
                    continue;
                }
            };
            let node = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for container in file.containers() {
                if !args.wants_container(container.container_id) {
                    continue;
                }
                printed.containers.insert(container.container_id);
                for entry in container.files.iter().filter(|e| args.wants_file(&e.name)) {
                    out.write_all(
                        header(
                            container.container_id,
                            Some(&node),
                            "AGGREGATED",
                            &entry.name,
                            file.modified_ms(),
                            entry.length,
                        )
                        .as_bytes(),
                    )?;
                    file.copy_to(entry, byte_range(args.size, entry.length), out)?;
                    out.write_all(footer(&entry.name).as_bytes())?;
                }
            }
        }
    }
    Ok(())
}

/// Every `<log-dir>/<app>/<container>` directory of the application, in container order.
fn container_dirs(log_dirs: &[PathBuf], application: ApplicationId) -> Vec<(ContainerId, PathBuf)> {
    let mut found = Vec::new();
    for dir in log_dirs {
        let Ok(entries) = std::fs::read_dir(dir.join(application.to_string())) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<ContainerId>().ok())
            {
                found.push((id, entry.path()));
            }
        }
    }
    found.sort();
    found
}

/// Prints one container's wanted files from its local log directory.
fn print_local(
    out: &mut impl Write,
    id: ContainerId,
    dir: &Path,
    args: &LogsArgs,
) -> anyhow::Result<()> {
    let mut files: Vec<(String, std::fs::Metadata)> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let metadata = e.metadata().ok().filter(|m| m.is_file())?;
            Some((e.file_name().to_str()?.to_string(), metadata))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, metadata) in files.iter().filter(|(n, _)| args.wants_file(n)) {
        let path = dir.join(name);
        let content =
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let length = content.len() as u64;
        out.write_all(header(id, None, "LOCAL", name, modified_ms, length).as_bytes())?;
        let range = byte_range(args.size, length);
        out.write_all(&content[range.start as usize..range.end as usize])?;
        out.write_all(footer(name).as_bytes())?;
    }
    Ok(())
}

/// The application's report; None when the RM does not know it or does not answer within
/// [`RM_ANSWER_WAIT`].
async fn report_from_rm(
    conf_dir: Option<&Path>,
    application: ApplicationId,
) -> Option<ApplicationReport> {
    let ask = async {
        let client = super::application::connect(conf_dir).await.ok()?;
        client.get_application_report(application).await.ok()
    };
    tokio::time::timeout(RM_ANSWER_WAIT, ask)
        .await
        .ok()
        .flatten()
}

pub async fn run(conf_dir: Option<&Path>, args: &[String]) -> anyhow::Result<i32> {
    let args = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return Ok(255);
        }
    };
    let conf = Configuration::load_default_files(conf_dir)?;
    let mut printed = Printed::default();
    let mut report = None;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());

    // Aggregated logs, wherever the remote directory is readable from here.
    match (
        log_aggregation::remote_root(&conf),
        log_aggregation::suffix(&conf),
    ) {
        (Ok(root), Ok(suffix)) if root.is_dir() => {
            report = report_from_rm(conf_dir, args.application).await;
            let owner = report.as_ref().map(|r| r.user.as_str());
            let dirs = aggregated_dirs(&root, &suffix, args.application, owner);
            print_aggregated(&mut out, &dirs, &args, &mut printed)?;
        }
        (Err(error), _) | (_, Err(error)) => eprintln!("aggregated logs not read: {error}"),
        _ => {}
    }

    // Local logs of containers not aggregated.
    let log_dirs: Vec<PathBuf> = conf
        .get_strings(keys::NM_LOG_DIRS)
        .into_iter()
        .filter(|d| !d.contains("${"))
        .map(|d| PathBuf::from(d.trim_start_matches("file://")))
        .collect();
    for (id, dir) in container_dirs(&log_dirs, args.application) {
        if args.wants_container(id) && !printed.containers.contains(&id) {
            print_local(&mut out, id, &dir, &args)?;
            printed.containers.insert(id);
        }
    }
    out.flush()?;
    if printed.containers.is_empty() {
        let what = match args.container {
            Some(container) => format!("the container: {container}"),
            None => format!("the application: {}", args.application),
        };
        eprintln!(
            "Can not find any log file matching the pattern: [{}] for {what}",
            if args.files.is_empty() {
                "ALL".to_string()
            } else {
                args.files.join(", ")
            }
        );
        if let Some(status) = report
            .map(|r| r.log_aggregation_status)
            .filter(|s| *s != LogAggregationStatus::Succeeded)
        {
            eprintln!(
                "Log aggregation has not completed or is not enabled (status {}).",
                status.name()
            );
        }
        return Ok(255);
    }
    Ok(if printed.errors > 0 { 255 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_nm::log_aggregation::format::{AggregatedLogWriter, LogFileSource};

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_yarn_style_arguments() {
        let a = parse(&args(
            "-applicationId application_1_0002 -log_files stdout,stderr -size -100",
        ))
        .unwrap();
        assert_eq!(a.application, ApplicationId::new(1, 2));
        assert_eq!(a.files, ["stdout", "stderr"]);
        assert_eq!(a.size, Some(-100));
        let all = parse(&args("-applicationId application_1_0002 -log_files ALL")).unwrap();
        assert!(all.files.is_empty());
        assert!(parse(&args("-containerId container_1_0002_01_000001"))
            .unwrap_err()
            .contains("-applicationId is required"));
        assert!(parse(&args("-applicationId app_1"))
            .unwrap_err()
            .contains("invalid application id"));
        assert!(parse(&args(
            "-applicationId application_1_0002 -containerId container_1_0003_01_000001"
        ))
        .unwrap_err()
        .contains("does not belong"));
        assert!(parse(&args("-applicationId"))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&args("-applicationId application_1_0002 -size ten"))
            .unwrap_err()
            .contains("whole number"));
        assert!(parse(&args("-bogus x"))
            .unwrap_err()
            .contains("unknown option -bogus"));
    }

    #[test]
    fn size_takes_the_head_or_the_tail_as_yarn_logs() {
        assert_eq!(byte_range(None, 10), 0..10);
        assert_eq!(byte_range(Some(4), 10), 0..4);
        assert_eq!(byte_range(Some(40), 10), 0..10);
        assert_eq!(byte_range(Some(-4), 10), 6..10);
        assert_eq!(byte_range(Some(-40), 10), 0..10);
        assert_eq!(byte_range(Some(0), 10), 0..0);
    }

    #[test]
    fn headers_and_footers_read_as_yarn_logs() {
        let container: ContainerId = "container_1_0002_01_000003".parse().unwrap();
        let text = header(container, Some("nm1_45454"), "AGGREGATED", "stdout", 0, 12);
        assert_eq!(
            text,
            "Container: container_1_0002_01_000003 on nm1_45454\n\
             LogAggregationType: AGGREGATED\n\
             ==================================================\n\
             LogType:stdout\n\
             LogLastModifiedTime:Thu Jan 01 00:00:00 +0000 1970\n\
             LogLength:12\n\
             LogContents:\n"
        );
        let end = footer("stdout");
        assert!(end.starts_with("\nEnd of LogType:stdout\n"));
        assert!(end.ends_with(&format!("{}\n\n", "*".repeat(71))));
    }

    #[test]
    fn finds_containers_across_log_dirs_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let app = ApplicationId::new(5, 1);
        for (d, c) in [
            ("a", "container_5_0001_01_000002"),
            ("b", "container_5_0001_01_000001"),
            ("b", "not-a-container"),
        ] {
            std::fs::create_dir_all(dir.path().join(d).join(app.to_string()).join(c)).unwrap();
        }
        let found = container_dirs(
            &[
                dir.path().join("a"),
                dir.path().join("b"),
                dir.path().join("missing"),
            ],
            app,
        );
        let ids: Vec<String> = found.iter().map(|(c, _)| c.to_string()).collect();
        assert_eq!(
            ids,
            ["container_5_0001_01_000001", "container_5_0001_01_000002"]
        );
    }

    #[test]
    fn aggregated_files_print_filtered_and_a_corrupt_one_is_named() {
        let root = tempfile::tempdir().unwrap();
        let app = ApplicationId::new(5, 1);
        let dir = layout::application_dir(root.path(), "alice", "logs", app);
        std::fs::create_dir_all(&dir).unwrap();
        let first: ContainerId = "container_5_0001_01_000001".parse().unwrap();
        let second: ContainerId = "container_5_0001_01_000002".parse().unwrap();
        let mut writer = AggregatedLogWriter::new(Vec::new(), "alice").unwrap();
        for (id, text) in [(first, "first container\n"), (second, "second container\n")] {
            writer
                .add_container(
                    id,
                    vec![LogFileSource {
                        name: "stdout".to_string(),
                        length: text.len() as u64,
                        content: text.as_bytes(),
                    }],
                )
                .unwrap();
        }
        std::fs::write(dir.join("nm1_1"), writer.finish().unwrap()).unwrap();
        std::fs::write(dir.join("nm2_2"), b"SPNDLAGG cut short").unwrap();
        std::fs::write(dir.join("nm3_3.tmp"), b"in progress").unwrap();

        let dirs = aggregated_dirs(root.path(), "logs", app, None);
        assert_eq!(dirs, std::slice::from_ref(&dir));
        assert_eq!(
            aggregated_dirs(root.path(), "logs", app, Some("alice")),
            dirs
        );
        let run = |command: &str| {
            let args = parse(&args(&format!("-applicationId {app} {command}"))).unwrap();
            let mut out = Vec::new();
            let mut printed = Printed::default();
            print_aggregated(&mut out, &dirs, &args, &mut printed).unwrap();
            (String::from_utf8(out).unwrap(), printed)
        };
        let (all, printed) = run("");
        assert_eq!(printed.errors, 1, "the cut-short file");
        assert_eq!(printed.containers.len(), 2);
        assert!(all.contains(
            "Container: container_5_0001_01_000001 on nm1_1\nLogAggregationType: AGGREGATED\n"
        ));
        assert!(
            all.contains("LogLength:16\nLogContents:\nfirst container\n\nEnd of LogType:stdout\n")
        );
        let (one, _) = run(&format!("-containerId {second} -size -10"));
        assert!(!one.contains("first container"), "{one}");
        assert!(
            one.contains("LogLength:17\nLogContents:\ncontainer\n\nEnd of"),
            "{one}"
        );
        let (none, printed) = run("-log_files syslog");
        assert!(none.is_empty() && printed.containers.len() == 2);
    }
}
