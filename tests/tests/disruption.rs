//! PodDisruptionBudgets and the eviction subresource end to end: the disruption controller's
//! status over a ReplicaSet's Ready pods, evictions granted while the budget allows and refused
//! with kube-apiserver's 429 once it does not, and `kubectl drain` blocked by a budget until
//! the budget permits. The test stands in for the kubelet: it makes pods Ready and finishes the
//! deletion of pods being deleted.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::{Value, json};
use warren_tests::kubelet::FakeKubelet;
use warren_tests::{Kubectl, TestServer, columns, eventually, eventually_async, raw_request};

const WAIT: Duration = Duration::from_secs(20);

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&all)).expect("kubectl prints JSON")
}

fn replica_set(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: c\n        image: nginx\n"
    )
}

fn pdb(spec: &str) -> String {
    format!(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  {spec}\n  selector:\n    matchLabels:\n      app: web\n"
    )
}

/// Starts the ReplicaSet's pods on node `n1` and waits until `n` are Ready; the fake kubelet
/// stops then, so replacement pods stay Pending.
async fn ready_replica_set(k: &Kubectl, client: &kube::Client, ns: &str, n: usize) -> Vec<String> {
    let kubelet = FakeKubelet::start(client.clone(), ns, "n1").await.unwrap();
    k.ok_stdin(&["apply", "-n", ns, "-f", "-"], &replica_set(n as u32));
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let names = eventually_async(WAIT, "the ReplicaSet's pods to be Ready", || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default()).await.ok()?;
            let ready: Vec<String> = list
                .items
                .iter()
                .filter(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        })
                })
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            (ready.len() == n).then_some(ready)
        }
    })
    .await;
    drop(kubelet);
    names
}

/// The PDB's status once it matches `pred`.
fn pdb_status(k: &Kubectl, ns: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    eventually(WAIT, what, || {
        let p = get_json(k, &["get", "pdb", "web", "-n", ns]);
        pred(&p["status"]).then_some(p)
    })
}

/// A client that sees a 429 as it is (kube-rs retries 429 by default; client-go, and so
/// kubectl, retries only when the server sends Retry-After, which a refused eviction does not).
async fn client_without_retries(server: &TestServer) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

