//! A container's process tree read from `/proc` (YARN's `ProcfsBasedProcessTree`): every live
//! process in the container's session or descended from its leader, with RSS and virtual size.

use std::collections::{HashMap, HashSet};
use std::path::Path;

/// One process as `/proc/<pid>/stat` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: i32,
    /// The command name (`comm`), without parentheses.
    pub name: String,
    /// `R`, `S`, `D`, `Z`, ...
    pub state: char,
    pub parent_pid: i32,
    pub process_group: i32,
    pub session: i32,
    pub user_time_ticks: u64,
    pub system_time_ticks: u64,
    pub virtual_memory_bytes: u64,
    pub resident_pages: u64,
}

/// Parses the one line of `/proc/<pid>/stat`; `None` when it does not have the expected shape.
pub fn parse_stat(text: &str) -> Option<ProcessInfo> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let name = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] is stat field 3 (state); field N is fields[N - 3].
    let field = |n: usize| fields.get(n - 3).copied();
    let mut state_chars = field(3)?.chars();
    let state = state_chars.next()?;
    if state_chars.next().is_some() {
        return None;
    }
    Some(ProcessInfo {
        pid,
        name,
        state,
        parent_pid: field(4)?.parse().ok()?,
        process_group: field(5)?.parse().ok()?,
        session: field(6)?.parse().ok()?,
        user_time_ticks: field(14)?.parse().ok()?,
        system_time_ticks: field(15)?.parse().ok()?,
        virtual_memory_bytes: field(23)?.parse().ok()?,
        resident_pages: field(24)?.parse::<i64>().ok()?.max(0) as u64,
    })
}

/// All processes of the machine at one moment.
#[derive(Debug, Clone, Default)]
pub struct ProcessSnapshot {
    processes: HashMap<i32, ProcessInfo>,
}

impl ProcessSnapshot {
    /// Reads every `<proc_root>/<pid>/stat`; processes that vanish meanwhile are skipped.
    pub fn read(proc_root: &Path) -> Self {
        let mut processes = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(proc_root) {
            for entry in entries.flatten() {
                let is_pid = entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
                if !is_pid {
                    continue;
                }
                if let Some(info) = std::fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .as_deref()
                    .and_then(parse_stat)
                {
                    processes.insert(info.pid, info);
                }
            }
        }
        Self { processes }
    }

    #[cfg(test)]
    pub fn from_processes(processes: impl IntoIterator<Item = ProcessInfo>) -> Self {
        Self {
            processes: processes.into_iter().map(|p| (p.pid, p)).collect(),
        }
    }

    /// Every process of the snapshot.
    pub fn processes(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.processes.values()
    }

    /// The live (non-zombie) processes of the container led by `leader`: those in its session
    /// plus those descended from it (which may have started sessions of their own), by pid.
    pub fn container_tree(&self, leader: i32) -> Vec<&ProcessInfo> {
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for process in self.processes.values() {
            children
                .entry(process.parent_pid)
                .or_default()
                .push(process.pid);
        }
        let mut pending: Vec<i32> = self
            .processes
            .values()
            .filter(|p| p.session == leader)
            .map(|p| p.pid)
            .collect();
        pending.push(leader);
        let mut members = HashSet::new();
        while let Some(pid) = pending.pop() {
            if members.insert(pid) {
                pending.extend(children.get(&pid).into_iter().flatten().copied());
            }
        }
        let mut tree: Vec<&ProcessInfo> = members
            .iter()
            .filter_map(|pid| self.processes.get(pid))
            .filter(|p| p.state != 'Z')
            .collect();
        tree.sort_by_key(|p| p.pid);
        tree
    }
}

/// The system page size in bytes.
pub fn page_size() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(size)) if size > 0 => size as u64,
        _ => 4096,
    }
}

/// Clock ticks per second (`_SC_CLK_TCK`), the unit of `utime` and `stime`.
pub fn clock_ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as u64,
        _ => 100,
    }
}

/// `/proc/<pid>/cmdline` with NULs as spaces (empty when unreadable).
pub fn command_line(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .replace('\0', " ")
                .trim_end()
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: i32, parent_pid: i32, session: i32, state: char, rss: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            name: format!("p{pid}"),
            state,
            parent_pid,
            process_group: session,
            session,
            user_time_ticks: 0,
            system_time_ticks: 0,
            virtual_memory_bytes: 0,
            resident_pages: rss,
        }
    }

    #[test]
    fn parses_real_stat_lines_including_odd_names() {
        let line = "4242 (my (weird) cmd) S 4200 4242 4242 0 -1 4194560 100 0 0 0 12 3 0 0 20 0 1 0 555 10485760 256 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let info = parse_stat(line).unwrap();
        assert_eq!(info.pid, 4242);
        assert_eq!(info.name, "my (weird) cmd");
        assert_eq!(
            (
                info.state,
                info.parent_pid,
                info.process_group,
                info.session
            ),
            ('S', 4200, 4242, 4242)
        );
        assert_eq!((info.user_time_ticks, info.system_time_ticks), (12, 3));
        assert_eq!(
            (info.virtual_memory_bytes, info.resident_pages),
            (10485760, 256)
        );
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert_eq!(parse_stat(&own).unwrap().pid, std::process::id() as i32);
    }

    #[test]
    fn malformed_stat_lines_are_rejected() {
        for bad in [
            "",
            "12",
            "12 (x",
            "x (y) S 1 1 1",
            "12 (x) S 1 1 1 0 -1 0 0 0 0 0 12 3",
            ") 1 (",
            "12 (x) SS 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 6 7",
        ] {
            assert_eq!(parse_stat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tree_holds_session_members_and_descendants_but_not_zombies() {
        let snapshot = ProcessSnapshot::from_processes([
            process(100, 1, 100, 'S', 10),   // leader
            process(101, 100, 100, 'S', 20), // child
            process(102, 101, 777, 'S', 30), // grandchild that started its own session
            process(103, 1, 100, 'S', 40),   // orphan still in the session
            process(104, 100, 100, 'Z', 0),  // zombie
            process(200, 1, 200, 'S', 50),   // unrelated
        ]);
        let pids: Vec<i32> = snapshot.container_tree(100).iter().map(|p| p.pid).collect();
        assert_eq!(pids, [100, 101, 102, 103]);
        assert!(snapshot.container_tree(999).is_empty());
    }
}
