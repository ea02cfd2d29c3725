//! The DaemonSet controller, after kube-controller-manager's `pkg/controller/daemon`: one pod
//! per Node that the pod template fits (`spec.nodeName`, `nodeSelector`, required node affinity,
//! taints against the tolerations plus the ones every daemon pod gets), following nodes as they
//! appear, change and disappear; RollingUpdate (`maxUnavailable`, `maxSurge`) or OnDelete;
//! ControllerRevisions named `<set>-<hash>`; and the status `kubectl rollout status` reads.
//!
//! As upstream, a daemon pod is created unbound with a required node affinity on
//! `metadata.name` of its node (`ReplaceDaemonSetPodNodeNameNodeAffinity`); the scheduler (here
//! whoever stands in for it) binds it. Pods bound to a node that is gone are left to pod GC.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tracing::Instrument;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::LabelSelector;

use super::history::{self, CONTROLLER_REVISION_HASH_LABEL};
use super::statefulset::{is_pod_available, is_pod_ready, pod_phase};
use super::{Change, Client, Hub, Informer, WorkQueue, object_key, run_workers, split_key};
use crate::handlers::DeleteOptions;
use crate::object;

/// The controller's service-account name.
const CONTROLLER_NAME: &str = "daemon-set-controller";
const API_VERSION: &str = "apps/v1";
const KIND: &str = "DaemonSet";
/// The pod label with the DaemonSet's template generation (`extensions.DaemonSetTemplateGenerationKey`).
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The DaemonSet annotation holding its template generation (apps/v1 `spec.templateGeneration`).
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
/// At most this many pods are created or deleted per sync (`BurstReplicas`).
const BURST_REPLICAS: usize = 250;
/// How long a reconcile waits for the informers to see its own writes.
const SEE_OWN_WRITES: Duration = Duration::from_secs(5);
const WORKERS: usize = 2;

// ---------------------------------------------------------------------------------------------
// Node fit (`NodeShouldRunDaemonPod` and the scheduler predicates it uses).

/// The tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`): it survives the
/// node going not-ready or unreachable, and tolerates the pressure and unschedulable taints
/// (network-unavailable too with host networking).
pub fn add_daemon_tolerations(pod_spec: &mut Value) {
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if pod_spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let Some(spec) = pod_spec.as_object_mut() else {
        return;
    };
    let list = spec.entry("tolerations").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    let list = list.as_array_mut().expect("array");
    for (key, effect) in wanted {
        let toleration = json!({"key": key, "operator": "Exists", "effect": effect});
        // AddOrUpdateTolerationInPodSpec: a toleration with the same key, operator, value and
        // effect is replaced, else the new one is appended.
        let same = |t: &Value| {
            str_field(t, "key") == key
                && operator(t) == "Exists"
                && str_field(t, "value").is_empty()
                && str_field(t, "effect") == effect
        };
        match list.iter_mut().find(|t| same(t)) {
            Some(existing) => *existing = toleration,
            None => list.push(toleration),
        }
    }
}

fn str_field<'a>(v: &'a Value, f: &str) -> &'a str {
    v.get(f).and_then(Value::as_str).unwrap_or("")
}

fn operator(toleration: &Value) -> &str {
    match str_field(toleration, "operator") {
        "" => "Equal",
        op => op,
    }
}

/// `Toleration.ToleratesTaint`.
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let effect = str_field(toleration, "effect");
    if !effect.is_empty() && effect != str_field(taint, "effect") {
        return false;
    }
    let key = str_field(toleration, "key");
    if !key.is_empty() && key != str_field(taint, "key") {
        return false;
    }
    match operator(toleration) {
        "Equal" => str_field(toleration, "value") == str_field(taint, "value"),
        "Exists" => true,
        _ => false,
    }
}

/// `FindMatchingUntoleratedTaint`: the first taint passing `filter` no toleration tolerates.
fn untolerated_taint<'a>(
    taints: &'a [Value],
    tolerations: &[Value],
    filter: impl Fn(&Value) -> bool,
) -> Option<&'a Value> {
    taints
        .iter()
        .filter(|t| filter(t))
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

