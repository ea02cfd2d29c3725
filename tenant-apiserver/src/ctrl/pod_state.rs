//! What the workload controllers read from pods (kube's `pkg/controller` and `podutil`
//! helpers): active, terminating, ready and available pods; the order in which a ReplicaSet
//! deletes surplus pods (`ActivePodsWithRanks`); and slow-start batching of creations.
//! Pure functions over pods kept as JSON; time is passed in.

use std::cmp::Ordering;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The annotation that orders a ReplicaSet's pods for deletion (lower cost first).
pub const POD_DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The ReplicaSet controller's cap on creations or deletions in one sync (`BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// `status.phase` (empty if missing).
pub fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether the pod has finished (`Succeeded` or `Failed`).
pub fn is_terminal(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// `controller.IsPodActive`: not finished and not being deleted.
pub fn is_active(pod: &Value) -> bool {
    !is_terminal(pod) && !crate::object::is_deleting(pod)
}

/// `controller.IsPodTerminating`: being deleted but not finished.
pub fn is_terminating(pod: &Value) -> bool {
    !is_terminal(pod) && crate::object::is_deleting(pod)
}

fn ready_condition(pod: &Value) -> Option<&Value> {
    pod.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
}

/// `podutil.IsPodReady`: the Ready condition is True.
pub fn is_ready(pod: &Value) -> bool {
    ready_condition(pod).and_then(|c| c.get("status")?.as_str()) == Some("True")
}

/// Parses a Kubernetes timestamp.
pub fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// When the pod became Ready (its Ready condition's lastTransitionTime), if it is Ready.
pub fn ready_since(pod: &Value) -> Option<DateTime<Utc>> {
    if !is_ready(pod) {
        return None;
    }
    parse_time(ready_condition(pod)?.get("lastTransitionTime"))
}

/// `podutil.IsPodAvailable`: Ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Value, min_ready_seconds: i64, now: DateTime<Utc>) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_since(pod).is_some_and(|t| t + chrono::Duration::seconds(min_ready_seconds) < now)
}

/// How long until a Ready pod becomes available (None if it is not Ready or already is).
pub fn until_available(
    pod: &Value,
    min_ready_seconds: i64,
    now: DateTime<Utc>,
) -> Option<std::time::Duration> {
    if min_ready_seconds <= 0 || is_available(pod, min_ready_seconds, now) {
        return None;
    }
    let since = ready_since(pod)?;
    let due = since + chrono::Duration::seconds(min_ready_seconds);
    (due - now).to_std().ok()
}

/// The pod's deletion cost (`controller.kubernetes.io/pod-deletion-cost`, 0 if unset or bad).
pub fn deletion_cost(pod: &Value) -> i32 {
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(POD_DELETION_COST_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<i32>().ok())
        .unwrap_or(0)
}

fn node_name(pod: &Value) -> &str {
    pod.pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn phase_ordinal(pod: &Value) -> i32 {
    match phase(pod) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => -1,
    }
}

/// The highest restart count of the regular containers, then of the sidecar (restartable
/// init) containers.
fn max_restarts(pod: &Value) -> (i64, i64) {
    let counts = |path: &str, only: Option<&[&str]>| {
        pod.pointer(path)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| {
                only.is_none_or(|names| {
                    c.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| names.contains(&n))
                })
            })
            .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
            .max()
            .unwrap_or(0)
    };
    let sidecars: Vec<&str> = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"))
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    (
        counts("/status/containerStatuses", None),
        counts("/status/initContainerStatuses", Some(&sidecars)),
    )
}

/// `afterOrZero`: a zero time first, then the later time first.
fn after_or_zero(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => b.cmp(&a),
    }
}

/// `logarithmicRankDiff`: compares the ages of two times in powers of two of nanoseconds.
fn log_rank(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let d = (now - t).num_nanoseconds().unwrap_or(i64::MAX);
    if d > 0 { (d as f64).log2() as i64 } else { -1 }
}

/// Compares two times as `ActivePodsWithRanks` does with LogarithmicScaleDown: the younger
/// (in log-2 buckets) first, the pods' uids breaking ties within a bucket.
fn compare_times(
    a: Option<DateTime<Utc>>,
    b: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    uids: (&str, &str),
) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => {
            let diff = log_rank(a, now) - log_rank(b, now);
            if diff == 0 {
                uids.0.cmp(uids.1)
            } else {
                diff.cmp(&0)
            }
        }
        _ => after_or_zero(a, b),
    }
}

