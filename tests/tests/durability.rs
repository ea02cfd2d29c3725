//! Durability: every acknowledged write survives a SIGKILL; resourceVersions keep
//! increasing across a restart; a watch resumed from a version seen before the kill
//! delivers every write made after it. Also: a clean SIGTERM stop, and PKI reuse.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};
use tempfile::TempDir;
use warren_tests::{TestServer, eventually_async};

const LABEL: &str = "suite=durability";
const DEADLINE: Duration = Duration::from_secs(30);

fn config_map(name: &str, value: u64) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some([("suite".to_string(), "durability".to_string())].into()),
            ..Default::default()
        },
        data: Some([("value".to_string(), value.to_string())].into()),
        ..Default::default()
    }
}

fn value(cm: &ConfigMap) -> u64 {
    cm.data.as_ref().unwrap()["value"].parse().unwrap()
}

fn rv(cm: &ConfigMap) -> u64 {
    cm.metadata
        .resource_version
        .as_deref()
        .expect("resourceVersion")
        .parse()
        .expect("numeric resourceVersion")
}

/// One write the client sent: the object's name and the value it wrote.
#[derive(Debug, Clone, PartialEq)]
struct Write {
    name: String,
    value: u64,
    /// The resourceVersion in the server's answer; `None` while unacknowledged.
    rv: Option<u64>,
}

#[derive(Default)]
struct Journal {
    /// Acknowledged writes of all writers, in the order the answers arrived.
    acked: Vec<Write>,
    /// Per writer, the write on the wire when the server died (it may or may not
    /// have been applied).
    in_flight: BTreeMap<usize, Write>,
}

/// How many clients write at once (each on its own connection), so that the store's
/// group commit is exercised too.
const WRITERS: usize = 4;

