//! The StatefulSet controller, after kube-controller-manager's `pkg/controller/statefulset`:
//! pods named `<set>-<ordinal>` with a stable identity (the `statefulset.kubernetes.io/pod-name`
//! and `apps.kubernetes.io/pod-index` labels, `hostname`/`subdomain`), one PersistentVolumeClaim
//! per volumeClaimTemplate and ordinal (`<claim>-<set>-<ordinal>`), OrderedReady (one pod at a
//! time, in ordinal order, each after its predecessors are Running and Ready; scale down from
//! the highest ordinal) or Parallel management, RollingUpdate from the highest ordinal down to
//! the partition (maxUnavailable at a time) or OnDelete, ControllerRevisions with
//! `revisionHistoryLimit`, the PVC retention policy as owner references, and the status
//! `kubectl rollout status` reads.
//!
//! A reconcile reads the set, its pods, claims and revisions from the informers and converges
//! one step, exactly as `defaultStatefulSetControl.UpdateStatefulSet` does; events on pods,
//! revisions and claims bring the owning set back to the queue.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tracing::Instrument;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::LabelSelector;

use super::history::{self, CONTROLLER_REVISION_HASH_LABEL};
use super::{Change, Client, Hub, Informer, WorkQueue, object_key, run_workers, split_key};
use crate::handlers::DeleteOptions;
use crate::object;

/// The controller's service-account name.
const CONTROLLER_NAME: &str = "statefulset-controller";
const API_VERSION: &str = "apps/v1";
const KIND: &str = "StatefulSet";
/// The label holding a stateful pod's name (`apps.StatefulSetPodNameLabel`).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label holding a stateful pod's ordinal (`apps.PodIndexLabel`).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// How long a reconcile waits for the informers to see its own writes.
const SEE_OWN_WRITES: Duration = Duration::from_secs(5);
/// Parallel workers.
const WORKERS: usize = 2;

// ---------------------------------------------------------------------------------------------
// Pod state, shared with the DaemonSet controller (`k8s.io/kubernetes/pkg/api/v1/pod`).

/// `status.phase` ("" when the pod has no status).
pub(crate) fn pod_phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn ready_condition(pod: &Value) -> Option<&Value> {
    pod.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
}

/// `podutil.IsPodReady`: the Ready condition is True.
pub(crate) fn is_pod_ready(pod: &Value) -> bool {
    ready_condition(pod).and_then(|c| c.get("status")?.as_str()) == Some("True")
}

/// `podutil.IsPodAvailable`: Ready for at least `min_ready_seconds` at `now`.
pub(crate) fn is_pod_available(pod: &Value, min_ready_seconds: i64, now: DateTime<Utc>) -> bool {
    if !is_pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_since(pod).is_some_and(|t| t + chrono::Duration::seconds(min_ready_seconds) < now)
}

fn ready_since(pod: &Value) -> Option<DateTime<Utc>> {
    let t = ready_condition(pod)?.get("lastTransitionTime")?.as_str()?;
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// ---------------------------------------------------------------------------------------------
// Identity, storage and revisions of stateful pods (`stateful_set_utils.go`).

/// The parent name and ordinal of a pod name (`(.*)-([0-9]+)$`); the ordinal is -1 when the
/// name has none (or it does not fit in 32 bits), and the parent "" when the name has no match.
pub fn parent_and_ordinal(pod_name: &str) -> (&str, i64) {
    match pod_name.rsplit_once('-') {
        Some((parent, digits))
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let ordinal = digits.parse::<i32>().map(i64::from).unwrap_or(-1);
            (parent, ordinal)
        }
        _ => ("", -1),
    }
}

fn ordinal_of(pod: &Value) -> i64 {
    parent_and_ordinal(object::name(pod)).1
}

