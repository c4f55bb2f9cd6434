//! `spindle minicluster`: an RM and N NMs in one process, with a client configuration directory.

use std::path::PathBuf;

use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::Resource;

#[derive(clap::Args)]
pub struct MiniclusterArgs {
    /// Number of NodeManagers.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Directory for the NMs' local and log dirs and the client configuration (default: a new
    /// directory under the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Memory each NM offers, in MB.
    #[arg(long, default_value_t = 4096)]
    pub node_memory_mb: i64,
    /// Virtual cores each NM offers.
    #[arg(long, default_value_t = 4)]
    pub node_vcores: i64,
    /// GPUs (`yarn.io/gpu`, configured device indices 0..N) each NM offers.
    #[arg(long, default_value_t = 0)]
    pub node_gpus: u32,
}

impl MiniclusterArgs {
    pub fn config(&self) -> anyhow::Result<MiniClusterConfig> {
        let dir = match &self.dir {
            Some(dir) => dir.clone(),
            None => {
                std::env::temp_dir().join(format!("spindle-minicluster-{}", std::process::id()))
            }
        };
        std::fs::create_dir_all(&dir)?;
        let mut config = MiniClusterConfig::new(dir.canonicalize()?);
        config.nodes = self.nodes;
        config.node_resource = Resource::new(self.node_memory_mb, self.node_vcores);
        config.rm.maximum_allocation = Resource::new(self.node_memory_mb, self.node_vcores);
        config.node_gpus = self.node_gpus;
        Ok(config)
    }
}

pub async fn run(args: MiniclusterArgs) -> anyhow::Result<i32> {
    let cluster = MiniCluster::start(args.config()?).await?;
    println!("Spindle minicluster running");
    println!(
        "  ResourceManager client address : {}",
        cluster.rm.client_address()
    );
    println!(
        "  scheduler address              : {}",
        cluster.rm.scheduler_address()
    );
    for nm in cluster.node_managers.iter().flatten() {
        println!("  NodeManager                    : {}", nm.node_id());
    }
    println!(
        "  client configuration           : {}",
        cluster.conf_dir().display()
    );
    println!();
    println!("  export HADOOP_CONF_DIR={}", cluster.conf_dir().display());
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    cluster.shutdown().await;
    Ok(0)
}
