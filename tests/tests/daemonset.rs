//! The DaemonSet controller end to end, with the test standing in for the scheduler and the
//! kubelets: one pod per matching node, following nodes that appear and disappear, node
//! selectors and labels that change, taints and tolerations, and a rolling image update that
//! `kubectl rollout status` follows.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams};
use warren_tests::kubelet::{bind, ensure_node, set_ready};
use warren_tests::{Kubectl, TestServer, eventually_async};

const WAIT: Duration = Duration::from_secs(20);
const NS: &str = "default";

fn daemon_set(name: &str, extra_spec: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
{extra_spec}      containers:
      - name: agent
        image: busybox:1
"#
    )
}

/// The node a daemon pod is for: its node, or the one its affinity names.
fn target_node(p: &Pod) -> String {
    let spec = p.spec.as_ref().unwrap();
    if let Some(n) = spec.node_name.clone().filter(|n| !n.is_empty()) {
        return n;
    }
    spec.affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .and_then(|r| r.node_selector_terms.first())
        .and_then(|t| t.match_fields.as_ref())
        .and_then(|f| f.first())
        .and_then(|f| f.values.as_ref())
        .and_then(|v| v.first().cloned())
        .unwrap_or_default()
}

/// node -> pods of DaemonSet `app` that are not being deleted.
async fn pods_by_node(pods: &Api<Pod>, app: &str) -> BTreeMap<String, Vec<Pod>> {
    let mut out: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for p in pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
    {
        if p.metadata.deletion_timestamp.is_none() {
            out.entry(target_node(&p)).or_default().push(p);
        }
    }
    out
}

/// Waits until DaemonSet `app` has exactly one live pod on each of `nodes`.
async fn wait_pods_on(pods: &Api<Pod>, app: &str, nodes: &[&str]) -> BTreeMap<String, Pod> {
    eventually_async(
        WAIT,
        &format!("{app} pods exactly on {nodes:?}"),
        || async {
            let by_node = pods_by_node(pods, app).await;
            let keys: Vec<&str> = by_node.keys().map(String::as_str).collect();
            (keys == nodes && by_node.values().all(|v| v.len() == 1)).then(|| {
                by_node
                    .into_iter()
                    .map(|(n, mut v)| (n, v.remove(0)))
                    .collect()
            })
        },
    )
    .await
}

/// As scheduler and kubelet: binds the pod to its target node and reports it Ready.
async fn run_pod(client: &kube::Client, pod: &Pod, ip: &str) {
    let name = pod.metadata.name.clone().unwrap();
    bind(client, NS, &name, &target_node(pod))
        .await
        .expect("bind");
    set_ready(client, NS, &name, ip).await.expect("ready");
}

async fn wait_status(
    sets: &Api<DaemonSet>,
    name: &str,
    what: &str,
    pred: impl Fn(&k8s_openapi::api::apps::v1::DaemonSetStatus) -> bool,
) -> DaemonSet {
    eventually_async(WAIT, what, || async {
        sets.get(name)
            .await
            .ok()
            .filter(|d| d.status.as_ref().is_some_and(&pred))
    })
    .await
}