fn spec_i64(set: &Value, pointer: &str, default: i64) -> i64 {
    set.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

fn replicas_of(set: &Value) -> i64 {
    spec_i64(set, "/spec/replicas", 1).max(0)
}

fn start_ordinal(set: &Value) -> i64 {
    spec_i64(set, "/spec/ordinals/start", 0)
}

fn end_ordinal(set: &Value) -> i64 {
    start_ordinal(set) + replicas_of(set) - 1
}

fn in_ordinal_range(pod: &Value, set: &Value) -> bool {
    let o = ordinal_of(pod);
    o >= start_ordinal(set) && o <= end_ordinal(set)
}

/// `<set>-<ordinal>`.
pub fn pod_name(set_name: &str, ordinal: i64) -> String {
    format!("{set_name}-{ordinal}")
}

/// `<claim>-<set>-<ordinal>`.
pub fn claim_name(claim_template: &str, set_name: &str, ordinal: i64) -> String {
    format!("{claim_template}-{set_name}-{ordinal}")
}

fn claim_templates(set: &Value) -> Vec<Value> {
    set.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn pod_revision(pod: &Value) -> &str {
    pod.pointer("/metadata/labels")
        .and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn is_created(pod: &Value) -> bool {
    !pod_phase(pod).is_empty()
}

fn is_running_and_ready(pod: &Value) -> bool {
    pod_phase(pod) == "Running" && is_pod_ready(pod)
}

fn is_healthy(pod: &Value) -> bool {
    is_running_and_ready(pod) && !object::is_deleting(pod)
}

/// `identityMatches`.
fn identity_matches(set: &Value, pod: &Value) -> bool {
    let (parent, ordinal) = parent_and_ordinal(object::name(pod));
    let labels = object::labels(pod);
    ordinal >= 0
        && parent == object::name(set)
        && object::name(pod) == pod_name(object::name(set), ordinal)
        && object::meta_str(pod, "namespace") == object::meta_str(set, "namespace")
        && labels.get(POD_NAME_LABEL).and_then(Value::as_str) == Some(object::name(pod))
        && labels.get(POD_INDEX_LABEL).and_then(Value::as_str) == Some(&*ordinal.to_string())
}

/// `storageMatches`: every claim template has its volume naming the pod's claim.
fn storage_matches(set: &Value, pod: &Value) -> bool {
    let ordinal = ordinal_of(pod);
    if ordinal < 0 {
        return false;
    }
    let volumes = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    claim_templates(set).iter().all(|t| {
        let tname = object::name(t);
        volumes.iter().any(|v| {
            v.get("name").and_then(Value::as_str) == Some(tname)
                && v.pointer("/persistentVolumeClaim/claimName")
                    .and_then(Value::as_str)
                    == Some(&*claim_name(tname, object::name(set), ordinal))
        })
    })
}

/// `updateIdentity`: the pod-name and pod-index labels.
fn update_identity(set: &Value, pod: &mut Value) {
    let ordinal = ordinal_of(pod);
    let name = pod_name(object::name(set), ordinal);
    let meta = object::metadata_mut(pod).expect("object");
    meta.insert("name".into(), json!(name));
    if let Some(ns) = object::meta_str(set, "namespace") {
        meta.insert("namespace".into(), json!(ns));
    }
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[POD_NAME_LABEL] = json!(name);
    labels[POD_INDEX_LABEL] = json!(ordinal.to_string());
}

/// The claims of the pod with `ordinal`, by template name (`getPersistentVolumeClaims`).
fn claims_for(set: &Value, ordinal: i64) -> Vec<(String, Value)> {
    let match_labels = set
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    claim_templates(set)
        .into_iter()
        .map(|t| {
            let tname = object::name(&t).to_string();
            let mut claim = t.clone();
            if let Some(o) = claim.as_object_mut() {
                o.remove("status");
                o.insert("apiVersion".into(), json!("v1"));
                o.insert("kind".into(), json!("PersistentVolumeClaim"));
            }
            let meta = object::metadata_mut(&mut claim).expect("object");
            meta.insert(
                "name".into(),
                json!(claim_name(&tname, object::name(set), ordinal)),
            );
            if let Some(ns) = object::meta_str(set, "namespace") {
                meta.insert("namespace".into(), json!(ns));
            }
            match meta.get_mut("labels").and_then(Value::as_object_mut) {
                Some(labels) => {
                    for (k, v) in &match_labels {
                        labels.insert(k.clone(), v.clone());
                    }
                }
                None => {
                    meta.insert("labels".into(), Value::Object(match_labels.clone()));
                }
            }
            object::drop_empty_metadata(&mut claim);
            (tname, claim)
        })
        .collect()
}

/// `updateStorage`: one volume per claim template, then the pod's other volumes.
fn update_storage(set: &Value, pod: &mut Value) {
    let claims = claims_for(set, ordinal_of(pod));
    let current = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut volumes: Vec<Value> = claims
        .iter()
        .map(|(tname, claim)| {
            json!({"name": tname, "persistentVolumeClaim": {"claimName": object::name(claim)}})
        })
        .collect();
    volumes.extend(current.into_iter().filter(|v| {
        let n = v.get("name").and_then(Value::as_str).unwrap_or("");
        !claims.iter().any(|(t, _)| t == n)
    }));
    if volumes.is_empty() {
        return;
    }
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("volumes".into(), Value::Array(volumes));
    }
}

/// `newStatefulSetPod` with `setPodRevision`: the pod with `ordinal` from `template` (the
/// template of the revision named `revision`).
pub fn new_stateful_pod(set: &Value, template: &Value, ordinal: i64, revision: &str) -> Value {
    let set_name = object::name(set);
    let tmeta = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut labels = tmeta
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.into(), json!(revision));
    let mut meta = Map::new();
    meta.insert("name".into(), json!(pod_name(set_name, ordinal)));
    meta.insert("generateName".into(), json!(format!("{set_name}-")));
    if let Some(ns) = object::meta_str(set, "namespace") {
        meta.insert("namespace".into(), json!(ns));
    }
    meta.insert("labels".into(), Value::Object(labels));
    for f in ["annotations", "finalizers"] {
        if let Some(v) = tmeta.get(f).filter(|v| !v.is_null()) {
            meta.insert(f.into(), v.clone());
        }
    }
    meta.insert(
        "ownerReferences".into(),
        json!([history::controller_ref(set, API_VERSION, KIND)]),
    );
    let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    // initIdentity: hostname and subdomain are set only at creation.
    spec["hostname"] = json!(pod_name(set_name, ordinal));
    if let Some(service) = set
        .pointer("/spec/serviceName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        spec["subdomain"] = json!(service);
    }
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec});
    update_identity(set, &mut pod);
    update_storage(set, &mut pod);
    object::drop_empty_metadata(&mut pod);
    pod
}

/// `newVersionedStatefulSetPod`: ordinals below the partition get the current revision, the
/// others the update revision.
fn new_versioned_pod(
    set: &Value,
    current: (&Value, &str),
    update: (&Value, &str),
    ordinal: i64,
) -> Value {
    let rolling = set
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("RollingUpdate");
    let rolling_update = set.pointer("/spec/updateStrategy/rollingUpdate");
    let below = match rolling_update {
        None => {
            rolling && ordinal < start_ordinal(set) + spec_i64(set, "/status/currentReplicas", 0)
        }
        Some(ru) => {
            ordinal < start_ordinal(set) + ru.get("partition").and_then(Value::as_i64).unwrap_or(0)
        }
    };
    if below {
        new_stateful_pod(set, current.0, ordinal, current.1)
    } else {
        new_stateful_pod(set, update.0, ordinal, update.1)
    }
}

/// A copy of `set` with `template` (`ApplyRevision` of a template-only revision).
fn with_template(set: &Value, template: &Value) -> Value {
    let mut s = set.clone();
    s["spec"]["template"] = template.clone();
    s
}

// ---------------------------------------------------------------------------------------------
// The PVC retention policy as owner references (`stateful_set_utils.go`).

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    Retain,
    Delete,
}

fn retention_policy(set: &Value) -> (Policy, Policy) {
    let get = |f: &str| match set
        .pointer(&format!("/spec/persistentVolumeClaimRetentionPolicy/{f}"))
        .and_then(Value::as_str)
    {
        Some("Delete") => Policy::Delete,
        _ => Policy::Retain,
    };
    (get("whenDeleted"), get("whenScaled"))
}

fn owner_refs(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn ref_str<'a>(r: &'a Value, f: &str) -> &'a str {
    r.get(f).and_then(Value::as_str).unwrap_or("")
}

/// `matchesRef`: the same apiVersion, kind and name.
fn matches_ref(r: &Value, obj: &Value, api_version: &str, kind: &str) -> bool {
    ref_str(r, "apiVersion") == api_version
        && ref_str(r, "kind") == kind
        && ref_str(r, "name") == object::name(obj)
}

fn uid(obj: &Value) -> &str {
    object::meta_str(obj, "uid").unwrap_or("")
}

fn has_owner_ref(target: &Value, owner: &Value) -> bool {
    owner_refs(target)
        .iter()
        .any(|r| ref_str(r, "uid") == uid(owner))
}

fn has_stale_owner_ref(target: &Value, owner: &Value, api_version: &str, kind: &str) -> bool {
    owner_refs(target)
        .iter()
        .find(|r| matches_ref(r, owner, api_version, kind))
        .is_some_and(|r| ref_str(r, "uid") != uid(owner))
}

