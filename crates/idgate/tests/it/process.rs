//! Running the real `idgate` binary as child processes: servers and CLI commands.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::harness::{MASTER, TestDb};

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub logs: Arc<Mutex<String>>,
}

/// Starts `idgate serve` (trace-level JSON logs captured) and waits for its address.
/// Rate limits are off (tests send many codes to one number).
pub fn spawn_server(dir: &std::path::Path, db: &TestDb) -> Server {
    spawn_server_env(dir, db, &[])
}

/// [`spawn_server`] with extra environment (e.g. `IDGATE_LIMITS__ENABLED=true` for a
/// test of the limits themselves); later entries win.
pub fn spawn_server_env(dir: &std::path::Path, db: &TestDb, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.arg("serve")
        .current_dir(dir)
        .env_remove("IDGATE_CONFIG")
        .env_remove("RUST_LOG")
        .env("IDGATE_DATA_DIR", dir.join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", MASTER)
        .env("IDGATE_SERVER__LISTEN", "127.0.0.1:0")
        .env("IDGATE_LOG__FORMAT", "json")
        .env("IDGATE_LOG__LEVEL", "trace")
        .env("IDGATE_LIMITS__ENABLED", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("idgate listening")
                && let Ok(v) = serde_json::from_str::<Value>(&line)
            {
                let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_string());
            }
            let mut l = sink.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    let stdout = child.stdout.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut l = sink.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("server announced its address");
    Server { child, addr, logs }
}

/// Runs an `idgate` command that must succeed; returns its stdout.
pub fn cli(dir: &std::path::Path, db: &TestDb, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("IDGATE_CONFIG")
        .env("IDGATE_DATA_DIR", dir.join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", MASTER);
    if let Some(url) = &db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

impl Server {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM, then wait for the process to exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
