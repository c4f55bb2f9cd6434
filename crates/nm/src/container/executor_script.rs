//! `default_container_executor.sh`: with recovery on, the NM starts this script (in the
//! container's new session, as its process group leader) instead of `launch_container.sh`. It
//! writes its pid, then runs the launch script and writes the launch script's exit code, each
//! file written to a temporary name and renamed, so that a restarted NM, which is not the
//! process's parent and cannot wait for it, finds the process and learns how it ended (Hadoop's
//! `DefaultContainerExecutor` wrapper and session scripts).
//!
//! The script defers SIGTERM and SIGINT (a trap, which children do not inherit) until the launch
//! script has ended, so a stop still records the container's own exit code; SIGKILL ends it too.

use std::path::Path;

/// `path` as one single-quoted shell word.
pub fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

/// The script text for a container whose launch script, pid file and exit-code file are these.
pub fn executor_script(launch_script: &Path, pid_file: &Path, exit_code_file: &Path) -> String {
    let temporary = |path: &Path| {
        let mut name = path.as_os_str().to_os_string();
        name.push(".tmp");
        shell_quote(Path::new(&name))
    };
    let (pid, pid_tmp) = (shell_quote(pid_file), temporary(pid_file));
    let (exit_code, exit_code_tmp) = (shell_quote(exit_code_file), temporary(exit_code_file));
    format!(
        "#!/bin/bash\n\
         trap true TERM INT\n\
         echo $$ > {pid_tmp}\n\
         /bin/mv -f {pid_tmp} {pid}\n\
         /bin/bash {launch}\n\
         rc=$?\n\
         echo $rc > {exit_code_tmp}\n\
         /bin/mv -f {exit_code_tmp} {exit_code}\n\
         exit $rc\n",
        launch = shell_quote(launch_script),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::process::{reap, spawn_in_new_session, wait_for_exit_keeping_zombie};

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quote(Path::new("/a b/c")), "'/a b/c'");
        assert_eq!(shell_quote(Path::new("/it's")), r"'/it'\''s'");
    }

    #[test]
    fn the_script_records_its_pid_and_the_launch_scripts_exit_code() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("private dir's");
        std::fs::create_dir(&dir).unwrap();
        let launch = temp.path().join("launch_container.sh");
        std::fs::write(&launch, "exit 7\n").unwrap();
        let (pid_file, exit_code_file) = (dir.join("c.pid"), dir.join("c.pid.exitcode"));
        let script = dir.join("default_container_executor.sh");
        std::fs::write(
            &script,
            executor_script(&launch, &pid_file, &exit_code_file),
        )
        .unwrap();
        let pid = spawn_in_new_session(&script, temp.path(), &[]).unwrap();
        let exit = wait_for_exit_keeping_zombie(pid).unwrap();
        reap(pid);
        assert_eq!(exit.exit_code(), 7);
        assert_eq!(
            std::fs::read_to_string(&pid_file).unwrap().trim(),
            pid.to_string()
        );
        assert_eq!(
            std::fs::read_to_string(&exit_code_file).unwrap().trim(),
            "7"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
