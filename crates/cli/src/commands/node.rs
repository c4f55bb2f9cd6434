//! `spindle node`.
use std::path::Path;

pub async fn run(_conf_dir: Option<&Path>, _args: &[String]) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}
