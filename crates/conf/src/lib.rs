//! Hadoop-style XML configuration (yarn-site.xml, core-site.xml) with YARN's keys and defaults.
//!
//! * [`Configuration`] layers resources (later overrides earlier, except `final` keys), expands
//!   `${var}` like Hadoop, and offers typed getters whose errors name the key and the value.
//! * [`keys`] names the keys Spindle reads and holds YARN's defaults; [`RmConfig`] and
//!   [`NmConfig`] are the validated settings of the two daemons.
//! * [`rm_addresses`] lists every RM's address for a service (one per rm-id with RM HA) and
//!   [`RmFailoverSettings`] holds the numbers of the client failover policy.
//! * [`write_site_xml`] writes a site file the Java clients read (client configuration directories).
//!
//! Open first: `configuration.rs` (layering), then `xml_reader.rs` (the accepted XML).

mod configuration;
mod daemon_values;
mod error;
mod host_port;
pub mod keys;
mod nm_config;
mod rm_config;
mod rm_ha;
mod site_writer;
mod substitution;
mod typed_values;
mod xml_reader;

pub use configuration::{
    site_file_paths, Configuration, CONF_DIR_VARIABLES, SITE_FILE_NAMES, YARN_DEFAULTS_SOURCE,
};
pub use daemon_values::AuthenticationMethod;
pub use error::ConfError;
pub use host_port::{HostPort, HostPortParseError};
pub use nm_config::NmConfig;
pub use rm_config::RmConfig;
pub use rm_ha::{
    is_ha_enabled, rm_address_for_id, rm_addresses, rm_ids, RmAddress, RmFailoverSettings,
    RmService,
};
pub use site_writer::{site_xml_string, write_site_xml};
pub use substitution::{Environment, MAX_SUBSTITUTION_DEPTH};
pub use typed_values::{parse_bool, parse_duration, parse_i64, parse_strings, DurationUnit};
pub use xml_reader::{parse_configuration_xml, ParsedProperty};
