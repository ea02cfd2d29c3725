//! The Deployment controller (kube's `pkg/controller/deployment`): a Deployment owns one
//! ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`; a rollout scales the
//! new one up and the old ones down within `maxSurge`/`maxUnavailable` (RollingUpdate) or
//! all old ones to zero before the new one starts (Recreate); scaling a Deployment mid-rollout
//! spreads the change proportionally; old ReplicaSets beyond `revisionHistoryLimit` are
//! deleted; `paused` stops rollouts but not scaling. The status carries the counts and the
//! Progressing (with `progressDeadlineSeconds`) and Available conditions that
//! `kubectl rollout status` reads, with upstream's reasons and messages.
//!
//! `kubectl rollout undo` needs nothing here: kubectl copies the old ReplicaSet's template into
//! the Deployment, which then finds that ReplicaSet as its new one and gives it the next
//! revision. The legacy `deprecated.deployment.rollback.to` annotation (what the removed
//! `spec.rollbackTo` became) is still honoured as upstream does.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::LabelSelector;

use super::pod_state::{self, parse_time};
use super::pod_template::{
    self, POD_TEMPLATE_HASH_LABEL, controller_of, controller_ref, equal_ignore_hash, uid,
};
use super::{Client, Hub, Informer, WorkQueue, split_key};
use crate::handlers::DeleteOptions;
use crate::object;

/// The revision of a Deployment's ReplicaSet (and of the Deployment).
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The earlier revisions a ReplicaSet served (after a rollback to it).
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's `spec.replicas` when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// `spec.replicas + maxSurge` when the ReplicaSet was last scaled.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
/// The legacy rollback request (`apps.DeprecatedRollbackTo`).
pub const ROLLBACK_TO_ANNOTATION: &str = "deprecated.deployment.rollback.to";
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The annotations a Deployment does not copy to its ReplicaSets (`annotationsToSkip`).
const ANNOTATIONS_TO_SKIP: &[&str] = &[
    LAST_APPLIED_ANNOTATION,
    REVISION_ANNOTATION,
    REVISION_HISTORY_ANNOTATION,
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    ROLLBACK_TO_ANNOTATION,
];

/// `maxRevHistoryLengthInChars`.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// `progressDeadlineSeconds` that means "no deadline" (`math.MaxInt32`).
const NO_DEADLINE: i64 = i32::MAX as i64;

// ---------------------------------------------------------------------------------------------
// Pure rollout arithmetic (deployment/util).

/// `intstr.GetScaledValueFromIntOrPercent`: an int, or a percentage of `total` rounded up or
/// down.
pub fn scaled_value(v: Option<&Value>, total: i64, round_up: bool) -> Result<i64, String> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("invalid value for IntOrString: {n}")),
        Some(Value::String(s)) => {
            let pct = s
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or_else(|| {
                    "invalid value for IntOrString: invalid type: string is not a percentage"
                        .to_string()
                })?;
            let scaled = pct * total;
            Ok(if round_up {
                (scaled + 99).div_euclid(100)
            } else {
                scaled.div_euclid(100)
            })
        }
        Some(other) => Err(format!("invalid value for IntOrString: {other}")),
    }
}

/// `ResolveFenceposts`: maxSurge rounded up and maxUnavailable rounded down; both zero makes
/// maxUnavailable 1.
pub fn resolve_fenceposts(
    max_surge: Option<&Value>,
    max_unavailable: Option<&Value>,
    desired: i64,
) -> Result<(i64, i64), String> {
    let surge = scaled_value(max_surge, desired, true)?;
    let mut unavailable = scaled_value(max_unavailable, desired, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

fn int_at(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// `spec.replicas` (1 when unset, as defaulted).
pub fn spec_replicas(v: &Value) -> i64 {
    v.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn is_rolling_update(d: &Value) -> bool {
    d.pointer("/spec/strategy/type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate")
        == "RollingUpdate"
}

fn fenceposts(d: &Value) -> (i64, i64) {
    resolve_fenceposts(
        d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
        d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
        spec_replicas(d),
    )
    .unwrap_or((0, 1))
}

/// `MaxSurge`.
pub fn max_surge(d: &Value) -> i64 {
    if !is_rolling_update(d) {
        return 0;
    }
    fenceposts(d).0
}

/// `MaxUnavailable`.
pub fn max_unavailable(d: &Value) -> i64 {
    let replicas = spec_replicas(d);
    if !is_rolling_update(d) || replicas == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas)
}

fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/annotations")?.get(key)?.as_str()
}

fn annotations_mut(v: &mut Value) -> &mut Map<String, Value> {
    let meta = object::metadata_mut(v).expect("objects are JSON objects");
    let a = meta.entry("annotations").or_insert_with(|| json!({}));
    if !a.is_object() {
        *a = json!({});
    }
    a.as_object_mut().expect("object")
}

/// The revision annotation (0 when missing; None when unparseable).
pub fn revision(v: &Value) -> Option<i64> {
    match annotation(v, REVISION_ANNOTATION) {
        None => Some(0),
        Some(s) => s.parse().ok(),
    }
}

fn max_revision(rss: &[Value]) -> i64 {
    rss.iter().filter_map(revision).max().unwrap_or(0)
}

fn creation(v: &Value) -> Option<DateTime<Utc>> {
    parse_time(v.pointer("/metadata/creationTimestamp"))
}

/// `ReplicaSetsByCreationTimestamp`: older first, then by name.
fn by_creation(a: &Value, b: &Value) -> Ordering {
    creation(a)
        .cmp(&creation(b))
        .then_with(|| object::name(a).cmp(object::name(b)))
}

/// `ReplicaSetsByRevision`: lower revision first, creation order breaking ties.
fn by_revision(a: &Value, b: &Value) -> Ordering {
    match (revision(a), revision(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        _ => by_creation(a, b),
    }
}

fn is_active_rs(rs: &Value) -> bool {
    spec_replicas(rs) > 0
}

fn sum(rss: &[&Value], f: impl Fn(&Value) -> i64) -> i64 {
    rss.iter().map(|r| f(r)).sum()
}

/// `NewRSNewReplicas`: what the new ReplicaSet may grow to now.
pub fn new_rs_new_replicas(d: &Value, all: &[&Value], new_rs: &Value) -> i64 {
    let replicas = spec_replicas(d);
    if is_rolling_update(d) {
        let surge = scaled_value(
            d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
            replicas,
            true,
        )
        .unwrap_or(0);
        let current = sum(all, spec_replicas);
        let max_total = replicas + surge;
        if current >= max_total {
            return spec_replicas(new_rs);
        }
        let up = (max_total - current).min(replicas - spec_replicas(new_rs));
        spec_replicas(new_rs) + up
    } else {
        replicas
    }
}

/// `getReplicaSetFraction`: this ReplicaSet's share of a scaling event.
fn replica_set_fraction(rs: &Value, d: &Value) -> i64 {
    let replicas = spec_replicas(d);
    if replicas == 0 {
        return -spec_replicas(rs);
    }
    let deployment_replicas = replicas + max_surge(d);
    let annotated = annotation(rs, MAX_REPLICAS_ANNOTATION)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| int_at(d, "/status/replicas"));
    if annotated == 0 {
        return 0;
    }
    let size = (spec_replicas(rs) * deployment_replicas) as f64 / annotated as f64;
    size.round() as i64 - spec_replicas(rs)
}

/// `GetProportion`.
fn proportion(rs: &Value, d: &Value, to_add: i64, added: i64) -> i64 {
    if spec_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = replica_set_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// The new sizes of the active ReplicaSets after a proportional scaling event (`scale` for
/// RollingUpdate): `active` as (name, replicas, max-replicas annotation, creation order).
pub fn proportional_sizes(d: &Value, active: &[Value]) -> Vec<(String, i64)> {
    let replicas = spec_replicas(d);
    let all: Vec<&Value> = active.iter().collect();
    let total = sum(&all, spec_replicas);
    let allowed = if replicas > 0 {
        replicas + max_surge(d)
    } else {
        0
    };
    let to_add = allowed - total;
    let mut sorted: Vec<&Value> = all.clone();
    if to_add > 0 {
        // ReplicaSetsBySizeNewer: larger first, newer first on ties.
        sorted.sort_by(|a, b| {
            spec_replicas(b)
                .cmp(&spec_replicas(a))
                .then_with(|| by_creation(b, a))
        });
    } else if to_add < 0 {
        // ReplicaSetsBySizeOlder: larger first, older first on ties.
        sorted.sort_by(|a, b| {
            spec_replicas(b)
                .cmp(&spec_replicas(a))
                .then_with(|| by_creation(a, b))
        });
    }
    let mut added = 0;
    let mut sizes: Vec<(String, i64)> = Vec::new();
    for rs in &sorted {
        if to_add != 0 {
            let p = proportion(rs, d, to_add, added);
            sizes.push((object::name(rs).to_string(), spec_replicas(rs) + p));
            added += p;
        } else {
            sizes.push((object::name(rs).to_string(), spec_replicas(rs)));
        }
    }
    if to_add != 0
        && let Some(first) = sizes.first_mut()
    {
        first.1 = (first.1 + to_add - added).max(0);
    }
    sizes
}

// ---------------------------------------------------------------------------------------------
// Conditions.

fn now_string(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn new_condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": now_string(now),
        "lastTransitionTime": now_string(now),
        "reason": reason,
        "message": message,
    })
}

fn conditions(status: &Value) -> Vec<Value> {
    status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn get_condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

fn cond_str<'a>(c: &'a Value, field: &str) -> &'a str {
    c.get(field).and_then(Value::as_str).unwrap_or("")
}