fn values_of(req: &Value) -> Vec<&str> {
    req.get("values")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// One `matchExpressions` requirement against node labels (`NodeSelectorRequirementsAsSelector`);
/// an invalid requirement matches nothing.
fn label_requirement_matches(req: &Value, labels: &Map<String, Value>) -> bool {
    let key = str_field(req, "key");
    let values = values_of(req);
    let label = labels.get(key).and_then(Value::as_str);
    match str_field(req, "operator") {
        "In" => !values.is_empty() && label.is_some_and(|l| values.contains(&l)),
        "NotIn" => !values.is_empty() && label.is_none_or(|l| !values.contains(&l)),
        "Exists" => values.is_empty() && label.is_some(),
        "DoesNotExist" => values.is_empty() && label.is_none(),
        op @ ("Gt" | "Lt") => {
            let [v] = values.as_slice() else {
                return false;
            };
            let (Ok(want), Some(Ok(have))) = (v.parse::<i64>(), label.map(str::parse::<i64>))
            else {
                return false;
            };
            if op == "Gt" { have > want } else { have < want }
        }
        _ => false,
    }
}

/// One `matchFields` requirement (only `metadata.name`, `In`/`NotIn` one value).
fn field_requirement_matches(req: &Value, node_name: &str) -> bool {
    if str_field(req, "key") != "metadata.name" {
        return false;
    }
    let values = values_of(req);
    let [v] = values.as_slice() else {
        return false;
    };
    match str_field(req, "operator") {
        "In" => *v == node_name,
        "NotIn" => *v != node_name,
        _ => false,
    }
}

/// Whether a pod spec's `nodeSelector` and required node affinity accept `node`
/// (`nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`).
pub fn node_affinity_matches(pod_spec: &Value, node: &Value) -> bool {
    let labels = object::labels(node);
    if let Some(sel) = pod_spec.get("nodeSelector").and_then(Value::as_object)
        && !sel
            .iter()
            .all(|(k, v)| labels.get(k).and_then(Value::as_str) == v.as_str())
    {
        return false;
    }
    let Some(required) =
        pod_spec.pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
    else {
        return true;
    };
    if required.is_null() {
        return true;
    }
    let terms = required
        .get("nodeSelectorTerms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    terms.iter().any(|term| {
        let exprs = term
            .get("matchExpressions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let fields = term
            .get("matchFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if exprs.is_empty() && fields.is_empty() {
            return false;
        }
        exprs.iter().all(|r| label_requirement_matches(r, &labels))
            && fields
                .iter()
                .all(|r| field_requirement_matches(r, object::name(node)))
    })
}

fn array_of(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `NodeShouldRunDaemonPod`: whether a daemon pod should be created on `node`, and whether one
/// already there may keep running (it tolerates every NoExecute taint).
pub fn node_should_run(ds: &Value, node: &Value) -> (bool, bool) {
    let mut spec = ds
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let node_name = object::name(node);
    let wanted_node = str_field(&spec, "nodeName");
    if !wanted_node.is_empty() && wanted_node != node_name {
        return (false, false);
    }
    add_daemon_tolerations(&mut spec);
    if !node_affinity_matches(&spec, node) {
        return (false, false);
    }
    let taints = array_of(node.pointer("/spec/taints"));
    let tolerations = array_of(spec.get("tolerations"));
    let schedule_blocked = untolerated_taint(&taints, &tolerations, |t| {
        matches!(str_field(t, "effect"), "NoSchedule" | "NoExecute")
    })
    .is_some();
    if schedule_blocked {
        let execute_blocked = untolerated_taint(&taints, &tolerations, |t| {
            str_field(t, "effect") == "NoExecute"
        })
        .is_some();
        return (false, !execute_blocked);
    }
    (true, true)
}

/// `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node affinity becomes exactly
/// `metadata.name In [node]` (other affinity kinds are kept).
pub fn replace_node_name_affinity(pod_spec: &mut Value, node: &str) {
    let term =
        json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]});
    let Some(spec) = pod_spec.as_object_mut() else {
        return;
    };
    let affinity = spec.entry("affinity").or_insert_with(|| json!({}));
    if !affinity.is_object() {
        *affinity = json!({});
    }
    let na = affinity
        .as_object_mut()
        .expect("object")
        .entry("nodeAffinity")
        .or_insert_with(|| json!({}));
    if !na.is_object() {
        *na = json!({});
    }
    let required = na
        .as_object_mut()
        .expect("object")
        .entry("requiredDuringSchedulingIgnoredDuringExecution")
        .or_insert_with(|| json!({}));
    if !required.is_object() {
        *required = json!({});
    }
    required["nodeSelectorTerms"] = json!([term]);
}

/// `GetTargetNodeName`: the pod's node, or for an unbound daemon pod the node its affinity names.
pub fn target_node_name(pod: &Value) -> Option<String> {
    if let Some(n) = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        return Some(n.to_string());
    }
    let terms = array_of(pod.pointer(
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms",
    ));
    for term in &terms {
        for f in array_of(term.get("matchFields")) {
            if str_field(&f, "key") == "metadata.name" && str_field(&f, "operator") == "In" {
                let values = values_of(&f);
                return match values.as_slice() {
                    [v] => Some(v.to_string()),
                    _ => None,
                };
            }
        }
    }
    None
}

/// `IsPodUpdated`: the pod carries the current hash, or the current template generation.
pub fn is_pod_updated(pod: &Value, hash: &str, generation: Option<&str>) -> bool {
    let labels = object::labels(pod);
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let template_matches = generation.is_some_and(|g| label(TEMPLATE_GENERATION_LABEL) == Some(g));
    let hash_matches = !hash.is_empty() && label(CONTROLLER_REVISION_HASH_LABEL) == Some(hash);
    hash_matches || template_matches
}

/// `intstr.GetScaledValueFromIntOrPercent` (an invalid value counts as 0).
pub fn scaled_value(v: Option<&Value>, total: i64, round_up: bool) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) if round_up => (p * total + 99) / 100,
            Some(p) => p * total / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// The live new (updated) and old pod on one node.
type NewAndOld = (Option<Arc<Value>>, Option<Arc<Value>>);

/// `findUpdatedPodsOnNode`: the node's live new and old pod, or None when it has more than one
/// of either (the node is left to `manage`).
fn updated_pods_on_node(
    pods: &[Arc<Value>],
    hash: &str,
    generation: Option<&str>,
) -> Option<NewAndOld> {
    let (mut new, mut old) = (None, None);
    for p in pods.iter().filter(|p| !object::is_deleting(p)) {
        let slot = if is_pod_updated(p, hash, generation) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(p.clone());
    }
    Some((new, old))
}

/// `podByCreationTimestampAndPhase`: bound pods first, then the oldest, then by name.
fn sort_by_age(pods: &mut [Arc<Value>]) {
    pods.sort_by(|a, b| {
        let bound = |p: &Value| {
            p.pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty())
        };
        bound(b)
            .cmp(&bound(a))
            .then_with(|| {
                object::meta_str(a, "creationTimestamp")
                    .unwrap_or("")
                    .cmp(object::meta_str(b, "creationTimestamp").unwrap_or(""))
            })
            .then_with(|| object::name(a).cmp(object::name(b)))
    });
}