fn has_unexpected_controller(claim: &Value, set: &Value, pod: &Value) -> bool {
    if retention_policy(set) == (Policy::Retain, Policy::Retain) {
        return false;
    }
    for r in owner_refs(claim) {
        if matches_ref(&r, set, API_VERSION, KIND) {
            if ref_str(&r, "uid") != uid(set) {
                return true;
            }
            continue;
        }
        if matches_ref(&r, pod, "v1", "Pod") {
            if ref_str(&r, "uid") != uid(pod) {
                return true;
            }
            continue;
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            return true;
        }
    }
    false
}

fn has_non_controller_owner(claim: &Value, set: &Value, pod: &Value) -> bool {
    owner_refs(claim).iter().any(|r| {
        (ref_str(r, "uid") == uid(set) || ref_str(r, "uid") == uid(pod))
            && r.get("controller").and_then(Value::as_bool) != Some(true)
    })
}

/// `isClaimOwnerUpToDate`: whether the claim's owner references follow the retention policy
/// (Retain/Retain: none; whenDeleted Delete: the set; whenScaled Delete: the pod once it is
/// scaled away).
fn claim_owner_up_to_date(claim: &Value, set: &Value, pod: &Value) -> bool {
    if has_stale_owner_ref(claim, set, API_VERSION, KIND)
        || has_stale_owner_ref(claim, pod, "v1", "Pod")
    {
        return true;
    }
    if has_unexpected_controller(claim, set, pod) {
        return !(has_owner_ref(claim, set) || has_owner_ref(claim, pod));
    }
    if has_non_controller_owner(claim, set, pod) {
        return false;
    }
    let scaled_down = !in_ordinal_range(pod, set);
    match retention_policy(set) {
        (Policy::Retain, Policy::Retain) => {
            !has_owner_ref(claim, set) && !has_owner_ref(claim, pod)
        }
        (Policy::Delete, Policy::Retain) => has_owner_ref(claim, set) && !has_owner_ref(claim, pod),
        (Policy::Retain, Policy::Delete) => {
            !has_owner_ref(claim, set) && scaled_down == has_owner_ref(claim, pod)
        }
        (Policy::Delete, Policy::Delete) => {
            scaled_down != has_owner_ref(claim, set) && scaled_down == has_owner_ref(claim, pod)
        }
    }
}

/// `updateClaimOwnerRefForSetAndPod`.
fn update_claim_owner_refs(claim: &mut Value, set: &Value, pod: &Value) {
    let unexpected = has_unexpected_controller(claim, set, pod);
    let mut refs: Vec<Value> = owner_refs(claim)
        .into_iter()
        .filter(|r| !matches_ref(r, set, API_VERSION, KIND) && !matches_ref(r, pod, "v1", "Pod"))
        .collect();
    if !unexpected {
        let scaled_down = !in_ordinal_range(pod, set);
        let add = |refs: &mut Vec<Value>, owner: &Value, api_version: &str, kind: &str| {
            if !refs.iter().any(|r| ref_str(r, "uid") == uid(owner)) {
                refs.push(history::controller_ref(owner, api_version, kind));
            }
        };
        match retention_policy(set) {
            (Policy::Retain, Policy::Retain) => {}
            (Policy::Delete, Policy::Retain) => add(&mut refs, set, API_VERSION, KIND),
            (Policy::Retain, Policy::Delete) => {
                if scaled_down {
                    add(&mut refs, pod, "v1", "Pod");
                }
            }
            (Policy::Delete, Policy::Delete) => {
                if scaled_down {
                    add(&mut refs, pod, "v1", "Pod");
                } else {
                    add(&mut refs, set, API_VERSION, KIND);
                }
            }
        }
    }
    claim["metadata"]["ownerReferences"] = Value::Array(refs);
    object::drop_empty_metadata(claim);
}

// ---------------------------------------------------------------------------------------------
// Rolling updates and status (`stateful_set_control.go`).

/// What the rolling update needs to know of one replica slot.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// The pod is at the update revision.
    pub updated: bool,
    /// The pod is being deleted.
    pub terminating: bool,
    /// Running, Ready and not terminating.
    pub healthy: bool,
}

/// The replica indexes a RollingUpdate deletes now (`updateStatefulSetAfterInvariantEstablished`):
/// none while `max_unavailable` or more replicas are unhealthy; otherwise, from the highest index
/// down to `partition`, the pods not at the update revision, up to the room left.
pub fn rolling_update_targets(
    slots: &[Slot],
    partition: usize,
    max_unavailable: usize,
) -> Vec<usize> {
    let unavailable = slots.iter().filter(|s| !s.healthy).count();
    if unavailable >= max_unavailable {
        return Vec::new();
    }
    let room = max_unavailable - unavailable;
    (partition..slots.len())
        .rev()
        .filter(|&i| !slots[i].updated && !slots[i].terminating)
        .take(room)
        .collect()
}

/// `getStatefulSetMaxUnavailable`: an int or a percentage of the replicas (rounded down), at
/// least 1; 1 when unset.
fn max_unavailable(set: &Value) -> usize {
    let replicas = replicas_of(set);
    let n = match set.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(1),
        Some(Value::String(s)) => s
            .strip_suffix('%')
            .and_then(|p| p.parse::<i64>().ok())
            .map(|p| p * replicas / 100)
            .unwrap_or(1),
        _ => 1,
    };
    n.max(1) as usize
}

/// The counts of `StatefulSetStatus` (`computeReplicaStatus`).
#[derive(Default, Debug, PartialEq, Eq, Clone)]
struct Counts {
    replicas: i64,
    ready: i64,
    available: i64,
    current: i64,
    updated: i64,
}

fn count(
    pods: &[&Value],
    min_ready: i64,
    current_rev: &str,
    update_rev: &str,
    now: DateTime<Utc>,
) -> Counts {
    let mut c = Counts::default();
    for pod in pods {
        if is_created(pod) {
            c.replicas += 1;
        }
        if is_running_and_ready(pod) {
            c.ready += 1;
            if is_pod_available(pod, min_ready, now) {
                c.available += 1;
            }
        }
        if is_created(pod) && !object::is_deleting(pod) {
            if pod_revision(pod) == current_rev {
                c.current += 1;
            }
            if pod_revision(pod) == update_rev {
                c.updated += 1;
            }
        }
    }
    c
}

