//! Rack awareness as Hadoop configures it: `net.topology.script.file.name` (a script that maps
//! host names or addresses to rack paths) or `net.topology.table.file.name` (a two-column file
//! read by `TableMapping`); without either, every node is in `/default-rack`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

/// The rack of every node until a topology is configured.
pub const DEFAULT_RACK: &str = "/default-rack";

/// Why a topology could not be loaded (reported at RM start).
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("net.topology.table.file.name: cannot read {path}: {source}")]
    Table {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("net.topology.table.file.name: {path}:{line}: expected '<host> <rack>', got '{text}'")]
    TableLine {
        path: PathBuf,
        line: usize,
        text: String,
    },
}

/// Resolves host names to racks.
#[derive(Debug, Clone, Default)]
pub enum RackResolver {
    #[default]
    Default,
    /// `net.topology.script.file.name`: run with host names as arguments; one rack per line out.
    Script(PathBuf),
    /// `net.topology.table.file.name`: host -> rack, unknown hosts in `/default-rack`.
    Table(HashMap<String, String>),
}

impl RackResolver {
    /// The resolver the configuration asks for (the script wins when both are set, as in Hadoop's
    /// default ScriptBasedMapping).
    pub fn from_keys(script: Option<&str>, table: Option<&str>) -> Result<Self, TopologyError> {
        if let Some(script) = script.filter(|s| !s.trim().is_empty()) {
            return Ok(Self::Script(PathBuf::from(script.trim())));
        }
        let Some(table) = table.filter(|t| !t.trim().is_empty()) else {
            return Ok(Self::Default);
        };
        let path = PathBuf::from(table.trim());
        let text = std::fs::read_to_string(&path).map_err(|source| TopologyError::Table {
            path: path.clone(),
            source,
        })?;
        Self::parse_table(&path, &text).map(Self::Table)
    }

    fn parse_table(
        path: &std::path::Path,
        text: &str,
    ) -> Result<HashMap<String, String>, TopologyError> {
        let mut map = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(host), Some(rack), None) if rack.starts_with('/') => {
                    map.insert(host.to_string(), rack.to_string());
                }
                _ => {
                    return Err(TopologyError::TableLine {
                        path: path.to_path_buf(),
                        line: index + 1,
                        text: line.to_string(),
                    })
                }
            }
        }
        Ok(map)
    }

    /// The rack of `host`. A script that fails or prints nothing usable puts the host in
    /// `/default-rack` (with a warning), as Hadoop does.
    pub fn resolve(&self, host: &str) -> String {
        match self {
            Self::Default => DEFAULT_RACK.to_string(),
            Self::Table(map) => map
                .get(host)
                .cloned()
                .unwrap_or_else(|| DEFAULT_RACK.to_string()),
            Self::Script(script) => match Command::new(script).arg(host).output() {
                Ok(out) if out.status.success() => {
                    let text = String::from_utf8_lossy(&out.stdout);
                    match text.split_whitespace().next() {
                        Some(rack) if rack.starts_with('/') => rack.to_string(),
                        _ => {
                            tracing::warn!(
                                "topology script {} printed no rack for {host}: '{}'",
                                script.display(),
                                text.trim()
                            );
                            DEFAULT_RACK.to_string()
                        }
                    }
                }
                Ok(out) => {
                    tracing::warn!(
                        "topology script {} failed for {host} with {}",
                        script.display(),
                        out.status
                    );
                    DEFAULT_RACK.to_string()
                }
                Err(e) => {
                    tracing::warn!("cannot run topology script {}: {e}", script.display());
                    DEFAULT_RACK.to_string()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_map_hosts_and_default_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topology.table");
        std::fs::write(&path, "# host rack\nh1 /rack1\n10.0.0.2\t/rack2\n\n").unwrap();
        let r = RackResolver::from_keys(None, Some(path.to_str().unwrap())).unwrap();
        assert_eq!(r.resolve("h1"), "/rack1");
        assert_eq!(r.resolve("10.0.0.2"), "/rack2");
        assert_eq!(r.resolve("h9"), DEFAULT_RACK);
    }

    #[test]
    fn malformed_tables_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "h1 /rack1\nh2 rack-without-slash\n").unwrap();
        let e = RackResolver::from_keys(None, Some(path.to_str().unwrap()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2:") && e.contains("rack-without-slash"), "{e}");
        let e = RackResolver::from_keys(None, Some("/nonexistent/t"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/t"), "{e}");
    }

    #[test]
    fn scripts_decide_and_failures_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("topology.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\ncase \"$1\" in h1) echo /rackA;; h2) exit 3;; *) echo nonsense;; esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let r = RackResolver::from_keys(Some(script.to_str().unwrap()), None).unwrap();
        assert_eq!(r.resolve("h1"), "/rackA");
        assert_eq!(r.resolve("h2"), DEFAULT_RACK);
        assert_eq!(r.resolve("h3"), DEFAULT_RACK);
        assert_eq!(RackResolver::Default.resolve("anything"), DEFAULT_RACK);
    }
}
