//! Pod garbage collection (kube-controller-manager's `podgc`), every 20 seconds:
//!
//! - terminated pods (any phase but Pending, Running and Unknown) beyond
//!   [`TERMINATED_POD_GC_THRESHOLD`] are deleted, evicted ones first, then the oldest;
//! - terminating pods on a node that is not Ready and carries the
//!   `node.kubernetes.io/out-of-service` taint are deleted;
//! - pods bound to a node that no longer exists are deleted once the node has been missing for
//!   the 40-second quarantine and a fresh read confirms it is gone (marked Failed first, with the
//!   `DisruptionTarget` condition);
//! - terminating pods that were never scheduled are deleted.
//!
//! Each deletion marks a pod that is not yet terminal `Failed`, then deletes it with a grace
//! period of zero, as upstream's `markFailedAndDeletePod`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use super::{Client, Hub};
use crate::handlers::DeleteOptions;
use crate::object;

/// kube-controller-manager's default `--terminated-pod-gc-threshold`.
pub const TERMINATED_POD_GC_THRESHOLD: usize = 12_500;
/// How often the pods are looked at (upstream's `gcCheckPeriod`).
const GC_CHECK_PERIOD: Duration = Duration::from_secs(20);
/// How long a node must be missing before its pods count as orphaned (`quarantineTime`).
pub const QUARANTINE_TIME: Duration = Duration::from_secs(40);
/// The out-of-service taint key.
const TAINT_OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

const NAME: &str = "pod-garbage-collector";

/// Runs pod GC until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    let (pods, nodes) = match (
        hub.informer("", "v1", "pods").await,
        hub.informer("", "v1", "nodes").await,
    ) {
        (Ok(p), Ok(n)) => (p, n),
        _ => {
            tracing::warn!(controller = NAME, "no pod or node informer");
            return;
        }
    };
    let client = Client::new(hub.api().clone(), NAME);
    let Ok(pod_info) = client.resource("", "v1", "pods") else {
        return;
    };
    let mut quarantine = Quarantine::default();
    let mut tick = tokio::time::interval(GC_CHECK_PERIOD);
    loop {
        tokio::select! {
            _ = hub.cancel().cancelled() => return,
            _ = tick.tick() => {}
        }
        let pods = pods.list();
        let nodes = nodes.list();
        gc_pass(&client, &pod_info, &pods, &nodes, &mut quarantine).await;
    }
}

/// One pass of upstream's `gc`.
async fn gc_pass(
    client: &Client,
    pod_info: &ResourceInfo,
    pods: &[Arc<Value>],
    nodes: &[Arc<Value>],
    quarantine: &mut Quarantine,
) {
    for pod in terminated_to_delete(pods, TERMINATED_POD_GC_THRESHOLD) {
        tracing::info!(pod = %pod_ref(pod), "garbage collecting terminated pod");
        report(mark_failed_and_delete(client, pod_info, pod, None).await);
    }
    for pod in terminating_out_of_service(pods, nodes) {
        tracing::info!(pod = %pod_ref(pod), "garbage collecting pod terminating on an out-of-service node");
        report(mark_failed_and_delete(client, pod_info, pod, None).await);
    }
    // Orphaned: bound to a node that has been missing for the whole quarantine.
    let existing: HashSet<&str> = nodes.iter().map(|n| object::name(n)).collect();
    let now = Instant::now();
    for pod in pods {
        let node = node_name(pod);
        if !node.is_empty() && !existing.contains(node) {
            quarantine.add(node, now + QUARANTINE_TIME);
        }
    }
    let mut deleted_nodes = HashSet::new();
    for node in quarantine.take_due(now) {
        if existing.contains(node.as_str()) {
            continue;
        }
        let Some(node_info) = client.api().registry.lookup("", "v1", "nodes") else {
            continue;
        };
        match client.api().store.get(&node_info.key(None, &node)).await {
            Ok(None) => {
                deleted_nodes.insert(node);
            }
            Ok(Some(_)) => {}
            // Added back to the quarantine on a later pass if still needed.
            Err(err) => tracing::warn!(%node, error = %err, "error while getting node"),
        }
    }
    for pod in pods {
        if !deleted_nodes.contains(node_name(pod)) {
            continue;
        }
        tracing::info!(pod = %pod_ref(pod), node = node_name(pod), "found orphaned pod assigned to the node, deleting");
        let condition = json!({
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "DeletionByPodGC",
            "message": "PodGC: node no longer exists",
        });
        report(mark_failed_and_delete(client, pod_info, pod, Some(condition)).await);
    }
    for pod in unscheduled_terminating(pods) {
        tracing::info!(pod = %pod_ref(pod), "found unscheduled terminating pod not assigned to any node, deleting");
        report(mark_failed_and_delete(client, pod_info, pod, None).await);
    }
}

