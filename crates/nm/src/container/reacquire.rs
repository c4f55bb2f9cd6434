//! Taking back a container process that an earlier run of this NM started (Hadoop's
//! `RecoveredContainerLaunch` and `ContainerExecutor.reacquireContainer`): find its pid file,
//! watch the process with `kill(pid, 0)` every second, and once it is gone read the exit code its
//! executor script wrote, waiting up to 2 s for it.
//!
//! The process is not this NM's child, so it cannot be waited for and its pid is not reserved:
//! a pid counts as the container's only while it names a live (not zombie) process that still
//! leads its own session, as the executor script does.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use spindle_types::ContainerId;

use super::process_tree::{parse_stat, ProcessSnapshot};
use super::spec::{exit_code_file_of, pid_file_in};
use crate::localizer::layout;

/// How often a re-acquired process is checked.
pub const LIVENESS_INTERVAL: Duration = Duration::from_secs(1);
/// How long a missing pid or exit-code file is waited for (Hadoop: 2 s for the exit code).
pub const FILE_WAIT: Duration = Duration::from_secs(2);
/// How often a missing file is looked for meanwhile.
pub const FILE_POLL: Duration = Duration::from_millis(100);

/// The pid file of `container_id` on any of `local_dirs` (where the NM wrote it may have been
/// another slot if the local dirs changed).
pub fn locate_pid_file(local_dirs: &[PathBuf], container_id: ContainerId) -> Option<PathBuf> {
    local_dirs
        .iter()
        .map(|dir| {
            pid_file_in(
                &layout::container_private_dir(dir, container_id),
                container_id,
            )
        })
        .find(|path| path.is_file())
}

/// The pid a pid file holds; `Ok(None)` when there is no file.
pub fn read_pid_file(path: &Path) -> io::Result<Option<Pid>> {
    let Some(text) = read_small_file(path)? else {
        return Ok(None);
    };
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 1 => Ok(Some(Pid::from_raw(pid))),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} does not hold a pid: {:?}", path.display(), text.trim()),
        )),
    }
}

/// The exit code an exit-code file holds; `Ok(None)` when there is no file (yet).
pub fn read_exit_code_file(path: &Path) -> io::Result<Option<i32>> {
    let Some(text) = read_small_file(path)? else {
        return Ok(None);
    };
    text.trim().parse::<i32>().map(Some).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} does not hold an exit code: {:?}",
                path.display(),
                text.trim()
            ),
        )
    })
}

/// The exit-code file beside `pid_file`.
pub fn exit_code_file(pid_file: &Path) -> PathBuf {
    exit_code_file_of(pid_file)
}

/// Reads a file of at most a few bytes; `Ok(None)` when it does not exist.
fn read_small_file(path: &Path) -> io::Result<Option<String>> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut text = String::new();
    file.take(64).read_to_string(&mut text)?;
    Ok(Some(text))
}

/// Whether `pid` is still the container's process: it exists, is not a zombie (whoever inherited
/// it may not have reaped it yet), and still leads its own session.
pub fn is_alive(pid: Pid) -> bool {
    match kill(pid, None) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return false,
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => parse_stat(&text)
            .is_some_and(|info| !matches!(info.state, 'Z' | 'X') && info.session == pid.as_raw()),
        // Gone between the two looks, or no /proc: trust kill().
        Err(error) => error.kind() != io::ErrorKind::NotFound,
    }
}

/// Whether any process still belongs to the process group `pid` led (its leader is gone).
pub fn group_has_members(pid: Pid) -> bool {
    ProcessSnapshot::read(Path::new("/proc"))
        .processes()
        .any(|p| p.process_group == pid.as_raw() && p.session == pid.as_raw() && p.state != 'Z')
}

/// Waits up to [`FILE_WAIT`] for `find` to return something, looking every [`FILE_POLL`].
pub async fn wait_for<T>(mut find: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + FILE_WAIT;
    loop {
        if let Some(found) = find() {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(FILE_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::process::{reap, spawn_in_new_session, wait_for_exit_keeping_zombie};

    #[test]
    fn pid_and_exit_code_files_are_read_strictly() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("c.pid");
        assert_eq!(read_pid_file(&path).unwrap(), None);
        std::fs::write(&path, "4242\n").unwrap();
        assert_eq!(read_pid_file(&path).unwrap(), Some(Pid::from_raw(4242)));
        for bad in ["", "x", "1", "-5", "12 13"] {
            std::fs::write(&path, bad).unwrap();
            assert!(read_pid_file(&path).is_err(), "{bad:?}");
        }
        let exit = exit_code_file(&path);
        assert_eq!(exit, temp.path().join("c.pid.exitcode"));
        assert_eq!(read_exit_code_file(&exit).unwrap(), None);
        std::fs::write(&exit, "143\n").unwrap();
        assert_eq!(read_exit_code_file(&exit).unwrap(), Some(143));
        std::fs::write(&exit, "oops").unwrap();
        assert!(read_exit_code_file(&exit).is_err());
    }

    #[test]
    fn only_a_live_session_leader_counts_as_alive() {
        let temp = tempfile::tempdir().unwrap();
        let script = temp.path().join("s.sh");
        std::fs::write(&script, "sleep 0.3\n").unwrap();
        let pid = spawn_in_new_session(&script, temp.path(), &[]).unwrap();
        assert!(is_alive(pid));
        wait_for_exit_keeping_zombie(pid).unwrap();
        assert!(!is_alive(pid), "a zombie is not alive");
        reap(pid);
        assert!(!is_alive(pid));
        // This test's own process is alive but leads no session of its own.
        assert!(!is_alive(Pid::this()) || nix::unistd::getsid(None).unwrap() == Pid::this());
    }
}
