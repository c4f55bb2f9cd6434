//! A real Apache ZooKeeper server for tests: installed by `scripts/ensure-zookeeper` (Debian's
//! package), started on 127.0.0.1 on a free port with its own data directory, stopped on drop.
//! A test that needs it fails, never skips, when it cannot be installed or started.

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
    pub fn start() -> Self {
        let output = Command::new(repo_root().join("scripts/ensure-zookeeper"))
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/ensure-zookeeper runs");
        assert!(output.status.success(), "scripts/ensure-zookeeper failed");
        let classpath = String::from_utf8(output.stdout).unwrap().trim().to_string();
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
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
        .unwrap();
        let mut zookeeper = Self {
            child: None,
            address: format!("127.0.0.1:{port}"),
            port,
            config,
            classpath,
            _dir: dir,
        };
        zookeeper.resume();
        zookeeper
    }

    /// Starts the server (again, after [`ZooKeeper::stop`]) and waits until it answers.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.config.with_file_name("zookeeper.log")).unwrap();
        let child = Command::new("java")
            .args(["-Xmx128m", "-cp", &self.classpath])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&self.config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("java starts ZooKeeper");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "ZooKeeper did not answer on {} within 60 s: {}",
                self.address,
                std::fs::read_to_string(self.config.with_file_name("zookeeper.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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
