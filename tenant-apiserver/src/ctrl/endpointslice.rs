//! The EndpointSlice controller (kube-controller-manager's `pkg/controller/endpointslice` and
//! `k8s.io/endpointslice`'s reconciler): for every Service with a selector, `discovery.k8s.io/v1`
//! EndpointSlices named `<service>-<random>` (generateName), owned by the Service and labelled
//! `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`, list the selected
//! pods with their readiness (`ready`, `serving`, `terminating`), node, zone and target, grouped
//! by the ports they resolve to, at most [`MAX_ENDPOINTS_PER_SLICE`] per slice. A Service with no
//! endpoints keeps one empty placeholder slice. Existing slices are updated in place where
//! possible, as upstream's reconciler does, so that consumers see few changes.
//!
//! Slices of a deleted Service are garbage collected through their owner reference; those this
//! controller finds still pointing at a Service that is gone are deleted here too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use warren_apimachinery::error::ApiError;

use super::endpoints::{
    TriggerTimeTracker, find_port, format_trigger_time, is_headless, is_ipv6,
    is_namespace_terminating, is_pod_ready, manages, pod_ips, service_ports, service_selector,
    services_for_pod_change, should_pod_be_in_endpoints, should_set_hostname,
};
use super::{Client, Hub, Informer, WorkQueue, run_workers, split_key};
use crate::handlers::DeleteOptions;
use crate::object;

const CONTROLLER: &str = "endpointslice-controller";

/// The `endpointslice.kubernetes.io/managed-by` value of this controller's slices.
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// The label naming a slice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming a slice's manager.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// The most endpoints in one slice (`--max-endpoints-per-slice` default).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
const HEADLESS_LABEL: &str = super::endpoints::HEADLESS_LABEL;
const TRIGGER_TIME: &str = super::endpoints::LAST_CHANGE_TRIGGER_TIME;

/// The address types a Service's slices carry (`getAddressTypesForService`).
pub fn address_types(svc: &Value) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for f in svc
        .pointer("/spec/ipFamilies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match f.as_str() {
            Some("IPv4") => {
                out.insert("IPv4");
            }
            Some("IPv6") => {
                out.insert("IPv6");
            }
            _ => {}
        }
    }
    if !out.is_empty() {
        return out;
    }
    match svc.pointer("/spec/clusterIP").and_then(Value::as_str) {
        Some(ip) if !ip.is_empty() && ip != "None" => {
            out.insert(if is_ipv6(ip) { "IPv6" } else { "IPv4" });
        }
        _ => {
            out.insert("IPv4");
            out.insert("IPv6");
        }
    }
    out
}

/// The endpoint of a pod in a slice of `address_type` (`podToEndpoint`).
pub fn pod_to_endpoint(
    pod: &Value,
    node: Option<&Value>,
    svc: &Value,
    address_type: &str,
) -> Value {
    let serving = is_pod_ready(pod);
    let terminating = object::is_deleting(pod);
    let publish_not_ready = svc
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ready = publish_not_ready || (serving && !terminating);
    let addresses: Vec<Value> = pod_ips(pod)
        .into_iter()
        .filter_map(|ip| ip.parse::<std::net::IpAddr>().ok())
        .filter(|ip| ip.is_ipv6() == (address_type == "IPv6"))
        .map(|ip| json!(ip.to_string()))
        .collect();
    let mut ep = Map::new();
    ep.insert("addresses".into(), Value::Array(addresses));
    ep.insert(
        "conditions".into(),
        json!({"ready": ready, "serving": serving, "terminating": terminating}),
    );
    ep.insert(
        "targetRef".into(),
        json!({
            "kind": "Pod",
            "namespace": object::meta_str(pod, "namespace").unwrap_or_default(),
            "name": object::name(pod),
            "uid": object::meta_str(pod, "uid").unwrap_or_default(),
        }),
    );
    if let Some(n) = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        ep.insert("nodeName".into(), json!(n));
    }
    if let Some(zone) = node
        .and_then(|n| n.pointer("/metadata/labels"))
        .and_then(|l| l.get(ZONE_LABEL))
        .and_then(Value::as_str)
        .filter(|z| !z.is_empty())
    {
        ep.insert("zone".into(), json!(zone));
    }
    if should_set_hostname(pod, svc) {
        ep.insert("hostname".into(), pod["spec"]["hostname"].clone());
    }
    Value::Object(ep)
}

