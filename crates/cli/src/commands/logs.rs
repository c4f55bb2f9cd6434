//! `spindle logs -applicationId ID [-containerId C] [-log_files F,..]`: container logs read from
//! the NodeManagers' log directories (`yarn.nodemanager.log-dirs`), until log aggregation exists.
//! Output follows `yarn logs`: a header per container and file, then the file's content.

use std::path::{Path, PathBuf};

use anyhow::Context;
use spindle_conf::{keys, Configuration};
use spindle_types::{ApplicationId, ContainerId};

const USAGE: &str = "usage: spindle logs -applicationId <application ID> [-containerId <container ID>] [-log_files <file,...>]";

#[derive(Debug)]
struct LogsArgs {
    application: ApplicationId,
    container: Option<ContainerId>,
    files: Vec<String>,
}

fn parse(args: &[String]) -> Result<LogsArgs, String> {
    let mut application = None;
    let mut container = None;
    let mut files = Vec::new();
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
                    .collect()
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
    })
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

fn print_container(id: ContainerId, dir: &Path, files: &[String]) -> anyhow::Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    for name in names
        .iter()
        .filter(|n| files.is_empty() || files.contains(n))
    {
        let content = std::fs::read(dir.join(name))
            .with_context(|| format!("reading {}", dir.join(name).display()))?;
        println!("Container: {id}");
        println!("LogAggregationType: LOCAL");
        println!("{}", "=".repeat(72));
        println!("LogType:{name}");
        println!("LogLength:{}", content.len());
        println!("LogContents:");
        print!("{}", String::from_utf8_lossy(&content));
        println!("\nEnd of LogType:{name}");
        println!("{}\n", "*".repeat(72));
    }
    Ok(())
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
    let log_dirs: Vec<PathBuf> = conf
        .get_strings(keys::NM_LOG_DIRS)
        .into_iter()
        .map(|d| PathBuf::from(d.trim_start_matches("file://")))
        .collect();
    let dirs: Vec<_> = container_dirs(&log_dirs, args.application)
        .into_iter()
        .filter(|(id, _)| args.container.is_none_or(|c| c == *id))
        .collect();
    if dirs.is_empty() {
        eprintln!(
            "Can not find any log file matching the pattern: [ALL] for the application: {} in {}",
            args.application,
            if log_dirs.is_empty() {
                "(yarn.nodemanager.log-dirs is not set)".to_string()
            } else {
                format!("{log_dirs:?}")
            }
        );
        return Ok(255);
    }
    for (id, dir) in dirs {
        print_container(id, &dir, &args.files)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_yarn_style_arguments() {
        let a = parse(&args(
            "-applicationId application_1_0002 -log_files stdout,stderr",
        ))
        .unwrap();
        assert_eq!(a.application, ApplicationId::new(1, 2));
        assert_eq!(a.files, ["stdout", "stderr"]);
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
        assert!(parse(&args("-bogus x"))
            .unwrap_err()
            .contains("unknown option -bogus"));
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
}
