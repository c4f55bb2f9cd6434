//! `spindle demo`: a minicluster running distributed-shell applications.

#[derive(clap::Args)]
pub struct DemoArgs {}

pub async fn run(_args: DemoArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}