/// The slice ports of a pod for the Service (`getEndpointPorts`).
pub fn endpoint_ports(svc: &Value, pod: &Value) -> Vec<Value> {
    let ports = service_ports(svc);
    if ports.is_empty() && svc.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None") {
        return Vec::new();
    }
    ports
        .iter()
        .filter_map(|sp| {
            let num = find_port(pod, sp)?;
            let mut p = Map::new();
            p.insert("name".into(), sp.get("name").cloned().unwrap_or(json!("")));
            p.insert("port".into(), json!(num));
            p.insert(
                "protocol".into(),
                sp.get("protocol").cloned().unwrap_or(json!("TCP")),
            );
            if let Some(ap) = sp.get("appProtocol").filter(|v| !v.is_null()) {
                p.insert("appProtocol".into(), ap.clone());
            }
            Some(Value::Object(p))
        })
        .collect()
}

/// The key grouping slices by their port set (`NewPortMapKey`): order does not matter.
fn port_map_key(ports: &[Value]) -> String {
    let mut keys: Vec<String> = ports.iter().map(Value::to_string).collect();
    keys.sort();
    keys.join(",")
}

fn slice_ports(slice: &Value) -> Vec<Value> {
    slice
        .get("ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn slice_endpoints(slice: &Value) -> Vec<Value> {
    slice
        .get("endpoints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// What identifies an endpoint across syncs (`hashEndpoint`): its addresses, hostname and
/// target; conditions and topology may change in place.
fn endpoint_key(ep: &Value) -> String {
    let mut addrs: Vec<&str> = ep
        .get("addresses")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    addrs.sort();
    json!([
        addrs,
        ep.get("hostname").and_then(Value::as_str).unwrap_or(""),
        ep.pointer("/targetRef/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        ep.pointer("/targetRef/name")
            .and_then(Value::as_str)
            .unwrap_or(""),
    ])
    .to_string()
}

/// `EndpointsEqualBeyondHash`: node, zone, conditions and target (without resourceVersion).
fn endpoints_equal_beyond_key(a: &Value, b: &Value) -> bool {
    let target = |e: &Value| {
        let mut t = e.get("targetRef").cloned().unwrap_or(Value::Null);
        if let Some(m) = t.as_object_mut() {
            m.remove("resourceVersion");
        }
        t
    };
    a.get("nodeName") == b.get("nodeName")
        && a.get("zone") == b.get("zone")
        && a.get("conditions") == b.get("conditions")
        && target(a) == target(b)
}

/// The labels a slice of the Service carries, and whether the Service's own labels differ
/// from the slice's (`setEndpointSliceLabels`).
fn slice_labels(slice: Option<&Value>, svc: &Value) -> (Map<String, Value>, bool) {
    let reserved = |k: &str| matches!(k, SERVICE_NAME_LABEL | MANAGED_BY_LABEL | HEADLESS_LABEL);
    let current: Map<String, Value> = slice
        .map(object::labels)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !reserved(k))
        .collect();
    let mut labels: Map<String, Value> = object::labels(svc)
        .into_iter()
        .filter(|(k, _)| !reserved(k))
        .collect();
    let changed = current != labels;
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.into(), json!(""));
    }
    labels.insert(SERVICE_NAME_LABEL.into(), json!(object::name(svc)));
    labels.insert(MANAGED_BY_LABEL.into(), json!(MANAGED_BY));
    (labels, changed)
}

/// Whether a slice is owned by the Service (by UID).
fn owned_by(slice: &Value, svc: &Value) -> bool {
    let uid = object::meta_str(svc, "uid").unwrap_or_default();
    slice
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["uid"] == uid && r["kind"] == "Service" && r["apiVersion"] == "v1")
        })
}

