//! Several "machines" on one Linux host, for multi-host tests: a private switch namespace holding
//! a bridge, and one network namespace per host, each wired to the bridge by a veth pair and
//! given its own address in a private /24. Addresses, links and routes exist only inside the
//! namespaces made here (nothing is added to the root namespace); names carry the process id and
//! a counter, so tests running at once and leftovers of a killed run never clash; dropping the
//! [`Network`] stops every process left in its namespaces and deletes them (the veths and the
//! bridge go with them), also when a test panics.
//!
//! Creating namespaces needs root and `ip` from iproute2. Without them the harness fails the test
//! with the reason, unless `SPINDLE_SKIP_NETNS=1` is set: then it prints why and the test returns.

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// iproute2's `ip`.
pub const IP: &str = "/usr/sbin/ip";

/// Set to `1` to let multi-host tests return (with a message) where namespaces cannot be made.
pub const SKIP_VARIABLE: &str = "SPINDLE_SKIP_NETNS";

/// Networks made by this process so far: the counter in names and the subnet's third octet.
static NETWORKS: AtomicU32 = AtomicU32::new(0);

/// `ip netns add` mounts /run/netns on first use; tests creating namespaces at once take turns.
static CREATING: Mutex<()> = Mutex::new(());

/// The bridge in the switch namespace.
const BRIDGE: &str = "br0";

/// Each host's end of its veth pair, inside the host's namespace.
pub const HOST_INTERFACE: &str = "eth0";

/// Runs `ip ARGS`; its output, or an error naming the command.
fn ip(args: &[&str]) -> Result<Output, String> {
    let output = Command::new(IP)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run {IP}: {error}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Runs `ip ARGS`, panicking with the command and its error if it fails.
fn must(args: &[&str]) {
    if let Err(error) = ip(args) {
        panic!("setting up the test network: {error}");
    }
}

/// The (device, inode) of a network namespace file: /run/netns/NAME or /proc/PID/ns/net.
fn namespace_identity(path: &str) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Processes whose network namespace is `netns` (as `ip netns pids` finds them).
pub fn pids_in(netns: &str) -> Vec<i32> {
    let Some(target) = namespace_identity(&format!("/run/netns/{netns}")) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| namespace_identity(&format!("/proc/{pid}/ns/net")) == Some(target))
        .collect()
}

/// One machine: a network namespace with `lo` and one interface on the switch.
pub struct Host {
    /// What the test calls it (`rm`, `nm-1`, ...).
    pub label: String,
    /// The namespace's name (for `ip netns exec`).
    pub netns: String,
    /// Its address on the switch.
    pub address: Ipv4Addr,
    /// The switch's end of this host's veth pair (its "port" on the switch).
    switch_port: String,
    /// The switch namespace.
    switch: String,
}

impl Host {
    /// `ip netns exec NETNS PROGRAM`: `PROGRAM` runs on this host (`ip` execs it, so the child's
    /// pid is the program's own).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(IP);
        command.args(["netns", "exec", &self.netns]).arg(program);
        command
    }

    /// Processes running on this host.
    pub fn pids(&self) -> Vec<i32> {
        pids_in(&self.netns)
    }

    /// Pulls this host's cable out of the switch: its port goes down, so nothing reaches it or
    /// leaves it (packets are dropped, connections hang, as with a failed link) until
    /// [`Host::reconnect`].
    pub fn disconnect(&self) {
        must(&["-n", &self.switch, "link", "set", &self.switch_port, "down"]);
    }

    /// Plugs the cable back in.
    pub fn reconnect(&self) {
        must(&["-n", &self.switch, "link", "set", &self.switch_port, "up"]);
    }
}

/// A switch and the hosts on it; everything is removed on drop.
pub struct Network {
    switch: String,
    hosts: Vec<Host>,
}

/// Why the test cannot make namespaces: it fails with `reason`, or with `SPINDLE_SKIP_NETNS=1`
/// prints it and yields `None`.
fn unavailable(reason: &str) -> Option<Network> {
    if std::env::var(SKIP_VARIABLE).as_deref() == Ok("1") {
        eprintln!("skipping this multi-host test ({SKIP_VARIABLE}=1): {reason}");
        return None;
    }
    panic!(
        "multi-host tests need Linux network namespaces: {reason}. Run them as root with \
         iproute2's `ip` at {IP}, or set {SKIP_VARIABLE}=1 to skip them"
    );
}

impl Network {
    /// A switch and one host per label, host `i` at 10.231.N.(i+1)/24 where N counts this
    /// process's networks (each network is its own set of namespaces, so subnets never meet;
    /// the distinct N only keeps logs unambiguous). `None` only when namespaces are unavailable
    /// and `SPINDLE_SKIP_NETNS=1`.
    pub fn create(labels: &[&str]) -> Option<Network> {
        assert!(labels.len() < 254, "one /24 per network");
        if !nix::unistd::Uid::effective().is_root() {
            return unavailable("the test does not run as root");
        }
        let number = NETWORKS.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("spindle-{}-{number}", std::process::id());
        let switch = format!("{prefix}-switch");
        let _turn = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = ip(&["netns", "add", &switch]) {
            return unavailable(&error);
        }
        // From here on, dropping `network` removes whatever was made, should a step fail.
        let mut network = Network {
            switch: switch.clone(),
            hosts: Vec::new(),
        };
        must(&["-n", &switch, "link", "set", "lo", "up"]);
        must(&["-n", &switch, "link", "add", BRIDGE, "type", "bridge"]);
        must(&["-n", &switch, "link", "set", BRIDGE, "up"]);
        for (index, label) in labels.iter().enumerate() {
            let netns = format!("{prefix}-{label}");
            let address = Ipv4Addr::new(10, 231, (number % 256) as u8, index as u8 + 1);
            must(&["netns", "add", &netns]);
            let switch_port = format!("port{index}");
            network.hosts.push(Host {
                label: label.to_string(),
                netns: netns.clone(),
                address,
                switch_port: switch_port.clone(),
                switch: switch.clone(),
            });
            // The pair is made in the switch namespace, its host end moved into the host's.
            must(&[
                "-n",
                &switch,
                "link",
                "add",
                &switch_port,
                "type",
                "veth",
                "peer",
                "name",
                HOST_INTERFACE,
                "netns",
                &netns,
            ]);
            must(&[
                "-n",
                &switch,
                "link",
                "set",
                &switch_port,
                "master",
                BRIDGE,
                "up",
            ]);
            must(&[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                HOST_INTERFACE,
            ]);
            must(&["-n", &netns, "link", "set", HOST_INTERFACE, "up"]);
            must(&["-n", &netns, "link", "set", "lo", "up"]);
        }
        Some(network)
    }

    /// The host with `label`.
    pub fn host(&self, label: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.label == label)
            .unwrap_or_else(|| panic!("no host {label}"))
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Every process still on a host (daemons the test did not stop, the containers of a
        // killed NodeManager) was started by this test: kill them, so the namespaces go away
        // with their names.
        for host in &self.hosts {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let pids = host.pids();
                if pids.is_empty() || Instant::now() > deadline {
                    break;
                }
                for pid in pids {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Deleting a host's namespace deletes its veth pair; the switch's goes with the bridge.
        for host in &self.hosts {
            if let Err(error) = ip(&["netns", "delete", &host.netns]) {
                eprintln!("cleaning up the test network: {error}");
            }
        }
        if let Err(error) = ip(&["netns", "delete", &self.switch]) {
            eprintln!("cleaning up the test network: {error}");
        }
    }
}
