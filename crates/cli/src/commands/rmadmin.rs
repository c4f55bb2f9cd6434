//! `spindle rmadmin -refreshQueues`: apply changed scheduler files to a running RM (like
//! `yarn rmadmin`), and the RM-side setup that reads those files.

use std::path::Path;

use spindle_conf::RmConfig;
use spindle_ipc::{ClientOptions, IpcClient};
use spindle_proto::yarn::{RefreshQueuesRequestProto, RefreshQueuesResponseProto};
use spindle_rm::scheduler_files;
use spindle_rm::service::{protocols, SchedulerSetup};
use spindle_rm::settings::RmSettings;

const USAGE: &str = "Usage: spindle rmadmin [-refreshQueues]";

/// How the RM daemon configures its scheduler: from the files in the configuration directory,
/// with `yarn.admin.acl` deciding who may refresh them when `yarn.acl.enable` is true.
pub fn scheduler_setup(
    conf_dir: Option<&Path>,
    conf: &spindle_conf::Configuration,
    rm: &RmConfig,
    settings: &RmSettings,
) -> anyhow::Result<SchedulerSetup> {
    let admins = if rm.acl_enable {
        // "user1,user2 group1,group2": the users before the blank (groups are not resolved here).
        let users = rm.admin_acl.trim();
        if users == "*" {
            vec!["*".to_string()]
        } else {
            users
                .split_whitespace()
                .next()
                .unwrap_or("")
                .split(',')
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect()
        }
    } else {
        vec!["*".to_string()]
    };
    let dir = scheduler_files::configuration_directory(conf_dir);
    Ok(SchedulerSetup {
        loader: Some(scheduler_files::loader(dir, settings)),
        admins,
        topology: spindle_rm::topology::RackResolver::from_keys(
            conf.get("net.topology.script.file.name"),
            conf.get("net.topology.table.file.name"),
        )?,
    })
}

pub async fn run(conf_dir: Option<&Path>, args: &[String]) -> anyhow::Result<i32> {
    let command = args.first().map(String::as_str).unwrap_or("");
    if command.trim_start_matches('-') != "refreshQueues" || args.len() != 1 {
        eprintln!("{USAGE}");
        return Ok(255);
    }
    let conf = super::application::load_configuration(conf_dir)?;
    let rm = RmConfig::from_configuration(&conf)?;
    let address = rm.admin_address.resolve()?;
    let user = std::env::var("HADOOP_USER_NAME")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "root".into());
    let client = IpcClient::connect(
        address,
        ClientOptions::new(protocols::RESOURCE_MANAGER_ADMINISTRATION, user),
    )
    .await?;
    match client
        .call::<_, RefreshQueuesResponseProto>(
            "refreshQueues",
            &RefreshQueuesRequestProto::default(),
        )
        .await
    {
        Ok(_) => Ok(0),
        Err(e) => {
            eprintln!("refreshQueues: {e}");
            Ok(255)
        }
    }
}