/// A new slice of the Service (`newEndpointSlice`), named by the server from `<svc>-`.
fn new_slice(svc: &Value, ports: &[Value], address_type: &str) -> Value {
    let name = object::name(svc);
    // A name too long for a dash stays without it, as upstream's prefix does.
    let prefix = if name.len() < 253 {
        format!("{name}-")
    } else {
        name.to_string()
    };
    let (labels, _) = slice_labels(None, svc);
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": prefix,
            "namespace": object::meta_str(svc, "namespace").unwrap_or_default(),
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "v1", "kind": "Service", "name": name,
                "uid": object::meta_str(svc, "uid").unwrap_or_default(),
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "addressType": address_type,
        "endpoints": [],
        "ports": ports,
    })
}

/// The slices to create, update and delete for one Service.
#[derive(Debug, Default)]
pub struct Plan {
    /// New slices (no name yet: generateName).
    pub create: Vec<Value>,
    /// Changed slices (with their resourceVersion).
    pub update: Vec<Value>,
    /// Slices to delete (name).
    pub delete: Vec<String>,
}

/// The reconciler proper (`Reconciler.Reconcile`), pure: given the Service, the pods it
/// selects (with their nodes) and its existing slices, what to write. Returns also whether a
/// pod was skipped because its node is unknown (the sync is then retried).
pub fn plan(
    svc: &Value,
    pods: &[(Arc<Value>, Option<Arc<Value>>)],
    existing: &[Arc<Value>],
) -> (Plan, bool) {
    let supported = address_types(svc);
    let mut out = Plan::default();
    let mut missing_node = false;
    let mut by_type: BTreeMap<String, Vec<Arc<Value>>> = BTreeMap::new();
    for slice in existing {
        let at = slice
            .get("addressType")
            .and_then(Value::as_str)
            .unwrap_or("");
        if supported.contains(at) {
            by_type
                .entry(at.to_string())
                .or_default()
                .push(slice.clone());
        } else {
            out.delete.push(object::name(slice).to_string());
        }
    }
    for at in &supported {
        let slices = by_type.remove(*at).unwrap_or_default();
        let (p, missing) = plan_by_address_type(svc, pods, &slices, at);
        missing_node |= missing;
        out.create.extend(p.create);
        out.update.extend(p.update);
        out.delete.extend(p.delete);
    }
    (out, missing_node)
}