/// `SetDeploymentCondition`: no change for the same status and reason; the transition time is
/// kept while the status stays.
fn set_condition(status: &mut Value, mut cond: Value) {
    let kind = cond_str(&cond, "type").to_string();
    if let Some(cur) = get_condition(status, &kind) {
        if cond_str(cur, "status") == cond_str(&cond, "status")
            && cond_str(cur, "reason") == cond_str(&cond, "reason")
        {
            return;
        }
        if cond_str(cur, "status") == cond_str(&cond, "status") {
            cond["lastTransitionTime"] = cur
                .get("lastTransitionTime")
                .cloned()
                .unwrap_or(Value::Null);
        }
    }
    let mut cs = conditions(status);
    cs.retain(|c| cond_str(c, "type") != kind);
    cs.push(cond);
    status["conditions"] = Value::Array(cs);
}

fn remove_condition(status: &mut Value, kind: &str) {
    let mut cs = conditions(status);
    let before = cs.len();
    cs.retain(|c| cond_str(c, "type") != kind);
    if cs.len() != before {
        if cs.is_empty() {
            if let Some(o) = status.as_object_mut() {
                o.remove("conditions");
            }
        } else {
            status["conditions"] = Value::Array(cs);
        }
    }
}

fn progress_deadline(d: &Value) -> Option<i64> {
    d.pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_i64)
        .filter(|s| *s != NO_DEADLINE)
}

/// `calculateStatus`: counts from the ReplicaSets and the Available condition, in Go's
/// `omitempty` JSON.
pub fn calculate_status(
    all: &[&Value],
    new_rs: Option<&Value>,
    d: &Value,
    now: DateTime<Utc>,
) -> Value {
    let available = sum(all, |r| int_at(r, "/status/availableReplicas"));
    let total = sum(all, spec_replicas);
    let unavailable = (total - available).max(0);
    let current = d.get("status").cloned().unwrap_or_else(|| json!({}));
    let mut status = json!({});
    let mut put = |field: &str, n: i64| {
        if n != 0 {
            status[field] = json!(n);
        }
    };
    put("observedGeneration", int_at(d, "/metadata/generation"));
    put("replicas", sum(all, |r| int_at(r, "/status/replicas")));
    put(
        "updatedReplicas",
        new_rs.map(|r| int_at(r, "/status/replicas")).unwrap_or(0),
    );
    put(
        "readyReplicas",
        sum(all, |r| int_at(r, "/status/readyReplicas")),
    );
    put("availableReplicas", available);
    put("unavailableReplicas", unavailable);
    // GetTerminatingReplicaCountForReplicaSets: unknown if any ReplicaSet does not report it.
    if all
        .iter()
        .all(|r| r.pointer("/status/terminatingReplicas").is_some())
    {
        status["terminatingReplicas"] =
            json!(sum(all, |r| int_at(r, "/status/terminatingReplicas")));
    }
    let cs = conditions(&current);
    if !cs.is_empty() {
        status["conditions"] = Value::Array(cs);
    }
    if let Some(c) = current.get("collisionCount") {
        status["collisionCount"] = c.clone();
    }
    if available >= spec_replicas(d) - max_unavailable(d) {
        set_condition(
            &mut status,
            new_condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
            ),
        );
    } else {
        set_condition(
            &mut status,
            new_condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            ),
        );
    }
    status
}

/// `DeploymentComplete`.
fn deployment_complete(d: &Value, status: &Value) -> bool {
    let replicas = spec_replicas(d);
    int_at(status, "/updatedReplicas") == replicas
        && int_at(status, "/replicas") == replicas
        && int_at(status, "/availableReplicas") == replicas
        && int_at(status, "/observedGeneration") >= int_at(d, "/metadata/generation")
}

/// `DeploymentProgressing`.
fn deployment_progressing(d: &Value, new: &Value) -> bool {
    let old = d.get("status").cloned().unwrap_or_else(|| json!({}));
    let old_old = int_at(&old, "/replicas") - int_at(&old, "/updatedReplicas");
    let new_old = int_at(new, "/replicas") - int_at(new, "/updatedReplicas");
    int_at(new, "/updatedReplicas") > int_at(&old, "/updatedReplicas")
        || new_old < old_old
        || int_at(new, "/readyReplicas") > int_at(&old, "/readyReplicas")
        || int_at(new, "/availableReplicas") > int_at(&old, "/availableReplicas")
}

/// `DeploymentTimedOut`.
fn deployment_timed_out(d: &Value, new: &Value, now: DateTime<Utc>) -> bool {
    let Some(deadline) = progress_deadline(d) else {
        return false;
    };
    let Some(cond) = get_condition(new, "Progressing") else {
        return false;
    };
    match cond_str(cond, "reason") {
        "NewReplicaSetAvailable" => false,
        "ProgressDeadlineExceeded" => true,
        _ => parse_time(cond.get("lastUpdateTime"))
            .is_some_and(|from| from + chrono::Duration::seconds(deadline) < now),
    }
}