/// The status object as kube-controller-manager writes it (zero counts omitted where the Go
/// type omits them), keeping the existing conditions.
fn status_json(
    old: &Value,
    generation: i64,
    c: &Counts,
    current_revision: &str,
    update_revision: &str,
    collision_count: i32,
) -> Value {
    let mut s = Map::new();
    if generation != 0 {
        s.insert("observedGeneration".into(), json!(generation));
    }
    s.insert("replicas".into(), json!(c.replicas));
    for (k, v) in [
        ("readyReplicas", c.ready),
        ("currentReplicas", c.current),
        ("updatedReplicas", c.updated),
    ] {
        if v != 0 {
            s.insert(k.into(), json!(v));
        }
    }
    for (k, v) in [
        ("currentRevision", current_revision),
        ("updateRevision", update_revision),
    ] {
        if !v.is_empty() {
            s.insert(k.into(), json!(v));
        }
    }
    s.insert("collisionCount".into(), json!(collision_count));
    if let Some(conds) = old
        .pointer("/status/conditions")
        .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
    {
        s.insert("conditions".into(), conds.clone());
    }
    s.insert("availableReplicas".into(), json!(c.available));
    Value::Object(s)
}

// ---------------------------------------------------------------------------------------------
// The controller.

struct Controller {
    client: Client,
    sets: Arc<Informer>,
    pods: Arc<Informer>,
    claims: Arc<Informer>,
    revisions: Arc<Informer>,
    sets_info: Arc<ResourceInfo>,
    pods_info: Arc<ResourceInfo>,
    claims_info: Arc<ResourceInfo>,
    revisions_info: Arc<ResourceInfo>,
    queue: Arc<WorkQueue>,
}

/// What one reconcile wrote: the highest store revision, to wait for before the next.
#[derive(Default)]
struct Written(i64);

impl Written {
    fn note(&mut self, obj: &Value) {
        self.0 = self.0.max(history::written_revision(obj));
    }
}

/// Runs the StatefulSet controller until the hub's cancellation.
pub async fn run(hub: Arc<Hub>) {
    let ctrl = match Controller::start(&hub).await {
        Ok(c) => Arc::new(c),
        Err(err) => {
            tracing::warn!(controller = CONTROLLER_NAME, error = %err.message, "controller not started");
            return;
        }
    };
    let cancel = hub.cancel().clone();
    let subs = [
        ctrl.sets.subscribe(),
        ctrl.pods.subscribe(),
        ctrl.claims.subscribe(),
        ctrl.revisions.subscribe(),
    ];
    ctrl.enqueue_all();
    let tasks = tokio_util::task::TaskTracker::new();
    tasks.spawn(ctrl.clone().follow(subs, cancel.clone()));
    for _ in 0..WORKERS {
        let c = ctrl.clone();
        tasks.spawn(run_workers(
            ctrl.queue.clone(),
            cancel.clone(),
            CONTROLLER_NAME,
            move |key| {
                let c = c.clone();
                let span =
                    tracing::debug_span!("reconcile", controller = CONTROLLER_NAME, key = %key);
                async move { c.reconcile(&key).await }.instrument(span)
            },
        ));
    }
    tasks.close();
    tasks.wait().await;
}

impl Controller {
    async fn start(hub: &Hub) -> Result<Controller, ApiError> {
        let client = Client::new(hub.api().clone(), CONTROLLER_NAME);
        Ok(Controller {
            sets: hub.informer("apps", "v1", "statefulsets").await?,
            pods: hub.informer("", "v1", "pods").await?,
            claims: hub.informer("", "v1", "persistentvolumeclaims").await?,
            revisions: hub.informer("apps", "v1", "controllerrevisions").await?,
            sets_info: client.resource("apps", "v1", "statefulsets")?,
            pods_info: client.resource("", "v1", "pods")?,
            claims_info: client.resource("", "v1", "persistentvolumeclaims")?,
            revisions_info: client.resource("apps", "v1", "controllerrevisions")?,
            client,
            queue: Arc::new(WorkQueue::new()),
        })
    }

    fn enqueue_all(&self) {
        for set in self.sets.list() {
            self.enqueue(&set);
        }
    }

    fn enqueue(&self, set: &Value) {
        let ns = object::meta_str(set, "namespace").unwrap_or("");
        self.queue.add(format!("{ns}/{}", object::name(set)));
    }

    /// The sets a pod, revision or claim event concerns: its controller if that is a
    /// StatefulSet, else (an orphan) every set in its namespace whose selector matches it.
    fn enqueue_for_dependent(&self, obj: &Value) {
        let ns = object::meta_str(obj, "namespace").unwrap_or("");
        if let Some(r) = history::controller_of(obj) {
            if ref_str(r, "kind") == KIND && ref_str(r, "apiVersion").starts_with("apps/") {
                self.queue.add(format!("{ns}/{}", ref_str(r, "name")));
            }
            return;
        }
        for set in self.sets.list_namespace(ns) {
            let matches = LabelSelector::from_label_selector_json(
                set.pointer("/spec/selector").unwrap_or(&Value::Null),
            )
            .is_ok_and(|s| !s.is_empty() && s.matches_object(obj));
            if matches {
                self.enqueue(&set);
            }
        }
    }