fn plan_by_address_type(
    svc: &Value,
    pods: &[(Arc<Value>, Option<Arc<Value>>)],
    existing: &[Arc<Value>],
    address_type: &str,
) -> (Plan, bool) {
    let publish_not_ready = svc
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut to_delete: Vec<Value> = Vec::new();
    let mut existing_by_ports: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for slice in existing {
        if owned_by(slice, svc) {
            existing_by_ports
                .entry(port_map_key(&slice_ports(slice)))
                .or_default()
                .push((**slice).clone());
        } else {
            to_delete.push((**slice).clone());
        }
    }
    // Desired endpoints, grouped by their ports.
    let mut missing_node = false;
    let mut desired: BTreeMap<String, (Vec<Value>, BTreeMap<String, Value>)> = BTreeMap::new();
    for (pod, node) in pods {
        if !should_pod_be_in_endpoints(pod, true) {
            continue;
        }
        if node.is_none() && !publish_not_ready {
            missing_node = true;
            continue;
        }
        let ports = endpoint_ports(svc, pod);
        let group = desired
            .entry(port_map_key(&ports))
            .or_insert_with(|| (ports, BTreeMap::new()));
        let ep = pod_to_endpoint(pod, node.as_deref(), svc, address_type);
        if ep["addresses"].as_array().is_some_and(|a| !a.is_empty()) {
            group.1.insert(endpoint_key(&ep), ep);
        }
    }

    let mut plan = Plan::default();
    for (key, (ports, endpoints)) in &desired {
        let slices = existing_by_ports.get(key).cloned().unwrap_or_default();
        let (c, u, d) = plan_by_ports(svc, slices, endpoints.clone(), ports, address_type);
        plan.create.extend(c);
        plan.update.extend(u);
        to_delete.extend(d);
    }
    for (key, slices) in &existing_by_ports {
        if !desired.contains_key(key) {
            to_delete.extend(slices.iter().cloned());
        }
    }
    // A Service without endpoints keeps one placeholder slice.
    if existing.len() == to_delete.len() && plan.create.is_empty() {
        let placeholder = new_slice(svc, &[], address_type);
        let is_placeholder = |s: &Value| {
            s.get("addressType") == placeholder.get("addressType")
                && slice_ports(s).is_empty()
                && slice_endpoints(s).is_empty()
                && owned_by(s, svc)
                && object::labels(s) == object::labels(&placeholder)
        };
        if to_delete.len() == 1 && is_placeholder(&to_delete[0]) {
            to_delete.clear();
        } else {
            plan.create.push(placeholder);
        }
    }
    // Creates become updates of slices that would otherwise be deleted (`finalize`).
    let mut i = 0;
    while i < to_delete.len() && !plan.create.is_empty() {
        let old = &to_delete[i];
        if old.get("addressType").and_then(Value::as_str) == Some(address_type)
            && owned_by(old, svc)
        {
            let mut slice = plan.create.pop().expect("not empty");
            let meta = object::metadata_mut(&mut slice).expect("object");
            meta.insert("name".into(), old["metadata"]["name"].clone());
            if let Some(rv) = old.pointer("/metadata/resourceVersion") {
                meta.insert("resourceVersion".into(), rv.clone());
            }
            if let Some(a) = old.pointer("/metadata/annotations") {
                meta.insert("annotations".into(), a.clone());
            }
            plan.update.push(slice);
            to_delete.remove(i);
        } else {
            i += 1;
        }
    }
    plan.delete = to_delete
        .iter()
        .map(|s| object::name(s).to_string())
        .collect();
    (plan, missing_node)
}