/// `syncRolloutStatus`'s new status: counts, Progressing, ReplicaFailure. Also returns when to
/// look again for a deadline (`requeueStuckDeployment`).
pub fn rollout_status(
    all: &[&Value],
    new_rs: Option<&Value>,
    d: &Value,
    now: DateTime<Utc>,
) -> (Value, Option<Duration>) {
    let mut status = calculate_status(all, new_rs, d, now);
    let deadline = progress_deadline(d);
    if deadline.is_none() {
        remove_condition(&mut status, "Progressing");
    }
    let empty = json!({});
    let current_status = d.get("status").unwrap_or(&empty);
    let current = get_condition(current_status, "Progressing").cloned();
    let complete_before = int_at(&status, "/replicas") == int_at(&status, "/updatedReplicas")
        && current
            .as_ref()
            .is_some_and(|c| cond_str(c, "reason") == "NewReplicaSetAvailable");
    let dname = object::name(d);
    let subject = |verb: &str| match new_rs {
        Some(rs) => format!("ReplicaSet \"{}\" {verb}", object::name(rs)),
        None => format!("Deployment \"{dname}\" {verb}"),
    };
    if deadline.is_some() && !complete_before {
        if deployment_complete(d, &status) {
            set_condition(
                &mut status,
                new_condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &subject("has successfully progressed."),
                    now,
                ),
            );
        } else if deployment_progressing(d, &status) {
            let mut cond = new_condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &subject("is progressing."),
                now,
            );
            if let Some(cur) = &current {
                if cond_str(cur, "status") == "True" {
                    cond["lastTransitionTime"] = cur
                        .get("lastTransitionTime")
                        .cloned()
                        .unwrap_or(Value::Null);
                }
                remove_condition(&mut status, "Progressing");
            }
            set_condition(&mut status, cond);
        } else if deployment_timed_out(d, &status, now) {
            set_condition(
                &mut status,
                new_condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &subject("has timed out progressing."),
                    now,
                ),
            );
        }
    }
    // ReplicaFailure from the new ReplicaSet first, else from any.
    let failure_of = |rs: &Value| {
        rs.pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| cond_str(c, "type") == "ReplicaFailure")
                    .cloned()
            })
    };
    let failure = new_rs
        .and_then(failure_of)
        .or_else(|| all.iter().find_map(|r| failure_of(r)));
    match failure {
        Some(c) => {
            let t = c.get("lastTransitionTime").cloned().unwrap_or(Value::Null);
            set_condition(
                &mut status,
                json!({
                    "type": "ReplicaFailure",
                    "status": c.get("status").cloned().unwrap_or(Value::Null),
                    "lastUpdateTime": t,
                    "lastTransitionTime": t,
                    "reason": c.get("reason").cloned().unwrap_or(Value::Null),
                    "message": c.get("message").cloned().unwrap_or(Value::Null),
                }),
            );
        }
        None => remove_condition(&mut status, "ReplicaFailure"),
    }
    // requeueStuckDeployment, judged on the status as stored.
    let requeue = match (deadline, current) {
        (Some(secs), Some(cur))
            if !deployment_complete(d, &status)
                && cond_str(&cur, "reason") != "ProgressDeadlineExceeded" =>
        {
            parse_time(cur.get("lastUpdateTime")).map(|t| {
                let due = t + chrono::Duration::seconds(secs);
                let after = (due - now).to_std().unwrap_or_default();
                if after < Duration::from_secs(1) {
                    Duration::from_secs(1)
                } else {
                    after + Duration::from_secs(1)
                }
            })
        }
        _ => None,
    };
    (status, requeue)
}

// ---------------------------------------------------------------------------------------------
// The controller.

/// Runs the Deployment controller until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    let informers = (
        hub.informer("apps", "v1", "deployments").await,
        hub.informer("apps", "v1", "replicasets").await,
        hub.informer("", "v1", "pods").await,
    );
    let (Ok(deployments), Ok(rss), Ok(pods)) = informers else {
        tracing::error!("deployment controller cannot start its informers");
        return;
    };
    let client = Client::new(hub.api().clone(), "deployment-controller");
    let (Ok(d_info), Ok(rs_info)) = (
        client.resource("apps", "v1", "deployments"),
        client.resource("apps", "v1", "replicasets"),
    ) else {
        return;
    };
    let ctrl = Arc::new(DeploymentController {
        client,
        deployments,
        rss,
        pods,
        d_info,
        rs_info,
    });
    let queue = Arc::new(WorkQueue::new());
    let mut d_rx = ctrl.deployments.subscribe();
    let mut rs_rx = ctrl.rss.subscribe();
    let mut pod_rx = ctrl.pods.subscribe();
    ctrl.enqueue_all(&queue);
    let cancel = hub.cancel().clone();
    let events = {
        let ctrl = ctrl.clone();
        let queue = queue.clone();
        let cancel = cancel.clone();
        async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    ev = d_rx.recv() => match ev {
                        Ok(c) => queue.add(key_of(&c.object)),
                        Err(RecvError::Lagged(_)) => ctrl.enqueue_all(&queue),
                        Err(RecvError::Closed) => return,
                    },
                    ev = rs_rx.recv() => match ev {
                        Ok(c) => {
                            ctrl.enqueue_for_rs(&queue, &c.object);
                            if let Some(prev) = &c.prev {
                                ctrl.enqueue_for_rs(&queue, prev);
                            }
                        }
                        Err(RecvError::Lagged(_)) => ctrl.enqueue_all(&queue),
                        Err(RecvError::Closed) => return,
                    },
                    ev = pod_rx.recv() => match ev {
                        // A deleted pod may let a Recreate rollout go on.
                        Ok(c) if c.kind == crate::watch::EventType::Deleted => {
                            ctrl.enqueue_for_pod(&queue, &c.object);
                        }
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => ctrl.enqueue_all(&queue),
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        }
    };
    let workers = {
        let ctrl = ctrl.clone();
        super::run_workers(queue.clone(), cancel, "deployment-controller", move |key| {
            let ctrl = ctrl.clone();
            let span = tracing::debug_span!("reconcile", kind = "Deployment", key = %key);
            async move { ctrl.sync(&key).await }.instrument(span)
        })
    };
    tokio::join!(events, workers);
}

fn key_of(obj: &Value) -> String {
    format!("{}/{}", pod_template::namespace(obj), object::name(obj))
}

fn deployment_selector(d: &Value) -> Option<LabelSelector> {
    LabelSelector::from_label_selector_json(d.pointer("/spec/selector").unwrap_or(&Value::Null))
        .ok()
}

struct DeploymentController {
    client: Client,
    deployments: Arc<Informer>,
    rss: Arc<Informer>,
    pods: Arc<Informer>,
    d_info: Arc<ResourceInfo>,
    rs_info: Arc<ResourceInfo>,
}

/// A Deployment's ReplicaSets, split as upstream does.
struct Sets {
    new_rs: Option<Value>,
    old: Vec<Value>,
}

impl Sets {
    fn all(&self) -> Vec<&Value> {
        self.old.iter().chain(self.new_rs.iter()).collect()
    }
}

impl DeploymentController {
    fn enqueue_all(&self, queue: &WorkQueue) {
        for d in self.deployments.list() {
            queue.add(key_of(&d));
        }
    }

    fn enqueue_for_rs(&self, queue: &WorkQueue, rs: &Value) {
        let ns = pod_template::namespace(rs);
        match controller_of(rs) {
            Some(r) => {
                if r.get("kind").and_then(Value::as_str) == Some("Deployment")
                    && let Some(name) = r.get("name").and_then(Value::as_str)
                {
                    queue.add(format!("{ns}/{name}"));
                }
            }
            None => {
                for d in self.deployments.list_namespace(ns) {
                    if deployment_selector(&d)
                        .is_some_and(|s| !s.is_empty() && s.matches_object(rs))
                    {
                        queue.add(key_of(&d));
                    }
                }
            }
        }
    }

    fn enqueue_for_pod(&self, queue: &WorkQueue, pod: &Value) {
        let ns = pod_template::namespace(pod);
        let Some(r) = controller_of(pod) else { return };
        if r.get("kind").and_then(Value::as_str) != Some("ReplicaSet") {
            return;
        }
        let Some(name) = r.get("name").and_then(Value::as_str) else {
            return;
        };
        if let Some(rs) = self.rss.get(Some(ns), name) {
            self.enqueue_for_rs(queue, &rs);
        }
    }

    async fn catch_up(&self, rev: Option<i64>) {
        let rev = match rev {
            Some(r) => r,
            None => match self.client.api().store.current_revision().await {
                Ok(r) => r,
                Err(_) => return,
            },
        };
        self.rss.wait_for(rev, Duration::from_secs(5)).await;
        self.deployments.wait_for(rev, Duration::from_secs(5)).await;
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (Some(ns), name) = split_key(key) else {
            return Ok(None);
        };
        let Some(d) = self.deployments.get(Some(ns), name) else {
            return Ok(None);
        };
        let mut run = Run {
            c: self,
            d: (*d).clone(),
            ns: ns.to_string(),
            now: Utc::now(),
            wrote: false,
        };
        let res = run.sync().await;
        if run.wrote {
            self.catch_up(None).await;
        }
        res
    }
}