async fn evict(client: &kube::Client, ns: &str, pod: &str) -> (http::StatusCode, Value) {
    let body = json!({
        "apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": pod, "namespace": ns},
    });
    let req = http::Request::post(format!("/api/v1/namespaces/{ns}/pods/{pod}/eviction"))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap();
    let (code, json, text) = raw_request(client, req).await.unwrap();
    (code, json.unwrap_or_else(|| panic!("a Status: {text}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdb_status_and_evictions() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = client_without_retries(&server).await;
    k.ok(&["create", "namespace", "pdb"]);
    let names = ready_replica_set(&k, &client, "pdb", 3).await;

    k.ok_stdin(&["apply", "-n", "pdb", "-f", "-"], &pdb("minAvailable: 2"));
    let p = pdb_status(&k, "pdb", "the PDB to allow one disruption", |s| {
        s["disruptionsAllowed"] == 1 && s["currentHealthy"] == 3
    });
    let status = &p["status"];
    assert_eq!(status["desiredHealthy"], 2, "{p}");
    assert_eq!(status["expectedPods"], 3, "{p}");
    assert_eq!(
        status["observedGeneration"], p["metadata"]["generation"],
        "{p}"
    );
    let cond = &status["conditions"][0];
    assert_eq!(cond["type"], "DisruptionAllowed", "{p}");
    assert_eq!(cond["status"], "True", "{p}");
    assert_eq!(cond["reason"], "SufficientPods", "{p}");

    let out = k.ok(&["get", "pdb", "-n", "pdb"]);
    let header = columns(out.lines().next().unwrap());
    assert_eq!(
        header,
        vec![
            "NAME",
            "MIN AVAILABLE",
            "MAX UNAVAILABLE",
            "ALLOWED DISRUPTIONS",
            "AGE"
        ],
        "{out}"
    );
    let row = columns(out.lines().nth(1).unwrap());
    assert_eq!(row[..4], ["web", "2", "N/A", "1"], "{out}");

    // A dry run is granted and changes nothing.
    let body =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": names[0]}});
    let req = http::Request::post(format!(
        "/api/v1/namespaces/pdb/pods/{}/eviction?dryRun=All",
        names[0]
    ))
    .header("Content-Type", "application/json")
    .body(serde_json::to_vec(&body).unwrap())
    .unwrap();
    let (code, _, text) = raw_request(&client, req).await.unwrap();
    assert_eq!(code, 201, "{text}");
    let after = get_json(&k, &["get", "pdb", "web", "-n", "pdb"]);
    assert_eq!(
        after["metadata"]["resourceVersion"],
        p["metadata"]["resourceVersion"]
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "pdb");
    assert!(
        pods.get(&names[0])
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_none()
    );

    // The first eviction consumes the one allowed disruption.
    let (code, status) = evict(&client, "pdb", &names[0]).await;
    assert_eq!(code, 201, "{status}");
    assert_eq!(status["status"], "Success", "{status}");
    let evicted = pods.get(&names[0]).await.unwrap();
    assert!(
        evicted.metadata.deletion_timestamp.is_some(),
        "the pod is being deleted"
    );
    let conditions = evicted.status.unwrap().conditions.unwrap();
    let target = conditions
        .iter()
        .find(|c| c.type_ == "DisruptionTarget")
        .unwrap();
    assert_eq!(target.status, "True");
    assert_eq!(target.reason.as_deref(), Some("EvictionByEvictionAPI"));

    // The second is refused: the budget needs 2 healthy pods and has 2.
    let (code, status) = evict(&client, "pdb", &names[1]).await;
    assert_eq!(code, 429, "{status}");
    assert_eq!(status["reason"], "TooManyRequests", "{status}");
    assert_eq!(
        status["message"], "Cannot evict pod as it would violate the pod's disruption budget.",
        "{status}"
    );
    assert_eq!(
        status["details"]["causes"][0]["reason"], "DisruptionBudget",
        "{status}"
    );
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "The disruption budget web needs 2 healthy pods and has 2 currently",
        "{status}"
    );
    assert!(
        pods.get(&names[1])
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_none()
    );
    let p = pdb_status(&k, "pdb", "the PDB to allow nothing more", |s| {
        s["disruptionsAllowed"] == 0 && s["currentHealthy"] == 2
    });
    assert_eq!(
        p["status"]["conditions"][0]["reason"], "InsufficientPods",
        "{p}"
    );

    // Two budgets over one pod: the eviction subresource does not support that.
    k.ok_stdin(
        &["apply", "-n", "pdb", "-f", "-"],
        &pdb("maxUnavailable: 1").replace("name: web", "name: web-too"),
    );
    let (code, status) = evict(&client, "pdb", &names[1]).await;
    assert_eq!(code, 500, "{status}");
    assert_eq!(
        status["message"],
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_waits_for_the_disruption_budget() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    k.ok(&["create", "namespace", "drain"]);
    let names = ready_replica_set(&k, &client, "drain", 3).await;
    k.ok_stdin(
        &["apply", "-n", "drain", "-f", "-"],
        &pdb("minAvailable: 3"),
    );
    pdb_status(&k, "drain", "the PDB to allow nothing", |s| {
        s["currentHealthy"] == 3 && s["disruptionsAllowed"] == 0
    });

    // Stand in for the kubelet: pods being deleted finish terminating.
    let finisher = {
        let pods: Api<Pod> = Api::namespaced(client.clone(), "drain");
        tokio::spawn(async move {
            loop {
                if let Ok(list) = pods.list(&ListParams::default()).await {
                    for p in list.items {
                        if p.metadata.deletion_timestamp.is_some() {
                            let name = p.metadata.name.unwrap_or_default();
                            let _ = pods
                                .delete(&name, &DeleteParams::default().grace_period(0))
                                .await;
                        }
                    }
                }
                // The kubelet's poll interval, not a test's wait.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let drain = [
        "drain",
        "n1",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--pod-selector",
        "app=web",
    ];
    let mut blocked = drain.to_vec();
    blocked.extend(["--timeout", "4s"]);
    let out = tokio::task::block_in_place(|| k.run(&blocked));
    assert!(
        !out.success(),
        "drain must not pass the budget: {}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{}",
        out.stderr
    );
    let node = get_json(&k, &["get", "node", "n1"]);
    assert_eq!(node["spec"]["unschedulable"], true, "drain cordons first");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "drain");
    for name in &names {
        assert!(
            pods.get(name)
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_none()
        );
    }

    // Once the budget permits, the drain evicts every selected pod and completes.
    k.ok_stdin(
        &["apply", "-n", "drain", "-f", "-"],
        &pdb("minAvailable: 0"),
    );
    pdb_status(&k, "drain", "the PDB to allow three disruptions", |s| {
        s["disruptionsAllowed"] == 3
    });
    let mut allowed = drain.to_vec();
    allowed.extend(["--timeout", "20s"]);
    let out = tokio::task::block_in_place(|| k.run(&allowed));
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("node/n1 drained"), "{}", out.stdout);
    for name in &names {
        assert!(
            out.stdout.contains(&format!("pod/{name} evicted")),
            "{}",
            out.stdout
        );
        assert!(
            pods.get_opt(name).await.unwrap().is_none(),
            "{name} is gone"
        );
    }
    finisher.abort();
}
