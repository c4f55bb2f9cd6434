//! The container's environment as YARN builds it (`ContainerLaunch.sanitizeEnv`,
//! `expandEnvironment`, `orderEnvByDependencies`): whitelisted NM values, the variables the NM
//! sets and the request cannot override, then the request's own variables in dependency order.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::config::NmContainerConfig;
use super::spec::{ContainerLaunchSpec, ContainerPaths};
use crate::localizer::layout;

/// Applies YARN's expansion markers to a command or environment value: `<LOG_DIR>` -> the
/// container log dir, `<CPS>` -> `:`, `{{VAR}}` -> `$VAR`, `<ADD_OPENS>` -> nothing.
pub fn expand_markers(value: &str, container_log_dir: &Path) -> String {
    value
        .replace("<LOG_DIR>", &container_log_dir.to_string_lossy())
        .replace("<CPS>", ":")
        .replace("<ADD_OPENS>", "")
        .replace("{{", "$")
        .replace("}}", "")
}

/// The three groups of exported variables, in the order the launch script exports them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaunchEnvironment {
    /// Whitelisted names the request does not set, with the NM's value:
    /// exported as `export K=${K:-"v"}`.
    pub whitelisted: Vec<(String, String)>,
    /// The variables the NM sets (`HADOOP_TOKEN_FILE_LOCATION`, `CONTAINER_ID`, ... `JVM_PID`,
    /// then the admin env), overriding the request.
    pub nm_variables: Vec<(String, String)>,
    /// The request's remaining variables, expanded, in dependency order.
    pub request_variables: Vec<(String, String)>,
}

impl LaunchEnvironment {
    /// The environment the launch script process starts with (the NM's own environment is
    /// cleared first): whitelisted NM values, then request and NM variables.
    pub fn process_environment(&self) -> Vec<(String, String)> {
        self.whitelisted
            .iter()
            .chain(&self.request_variables)
            .chain(&self.nm_variables)
            .cloned()
            .collect()
    }
}

/// Builds the environment for `spec` whose files live at `paths`.
pub fn build_launch_environment(
    config: &NmContainerConfig,
    spec: &ContainerLaunchSpec,
    paths: &ContainerPaths,
    localization_counters: &str,
) -> LaunchEnvironment {
    let application_id = spec.container_id.application_id();
    let join = |paths: Vec<String>| paths.join(",");
    let local_dirs = join(
        config
            .local_dirs
            .iter()
            .map(|d| path_text(&layout::application_dir(d, &spec.user, application_id)))
            .collect(),
    );
    let user_local_dirs = join(
        config
            .local_dirs
            .iter()
            .map(|d| format!("{}/", path_text(&layout::user_dir(d, &spec.user))))
            .collect(),
    );
    let log_dirs = join(
        config
            .log_dirs
            .iter()
            .map(|d| path_text(&layout::container_log_dir(d, spec.container_id)))
            .collect(),
    );
    let mut nm_variables = vec![
        (
            "HADOOP_TOKEN_FILE_LOCATION".to_string(),
            path_text(&paths.tokens_file),
        ),
        ("CONTAINER_ID".to_string(), spec.container_id.to_string()),
        ("NM_PORT".to_string(), config.nm_port.to_string()),
        ("NM_HOST".to_string(), config.nm_host.clone()),
        ("NM_HTTP_PORT".to_string(), config.nm_http_port.to_string()),
        ("LOCAL_DIRS".to_string(), local_dirs),
        ("LOCAL_USER_DIRS".to_string(), user_local_dirs),
        ("LOG_DIRS".to_string(), log_dirs),
        ("USER".to_string(), spec.user.clone()),
        ("LOGNAME".to_string(), spec.user.clone()),
        ("HOME".to_string(), config.user_home_dir.clone()),
        ("PWD".to_string(), path_text(&paths.work_dir)),
        (
            "LOCALIZATION_COUNTERS".to_string(),
            localization_counters.to_string(),
        ),
        ("JVM_PID".to_string(), "$$".to_string()),
    ];
    for (name, value) in &config.admin_env {
        match nm_variables
            .iter_mut()
            .find(|(existing, _)| existing == name)
        {
            Some(entry) => entry.1 = value.clone(),
            None => nm_variables.push((name.clone(), value.clone())),
        }
    }
    let nm_names: BTreeSet<&str> = nm_variables.iter().map(|(name, _)| name.as_str()).collect();
    let request = spec.deduplicated_environment();
    let request_variables: Vec<(String, String)> = request
        .iter()
        .filter(|(name, _)| !nm_names.contains(name.as_str()))
        .map(|(name, value)| (name.clone(), expand_markers(value, &paths.log_dir)))
        .collect();
    let whitelisted = config
        .env_whitelist
        .iter()
        .filter(|name| {
            !nm_names.contains(name.as_str()) && !request.iter().any(|(set, _)| set == *name)
        })
        .filter_map(|name| {
            config
                .nm_environment
                .get(name)
                .map(|value| (name.clone(), value.clone()))
        })
        .collect();
    LaunchEnvironment {
        whitelisted,
        nm_variables,
        request_variables: order_by_dependencies(request_variables),
    }
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Orders variables so that each comes after the variables its value references (`$X`, `${X}`),
/// keeping the given order otherwise; cycles are broken at the first variable met.
pub fn order_by_dependencies(variables: Vec<(String, String)>) -> Vec<(String, String)> {
    let index_by_name: HashMap<&str, usize> = variables
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), i))
        .collect();
    let dependencies: Vec<Vec<usize>> = variables
        .iter()
        .enumerate()
        .map(|(i, (_, value))| {
            referenced_variables(value)
                .iter()
                .filter_map(|name| index_by_name.get(name.as_str()).copied())
                .filter(|j| *j != i)
                .collect()
        })
        .collect();
    let mut emitted = vec![false; variables.len()];
    let mut visiting = vec![false; variables.len()];
    let mut order = Vec::with_capacity(variables.len());
    fn visit(
        i: usize,
        dependencies: &[Vec<usize>],
        emitted: &mut [bool],
        visiting: &mut [bool],
        order: &mut Vec<usize>,
    ) {
        if emitted[i] || visiting[i] {
            return;
        }
        visiting[i] = true;
        for &j in &dependencies[i] {
            visit(j, dependencies, emitted, visiting, order);
        }
        visiting[i] = false;
        emitted[i] = true;
        order.push(i);
    }
    for i in 0..variables.len() {
        visit(i, &dependencies, &mut emitted, &mut visiting, &mut order);
    }
    let mut slots: Vec<Option<(String, String)>> = variables.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each variable is emitted once"))
        .collect()
}