/// `reconcileByPortMapping`: keeps endpoints where they are, drops the unwanted ones, fills
/// changed slices first, then an unchanged slice with room, then new slices.
fn plan_by_ports(
    svc: &Value,
    existing: Vec<Value>,
    mut desired: BTreeMap<String, Value>,
    ports: &[Value],
    address_type: &str,
) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let mut by_name: BTreeMap<String, Value> = BTreeMap::new();
    let mut unchanged: BTreeSet<String> = BTreeSet::new();
    let mut to_update: BTreeSet<String> = BTreeSet::new();
    let mut to_delete: Vec<Value> = Vec::new();
    for slice in existing {
        let name = object::name(&slice).to_string();
        let old_endpoints = slice_endpoints(&slice);
        let mut kept = Vec::new();
        let mut updated = false;
        for ep in &old_endpoints {
            if let Some(want) = desired.remove(&endpoint_key(ep)) {
                if !endpoints_equal_beyond_key(&want, ep) {
                    updated = true;
                }
                kept.push(want);
            }
        }
        let (labels, labels_changed) = slice_labels(Some(&slice), svc);
        if updated || kept.len() != old_endpoints.len() {
            if kept.is_empty() {
                to_delete.push(slice);
                continue;
            }
            let mut s = slice.clone();
            s["endpoints"] = Value::Array(kept);
            s["metadata"]["labels"] = Value::Object(labels);
            to_update.insert(name.clone());
            by_name.insert(name, s);
        } else if labels_changed {
            let mut s = slice.clone();
            s["metadata"]["labels"] = Value::Object(labels);
            to_update.insert(name.clone());
            by_name.insert(name, s);
        } else {
            unchanged.insert(name.clone());
            by_name.insert(name, slice);
        }
    }
    let mut remaining: Vec<Value> = desired.into_values().collect();
    remaining.reverse();
    // Fill the slices being updated anyway, fullest first.
    if !remaining.is_empty() && !to_update.is_empty() {
        let mut names: Vec<String> = to_update.iter().cloned().collect();
        names.sort_by_key(|n| std::cmp::Reverse(slice_endpoints(&by_name[n]).len()));
        for n in names {
            let s = by_name.get_mut(&n).expect("known slice");
            let mut eps = slice_endpoints(s);
            while eps.len() < MAX_ENDPOINTS_PER_SLICE {
                let Some(ep) = remaining.pop() else { break };
                eps.push(ep);
            }
            s["endpoints"] = Value::Array(eps);
        }
    }
    let mut create = Vec::new();
    while !remaining.is_empty() {
        // Fit what is left in the unchanged slice that ends up fullest, if one has room.
        let mut target: Option<String> = None;
        if remaining.len() < MAX_ENDPOINTS_PER_SLICE {
            let mut closest = MAX_ENDPOINTS_PER_SLICE;
            for n in &unchanged {
                let len = slice_endpoints(&by_name[n]).len();
                if len + remaining.len() <= MAX_ENDPOINTS_PER_SLICE {
                    let diff = MAX_ENDPOINTS_PER_SLICE - len - remaining.len();
                    if diff < closest {
                        closest = diff;
                        target = Some(n.clone());
                    }
                }
            }
        }
        let mut slice = match &target {
            Some(n) => by_name[n].clone(),
            None => new_slice(svc, ports, address_type),
        };
        let mut eps = slice_endpoints(&slice);
        while eps.len() < MAX_ENDPOINTS_PER_SLICE {
            let Some(ep) = remaining.pop() else { break };
            eps.push(ep);
        }
        slice["endpoints"] = Value::Array(eps);
        match target {
            Some(n) => {
                unchanged.remove(&n);
                to_update.insert(n.clone());
                by_name.insert(n, slice);
            }
            None => create.push(slice),
        }
    }
    let update = to_update.iter().map(|n| by_name[n].clone()).collect();
    (create, update, to_delete)
}

/// Writes the trigger-time annotation (`addTriggerTimeAnnotation`).
fn set_trigger_time(slice: &mut Value, trigger: Option<DateTime<Utc>>) {
    let meta = object::metadata_mut(slice).expect("object");
    let mut annotations = meta
        .get("annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match trigger {
        Some(t) => {
            annotations.insert(TRIGGER_TIME.into(), json!(format_trigger_time(t)));
        }
        None => {
            annotations.remove(TRIGGER_TIME);
        }
    }
    meta.insert("annotations".into(), Value::Object(annotations));
    object::drop_empty_metadata(slice);
}

/// Empty `endpoints` and `ports` are written as upstream's nil lists are.
fn nil_empty_lists(slice: &mut Value) {
    for f in ["endpoints", "ports"] {
        if slice
            .get(f)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            slice[f] = Value::Null;
        }
    }
}

struct Controller {
    client: Client,
    services: Arc<Informer>,
    pods: Arc<Informer>,
    nodes: Arc<Informer>,
    slices: Arc<Informer>,
    triggers: TriggerTimeTracker,
}

/// Runs the controller until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    if let Err(err) = run_inner(hub).await {
        tracing::warn!(controller = CONTROLLER, error = %err.message, "controller stopped");
    }
}

