//! Deployments and ReplicaSets end to end, with real kubectl and a fake kubelet that makes pods
//! Ready (and, like a kubelet, finishes the deletion of terminating pods): a Deployment creates
//! one ReplicaSet and its pods, `kubectl rollout status` succeeds, `kubectl set image` rolls
//! within maxSurge/maxUnavailable at every observed instant, `rollout undo` and `history`
//! work, `kubectl scale` changes pod counts, a ReplicaSet adopts and releases pods by
//! selector, and the Recreate strategy starts no new pod while an old one exists.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::Value;
use warren_tests::kubelet::FakeKubelet;
use warren_tests::{Kubectl, TestServer, columns, eventually};

const WAIT: Duration = Duration::from_secs(40);

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&all)).expect("kubectl prints JSON")
}

fn is_active(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none()
        && !matches!(
            p.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn image(p: &Pod) -> String {
    p.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

/// Plays the kubelet's part in graceful deletion: a terminating pod is removed for good.
fn finish_deletions(client: kube::Client, ns: &str) -> tokio::task::JoinHandle<()> {
    let pods: Api<Pod> = Api::namespaced(client, ns);
    tokio::spawn(async move {
        loop {
            if let Ok(list) = pods.list(&ListParams::default()).await {
                for p in list
                    .items
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_some())
                {
                    let name = p.metadata.name.clone().unwrap_or_default();
                    let _ = pods
                        .delete(&name, &DeleteParams::default().grace_period(0))
                        .await;
                }
            }
            // The kubelet's own loop interval, not a test wait.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// The active pods of `ns` with label `app`.
async fn active_pods(pods: &Api<Pod>, app: &str) -> Vec<Pod> {
    pods.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .map(|l| l.items.into_iter().filter(is_active).collect())
        .unwrap_or_default()
}

fn count_pods(k: &Kubectl, ns: &str, app: &str, want: usize) {
    eventually(WAIT, &format!("{want} active pods of {app}"), || {
        let list = get_json(k, &["get", "pods", "-n", ns, "-l", &format!("app={app}")]);
        let n = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
            .count();
        (n == want).then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn deployment_rolls_out_rolls_back_and_scales() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    let ns = "default";
    let _kubelet = FakeKubelet::start(client.clone(), ns, "node-1")
        .await
        .unwrap();
    let finisher = finish_deletions(client.clone(), ns);

    k.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=3",
    ]);
    let rs_list = eventually(WAIT, "one ReplicaSet", || {
        let l = get_json(&k, &["get", "rs", "-l", "app=web"]);
        let items = l["items"].as_array().unwrap().clone();
        (items.len() == 1).then_some(items)
    });
    let rs = &rs_list[0];
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert!(
        hash.bytes()
            .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)),
        "{hash}"
    );
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"],
        "3"
    );
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"],
        "4"
    );

    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let pods = get_json(&k, &["get", "pods", "-l", "app=web"]);
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for p in items {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(
            name.starts_with(&format!("web-{hash}-"))
                && name.len() == format!("web-{hash}-").len() + 5,
            "{name}"
        );
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash);
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(
            (
                owner["kind"].as_str(),
                owner["controller"].as_bool(),
                owner["blockOwnerDeletion"].as_bool()
            ),
            (Some("ReplicaSet"), Some(true), Some(true))
        );
    }
    let out = k.ok(&["get", "deploy", "web"]);
    let line = out.lines().nth(1).unwrap();
    assert_eq!(columns(line)[..4], ["web", "3/3", "3", "3"], "{out}");
    let d = get_json(&k, &["get", "deploy", "web"]);
    let conds = d["status"]["conditions"].as_array().unwrap();
    let cond = |t: &str| conds.iter().find(|c| c["type"] == t).unwrap().clone();
    assert_eq!(cond("Available")["reason"], "MinimumReplicasAvailable");
    assert_eq!(cond("Progressing")["reason"], "NewReplicaSetAvailable");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );

    // A rolling update, watched: never more than 3 + 1 (25% surge, rounded up) active pods,
    // never fewer than 3 - 0 (25% unavailable, rounded down) ready ones.
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let pods_api = pods_api.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut observations = 0;
            let mut saw_new = false;
            while !stop.load(Ordering::SeqCst) {
                let active = active_pods(&pods_api, "web").await;
                let ready = active.iter().filter(|p| is_ready(p)).count();
                assert!(
                    active.len() <= 4,
                    "{} active pods during the rollout",
                    active.len()
                );
                assert!(ready >= 3, "only {ready} ready pods during the rollout");
                saw_new |= active.iter().any(|p| image(p) == "nginx:2");
                observations += 1;
            }
            (observations, saw_new)
        })
    };
    k.ok(&["set", "image", "deployment/web", "nginx=nginx:2"]);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    stop.store(true, Ordering::SeqCst);
    let (observations, saw_new) = watcher.await.expect("the bounds held at every observation");
    assert!(observations > 3 && saw_new, "{observations} observations");
    let rss = get_json(&k, &["get", "rs", "-l", "app=web"]);
    let rss = rss["items"].as_array().unwrap();
    assert_eq!(rss.len(), 2, "the old ReplicaSet is kept");
    let old = rss
        .iter()
        .find(|r| r["metadata"]["name"] == format!("web-{hash}"))
        .unwrap();
    assert_eq!(old["spec"]["replicas"], 0);
    let new = rss
        .iter()
        .find(|r| r["metadata"]["name"] != format!("web-{hash}"))
        .unwrap();
    assert_eq!(
        new["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    count_pods(&k, ns, "web", 3);
    let active = active_pods(&pods_api, "web").await;
    assert!(active.iter().all(|p| image(p) == "nginx:2"));

    // Undo: back to the first template (its ReplicaSet becomes revision 3).
    k.ok(&["rollout", "undo", "deployment/web"]);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let d = get_json(&k, &["get", "deploy", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx"
    );
    assert!(
        d["spec"]["template"]["metadata"]["labels"]
            .get("pod-template-hash")
            .is_none()
    );
    let first = get_json(&k, &["get", "rs", &format!("web-{hash}")]);
    assert_eq!(first["spec"]["replicas"], 3);
    assert_eq!(
        first["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(
        first["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"],
        "1"
    );
    count_pods(&k, ns, "web", 3);
    assert!(
        active_pods(&pods_api, "web")
            .await
            .iter()
            .all(|p| image(p) == "nginx")
    );
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    let revisions: Vec<String> = history
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| columns(l).first().cloned())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");

    // Scaling follows.
    k.ok(&["scale", "deployment/web", "--replicas=5"]);
    count_pods(&k, ns, "web", 5);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    k.ok(&["scale", "deployment/web", "--replicas=1"]);
    count_pods(&k, ns, "web", 1);
    eventually(WAIT, "the deployment to report 1/1", || {
        let out = k.ok(&["get", "deploy", "web", "--no-headers"]);
        (columns(&out)[1] == "1/1").then_some(())
    });
    finisher.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_set_adopts_orphans_and_releases_relabelled_pods() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    k.ok(&["create", "namespace", "rs"]);
    k.ok(&[
        "run",
        "orphan",
        "--image=nginx",
        "-n",
        "rs",
        "--labels=app=cache",
    ]);
    let rs_yaml = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: cache\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: cache\n  template:\n    metadata:\n      labels:\n        app: cache\n    spec:\n      containers:\n      - name: c\n        image: redis\n";
    k.ok_stdin(&["apply", "-n", "rs", "-f", "-"], rs_yaml);
    let rs_uid = get_json(&k, &["get", "rs", "cache", "-n", "rs"])["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let orphan = eventually(WAIT, "the orphan to be adopted", || {
        let p = get_json(&k, &["get", "pod", "orphan", "-n", "rs"]);
        (p["metadata"]["ownerReferences"][0]["uid"] == rs_uid.as_str()).then_some(p)
    });
    assert_eq!(orphan["metadata"]["ownerReferences"][0]["controller"], true);
    count_pods(&k, "rs", "cache", 2);
    let rs = eventually(WAIT, "the ReplicaSet status", || {
        let rs = get_json(&k, &["get", "rs", "cache", "-n", "rs"]);
        (rs["status"]["replicas"] == 2 && rs["status"]["observedGeneration"] == 1).then_some(rs)
    });
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 2);
    assert!(rs["status"].get("readyReplicas").is_none());

    // Ready pods count once a kubelet reports them.
    let _kubelet = FakeKubelet::start(client.clone(), "rs", "node-1")
        .await
        .unwrap();
    eventually(WAIT, "2 ready and available replicas", || {
        let rs = get_json(&k, &["get", "rs", "cache", "-n", "rs"]);
        (rs["status"]["readyReplicas"] == 2 && rs["status"]["availableReplicas"] == 2).then_some(())
    });

    // Relabelled out of the selector: released, and replaced.
    k.ok(&[
        "label",
        "pod",
        "orphan",
        "-n",
        "rs",
        "app=elsewhere",
        "--overwrite",
    ]);
    eventually(WAIT, "the relabelled pod to be released", || {
        let p = get_json(&k, &["get", "pod", "orphan", "-n", "rs"]);
        p["metadata"].get("ownerReferences").is_none().then_some(())
    });
    count_pods(&k, "rs", "cache", 2);

    // Scaled down: the surplus goes; up: new pods come.
    k.ok(&["scale", "rs", "cache", "-n", "rs", "--replicas=0"]);
    count_pods(&k, "rs", "cache", 0);
    let rss: Api<ReplicaSet> = Api::namespaced(client, "rs");
    let rs = rss.get("cache").await.expect("the ReplicaSet stays");
    assert_eq!(rs.spec.replicas, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn recreate_starts_no_new_pod_before_the_old_ones_are_gone() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    k.ok(&["create", "namespace", "re"]);
    let _kubelet = FakeKubelet::start(client.clone(), "re", "node-1")
        .await
        .unwrap();
    let finisher = finish_deletions(client.clone(), "re");
    k.ok(&[
        "create",
        "deployment",
        "db",
        "--image=postgres",
        "--replicas=2",
        "-n",
        "re",
    ]);
    k.ok(&[
        "patch",
        "deployment",
        "db",
        "-n",
        "re",
        "--type=merge",
        "-p",
        r#"{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}"#,
    ]);
    k.ok(&[
        "rollout",
        "status",
        "deployment/db",
        "-n",
        "re",
        "--timeout=60s",
    ]);

    let pods_api: Api<Pod> = Api::namespaced(client.clone(), "re");
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let pods_api = pods_api.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut saw_gap = false;
            while !stop.load(Ordering::SeqCst) {
                // Every pod, terminating ones included: they are not gone yet.
                let all = pods_api
                    .list(&ListParams::default().labels("app=db"))
                    .await
                    .map(|l| l.items)
                    .unwrap_or_default();
                let old = all.iter().filter(|p| image(p) == "postgres").count();
                let new = all.iter().filter(|p| image(p) == "postgres:2").count();
                assert!(old == 0 || new == 0, "{old} old and {new} new pods at once");
                saw_gap |= all.is_empty();
            }
            saw_gap
        })
    };
    k.ok(&[
        "set",
        "image",
        "deployment/db",
        "-n",
        "re",
        "postgres=postgres:2",
    ]);
    k.ok(&[
        "rollout",
        "status",
        "deployment/db",
        "-n",
        "re",
        "--timeout=60s",
    ]);
    stop.store(true, Ordering::SeqCst);
    watcher.await.expect("old and new pods never coexisted");
    count_pods(&k, "re", "db", 2);
    assert!(
        active_pods(&pods_api, "db")
            .await
            .iter()
            .all(|p| image(p) == "postgres:2")
    );
    finisher.abort();
}