fn apply(k: &Kubectl, yaml: &str) {
    k.ok_stdin(&["apply", "-f", "-"], yaml);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pod_per_matching_node_following_nodes_labels_taints_and_updates() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), NS);
    let nodes: Api<Node> = Api::all(client.clone());
    ensure_node(&client, "n1").await.unwrap();
    ensure_node(&client, "n2").await.unwrap();

    apply(&k, &daemon_set("agent", ""));
    let placed = wait_pods_on(&pods, "agent", &["n1", "n2"]).await;
    let p1 = &placed["n1"];
    let labels = p1.metadata.labels.clone().unwrap();
    assert!(labels.contains_key("controller-revision-hash"));
    let tolerations = p1.spec.as_ref().unwrap().tolerations.clone().unwrap();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/pid-pressure",
        "node.kubernetes.io/unschedulable",
    ] {
        assert!(
            tolerations
                .iter()
                .any(|t| t.key.as_deref() == Some(key) && t.operator.as_deref() == Some("Exists")),
            "daemon pods tolerate {key}"
        );
    }
    // n1's kubelet runs its pod; n2's never comes up.
    run_pod(&client, p1, "10.244.1.1").await;

    // A new node gets a pod.
    ensure_node(&client, "n3").await.unwrap();
    let placed = wait_pods_on(&pods, "agent", &["n1", "n2", "n3"]).await;
    run_pod(&client, &placed["n3"], "10.244.3.1").await;

    // A node that goes away takes its (never scheduled) pod with it.
    nodes.delete("n2", &DeleteParams::default()).await.unwrap();
    wait_pods_on(&pods, "agent", &["n1", "n3"]).await;
    let ds = wait_status(&sets, "agent", "agent to count 2 available pods", |s| {
        s.desired_number_scheduled == 2
            && s.current_number_scheduled == 2
            && s.number_ready == 2
            && s.number_available == Some(2)
            && s.updated_number_scheduled == Some(2)
            && s.number_misscheduled == 0
    })
    .await;
    assert_eq!(
        ds.status.unwrap().observed_generation,
        ds.metadata.generation
    );
    let out = k.ok(&["rollout", "status", "daemonset/agent", "--timeout=20s"]);
    assert!(out.contains("successfully rolled out"), "{out}");

    // A rolling image update: one node at a time (maxUnavailable 1), old pods deleted first.
    let old_hash =
        placed["n1"].metadata.labels.as_ref().unwrap()["controller-revision-hash"].clone();
    k.ok(&["set", "image", "daemonset/agent", "agent=busybox:2"]);
    let ip = std::sync::atomic::AtomicU32::new(10);
    let ip = &ip;
    eventually_async(
        Duration::from_secs(40),
        "the update to reach every node",
        || async {
            let all = pods
                .list(&ListParams::default().labels("app=agent"))
                .await
                .unwrap()
                .items;
            let down = all
                .iter()
                .filter(|p| {
                    p.metadata.deletion_timestamp.is_some()
                        || !p
                            .status
                            .as_ref()
                            .and_then(|s| s.conditions.as_ref())
                            .is_some_and(|c| {
                                c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                            })
                })
                .count();
            assert!(down <= 1, "at most one node is without a ready pod: {down}");
            // Stand in for the kubelets: finish deletions, run new pods.
            for p in &all {
                let name = p.metadata.name.clone().unwrap();
                if p.metadata.deletion_timestamp.is_some() {
                    let _ = pods
                        .delete(&name, &DeleteParams::default().grace_period(0))
                        .await;
                } else if p.spec.as_ref().unwrap().node_name.is_none() {
                    let n = ip.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    run_pod(&client, p, &format!("10.244.9.{n}")).await;
                }
            }
            let done = all.len() == 2
                && all.iter().all(|p| {
                    p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("busybox:2")
                        && p.metadata.labels.as_ref().unwrap()["controller-revision-hash"]
                            != old_hash
                });
            done.then_some(())
        },
    )
    .await;
    wait_status(&sets, "agent", "the update to be available", |s| {
        s.updated_number_scheduled == Some(2) && s.number_available == Some(2)
    })
    .await;
    let out = k.ok(&["rollout", "status", "daemonset/agent", "--timeout=20s"]);
    assert!(out.contains("successfully rolled out"), "{out}");

    // nodeSelector: only labelled nodes, following label changes.
    apply(&k, &daemon_set("ssd", "      nodeSelector: {disk: ssd}\n"));
    k.ok(&["label", "node", "n3", "disk=ssd"]);
    wait_pods_on(&pods, "ssd", &["n3"]).await;
    k.ok(&["label", "node", "n1", "disk=ssd"]);
    wait_pods_on(&pods, "ssd", &["n1", "n3"]).await;
    k.ok(&["label", "node", "n3", "disk-"]);
    wait_pods_on(&pods, "ssd", &["n1"]).await;

    // A NoSchedule taint: no new pod without a toleration; the running one is misscheduled
    // but stays (only NoExecute evicts).
    k.ok(&["taint", "node", "n1", "dedicated=db:NoSchedule"]);
    apply(&k, &daemon_set("plain", ""));
    apply(
        &k,
        &daemon_set(
            "tolerant",
            "      tolerations:\n      - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}\n",
        ),
    );
    wait_pods_on(&pods, "tolerant", &["n1", "n3"]).await;
    wait_status(&sets, "plain", "plain to want only n3", |s| {
        s.desired_number_scheduled == 1 && s.current_number_scheduled == 1
    })
    .await;
    assert_eq!(
        pods_by_node(&pods, "plain")
            .await
            .keys()
            .collect::<Vec<_>>(),
        ["n3"]
    );
    wait_status(&sets, "agent", "agent's n1 pod to be misscheduled", |s| {
        s.desired_number_scheduled == 1 && s.number_misscheduled == 1
    })
    .await;
    assert_eq!(pods_by_node(&pods, "agent").await.len(), 2);
}