/// Names referenced as `$NAME` or `${NAME...}` outside single quotes and backslash escapes.
pub fn referenced_variables(value: &str) -> Vec<String> {
    let chars: Vec<char> = value.chars().collect();
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut names = Vec::new();
    let (mut in_single, mut in_double) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if !in_single => i += 1,
            '\'' if !in_double => in_single = !in_single,
            '"' if !in_single => in_double = !in_double,
            '$' if !in_single => {
                let start = if chars.get(i + 1) == Some(&'{') {
                    i + 2
                } else {
                    i + 1
                };
                if chars
                    .get(start)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
                {
                    let end = (start..chars.len())
                        .find(|&j| !is_name_char(chars[j]))
                        .unwrap_or(chars.len());
                    names.push(chars[start..end].iter().collect());
                    i = end - 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

    #[test]
    fn markers_expand_like_yarn() {
        let log_dir = Path::new("/logs/app/c1");
        assert_eq!(
            expand_markers("{{JAVA_HOME}}/bin/java", log_dir),
            "$JAVA_HOME/bin/java"
        );
        assert_eq!(
            expand_markers("{{PWD}}<CPS>{{PWD}}/__spark_libs__/*", log_dir),
            "$PWD:$PWD/__spark_libs__/*"
        );
        assert_eq!(
            expand_markers("1><LOG_DIR>/stdout 2><LOG_DIR>/stderr", log_dir),
            "1>/logs/app/c1/stdout 2>/logs/app/c1/stderr"
        );
        assert_eq!(expand_markers("-Xmx1g <ADD_OPENS>", log_dir), "-Xmx1g ");
        assert_eq!(
            expand_markers("'kill %p' \\$HOME", log_dir),
            "'kill %p' \\$HOME"
        );
    }

    #[test]
    fn references_skip_quotes_and_escapes() {
        assert_eq!(
            referenced_variables("$PWD:${HOME}/x:${A:-b}"),
            vec!["PWD", "HOME", "A"]
        );
        assert_eq!(
            referenced_variables("'$NOT' \\$NOT2 \"$YES\" $1 $"),
            vec!["YES"]
        );
        assert!(referenced_variables("").is_empty());
    }

    #[test]
    fn variables_come_after_their_dependencies() {
        let vars = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let ordered = order_by_dependencies(vars(&[
            ("CLASSPATH", "$SPARK_HOME/jars:$PWD"),
            ("X", "1"),
            ("SPARK_HOME", "$BASE/spark"),
            ("BASE", "/opt"),
        ]));
        let names: Vec<&str> = ordered.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["BASE", "SPARK_HOME", "CLASSPATH", "X"]);
        // Cycles and self references do not lose variables.
        let ordered = order_by_dependencies(vars(&[("A", "$B"), ("B", "$A"), ("P", "$P:x")]));
        assert_eq!(ordered.len(), 3);
    }

    #[test]
    fn nm_variables_override_the_request_and_whitelist_fills_gaps() {
        let app = ApplicationId::new(1700000000000, 3);
        let container_id = ContainerId::new(ApplicationAttemptId::new(app, 1), 0, 2);
        let mut config = NmContainerConfig::new(
            vec![PathBuf::from("/l1"), PathBuf::from("/l2")],
            vec![PathBuf::from("/logs")],
            "node1",
            8041,
            8042,
        );
        config.nm_environment = BTreeMap::from([
            ("JAVA_HOME".to_string(), "/jdk".to_string()),
            ("PATH".to_string(), "/usr/bin".to_string()),
            ("LANG".to_string(), "C".to_string()),
            ("AWS_SECRET".to_string(), "s3cr3t".to_string()),
        ]);
        config.admin_env = vec![("MALLOC_ARENA_MAX".to_string(), String::new())];
        let spec = ContainerLaunchSpec {
            container_id,
            user: "alice".into(),
            resource: Resource::new(512, 1),
            local_resources: BTreeMap::new(),
            environment: vec![
                ("CONTAINER_ID".into(), "forged".into()),
                ("LANG".into(), "en_US".into()),
                ("CLASSPATH".into(), "{{PWD}}<CPS>x".into()),
            ],
            commands: vec![],
            credentials: None,
            gpu_devices: Vec::new(),
        };
        let paths =
            ContainerPaths::new(Path::new("/l1"), Path::new("/logs"), "alice", container_id);
        let env = build_launch_environment(&config, &spec, &paths, "0,0,0,0,0");
        assert_eq!(
            env.whitelisted,
            vec![
                ("JAVA_HOME".into(), "/jdk".into()),
                ("PATH".into(), "/usr/bin".into())
            ]
        );
        let names: Vec<&str> = env.nm_variables.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "HADOOP_TOKEN_FILE_LOCATION",
                "CONTAINER_ID",
                "NM_PORT",
                "NM_HOST",
                "NM_HTTP_PORT",
                "LOCAL_DIRS",
                "LOCAL_USER_DIRS",
                "LOG_DIRS",
                "USER",
                "LOGNAME",
                "HOME",
                "PWD",
                "LOCALIZATION_COUNTERS",
                "JVM_PID",
                "MALLOC_ARENA_MAX"
            ]
        );
        let value = |name: &str| {
            env.nm_variables
                .iter()
                .find(|(n, _)| n == name)
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(
            value("CONTAINER_ID"),
            "container_1700000000000_0003_01_000002"
        );
        assert_eq!(value("LOCAL_DIRS"), "/l1/usercache/alice/appcache/application_1700000000000_0003,/l2/usercache/alice/appcache/application_1700000000000_0003");
        assert_eq!(
            value("LOCAL_USER_DIRS"),
            "/l1/usercache/alice/,/l2/usercache/alice/"
        );
        assert_eq!(
            value("LOG_DIRS"),
            "/logs/application_1700000000000_0003/container_1700000000000_0003_01_000002"
        );
        assert_eq!(
            value("HADOOP_TOKEN_FILE_LOCATION"),
            format!("{}/container_tokens", paths.work_dir.display())
        );
        assert_eq!(
            env.request_variables,
            vec![
                ("LANG".into(), "en_US".into()),
                ("CLASSPATH".into(), "$PWD:x".into())
            ]
        );
        assert!(!env
            .process_environment()
            .iter()
            .any(|(n, _)| n == "AWS_SECRET"));
    }
}
