//! `spindle rmadmin -refreshQueues`: apply changed scheduler files to a running RM (like
//! `yarn rmadmin`).

use std::path::Path;

use spindle_conf::RmConfig;
use spindle_ipc::{ClientOptions, IpcClient};
use spindle_proto::yarn::{RefreshQueuesRequestProto, RefreshQueuesResponseProto};
use spindle_rm::service::protocols;

const USAGE: &str = "Usage: spindle rmadmin [-refreshQueues]";

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
