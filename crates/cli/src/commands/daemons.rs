//! `spindle resourcemanager` and `spindle nodemanager`.
use std::path::Path;

pub async fn resourcemanager(_conf_dir: Option<&Path>) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}

pub async fn nodemanager(_conf_dir: Option<&Path>) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}
