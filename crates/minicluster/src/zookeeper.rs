//! A real Apache ZooKeeper server for tests and the fault suite: installed by
//! `scripts/ensure-zookeeper` (Debian's package) from this source tree, started on 127.0.0.1 on a
//! free port with its own data directory, stopped on drop. [`ZooKeeper::start`] panics (a test
//! that needs it fails, never skips) where [`ZooKeeper::try_start`] returns the reason. The RM's
//! tests include this file by path (the RM cannot depend on the minicluster).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ZooKeeper {
    child: Option<Child>,
    pub address: String,
    port: u16,
    config: PathBuf,
    classpath: String,
    _dir: tempfile::TempDir,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl ZooKeeper {
    /// Installs (if needed) and starts a server; panics with the reason if it cannot.
    pub fn start() -> Self {
        Self::try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Installs (if needed) and starts a server.
    pub fn try_start() -> Result<Self, String> {
        let script = repo_root().join("scripts/ensure-zookeeper");
        let output = Command::new(&script)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("{} does not run: {e}", script.display()))?;
        if !output.status.success() {
            return Err(format!("{} failed", script.display()));
        }
        let classpath = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let io = |e: std::io::Error| format!("ZooKeeper's directory: {e}");
        let dir = tempfile::tempdir().map_err(io)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io)?
            .port();
        let config = dir.path().join("zoo.cfg");
        std::fs::write(
            &config,
            format!(
                "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok\nmaxClientCnxns=0\n",
                dir.path().join("data").display()
            ),
        )
        .map_err(io)?;
        let mut zookeeper = Self {
            child: None,
            address: format!("127.0.0.1:{port}"),
            port,
            config,
            classpath,
            _dir: dir,
        };
        zookeeper.try_resume()?;
        Ok(zookeeper)
    }

    /// Starts the server (again, after [`ZooKeeper::stop`]) and waits until it answers.
    pub fn resume(&mut self) {
        self.try_resume().unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_resume(&mut self) -> Result<(), String> {
        let log_path = self.config.with_file_name("zookeeper.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{e}"))?;
        let child = Command::new("java")
            .args(["-Xmx128m", "-cp", &self.classpath])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&self.config)
            .stdout(log.try_clone().map_err(|e| format!("{e}"))?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("java does not start ZooKeeper: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "ZooKeeper did not answer on {} within 60 s: {}",
                    self.address,
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Stops the server (its data stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        if stream.write_all(b"ruok").is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer == "imok"
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        self.stop();
    }
}
