//! A stand-in for kubelets (and, later, the syncer): binds pods to a Node object with
//! `pods/binding` and reports pod status through `pods/status`, as the syncer will when pods run
//! on the super cluster. Controller tests use it to make pods Running/Ready, Succeeded or
//! Failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

/// Creates a Ready node named `name` (no-op if it exists).
pub async fn ensure_node(client: &kube::Client, name: &str) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    if nodes.get_opt(name).await?.is_some() {
        return Ok(());
    }
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
    }))?;
    nodes.create(&PostParams::default(), &node).await?;
    let now = now();
    nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                    "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                    "lastTransitionTime": now}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            }})),
        )
        .await?;
    Ok(())
}

/// Binds pod `ns/name` to `node` (`pods/binding`).
pub async fn bind(client: &kube::Client, ns: &str, name: &str, node: &str) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    pods.create_subresource::<_, serde_json::Value>(
        "binding",
        name,
        &PostParams::default(),
        &binding,
    )
    .await
    .with_context(|| format!("binding {ns}/{name} to {node}"))?;
    Ok(())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reports pod `ns/name` Running and Ready with IP `ip`.
pub async fn set_ready(client: &kube::Client, ns: &str, name: &str, ip: &str) -> Result<()> {
    set_running(client, ns, name, ip, true).await
}

/// Reports pod `ns/name` Running with IP `ip`, Ready or not.
pub async fn set_running(
    client: &kube::Client,
    ns: &str,
    name: &str,
    ip: &str,
    ready: bool,
) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod = pods.get(name).await?;
    let now = now();
    let ready_s = if ready { "True" } else { "False" };
    let containers: Vec<serde_json::Value> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "image": c.image.clone().unwrap_or_default(),
                "imageID": "", "ready": ready, "restartCount": 0, "started": true,
                "state": {"running": {"startedAt": now}},
            })
        })
        .collect();
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "hostIP": "10.0.0.1",
            "startTime": now,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": ready_s, "lastTransitionTime": now},
                {"type": "Ready", "status": ready_s, "lastTransitionTime": now},
            ],
            "containerStatuses": containers,
        }})),
    )
    .await
    .with_context(|| format!("status of {ns}/{name}"))?;
    Ok(())
}

/// Reports pod `ns/name` finished: `Succeeded` (exit 0) or `Failed` (exit 1).
pub async fn set_finished(
    client: &kube::Client,
    ns: &str,
    name: &str,
    succeeded: bool,
) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod = pods.get(name).await?;
    let now = now();
    let (phase, code, reason) = if succeeded {
        ("Succeeded", 0, "Completed")
    } else {
        ("Failed", 1, "Error")
    };
    let containers: Vec<serde_json::Value> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "image": c.image.clone().unwrap_or_default(),
                "imageID": "", "ready": false, "restartCount": 0, "started": false,
                "state": {"terminated": {"exitCode": code, "reason": reason,
                    "startedAt": now, "finishedAt": now}},
            })
        })
        .collect();
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "phase": phase,
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
            ],
            "containerStatuses": containers,
        }})),
    )
    .await
    .with_context(|| format!("status of {ns}/{name}"))?;
    Ok(())
}

/// A fake kubelet for one namespace: every pod not yet bound is bound to `node` and reported
/// Running and Ready with a fresh IP, and every terminating pod is finally deleted (grace 0, as
/// a kubelet does once the containers stopped), until the returned guard is dropped.
pub struct FakeKubelet {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKubelet {
    /// Starts making every new pod of `ns` Ready on `node` (created if missing).
    pub async fn start(client: kube::Client, ns: &str, node: &str) -> Result<FakeKubelet> {
        ensure_node(&client, node).await?;
        let ns = ns.to_string();
        let node = node.to_string();
        let counter = Arc::new(AtomicU32::new(10));
        let task = tokio::spawn(async move {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
            loop {
                if let Ok(list) = pods.list(&ListParams::default()).await {
                    for p in list.items {
                        let name = p.metadata.name.clone().unwrap_or_default();
                        if p.metadata.deletion_timestamp.is_some() {
                            // The containers "stopped": the kubelet's final delete.
                            let _ = pods
                                .delete(&name, &kube::api::DeleteParams::default().grace_period(0))
                                .await;
                            continue;
                        }
                        let bound = p
                            .spec
                            .as_ref()
                            .and_then(|s| s.node_name.as_ref())
                            .is_some_and(|n| !n.is_empty());
                        let running = p
                            .status
                            .as_ref()
                            .and_then(|s| s.phase.as_deref())
                            .is_some_and(|ph| ph != "Pending");
                        if !bound && bind(&client, &ns, &name, &node).await.is_err() {
                            continue;
                        }
                        if !running {
                            let n = counter.fetch_add(1, Ordering::SeqCst);
                            let ip = format!("10.244.{}.{}", n / 250, n % 250 + 1);
                            let _ = set_ready(&client, &ns, &name, &ip).await;
                        }
                    }
                }
                // A poll interval (this is the kubelet's loop, not a test's wait).
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        Ok(FakeKubelet { task })
    }
}