/// Writer `id` creates `w<id>-<step>` objects and updates its earlier ones, one request
/// at a time, until a request fails.
async fn write_until_failure(id: usize, api: Api<ConfigMap>, journal: Arc<Mutex<Journal>>) {
    let mut latest: BTreeMap<String, ConfigMap> = BTreeMap::new();
    for step in 1u64.. {
        let (name, update) = if step % 3 == 0 && !latest.is_empty() {
            let n = (step as usize / 3) % latest.len();
            (latest.keys().nth(n).unwrap().clone(), true)
        } else {
            (format!("w{id}-{step}"), false)
        };
        journal.lock().unwrap().in_flight.insert(
            id,
            Write {
                name: name.clone(),
                value: step,
                rv: None,
            },
        );
        let result = if update {
            let mut next = latest[&name].clone();
            next.data = Some([("value".to_string(), step.to_string())].into());
            api.replace(&name, &PostParams::default(), &next).await
        } else {
            api.create(&PostParams::default(), &config_map(&name, step))
                .await
        };
        match result {
            Ok(cm) => {
                assert_eq!(value(&cm), step);
                let mut j = journal.lock().unwrap();
                j.in_flight.remove(&id);
                j.acked.push(Write {
                    name: name.clone(),
                    value: step,
                    rv: Some(rv(&cm)),
                });
                latest.insert(name, cm);
            }
            Err(_) => return, // the server is gone
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_no_acknowledged_write() {
    let dir = TempDir::with_prefix("warren-durability-").unwrap();
    let mut server = TestServer::start_in(dir.path()).expect("server starts");

    let journal = Arc::new(Mutex::new(Journal::default()));
    let mut writers = Vec::new();
    for id in 0..WRITERS {
        let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
        writers.push(tokio::spawn(write_until_failure(id, api, journal.clone())));
    }

    // Remember a version part-way through: the resumed watch starts there.
    let resume_rv = eventually_async(DEADLINE, "50 acknowledged writes", || {
        let journal = journal.clone();
        async move {
            let j = journal.lock().unwrap();
            (j.acked.len() >= 50).then(|| j.acked.iter().filter_map(|w| w.rv).max().unwrap())
        }
    })
    .await;
    eventually_async(DEADLINE, "300 acknowledged writes", || {
        let journal = journal.clone();
        async move { (journal.lock().unwrap().acked.len() >= 300).then_some(()) }
    })
    .await;
    server.kill(); // SIGKILL while the writers are still sending
    for writer in writers {
        tokio::time::timeout(DEADLINE, writer)
            .await
            .expect("writer stops once the server is gone")
            .unwrap();
    }
    let (acked, in_flight) = {
        let j = journal.lock().unwrap();
        (
            j.acked.clone(),
            j.in_flight.values().cloned().collect::<Vec<_>>(),
        )
    };
    let max_seen = acked.iter().filter_map(|w| w.rv).max().unwrap();
    eprintln!(
        "killed after {} acknowledged writes (highest resourceVersion {max_seen}); in flight: {in_flight:?}",
        acked.len()
    );
    let was_in_flight =
        |name: &str, value: u64| in_flight.iter().any(|f| f.name == name && f.value == value);

    let server = TestServer::start_in(dir.path()).expect("server restarts on the same data");
    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");

    // Every acknowledged write is there: each object holds its last acknowledged value
    // (or an in-flight write's, which may have been applied before the kill).
    let mut last: BTreeMap<&str, &Write> = BTreeMap::new();
    for w in &acked {
        last.insert(&w.name, w);
    }
    let stored: BTreeMap<String, ConfigMap> = api
        .list(&ListParams::default().labels(LABEL))
        .await
        .expect("list after restart")
        .items
        .into_iter()
        .map(|cm| (cm.metadata.name.clone().unwrap(), cm))
        .collect();
    for (name, w) in &last {
        let cm = stored
            .get(*name)
            .unwrap_or_else(|| panic!("acknowledged object {name} is missing after restart"));
        let in_flight_here = was_in_flight(name, value(cm));
        assert!(
            value(cm) == w.value || in_flight_here,
            "{name}: stored value {} but the last acknowledged write was {} (in flight: {in_flight:?})",
            value(cm),
            w.value
        );
        if !in_flight_here {
            assert_eq!(rv(cm), w.rv.unwrap(), "{name} keeps its resourceVersion");
        }
    }
    for (name, cm) in &stored {
        assert!(
            last.contains_key(name.as_str()) || was_in_flight(name, value(cm)),
            "{name} was never acknowledged nor in flight"
        );
    }

    // New writes get higher resourceVersions than any seen before the kill.
    let fresh = api
        .create(&PostParams::default(), &config_map("after-restart", 0))
        .await
        .expect("create after restart");
    let fresh_rv = rv(&fresh);
    assert!(
        fresh_rv > max_seen,
        "resourceVersion {fresh_rv} after restart is not above {max_seen}"
    );

    // A watch resumed from a version seen before the kill delivers every write after
    // it, in order, and nothing at or before it.
    let mut want: Vec<&Write> = acked.iter().filter(|w| w.rv.unwrap() > resume_rv).collect();
    want.sort_by_key(|w| w.rv);
    let stream = api
        .watch(
            &WatchParams::default().labels(LABEL).timeout(20),
            &resume_rv.to_string(),
        )
        .await
        .expect("resumed watch");
    let mut stream = std::pin::pin!(stream);
    let mut got: Vec<(String, u64, String, u64)> = Vec::new();
    let collect = async {
        while let Some(ev) = stream.next().await {
            let (kind, obj) = match ev.expect("watch event") {
                WatchEvent::Added(o) => ("ADDED", o),
                WatchEvent::Modified(o) => ("MODIFIED", o),
                WatchEvent::Deleted(o) => ("DELETED", o),
                WatchEvent::Bookmark(_) => continue,
                WatchEvent::Error(e) => panic!("watch error: {e:?}"),
            };
            let r = rv(&obj);
            got.push((
                kind.to_string(),
                r,
                obj.metadata.name.clone().unwrap(),
                value(&obj),
            ));
            if r >= fresh_rv {
                break;
            }
        }
    };
    tokio::time::timeout(DEADLINE, collect)
        .await
        .expect("the resumed watch reaches the write made after the restart");
    assert!(
        got.iter().all(|e| e.1 > resume_rv),
        "events at or before {resume_rv}: {got:?}"
    );
    assert!(
        got.windows(2).all(|w| w[0].1 < w[1].1),
        "out of order: {got:?}"
    );
    for w in &want {
        let e = got
            .iter()
            .find(|e| e.1 == w.rv.unwrap())
            .unwrap_or_else(|| panic!("no event for acknowledged write {w:?}"));
        assert_eq!((e.2.as_str(), e.3), (w.name.as_str(), w.value), "{e:?}");
    }
    for e in &got {
        assert!(
            want.iter().any(|w| w.rv == Some(e.1))
                || was_in_flight(&e.2, e.3)
                || e.2 == "after-restart",
            "event for a write nobody made: {e:?}"
        );
    }
    assert_eq!(got.last().unwrap().2, "after-restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_restart_reuses_data_and_pki() {
    let dir = TempDir::with_prefix("warren-restart-").unwrap();
    let mut server = TestServer::start_in(dir.path()).expect("server starts");
    let first_url = server.url().to_string();
    let kubeconfig = std::fs::read_to_string(server.kubeconfig_path()).expect("kubeconfig");
    let parsed = kube::config::Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    assert_eq!(parsed.current_context.as_deref(), Some("warren"));
    let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(cluster.server.as_deref(), Some(first_url.as_str()));
    let ca = cluster.certificate_authority_data.clone().expect("CA data");

    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    let created = api
        .create(&PostParams::default(), &config_map("kept", 7))
        .await
        .unwrap();

    let status = server.stop().expect("server stops on SIGTERM");
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        !server.log().contains("panicked"),
        "server log:\n{}",
        server.log()
    );

    let server = TestServer::start_in(dir.path()).expect("server restarts");
    let parsed = kube::config::Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(
        cluster.server.as_deref(),
        Some(server.url()),
        "kubeconfig names the new port"
    );
    assert_eq!(
        cluster.certificate_authority_data.as_ref(),
        Some(&ca),
        "the CA is reused"
    );
    let before: Vec<&str> = kubeconfig
        .lines()
        .filter(|l| l.contains("client-key-data"))
        .collect();
    let after = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    let after: Vec<&str> = after
        .lines()
        .filter(|l| l.contains("client-key-data"))
        .collect();
    assert_eq!(before, after, "the admin client key is reused");

    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    let kept = api
        .get("kept")
        .await
        .expect("object survives a clean restart");
    assert_eq!(value(&kept), 7);
    assert_eq!(kept.metadata.uid, created.metadata.uid);
    assert_eq!(
        kept.metadata.resource_version,
        created.metadata.resource_version
    );
}
