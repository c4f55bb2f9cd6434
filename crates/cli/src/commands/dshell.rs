//! `spindle dshell`: YARN's distributed shell, client and ApplicationMaster.
use std::path::Path;

#[derive(clap::Args)]
pub struct DshellArgs {}

#[derive(clap::Args)]
pub struct DshellAmArgs {}

pub async fn run(_conf_dir: Option<&Path>, _args: DshellArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}

pub async fn run_am(_args: DshellAmArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}
