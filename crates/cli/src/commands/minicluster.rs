//! `spindle minicluster`: an RM and N NMs in one process.

#[derive(clap::Args)]
pub struct MiniclusterArgs {}

pub async fn run(_args: MiniclusterArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}
