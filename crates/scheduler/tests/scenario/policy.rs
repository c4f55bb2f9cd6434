//! Scheduler policies in fixtures: a `config` or `reconfigure` line with `scheduler=capacity` or
//! `scheduler=fair` is followed by an indented block closed by `end`:
//!
//! ```text
//! config scheduler=capacity min=1024,1 max=16384,16
//!   root.queues=a,b                      (capacity: keys below yarn.scheduler.capacity.)
//!   root.a.capacity=50
//!   site yarn.acl.enable=true            (any policy: a yarn-site.xml property)
//! end
//! config scheduler=fair
//!   <allocations>                        (fair: the allocation file, as written)
//!     <queue name="prod"><weight>40</weight></queue>
//!   </allocations>
//!   site yarn.scheduler.fair.preemption=true
//! end
//! ```

use std::collections::BTreeMap;

use spindle_scheduler::{
    scheduler_config_from_files, SchedulerConfig, SchedulerFile, CAPACITY_SCHEDULER_CLASS,
    FAIR_SCHEDULER_CLASS, FIFO_SCHEDULER_CLASS, SHARE_WINDOW_KEY,
};

/// A `config`/`reconfigure` block's lines (indentation removed).
pub struct Block {
    pub lines: Vec<String>,
}

/// Builds the configuration a `config` line and its block describe; Err is the message the
/// configuration parser gave (what a user would see).
pub fn configure(
    base: SchedulerConfig,
    scheduler: &str,
    block: &Block,
) -> Result<SchedulerConfig, String> {
    let class = match scheduler {
        "fifo" => FIFO_SCHEDULER_CLASS,
        "capacity" => CAPACITY_SCHEDULER_CLASS,
        "fair" => FAIR_SCHEDULER_CLASS,
        other => return Err(format!("unknown scheduler '{other}'")),
    };
    let mut site = BTreeMap::new();
    let mut file_lines = Vec::new();
    for line in &block.lines {
        match line.strip_prefix("site ") {
            Some(property) => {
                let (key, value) = property
                    .split_once('=')
                    .ok_or_else(|| format!("site line '{line}' must be key=value"))?;
                site.insert(key.trim().to_string(), value.trim().to_string());
            }
            None => file_lines.push(line.clone()),
        }
    }
    let text = match scheduler {
        "capacity" => {
            let mut xml = String::from("<configuration>\n");
            for line in &file_lines {
                let (key, value) = line
                    .split_once('=')
                    .ok_or_else(|| format!("capacity line '{line}' must be key=value"))?;
                let key = key.trim();
                let key = if key.starts_with("yarn.") {
                    key.to_string()
                } else {
                    format!("yarn.scheduler.capacity.{key}")
                };
                // The value as written: Hadoop keeps blanks (an ACL of " " allows no one).
                xml.push_str(&format!(
                    "  <property><name>{key}</name><value>{value}</value></property>\n"
                ));
            }
            xml.push_str("</configuration>\n");
            Some(xml)
        }
        "fair" if !file_lines.is_empty() => Some(file_lines.join("\n")),
        _ => None,
    };
    // Fixtures advance the clock only where they test time: without a share window, room
    // beyond an application's steady share goes out as soon as it is entitled to it (the
    // window's own fixture sets `site spindle.scheduler.share-window-ms`).
    site.entry(SHARE_WINDOW_KEY.to_string())
        .or_insert_with(|| "0".to_string());
    let source = format!("{scheduler}-scheduler.xml");
    let file = text.as_deref().map(|text| SchedulerFile {
        source_name: &source,
        text,
    });
    scheduler_config_from_files(class, &site, file, base.rm_epoch, base.limits)
        .map_err(|error| error.to_string())
}
