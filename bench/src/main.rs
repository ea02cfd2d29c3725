//! `warren-bench`: measures a real `tenant-apiserver` process over loopback with kube-rs.
//!
//! Run: `cargo build --release -p tenant-apiserver -p warren-bench && target/release/warren-bench`.
//! Prints a Markdown table (the rows of BENCHMARKS.md). Every figure comes from this run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};
use kube::{Client, Config};

struct Server {
    child: Child,
    kubeconfig: PathBuf,
    ready_after: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent().expect("bin dir").join("tenant-apiserver")
}

fn start(dir: &Path) -> Result<Server> {
    start_with(dir, &[])
}

fn start_with(dir: &Path, extra: &[&str]) -> Result<Server> {
    let t0 = Instant::now();
    let mut child = Command::new(binary())
        .args([
            "--data-dir",
            dir.to_str().expect("utf-8 path"),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("WARREN_LOG", "warn,tenant_apiserver=info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("spawn {}", binary().display()))?;
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("ready url=") => break,
            Some(Ok(_)) => continue,
            _ => bail!("server exited before it was ready"),
        }
    }
    let ready_after = t0.elapsed();
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        kubeconfig: dir.join("admin.kubeconfig"),
        ready_after,
    })
}

async fn client(kubeconfig: &Path) -> Result<Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok(Client::try_from(config)?)
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?)
}

fn cm(name: String) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name),
            ..Default::default()
        },
        data: Some(
            [("key".to_string(), "value".repeat(8))]
                .into_iter()
                .collect(),
        ),
        ..Default::default()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn create_namespace(client: &Client, name: &str) -> Result<()> {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// Creates `count` ConfigMaps in `ns` with `workers` concurrent clients; returns creates/s.
async fn create_many(
    client: &Client,
    ns: &str,
    prefix: &str,
    count: usize,
    workers: usize,
) -> Result<f64> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let api = api.clone();
        let next = next.clone();
        let prefix = prefix.to_string();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, kube::Error>(());
                }
                api.create(&PostParams::default(), &cm(format!("{prefix}-{i}")))
                    .await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(count as f64 / t0.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<()> {
    let workers = 32;
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // Start to ready: first start (makes the PKI) and restart on the same data.
    let mut first = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir()?;
        let s = start(dir.path())?;
        first.push(s.ready_after.as_secs_f64() * 1000.0);
        drop(s);
        let s = start(dir.path())?;
        warm.push(s.ready_after.as_secs_f64() * 1000.0);
    }
    rows.push((
        "start to ready, first start (new PKI), median of 5".into(),
        format!("{:.1} ms", median(first)),
        "< 100 ms".into(),
    ));
    rows.push((
        "start to ready, restart on existing data, median of 5".into(),
        format!("{:.1} ms", median(warm)),
        "< 100 ms".into(),
    ));

    let dir = tempfile::tempdir()?;
    let server = start(dir.path())?;
    let pid = server.child.id();
    let client = client(&server.kubeconfig).await?;
    // Idle: let start-up settle, then read the resident set.
    tokio::time::sleep(Duration::from_secs(2)).await;
    rows.push((
        "idle RSS after start".into(),
        format!("{:.1} MiB", rss_kib(pid)? as f64 / 1024.0),
        "< 30 MiB".into(),
    ));

    create_namespace(&client, "bench").await?;
    let creates = create_many(&client, "bench", "c", 5000, workers).await?;
    rows.push((
        format!("creates/s (ConfigMap, {workers} concurrent clients, 5000 objects)"),
        format!("{creates:.0}"),
        "≥ kube-apiserver on etcd".into(),
    ));

    // Gets.
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "bench");
    let total_gets = 10_000usize;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..total_gets).step_by(workers) {
                api.get(&format!("c-{}", i % 5000)).await?;
            }
            Ok::<_, kube::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    rows.push((
        format!("gets/s ({workers} concurrent clients)"),
        format!("{:.0}", total_gets as f64 / t0.elapsed().as_secs_f64()),
        "".into(),
    ));

    // Lists of 1k and 10k objects.
    create_namespace(&client, "list1k").await?;
    create_many(&client, "list1k", "l", 1000, workers).await?;
    create_namespace(&client, "list10k").await?;
    create_many(&client, "list10k", "l", 10_000, workers).await?;
    for (ns, n) in [("list1k", 1000usize), ("list10k", 10_000)] {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        let mut times = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            let list = api.list(&ListParams::default()).await?;
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            // Every namespace also holds its kube-root-ca.crt ConfigMap.
            if list.items.len() != n + 1 {
                bail!(
                    "list of {ns} returned {} items, expected {n}",
                    list.items.len()
                );
            }
        }
        rows.push((
            format!("list of {n} ConfigMaps, median of 5"),
            format!("{:.1} ms", median(times)),
            "".into(),
        ));
    }

    // Watch fan-out: 100 watchers, 50 updates; latency from write ack to delivery.
    create_namespace(&client, "watch").await?;
    let wapi: Api<ConfigMap> = Api::namespaced(client.clone(), "watch");
    let created = wapi.create(&PostParams::default(), &cm("w".into())).await?;
    let start_rv = created
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let watchers = 100usize;
    let updates = 50usize;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let mut handles = Vec::new();
    for _ in 0..watchers {
        let api = wapi.clone();
        let tx = tx.clone();
        let rv = start_rv.clone();
        handles.push(tokio::spawn(async move {
            let mut stream = api
                .watch(&WatchParams::default().timeout(120), &rv)
                .await?
                .boxed();
            let mut seen = 0;
            while let Some(ev) = stream.try_next().await? {
                if let WatchEvent::Modified(o) = ev {
                    let _ = tx.send((
                        o.metadata.resource_version.unwrap_or_default(),
                        Instant::now(),
                    ));
                    seen += 1;
                    if seen == updates {
                        break;
                    }
                }
            }
            Ok::<_, kube::Error>(())
        }));
    }
    drop(tx);
    // Let every watcher connect: the first update is a warm-up whose deliveries we count too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = std::collections::HashMap::new();
    for i in 0..updates {
        let mut obj = wapi.get("w").await?;
        obj.data = Some([("i".to_string(), i.to_string())].into_iter().collect());
        let t = Instant::now();
        let out = wapi.replace("w", &PostParams::default(), &obj).await?;
        sent.insert(out.metadata.resource_version.unwrap_or_default(), t);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut lat = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while lat.len() < watchers * updates && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some((rv, at))) => {
                if let Some(t) = sent.get(&rv) {
                    lat.push(at.saturating_duration_since(*t).as_secs_f64() * 1000.0);
                }
            }
            _ => break,
        }
    }
    for h in handles {
        let _ = h.await;
    }
    if lat.len() < watchers * updates {
        bail!(
            "only {} of {} watch deliveries arrived",
            lat.len(),
            watchers * updates
        );
    }
    rows.push((
        format!(
            "watch fan-out, {watchers} watchers × {updates} updates: p50 / p99 write-to-delivery"
        ),
        format!(
            "{:.2} ms / {:.2} ms",
            percentile(lat.clone(), 0.5),
            percentile(lat, 0.99)
        ),
        "".into(),
    ));
    rows.push((
        "RSS after the runs above (16k objects)".into(),
        format!("{:.1} MiB", rss_kib(pid)? as f64 / 1024.0),
        "".into(),
    ));

    println!("| measure | result | target |\n|---|---|---|");
    for (m, r, t) in rows {
        println!("| {m} | {r} | {t} |");
    }
    drop(server);

    // The two stores side by side, in this one run: the embedded store and a real etcd
    // (Debian's etcd-server, started here on 127.0.0.1).
    let embedded_dir = tempfile::tempdir()?;
    let embedded = backend_figures(embedded_dir.path(), &[]).await?;
    let etcd = warren_store::etcd_harness::EtcdServer::start();
    let etcd_dir = tempfile::tempdir()?;
    let store = format!("etcd://{}/bench", etcd.endpoint());
    let on_etcd = backend_figures(etcd_dir.path(), &["--store", &store]).await?;
    println!("\n| measure | embedded (redb) | etcd 3.4 |\n|---|---|---|");
    for ((m, a), (_, b)) in embedded.into_iter().zip(on_etcd) {
        println!("| {m} | {a} | {b} |");
    }
    Ok(())
}