async fn run_inner(hub: Arc<Hub>) -> Result<(), ApiError> {
    let ctl = Arc::new(Controller {
        client: Client::new(hub.api().clone(), CONTROLLER),
        services: hub.informer("", "v1", "services").await?,
        pods: hub.informer("", "v1", "pods").await?,
        nodes: hub.informer("", "v1", "nodes").await?,
        slices: hub
            .informer("discovery.k8s.io", "v1", "endpointslices")
            .await?,
        triggers: TriggerTimeTracker::default(),
    });
    let mut svc_rx = ctl.services.subscribe();
    let mut pod_rx = ctl.pods.subscribe();
    let mut node_rx = ctl.nodes.subscribe();
    let mut slice_rx = ctl.slices.subscribe();
    let queue = Arc::new(WorkQueue::new());
    ctl.enqueue_everything(&queue);
    let cancel = hub.cancel().clone();
    let workers = {
        let ctl = ctl.clone();
        let queue = queue.clone();
        let cancel = cancel.clone();
        async move {
            run_workers(queue, cancel, CONTROLLER, |key| {
                let ctl = ctl.clone();
                async move { ctl.sync(&key).await }
            })
            .await
        }
    };
    let feed = async {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                c = svc_rx.recv() => match c {
                    Ok(c) => queue.add(key_of(&c.object)),
                    Err(RecvError::Lagged(_)) => ctl.enqueue_everything(&queue),
                    Err(RecvError::Closed) => return,
                },
                c = pod_rx.recv() => match c {
                    Ok(c) => {
                        for key in services_for_pod_change(&ctl.services, &c) {
                            queue.add(key);
                        }
                    }
                    Err(RecvError::Lagged(_)) => ctl.enqueue_everything(&queue),
                    Err(RecvError::Closed) => return,
                },
                c = node_rx.recv() => match c {
                    // A node's zone (or existence) changes its pods' endpoints.
                    Ok(c) if node_change_matters(&c) => ctl.enqueue_everything(&queue),
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => ctl.enqueue_everything(&queue),
                    Err(RecvError::Closed) => return,
                },
                c = slice_rx.recv() => match c {
                    Ok(c) => {
                        if let Some(key) = slice_service_key(&c.object) {
                            queue.add(key);
                        }
                    }
                    Err(RecvError::Lagged(_)) => ctl.enqueue_everything(&queue),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    };
    tokio::join!(workers, feed);
    Ok(())
}

fn key_of(obj: &Value) -> String {
    format!(
        "{}/{}",
        object::meta_str(obj, "namespace").unwrap_or_default(),
        object::name(obj)
    )
}

/// Whether a node change can change endpoints: it appeared, went, or its labels changed.
fn node_change_matters(c: &super::Change) -> bool {
    match &c.prev {
        Some(prev) if c.kind == crate::watch::EventType::Modified => {
            prev.pointer("/metadata/labels") != c.object.pointer("/metadata/labels")
        }
        _ => true,
    }
}

/// Whether a slice has an owner reference to a Service.
fn owned_by_a_service(slice: &Value) -> bool {
    slice
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["kind"] == "Service" && r["apiVersion"] == "v1")
        })
}

/// The Service key of a slice this controller manages.
fn slice_service_key(slice: &Value) -> Option<String> {
    let labels = object::labels(slice);
    if labels.get(MANAGED_BY_LABEL).and_then(Value::as_str) != Some(MANAGED_BY) {
        return None;
    }
    let svc = labels.get(SERVICE_NAME_LABEL)?.as_str()?;
    Some(format!(
        "{}/{svc}",
        object::meta_str(slice, "namespace").unwrap_or_default()
    ))
}

