//! A throw-away etcd for tests: [`EtcdServer::start`] runs the `etcd` found on `PATH` on
//! 127.0.0.1 with free ports and a temporary data directory, and kills it when dropped.
//!
//! Used by this crate's etcd tests and by the API server's tests that need etcd (HA, the
//! end-to-end etcd backend test). There is no fallback: without `etcd` the tests fail and say
//! how to install it (`scripts/setup.sh`, Debian package `etcd-server`).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::StoreError;
use crate::etcd::{EtcdConfig, EtcdStore};

/// How long etcd may take from spawn to answering `/health`.
pub const READY_DEADLINE: Duration = Duration::from_secs(30);

/// The `--max-request-bytes` the test etcd runs with: above etcd's 1.5 MiB default, so that a
/// 1.5 MiB object (the Kubernetes limit) plus its key and the request around it fits.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// TLS on the test etcd's client port (PEM files).
#[derive(Clone, Debug)]
pub struct EtcdServerTls {
    /// The serving certificate (must name 127.0.0.1).
    pub cert_file: PathBuf,
    /// Its key.
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by this CA.
    pub client_ca_file: Option<PathBuf>,
}

/// A running (or stopped, see [`EtcdServer::stop`]) single-member etcd.
pub struct EtcdServer {
    child: Option<Child>,
    binary: PathBuf,
    client_port: u16,
    peer_port: u16,
    /// Plain HTTP port serving `/health` (and `/metrics`), polled for readiness.
    metrics_port: u16,
    tls: Option<EtcdServerTls>,
    // Holds the data directory and the log; removed on drop, after the process is gone.
    dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until it answers. Panics (failing the test) with a clear message
    /// if etcd is not installed or does not come up.
    pub fn start() -> EtcdServer {
        Self::start_inner(None)
    }

    /// As [`start`](Self::start), with TLS on the client port (the endpoint is then `https`).
    pub fn start_with_tls(tls: EtcdServerTls) -> EtcdServer {
        Self::start_inner(Some(tls))
    }

    fn start_inner(tls: Option<EtcdServerTls>) -> EtcdServer {
        let binary = find_etcd().unwrap_or_else(|| {
            panic!(
                "etcd not found on PATH: the etcd store tests need a real etcd; install it with \
                 scripts/setup.sh (Debian package etcd-server)"
            )
        });
        // A free port found by binding port 0 may be taken again before etcd binds it: retry
        // with new ports when etcd exits during start-up.
        let mut last_log = String::new();
        for _ in 0..3 {
            let [client_port, peer_port, metrics_port] = free_ports();
            let mut server = EtcdServer {
                child: None,
                binary: binary.clone(),
                client_port,
                peer_port,
                metrics_port,
                tls: tls.clone(),
                dir: tempfile::Builder::new()
                    .prefix("warren-etcd-")
                    .tempdir()
                    .expect("temporary directory for etcd"),
            };
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(log) => last_log = log,
            }
        }
        panic!("etcd did not start (three attempts); last log:\n{last_log}");
    }

    /// `127.0.0.1:PORT`, the client endpoint (as `--store etcd://…` takes it).
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.endpoint())
    }

    /// The data directory (kept across [`stop`](Self::stop) and
    /// [`start_again`](Self::start_again)).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Everything etcd has logged (all runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Connects an [`EtcdStore`] (without TLS) to this etcd under `prefix`, with a request deadline of
    /// `timeout`.
    pub async fn store(&self, prefix: &str, timeout: Duration) -> Result<EtcdStore, StoreError> {
        let mut config = EtcdConfig::new(vec![self.endpoint()], prefix);
        config.request_timeout = timeout;
        EtcdStore::connect(config).await
    }

    /// Kills etcd (SIGKILL, as a crash) and waits for it; the data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same ports and data directory, and waits until it answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "etcd is still running");
        if let Err(log) = self.spawn_and_wait() {
            panic!(
                "etcd did not start again on port {}; log:\n{log}",
                self.client_port
            );
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    /// Spawns etcd and polls `/health` (on the plain metrics port) until it answers (bounded); on failure returns the log.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("etcd log file");
        let client = self.url();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut command = Command::new(&self.binary);
        command
            .arg("--name=default")
            .arg(format!("--data-dir={}", self.data_dir().display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=default={peer}"))
            .arg(format!(
                "--listen-metrics-urls=http://127.0.0.1:{}",
                self.metrics_port
            ))
            .arg(format!("--max-request-bytes={MAX_REQUEST_BYTES}"))
            .arg("--logger=zap")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("etcd log file"))
            .stderr(log);
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cert-file={}", tls.cert_file.display()))
                .arg(format!("--key-file={}", tls.key_file.display()));
            if let Some(ca) = &tls.client_ca_file {
                command
                    .arg("--client-cert-auth")
                    .arg(format!("--trusted-ca-file={}", ca.display()));
            }
        }
        // Clear ETCD_* settings of the caller's environment: flags only.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ETCD_") {
                command.env_remove(name);
            }
        }
        if cfg!(target_arch = "aarch64") {
            // etcd 3.4 refuses to run on arm64 unless told.
            command.env("ETCD_UNSUPPORTED_ARCH", "arm64");
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", self.binary.display()));
        self.child = Some(child);

        let end = Instant::now() + READY_DEADLINE;
        loop {
            if healthy(self.metrics_port) {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!("etcd exited with {status}:\n{}", self.log()));
            }
            if Instant::now() > end {
                self.stop();
                return Err(format!(
                    "etcd did not answer /health within {READY_DEADLINE:?}:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "----- etcd log ({}) -----\n{}----- end of etcd log -----",
                self.endpoint(),
                self.log()
            );
        }
    }
}

/// `etcd` on `PATH`.
fn find_etcd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `N` distinct ports free on 127.0.0.1 (all bound at once, then released).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] = std::array::from_fn(|_| {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0")
    });
    listeners.map(|l| l.local_addr().expect("local address").port())
}

/// Whether etcd answers `GET /health` with `"health":"true"`.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.replace(' ', "").contains("\"health\":\"true\"")
}
