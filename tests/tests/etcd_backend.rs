//! The etcd backend end to end: a tenant API server on a real etcd (`--store
//! etcd://HOST:PORT/PREFIX`) serves kubectl, keeps nothing in its data directory's store,
//! finds everything again after a restart, does not share objects with another tenant on the
//! same etcd, and answers 503 while etcd is down.
//!
//! Needs `etcd` on PATH (`scripts/setup.sh`); without it the test fails.

use std::time::Duration;

use tempfile::TempDir;
use warren_store::etcd_harness::EtcdServer;
use warren_tests::{TestServer, eventually};

const WAIT: Duration = Duration::from_secs(30);

fn store_arg(etcd: &EtcdServer, prefix: &str) -> String {
    format!("etcd://{}/{prefix}", etcd.endpoint())
}

#[test]
fn kubectl_on_an_etcd_backed_server_survives_a_restart() {
    let mut etcd = EtcdServer::start();
    let store = store_arg(&etcd, "tenant-a");
    let data_dir = TempDir::with_prefix("warren-etcd-e2e-").unwrap();
    let mut server = TestServer::start_in_with(data_dir.path(), &["--store", &store]).unwrap();
    assert!(
        server
            .log()
            .contains(&format!("store=etcd://{}/tenant-a", etcd.endpoint())),
        "the startup log names the store:\n{}",
        server.log()
    );
    let k = server.kubectl();

    k.ok(&["create", "namespace", "team-a"]);
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "team-a",
        "--from-literal=colour=blue",
    ]);
    let namespaces = k.ok(&["get", "namespaces", "-o", "name"]);
    assert!(namespaces.contains("namespace/team-a"), "{namespaces}");
    assert!(namespaces.contains("namespace/default"), "{namespaces}");
    let maps = k.ok(&["get", "configmaps", "-n", "team-a", "-o", "name"]);
    assert!(maps.contains("configmap/settings"), "{maps}");

    // A watch sees a later create.
    let watch = k.spawn(&["get", "configmaps", "-n", "team-a", "-w", "-o", "name"]);
    watch.wait_for_stdout(WAIT, "the initial list of the watch", |out| {
        out.contains("configmap/settings")
    });
    k.ok(&[
        "create",
        "configmap",
        "later",
        "-n",
        "team-a",
        "--from-literal=n=1",
    ]);
    watch.wait_for_stdout(WAIT, "the watch to report the new configmap", |out| {
        out.contains("configmap/later")
    });
    drop(watch);

    // Nothing went to the embedded store.
    assert!(
        !data_dir.path().join("store").exists(),
        "an etcd-backed server created an embedded store"
    );

    // Restart on the same etcd: everything is still there, and writes go on.
    server.stop().expect("clean stop");
    let server = TestServer::start_in_with(data_dir.path(), &["--store", &store]).unwrap();
    let k = server.kubectl();
    let namespaces = k.ok(&["get", "namespaces", "-o", "name"]);
    assert!(namespaces.contains("namespace/team-a"), "{namespaces}");
    let colour = k.ok(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.data.colour}",
    ]);
    assert_eq!(colour, "blue");
    let maps = k.ok(&["get", "configmaps", "-n", "team-a", "-o", "name"]);
    assert!(maps.contains("configmap/later"), "{maps}");
    k.ok(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        "team-a",
        "--type=merge",
        "-p",
        r#"{"data":{"colour":"green"}}"#,
    ]);

    // Another tenant on the same etcd sees none of it.
    let other = TestServer::start_with(&["--store", &store_arg(&etcd, "tenant-b")]).unwrap();
    let theirs = other.kubectl().ok(&["get", "namespaces", "-o", "name"]);
    assert!(!theirs.contains("team-a"), "{theirs}");
    assert!(theirs.contains("namespace/default"), "{theirs}");
    drop(other);

    // etcd goes away: requests fail with 503 ServiceUnavailable (within the store's request
    // deadline), and work again once etcd is back, without restarting the API server.
    etcd.stop();
    let started = std::time::Instant::now();
    let err = k.fails(&["get", "configmaps", "-n", "team-a", "-o", "name"]);
    assert!(err.contains("ServiceUnavailable"), "{err}");
    assert!(
        !err.contains(&etcd.endpoint()),
        "the error tells clients where etcd is: {err}"
    );
    assert!(
        started.elapsed() < WAIT,
        "an outage took {:?}",
        started.elapsed()
    );
    etcd.start_again();
    eventually(WAIT, "the API server to reach etcd again", || {
        let out = k.run(&["get", "configmap", "settings", "-n", "team-a", "-o", "name"]);
        out.success().then_some(())
    });
    k.ok(&[
        "create",
        "configmap",
        "after-outage",
        "-n",
        "team-a",
        "--from-literal=n=2",
    ]);
}

#[test]
fn a_bad_store_url_is_a_usage_error() {
    let out = std::process::Command::new(warren_tests::binary("tenant-apiserver"))
        .args([
            "--data-dir",
            "/nonexistent",
            "--store",
            "etcd://127.0.0.1:2379",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("etcd://HOST:PORT"), "{stderr}");
}
