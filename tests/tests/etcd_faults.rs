//! Faults on the etcd backend: etcd stopped for a few seconds under a write load makes requests
//! fail fast with a 5xx `Status` (no hangs, no crash), the server recovers by itself when etcd
//! is back, every acknowledged write is there, and a watcher catches up (its watch either
//! resumes or ends so that it re-lists). A SIGKILL of the API server on etcd loses no
//! acknowledged write either.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use warren_store::etcd_harness::EtcdServer;
use warren_tests::{TestServer, eventually};

const WAIT: Duration = Duration::from_secs(60);
/// No request may take longer than this, even while etcd is down.
const REQUEST_BOUND: Duration = Duration::from_secs(15);
const WRITERS: usize = 4;

fn config_map(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        data: Some([("k".to_string(), name.to_string())].into()),
        ..Default::default()
    }
}

#[derive(Default)]
struct Outcome {
    acked: BTreeSet<String>,
    /// HTTP codes of the failed requests.
    failures: Vec<u16>,
}

async fn writer(id: usize, api: Api<ConfigMap>, stop: Arc<Mutex<bool>>, out: Arc<Mutex<Outcome>>) {
    for step in 0.. {
        if *stop.lock().unwrap() {
            return;
        }
        let name = format!("w{id}-{step}");
        let res = tokio::time::timeout(
            REQUEST_BOUND,
            api.create(&PostParams::default(), &config_map(&name)),
        )
        .await;
        let failed = {
            let mut o = out.lock().unwrap();
            match res {
                Ok(Ok(_)) => {
                    o.acked.insert(name);
                    false
                }
                Ok(Err(kube::Error::Api(status))) => {
                    o.failures.push(status.code);
                    true
                }
                Ok(Err(other)) => panic!("request {name} failed without a Status: {other}"),
                Err(_) => panic!("request {name} hung for more than {REQUEST_BOUND:?}"),
            }
        };
        if failed {
            // Pacing while etcd is down, so that the writers do not spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_outage_under_writes_loses_nothing_and_heals() {
    let mut etcd = EtcdServer::start();
    let store = format!("etcd://{}/tenant-faults", etcd.endpoint());
    let server = TestServer::start_with(&["--store", &store]).expect("server starts");
    // Without kube-rs's default retries of 503/504, so that every answer is seen as sent.
    let kubeconfig = kube::config::Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.default_retry = false;
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // A reflector that must end up equal to the server's list.
    let (reader, writer_handle) = reflector::store::<ConfigMap>();
    let refl = tokio::spawn(
        reflector(
            writer_handle,
            watcher(api.clone(), watcher::Config::default()).default_backoff(),
        )
        .applied_objects()
        .for_each(|_| async {}),
    );

    let stop = Arc::new(Mutex::new(false));
    let out = Arc::new(Mutex::new(Outcome::default()));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|id| tokio::spawn(writer(id, api.clone(), stop.clone(), out.clone())))
        .collect();

    // Some writes succeed before the outage.
    let deadline = Instant::now() + WAIT;
    while out.lock().unwrap().acked.len() < 20 {
        assert!(
            Instant::now() < deadline,
            "no writes succeed before the outage"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    etcd.stop();
    let failures_before = out.lock().unwrap().failures.len();
    // The outage lasts until the writers have seen a few failures (and at least 3 s).
    let outage_started = Instant::now();
    while out.lock().unwrap().failures.len() < failures_before + 2 * WRITERS
        || outage_started.elapsed() < Duration::from_secs(3)
    {
        assert!(
            outage_started.elapsed() < WAIT,
            "requests neither fail nor succeed during the outage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // /readyz says so while etcd is down.
    let readyz = server.kubectl().run(&["get", "--raw", "/readyz"]);
    etcd.start_again();

    // The server heals by itself: writes succeed again.
    let acked_at_restart = out.lock().unwrap().acked.len();
    let deadline = Instant::now() + WAIT;
    while out.lock().unwrap().acked.len() < acked_at_restart + 20 {
        assert!(
            Instant::now() < deadline,
            "writes do not succeed again after etcd is back:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    *stop.lock().unwrap() = true;
    for t in tasks {
        t.await.unwrap();
    }
    let out = Arc::try_unwrap(out).ok().unwrap().into_inner().unwrap();
    assert!(
        out.failures.iter().all(|c| matches!(c, 500 | 503 | 504)),
        "failures during the outage must be 5xx Status: {:?}",
        out.failures
    );
    assert!(
        !out.failures.is_empty(),
        "the outage caused no failure at all"
    );
    assert!(
        !readyz.success(),
        "/readyz must fail while etcd is down:\n{readyz}"
    );

    // Every acknowledged write is stored.
    let stored: BTreeSet<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let lost: Vec<&String> = out.acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");

    // The watcher caught up: its store equals the list (no silent gap).
    eventually(WAIT, "the reflector to equal the list", || {
        let mine: BTreeSet<String> = reader
            .state()
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        (mine == stored).then_some(())
    });
    let healthy = server.kubectl().run(&["get", "--raw", "/readyz"]);
    assert!(healthy.success(), "{healthy}");
    refl.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_on_etcd_loses_no_acknowledged_write() {
    let etcd = EtcdServer::start();
    let store = format!("etcd://{}/tenant-kill", etcd.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in_with(dir.path(), &["--store", &store]).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|id| {
            let api = api.clone();
            let acked = acked.clone();
            tokio::spawn(async move {
                for step in 0.. {
                    let name = format!("k{id}-{step}");
                    match api.create(&PostParams::default(), &config_map(&name)).await {
                        Ok(_) => {
                            acked.lock().unwrap().insert(name);
                        }
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + WAIT;
    while acked.lock().unwrap().len() < 50 {
        assert!(Instant::now() < deadline, "writes do not succeed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    for t in tasks {
        t.await.unwrap();
    }
    let server = TestServer::start_in_with(dir.path(), &["--store", &store]).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    let stored: BTreeSet<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let acked = acked.lock().unwrap().clone();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}
