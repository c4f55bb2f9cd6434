//! `spindle rmadmin`: administer a running RM (like `yarn rmadmin`): `-refreshQueues` applies
//! changed scheduler files; `-getGroups [user ...]` shows users' groups as the RM maps them; in
//! HA, `-getServiceState <id>`, `-getAllServiceState`, `-checkHealth <id>`, `-transitionToActive [--forcemanual] <id>` and
//! `-transitionToStandby [--forcemanual] <id>` speak HAServiceProtocol to the RM of that rm-id.

use std::net::SocketAddr;
use std::path::Path;

use spindle_conf::{Configuration, RmConfig};
use spindle_ipc::{ClientOptions, IpcClient};
use spindle_proto::common::*;
use spindle_proto::yarn::{
    GetGroupsForUserRequestProto, GetGroupsForUserResponseProto, RefreshQueuesRequestProto,
    RefreshQueuesResponseProto,
};
use spindle_rm::service::protocols;

const USAGE: &str = "Usage: spindle rmadmin [-refreshQueues] [-getGroups [username]] [-getServiceState <serviceId>] [-getAllServiceState] [-checkHealth <serviceId>] [-transitionToActive [--forcemanual] <serviceId>] [-transitionToStandby [--forcemanual] <serviceId>]";
const HA_SERVICE_PROTOCOL: &str = "org.apache.hadoop.ha.HAServiceProtocol";

fn user() -> String {
    std::env::var("HADOOP_USER_NAME")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "root".into())
}

/// The admin address of `rm_id`: `yarn.resourcemanager.admin.address.<id>`, else
/// `yarn.resourcemanager.hostname.<id>:8033`.
fn admin_address_of(conf: &Configuration, rm_id: &str) -> anyhow::Result<SocketAddr> {
    let text = match conf.get(&format!("yarn.resourcemanager.admin.address.{rm_id}")) {
        Some(address) => address.trim().to_string(),
        None => {
            let host = conf
                .get(&format!("yarn.resourcemanager.hostname.{rm_id}"))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "Invalid HA serviceId {rm_id}: neither yarn.resourcemanager.admin.address.{rm_id} nor yarn.resourcemanager.hostname.{rm_id} is set"
                    )
                })?;
            format!("{}:8033", host.trim())
        }
    };
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{text}: no address"))
}

async fn ha_client(conf: &Configuration, rm_id: &str) -> anyhow::Result<IpcClient> {
    let address = admin_address_of(conf, rm_id)?;
    let mut options = ClientOptions::new(HA_SERVICE_PROTOCOL, user());
    // ha.failover-controller.cli-check.rpc-timeout.ms
    options.rpc_timeout = std::time::Duration::from_millis(20_000);
    Ok(IpcClient::connect(address, options).await?)
}

fn state_name(state: HaServiceStateProto) -> &'static str {
    match state {
        HaServiceStateProto::Initializing => "initializing",
        HaServiceStateProto::Active => "active",
        HaServiceStateProto::Standby => "standby",
        HaServiceStateProto::Observer => "observer",
    }
}

pub(crate) async fn service_state(
    conf: &Configuration,
    rm_id: &str,
) -> anyhow::Result<&'static str> {
    let client = ha_client(conf, rm_id).await?;
    let status: GetServiceStatusResponseProto = client
        .call("getServiceStatus", &GetServiceStatusRequestProto {})
        .await?;
    Ok(state_name(status.state()))
}

fn request_info(force: bool) -> HaStateChangeRequestInfoProto {
    HaStateChangeRequestInfoProto {
        req_source: if force {
            HaRequestSource::RequestByUserForced
        } else {
            HaRequestSource::RequestByUser
        } as i32,
    }
}

pub async fn run(conf_dir: Option<&Path>, args: &[String]) -> anyhow::Result<i32> {
    let command = args
        .first()
        .map(|a| a.trim_start_matches('-'))
        .unwrap_or("");
    let conf = super::application::load_configuration(conf_dir)?;
    let operands: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let force = operands.contains(&"--forcemanual");
    let ids: Vec<&str> = operands
        .iter()
        .copied()
        .filter(|a| !a.starts_with("--"))
        .collect();
    let result: anyhow::Result<i32> = match (command, ids.as_slice()) {
        ("refreshQueues", []) => refresh_queues(&conf).await,
        ("getGroups", users) => get_groups(&conf, users).await,
        ("getServiceState", [id]) => {
            println!("{}", service_state(&conf, id).await?);
            Ok(0)
        }
        ("getAllServiceState", []) => {
            let ids = conf
                .get_strings("yarn.resourcemanager.ha.rm-ids")
                .into_iter()
                .filter(|id| !id.is_empty())
                .collect::<Vec<_>>();
            for id in ids {
                let address = admin_address_of(&conf, &id)
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let state = match service_state(&conf, &id).await {
                    Ok(state) => state.to_string(),
                    Err(e) => format!("Failed to get HA status: {e}"),
                };
                println!("{address:<50}{state}");
            }
            Ok(0)
        }
        ("checkHealth", [id]) => {
            let client = ha_client(&conf, id).await?;
            client
                .call::<_, MonitorHealthResponseProto>(
                    "monitorHealth",
                    &MonitorHealthRequestProto {},
                )
                .await?;
            Ok(0)
        }
        ("transitionToActive", [id]) => {
            let client = ha_client(&conf, id).await?;
            client
                .call::<_, TransitionToActiveResponseProto>(
                    "transitionToActive",
                    &TransitionToActiveRequestProto {
                        req_info: request_info(force),
                    },
                )
                .await?;
            Ok(0)
        }
        ("transitionToStandby", [id]) => {
            let client = ha_client(&conf, id).await?;
            client
                .call::<_, TransitionToStandbyResponseProto>(
                    "transitionToStandby",
                    &TransitionToStandbyRequestProto {
                        req_info: request_info(force),
                    },
                )
                .await?;
            Ok(0)
        }
        _ => {
            eprintln!("{USAGE}");
            return Ok(255);
        }
    };
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("{command}: {e}");
            Ok(255)
        }
    }
}

/// A ResourceManagerAdministrationProtocol connection to the RM's admin address.
async fn admin_client(conf: &Configuration) -> anyhow::Result<IpcClient> {
    let rm = RmConfig::from_configuration(conf)?;
    let address = rm.admin_address.resolve()?;
    Ok(IpcClient::connect(
        address,
        ClientOptions::new(protocols::RESOURCE_MANAGER_ADMINISTRATION, user()),
    )
    .await?)
}

/// `-getGroups [user ...]`: each user's groups as the RM maps them (`user : g1 g2`), the current
/// user when none is named.
async fn get_groups(conf: &Configuration, users: &[&str]) -> anyhow::Result<i32> {
    let client = admin_client(conf).await?;
    let current = user();
    let users: Vec<&str> = if users.is_empty() {
        vec![current.as_str()]
    } else {
        users.to_vec()
    };
    for name in users {
        let response: GetGroupsForUserResponseProto = client
            .call(
                "getGroupsForUser",
                &GetGroupsForUserRequestProto {
                    user: name.to_string(),
                },
            )
            .await?;
        println!("{name} : {}", response.groups.join(" "));
    }
    Ok(0)
}

async fn refresh_queues(conf: &Configuration) -> anyhow::Result<i32> {
    let client = admin_client(conf).await?;
    client
        .call::<_, RefreshQueuesResponseProto>(
            "refreshQueues",
            &RefreshQueuesRequestProto::default(),
        )
        .await?;
    Ok(0)
}
