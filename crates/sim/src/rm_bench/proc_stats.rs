//! CPU time and resident memory of a process or of named threads, read from Linux's `/proc`:
//! how the whole-RM benchmark attributes CPU and memory to the RM and to the load generator.

use std::path::Path;

/// Linux's `USER_HZ`: the unit of `utime`/`stime` in `/proc/<pid>/stat`. It is part of the
/// kernel's user-space ABI and 100 on every architecture Linux supports today.
const USER_HZ: f64 = 100.0;

/// `/proc` text that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcParseError {
    #[error("/proc/<pid>/stat: no ')' closing the command name")]
    StatNoCommandEnd,
    #[error("/proc/<pid>/stat: field {field} is missing or not a number")]
    StatField { field: usize },
    #[error("/proc/<pid>/status: no VmRSS line")]
    StatusNoRss,
    #[error("/proc/<pid>/status: VmRSS {0:?} is not `<number> kB`")]
    StatusBadRss(String),
    #[error("/proc/<pid>/task/<tid>/schedstat: {0:?} does not start with a number")]
    Schedstat(String),
}

/// User plus system CPU seconds from the text of `/proc/<pid>/stat` (fields 14 and 15, counted
/// after the parenthesised command name, which may itself hold spaces and parentheses).
pub fn cpu_seconds_from_stat(text: &str) -> Result<f64, ProcParseError> {
    let after_command = text
        .rfind(')')
        .map(|end| &text[end + 1..])
        .ok_or(ProcParseError::StatNoCommandEnd)?;
    // Field 3 (state) is the first after the command name.
    let fields: Vec<&str> = after_command.split_whitespace().collect();
    let field = |number: usize| -> Result<u64, ProcParseError> {
        fields
            .get(number - 3)
            .and_then(|value| value.parse().ok())
            .ok_or(ProcParseError::StatField { field: number })
    };
    Ok((field(14)? + field(15)?) as f64 / USER_HZ)
}

/// Resident set size in bytes from the text of `/proc/<pid>/status` (`VmRSS:  1234 kB`).
pub fn rss_bytes_from_status(text: &str) -> Result<u64, ProcParseError> {
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .ok_or(ProcParseError::StatusNoRss)?;
    let mut parts = line.split_whitespace();
    match (parts.next().map(str::parse::<u64>), parts.next()) {
        (Some(Ok(kilobytes)), Some("kB")) => Ok(kilobytes * 1024),
        _ => Err(ProcParseError::StatusBadRss(line.trim().to_string())),
    }
}

/// Nanoseconds on CPU from the text of `/proc/.../schedstat` (its first field).
pub fn cpu_nanoseconds_from_schedstat(text: &str) -> Result<u64, ProcParseError> {
    text.split_whitespace()
        .next()
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| ProcParseError::Schedstat(text.trim().to_string()))
}

/// CPU seconds used so far by process `pid`, all its threads (including ended ones).
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_seconds_from_stat(&text).ok()
}

/// Resident memory of process `pid` in bytes.
pub fn process_rss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    rss_bytes_from_status(&text).ok()
}

/// CPU seconds used so far by this process's live threads whose name starts with `prefix`
/// (tokio names its workers after the runtime's `thread_name`).
pub fn own_threads_cpu_seconds(prefix: &str) -> Option<f64> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut nanoseconds = 0u64;
    for task in tasks.flatten() {
        let path = task.path();
        if !thread_name(&path).is_some_and(|name| name.starts_with(prefix)) {
            continue;
        }
        if let Some(used) = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|text| cpu_nanoseconds_from_schedstat(&text).ok())
        {
            nanoseconds += used;
        }
    }
    Some(nanoseconds as f64 / 1e9)
}

fn thread_name(task_dir: &Path) -> Option<String> {
    std::fs::read_to_string(task_dir.join("comm"))
        .ok()
        .map(|name| name.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (spindle (rm) x) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
        350 125 0 0 20 0 5 0 12345 1000000 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn stat_cpu_counts_user_and_system_ticks_after_a_command_name_with_parentheses() {
        assert_eq!(cpu_seconds_from_stat(STAT).unwrap(), 4.75);
    }

    #[test]
    fn malformed_stat_is_refused_with_the_reason() {
        assert_eq!(
            cpu_seconds_from_stat("4242 spindle S 1"),
            Err(ProcParseError::StatNoCommandEnd)
        );
        assert_eq!(
            cpu_seconds_from_stat("4242 (spindle) S 1 2 3"),
            Err(ProcParseError::StatField { field: 14 })
        );
        let not_a_number = STAT.replace(" 350 ", " 35x ");
        assert_eq!(
            cpu_seconds_from_stat(&not_a_number),
            Err(ProcParseError::StatField { field: 14 })
        );
    }

    #[test]
    fn status_rss_is_read_in_bytes_and_bad_lines_are_refused() {
        let status = "Name:\tspindle\nVmPeak:\t  900 kB\nVmRSS:\t   2048 kB\nThreads:\t5\n";
        assert_eq!(rss_bytes_from_status(status).unwrap(), 2048 * 1024);
        assert_eq!(
            rss_bytes_from_status("Name:\tspindle\n"),
            Err(ProcParseError::StatusNoRss)
        );
        assert_eq!(
            rss_bytes_from_status("VmRSS:\t 2048 MB\n"),
            Err(ProcParseError::StatusBadRss("2048 MB".into()))
        );
        assert_eq!(
            rss_bytes_from_status("VmRSS:\n"),
            Err(ProcParseError::StatusBadRss(String::new()))
        );
    }

    #[test]
    fn schedstat_first_field_is_nanoseconds() {
        assert_eq!(
            cpu_nanoseconds_from_schedstat("123456789 5000 42\n").unwrap(),
            123_456_789
        );
        assert!(cpu_nanoseconds_from_schedstat("").is_err());
        assert!(cpu_nanoseconds_from_schedstat("x 1 2").is_err());
    }

    #[test]
    fn this_process_can_be_measured() {
        let pid = std::process::id();
        assert!(process_rss_bytes(pid).unwrap() > 0);
        assert!(process_cpu_seconds(pid).is_some());
        assert!(own_threads_cpu_seconds("").unwrap() > 0.0);
    }
}