fn template_generation(ds: &Value) -> Option<&str> {
    ds.pointer("/metadata/annotations")
        .and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION))
        .and_then(Value::as_str)
}

fn allows_surge(ds: &Value) -> bool {
    rolling(ds)
        && scaled_value(
            ds.pointer("/spec/updateStrategy/rollingUpdate/maxSurge"),
            1,
            true,
        ) > 0
}

fn rolling(ds: &Value) -> bool {
    ds.pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("RollingUpdate")
}

/// The numbers of `DaemonSetStatus`.
#[derive(Debug, Default, PartialEq, Eq, Clone)]
pub struct Counts {
    desired: i64,
    current: i64,
    misscheduled: i64,
    ready: i64,
    updated: i64,
    available: i64,
}

/// The status as kube-controller-manager writes it (zero counts omitted where the Go type
/// omits them), keeping the collision count and conditions.
fn status_json(old: &Value, c: &Counts, generation: i64) -> Value {
    let mut s = Map::new();
    s.insert("currentNumberScheduled".into(), json!(c.current));
    s.insert("numberMisscheduled".into(), json!(c.misscheduled));
    s.insert("desiredNumberScheduled".into(), json!(c.desired));
    s.insert("numberReady".into(), json!(c.ready));
    if generation != 0 {
        s.insert("observedGeneration".into(), json!(generation));
    }
    for (k, v) in [
        ("updatedNumberScheduled", c.updated),
        ("numberAvailable", c.available),
        ("numberUnavailable", c.desired - c.available),
    ] {
        if v != 0 {
            s.insert(k.into(), json!(v));
        }
    }
    for k in ["collisionCount", "conditions"] {
        if let Some(v) = old
            .pointer(&format!("/status/{k}"))
            .filter(|v| !v.is_null())
        {
            s.insert(k.into(), v.clone());
        }
    }
    Value::Object(s)
}

// ---------------------------------------------------------------------------------------------
// The controller.

struct Controller {
    client: Client,
    sets: Arc<Informer>,
    pods: Arc<Informer>,
    nodes: Arc<Informer>,
    revisions: Arc<Informer>,
    sets_info: Arc<ResourceInfo>,
    pods_info: Arc<ResourceInfo>,
    revisions_info: Arc<ResourceInfo>,
    queue: Arc<WorkQueue>,
}

#[derive(Default)]
struct Written(i64);

impl Written {
    fn note(&mut self, obj: &Value) {
        self.0 = self.0.max(history::written_revision(obj));
    }
}