fn report(res: Result<(), ApiError>) {
    if let Err(err) = res {
        tracing::warn!(controller = NAME, error = %err.message, "pod garbage collection failed");
    }
}

fn pod_ref(pod: &Value) -> String {
    format!(
        "{}/{}",
        object::meta_str(pod, "namespace").unwrap_or(""),
        object::name(pod)
    )
}

fn node_name(pod: &Value) -> &str {
    pod.pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Upstream's `isPodTerminated`: any phase but Pending, Running and Unknown.
fn is_terminated(pod: &Value) -> bool {
    !matches!(phase(pod), "Pending" | "Running" | "Unknown")
}

/// `eviction.PodIsEvicted`.
fn is_evicted(pod: &Value) -> bool {
    phase(pod) == "Failed"
        && pod.pointer("/status/reason").and_then(Value::as_str) == Some("Evicted")
}

/// The terminated pods to delete so that at most `threshold` remain: evicted ones first, then
/// by creation time, then by name (`byEvictionAndCreationTimestamp`).
pub fn terminated_to_delete(pods: &[Arc<Value>], threshold: usize) -> Vec<&Value> {
    if threshold == 0 {
        return Vec::new();
    }
    let mut terminated: Vec<&Value> = pods
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| is_terminated(p))
        .collect();
    if terminated.len() <= threshold {
        return Vec::new();
    }
    let excess = terminated.len() - threshold;
    terminated.sort_by(|a, b| {
        is_evicted(b)
            .cmp(&is_evicted(a))
            .then_with(|| creation(a).cmp(&creation(b)))
            .then_with(|| object::name(a).cmp(object::name(b)))
    });
    terminated.truncate(excess);
    terminated
}

fn creation(pod: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    object::meta_str(pod, "creationTimestamp")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
}

/// Terminating pods on a node that is not Ready and is tainted out-of-service.
pub fn terminating_out_of_service<'a>(
    pods: &'a [Arc<Value>],
    nodes: &[Arc<Value>],
) -> Vec<&'a Value> {
    let by_name: HashMap<&str, &Value> = nodes
        .iter()
        .map(|n| (object::name(n), n.as_ref()))
        .collect();
    let mut out: Vec<&Value> = pods
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| object::is_deleting(p))
        .filter(|p| {
            by_name.get(node_name(p)).is_some_and(|node| {
                !node_ready(node)
                    && node
                        .pointer("/spec/taints")
                        .and_then(Value::as_array)
                        .is_some_and(|t| {
                            t.iter().any(|t| {
                                t.get("key").and_then(Value::as_str) == Some(TAINT_OUT_OF_SERVICE)
                            })
                        })
            })
        })
        .collect();
    out.sort_by(|a, b| {
        is_evicted(b)
            .cmp(&is_evicted(a))
            .then_with(|| creation(a).cmp(&creation(b)))
            .then_with(|| object::name(a).cmp(object::name(b)))
    });
    out
}