/// One reconcile of one Deployment: the Deployment as last written, and whether anything was
/// written (to wait for the informers before the next reconcile).
struct Run<'a> {
    c: &'a DeploymentController,
    d: Value,
    ns: String,
    now: DateTime<Utc>,
    wrote: bool,
}

impl Run<'_> {
    async fn sync(&mut self) -> Result<Option<Duration>, ApiError> {
        let sel = self
            .d
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or(Value::Null);
        let selects_all = sel.as_object().is_some_and(|o| {
            o.get("matchLabels")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
                && o.get("matchExpressions")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
        });
        if selects_all {
            // "This deployment is selecting all pods. A non-empty selector is required."
            let generation = int_at(&self.d, "/metadata/generation");
            if int_at(&self.d, "/status/observedGeneration") < generation {
                let mut status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
                status["observedGeneration"] = json!(generation);
                self.write_status(status).await?;
            }
            return Ok(None);
        }
        let Some(selector) = deployment_selector(&self.d) else {
            return Ok(None);
        };
        let rs_list = self.claim_replica_sets(&selector).await?;
        if object::is_deleting(&self.d) {
            let sets = self.split(rs_list, false).await?;
            return self.sync_status(&sets).await;
        }
        self.check_paused_conditions().await?;
        let paused = self.d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        if paused {
            return self.sync_scale(rs_list).await;
        }
        if annotation(&self.d, ROLLBACK_TO_ANNOTATION).is_some() {
            return self.rollback(rs_list).await;
        }
        if self.is_scaling_event(&rs_list) {
            return self.sync_scale(rs_list).await;
        }
        if is_rolling_update(&self.d) {
            self.rollout_rolling(rs_list).await
        } else {
            self.rollout_recreate(rs_list).await
        }
    }

    fn uid(&self) -> String {
        uid(&self.d).to_string()
    }

    /// `getReplicaSetsForDeployment` with `ClaimReplicaSets`: owned ReplicaSets that match,
    /// after adopting matching orphans and releasing owned ones that no longer match.
    async fn claim_replica_sets(
        &mut self,
        selector: &LabelSelector,
    ) -> Result<Vec<Value>, ApiError> {
        let my_uid = self.uid();
        let deleting = object::is_deleting(&self.d);
        let mut out = Vec::new();
        for rs in self.c.rss.list_namespace(&self.ns) {
            let matches = selector.matches_object(&rs);
            match pod_template::controller_uid(&rs) {
                Some(u) if u == my_uid => {
                    if matches {
                        out.push((*rs).clone());
                    } else if !deleting {
                        self.wrote = true;
                        let res = self
                            .c
                            .client
                            .modify(
                                &self.c.rs_info,
                                Some(&self.ns),
                                object::name(&rs),
                                false,
                                |o| {
                                    let Some(refs) = o
                                        .pointer_mut("/metadata/ownerReferences")
                                        .and_then(Value::as_array_mut)
                                    else {
                                        return false;
                                    };
                                    let n = refs.len();
                                    refs.retain(|r| {
                                        r.get("uid").and_then(Value::as_str) != Some(&my_uid)
                                    });
                                    let changed = refs.len() != n;
                                    object::drop_empty_metadata(o);
                                    changed
                                },
                            )
                            .await;
                        match res {
                            Err(e) if e.code != 404 && e.code != 422 => return Err(e),
                            _ => {}
                        }
                    }
                }
                Some(_) => {}
                None => {
                    if deleting || !matches || object::is_deleting(&rs) {
                        continue;
                    }
                    self.wrote = true;
                    let r = controller_ref(&self.d, "apps/v1", "Deployment");
                    let res = self
                        .c
                        .client
                        .modify(
                            &self.c.rs_info,
                            Some(&self.ns),
                            object::name(&rs),
                            false,
                            |o| {
                                if controller_of(o).is_some() || object::is_deleting(o) {
                                    return false;
                                }
                                let meta = object::metadata_mut(o).expect("object");
                                let refs =
                                    meta.entry("ownerReferences").or_insert_with(|| json!([]));
                                if !refs.is_array() {
                                    *refs = json!([]);
                                }
                                refs.as_array_mut().expect("array").push(r.clone());
                                true
                            },
                        )
                        .await;
                    match res {
                        Ok(o) if pod_template::is_controlled_by(&o, &my_uid) => out.push(o),
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(out)
    }

    /// `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet (created if asked and missing,
    /// with its revision and annotations synced) and the old ones.
    async fn split(&mut self, mut rs_list: Vec<Value>, create: bool) -> Result<Sets, ApiError> {
        rs_list.sort_by(by_creation);
        let template = self
            .d
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(Value::Null);
        let new_idx = rs_list.iter().position(|rs| {
            equal_ignore_hash(
                rs.pointer("/spec/template").unwrap_or(&Value::Null),
                &template,
            )
        });
        let new_rs = new_idx.map(|i| rs_list.remove(i));
        let old = rs_list;
        let new_revision = (max_revision(&old) + 1).to_string();
        let new_rs = self
            .get_new_replica_set(new_rs, &old, &new_revision, create)
            .await?;
        Ok(Sets { new_rs, old })
    }

    async fn get_new_replica_set(
        &mut self,
        existing: Option<Value>,
        old: &[Value],
        new_revision: &str,
        create: bool,
    ) -> Result<Option<Value>, ApiError> {
        if let Some(existing) = existing {
            let mut rs = existing.clone();
            let annotations_updated = set_new_rs_annotations(&self.d, &mut rs, new_revision, true);
            let min_ready = self.d.pointer("/spec/minReadySeconds").cloned();
            let min_ready_changed =
                int_at(&rs, "/spec/minReadySeconds") != int_at(&self.d, "/spec/minReadySeconds");
            if annotations_updated || min_ready_changed {
                match min_ready {
                    Some(v) if v.as_i64() != Some(0) => rs["spec"]["minReadySeconds"] = v,
                    _ => {
                        if let Some(s) = rs.get_mut("spec").and_then(Value::as_object_mut) {
                            s.remove("minReadySeconds");
                        }
                    }
                }
                self.wrote = true;
                let updated = self
                    .c
                    .client
                    .update(&self.c.rs_info, Some(&self.ns), rs)
                    .await?;
                return Ok(Some(updated));
            }
            // SetDeploymentRevision. Upstream writes the annotation with UpdateStatus (whose
            // strategy keeps annotation changes); here it is a metadata write of its own.
            let rs_revision = annotation(&rs, REVISION_ANNOTATION)
                .unwrap_or("")
                .to_string();
            if annotation(&self.d, REVISION_ANNOTATION) != Some(rs_revision.as_str()) {
                self.write_revision_annotation(&rs_revision).await?;
            }
            let mut status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
            if progress_deadline(&self.d).is_some()
                && get_condition(&status, "Progressing").is_none()
            {
                let msg = format!("Found new replica set \"{}\"", object::name(&rs));
                set_condition(
                    &mut status,
                    new_condition("Progressing", "True", "FoundNewReplicaSet", &msg, self.now),
                );
                self.write_status(status).await?;
            }
            return Ok(Some(rs));
        }
        if !create {
            return Ok(None);
        }
        let mut template = self
            .d
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let collision = self
            .d
            .pointer("/status/collisionCount")
            .and_then(Value::as_i64);
        let hash = pod_template::compute_hash(&template, collision);
        {
            let meta = object::metadata_mut(&mut template).expect("object");
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            labels[POD_TEMPLATE_HASH_LABEL] = json!(hash);
        }
        let mut selector = self
            .d
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or_else(|| json!({}));
        selector["matchLabels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
        let name = format!("{}-{hash}", object::name(&self.d));
        let mut rs = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": self.ns,
                "ownerReferences": [controller_ref(&self.d, "apps/v1", "Deployment")],
                "labels": template["metadata"]["labels"].clone(),
            },
            "spec": {
                "replicas": 0,
                "selector": selector,
                "template": template,
            },
        });
        if let Some(m) = self
            .d
            .pointer("/spec/minReadySeconds")
            .filter(|v| v.as_i64() != Some(0))
        {
            rs["spec"]["minReadySeconds"] = m.clone();
        }
        let all: Vec<&Value> = old.iter().chain(std::iter::once(&rs)).collect();
        let replicas = new_rs_new_replicas(&self.d, &all, &rs);
        rs["spec"]["replicas"] = json!(replicas);
        set_new_rs_annotations(&self.d, &mut rs, new_revision, false);
        self.wrote = true;
        let created = match self
            .c
            .client
            .create(&self.c.rs_info, Some(&self.ns), rs)
            .await
        {
            Ok(c) => c,
            Err(e) if e.code == 409 && e.reason == "AlreadyExists" => {
                let fresh = self.fresh_rs(&name).await?;
                let my_uid = self.uid();
                let template = self
                    .d
                    .pointer("/spec/template")
                    .cloned()
                    .unwrap_or(Value::Null);
                if let Some(fresh) = fresh.filter(|f| {
                    pod_template::is_controlled_by(f, &my_uid)
                        && equal_ignore_hash(
                            f.pointer("/spec/template").unwrap_or(&Value::Null),
                            &template,
                        )
                }) {
                    // Ours already (a stale cache): not a collision.
                    return Ok(Some(fresh));
                }
                let mut status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
                status["collisionCount"] = json!(collision.unwrap_or(0) + 1);
                let _ = self.write_status(status).await;
                return Err(e);
            }
            Err(e) if is_namespace_terminating(&e) => return Err(e),
            Err(e) => {
                let msg = format!("Failed to create new replica set \"{name}\": {}", e.message);
                crate::ctrl::events::record(
                    &self.c.client,
                    "deployment-controller",
                    &self.d,
                    crate::ctrl::events::WARNING,
                    "FailedCreate",
                    &msg,
                )
                .await;
                if progress_deadline(&self.d).is_some() {
                    let mut status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
                    set_condition(
                        &mut status,
                        new_condition(
                            "Progressing",
                            "False",
                            "ReplicaSetCreateError",
                            &msg,
                            self.now,
                        ),
                    );
                    let _ = self.write_status(status).await;
                }
                return Err(e);
            }
        };
        if replicas > 0 {
            let message = format!(
                "Scaled up replica set {} from 0 to {replicas}",
                object::name(&created)
            );
            crate::ctrl::events::record(
                &self.c.client,
                "deployment-controller",
                &self.d,
                crate::ctrl::events::NORMAL,
                "ScalingReplicaSet",
                &message,
            )
            .await;
        }
        if annotation(&self.d, REVISION_ANNOTATION) != Some(new_revision) {
            self.write_revision_annotation(new_revision).await?;
        }
        if progress_deadline(&self.d).is_some() {
            let mut status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
            let msg = format!("Created new replica set \"{}\"", object::name(&created));
            set_condition(
                &mut status,
                new_condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    &msg,
                    self.now,
                ),
            );
            self.write_status(status).await?;
        }
        Ok(Some(created))
    }

    async fn fresh_rs(&self, name: &str) -> Result<Option<Value>, ApiError> {
        let key = self.c.rs_info.key(Some(&self.ns), name);
        let kv = self
            .c
            .client
            .api()
            .store
            .get(&key)
            .await
            .map_err(crate::handlers::plain_store_error)?;
        Ok(kv.map(|kv| object::decode_stored(&kv.value, kv.mod_revision)))
    }

    /// Sets the Deployment's revision annotation (`SetDeploymentRevision`).
    async fn write_revision_annotation(&mut self, rev: &str) -> Result<(), ApiError> {
        let my_uid = self.uid();
        self.wrote = true;
        let rev = rev.to_string();
        let updated = self
            .c
            .client
            .modify(
                &self.c.d_info,
                Some(&self.ns),
                object::name(&self.d),
                false,
                |o| {
                    if uid(o) != my_uid || annotation(o, REVISION_ANNOTATION) == Some(rev.as_str())
                    {
                        return false;
                    }
                    annotations_mut(o).insert(REVISION_ANNOTATION.into(), json!(rev));
                    true
                },
            )
            .await?;
        self.adopt_written(updated);
        Ok(())
    }

    /// Takes a freshly written Deployment as the one to go on with, keeping the spec this
    /// reconcile started from only if it did not change meanwhile.
    fn adopt_written(&mut self, written: Value) {
        if int_at(&written, "/metadata/generation") == int_at(&self.d, "/metadata/generation") {
            self.d = written;
        } else {
            // The spec moved on: keep our view but with the fresh resourceVersion so status
            // writes are not refused; the next reconcile sees the new spec.
            let rv = written.pointer("/metadata/resourceVersion").cloned();
            if let (Some(rv), Some(meta)) = (rv, object::metadata_mut(&mut self.d)) {
                meta.insert("resourceVersion".into(), rv);
            }
        }
    }

    /// Writes the Deployment's status (if it changed).
    async fn write_status(&mut self, status: Value) -> Result<(), ApiError> {
        if self.d.get("status") == Some(&status) {
            return Ok(());
        }
        self.wrote = true;
        let mut obj = self.d.clone();
        obj["status"] = status;
        let written = self
            .c
            .client
            .update_status(&self.c.d_info, Some(&self.ns), obj)
            .await?;
        self.adopt_written(written);
        Ok(())
    }

    /// `checkPausedConditions`.
    async fn check_paused_conditions(&mut self) -> Result<(), ApiError> {
        if progress_deadline(&self.d).is_none() {
            return Ok(());
        }
        let mut status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
        let cond = get_condition(&status, "Progressing").cloned();
        if cond
            .as_ref()
            .is_some_and(|c| cond_str(c, "reason") == "ProgressDeadlineExceeded")
        {
            return Ok(());
        }
        let paused_cond = cond
            .as_ref()
            .is_some_and(|c| cond_str(c, "reason") == "DeploymentPaused");
        let paused = self.d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        if paused && !paused_cond {
            set_condition(
                &mut status,
                new_condition(
                    "Progressing",
                    "Unknown",
                    "DeploymentPaused",
                    "Deployment is paused",
                    self.now,
                ),
            );
        } else if !paused && paused_cond {
            set_condition(
                &mut status,
                new_condition(
                    "Progressing",
                    "Unknown",
                    "DeploymentResumed",
                    "Deployment is resumed",
                    self.now,
                ),
            );
        } else {
            return Ok(());
        }
        self.write_status(status).await
    }

    /// `isScalingEvent`: an active ReplicaSet was sized for another `spec.replicas`.
    fn is_scaling_event(&self, rs_list: &[Value]) -> bool {
        let want = spec_replicas(&self.d);
        rs_list.iter().filter(|r| is_active_rs(r)).any(|rs| {
            annotation(rs, DESIRED_REPLICAS_ANNOTATION)
                .and_then(|s| s.parse::<i64>().ok())
                .is_some_and(|desired| desired != want)
        })
    }

    /// `scaleReplicaSet`: sets the size and the replica annotations. Returns whether the size
    /// changed and the ReplicaSet as written.
    async fn scale_rs(&mut self, rs: &Value, size: i64) -> Result<(bool, Value), ApiError> {
        let desired = spec_replicas(&self.d).to_string();
        let max = (spec_replicas(&self.d) + max_surge(&self.d)).to_string();
        let size_changed = spec_replicas(rs) != size;
        let annotations_changed = annotation(rs, DESIRED_REPLICAS_ANNOTATION)
            != Some(desired.as_str())
            || annotation(rs, MAX_REPLICAS_ANNOTATION) != Some(max.as_str());
        if !size_changed && !annotations_changed {
            return Ok((false, rs.clone()));
        }
        let mut copy = rs.clone();
        copy["spec"]["replicas"] = json!(size);
        let a = annotations_mut(&mut copy);
        a.insert(DESIRED_REPLICAS_ANNOTATION.into(), json!(desired));
        a.insert(MAX_REPLICAS_ANNOTATION.into(), json!(max));
        self.wrote = true;
        let written = self
            .c
            .client
            .update(&self.c.rs_info, Some(&self.ns), copy)
            .await?;
        if size_changed {
            let direction = if spec_replicas(rs) < size {
                "up"
            } else {
                "down"
            };
            let message = format!(
                "Scaled {direction} replica set {} from {} to {size}",
                object::name(&written),
                spec_replicas(rs)
            );
            crate::ctrl::events::record(
                &self.c.client,
                "deployment-controller",
                &self.d,
                crate::ctrl::events::NORMAL,
                "ScalingReplicaSet",
                &message,
            )
            .await;
            tracing::info!(
                deployment = %object::name(&self.d), namespace = %self.ns,
                replicaset = %object::name(&written), from = spec_replicas(rs), to = size,
                "scaled replica set"
            );
        }
        Ok((size_changed, written))
    }

    /// `sync`: scaling events and paused Deployments.
    async fn sync_scale(&mut self, rs_list: Vec<Value>) -> Result<Option<Duration>, ApiError> {
        let mut sets = self.split(rs_list, false).await?;
        self.scale(&mut sets).await?;
        let paused = self.d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        if paused && annotation(&self.d, ROLLBACK_TO_ANNOTATION).is_none() {
            self.cleanup(&sets.old).await?;
        }
        self.sync_status(&sets).await
    }

    /// `scale`.
    async fn scale(&mut self, sets: &mut Sets) -> Result<(), ApiError> {
        let want = spec_replicas(&self.d);
        // FindActiveOrLatest.
        let mut olds_newest_first: Vec<Value> = sets.old.clone();
        olds_newest_first.sort_by(|a, b| by_creation(b, a));
        let mut active: Vec<Value> = olds_newest_first
            .iter()
            .chain(sets.new_rs.iter())
            .filter(|r| is_active_rs(r))
            .cloned()
            .collect();
        let active_or_latest = match active.len() {
            0 => sets
                .new_rs
                .clone()
                .or_else(|| olds_newest_first.first().cloned()),
            1 => Some(active[0].clone()),
            _ => None,
        };
        if let Some(rs) = active_or_latest {
            if spec_replicas(&rs) == want {
                return Ok(());
            }
            let (_, written) = self.scale_rs(&rs, want).await?;
            replace_rs(sets, written);
            return Ok(());
        }
        // IsSaturated.
        if let Some(new_rs) = &sets.new_rs {
            let desired =
                annotation(new_rs, DESIRED_REPLICAS_ANNOTATION).and_then(|s| s.parse::<i64>().ok());
            if spec_replicas(new_rs) == want
                && desired == Some(want)
                && int_at(new_rs, "/status/availableReplicas") == want
            {
                for old in sets.old.clone().iter().filter(|r| is_active_rs(r)) {
                    let (_, written) = self.scale_rs(old, 0).await?;
                    replace_rs(sets, written);
                }
                return Ok(());
            }
        }
        if is_rolling_update(&self.d) {
            active.sort_by(by_creation);
            let sizes = proportional_sizes(&self.d, &active);
            for (name, size) in sizes {
                if let Some(rs) = active.iter().find(|r| object::name(r) == name).cloned() {
                    let (_, written) = self.scale_rs(&rs, size).await?;
                    replace_rs(sets, written);
                }
            }
        }
        Ok(())
    }

    /// `cleanupDeployment`: deletes the oldest old ReplicaSets beyond `revisionHistoryLimit`
    /// that have no pods.
    async fn cleanup(&mut self, old: &[Value]) -> Result<(), ApiError> {
        let Some(limit) = self
            .d
            .pointer("/spec/revisionHistoryLimit")
            .and_then(Value::as_i64)
            .filter(|l| *l != NO_DEADLINE)
        else {
            return Ok(());
        };
        let mut cleanable: Vec<&Value> = old.iter().filter(|r| !object::is_deleting(r)).collect();
        let diff = cleanable.len() as i64 - limit;
        if diff <= 0 {
            return Ok(());
        }
        cleanable.sort_by(|a, b| by_revision(a, b));
        for rs in cleanable.into_iter().take(diff as usize) {
            if int_at(rs, "/status/replicas") != 0
                || spec_replicas(rs) != 0
                || int_at(rs, "/metadata/generation") > int_at(rs, "/status/observedGeneration")
            {
                continue;
            }
            self.wrote = true;
            match self
                .c
                .client
                .delete(
                    &self.c.rs_info,
                    Some(&self.ns),
                    object::name(rs),
                    &DeleteOptions::default(),
                )
                .await
            {
                Err(e) if e.code != 404 => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// `syncDeploymentStatus`.
    async fn sync_status(&mut self, sets: &Sets) -> Result<Option<Duration>, ApiError> {
        let all = sets.all();
        let status = calculate_status(&all, sets.new_rs.as_ref(), &self.d, self.now);
        let current = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
        if current == status {
            return Ok(None);
        }
        self.write_status(status).await?;
        Ok(None)
    }

    /// `syncRolloutStatus`.
    async fn sync_rollout_status(&mut self, sets: &Sets) -> Result<Option<Duration>, ApiError> {
        let all = sets.all();
        let (status, requeue) = rollout_status(&all, sets.new_rs.as_ref(), &self.d, self.now);
        let current = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
        if current == status {
            return Ok(requeue);
        }
        self.write_status(status).await?;
        Ok(None)
    }

    /// `rolloutRolling`.
    async fn rollout_rolling(&mut self, rs_list: Vec<Value>) -> Result<Option<Duration>, ApiError> {
        let mut sets = self.split(rs_list, true).await?;
        let Some(new_rs) = sets.new_rs.clone() else {
            return self.sync_rollout_status(&sets).await;
        };
        // reconcileNewReplicaSet.
        let want = spec_replicas(&self.d);
        let scaled_up = if spec_replicas(&new_rs) == want {
            false
        } else if spec_replicas(&new_rs) > want {
            let (scaled, written) = self.scale_rs(&new_rs, want).await?;
            replace_rs(&mut sets, written);
            scaled
        } else {
            let all = sets.all();
            let n = new_rs_new_replicas(&self.d, &all, &new_rs);
            let (scaled, written) = self.scale_rs(&new_rs, n).await?;
            replace_rs(&mut sets, written);
            scaled
        };
        if scaled_up {
            return self.sync_rollout_status(&sets).await;
        }
        if self.reconcile_old_replica_sets(&mut sets).await? {
            return self.sync_rollout_status(&sets).await;
        }
        let status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
        if deployment_complete(&self.d, &status) {
            let old = sets.old.clone();
            self.cleanup(&old).await?;
        }
        self.sync_rollout_status(&sets).await
    }

    /// `reconcileOldReplicaSets` (with `cleanupUnhealthyReplicas` and
    /// `scaleDownOldReplicaSetsForRollingUpdate`). Returns whether it scaled anything down.
    async fn reconcile_old_replica_sets(&mut self, sets: &mut Sets) -> Result<bool, ApiError> {
        let Some(new_rs) = sets.new_rs.clone() else {
            return Ok(false);
        };
        let mut old: Vec<Value> = sets
            .old
            .iter()
            .filter(|r| is_active_rs(r))
            .cloned()
            .collect();
        let old_count: i64 = old.iter().map(spec_replicas).sum();
        if old_count == 0 {
            return Ok(false);
        }
        let all_count: i64 = old_count + spec_replicas(&new_rs);
        let max_unavail = max_unavailable(&self.d);
        let min_available = spec_replicas(&self.d) - max_unavail;
        let new_unavailable = spec_replicas(&new_rs) - int_at(&new_rs, "/status/availableReplicas");
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        // Unhealthy replicas first.
        old.sort_by(by_creation);
        let mut cleaned = 0;
        for rs in old.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let replicas = spec_replicas(rs);
            let available = int_at(rs, "/status/availableReplicas");
            if replicas == 0 || replicas == available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(replicas - available);
            let (_, written) = self.scale_rs(rs, replicas - down).await?;
            cleaned += down;
            *rs = written.clone();
            replace_rs(sets, written);
        }
        // Then within maxUnavailable.
        let all: Vec<&Value> = old.iter().chain(std::iter::once(&new_rs)).collect();
        let available: i64 = sum(&all, |r| int_at(r, "/status/availableReplicas"));
        let mut scaled_down = 0;
        if available > min_available {
            let total = available - min_available;
            for rs in old.clone().iter() {
                if scaled_down >= total {
                    break;
                }
                let replicas = spec_replicas(rs);
                if replicas == 0 {
                    continue;
                }
                let down = replicas.min(total - scaled_down);
                let (_, written) = self.scale_rs(rs, replicas - down).await?;
                replace_rs(sets, written);
                scaled_down += down;
            }
        }
        Ok(cleaned + scaled_down > 0)
    }

    /// `rolloutRecreate`.
    async fn rollout_recreate(
        &mut self,
        rs_list: Vec<Value>,
    ) -> Result<Option<Duration>, ApiError> {
        let mut sets = self.split(rs_list.clone(), false).await?;
        let mut scaled_down = false;
        for old in sets.old.clone().iter().filter(|r| is_active_rs(r)) {
            let (scaled, written) = self.scale_rs(old, 0).await?;
            scaled_down |= scaled;
            replace_rs(&mut sets, written);
        }
        if scaled_down {
            return self.sync_rollout_status(&sets).await;
        }
        if self.old_pods_running(&sets) {
            return self.sync_rollout_status(&sets).await;
        }
        if sets.new_rs.is_none() {
            // The list as claimed, with the old sets as now scaled.
            let mut list = sets.old.clone();
            list.extend(
                rs_list
                    .into_iter()
                    .filter(|r| !sets.old.iter().any(|o| uid(o) == uid(r))),
            );
            sets = self.split(list, true).await?;
        }
        if let Some(new_rs) = sets.new_rs.clone() {
            let want = spec_replicas(&self.d);
            let (_, written) = self.scale_rs(&new_rs, want).await?;
            replace_rs(&mut sets, written);
        }
        let status = self.d.get("status").cloned().unwrap_or_else(|| json!({}));
        if deployment_complete(&self.d, &status) {
            let old = sets.old.clone();
            self.cleanup(&old).await?;
        }
        self.sync_rollout_status(&sets).await
    }

    /// `oldPodsRunning`: old ReplicaSets still report pods, or pods of any old ReplicaSet are
    /// not finished (terminating ones included).
    fn old_pods_running(&self, sets: &Sets) -> bool {
        let old_refs: Vec<&Value> = sets.old.iter().collect();
        if sum(&old_refs, |r| int_at(r, "/status/replicas")) > 0 {
            return true;
        }
        let new_uid = sets.new_rs.as_ref().map(|r| uid(r).to_string());
        let rs_uids: Vec<&str> = sets.old.iter().map(uid).collect();
        self.c.pods.list_namespace(&self.ns).iter().any(|p| {
            let Some(owner) = pod_template::controller_uid(p) else {
                return false;
            };
            if new_uid.as_deref() == Some(owner) || !rs_uids.contains(&owner) {
                return false;
            }
            !pod_state::is_terminal(p)
        })
    }

    /// `rollback` for the legacy `deprecated.deployment.rollback.to` annotation.
    async fn rollback(&mut self, rs_list: Vec<Value>) -> Result<Option<Duration>, ApiError> {
        let sets = self.split(rs_list, true).await?;
        let all: Vec<Value> = sets.all().into_iter().cloned().collect();
        let mut to: i64 = annotation(&self.d, ROLLBACK_TO_ANNOTATION)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if to == 0 {
            // LastRevision: the second highest.
            let mut revs: Vec<i64> = all.iter().filter_map(revision).collect();
            revs.sort_unstable();
            revs.dedup();
            to = if revs.len() >= 2 {
                revs[revs.len() - 2]
            } else {
                0
            };
            if to == 0 {
                return self.clear_rollback(None).await;
            }
        }
        let target = all.iter().find(|rs| revision(rs) == Some(to)).cloned();
        let Some(target) = target else {
            return self.clear_rollback(None).await;
        };
        let template = self
            .d
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(Value::Null);
        if equal_ignore_hash(
            target.pointer("/spec/template").unwrap_or(&Value::Null),
            &template,
        ) {
            return self.clear_rollback(None).await;
        }
        self.clear_rollback(Some(target)).await
    }

    /// Removes the rollback annotation, rolling the template back to `target` if given
    /// (`updateDeploymentAndClearRollbackTo` with `SetFromReplicaSetTemplate`).
    async fn clear_rollback(
        &mut self,
        target: Option<Value>,
    ) -> Result<Option<Duration>, ApiError> {
        let my_uid = self.uid();
        self.wrote = true;
        let written = self
            .c
            .client
            .modify(
                &self.c.d_info,
                Some(&self.ns),
                object::name(&self.d),
                false,
                |o| {
                    if uid(o) != my_uid {
                        return false;
                    }
                    if let Some(rs) = &target {
                        let mut t = rs
                            .pointer("/spec/template")
                            .cloned()
                            .unwrap_or_else(|| json!({}));
                        if let Some(labels) = t
                            .pointer_mut("/metadata/labels")
                            .and_then(Value::as_object_mut)
                        {
                            labels.remove(POD_TEMPLATE_HASH_LABEL);
                        }
                        o["spec"]["template"] = t;
                        // SetDeploymentAnnotationsTo.
                        let mut kept: Map<String, Value> = annotations_mut(o)
                            .iter()
                            .filter(|(k, _)| ANNOTATIONS_TO_SKIP.contains(&k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        if let Some(from) = rs
                            .pointer("/metadata/annotations")
                            .and_then(Value::as_object)
                        {
                            for (k, v) in from {
                                if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
                                    kept.insert(k.clone(), v.clone());
                                }
                            }
                        }
                        *annotations_mut(o) = kept;
                    }
                    annotations_mut(o).remove(ROLLBACK_TO_ANNOTATION);
                    object::drop_empty_metadata(o);
                    true
                },
            )
            .await?;
        self.d = written;
        Ok(None)
    }
}

/// Replaces a ReplicaSet (by uid) in the sets with its written version.
fn replace_rs(sets: &mut Sets, written: Value) {
    let id = uid(&written).to_string();
    if let Some(n) = sets.new_rs.as_mut().filter(|n| uid(n) == id) {
        *n = written;
        return;
    }
    if let Some(o) = sets.old.iter_mut().find(|o| uid(o) == id) {
        *o = written;
    }
}

fn is_namespace_terminating(e: &ApiError) -> bool {
    e.details
        .as_ref()
        .and_then(|d| d.get("causes"))
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.get("reason").and_then(Value::as_str) == Some("NamespaceTerminating"))
        })
}

