//! `launch_container.sh`, written line for line as the real NM writes it
//! (`ContainerExecutor.writeLaunchEnv` with `UnixShellScriptBuilder`).

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use super::environment::LaunchEnvironment;

/// One symbolic link the script creates in the work dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLink {
    /// Absolute path of the localized resource.
    pub target: PathBuf,
    /// Path relative to the work dir; may contain `/`.
    pub link_name: String,
}

/// Turns (link name, localized path) pairs into links; a link name whose last component is `*`
/// links every entry of the localized directory into the work dir under the entry's own name.
pub fn resolve_links(localized: &[(String, PathBuf)]) -> io::Result<Vec<ResourceLink>> {
    let mut links = Vec::new();
    for (link_name, target) in localized {
        if link_name == "*" || link_name.ends_with("/*") {
            let mut entries: Vec<_> = std::fs::read_dir(target)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|entry| entry.file_name());
            for entry in entries {
                links.push(ResourceLink {
                    target: entry.path(),
                    link_name: entry.file_name().to_string_lossy().into_owned(),
                });
            }
        } else {
            links.push(ResourceLink {
                target: target.clone(),
                link_name: link_name.clone(),
            });
        }
    }
    Ok(links)
}

/// The script text. `commands` are already expanded (`expand_markers`); `log_dir` is the
/// container log dir receiving `prelaunch.out` and `prelaunch.err`.
pub fn launch_script(
    environment: &LaunchEnvironment,
    links: &[ResourceLink],
    commands: &[String],
    log_dir: &Path,
) -> String {
    let log_dir = log_dir.to_string_lossy();
    let mut script = String::new();
    script.push_str("#!/bin/bash\n\n");
    script.push_str("set -o pipefail -e\n");
    let _ = writeln!(script, "export PRELAUNCH_OUT=\"{log_dir}/prelaunch.out\"");
    script.push_str("exec >\"${PRELAUNCH_OUT}\"\n");
    let _ = writeln!(script, "export PRELAUNCH_ERR=\"{log_dir}/prelaunch.err\"");
    script.push_str("exec 2>\"${PRELAUNCH_ERR}\"\n");
    script.push_str("echo \"Setting up env variables\"\n");
    for (name, value) in &environment.whitelisted {
        let _ = writeln!(script, "export {name}=${{{name}:-\"{value}\"}}");
    }
    for (name, value) in environment
        .nm_variables
        .iter()
        .chain(&environment.request_variables)
    {
        let _ = writeln!(script, "export {name}=\"{value}\"");
    }
    script.push_str("echo \"Setting up job resources\"\n");
    for link in links {
        if let Some((parent, _)) = link.link_name.rsplit_once('/') {
            let _ = writeln!(script, "mkdir -p \"{parent}\"");
        }
        let _ = writeln!(
            script,
            "ln -sf -- \"{}\" \"{}\"",
            link.target.to_string_lossy(),
            link.link_name
        );
    }
    script.push_str("echo \"Launching container\"\n");
    let _ = writeln!(script, "exec /bin/bash -c \"{}\"", commands.join(" "));
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_matches_the_real_nm_layout() {
        let environment = LaunchEnvironment {
            whitelisted: vec![("JAVA_HOME".into(), "/usr/lib/jvm/java-17".into())],
            nm_variables: vec![
                ("CONTAINER_ID".into(), "container_1_0001_01_000001".into()),
                ("JVM_PID".into(), "$$".into()),
            ],
            request_variables: vec![("CLASSPATH".into(), "$PWD:$PWD/__spark_conf__".into())],
        };
        let links = vec![
            ResourceLink {
                target: "/l/usercache/u/filecache/10/__spark_conf__.zip".into(),
                link_name: "__spark_conf__".into(),
            },
            ResourceLink {
                target: "/l/usercache/u/filecache/11/a.jar".into(),
                link_name: "__spark_libs__/a.jar".into(),
            },
        ];
        let commands = vec![
            "$JAVA_HOME/bin/java".to_string(),
            "-XX:OnOutOfMemoryError='kill %p'".to_string(),
            "--arg".to_string(),
            "'\\$HOME'".to_string(),
            "1>/logs/c/stdout".to_string(),
        ];
        let script = launch_script(&environment, &links, &commands, Path::new("/logs/c"));
        let expected = r#"#!/bin/bash

set -o pipefail -e
export PRELAUNCH_OUT="/logs/c/prelaunch.out"
exec >"${PRELAUNCH_OUT}"
export PRELAUNCH_ERR="/logs/c/prelaunch.err"
exec 2>"${PRELAUNCH_ERR}"
echo "Setting up env variables"
export JAVA_HOME=${JAVA_HOME:-"/usr/lib/jvm/java-17"}
export CONTAINER_ID="container_1_0001_01_000001"
export JVM_PID="$$"
export CLASSPATH="$PWD:$PWD/__spark_conf__"
echo "Setting up job resources"
ln -sf -- "/l/usercache/u/filecache/10/__spark_conf__.zip" "__spark_conf__"
mkdir -p "__spark_libs__"
ln -sf -- "/l/usercache/u/filecache/11/a.jar" "__spark_libs__/a.jar"
echo "Launching container"
exec /bin/bash -c "$JAVA_HOME/bin/java -XX:OnOutOfMemoryError='kill %p' --arg '\$HOME' 1>/logs/c/stdout"
"#;
        assert_eq!(script, expected);
    }

    #[test]
    fn wildcard_links_every_entry() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join("b.jar"), b"").unwrap();
        std::fs::write(temp.path().join("a.jar"), b"").unwrap();
        let links = resolve_links(&[
            ("libs/*".to_string(), temp.path().to_path_buf()),
            ("conf".to_string(), "/x".into()),
        ])
        .unwrap();
        let names: Vec<&str> = links.iter().map(|l| l.link_name.as_str()).collect();
        assert_eq!(names, ["a.jar", "b.jar", "conf"]);
        assert_eq!(links[0].target, temp.path().join("a.jar"));
        assert!(resolve_links(&[("*".to_string(), temp.path().join("missing"))]).is_err());
    }
}