impl Controller {
    fn enqueue_everything(&self, queue: &WorkQueue) {
        for svc in self.services.list() {
            queue.add(key_of(&svc));
        }
        for slice in self.slices.list() {
            if let Some(key) = slice_service_key(&slice) {
                queue.add(key);
            }
        }
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or_default();
        let span = tracing::debug_span!("sync_endpointslices", namespace = ns, name);
        let _guard = span.enter();
        let info = self
            .client
            .resource("discovery.k8s.io", "v1", "endpointslices")?;
        let existing: Vec<Arc<Value>> = self
            .slices
            .list_namespace(ns)
            .into_iter()
            .filter(|s| slice_service_key(s).as_deref() == Some(key))
            .collect();
        let Some(svc) = self.services.get(Some(ns), name) else {
            // The Service is gone; its slices are the garbage collector's, but any still
            // owned by a Service (which no longer exists) go now.
            self.triggers.delete(ns, name);
            for slice in existing.iter().filter(|s| owned_by_a_service(s)) {
                self.delete_slice(&info, ns, object::name(slice)).await?;
            }
            return Ok(None);
        };
        if !manages(&svc) {
            return Ok(None);
        }
        let selector = service_selector(&svc).expect("managed services have a selector");
        let pods: Vec<Arc<Value>> = self
            .pods
            .list_namespace(ns)
            .into_iter()
            .filter(|p| selector.matches_object(p))
            .collect();
        let trigger = self.triggers.compute(&svc, &pods);
        let with_nodes: Vec<(Arc<Value>, Option<Arc<Value>>)> = pods
            .iter()
            .map(|p| {
                let node = p
                    .pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .and_then(|n| self.nodes.get(None, n));
                (p.clone(), node)
            })
            .collect();
        let (plan, missing_node) = plan(&svc, &with_nodes, &existing);
        let mut last_rev = 0;
        if !object::is_deleting(&svc) {
            for mut slice in plan.create {
                set_trigger_time(&mut slice, trigger);
                nil_empty_lists(&mut slice);
                match self.client.create(&info, Some(ns), slice).await {
                    Ok(w) => last_rev = last_rev.max(revision_of(&w)),
                    Err(e) if e.code == 403 && is_namespace_terminating(&e) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        }
        for mut slice in plan.update {
            set_trigger_time(&mut slice, trigger);
            nil_empty_lists(&mut slice);
            let w = self.client.update(&info, Some(ns), slice).await?;
            last_rev = last_rev.max(revision_of(&w));
        }
        for name in plan.delete {
            self.delete_slice(&info, ns, &name).await?;
        }
        if last_rev > 0 {
            self.slices.wait_for(last_rev, Duration::from_secs(5)).await;
        }
        if missing_node {
            return Err(ApiError::internal(format!(
                "skipping pods of Service {key}: their Node was not found"
            )));
        }
        Ok(None)
    }

    async fn delete_slice(
        &self,
        info: &warren_apimachinery::registry::ResourceInfo,
        ns: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        match self
            .client
            .delete(info, Some(ns), name, &DeleteOptions::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn revision_of(obj: &Value) -> i64 {
    object::resource_version(obj)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10", "ipFamilies": ["IPv4"],
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]},
        })
    }