/// `SetNewReplicaSetAnnotations`: copies the Deployment's annotations (but the skipped ones),
/// raises the revision to `new_revision` (recording the previous one in the revision
/// history), and on creation sets the replica annotations. Returns whether anything changed.
pub fn set_new_rs_annotations(d: &Value, rs: &mut Value, new_revision: &str, exists: bool) -> bool {
    let mut changed = false;
    let from: Map<String, Value> = d
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let a = annotations_mut(rs);
    for (k, v) in &from {
        if ANNOTATIONS_TO_SKIP.contains(&k.as_str()) || a.get(k) == Some(v) {
            continue;
        }
        a.insert(k.clone(), v.clone());
        changed = true;
    }
    let old_revision = a
        .get(REVISION_ANNOTATION)
        .and_then(Value::as_str)
        .map(str::to_string);
    let old_int = match &old_revision {
        None => 0,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return false,
        },
    };
    let Ok(new_int) = new_revision.parse::<i64>() else {
        return false;
    };
    if old_int < new_int {
        a.insert(REVISION_ANNOTATION.into(), json!(new_revision));
        changed = true;
        if let Some(old) = old_revision {
            let history = a
                .get(REVISION_HISTORY_ANNOTATION)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if history.is_empty() {
                a.insert(REVISION_HISTORY_ANNOTATION.into(), json!(old));
            } else {
                let mut parts: Vec<&str> = history.split(',').collect();
                let mut total = history.len() + old.len() + 1;
                let mut start = 0;
                while total > MAX_REVISION_HISTORY_CHARS && start < parts.len() {
                    total -= parts[start].len() + 1;
                    start += 1;
                }
                if total <= MAX_REVISION_HISTORY_CHARS {
                    parts = parts.split_off(start);
                    parts.push(&old);
                    a.insert(REVISION_HISTORY_ANNOTATION.into(), json!(parts.join(",")));
                }
            }
        }
    }
    if !exists {
        let desired = spec_replicas(d).to_string();
        let max = (spec_replicas(d) + max_surge(d)).to_string();
        a.insert(DESIRED_REPLICAS_ANNOTATION.into(), json!(desired));
        a.insert(MAX_REPLICAS_ANNOTATION.into(), json!(max));
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn deployment(replicas: i64, surge: Value, unavailable: Value) -> Value {
        json!({"metadata": {"name": "web", "generation": 1},
            "spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}})
    }

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        assert_eq!(
            resolve_fenceposts(Some(&json!("25%")), Some(&json!("25%")), 3),
            Ok((1, 0))
        );
        assert_eq!(
            resolve_fenceposts(Some(&json!("25%")), Some(&json!("25%")), 10),
            Ok((3, 2))
        );
        assert_eq!(
            resolve_fenceposts(Some(&json!(0)), Some(&json!("1%")), 2),
            Ok((0, 1))
        );
        assert_eq!(
            resolve_fenceposts(Some(&json!(2)), Some(&json!(1)), 5),
            Ok((2, 1))
        );
        assert_eq!(
            resolve_fenceposts(Some(&json!("100%")), Some(&json!(0)), 4),
            Ok((4, 0))
        );
        assert!(resolve_fenceposts(Some(&json!("x")), None, 4).is_err());
        // maxUnavailable is capped by replicas; Recreate has neither.
        let d = deployment(2, json!(0), json!(5));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 2));
        let recreate = json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}});
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }

    #[test]
    fn new_replica_set_grows_within_surge() {
        let d = deployment(3, json!("25%"), json!("25%"));
        let old = json!({"spec": {"replicas": 3}});
        let new = json!({"spec": {"replicas": 0}});
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 1);
        let old2 = json!({"spec": {"replicas": 2}});
        let new1 = json!({"spec": {"replicas": 1}});
        assert_eq!(new_rs_new_replicas(&d, &[&old2, &new1], &new1), 2);
        let full = json!({"spec": {"replicas": 3}});
        assert_eq!(new_rs_new_replicas(&d, &[&full, &new1], &new1), 1);
    }

    #[test]
    fn scaling_mid_rollout_is_proportional() {
        // 10 replicas, surge 3: old 8 + new 5 = 13 = max; scaled to 20 (max 26).
        let mut d = deployment(20, json!(3), json!(2));
        d["status"] = json!({"replicas": 13});
        let old = json!({"metadata": {"name": "old", "creationTimestamp": "2030-01-01T00:00:00Z",
            "annotations": {MAX_REPLICAS_ANNOTATION: "13"}}, "spec": {"replicas": 8}});
        let new = json!({"metadata": {"name": "new", "creationTimestamp": "2030-01-01T00:01:00Z",
            "annotations": {MAX_REPLICAS_ANNOTATION: "13"}}, "spec": {"replicas": 5}});
        let sizes: HashMap<String, i64> = proportional_sizes(&d, &[old, new]).into_iter().collect();
        assert_eq!(sizes["old"] + sizes["new"], 23);
        assert_eq!((sizes["old"], sizes["new"]), (14, 9));
    }

    #[test]
    fn status_and_progress_conditions() {
        let now: DateTime<Utc> = "2030-01-01T12:00:00Z".parse().unwrap();
        let mut d = deployment(3, json!("25%"), json!("25%"));
        d["spec"]["progressDeadlineSeconds"] = json!(600);
        let new_rs = json!({"metadata": {"name": "web-abc"}, "spec": {"replicas": 3},
            "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "terminatingReplicas": 0}});
        let (s, _) = rollout_status(&[&new_rs], Some(&new_rs), &d, now);
        assert_eq!(s["replicas"], 3);
        assert_eq!(s["updatedReplicas"], 3);
        assert_eq!(s["availableReplicas"], 3);
        assert_eq!(s["terminatingReplicas"], 0);
        assert!(s.get("unavailableReplicas").is_none());
        let avail = get_condition(&s, "Available").unwrap();
        assert_eq!(avail["reason"], "MinimumReplicasAvailable");
        let prog = get_condition(&s, "Progressing").unwrap();
        assert_eq!(prog["reason"], "NewReplicaSetAvailable");
        assert_eq!(
            prog["message"],
            "ReplicaSet \"web-abc\" has successfully progressed."
        );

        // Stuck past the deadline: ProgressDeadlineExceeded.
        let mut stuck = d.clone();
        stuck["status"] = json!({"replicas": 1, "updatedReplicas": 1, "observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "True",
            "reason": "ReplicaSetUpdated", "lastUpdateTime": "2030-01-01T11:00:00Z",
            "lastTransitionTime": "2030-01-01T11:00:00Z"}]});
        let rs1 = json!({"metadata": {"name": "web-abc"}, "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let (s, _) = rollout_status(&[&rs1], Some(&rs1), &stuck, now);
        let prog = get_condition(&s, "Progressing").unwrap();
        assert_eq!(prog["reason"], "ProgressDeadlineExceeded");
        assert_eq!(prog["status"], "False");
        assert_eq!(
            get_condition(&s, "Available").unwrap()["reason"],
            "MinimumReplicasUnavailable"
        );
        // Before the deadline: requeued for it.
        let later: DateTime<Utc> = "2030-01-01T11:05:00Z".parse().unwrap();
        let (_, requeue) = rollout_status(&[&rs1], Some(&rs1), &stuck, later);
        assert_eq!(requeue, Some(Duration::from_secs(301)));
    }

    #[test]
    fn revision_annotations_and_history() {
        let d = json!({"metadata": {"annotations": {"kubernetes.io/change-cause": "set image",
            REVISION_ANNOTATION: "9", LAST_APPLIED_ANNOTATION: "{}"}},
            "spec": {"replicas": 4, "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}});
        let mut rs = json!({"metadata": {}});
        assert!(set_new_rs_annotations(&d, &mut rs, "3", false));
        let a = &rs["metadata"]["annotations"];
        assert_eq!(a["kubernetes.io/change-cause"], "set image");
        assert_eq!(a[REVISION_ANNOTATION], "3");
        assert_eq!(a[DESIRED_REPLICAS_ANNOTATION], "4");
        assert_eq!(a[MAX_REPLICAS_ANNOTATION], "5");
        assert!(a.get(LAST_APPLIED_ANNOTATION).is_none());
        // Rolled back to: the old revision goes to the history.
        assert!(set_new_rs_annotations(&d, &mut rs, "5", true));
        assert_eq!(
            rs["metadata"]["annotations"][REVISION_HISTORY_ANNOTATION],
            "3"
        );
        assert!(!set_new_rs_annotations(&d, &mut rs, "4", true));
    }
}
