//! Two `tenant-apiserver` replicas on one etcd prefix serve one cluster: writes through one are
//! read and watched through the other at once, leader-only work runs on one replica at a time
//! (a `coordination.k8s.io` Lease), and killing the leader leaves the other serving and leading.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::{Api, WatchEvent, WatchParams};
use warren_store::etcd_harness::EtcdServer;
use warren_tests::{TestServer, eventually};

const WAIT: Duration = Duration::from_secs(60);

/// Copies the tenant's PKI so that a second replica serves with the same CA and keys.
fn share_pki(from: &Path, to: &Path) {
    let src = from.join("pki");
    let dst = to.join("pki");
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
}

fn leads(server: &TestServer) -> bool {
    server
        .log()
        .lines()
        .rfind(|l| l.contains("leadership changed"))
        .is_some_and(|l| l.contains("leading=true"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_reads_watches_and_leadership() {
    let etcd = EtcdServer::start();
    let store = format!("etcd://{}/tenant-ha", etcd.endpoint());
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = TestServer::start_in_with(dir_a.path(), &["--store", &store]).expect("A starts");
    share_pki(dir_a.path(), dir_b.path());
    let b = TestServer::start_in_with(dir_b.path(), &["--store", &store]).expect("B starts");
    assert_ne!(a.url(), b.url());

    // Exactly one replica leads (A, which came first, unless B won the first round).
    eventually(WAIT, "one replica to lead", || {
        (leads(&a) || leads(&b)).then_some(())
    });
    assert!(
        !(leads(&a) && leads(&b)),
        "both replicas lead:\n--- A ---\n{}\n--- B ---\n{}",
        a.log(),
        b.log()
    );

    // A watch on B from now on.
    let client_b = b.client().await.unwrap();
    let cms_b: Api<ConfigMap> = Api::namespaced(client_b.clone(), "default");
    let rv = cms_b
        .list_metadata(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut events = cms_b
        .watch(&WatchParams::default().timeout(290), &rv)
        .await
        .unwrap()
        .boxed();

    // Writes through A with kubectl; each is readable through B at once (no waiting).
    let ka = a.kubectl();
    let kb = b.kubectl();
    let mut expected: Vec<(String, String)> = Vec::new();
    for i in 0..10 {
        let name = format!("cm-{i}");
        ka.ok(&[
            "create",
            "configmap",
            &name,
            &format!("--from-literal=i={i}"),
        ]);
        expected.push(("ADDED".into(), name.clone()));
        let got = cms_b.get(&name).await.unwrap_or_else(|e| {
            panic!("{name} written through A is not readable through B at once: {e}")
        });
        assert_eq!(got.data.unwrap()["i"], i.to_string());
    }
    ka.ok(&["label", "configmap", "cm-3", "x=y"]);
    expected.push(("MODIFIED".into(), "cm-3".into()));
    ka.ok(&["delete", "configmap", "cm-4"]);
    expected.push(("DELETED".into(), "cm-4".into()));
    assert_eq!(
        kb.ok(&[
            "get",
            "configmap",
            "cm-3",
            "-o",
            "jsonpath={.metadata.labels.x}"
        ]),
        "y"
    );

    // B's watcher sees every event, once, in order.
    let mut seen: Vec<(String, String)> = Vec::new();
    let deadline = Instant::now() + WAIT;
    while seen.len() < expected.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::time::timeout(left, events.try_next())
            .await
            .unwrap_or_else(|_| panic!("B's watch saw only {seen:?}"))
            .expect("watch error")
            .expect("watch ended early");
        match ev {
            WatchEvent::Added(cm) => seen.push(("ADDED".into(), cm.metadata.name.unwrap())),
            WatchEvent::Modified(cm) => seen.push(("MODIFIED".into(), cm.metadata.name.unwrap())),
            WatchEvent::Deleted(cm) => seen.push(("DELETED".into(), cm.metadata.name.unwrap())),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("watch error event: {e:?}"),
        }
    }
    assert_eq!(seen, expected);

    // Kill A (the leader or not): B keeps serving, and leads within the lease duration.
    a.kill();
    kb.ok(&["create", "configmap", "after-a"]);
    let names: BTreeSet<String> = cms_b
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert!(names.contains("after-a") && names.contains("cm-9") && !names.contains("cm-4"));
    eventually(WAIT, "B to lead after A is gone", || {
        leads(&b).then_some(())
    });
    let holder = kb.ok(&[
        "get",
        "lease",
        "-n",
        "kube-system",
        "warren-tenant-apiserver",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert!(
        b.log().contains(&format!("identity={holder}")),
        "the lease names {holder:?}, which is not B:\n{}",
        b.log()
    );
    // Leader-only work now runs on B: a new namespace gets its default ServiceAccount.
    kb.ok(&["create", "namespace", "after-failover"]);
    let sas: Api<ServiceAccount> = Api::namespaced(client_b, "after-failover");
    let deadline = Instant::now() + WAIT;
    loop {
        if sas.get_opt("default").await.unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no default ServiceAccount in after-failover:\n{}",
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(etcd);
}

/// Controllers run on the leader only: a Deployment's pods are created once (two active
/// ReplicaSet controllers would create them twice), and after the leader is killed the other
/// replica takes the controllers over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn controllers_run_once_and_fail_over() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::ListParams;
    use warren_tests::kubelet::FakeKubelet;

    let etcd = EtcdServer::start();
    let store = format!("etcd://{}/tenant-ha-ctrl", etcd.endpoint());
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = TestServer::start_in_with(dir_a.path(), &["--store", &store]).expect("A starts");
    share_pki(dir_a.path(), dir_b.path());
    let mut b = TestServer::start_in_with(dir_b.path(), &["--store", &store]).expect("B starts");
    eventually(WAIT, "one replica to lead", || {
        (leads(&a) || leads(&b)).then_some(())
    });
    // Work through the follower, so that the leader's controllers react to another replica's
    // writes.
    let (leader, follower) = if leads(&a) {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let client = follower.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let rv = pods
        .list_metadata(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut events = pods
        .watch(&WatchParams::default().labels("app").timeout(290), &rv)
        .await
        .unwrap()
        .boxed();
    let k = follower.kubectl();
    let kubelet = FakeKubelet::start(client.clone(), "default", "n1")
        .await
        .unwrap();
    k.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=3",
    ]);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    // Every pod ever added is one of the three that exist: none was made twice.
    let existing: BTreeSet<String> = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(existing.len(), 3, "{existing:?}");
    // A marker pod written after the rollout: once its ADDED arrives, every earlier event has.
    k.ok(&["run", "marker", "--image=nginx", "--labels=app=marker"]);
    let mut added = BTreeSet::new();
    loop {
        let ev = tokio::time::timeout(WAIT, events.try_next())
            .await
            .expect("pod events")
            .expect("watch error")
            .expect("watch ended early");
        if let WatchEvent::Added(p) = ev {
            let name = p.metadata.name.unwrap();
            if name == "marker" {
                break;
            }
            added.insert(name);
        }
    }
    assert_eq!(added, existing);

    // The leader dies: the follower leads and scales.
    leader.kill();
    eventually(WAIT, "the follower to lead", || {
        leads(follower).then_some(())
    });
    k.ok(&["scale", "deployment", "web", "--replicas=4"]);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert_eq!(
        pods.list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items
            .len(),
        4
    );
    drop(kubelet);
    drop(etcd);
}
