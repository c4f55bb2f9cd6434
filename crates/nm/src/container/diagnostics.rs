//! Container diagnostics worded as the real NM words them (`ContainerImpl.addDiagnostics`,
//! `DefaultContainerExecutor`, `ContainerLaunch.handleContainerExitWithFailure`,
//! `ContainersMonitorImpl`), so that users and tools grepping for them find them.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use spindle_types::{exit_status, ContainerId};

use super::process_tree::ProcessInfo;

/// Appends one diagnostics entry as YARN does: `[yyyy-MM-dd HH:mm:ss.SSS]message\n` (UTC here).
pub fn append_diagnostic(diagnostics: &mut String, message: &str) {
    let _ = writeln!(
        diagnostics,
        "[{}]{message}",
        format_timestamp(SystemTime::now())
    );
}

/// `yyyy-MM-dd HH:mm:ss.SSS` in UTC.
pub fn format_timestamp(time: SystemTime) -> String {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (days, millis_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let seconds = millis_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        millis_of_day % 1000
    )
}

/// What the NM records when it is asked to kill a container with `exit_status`.
pub fn kill_reason(exit_status: i32) -> String {
    match exit_status {
        exit_status::KILLED_BY_APPMASTER => {
            "Container killed by the ApplicationMaster.".to_string()
        }
        exit_status::KILLED_BY_RESOURCEMANAGER => "Container Killed by ResourceManager".to_string(),
        exit_status::KILLED_AFTER_APP_COMPLETION => {
            "Container killed on application-finish event".to_string()
        }
        exit_status::PREEMPTED => "Container preempted by the ResourceManager.".to_string(),
        exit_status::KILLED_BY_CONTAINER_SCHEDULER => {
            "Container killed by the container scheduler.".to_string()
        }
        other => match exit_status::name(other) {
            Some(name) => format!("Container killed on request with exit status {other} ({name})."),
            None => format!("Container killed on request with exit status {other}."),
        },
    }
}

/// `DefaultContainerExecutor`'s entry for a launch script that exited non-zero.
pub fn container_launch_exception(container_id: ContainerId, exit_code: i32) -> String {
    format!(
        "Exception from container-launch.\nContainer id: {container_id}\nExit code: {exit_code}\n"
    )
}

/// `handleContainerExitWithFailure`'s entry: the exit code and the tails of `prelaunch.err` and of
/// the newest `*stderr*` file of the container log dir.
pub fn exit_with_failure(exit_code: i32, log_dir: &Path, tail_bytes: u64) -> String {
    let mut message = format!(
        "Container exited with a non-zero exit code {exit_code}. Error file: prelaunch.err.\n"
    );
    let _ = writeln!(message, "Last {tail_bytes} bytes of prelaunch.err :");
    let _ = writeln!(
        message,
        "{}",
        read_tail(&log_dir.join("prelaunch.err"), tail_bytes)
    );
    if let Some(stderr_file) = newest_stderr_file(log_dir) {
        let name = stderr_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(message, "Last {tail_bytes} bytes of {name} :");
        let _ = writeln!(message, "{}", read_tail(&stderr_file, tail_bytes));
    }
    message
}

/// The last `tail_bytes` of a file as (lossy) UTF-8; empty when unreadable.
pub fn read_tail(path: &Path, tail_bytes: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    if file
        .seek(SeekFrom::Start(length.saturating_sub(tail_bytes)))
        .is_err()
    {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(tail_bytes).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn newest_stderr_file(log_dir: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(log_dir)
        .ok()?
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.contains("stderr") || name.contains("STDERR")
        })
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, path)| path)
}

/// Hadoop's `TraditionalBinaryPrefix.long2String(n, "", decimal_places)`: `512`, `1 G`, `1.1 G`.
pub fn binary_prefix_string(value: i64, decimal_places: usize) -> String {
    const SYMBOLS: [char; 6] = ['K', 'M', 'G', 'T', 'P', 'E'];
    let negative = value < 0;
    let magnitude = value.unsigned_abs();
    let sign = if negative { "-" } else { "" };
    if magnitude < 1024 {
        return format!("{sign}{magnitude}");
    }
    let mut index = (0..SYMBOLS.len())
        .rev()
        .find(|&i| magnitude >= 1u64 << (10 * (i + 1)))
        .unwrap_or(0);
    let shift = 10 * (index as u32 + 1);
    if magnitude & ((1u64 << shift) - 1) == 0 {
        return format!("{sign}{} {}", magnitude >> shift, SYMBOLS[index]);
    }
    let mut text = format!(
        "{:.*}",
        decimal_places,
        magnitude as f64 / (1u64 << shift) as f64
    );
    if text.starts_with("1024") && index + 1 < SYMBOLS.len() {
        index += 1;
        text = format!(
            "{:.*}",
            decimal_places,
            magnitude as f64 / (1u64 << (shift + 10)) as f64
        );
    }
    format!("{sign}{text} {}", SYMBOLS[index])
}