    async fn follow(
        self: Arc<Self>,
        [mut sets, mut pods, mut claims, mut revisions]: [broadcast::Receiver<Change>; 4],
        cancel: tokio_util::sync::CancellationToken,
    ) {
        loop {
            let (which, res) = tokio::select! {
                _ = cancel.cancelled() => return,
                r = sets.recv() => (0, r),
                r = pods.recv() => (1, r),
                r = claims.recv() => (2, r),
                r = revisions.recv() => (3, r),
            };
            let change = match res {
                Ok(c) => c,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.enqueue_all();
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            match which {
                0 => self.queue.add(object_key(self.sets.prefix(), &change.key)),
                2 => {
                    // A claim going away may unblock a pod waiting on a stale claim.
                    let ns = object::meta_str(&change.object, "namespace").unwrap_or("");
                    for set in self.sets.list_namespace(ns) {
                        self.enqueue(&set);
                    }
                }
                _ => {
                    self.enqueue_for_dependent(&change.object);
                    if let Some(prev) = &change.prev {
                        self.enqueue_for_dependent(prev);
                    }
                }
            }
        }
    }

    async fn wait_for_own_writes(&self, written: &Written) {
        if written.0 > 0 {
            for i in [&self.sets, &self.pods, &self.claims, &self.revisions] {
                i.wait_for(written.0, SEE_OWN_WRITES).await;
            }
        }
    }

    async fn reconcile(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (ns, name) = split_key(key);
        let Some(set) = self.sets.get(ns, name) else {
            return Ok(None);
        };
        let mut written = Written::default();
        let res = self.sync(&set, &mut written).await;
        self.wait_for_own_writes(&written).await;
        res
    }

    async fn sync(&self, set: &Value, written: &mut Written) -> Result<Option<Duration>, ApiError> {
        let Ok(selector) = LabelSelector::from_label_selector_json(
            set.pointer("/spec/selector").unwrap_or(&Value::Null),
        ) else {
            // A non-transient error: not retried (as upstream).
            return Ok(None);
        };
        let pods = self.claim_pods(set, &selector, written).await?;
        let revisions = history::claim_revisions(
            &self.client,
            &self.revisions_info,
            &self.revisions,
            set,
            &selector,
            API_VERSION,
            KIND,
        )
        .await?;
        let (current, update, collision) = self.revisions_of(set, &revisions, written).await?;
        let result = self
            .update_set(set, &pods, &current, &update, collision, written)
            .await;
        let truncated = self
            .truncate_history(set, &pods, &revisions, &current, &update)
            .await;
        let requeue = result?;
        truncated?;
        Ok(requeue)
    }

    /// `getPodsForStatefulSet`: the set's pods, adopting orphans that match its selector and
    /// name, releasing owned ones that no longer do.
    async fn claim_pods(
        &self,
        set: &Value,
        selector: &LabelSelector,
        written: &mut Written,
    ) -> Result<Vec<Arc<Value>>, ApiError> {
        let ns = object::meta_str(set, "namespace").unwrap_or("");
        let set_uid = uid(set).to_string();
        let mut out = Vec::new();
        for pod in self.pods.list_namespace(ns) {
            let member = parent_and_ordinal(object::name(&pod)).0 == object::name(set);
            let matches = member && selector.matches_object(&pod);
            match history::controller_of(&pod) {
                Some(r) if ref_str(r, "uid") == set_uid => {
                    if matches {
                        out.push(pod);
                    } else if !object::is_deleting(set) {
                        history::release(
                            &self.client,
                            &self.pods_info,
                            Some(ns),
                            object::name(&pod),
                            &set_uid,
                        )
                        .await?;
                    }
                }
                Some(_) => {}
                None if matches && !object::is_deleting(set) && !object::is_deleting(&pod) => {
                    let reference = history::controller_ref(set, API_VERSION, KIND);
                    let res = self
                        .client
                        .modify(&self.pods_info, Some(ns), object::name(&pod), false, |p| {
                            if history::controller_of(p).is_some() {
                                return false;
                            }
                            history::push_owner_ref(p, reference.clone());
                            true
                        })
                        .await;
                    match res {
                        Ok(p) if history::is_controlled_by(&p, &set_uid) => {
                            written.note(&p);
                            out.push(Arc::new(p));
                        }
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// `getStatefulSetRevisions`: the current and update revisions and the collision count,
    /// creating the update revision (or renumbering an equal older one: a rollback).
    async fn revisions_of(
        &self,
        set: &Value,
        revisions: &[Arc<Value>],
        written: &mut Written,
    ) -> Result<(Value, Value, i32), ApiError> {
        let ns = object::meta_str(set, "namespace");
        let mut collision = spec_i64(set, "/status/collisionCount", 0) as i32;
        let next = revisions
            .last()
            .map(|r| history::revision_number(r) + 1)
            .unwrap_or(1);
        let template_labels = set
            .pointer("/spec/template/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut candidate = history::new_controller_revision(
            set,
            API_VERSION,
            KIND,
            &template_labels,
            history::template_patch(set),
            next,
            Some(collision),
        );
        if let Some(annotations) = set
            .pointer("/metadata/annotations")
            .filter(|a| a.is_object())
        {
            candidate["metadata"]["annotations"] = annotations.clone();
        }
        let equal: Vec<&Arc<Value>> = revisions
            .iter()
            .filter(|r| history::equal_revision(r, &candidate))
            .collect();
        let update = match (equal.last(), revisions.last()) {
            (Some(eq), Some(last)) if history::equal_revision(last, eq) => (**last).clone(),
            (Some(eq), _) => {
                let updated = self
                    .client
                    .modify(&self.revisions_info, ns, object::name(eq), false, |r| {
                        if history::revision_number(r) == next {
                            return false;
                        }
                        r["revision"] = json!(next);
                        true
                    })
                    .await?;
                written.note(&updated);
                updated
            }
            (None, _) => {
                let created = history::create_controller_revision(
                    &self.client,
                    &self.revisions_info,
                    set,
                    &candidate,
                    &mut collision,
                )
                .await?;
                written.note(&created);
                created
            }
        };
        let current_name = set
            .pointer("/status/currentRevision")
            .and_then(Value::as_str)
            .unwrap_or("");
        let current = revisions
            .iter()
            .find(|r| object::name(r) == current_name)
            .map(|r| (**r).clone())
            .unwrap_or_else(|| update.clone());
        Ok((current, update, collision))
    }

    /// `updateStatefulSet` and `updateStatefulSetStatus`: one step towards the target state;
    /// returns when to look again (minReadySeconds).
    async fn update_set(
        &self,
        set: &Value,
        pods: &[Arc<Value>],
        current: &Value,
        update: &Value,
        collision: i32,
        written: &mut Written,
    ) -> Result<Option<Duration>, ApiError> {
        let now = Utc::now();
        let min_ready = spec_i64(set, "/spec/minReadySeconds", 0);
        let current_name = object::name(current).to_string();
        let update_name = object::name(update).to_string();
        let current_template = history::template_from_revision(current);
        let update_template = history::template_from_revision(update);
        let update_set = with_template(set, &update_template);

        let replica_count = replicas_of(set) as usize;
        let mut replicas: Vec<Option<Value>> = vec![None; replica_count];
        let mut condemned: Vec<Value> = Vec::new();
        for pod in pods {
            if in_ordinal_range(pod, set) {
                replicas[(ordinal_of(pod) - start_ordinal(set)) as usize] = Some((**pod).clone());
            } else if ordinal_of(pod) >= 0 {
                condemned.push((**pod).clone());
            }
        }
        let replicas: Vec<Value> = replicas
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.unwrap_or_else(|| {
                    new_versioned_pod(
                        set,
                        (&current_template, &current_name),
                        (&update_template, &update_name),
                        start_ordinal(set) + i as i64,
                    )
                })
            })
            .collect();
        condemned.sort_by_key(|p| std::cmp::Reverse(ordinal_of(p)));
        let first_unhealthy: Option<String> = replicas
            .iter()
            .find(|p| !is_healthy(p))
            .or_else(|| condemned.iter().rev().find(|p| !is_healthy(p)))
            .map(|p| object::name(p).to_string());

        let mut deleted_for_update = 0;
        let step = self
            .step(
                set,
                &update_set,
                &replicas,
                &condemned,
                first_unhealthy.as_deref(),
                &update_name,
                &mut deleted_for_update,
                written,
            )
            .await;

        let all: Vec<&Value> = replicas.iter().chain(condemned.iter()).collect();
        let mut counts = count(&all, min_ready, &current_name, &update_name, now);
        counts.current -= deleted_for_update;
        let mut current_revision = current_name.clone();
        // completeRollingUpdate.
        let want = replicas_of(set);
        if set
            .pointer("/spec/updateStrategy/type")
            .and_then(Value::as_str)
            == Some("RollingUpdate")
            && counts.updated == want
            && counts.ready == want
            && counts.replicas == want
        {
            counts.current = counts.updated;
            current_revision = update_name.clone();
        }
        let generation = spec_i64(set, "/metadata/generation", 0);
        let status_res = self
            .write_status(
                set,
                generation,
                &counts,
                &current_revision,
                &update_name,
                collision,
                written,
            )
            .await;
        step?;
        status_res?;
        if min_ready > 0 && counts.available != want {
            return Ok(Some(Duration::from_secs(min_ready as u64)));
        }
        Ok(None)
    }

    /// The pod work of `updateStatefulSet`: replicas, condemned pods, then the rolling update.
    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        set: &Value,
        update_set: &Value,
        replicas: &[Value],
        condemned: &[Value],
        first_unhealthy: Option<&str>,
        update_name: &str,
        deleted_for_update: &mut i64,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        if object::is_deleting(set) {
            return Ok(());
        }
        let monotonic = set
            .pointer("/spec/podManagementPolicy")
            .and_then(Value::as_str)
            != Some("Parallel");
        let min_ready = spec_i64(set, "/spec/minReadySeconds", 0);
        let mut first_err = None;
        for replica in replicas {
            match self
                .process_replica(set, update_set, monotonic, replica, min_ready, written)
                .await
            {
                Ok(true) if monotonic => return Ok(()),
                Ok(_) => {}
                Err(e) if monotonic => return Err(e),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        // Claims of condemned pods follow the retention policy before the pods go.
        for pod in condemned {
            if !self.claims_match_policy(update_set, pod) {
                self.update_claims_for_policy(update_set, pod, written)
                    .await?;
            }
        }
        for pod in condemned {
            if object::is_deleting(pod) {
                if monotonic {
                    return Ok(());
                }
                continue;
            }
            let first = first_unhealthy == Some(object::name(pod));
            if monotonic
                && !first
                && (!is_running_and_ready(pod) || !is_pod_available(pod, min_ready, Utc::now()))
            {
                return Ok(());
            }
            self.delete_pod(pod, written).await?;
            if monotonic {
                return Ok(());
            }
        }
        if set
            .pointer("/spec/updateStrategy/type")
            .and_then(Value::as_str)
            == Some("OnDelete")
        {
            return Ok(());
        }
        let partition = set
            .pointer("/spec/updateStrategy/rollingUpdate/partition")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .max(0) as usize;
        let slots: Vec<Slot> = replicas
            .iter()
            .map(|p| Slot {
                updated: pod_revision(p) == update_name,
                terminating: object::is_deleting(p),
                healthy: is_healthy(p),
            })
            .collect();
        for i in rolling_update_targets(&slots, partition, max_unavailable(set)) {
            tracing::debug!(
                pod = object::name(&replicas[i]),
                "pod of statefulset is terminating for update"
            );
            match self.delete_pod(&replicas[i], written).await {
                Ok(()) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
            *deleted_for_update += 1;
        }
        Ok(())
    }

    /// `processReplica`: true when a monotonic set must stop here.
    async fn process_replica(
        &self,
        set: &Value,
        update_set: &Value,
        monotonic: bool,
        replica: &Value,
        min_ready: i64,
        written: &mut Written,
    ) -> Result<bool, ApiError> {
        if matches!(pod_phase(replica), "Failed" | "Succeeded") {
            if !object::is_deleting(replica) {
                self.delete_pod(replica, written).await?;
            }
            return Ok(true);
        }
        if !is_created(replica) {
            if self.claim_is_stale(set, replica) {
                return Ok(true);
            }
            self.create_pod(set, replica, written).await?;
            return Ok(monotonic);
        }
        if pod_phase(replica) == "Pending" {
            self.create_claims(set, replica, written).await?;
            self.update_claims_for_policy(set, replica, written).await?;
        }
        if monotonic
            && (object::is_deleting(replica)
                || !is_running_and_ready(replica)
                || !is_pod_available(replica, min_ready, Utc::now()))
        {
            return Ok(true);
        }
        let retention_match = self.claims_match_policy(update_set, replica);
        if identity_matches(set, replica) && storage_matches(set, replica) && retention_match {
            return Ok(false);
        }
        self.update_pod(update_set, replica, written).await?;
        Ok(false)
    }

    fn claim(&self, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.claims.get(Some(ns), name)
    }

    /// `PodClaimIsStale`: with whenScaled Delete, a claim still owned by an earlier pod of the
    /// same name blocks the new pod until the garbage collector removes it.
    fn claim_is_stale(&self, set: &Value, pod: &Value) -> bool {
        if retention_policy(set).1 == Policy::Retain {
            return false;
        }
        let ns = object::meta_str(set, "namespace").unwrap_or("");
        claims_for(set, ordinal_of(pod)).iter().any(|(_, c)| {
            self.claim(ns, object::name(c))
                .is_some_and(|existing| has_stale_owner_ref(&existing, pod, "v1", "Pod"))
        })
    }

    /// `ClaimsMatchRetentionPolicy` (missing claims match: they are made later).
    fn claims_match_policy(&self, set: &Value, pod: &Value) -> bool {
        let ns = object::meta_str(set, "namespace").unwrap_or("");
        claims_for(set, ordinal_of(pod)).iter().all(|(_, c)| {
            self.claim(ns, object::name(c))
                .is_none_or(|existing| claim_owner_up_to_date(&existing, set, pod))
        })
    }

    /// `UpdatePodClaimForRetentionPolicy`.
    async fn update_claims_for_policy(
        &self,
        set: &Value,
        pod: &Value,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        let ns = object::meta_str(set, "namespace").unwrap_or("");
        for (_, c) in claims_for(set, ordinal_of(pod)) {
            let name = object::name(&c);
            let Some(existing) = self.claim(ns, name) else {
                continue;
            };
            if claim_owner_up_to_date(&existing, set, pod) {
                continue;
            }
            let res = self
                .client
                .modify(&self.claims_info, Some(ns), name, false, |claim| {
                    if claim_owner_up_to_date(claim, set, pod) {
                        return false;
                    }
                    update_claim_owner_refs(claim, set, pod);
                    true
                })
                .await;
            match res {
                Ok(obj) => written.note(&obj),
                Err(e) if e.code == 404 => {}
                Err(e) => {
                    return Err(ApiError::new(
                        e.code,
                        e.reason,
                        format!(
                            "could not update claim {name} for delete policy ownerRefs: {}",
                            e.message
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `createPersistentVolumeClaims`: the pod's missing claims.
    async fn create_claims(
        &self,
        set: &Value,
        pod: &Value,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        let ns = object::meta_str(set, "namespace").unwrap_or("");
        let mut errors = Vec::new();
        for (_, claim) in claims_for(set, ordinal_of(pod)) {
            let name = object::name(&claim).to_string();
            match self.claim(ns, &name) {
                None => match self.client.create(&self.claims_info, Some(ns), claim).await {
                    Ok(created) => written.note(&created),
                    Err(e) => errors.push(format!("failed to create PVC {name}: {}", e.message)),
                },
                Some(existing) if object::is_deleting(&existing) => {
                    errors.push(format!("pvc {name} is being deleted"));
                }
                Some(_) => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::internal(errors.join(", ")))
        }
    }

    /// `CreateStatefulPod`: claims first, then the pod, then the claims' retention owners.
    async fn create_pod(
        &self,
        set: &Value,
        pod: &Value,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        self.create_claims(set, pod, written).await?;
        let ns = object::meta_str(set, "namespace");
        let created = match self.client.create(&self.pods_info, ns, pod.clone()).await {
            Ok(created) => created,
            Err(e) => {
                let message = format!(
                    "create Pod {} in StatefulSet {} failed error: {}",
                    object::name(pod),
                    object::name(set),
                    e.message
                );
                crate::ctrl::events::record(
                    &self.client,
                    "statefulset-controller",
                    set,
                    crate::ctrl::events::WARNING,
                    "FailedCreate",
                    &message,
                )
                .await;
                return Err(e);
            }
        };
        let message = format!(
            "create Pod {} in StatefulSet {} successful",
            object::name(pod),
            object::name(set)
        );
        crate::ctrl::events::record(
            &self.client,
            "statefulset-controller",
            set,
            crate::ctrl::events::NORMAL,
            "SuccessfulCreate",
            &message,
        )
        .await;
        written.note(&created);
        tracing::debug!(
            pod = object::name(pod),
            "create Pod in StatefulSet successful"
        );
        self.update_claims_for_policy(set, pod, written).await
    }

    /// `UpdateStatefulPod`: identity labels, storage and claim owners.
    async fn update_pod(
        &self,
        set: &Value,
        pod: &Value,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        if !storage_matches(set, pod) {
            self.create_claims(set, pod, written).await?;
        }
        if !self.claims_match_policy(set, pod) {
            self.update_claims_for_policy(set, pod, written).await?;
        }
        if identity_matches(set, pod) && storage_matches(set, pod) {
            return Ok(());
        }
        let ns = object::meta_str(pod, "namespace");
        let updated = self
            .client
            .modify(&self.pods_info, ns, object::name(pod), false, |p| {
                if identity_matches(set, p) && storage_matches(set, p) {
                    return false;
                }
                update_identity(set, p);
                if !storage_matches(set, p) {
                    update_storage(set, p);
                }
                true
            })
            .await?;
        written.note(&updated);
        Ok(())
    }

    async fn delete_pod(&self, pod: &Value, written: &mut Written) -> Result<(), ApiError> {
        let ns = object::meta_str(pod, "namespace");
        let opts = DeleteOptions {
            precondition_uid: Some(uid(pod).to_string()).filter(|u| !u.is_empty()),
            ..Default::default()
        };
        let deleted = self
            .client
            .delete(&self.pods_info, ns, object::name(pod), &opts)
            .await?;
        written.note(&deleted);
        // A pod that is gone at once leaves no later revision on the object; the informer
        // catches up with any later write.
        Ok(())
    }

    /// Writes the status if it changed (`inconsistentStatus`), retrying on conflicts.
    #[allow(clippy::too_many_arguments)]
    async fn write_status(
        &self,
        set: &Value,
        generation: i64,
        counts: &Counts,
        current_revision: &str,
        update_revision: &str,
        collision: i32,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        let ns = object::meta_str(set, "namespace");
        let set_uid = uid(set).to_string();
        let res = self
            .client
            .modify(&self.sets_info, ns, object::name(set), true, |obj| {
                if uid(obj) != set_uid {
                    return false;
                }
                let status = status_json(
                    obj,
                    generation,
                    counts,
                    current_revision,
                    update_revision,
                    collision,
                );
                if obj.get("status") == Some(&status) {
                    return false;
                }
                obj["status"] = status;
                true
            })
            .await;
        match res {
            Ok(obj) => {
                written.note(&obj);
                Ok(())
            }
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `truncateHistory`: deletes the oldest revisions that no pod, nor the current or update
    /// revision, uses, beyond `revisionHistoryLimit`.
    async fn truncate_history(
        &self,
        set: &Value,
        pods: &[Arc<Value>],
        revisions: &[Arc<Value>],
        current: &Value,
        update: &Value,
    ) -> Result<(), ApiError> {
        let mut live: HashSet<&str> = pods.iter().map(|p| pod_revision(p)).collect();
        live.insert(object::name(current));
        live.insert(object::name(update));
        let old: Vec<&Arc<Value>> = revisions
            .iter()
            .filter(|r| !live.contains(object::name(r)))
            .collect();
        let limit = spec_i64(set, "/spec/revisionHistoryLimit", 10).max(0) as usize;
        if old.len() <= limit {
            return Ok(());
        }
        let ns = object::meta_str(set, "namespace");
        for r in &old[..old.len() - limit] {
            match self
                .client
                .delete(
                    &self.revisions_info,
                    ns,
                    object::name(r),
                    &DeleteOptions::default(),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 1},
            "spec": {
                "replicas": 3,
                "serviceName": "nginx",
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {"metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                    "status": {"phase": "Pending"}}],
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            }
        })
    }

    #[test]
    fn ordinals_parse_as_upstream_regex() {
        assert_eq!(parent_and_ordinal("web-0"), ("web", 0));
        assert_eq!(parent_and_ordinal("my-web-12"), ("my-web", 12));
        assert_eq!(parent_and_ordinal("web--3"), ("web-", 3));
        assert_eq!(parent_and_ordinal("web"), ("", -1));
        assert_eq!(parent_and_ordinal("web-"), ("", -1));
        assert_eq!(parent_and_ordinal("web-x1"), ("", -1));
        // Digits that do not fit in 32 bits: a parent, no ordinal.
        assert_eq!(parent_and_ordinal("web-99999999999"), ("web", -1));
    }

    #[test]
    fn a_new_pod_has_identity_storage_revision_and_owner() {
        let s = set();
        let pod = new_stateful_pod(&s, &s["spec"]["template"], 1, "web-abc");
        assert_eq!(pod["metadata"]["name"], "web-1");
        assert_eq!(pod["metadata"]["generateName"], "web-");
        let labels = &pod["metadata"]["labels"];
        assert_eq!(labels["app"], "nginx");
        assert_eq!(labels[POD_NAME_LABEL], "web-1");
        assert_eq!(labels[POD_INDEX_LABEL], "1");
        assert_eq!(labels[CONTROLLER_REVISION_HASH_LABEL], "web-abc");
        assert_eq!(pod["spec"]["hostname"], "web-1");
        assert_eq!(pod["spec"]["subdomain"], "nginx");
        assert_eq!(
            pod["spec"]["volumes"],
            json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}}])
        );
        assert!(history::is_controlled_by(&pod, "set-uid"));
        assert!(identity_matches(&s, &pod));
        assert!(storage_matches(&s, &pod));
        let claims = claims_for(&s, 1);
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].1["metadata"]["name"], "data-web-1");
        assert_eq!(claims[0].1["metadata"]["labels"], json!({"app": "nginx"}));
        assert!(claims[0].1.get("status").is_none());
    }

    #[test]
    fn pods_below_the_partition_get_the_current_revision() {
        let mut s = set();
        s["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(2);
        let cur = json!({"spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}});
        let upd = json!({"spec": {"containers": [{"name": "nginx", "image": "nginx:2"}]}});
        let p1 = new_versioned_pod(&s, (&cur, "web-1"), (&upd, "web-2"), 1);
        let p2 = new_versioned_pod(&s, (&cur, "web-1"), (&upd, "web-2"), 2);
        assert_eq!(pod_revision(&p1), "web-1");
        assert_eq!(p1["spec"]["containers"][0]["image"], "nginx:1");
        assert_eq!(pod_revision(&p2), "web-2");
        assert_eq!(p2["spec"]["containers"][0]["image"], "nginx:2");
    }

    #[test]
    fn rolling_update_goes_from_the_top_down_to_the_partition() {
        let healthy_old = Slot {
            updated: false,
            terminating: false,
            healthy: true,
        };
        let healthy_new = Slot {
            updated: true,
            terminating: false,
            healthy: true,
        };
        let unhealthy_new = Slot {
            updated: true,
            terminating: false,
            healthy: false,
        };
        // All old: the highest ordinal first, one at a time.
        assert_eq!(rolling_update_targets(&[healthy_old; 3], 0, 1), vec![2]);
        // Partition 2 of 3: only ordinal 2 is ever updated.
        assert_eq!(rolling_update_targets(&[healthy_old; 3], 2, 1), vec![2]);
        assert_eq!(
            rolling_update_targets(&[healthy_old, healthy_old, healthy_new], 2, 1),
            Vec::<usize>::new()
        );
        // The next pod waits until the updated one is healthy.
        assert_eq!(
            rolling_update_targets(&[healthy_old, healthy_old, unhealthy_new], 0, 1),
            Vec::<usize>::new()
        );
        assert_eq!(
            rolling_update_targets(&[healthy_old, healthy_old, healthy_new], 0, 1),
            vec![1]
        );
        // maxUnavailable 2 takes two at once.
        assert_eq!(rolling_update_targets(&[healthy_old; 4], 0, 2), vec![3, 2]);
    }

    #[test]
    fn max_unavailable_accepts_ints_and_percentages() {
        let mut s = set();
        assert_eq!(max_unavailable(&s), 1);
        s["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!("50%");
        s["spec"]["replicas"] = json!(5);
        assert_eq!(max_unavailable(&s), 2);
        s["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!("10%");
        assert_eq!(max_unavailable(&s), 1);
        s["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!(3);
        assert_eq!(max_unavailable(&s), 3);
    }

    #[test]
    fn claim_owners_follow_the_retention_policy() {
        let mut s = set();
        let pod = json!({"metadata": {"name": "web-1", "uid": "pod-uid"}});
        let scaled_away = json!({"metadata": {"name": "web-5", "uid": "pod5-uid"}});
        let claim = json!({"metadata": {"name": "data-web-1"}});
        // Retain/Retain: no owners.
        assert!(claim_owner_up_to_date(&claim, &s, &pod));
        // whenDeleted Delete: the set owns the claim.
        s["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] = json!("Delete");
        assert!(!claim_owner_up_to_date(&claim, &s, &pod));
        let mut c = claim.clone();
        update_claim_owner_refs(&mut c, &s, &pod);
        assert_eq!(c["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
        assert_eq!(c["metadata"]["ownerReferences"][0]["controller"], true);
        assert!(claim_owner_up_to_date(&c, &s, &pod));
        // whenScaled Delete too: a scaled-away pod's claim belongs to the pod, not the set.
        s["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] = json!("Delete");
        let mut c5 = json!({"metadata": {"name": "data-web-5"}});
        update_claim_owner_refs(&mut c5, &s, &scaled_away);
        let refs = c5["metadata"]["ownerReferences"].as_array().unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0]["kind"], "Pod");
        assert_eq!(refs[0]["uid"], "pod5-uid");
        assert!(claim_owner_up_to_date(&c5, &s, &scaled_away));
        // Back to Retain/Retain: our references are removed.
        s["spec"]["persistentVolumeClaimRetentionPolicy"] =
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"});
        assert!(!claim_owner_up_to_date(&c, &s, &pod));
        update_claim_owner_refs(&mut c, &s, &pod);
        assert!(c["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn status_counts_and_omits_zero_fields_as_go_does() {
        let now = Utc::now();
        let ready = |name: &str, rev: &str| {
            json!({"metadata": {"name": name, "labels": {CONTROLLER_REVISION_HASH_LABEL: rev}},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                    "lastTransitionTime": "2020-01-01T00:00:00Z"}]}})
        };
        let pending = json!({"metadata": {"name": "web-2", "labels": {CONTROLLER_REVISION_HASH_LABEL: "b"}},
            "status": {"phase": "Pending"}});
        let uncreated = json!({"metadata": {"name": "web-3"}});
        let (a, b) = (ready("web-0", "a"), ready("web-1", "b"));
        let c = count(&[&a, &b, &pending, &uncreated], 0, "a", "b", now);
        assert_eq!(
            c,
            Counts {
                replicas: 3,
                ready: 2,
                available: 2,
                current: 1,
                updated: 2
            }
        );
        let s = status_json(&json!({}), 4, &Counts::default(), "", "", 0);
        assert_eq!(
            s,
            json!({"observedGeneration": 4, "replicas": 0, "collisionCount": 0, "availableReplicas": 0})
        );
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let now = Utc::now();
        let since = (now - chrono::Duration::seconds(5)).to_rfc3339();
        let pod = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": since}]}});
        assert!(is_pod_available(&pod, 0, now));
        assert!(is_pod_available(&pod, 4, now));
        assert!(!is_pod_available(&pod, 10, now));
    }
}