    fn pod(name: &str, ip: &str, ready: bool, port: i64) -> (Arc<Value>, Option<Arc<Value>>) {
        (
            Arc::new(json!({
                "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
                "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port}]}]},
                "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                    "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]},
            })),
            Some(Arc::new(
                json!({"metadata": {"name": "n1", "labels": {ZONE_LABEL: "z1"}}}),
            )),
        )
    }

    fn stored(mut slice: Value, name: &str) -> Arc<Value> {
        slice["metadata"]["name"] = json!(name);
        slice["metadata"]["resourceVersion"] = json!("7");
        Arc::new(slice)
    }

    #[test]
    fn first_sync_creates_one_slice_with_conditions_and_zone() {
        let pods = vec![
            pod("a", "10.0.0.1", true, 8080),
            pod("b", "10.0.0.2", false, 8080),
        ];
        let (plan, missing) = plan(&svc(), &pods, &[]);
        assert!(!missing);
        assert_eq!(plan.create.len(), 1);
        let s = &plan.create[0];
        assert_eq!(s["metadata"]["generateName"], "web-");
        assert_eq!(s["metadata"]["labels"][SERVICE_NAME_LABEL], "web");
        assert_eq!(s["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY);
        assert_eq!(s["metadata"]["labels"]["team"], "a");
        assert_eq!(s["metadata"]["ownerReferences"][0]["uid"], "svc-uid");
        assert_eq!(s["addressType"], "IPv4");
        assert_eq!(
            s["ports"],
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
        );
        let eps = s["endpoints"].as_array().unwrap();
        assert_eq!(eps.len(), 2);
        let b = eps
            .iter()
            .find(|e| e["addresses"][0] == "10.0.0.2")
            .unwrap();
        assert_eq!(
            b["conditions"],
            json!({"ready": false, "serving": false, "terminating": false})
        );
        assert_eq!(b["zone"], "z1");
        assert_eq!(b["nodeName"], "n1");
        assert_eq!(b["targetRef"]["name"], "b");
    }

    #[test]
    fn changes_update_in_place_and_empty_services_keep_a_placeholder() {
        let pods = vec![
            pod("a", "10.0.0.1", true, 8080),
            pod("b", "10.0.0.2", true, 8080),
        ];
        let (first, _) = plan(&svc(), &pods, &[]);
        let existing = vec![stored(first.create[0].clone(), "web-abcde")];
        // Nothing changed: nothing to do.
        let (same, _) = plan(&svc(), &pods, &existing);
        assert!(same.create.is_empty() && same.update.is_empty() && same.delete.is_empty());
        // One pod gone: the slice is updated in place.
        let (fewer, _) = plan(&svc(), &pods[..1], &existing);
        assert!(fewer.create.is_empty() && fewer.delete.is_empty());
        assert_eq!(fewer.update.len(), 1);
        assert_eq!(fewer.update[0]["metadata"]["name"], "web-abcde");
        assert_eq!(fewer.update[0]["endpoints"].as_array().unwrap().len(), 1);
        // No pods at all: the slice becomes the placeholder (an update, not delete+create).
        let (none, _) = plan(&svc(), &[], &existing);
        assert!(none.create.is_empty() && none.delete.is_empty(), "{none:?}");
        assert_eq!(none.update[0]["endpoints"], json!([]));
        assert_eq!(none.update[0]["ports"], json!([]));
        // The placeholder is kept as it is.
        let placeholder = stored(none.update[0].clone(), "web-abcde");
        let (again, _) = plan(&svc(), &[], &[placeholder]);
        assert!(again.create.is_empty() && again.update.is_empty() && again.delete.is_empty());
    }

    #[test]
    fn pods_with_different_ports_get_different_slices_and_slices_hold_at_most_100() {
        let mut pods: Vec<_> = (0..150)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    &format!("10.0.{}.{}", i / 200, i % 200 + 1),
                    true,
                    8080,
                )
            })
            .collect();
        pods.push(pod("other", "10.1.0.1", true, 9090));
        let (p, _) = plan(&svc(), &pods, &[]);
        assert_eq!(p.create.len(), 3);
        let sizes: Vec<usize> = p
            .create
            .iter()
            .map(|s| s["endpoints"].as_array().unwrap().len())
            .collect();
        assert!(
            sizes.iter().all(|n| *n <= MAX_ENDPOINTS_PER_SLICE),
            "{sizes:?}"
        );
        assert_eq!(sizes.iter().sum::<usize>(), 151);
    }

    #[test]
    fn slices_of_another_service_with_the_same_name_are_replaced() {
        let pods = vec![pod("a", "10.0.0.1", true, 8080)];
        let (first, _) = plan(&svc(), &pods, &[]);
        let mut foreign = first.create[0].clone();
        foreign["metadata"]["ownerReferences"][0]["uid"] = json!("old-uid");
        let (p, _) = plan(&svc(), &pods, &[stored(foreign, "web-old")]);
        assert_eq!(p.create.len(), 1);
        assert_eq!(p.delete, vec!["web-old".to_string()]);
    }
}
