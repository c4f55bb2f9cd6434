//! Launching real containers: exit codes, stdout, the launch script, the environment the
//! container sees (expansion, quoting, allow-list), tokens and refused starts.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use spindle_nm::container::{ContainerLifecycleState, StartError, StopError, EMPTY_CREDENTIALS};
use spindle_types::exit_status;
use spindle_types::states::ContainerState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_succeeds_and_exit_3_fails_with_yarn_diagnostics() {
    let node = node();
    let mut completed = node.manager.take_completed_containers().unwrap();
    assert!(node.manager.take_completed_containers().is_none());

    let ok = container_id(1, 1);
    node.manager
        .start(spec(
            ok,
            &["echo", "hello", "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"],
        ))
        .unwrap();
    let failing = container_id(1, 2);
    node.manager
        .start(spec(
            failing,
            &["(echo oops >&2; exit 3)", "2><LOG_DIR>/stderr"],
        ))
        .unwrap();

    let report = node.manager.wait_for_completion(ok).await.unwrap();
    assert_eq!(
        (report.state, report.exit_status),
        (ContainerLifecycleState::Done, 0)
    );
    assert_eq!(report.state.container_state(), ContainerState::Complete);
    let paths = node.manager.paths(ok).unwrap();
    assert_eq!(
        std::fs::read_to_string(paths.log_dir.join("stdout")).unwrap(),
        "hello\n"
    );
    assert!(paths.log_dir.join("prelaunch.out").exists());
    assert_eq!(
        std::fs::read_to_string(paths.log_dir.join("prelaunch.out")).unwrap(),
        "Setting up env variables\nSetting up job resources\nLaunching container\n"
    );

    let report = node.manager.wait_for_completion(failing).await.unwrap();
    assert_eq!(report.exit_status, 3);
    assert_eq!(report.state, ContainerLifecycleState::Done);
    for expected in [
        "]Exception from container-launch.\nContainer id: container_1700000000000_0001_01_000002\nExit code: 3\n",
        "]Container exited with a non-zero exit code 3. Error file: prelaunch.err.\nLast 4096 bytes of prelaunch.err :\n",
        "Last 4096 bytes of stderr :\noops\n",
    ] {
        assert!(report.diagnostics.contains(expected), "missing {expected:?} in {}", report.diagnostics);
    }
    assert!(report.diagnostics.starts_with('['));

    let mut seen = vec![
        completed.recv().await.unwrap(),
        completed.recv().await.unwrap(),
    ];
    seen.sort();
    assert_eq!(seen, vec![ok, failing]);
    let listed: Vec<_> = node
        .manager
        .list()
        .into_iter()
        .map(|r| (r.container_id, r.exit_status))
        .collect();
    assert_eq!(listed, vec![(ok, 0), (failing, 3)]);
    assert!(node.manager.forget(ok));
    assert!(node.manager.status(ok).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_script_expands_markers_and_keeps_spark_quoting() {
    let node = node_with(|config| {
        config.nm_environment = BTreeMap::from([
            ("JAVA_HOME".to_string(), "/opt/jdk-test".to_string()),
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
        ]);
    });
    let id = container_id(2, 1);
    let mut request = spec(
        id,
        // As Spark's escapeForShell emits them: 'kill %p' and a literal \$ inside single quotes.
        &[
            "printf",
            "'%s\\n'",
            "{{JAVA_HOME}}/bin/java",
            "$CLASSPATH",
            "-XX:OnOutOfMemoryError='kill %p'",
            "'\\$NOT_EXPANDED'",
            "$DERIVED",
            "$APP_LOG",
            "1><LOG_DIR>/stdout",
        ],
    );
    request.environment = vec![
        ("CLASSPATH".into(), "{{PWD}}<CPS>{{PWD}}/__app__.jar".into()),
        ("APP_LOG".into(), "<LOG_DIR>/app.log".into()),
        ("DERIVED".into(), "$BASE/x".into()),
        ("BASE".into(), "/opt".into()),
    ];
    node.manager.start(request).unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, 0, "{}", report.diagnostics);

    let paths = node.manager.paths(id).unwrap();
    let work_dir = paths.work_dir.to_string_lossy().into_owned();
    let log_dir = paths.log_dir.to_string_lossy().into_owned();
    let stdout = std::fs::read_to_string(paths.log_dir.join("stdout")).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "/opt/jdk-test/bin/java".to_string(),
            format!("{work_dir}:{work_dir}/__app__.jar"),
            "-XX:OnOutOfMemoryError=kill %p".to_string(),
            "$NOT_EXPANDED".to_string(),
            "/opt/x".to_string(),
            format!("{log_dir}/app.log"),
        ]
    );

    let script = std::fs::read_to_string(&paths.launch_script).unwrap();
    assert!(
        script.starts_with("#!/bin/bash\n\nset -o pipefail -e\n"),
        "{script}"
    );
    assert!(script.contains("export JAVA_HOME=${JAVA_HOME:-\"/opt/jdk-test\"}\n"));
    assert!(script.contains("export CLASSPATH=\"$PWD:$PWD/__app__.jar\"\n"));
    assert!(script.find("export BASE=").unwrap() < script.find("export DERIVED=").unwrap());
    assert!(script.find("export PWD=").unwrap() < script.find("export CLASSPATH=").unwrap());
    let last_line = script.lines().last().unwrap();
    assert_eq!(
        last_line,
        format!("exec /bin/bash -c \"printf '%s\\n' $JAVA_HOME/bin/java $CLASSPATH -XX:OnOutOfMemoryError='kill %p' '\\$NOT_EXPANDED' $DERIVED $APP_LOG 1>{log_dir}/stdout\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_sees_yarn_variables_and_nothing_of_the_nm_beyond_the_allow_list() {
    let process_only_variable = std::env::vars()
        .map(|(name, _)| name)
        .find(|name| name.starts_with("CARGO"));
    let node = node_with(|config| {
        config.nm_environment = BTreeMap::from([
            ("JAVA_HOME".to_string(), "/opt/jdk-test".to_string()),
            ("PATH".to_string(), std::env::var("PATH").unwrap()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
            ("NM_SECRET_TOKEN".to_string(), "hunter2".to_string()),
        ]);
    });
    let id = container_id(3, 1);
    let mut request = spec(id, &["env", "1><LOG_DIR>/env.txt"]);
    request.environment = vec![
        ("LANG".into(), "fr_FR.UTF-8".into()),
        ("CONTAINER_ID".into(), "forged".into()),
    ];
    request.credentials = Some(b"HDTS\x00\x00\x00\x00\x00\x00".to_vec());
    node.manager.start(request).unwrap();
    assert_eq!(
        node.manager
            .wait_for_completion(id)
            .await
            .unwrap()
            .exit_status,
        0
    );

    let paths = node.manager.paths(id).unwrap();
    let env: BTreeMap<String, String> = std::fs::read_to_string(paths.log_dir.join("env.txt"))
        .unwrap()
        .lines()
        .filter_map(|line| {
            line.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let local = node.local_dir().to_string_lossy().into_owned();
    let expected = [
        ("CONTAINER_ID", id.to_string()),
        ("NM_HOST", "node1.example".to_string()),
        ("NM_PORT", "8041".to_string()),
        ("NM_HTTP_PORT", "8042".to_string()),
        ("USER", "alice".to_string()),
        ("LOGNAME", "alice".to_string()),
        ("HOME", "/home/".to_string()),
        ("PWD", paths.work_dir.to_string_lossy().into_owned()),
        (
            "LOCAL_DIRS",
            format!("{local}/usercache/alice/appcache/application_1700000000000_0003"),
        ),
        ("LOCAL_USER_DIRS", format!("{local}/usercache/alice/")),
        ("LOG_DIRS", paths.log_dir.to_string_lossy().into_owned()),
        (
            "HADOOP_TOKEN_FILE_LOCATION",
            paths.tokens_file.to_string_lossy().into_owned(),
        ),
        ("JAVA_HOME", "/opt/jdk-test".to_string()),
        ("LANG", "fr_FR.UTF-8".to_string()),
    ];
    for (name, value) in expected {
        assert_eq!(env.get(name), Some(&value), "{name}");
    }
    assert!(env["JVM_PID"].parse::<u32>().is_ok());
    assert!(env.contains_key("LOCALIZATION_COUNTERS"));
    assert!(
        !env.contains_key("NM_SECRET_TOKEN"),
        "NM secrets must not leak"
    );
    if let Some(name) = process_only_variable {
        assert!(
            !env.contains_key(&name),
            "{name} leaked from the NM process environment"
        );
    }
    assert!(paths.work_dir.join("tmp").is_dir());
    assert_eq!(
        std::fs::read(&paths.tokens_file).unwrap(),
        b"HDTS\x00\x00\x00\x00\x00\x00",
        "credentials are written verbatim"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_give_an_empty_token_file_and_bad_requests_are_refused() {
    let node = node();
    let id = container_id(4, 1);
    node.manager.start(spec(id, &["true"])).unwrap();
    assert!(matches!(
        node.manager.start(spec(id, &["true"])),
        Err(StartError::ContainerAlreadyExists(_))
    ));
    assert_eq!(
        node.manager
            .wait_for_completion(id)
            .await
            .unwrap()
            .exit_status,
        0
    );
    assert_eq!(
        std::fs::read(node.manager.paths(id).unwrap().tokens_file).unwrap(),
        EMPTY_CREDENTIALS
    );

    let mut escaping = spec(container_id(4, 2), &["true"]);
    let source = node.source_dir().join("f");
    std::fs::write(&source, b"x").unwrap();
    escaping.local_resources.insert(
        "../../outside".into(),
        resource(&source, spindle_nm::localizer::LocalResourceType::File),
    );
    assert!(matches!(
        node.manager.start(escaping),
        Err(StartError::InvalidLinkName { .. })
    ));
    let mut bad_user = spec(container_id(4, 3), &["true"]);
    bad_user.user = "../root".into();
    assert!(matches!(
        node.manager.start(bad_user),
        Err(StartError::InvalidUser(_))
    ));
    assert!(
        node.manager.status(container_id(4, 3)).is_none(),
        "refused containers are not tracked"
    );
    assert_eq!(
        node.manager
            .stop(container_id(9, 9), exit_status::KILLED_BY_APPMASTER),
        Err(StopError::UnknownContainer(container_id(9, 9)))
    );
    assert!(!Path::new(&node.local_dir().join("usercache/root")).exists());
}