fn node_ready(node: &Value) -> bool {
    node.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Terminating pods never scheduled to a node.
pub fn unscheduled_terminating(pods: &[Arc<Value>]) -> Vec<&Value> {
    pods.iter()
        .map(|p| p.as_ref())
        .filter(|p| object::is_deleting(p) && node_name(p).is_empty())
        .collect()
}

/// Nodes seen missing, each due for a check once its quarantine is over (upstream's delaying
/// node queue: the earliest due time wins; a checked node leaves the queue).
#[derive(Default)]
pub struct Quarantine {
    due: HashMap<String, Instant>,
}

impl Quarantine {
    /// Records `node` as missing, to be checked at `due` (unless already due earlier).
    pub fn add(&mut self, node: &str, due: Instant) {
        let at = self.due.entry(node.to_string()).or_insert(due);
        if due < *at {
            *at = due;
        }
    }

    /// The nodes due for a check at `now`, taken out of the quarantine.
    pub fn take_due(&mut self, now: Instant) -> Vec<String> {
        let due: Vec<String> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for n in &due {
            self.due.remove(n);
        }
        due
    }
}

/// Marks a pod that is not terminal Failed (with `condition`, if any), then deletes it with a
/// grace period of zero.
async fn mark_failed_and_delete(
    client: &Client,
    info: &ResourceInfo,
    pod: &Value,
    condition: Option<Value>,
) -> Result<(), ApiError> {
    let ns = object::meta_str(pod, "namespace");
    let name = object::name(pod);
    let uid = object::meta_str(pod, "uid").unwrap_or("").to_string();
    if !matches!(phase(pod), "Succeeded" | "Failed") {
        let res = client
            .modify(info, ns, name, true, |p| {
                if object::meta_str(p, "uid") != Some(uid.as_str())
                    || matches!(phase(p), "Succeeded" | "Failed")
                {
                    return false;
                }
                p["status"]["phase"] = json!("Failed");
                if let Some(cond) = &condition {
                    let mut cond = cond.clone();
                    cond["lastTransitionTime"] = json!(object::now_rfc3339());
                    let kind = cond["type"].clone();
                    let conditions = p["status"]
                        .as_object_mut()
                        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
                    if let Some(list) = conditions.and_then(Value::as_array_mut) {
                        list.retain(|c| c.get("type") != Some(&kind));
                        list.push(cond);
                    }
                }
                true
            })
            .await;
        match res {
            Ok(_) => {}
            Err(e) if e.code == 404 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    let opts = DeleteOptions {
        grace_period: Some(0),
        precondition_uid: Some(uid),
        ..Default::default()
    };
    match client.delete(info, ns, name, &opts).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, phase: &str, created: &str, extra: Value) -> Arc<Value> {
        let mut p = json!({
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
            "spec": {},
            "status": {"phase": phase},
        });
        if let (Some(o), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                if let (Some(Value::Object(dst)), Value::Object(src)) = (o.get_mut(k), v) {
                    dst.extend(src.clone());
                }
            }
        }
        Arc::new(p)
    }

    fn names(v: &[&Value]) -> Vec<String> {
        v.iter().map(|p| object::name(p).to_string()).collect()
    }

    #[test]
    fn terminated_pods_beyond_the_threshold_go_evicted_first_then_oldest() {
        let pods = vec![
            pod("running", "Running", "2024-01-01T00:00:00Z", json!({})),
            pod("pending", "Pending", "2024-01-01T00:00:00Z", json!({})),
            pod("new", "Succeeded", "2024-01-05T00:00:00Z", json!({})),
            pod("old", "Failed", "2024-01-02T00:00:00Z", json!({})),
            pod("old-b", "Succeeded", "2024-01-02T00:00:00Z", json!({})),
            pod(
                "evicted",
                "Failed",
                "2024-01-09T00:00:00Z",
                json!({"status": {"reason": "Evicted"}}),
            ),
        ];
        // Four terminated pods, threshold 2: two go.
        assert_eq!(names(&terminated_to_delete(&pods, 2)), ["evicted", "old"]);
        assert_eq!(
            names(&terminated_to_delete(&pods, 1)),
            ["evicted", "old", "old-b"]
        );
        assert!(terminated_to_delete(&pods, 4).is_empty());
        assert!(terminated_to_delete(&pods, TERMINATED_POD_GC_THRESHOLD).is_empty());
        // A threshold of zero disables it, as upstream.
        assert!(terminated_to_delete(&pods, 0).is_empty());
    }

    #[test]
    fn unscheduled_and_out_of_service_terminating_pods_are_selected() {
        let deleting = json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}});
        let pods = vec![
            pod(
                "unscheduled",
                "Pending",
                "2024-01-01T00:00:00Z",
                deleting.clone(),
            ),
            pod(
                "unscheduled-live",
                "Pending",
                "2024-01-01T00:00:00Z",
                json!({}),
            ),
            pod(
                "on-oos",
                "Running",
                "2024-01-01T00:00:00Z",
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {"nodeName": "oos"}}),
            ),
            pod(
                "on-ready",
                "Running",
                "2024-01-01T00:00:00Z",
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {"nodeName": "ready"}}),
            ),
        ];
        assert_eq!(names(&unscheduled_terminating(&pods)), ["unscheduled"]);
        let nodes = vec![
            Arc::new(json!({
                "metadata": {"name": "oos"},
                "spec": {"taints": [{"key": TAINT_OUT_OF_SERVICE, "effect": "NoExecute"}]},
                "status": {"conditions": [{"type": "Ready", "status": "False"}]},
            })),
            Arc::new(json!({
                "metadata": {"name": "ready"},
                "spec": {"taints": [{"key": TAINT_OUT_OF_SERVICE, "effect": "NoExecute"}]},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            })),
        ];
        assert_eq!(
            names(&terminating_out_of_service(&pods, &nodes)),
            ["on-oos"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn missing_nodes_are_checked_only_after_the_quarantine() {
        let mut q = Quarantine::default();
        let start = Instant::now();
        q.add("gone", start + QUARANTINE_TIME);
        assert!(q.take_due(Instant::now()).is_empty());
        tokio::time::advance(Duration::from_secs(20)).await;
        // Seen missing again later: the earlier due time stays.
        q.add("gone", Instant::now() + QUARANTINE_TIME);
        assert!(q.take_due(Instant::now()).is_empty());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(q.take_due(Instant::now()), ["gone"]);
        // Checked once: it leaves the quarantine.
        assert!(q.take_due(Instant::now()).is_empty());
    }
}