/// Usage of a container's process tree against its limits, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    pub physical_bytes: u64,
    pub physical_limit_bytes: u64,
    pub virtual_bytes: u64,
    pub virtual_limit_bytes: u64,
}

/// `ContainersMonitorImpl`'s message for a container over its physical-memory limit, with the
/// process-tree dump.
pub fn beyond_physical_memory(
    leader_pid: i32,
    container_id: ContainerId,
    usage: MemoryUsage,
    tree: &[&ProcessInfo],
    clock_ticks_per_second: u64,
) -> String {
    let size = |bytes: u64| format!("{}B", binary_prefix_string(bytes as i64, 1));
    let mut message = format!(
        "Container [pid={leader_pid},containerID={container_id}] is running {}B beyond the 'PHYSICAL' memory limit. \
         Current usage: {} of {} physical memory used; {} of {} virtual memory used. Killing container.\n",
        usage.physical_bytes.saturating_sub(usage.physical_limit_bytes),
        size(usage.physical_bytes),
        size(usage.physical_limit_bytes),
        size(usage.virtual_bytes),
        size(usage.virtual_limit_bytes),
    );
    let _ = writeln!(message, "Dump of the process-tree for {container_id} :");
    message.push_str(
        "\t|- PID PPID PGRPID SESSID CMD_NAME USER_MODE_TIME(MILLIS) SYSTEM_TIME(MILLIS) VMEM_USAGE(BYTES) RSSMEM_USAGE(PAGES) FULL_CMD_LINE\n",
    );
    let to_millis = |ticks: u64| ticks * 1000 / clock_ticks_per_second.max(1);
    for process in tree {
        let _ = writeln!(
            message,
            "\t|- {} {} {} {} ({}) {} {} {} {} {}",
            process.pid,
            process.parent_pid,
            process.process_group,
            process.session,
            process.name,
            to_millis(process.user_time_ticks),
            to_millis(process.system_time_ticks),
            process.virtual_memory_bytes,
            process.resident_pages,
            super::process_tree::command_line(process.pid),
        );
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_formatted_like_yarn() {
        assert_eq!(format_timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000");
        let t = UNIX_EPOCH + Duration::from_millis(1_593_000_448_394);
        assert_eq!(format_timestamp(t), "2020-06-24 12:07:28.394");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(format_timestamp(leap), "2000-02-29 00:00:00.000");
    }

    #[test]
    fn sizes_print_like_traditional_binary_prefix() {
        assert_eq!(binary_prefix_string(512, 1), "512");
        assert_eq!(binary_prefix_string(1024 * 1024 * 1024, 1), "1 G");
        assert_eq!(binary_prefix_string(1_181_116_006, 1), "1.1 G");
        assert_eq!(binary_prefix_string(374_341_615, 1), "357.0 M");
        assert_eq!(binary_prefix_string(374_341_632, 1), "357 M");
        assert_eq!(binary_prefix_string(64 * 1024 * 1024, 1), "64 M");
        assert_eq!(binary_prefix_string(1024 * 1024 - 1, 1), "1.0 M");
        assert_eq!(binary_prefix_string(-2048, 1), "-2 K");
    }

    #[test]
    fn memory_message_matches_yarn_wording() {
        let id: ContainerId = "container_e14_1594895045814_0002_01_000002"
            .parse()
            .unwrap();
        let usage = MemoryUsage {
            physical_bytes: 1_168_100_000,
            physical_limit_bytes: 1 << 30,
            virtual_bytes: 5 << 30,
            virtual_limit_bytes: (1u64 << 30) * 21 / 10,
        };
        let message = beyond_physical_memory(925, id, usage, &[], 100);
        assert!(message.starts_with(
            "Container [pid=925,containerID=container_e14_1594895045814_0002_01_000002] is running 94358176B beyond the 'PHYSICAL' memory limit. Current usage: 1.1 GB of 1 GB physical memory used; 5 GB of 2.1 GB virtual memory used. Killing container.\nDump of the process-tree for container_e14_1594895045814_0002_01_000002 :\n"
        ), "{message}");
    }

    #[test]
    fn failure_quotes_the_error_file_tails() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join("prelaunch.err"), b"").unwrap();
        std::fs::write(temp.path().join("stderr"), "x".repeat(5000) + "boom\n").unwrap();
        let message = exit_with_failure(3, temp.path(), 10);
        assert_eq!(
            message,
            "Container exited with a non-zero exit code 3. Error file: prelaunch.err.\nLast 10 bytes of prelaunch.err :\n\nLast 10 bytes of stderr :\nxxxxxboom\n\n"
        );
        assert_eq!(read_tail(&temp.path().join("missing"), 10), "");
        assert_eq!(
            kill_reason(exit_status::KILLED_BY_APPMASTER),
            "Container killed by the ApplicationMaster."
        );
        assert!(kill_reason(exit_status::ABORTED).contains("ABORTED"));
    }
}