/// `ActivePodsWithRanks.Less` as an ordering: the pod to delete first is the smaller one.
/// `rank` is the number of active related pods on the same node.
pub fn deletion_order(
    a: &Value,
    rank_a: usize,
    b: &Value,
    rank_b: usize,
    now: DateTime<Utc>,
) -> Ordering {
    // 1. Unassigned < assigned.
    let (na, nb) = (node_name(a), node_name(b));
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return if na.is_empty() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 2. Pending < Unknown < Running.
    let by_phase = phase_ordinal(a).cmp(&phase_ordinal(b));
    if by_phase != Ordering::Equal {
        return by_phase;
    }
    // 3. Not ready < ready.
    let (ra, rb) = (is_ready(a), is_ready(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    // 4. Lower pod-deletion-cost < higher.
    let by_cost = deletion_cost(a).cmp(&deletion_cost(b));
    if by_cost != Ordering::Equal {
        return by_cost;
    }
    // 5. Doubled up (more related pods on the node) < not doubled up.
    if rank_a != rank_b {
        return rank_b.cmp(&rank_a);
    }
    let uids = (
        crate::ctrl::pod_template::uid(a),
        crate::ctrl::pod_template::uid(b),
    );
    // 6. Ready for less time < more time.
    if ra && rb {
        let (ta, tb) = (ready_since(a), ready_since(b));
        if ta != tb {
            return compare_times(ta, tb, now, uids);
        }
    }
    // 7. More container restarts < fewer.
    let (rsa, rsb) = (max_restarts(a), max_restarts(b));
    if rsa.0 != rsb.0 {
        return rsb.0.cmp(&rsa.0);
    }
    if rsa.1 != rsb.1 {
        return rsb.1.cmp(&rsa.1);
    }
    // 8. Newer < older (no creation time first).
    let (ca, cb) = (
        parse_time(a.pointer("/metadata/creationTimestamp")),
        parse_time(b.pointer("/metadata/creationTimestamp")),
    );
    if ca != cb {
        return compare_times(ca, cb, now, uids);
    }
    Ordering::Equal
}

/// `getPodsToDelete`: the `diff` pods of `pods` to delete first, ranked against `related` (the
/// active pods of every ReplicaSet with the same controller, which counts doubled-up nodes).
pub fn pods_to_delete(
    pods: &[Arc<Value>],
    related: &[Arc<Value>],
    diff: usize,
    now: DateTime<Utc>,
) -> Vec<Arc<Value>> {
    if diff >= pods.len() {
        return pods.to_vec();
    }
    let mut on_node: std::collections::HashMap<&str, usize> = Default::default();
    for p in related.iter().filter(|p| is_active(p)) {
        *on_node.entry(node_name(p)).or_default() += 1;
    }
    let mut ranked: Vec<(usize, Arc<Value>)> = pods
        .iter()
        .map(|p| (on_node.get(node_name(p)).copied().unwrap_or(0), p.clone()))
        .collect();
    // An insertion sort: upstream's order is not a strict total order in every corner (log
    // buckets with uid ties), which std's sorts may reject; pod lists are small.
    for i in 1..ranked.len() {
        let mut j = i;
        while j > 0
            && deletion_order(
                &ranked[j].1,
                ranked[j].0,
                &ranked[j - 1].1,
                ranked[j - 1].0,
                now,
            ) == Ordering::Less
        {
            ranked.swap(j, j - 1);
            j -= 1;
        }
    }
    ranked.into_iter().take(diff).map(|(_, p)| p).collect()
}

/// The batch sizes of `slowStartBatch(count, initial)`: 1, 2, 4, ... capped by what remains.
pub fn slow_start_batches(count: usize, initial: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut remaining = count;
    let mut size = remaining.min(initial);
    while size > 0 {
        out.push(size);
        remaining -= size;
        size = (2 * size).min(remaining);
    }
    out
}

/// `slowStartBatch`: runs `count` calls of `f` in growing concurrent batches, stopping after
/// the first batch with a failure. Returns the number of successes and the first error.
pub async fn slow_start_batch<F, Fut, E>(count: usize, initial: usize, f: F) -> (usize, Option<E>)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut successes = 0;
    for size in slow_start_batches(count, initial) {
        let results = futures::future::join_all((0..size).map(|_| f())).await;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(()) => successes += 1,
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        if first_err.is_some() {
            return (successes, first_err);
        }
    }
    (successes, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2030-01-01T12:00:00Z".parse().unwrap()
    }

    fn pod(name: &str, node: &str, phase: &str, ready: Option<&str>) -> Arc<Value> {
        let mut p = json!({"metadata": {"name": name, "uid": name,
            "creationTimestamp": "2030-01-01T10:00:00Z"},
            "spec": {"nodeName": node}, "status": {"phase": phase}});
        if let Some(since) = ready {
            p["status"]["conditions"] =
                json!([{"type": "Ready", "status": "True", "lastTransitionTime": since}]);
        }
        Arc::new(p)
    }

    fn names(pods: &[Arc<Value>]) -> Vec<&str> {
        pods.iter().map(|p| crate::object::name(p)).collect()
    }

    #[test]
    fn slow_start_doubles_up_to_the_count() {
        assert_eq!(slow_start_batches(0, 1), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1, 1), vec![1]);
        assert_eq!(slow_start_batches(10, 1), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(15, 1), vec![1, 2, 4, 8]);
    }

    #[tokio::test]
    async fn slow_start_stops_after_a_failing_batch() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (ok, err) = slow_start_batch(10, 1, || {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { if n == 2 { Err("quota") } else { Ok(()) } }
        })
        .await;
        // Batches 1 and 2 ran (3 calls), the third call failed: no batch of 4.
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!((ok, err), (2, Some("quota")));
    }

    #[test]
    fn deletion_prefers_unassigned_pending_unready_cheap_doubled_young() {
        let unassigned = pod("unassigned", "", "Pending", None);
        let pending = pod("pending", "n1", "Pending", None);
        let unknown = pod("unknown", "n1", "Unknown", None);
        let running = pod("running", "n1", "Running", None);
        let ready_new = pod("ready-new", "n2", "Running", Some("2030-01-01T11:59:00Z"));
        let ready_old = pod("ready-old", "n3", "Running", Some("2030-01-01T08:00:00Z"));
        let pods = vec![
            ready_old.clone(),
            ready_new.clone(),
            running.clone(),
            unknown.clone(),
            pending.clone(),
            unassigned.clone(),
        ];
        let order = pods_to_delete(&pods, &[], 5, now());
        assert_eq!(
            names(&order),
            ["unassigned", "pending", "unknown", "running", "ready-new"]
        );
        // Deleting everything needs no order.
        assert_eq!(pods_to_delete(&pods, &[], 6, now()).len(), 6);
    }

    #[test]
    fn deletion_cost_and_colocation_order_ready_pods() {
        let mut cheap = (*pod("cheap", "n1", "Running", Some("2030-01-01T08:00:00Z"))).clone();
        cheap["metadata"]["annotations"] = json!({POD_DELETION_COST_ANNOTATION: "-5"});
        let cheap = Arc::new(cheap);
        let alone = pod("alone", "n2", "Running", Some("2030-01-01T11:59:00Z"));
        let crowded = pod("crowded", "n3", "Running", Some("2030-01-01T11:59:00Z"));
        let other = pod("other-rs", "n3", "Running", None);
        let pods = vec![alone.clone(), crowded.clone(), cheap.clone()];
        let related = vec![alone, crowded, cheap, other];
        // The cheapest goes first despite being oldest; then the pod on the busier node.
        assert_eq!(
            names(&pods_to_delete(&pods, &related, 2, now())),
            ["cheap", "crowded"]
        );
    }

    #[test]
    fn restarts_then_age_break_ties() {
        let mut flappy = (*pod("flappy", "n1", "Running", None)).clone();
        flappy["status"]["containerStatuses"] = json!([{"name": "c", "restartCount": 4}]);
        let flappy = Arc::new(flappy);
        let mut young = (*pod("young", "n1", "Running", None)).clone();
        young["metadata"]["creationTimestamp"] = json!("2030-01-01T11:59:59Z");
        let young = Arc::new(young);
        let old = pod("old", "n1", "Running", None);
        let pods = vec![old, young, flappy];
        assert_eq!(
            names(&pods_to_delete(&pods, &[], 2, now())),
            ["flappy", "young"]
        );
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let p = pod("p", "n", "Running", Some("2030-01-01T11:59:50Z"));
        assert!(is_available(&p, 0, now()));
        assert!(is_available(&p, 5, now()));
        assert!(!is_available(&p, 10, now()));
        assert!(!is_available(&p, 30, now()));
        assert_eq!(
            until_available(&p, 30, now()),
            Some(std::time::Duration::from_secs(20))
        );
        let unready = pod("u", "n", "Running", None);
        assert!(!is_available(&unready, 0, now()));
        assert!(is_active(&unready));
        let done = pod("d", "n", "Succeeded", None);
        assert!(!is_active(&done) && !is_terminating(&done));
    }
}