/// Runs the DaemonSet controller until the hub's cancellation.
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
        ctrl.nodes.subscribe(),
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
            sets: hub.informer("apps", "v1", "daemonsets").await?,
            pods: hub.informer("", "v1", "pods").await?,
            nodes: hub.informer("", "v1", "nodes").await?,
            revisions: hub.informer("apps", "v1", "controllerrevisions").await?,
            sets_info: client.resource("apps", "v1", "daemonsets")?,
            pods_info: client.resource("", "v1", "pods")?,
            revisions_info: client.resource("apps", "v1", "controllerrevisions")?,
            client,
            queue: Arc::new(WorkQueue::new()),
        })
    }

    fn enqueue_all(&self) {
        for ds in self.sets.list() {
            self.enqueue(&ds);
        }
    }

    fn enqueue(&self, ds: &Value) {
        let ns = object::meta_str(ds, "namespace").unwrap_or("");
        self.queue.add(format!("{ns}/{}", object::name(ds)));
    }

    fn enqueue_for_dependent(&self, obj: &Value) {
        let ns = object::meta_str(obj, "namespace").unwrap_or("");
        if let Some(r) = history::controller_of(obj) {
            if str_field(r, "kind") == KIND && str_field(r, "apiVersion").starts_with("apps/") {
                self.queue.add(format!("{ns}/{}", str_field(r, "name")));
            }
            return;
        }
        for ds in self.sets.list_namespace(ns) {
            let matches = LabelSelector::from_label_selector_json(
                ds.pointer("/spec/selector").unwrap_or(&Value::Null),
            )
            .is_ok_and(|s| !s.is_empty() && s.matches_object(obj));
            if matches {
                self.enqueue(&ds);
            }
        }
    }

    async fn follow(
        self: Arc<Self>,
        [mut sets, mut pods, mut nodes, mut revisions]: [broadcast::Receiver<Change>; 4],
        cancel: tokio_util::sync::CancellationToken,
    ) {
        loop {
            let (which, res) = tokio::select! {
                _ = cancel.cancelled() => return,
                r = sets.recv() => (0, r),
                r = pods.recv() => (1, r),
                r = nodes.recv() => (2, r),
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
                // Any node change may change where daemon pods should run.
                2 => self.enqueue_all(),
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
            for i in [&self.sets, &self.pods, &self.nodes, &self.revisions] {
                i.wait_for(written.0, SEE_OWN_WRITES).await;
            }
        }
    }

    async fn reconcile(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (ns, name) = split_key(key);
        let Some(ds) = self.sets.get(ns, name) else {
            return Ok(None);
        };
        if object::is_deleting(&ds) {
            return Ok(None);
        }
        let Ok(selector) = LabelSelector::from_label_selector_json(
            ds.pointer("/spec/selector").unwrap_or(&Value::Null),
        ) else {
            return Ok(None);
        };
        if selector.is_empty() {
            // "SelectingAll": this DaemonSet would select every pod.
            return Ok(None);
        }
        let mut written = Written::default();
        let res = self.sync(&ds, &selector, &mut written).await;
        self.wait_for_own_writes(&written).await;
        let status = self.update_status(&ds, &selector).await;
        let requeue = res?;
        Ok(requeue.or(status?))
    }

    async fn sync(
        &self,
        ds: &Value,
        selector: &LabelSelector,
        written: &mut Written,
    ) -> Result<Option<Duration>, ApiError> {
        let (hash, old) = self.construct_history(ds, selector, written).await?;
        let nodes = self.sorted_nodes();
        let before = written.0;
        self.manage(ds, selector, &nodes, &hash, written).await?;
        // Rolling updates wait until the pod writes of this sync are seen (expectations).
        if written.0 == before && rolling(ds) {
            self.rolling_update(ds, selector, &nodes, &hash, written)
                .await?;
        }
        self.cleanup_history(ds, selector, &old).await?;
        Ok(None)
    }

    fn sorted_nodes(&self) -> Vec<Arc<Value>> {
        let mut nodes = self.nodes.list();
        nodes.sort_by(|a, b| object::name(a).cmp(object::name(b)));
        nodes
    }

    /// `getNodesToDaemonPods`: the DaemonSet's pods (adopting and releasing by selector) by
    /// target node, without terminal pods being deleted.
    async fn nodes_to_pods(
        &self,
        ds: &Value,
        selector: &LabelSelector,
        adopt: bool,
        written: &mut Written,
    ) -> Result<BTreeMap<String, Vec<Arc<Value>>>, ApiError> {
        let ns = object::meta_str(ds, "namespace").unwrap_or("");
        let ds_uid = object::meta_str(ds, "uid").unwrap_or("").to_string();
        let mut claimed = Vec::new();
        for pod in self.pods.list_namespace(ns) {
            let matches = selector.matches_object(&pod);
            match history::controller_of(&pod) {
                Some(r) if str_field(r, "uid") == ds_uid => {
                    if matches {
                        claimed.push(pod);
                    } else if adopt && !object::is_deleting(ds) {
                        history::release(
                            &self.client,
                            &self.pods_info,
                            Some(ns),
                            object::name(&pod),
                            &ds_uid,
                        )
                        .await?;
                    }
                }
                Some(_) => {}
                None if adopt
                    && matches
                    && !object::is_deleting(ds)
                    && !object::is_deleting(&pod) =>
                {
                    let reference = history::controller_ref(ds, API_VERSION, KIND);
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
                        Ok(p) if history::is_controlled_by(&p, &ds_uid) => {
                            written.note(&p);
                            claimed.push(Arc::new(p));
                        }
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
                None => {}
            }
        }
        let mut by_node: BTreeMap<String, Vec<Arc<Value>>> = BTreeMap::new();
        for pod in claimed {
            let terminal = matches!(pod_phase(&pod), "Succeeded" | "Failed");
            if terminal && object::is_deleting(&pod) {
                continue;
            }
            if let Some(node) = target_node_name(&pod) {
                by_node.entry(node).or_default().push(pod);
            }
        }
        Ok(by_node)
    }

    /// `constructHistory`: the current revision's hash (creating the revision if needed) and
    /// the old revisions.
    async fn construct_history(
        &self,
        ds: &Value,
        selector: &LabelSelector,
        written: &mut Written,
    ) -> Result<(String, Vec<Arc<Value>>), ApiError> {
        let ns = object::meta_str(ds, "namespace");
        let histories = history::claim_revisions(
            &self.client,
            &self.revisions_info,
            &self.revisions,
            ds,
            selector,
            API_VERSION,
            KIND,
        )
        .await?;
        let patch = history::canonical_json(&history::template_patch(ds));
        let mut current = Vec::new();
        let mut old = Vec::new();
        for h in histories {
            let h = if object::labels(&h).contains_key(CONTROLLER_REVISION_HASH_LABEL) {
                h
            } else {
                let name = object::name(&h).to_string();
                let updated = self
                    .client
                    .modify(&self.revisions_info, ns, &name, false, |r| {
                        let meta = object::metadata_mut(r).expect("object");
                        let labels = meta.entry("labels").or_insert_with(|| json!({}));
                        if labels.get(CONTROLLER_REVISION_HASH_LABEL).is_some() {
                            return false;
                        }
                        labels[CONTROLLER_REVISION_HASH_LABEL] = json!(name);
                        true
                    })
                    .await?;
                written.note(&updated);
                Arc::new(updated)
            };
            let data = history::canonical_json(h.get("data").unwrap_or(&Value::Null));
            if data == patch {
                current.push(h);
            } else {
                old.push(h);
            }
        }
        let next = old
            .iter()
            .map(|r| history::revision_number(r))
            .max()
            .unwrap_or(0)
            + 1;
        let cur = if current.is_empty() {
            self.snapshot(ds, next, written).await?
        } else {
            let cur = self.dedup(ds, selector, current, written).await?;
            if history::revision_number(&cur) < next {
                let updated = self
                    .client
                    .modify(&self.revisions_info, ns, object::name(&cur), false, |r| {
                        r["revision"] = json!(next);
                        true
                    })
                    .await?;
                written.note(&updated);
            }
            cur
        };
        let hash = object::labels(&cur)
            .get(CONTROLLER_REVISION_HASH_LABEL)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Ok((hash, old))
    }

    /// `dedupCurHistories`: keeps the highest revision of several equal ones, moving their pods
    /// to its hash.
    async fn dedup(
        &self,
        ds: &Value,
        selector: &LabelSelector,
        mut current: Vec<Arc<Value>>,
        written: &mut Written,
    ) -> Result<Value, ApiError> {
        if current.len() == 1 {
            return Ok((*current[0]).clone());
        }
        history::sort_revisions(&mut current);
        let keep = current.pop().expect("non-empty");
        let keep_hash = object::labels(&keep)
            .get(CONTROLLER_REVISION_HASH_LABEL)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ns = object::meta_str(ds, "namespace");
        let by_node = self.nodes_to_pods(ds, selector, false, written).await?;
        for dup in current {
            let dup_hash = object::labels(&dup)
                .get(CONTROLLER_REVISION_HASH_LABEL)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            for pod in by_node.values().flatten() {
                if object::labels(pod)
                    .get(CONTROLLER_REVISION_HASH_LABEL)
                    .and_then(Value::as_str)
                    == Some(dup_hash.as_str())
                {
                    let p = self
                        .client
                        .modify(&self.pods_info, ns, object::name(pod), false, |p| {
                            p["metadata"]["labels"][CONTROLLER_REVISION_HASH_LABEL] =
                                json!(keep_hash);
                            true
                        })
                        .await?;
                    written.note(&p);
                }
            }
            self.delete_revision(ns, object::name(&dup)).await?;
        }
        Ok((*keep).clone())
    }

    async fn delete_revision(&self, ns: Option<&str>, name: &str) -> Result<(), ApiError> {
        match self
            .client
            .delete(&self.revisions_info, ns, name, &DeleteOptions::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `snapshot`: the revision of the DaemonSet's current template.
    async fn snapshot(
        &self,
        ds: &Value,
        revision: i64,
        written: &mut Written,
    ) -> Result<Value, ApiError> {
        let ns = object::meta_str(ds, "namespace");
        let collision = ds
            .pointer("/status/collisionCount")
            .and_then(Value::as_i64)
            .map(|c| c as i32);
        let template = ds.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        let hash = history::compute_template_hash(&template, collision);
        let name = format!("{}-{hash}", object::name(ds));
        let mut labels = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        labels.insert(CONTROLLER_REVISION_HASH_LABEL.into(), json!(hash));
        let mut meta = json!({
            "name": name,
            "labels": labels,
            "ownerReferences": [history::controller_ref(ds, API_VERSION, KIND)],
        });
        if let Some(ns) = ns {
            meta["namespace"] = json!(ns);
        }
        if let Some(a) = ds
            .pointer("/metadata/annotations")
            .filter(|a| a.is_object())
        {
            meta["annotations"] = a.clone();
        }
        let rev = json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": meta,
            "data": history::template_patch(ds),
            "revision": revision,
        });
        match self
            .client
            .create(&self.revisions_info, ns, rev.clone())
            .await
        {
            Ok(created) => {
                written.note(&created);
                Ok(created)
            }
            Err(e) if e.reason == "AlreadyExists" => {
                if let Some(existing) = self.revisions.get(ns, &name)
                    && history::equal_revision(&existing, &rev)
                {
                    return Ok((*existing).clone());
                }
                let existing = self
                    .client
                    .api()
                    .store
                    .get(&self.revisions_info.key(ns, &name))
                    .await
                    .map_err(crate::handlers::plain_store_error)?
                    .map(|kv| object::decode_stored(&kv.value, kv.mod_revision));
                if let Some(existing) = existing
                    && history::equal_revision(&existing, &rev)
                {
                    return Ok(existing);
                }
                // A hash collision with another template: bump the collision count.
                let ds_uid = object::meta_str(ds, "uid").unwrap_or("").to_string();
                let expected = collision;
                let updated = self
                    .client
                    .modify(&self.sets_info, ns, object::name(ds), true, |obj| {
                        let current = obj
                            .pointer("/status/collisionCount")
                            .and_then(Value::as_i64)
                            .map(|c| c as i32);
                        if object::meta_str(obj, "uid") != Some(ds_uid.as_str())
                            || current != expected
                        {
                            return false;
                        }
                        obj["status"]["collisionCount"] = json!(current.unwrap_or(0) + 1);
                        true
                    })
                    .await?;
                written.note(&updated);
                Err(ApiError::conflict_with(
                    "apps",
                    "controllerrevisions",
                    &name,
                    "found a hash collision for DaemonSet - bumping collisionCount to resolve it",
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// `manage` and `podsShouldBeOnNode`: creates missing daemon pods and deletes those that
    /// should not run, failed or finished ones, and the excess.
    async fn manage(
        &self,
        ds: &Value,
        selector: &LabelSelector,
        nodes: &[Arc<Value>],
        hash: &str,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        let by_node = self.nodes_to_pods(ds, selector, true, written).await?;
        let mut to_create = Vec::new();
        let mut to_delete: Vec<Arc<Value>> = Vec::new();
        let min_ready = ds
            .pointer("/spec/minReadySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        for node in nodes {
            let (should_run, should_continue) = node_should_run(ds, node);
            let name = object::name(node);
            let pods = by_node.get(name);
            match pods {
                None if should_run => to_create.push(name.to_string()),
                _ if should_continue => {
                    let mut running = Vec::new();
                    for pod in pods.into_iter().flatten() {
                        if object::is_deleting(pod) {
                            continue;
                        }
                        match pod_phase(pod) {
                            "Failed" => {
                                tracing::debug!(
                                    pod = object::name(pod),
                                    node = name,
                                    "found failed daemon pod on node, will try to kill it"
                                );
                                to_delete.push(pod.clone());
                            }
                            "Succeeded" => to_delete.push(pod.clone()),
                            _ => running.push(pod.clone()),
                        }
                    }
                    if !allows_surge(ds) {
                        if running.len() > 1 {
                            sort_by_age(&mut running);
                            to_delete.extend(running.drain(1..));
                        }
                        continue;
                    }
                    if running.len() <= 1 {
                        if running.is_empty() && should_run {
                            to_create.push(name.to_string());
                        }
                        continue;
                    }
                    sort_by_age(&mut running);
                    let mut oldest_new: Option<Arc<Value>> = None;
                    let mut oldest_old: Option<Arc<Value>> = None;
                    for pod in running {
                        let is_new = object::labels(&pod)
                            .get(CONTROLLER_REVISION_HASH_LABEL)
                            .and_then(Value::as_str)
                            == Some(hash);
                        let slot = if is_new {
                            &mut oldest_new
                        } else {
                            &mut oldest_old
                        };
                        if slot.is_none() {
                            *slot = Some(pod);
                        } else {
                            to_delete.push(pod);
                        }
                    }
                    if let (Some(new), Some(old)) = (&oldest_new, &oldest_old)
                        && (!is_pod_ready(old) || is_pod_available(new, min_ready, Utc::now()))
                    {
                        to_delete.push(old.clone());
                    }
                }
                Some(pods) if !should_continue => {
                    to_delete.extend(pods.iter().filter(|p| !object::is_deleting(p)).cloned());
                }
                _ => {}
            }
        }
        // Unbound pods aimed at a node that no longer exists are never scheduled: delete them.
        let known: std::collections::HashSet<&str> =
            nodes.iter().map(|n| object::name(n)).collect();
        for (node, pods) in &by_node {
            if !known.contains(node.as_str()) {
                to_delete.extend(
                    pods.iter()
                        .filter(|p| {
                            p.pointer("/spec/nodeName")
                                .and_then(Value::as_str)
                                .is_none_or(str::is_empty)
                        })
                        .cloned(),
                );
            }
        }
        self.sync_nodes(ds, &to_delete, &to_create, hash, written)
            .await
    }

    /// `syncNodes`: creates a pod for each node in `create` and deletes `delete`.
    async fn sync_nodes(
        &self,
        ds: &Value,
        delete: &[Arc<Value>],
        create: &[String],
        hash: &str,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        let ns = object::meta_str(ds, "namespace");
        let mut errors = Vec::new();
        let template = self.pod_template(ds, hash);
        for node in create.iter().take(BURST_REPLICAS) {
            let mut pod = template.clone();
            replace_node_name_affinity(&mut pod["spec"], node);
            match self.client.create(&self.pods_info, ns, pod).await {
                Ok(created) => written.note(&created),
                // The namespace is going away: nothing to do.
                Err(e) if e.message.contains("because it is being terminated") => {}
                Err(e) => errors.push(e),
            }
        }
        for pod in delete.iter().take(BURST_REPLICAS) {
            match self
                .client
                .delete(
                    &self.pods_info,
                    ns,
                    object::name(pod),
                    &DeleteOptions::default(),
                )
                .await
            {
                Ok(deleted) => written.note(&deleted),
                Err(e) if e.code == 404 => {}
                Err(e) => errors.push(e),
            }
        }
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `CreatePodTemplate` and `GetPodFromTemplate`: the daemon pod before its node affinity.
    fn pod_template(&self, ds: &Value, hash: &str) -> Value {
        let template = ds
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let tmeta = template
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let mut labels = tmeta
            .get("labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(g) = template_generation(ds) {
            labels.insert(TEMPLATE_GENERATION_LABEL.into(), json!(g));
        }
        if !hash.is_empty() {
            labels.insert(CONTROLLER_REVISION_HASH_LABEL.into(), json!(hash));
        }
        let mut meta = Map::new();
        meta.insert(
            "generateName".into(),
            json!(format!("{}-", object::name(ds))),
        );
        if let Some(ns) = object::meta_str(ds, "namespace") {
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
            json!([history::controller_ref(ds, API_VERSION, KIND)]),
        );
        let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
        add_daemon_tolerations(&mut spec);
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec});
        object::drop_empty_metadata(&mut pod);
        pod
    }

    /// `rollingUpdate`: replaces old pods within maxUnavailable (deleting them, `manage`
    /// recreates) or maxSurge (creating the new pod first).
    async fn rolling_update(
        &self,
        ds: &Value,
        selector: &LabelSelector,
        nodes: &[Arc<Value>],
        hash: &str,
        written: &mut Written,
    ) -> Result<(), ApiError> {
        let mut by_node = self.nodes_to_pods(ds, selector, false, written).await?;
        let generation = template_generation(ds);
        let min_ready = ds
            .pointer("/spec/minReadySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let now = Utc::now();
        let mut desired = 0;
        let node_by_name: HashMap<&str, &Arc<Value>> =
            nodes.iter().map(|n| (object::name(n), n)).collect();
        for node in nodes {
            if node_should_run(ds, node).0 {
                desired += 1;
                by_node.entry(object::name(node).to_string()).or_default();
            }
        }
        let ru = ds.pointer("/spec/updateStrategy/rollingUpdate");
        let mut max_unavailable =
            scaled_value(ru.and_then(|r| r.get("maxUnavailable")), desired, true);
        let max_surge = scaled_value(ru.and_then(|r| r.get("maxSurge")), desired, true);
        if desired > 0 && max_unavailable == 0 && max_surge == 0 {
            max_unavailable = 1;
        }
        let split = |pods: &[Arc<Value>]| updated_pods_on_node(pods, hash, generation);
        let available = |p: &Value| is_pod_available(p, min_ready, now);

        if max_surge == 0 {
            let mut unavailable = 0;
            let mut replace = Vec::new();
            let mut candidates = Vec::new();
            for pods in by_node.values() {
                let Some((new, old)) = split(pods) else {
                    unavailable += 1;
                    continue;
                };
                match (new, old) {
                    (None, None) | (Some(_), Some(_)) => unavailable += 1,
                    (Some(new), None) => {
                        if !available(&new) {
                            unavailable += 1;
                        }
                    }
                    (None, Some(old)) => {
                        if !available(&old) {
                            replace.push(old);
                            unavailable += 1;
                        } else if unavailable < max_unavailable {
                            candidates.push(old);
                        }
                    }
                }
            }
            let room = (max_unavailable - unavailable).max(0) as usize;
            replace.extend(candidates.into_iter().take(room));
            return self.sync_nodes(ds, &replace, &[], hash, written).await;
        }

        let mut delete = Vec::new();
        let mut should_not_run = Vec::new();
        let mut candidate_nodes = Vec::new();
        let mut allowed_nodes = Vec::new();
        let mut surge = 0;
        let mut num_available = 0;
        for (node_name, pods) in &by_node {
            let Some((new, old)) = split(pods) else {
                surge += 1;
                continue;
            };
            match (&old, &new) {
                (Some(o), _) if available(o) => num_available += 1,
                (None, Some(n)) if available(n) => num_available += 1,
                _ => {}
            }
            match (new, old) {
                (_, None) => {}
                (None, Some(old)) => {
                    let should_run = node_by_name
                        .get(node_name.as_str())
                        .is_some_and(|n| node_should_run(ds, n).0);
                    if !available(&old) {
                        if !should_run {
                            delete.push(old);
                        } else {
                            allowed_nodes.push(node_name.clone());
                        }
                    } else if !should_run {
                        should_not_run.push(old);
                    } else if surge < max_surge {
                        candidate_nodes.push(node_name.clone());
                    }
                }
                (Some(new), Some(old)) => {
                    if !available(&new) {
                        surge += 1;
                    } else {
                        delete.push(old);
                    }
                }
            }
        }
        let deletable = (num_available - desired).max(0) as usize;
        delete.extend(should_not_run.into_iter().take(deletable));
        let room = (max_surge - surge).max(0) as usize;
        allowed_nodes.extend(candidate_nodes.into_iter().take(room));
        self.sync_nodes(ds, &delete, &allowed_nodes, hash, written)
            .await
    }

    /// `cleanupHistory`: deletes the oldest revisions no pod uses beyond `revisionHistoryLimit`.
    async fn cleanup_history(
        &self,
        ds: &Value,
        selector: &LabelSelector,
        old: &[Arc<Value>],
    ) -> Result<(), ApiError> {
        let limit = ds
            .pointer("/spec/revisionHistoryLimit")
            .and_then(Value::as_i64)
            .unwrap_or(10)
            .max(0) as usize;
        if old.len() <= limit {
            return Ok(());
        }
        let mut to_kill = old.len() - limit;
        let by_node = self
            .nodes_to_pods(ds, selector, false, &mut Written::default())
            .await?;
        let live: std::collections::HashSet<String> = by_node
            .values()
            .flatten()
            .filter_map(|p| {
                object::labels(p)
                    .get(CONTROLLER_REVISION_HASH_LABEL)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        let mut old = old.to_vec();
        history::sort_revisions(&mut old);
        let ns = object::meta_str(ds, "namespace");
        for h in old {
            if to_kill == 0 {
                break;
            }
            let hash = object::labels(&h)
                .get(CONTROLLER_REVISION_HASH_LABEL)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if live.contains(&hash) {
                continue;
            }
            self.delete_revision(ns, object::name(&h)).await?;
            to_kill -= 1;
        }
        Ok(())
    }

    /// `updateDaemonSetStatus`; returns when to look again (minReadySeconds).
    async fn update_status(
        &self,
        ds: &Value,
        selector: &LabelSelector,
    ) -> Result<Option<Duration>, ApiError> {
        let hash = self.current_hash(ds);
        let by_node = self
            .nodes_to_pods(ds, selector, false, &mut Written::default())
            .await?;
        let generation = template_generation(ds);
        let min_ready = ds
            .pointer("/spec/minReadySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let now = Utc::now();
        let mut c = Counts::default();
        for node in self.sorted_nodes() {
            let (should_run, _) = node_should_run(ds, &node);
            let pods = by_node
                .get(object::name(&node))
                .cloned()
                .unwrap_or_default();
            if should_run {
                c.desired += 1;
                if pods.is_empty() {
                    continue;
                }
                c.current += 1;
                let mut pods = pods;
                sort_by_age(&mut pods);
                let pod = &pods[0];
                if is_pod_ready(pod) {
                    c.ready += 1;
                    if is_pod_available(pod, min_ready, now) {
                        c.available += 1;
                    }
                }
                if is_pod_updated(pod, &hash, generation) {
                    c.updated += 1;
                }
            } else if !pods.is_empty() {
                c.misscheduled += 1;
            }
        }
        let ns = object::meta_str(ds, "namespace");
        let ds_uid = object::meta_str(ds, "uid").unwrap_or("").to_string();
        let generation = ds
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let res = self
            .client
            .modify(&self.sets_info, ns, object::name(ds), true, |obj| {
                if object::meta_str(obj, "uid") != Some(ds_uid.as_str()) {
                    return false;
                }
                let status = status_json(obj, &c, generation);
                if obj.get("status") == Some(&status) {
                    return false;
                }
                obj["status"] = status;
                true
            })
            .await;
        match res {
            Ok(_) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
        if min_ready > 0 && c.ready != c.available {
            return Ok(Some(Duration::from_secs(min_ready as u64)));
        }
        Ok(None)
    }

    /// The hash of the revision matching the DaemonSet's template, from the informer.
    fn current_hash(&self, ds: &Value) -> String {
        let ns = object::meta_str(ds, "namespace").unwrap_or("");
        let uid = object::meta_str(ds, "uid").unwrap_or("");
        let patch = history::canonical_json(&history::template_patch(ds));
        self.revisions
            .list_namespace(ns)
            .into_iter()
            .filter(|r| history::is_controlled_by(r, uid))
            .filter(|r| history::canonical_json(r.get("data").unwrap_or(&Value::Null)) == patch)
            .max_by_key(|r| history::revision_number(r))
            .and_then(|r| {
                object::labels(&r)
                    .get(CONTROLLER_REVISION_HASH_LABEL)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, labels: Value, taints: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}})
    }

    fn ds(template_spec: Value) -> Value {
        json!({"metadata": {"name": "ds", "namespace": "ns", "uid": "ds-uid"},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": template_spec}}})
    }

    #[test]
    fn node_selector_and_affinity_decide_where_pods_run() {
        let plain = node("n1", json!({"disk": "ssd", "cpu": "8"}), json!([]));
        let other = node("n2", json!({"disk": "hdd"}), json!([]));
        let by_selector = ds(json!({"nodeSelector": {"disk": "ssd"}}));
        assert_eq!(node_should_run(&by_selector, &plain), (true, true));
        assert_eq!(node_should_run(&by_selector, &other), (false, false));
        let by_affinity = ds(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "cpu", "operator": "Gt", "values": ["4"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}
            ]}}}}),
        );
        assert_eq!(node_should_run(&by_affinity, &plain), (true, true));
        assert_eq!(node_should_run(&by_affinity, &other), (true, true));
        assert_eq!(
            node_should_run(&by_affinity, &node("n3", json!({"cpu": "2"}), json!([]))),
            (false, false)
        );
        let by_name = ds(json!({"nodeName": "n2"}));
        assert_eq!(node_should_run(&by_name, &plain), (false, false));
        assert!(
            !label_requirement_matches(
                &json!({"key": "a", "operator": "In", "values": []}),
                &Map::new()
            ),
            "an invalid requirement matches nothing"
        );
    }

    #[test]
    fn taints_block_unless_tolerated_and_daemon_defaults_apply() {
        let d = ds(json!({}));
        let no_schedule = node(
            "n",
            json!({}),
            json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
        );
        // Not scheduled there, but an existing pod may keep running (no NoExecute taint).
        assert_eq!(node_should_run(&d, &no_schedule), (false, true));
        let no_execute = node(
            "n",
            json!({}),
            json!([{"key": "dedicated", "value": "db", "effect": "NoExecute"}]),
        );
        assert_eq!(node_should_run(&d, &no_execute), (false, false));
        let tolerating =
            ds(json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db"}]}));
        assert_eq!(node_should_run(&tolerating, &no_schedule), (true, true));
        assert_eq!(node_should_run(&tolerating, &no_execute), (true, true));
        // The default daemon tolerations: not-ready and unschedulable nodes still get pods.
        let not_ready = node(
            "n",
            json!({}),
            json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
                {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        );
        assert_eq!(node_should_run(&d, &not_ready), (true, true));
        let net = node(
            "n",
            json!({}),
            json!([{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]),
        );
        assert_eq!(node_should_run(&d, &net), (false, true));
        assert_eq!(
            node_should_run(&ds(json!({"hostNetwork": true})), &net),
            (true, true)
        );
        // Adding the defaults twice leaves one of each.
        let mut spec = json!({});
        add_daemon_tolerations(&mut spec);
        add_daemon_tolerations(&mut spec);
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 6);
    }

    #[test]
    fn daemon_pods_target_their_node_by_affinity() {
        let mut spec = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Exists"}]}]}},
            "podAntiAffinity": {}}});
        replace_node_name_affinity(&mut spec, "n7");
        assert_eq!(
            spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            json!({"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n7"]}]}]})
        );
        assert!(spec["affinity"].get("podAntiAffinity").is_some());
        let pod = json!({"spec": spec});
        assert_eq!(target_node_name(&pod).as_deref(), Some("n7"));
        let bound = json!({"spec": {"nodeName": "n1"}});
        assert_eq!(target_node_name(&bound).as_deref(), Some("n1"));
        assert_eq!(target_node_name(&json!({"spec": {}})), None);
    }

    #[test]
    fn percentages_scale_and_updates_match_hash_or_generation() {
        assert_eq!(scaled_value(Some(&json!("25%")), 10, true), 3);
        assert_eq!(scaled_value(Some(&json!("25%")), 10, false), 2);
        assert_eq!(scaled_value(Some(&json!(2)), 10, true), 2);
        assert_eq!(scaled_value(None, 10, true), 0);
        let pod = json!({"metadata": {"labels": {CONTROLLER_REVISION_HASH_LABEL: "h1", TEMPLATE_GENERATION_LABEL: "2"}}});
        assert!(is_pod_updated(&pod, "h1", None));
        assert!(is_pod_updated(&pod, "h2", Some("2")));
        assert!(!is_pod_updated(&pod, "h2", Some("3")));
    }

    #[test]
    fn status_omits_zero_optional_counts() {
        let c = Counts {
            desired: 2,
            current: 2,
            misscheduled: 0,
            ready: 1,
            updated: 2,
            available: 1,
        };
        assert_eq!(
            status_json(&json!({"status": {"collisionCount": 1}}), &c, 3),
            json!({"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2,
                "numberReady": 1, "observedGeneration": 3, "updatedNumberScheduled": 2,
                "numberAvailable": 1, "numberUnavailable": 1, "collisionCount": 1})
        );
    }
}
