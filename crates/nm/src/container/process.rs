//! Starting the launch script as the leader of a new session and process group, waiting for it
//! without releasing its pid, and signalling its whole process group.
//!
//! The leader is reaped only after the NM has finished signalling its group: while it is a zombie
//! its pid (= the group id) cannot be reused, so a late SIGKILL never hits an unrelated process.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// How the container's leader process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessExit {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal (number).
    Signaled(i32),
}

impl ProcessExit {
    /// The exit code YARN reports: the code itself, or 128 + signal for a signalled process
    /// (what Java's `Process.waitFor` and bash return: 143 for SIGTERM, 137 for SIGKILL).
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Exited(code) => code,
            Self::Signaled(signal) => 128 + signal,
        }
    }
}

/// Runs `/bin/bash <script>` in `work_dir` with exactly `environment` (nothing inherited from the
/// NM) as the leader of a new session; returns its pid, which is also its process group id.
pub fn spawn_in_new_session(
    script: &Path,
    work_dir: &Path,
    environment: &[(String, String)],
) -> io::Result<Pid> {
    let mut command = Command::new("/bin/bash");
    command
        .arg(script)
        .current_dir(work_dir)
        .env_clear()
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(io::Error::from));
    }
    let child = command.spawn()?;
    // The child is reaped by `reap`, not by std (dropping a std Child neither waits nor kills).
    Ok(Pid::from_raw(child.id() as i32))
}

/// Blocks until `pid` exits, leaving it a zombie so its group id stays reserved.
pub fn wait_for_exit_keeping_zombie(pid: Pid) -> io::Result<ProcessExit> {
    loop {
        match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(ProcessExit::Exited(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return Ok(ProcessExit::Signaled(signal as i32))
            }
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(io::Error::from(errno)),
        }
    }
}

/// Releases the zombie left by `wait_for_exit_keeping_zombie`.
pub fn reap(pid: Pid) {
    loop {
        match waitpid(pid, None) {
            Err(Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// Sends `signal` to every process of the group led by `leader`; false when none is left.
pub fn signal_process_group(leader: Pid, signal: Signal) -> bool {
    killpg(leader, signal).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_bash_and_java() {
        assert_eq!(ProcessExit::Exited(3).exit_code(), 3);
        assert_eq!(ProcessExit::Signaled(15).exit_code(), 143);
        assert_eq!(ProcessExit::Signaled(9).exit_code(), 137);
    }

    #[test]
    fn leader_heads_its_own_session_and_gets_only_the_given_environment() {
        let temp = tempfile::tempdir().unwrap();
        let script = temp.path().join("s.sh");
        std::fs::write(&script, "read -r -a stat < /proc/$$/stat; echo \"$$ ${stat[5]} ${ONLY:-unset} ${HOME:-nohome}\" > out; exit 7\n").unwrap();
        let pid = spawn_in_new_session(
            &script,
            temp.path(),
            &[
                ("ONLY".into(), "given".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            wait_for_exit_keeping_zombie(pid).unwrap(),
            ProcessExit::Exited(7)
        );
        // Still a zombie: the group id cannot be reused yet.
        assert!(std::fs::metadata(format!("/proc/{pid}")).is_ok());
        reap(pid);
        let out = std::fs::read_to_string(temp.path().join("out")).unwrap();
        let fields: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(fields[0], fields[1], "the script is its session's leader");
        assert_eq!(&fields[2..], ["given", "nohome"]);
    }
}
