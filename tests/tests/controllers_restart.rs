//! Controllers are level-triggered and keep no state of their own: after the tenant API server
//! is stopped and started again on the same data, nothing is lost or duplicated, a Deployment
//! created before the restart is still reconciled (a scale made after the restart is carried
//! out), and a Deployment created after it gets its ReplicaSet and pods.

use std::time::Duration;

use warren_tests::kubelet::FakeKubelet;
use warren_tests::{Kubectl, TestServer, eventually};

const WAIT: Duration = Duration::from_secs(40);

fn ready_replicas(k: &Kubectl, name: &str) -> Option<String> {
    let out = k.run(&[
        "get",
        "deployment",
        name,
        "-o",
        "jsonpath={.status.readyReplicas}/{.status.replicas}/{.status.updatedReplicas}",
    ]);
    out.success().then(|| out.stdout.trim().to_string())
}

fn pod_count(k: &Kubectl, selector: &str) -> usize {
    k.ok(&["get", "pods", "-l", selector, "-o", "name"])
        .lines()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_pick_up_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path()).expect("server starts");
    let k = server.kubectl();
    let kubelet = FakeKubelet::start(server.client().await.unwrap(), "default", "n1")
        .await
        .unwrap();
    k.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ]);
    eventually(WAIT, "web 2/2 ready", || {
        (ready_replicas(&k, "web").as_deref() == Some("2/2/2")).then_some(())
    });
    drop(kubelet);
    server.stop().expect("clean stop");

    let server = TestServer::start_in(dir.path()).expect("server restarts");
    let k = server.kubectl();
    let _kubelet = FakeKubelet::start(server.client().await.unwrap(), "default", "n1")
        .await
        .unwrap();
    // Nothing was lost and nothing is duplicated by the new controllers.
    assert_eq!(pod_count(&k, "app=web"), 2);
    assert_eq!(
        k.ok(&["get", "rs", "-l", "app=web", "-o", "name"])
            .lines()
            .count(),
        1
    );
    k.ok(&["scale", "deployment", "web", "--replicas=3"]);
    eventually(WAIT, "web scaled to 3 after the restart", || {
        (ready_replicas(&k, "web").as_deref() == Some("3/3/3")).then_some(())
    });
    assert_eq!(pod_count(&k, "app=web"), 3);
    k.ok(&[
        "create",
        "deployment",
        "api",
        "--image=nginx",
        "--replicas=1",
    ]);
    eventually(WAIT, "a new deployment reconciled", || {
        (ready_replicas(&k, "api").as_deref() == Some("1/1/1")).then_some(())
    });
    let out = k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    // The controllers left their events, as kube-controller-manager's do.
    let events = k.ok(&[
        "get",
        "events",
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ]);
    assert!(
        events.contains("ScalingReplicaSet: Scaled up replica set web-")
            && events.contains(" from 2 to 3"),
        "{events}"
    );
    assert!(
        events.contains("SuccessfulCreate: Created pod: web-"),
        "{events}"
    );
    let describe = k.ok(&["describe", "deployment", "api"]);
    assert!(describe.contains("ScalingReplicaSet"), "{describe}");
}