/// The figures compared between stores: creates/s, gets/s, a list of 10 000 objects and the
/// latency of one watcher.
async fn backend_figures(dir: &Path, args: &[&str]) -> Result<Vec<(String, String)>> {
    let workers = 32;
    let server = start_with(dir, args)?;
    let client = client(&server.kubeconfig).await?;
    let mut out = Vec::new();
    create_namespace(&client, "side").await?;
    let creates = create_many(&client, "side", "c", 10_000, workers).await?;
    out.push((
        format!("creates/s (ConfigMap, {workers} concurrent clients, 10 000 objects)"),
        format!("{creates:.0}"),
    ));
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "side");
    let total_gets = 10_000usize;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..total_gets).step_by(workers) {
                api.get(&format!("c-{i}")).await?;
            }
            Ok::<_, kube::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    out.push((
        format!("gets/s ({workers} concurrent clients)"),
        format!("{:.0}", total_gets as f64 / t0.elapsed().as_secs_f64()),
    ));
    let mut times = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let list = api.list(&ListParams::default()).await?;
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        if list.items.len() != 10_001 {
            bail!("list returned {} items, expected 10001", list.items.len());
        }
    }
    out.push((
        "list of 10 000 ConfigMaps, median of 5".into(),
        format!("{:.1} ms", median(times)),
    ));
    // One watcher, 200 updates one after the other: write acknowledged → event delivered.
    let created = api
        .create(&PostParams::default(), &cm("watched".into()))
        .await?;
    let rv = created
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let mut stream = api
        .watch(&WatchParams::default().timeout(120), &rv)
        .await?
        .boxed();
    let mut lat = Vec::new();
    for i in 0..200 {
        let mut obj = api.get("watched").await?;
        obj.data = Some([("i".to_string(), i.to_string())].into_iter().collect());
        let t = Instant::now();
        let written = api.replace("watched", &PostParams::default(), &obj).await?;
        let want = written.metadata.resource_version.unwrap_or_default();
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
                .await
                .context("watch event within 10 s")??
                .context("watch ended")?;
            if let WatchEvent::Modified(o) = ev
                && o.metadata.resource_version.as_deref() == Some(want.as_str())
            {
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    out.push((
        "watch latency, 1 watcher × 200 updates: p50 / p99 (from sending the write)".into(),
        format!(
            "{:.2} ms / {:.2} ms",
            percentile(lat.clone(), 0.5),
            percentile(lat, 0.99)
        ),
    ));
    Ok(out)
}
