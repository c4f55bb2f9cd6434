//! `spindle minicluster`: an RM and N NMs in one process, with a client configuration directory.
//! `--conf-dir DIR` configures the RM as `spindle resourcemanager --conf-dir DIR` would be: the
//! scheduler class and its files, and the RM keys of DIR's yarn-site.xml.

use std::path::{Path, PathBuf};

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
    /// The cluster's configuration; `conf_dir` is the RM's configuration directory (without
    /// one, YARN's defaults: the CapacityScheduler with one queue, root.default).
    pub fn config(&self, conf_dir: Option<&Path>) -> anyhow::Result<MiniClusterConfig> {
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
        config.rm_conf_dir = conf_dir.map(std::path::absolute).transpose()?;
        Ok(config)
    }
}

pub async fn run(conf_dir: Option<&Path>, args: MiniclusterArgs) -> anyhow::Result<i32> {
    super::fatal_panics::install("minicluster");
    let cluster = MiniCluster::start(args.config(conf_dir)?).await?;
    println!("Spindle minicluster running");
    println!(
        "  ResourceManager client address : {}",
        cluster.rm.client_address()
    );
    println!(
        "  scheduler address              : {}",
        cluster.rm.scheduler_address()
    );
    if let Some(web) = cluster.rm.web_address() {
        println!("  web UI and REST API            : http://{web}/cluster");
    }
    let scheduler = cluster.scheduler_source();
    println!("  scheduler                      : {}", scheduler.class);
    let file = match &scheduler.file {
        None => "none".to_string(),
        Some(file) if scheduler.file_exists => file.display().to_string(),
        Some(file) => format!("{} (absent: YARN's defaults)", file.display()),
    };
    println!("  scheduler file                 : {file}");
    println!(
        "  RM configuration               : {}",
        cluster.rm_conf_dir().display()
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
    let signal = super::stop_signal::stop_requested().await?;
    println!("minicluster stopping on {signal}");
    cluster.shutdown().await;
    Ok(0)
}
