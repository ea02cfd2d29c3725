//! The endpoints controller (kube-controller-manager's `pkg/controller/endpoint`): for every
//! Service with a selector, an Endpoints object of the same name lists the IPs of the pods it
//! selects — ready ones in `addresses`, the others in `notReadyAddresses` (all as ready with
//! `publishNotReadyAddresses`) — with the Service's ports resolved against each pod's container
//! ports, packed into subsets as `RepackSubsets` does. Services without a selector (like
//! `default/kubernetes`) are left alone; a deleted Service's Endpoints go with it.
//!
//! The pod-to-endpoint helpers here are shared with the EndpointSlice controller
//! ([`super::endpointslice`]), as upstream's `k8s.io/endpointslice/util` is.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::selectors::LabelSelector;

use super::{Change, Client, Hub, Informer, WorkQueue, run_workers, split_key};
use crate::handlers::DeleteOptions;
use crate::object;

const CONTROLLER: &str = "endpoint-controller";

/// The annotation with the time of the change that caused the last endpoints update.
pub const LAST_CHANGE_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// The annotation marking an Endpoints object truncated to [`MAX_CAPACITY`] addresses.
pub const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
/// The label on the endpoints of a headless Service.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// The most addresses one Endpoints object holds.
pub const MAX_CAPACITY: usize = 1000;
/// Endpoints carrying this annotation are leader-election records, never cleaned up.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

// ---------------------------------------------------------------------------------------------
// Helpers shared with the EndpointSlice controller.

/// The Service's selector as a label selector; None when it has none (a missing or empty
/// `spec.selector` selects nothing: such Services get endpoints out of band).
pub fn service_selector(svc: &Value) -> Option<LabelSelector> {
    svc.pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .map(LabelSelector::from_set)
}

/// Whether the controllers publish endpoints for this Service at all.
pub fn manages(svc: &Value) -> bool {
    svc.pointer("/spec/type").and_then(Value::as_str) != Some("ExternalName")
        && service_selector(svc).is_some()
}

/// The Services of the pod's namespace whose selector matches the pod now or before the change.
pub fn services_for_pod_change(services: &Informer, change: &Change) -> Vec<String> {
    let mut keys = Vec::new();
    for pod in std::iter::once(&change.object).chain(change.prev.as_ref()) {
        let ns = object::meta_str(pod, "namespace").unwrap_or_default();
        for svc in services.list_namespace(ns) {
            if service_selector(&svc).is_some_and(|s| s.matches_object(pod)) {
                let key = format!("{ns}/{}", object::name(&svc));
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    keys
}

/// `podutil.IsPodReady`.
pub fn is_pod_ready(pod: &Value) -> bool {
    crate::eviction::is_pod_ready(pod)
}

fn is_terminal(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// `ShouldPodBeInEndpoints`: not terminal, has an IP, and not being deleted unless
/// `include_terminating`.
pub fn should_pod_be_in_endpoints(pod: &Value, include_terminating: bool) -> bool {
    if is_terminal(pod) {
        return false;
    }
    let has_ip = pod
        .pointer("/status/podIP")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
        || pod
            .pointer("/status/podIPs")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
    if !has_ip {
        return false;
    }
    include_terminating || !object::is_deleting(pod)
}

/// `ShouldSetHostname`: the pod has a hostname and its subdomain is the Service's name.
pub fn should_set_hostname(pod: &Value, svc: &Value) -> bool {
    let hostname = pod
        .pointer("/spec/hostname")
        .and_then(Value::as_str)
        .unwrap_or("");
    !hostname.is_empty()
        && pod.pointer("/spec/subdomain").and_then(Value::as_str) == Some(object::name(svc))
        && object::meta_str(pod, "namespace") == object::meta_str(svc, "namespace")
}

/// The pod's IPs (`status.podIPs`).
pub fn pod_ips(pod: &Value) -> Vec<String> {
    pod.pointer("/status/podIPs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|ip| ip.get("ip").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether an address is IPv6.
pub fn is_ipv6(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_ipv6())
}

/// `FindPort`: the container port a Service port's `targetPort` means on this pod (a number
/// as is; a name looked up among the containers' — and restartable init containers' — ports
/// of the same protocol).
pub fn find_port(pod: &Value, svc_port: &Value) -> Option<i64> {
    let protocol = svc_port
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("TCP");
    match svc_port.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => {
            let spec = pod.get("spec")?;
            let containers = spec
                .get("containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            let sidecars = spec
                .get("initContainers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"));
            containers
                .chain(sidecars)
                .flat_map(|c| {
                    c.get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .find(|p| {
                    p.get("name").and_then(Value::as_str) == Some(name.as_str())
                        && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == protocol
                })
                .and_then(|p| p.get("containerPort").and_then(Value::as_i64))
        }
        // A missing targetPort defaults to the port itself.
        _ => svc_port.get("port").and_then(Value::as_i64),
    }
}

/// The Service's ports (`spec.ports`).
pub fn service_ports(svc: &Value) -> Vec<Value> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Whether the Service is headless (`clusterIP: None` or none at all).
pub fn is_headless(svc: &Value) -> bool {
    matches!(
        svc.pointer("/spec/clusterIP").and_then(Value::as_str),
        None | Some("") | Some("None")
    )
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Formats a time as Go's `RFC3339Nano` in UTC.
pub fn format_trigger_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[derive(Default)]
struct ServiceState {
    last_service_trigger: Option<DateTime<Utc>>,
    last_pod_triggers: HashMap<String, DateTime<Utc>>,
}

/// `TriggerTimeTracker`: the time of the earliest change (a pod's Ready transition, the
/// Service's creation) not yet reflected in the endpoints, for the
/// [`LAST_CHANGE_TRIGGER_TIME`] annotation.
#[derive(Default)]
pub struct TriggerTimeTracker {
    states: Mutex<HashMap<(String, String), ServiceState>>,
}

impl TriggerTimeTracker {
    /// The trigger time to export for this sync (None: clear the annotation).
    pub fn compute(&self, svc: &Value, pods: &[Arc<Value>]) -> Option<DateTime<Utc>> {
        let key = (
            object::meta_str(svc, "namespace")
                .unwrap_or_default()
                .to_string(),
            object::name(svc).to_string(),
        );
        let mut states = self.states.lock().expect("tracker lock");
        let known = states.contains_key(&key);
        let state = states.entry(key).or_default();
        let mut min_changed: Option<DateTime<Utc>> = None;
        let mut pod_triggers = HashMap::new();
        for pod in pods {
            let ready_time = pod
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .and_then(|c| parse_time(c["lastTransitionTime"].as_str()));
            if let Some(t) = ready_time {
                let name = object::name(pod).to_string();
                if state
                    .last_pod_triggers
                    .get(&name)
                    .is_none_or(|last| t > *last)
                {
                    min_changed = Some(min_changed.map_or(t, |m| m.min(t)));
                }
                pod_triggers.insert(name, t);
            }
        }
        let created = parse_time(object::meta_str(svc, "creationTimestamp"));
        if let Some(c) = created
            && state.last_service_trigger.is_none_or(|last| c > last)
        {
            min_changed = Some(min_changed.map_or(c, |m| m.min(c)));
        }
        state.last_pod_triggers = pod_triggers;
        state.last_service_trigger = created;
        if !known {
            return created;
        }
        min_changed
    }

    /// Forgets a deleted Service.
    pub fn delete(&self, namespace: &str, name: &str) {
        self.states
            .lock()
            .expect("tracker lock")
            .remove(&(namespace.to_string(), name.to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// Endpoints.

/// One address with its readiness and (optional) port, before packing.
struct Entry {
    address: Value,
    ready: bool,
    port: Option<Value>,
}

/// The address of a pod for the Service's IP family (`podToEndpointAddressForService`).
fn pod_to_endpoint_address(svc: &Value, pod: &Value) -> Option<Value> {
    let families: Vec<&str> = svc
        .pointer("/spec/ipFamilies")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let want_v6 = match families.first() {
        Some(f) => *f == "IPv6",
        None => {
            let cluster_ip = svc
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !cluster_ip.is_empty() && cluster_ip != "None" {
                is_ipv6(cluster_ip)
            } else {
                pod.pointer("/status/podIP")
                    .and_then(Value::as_str)
                    .is_some_and(is_ipv6)
            }
        }
    };
    let ip = pod_ips(pod).into_iter().find(|ip| is_ipv6(ip) == want_v6)?;
    let mut addr = Map::new();
    addr.insert("ip".into(), json!(ip));
    if should_set_hostname(pod, svc) {
        addr.insert("hostname".into(), pod["spec"]["hostname"].clone());
    }
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    addr.insert("nodeName".into(), json!(node));
    addr.insert(
        "targetRef".into(),
        json!({
            "kind": "Pod",
            "namespace": object::meta_str(pod, "namespace").unwrap_or_default(),
            "name": object::name(pod),
            "uid": object::meta_str(pod, "uid").unwrap_or_default(),
        }),
    );
    Some(Value::Object(addr))
}

/// The Endpoints subsets for a Service and the pods it selects.
pub fn desired_subsets(svc: &Value, pods: &[Arc<Value>]) -> Vec<Value> {
    let publish_not_ready = svc
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ports = service_ports(svc);
    let mut entries = Vec::new();
    for pod in pods {
        if !should_pod_be_in_endpoints(pod, publish_not_ready) {
            continue;
        }
        let Some(address) = pod_to_endpoint_address(svc, pod) else {
            continue;
        };
        let ready = publish_not_ready || is_pod_ready(pod);
        if ports.is_empty() {
            // A headless Service may have no ports.
            if svc.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None") {
                entries.push(Entry {
                    address,
                    ready,
                    port: None,
                });
            }
            continue;
        }
        for sp in &ports {
            let Some(num) = find_port(pod, sp) else {
                continue;
            };
            let mut port = Map::new();
            if let Some(n) = sp
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            {
                port.insert("name".into(), json!(n));
            }
            port.insert("port".into(), json!(num));
            port.insert(
                "protocol".into(),
                sp.get("protocol").cloned().unwrap_or(json!("TCP")),
            );
            if let Some(ap) = sp.get("appProtocol").filter(|v| !v.is_null()) {
                port.insert("appProtocol".into(), ap.clone());
            }
            entries.push(Entry {
                address: address.clone(),
                ready,
                port: Some(Value::Object(port)),
            });
        }
    }
    repack_subsets(entries)
}

fn address_key(addr: &Value) -> (String, String) {
    (
        addr["ip"].as_str().unwrap_or_default().to_string(),
        addr.pointer("/targetRef/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    )
}

/// Readiness by address key (IP, target UID).
type ReadyByAddress = BTreeMap<(String, String), bool>;

/// `RepackSubsets`: addresses offering exactly the same ports (with the same readiness) share
/// one subset; a not-ready address on any port is not ready on it. Addresses are sorted by IP
/// and UID; ports and subsets in a stable order.
fn repack_subsets(entries: Vec<Entry>) -> Vec<Value> {
    let mut all_addrs: BTreeMap<(String, String), Value> = BTreeMap::new();
    // port (canonical JSON, or "" for the no-port sentinel) -> address key -> ready
    let mut port_to_addr_ready: BTreeMap<String, (Option<Value>, ReadyByAddress)> = BTreeMap::new();
    for e in entries {
        let key = address_key(&e.address);
        all_addrs.entry(key.clone()).or_insert(e.address);
        let port_key = e.port.as_ref().map(|p| p.to_string()).unwrap_or_default();
        let slot = port_to_addr_ready
            .entry(port_key)
            .or_insert_with(|| (e.port.clone(), BTreeMap::new()));
        let ready = slot.1.entry(key).or_insert(e.ready);
        if *ready {
            *ready = e.ready;
        }
    }
    // Group the ports by the exact set of (address, readiness) offering them.
    let mut groups: BTreeMap<String, (ReadyByAddress, Vec<Value>)> = BTreeMap::new();
    for (_, (port, addrs)) in port_to_addr_ready {
        let set_key = format!("{addrs:?}");
        let group = groups
            .entry(set_key)
            .or_insert_with(|| (addrs.clone(), Vec::new()));
        if let Some(p) = port {
            group.1.push(p);
        }
    }
    let mut subsets: Vec<Value> = groups
        .into_values()
        .map(|(addrs, mut ports)| {
            let mut ready = Vec::new();
            let mut not_ready = Vec::new();
            for (key, is_ready) in addrs {
                let addr = all_addrs[&key].clone();
                if is_ready {
                    ready.push(addr);
                } else {
                    not_ready.push(addr);
                }
            }
            ports.sort_by_key(|p| {
                (
                    p["port"].as_i64().unwrap_or(0),
                    p["name"].as_str().unwrap_or_default().to_string(),
                    p["protocol"].as_str().unwrap_or_default().to_string(),
                )
            });
            let mut subset = Map::new();
            if !ready.is_empty() {
                subset.insert("addresses".into(), Value::Array(ready));
            }
            if !not_ready.is_empty() {
                subset.insert("notReadyAddresses".into(), Value::Array(not_ready));
            }
            if !ports.is_empty() {
                subset.insert("ports".into(), Value::Array(ports));
            }
            Value::Object(subset)
        })
        .collect();
    subsets.sort_by_key(|s| s.to_string());
    subsets
}

/// Truncates the subsets to [`MAX_CAPACITY`] addresses, ready ones first, each subset keeping
/// its share (`truncateEndpoints`); true if anything was cut.
fn truncate_endpoints(subsets: &mut [Value]) -> bool {
    let count = |s: &Value, f: &str| s.get(f).and_then(Value::as_array).map_or(0, Vec::len);
    let total_ready: usize = subsets.iter().map(|s| count(s, "addresses")).sum();
    let total_not_ready: usize = subsets.iter().map(|s| count(s, "notReadyAddresses")).sum();
    if total_ready + total_not_ready <= MAX_CAPACITY {
        return false;
    }
    let truncate_ready = total_ready > MAX_CAPACITY;
    let (max, num_total) = if truncate_ready {
        (MAX_CAPACITY, total_ready)
    } else {
        (MAX_CAPACITY - total_ready, total_not_ready)
    };
    let mut can_be_added = max;
    for subset in subsets.iter_mut() {
        let field = if truncate_ready {
            "addresses"
        } else {
            "notReadyAddresses"
        };
        let in_subset = count(subset, field);
        let share = (in_subset as f64 / num_total as f64 * max as f64).ceil() as usize;
        let keep = share.min(can_be_added);
        if let Some(list) = subset.get_mut(field).and_then(Value::as_array_mut) {
            list.truncate(keep);
            can_be_added -= list.len();
        }
        if truncate_ready && let Some(m) = subset.as_object_mut() {
            m.remove("notReadyAddresses");
        }
    }
    true
}

/// Subsets compared without the pods' resourceVersions.
fn without_target_versions(subsets: &Value) -> Value {
    let mut s = subsets.clone();
    if let Some(list) = s.as_array_mut() {
        for subset in list {
            for field in ["addresses", "notReadyAddresses"] {
                if let Some(addrs) = subset.get_mut(field).and_then(Value::as_array_mut) {
                    for a in addrs {
                        if let Some(t) = a.get_mut("targetRef").and_then(Value::as_object_mut) {
                            t.remove("resourceVersion");
                        }
                    }
                }
            }
        }
    }
    s
}

struct Controller {
    client: Client,
    services: Arc<Informer>,
    pods: Arc<Informer>,
    endpoints: Arc<Informer>,
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
        endpoints: hub.informer("", "v1", "endpoints").await?,
        triggers: TriggerTimeTracker::default(),
    });
    let mut svc_rx = ctl.services.subscribe();
    let mut pod_rx = ctl.pods.subscribe();
    let mut ep_rx = ctl.endpoints.subscribe();
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
                c = ep_rx.recv() => match c {
                    Ok(c) if c.kind == crate::watch::EventType::Deleted => queue.add(key_of(&c.object)),
                    Ok(_) => {}
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

impl Controller {
    /// Every Service, and every Endpoints object (one left by a Service deleted while no
    /// controller ran is removed: `checkLeftoverEndpoints`).
    fn enqueue_everything(&self, queue: &WorkQueue) {
        for svc in self.services.list() {
            queue.add(key_of(&svc));
        }
        for ep in self.endpoints.list() {
            let leader = ep
                .pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .is_some_and(|a| a.contains_key(LEADER_ANNOTATION));
            if !leader {
                queue.add(key_of(&ep));
            }
        }
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or_default();
        let span = tracing::debug_span!("sync_endpoints", namespace = ns, name);
        let _guard = span.enter();
        let info = self.client.resource("", "v1", "endpoints")?;
        let Some(svc) = self.services.get(Some(ns), name) else {
            // The Service is gone: so are its endpoints.
            self.triggers.delete(ns, name);
            if self.endpoints.get(Some(ns), name).is_some() {
                match self
                    .client
                    .delete(&info, Some(ns), name, &DeleteOptions::default())
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
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
        let mut subsets = desired_subsets(&svc, &pods);

        let current = self.endpoints.get(Some(ns), name);
        let svc_labels = svc
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(cur) = &current {
            let mut cur_labels = object::labels(cur);
            cur_labels.remove(HEADLESS_LABEL);
            let cur_subsets = cur.get("subsets").cloned().unwrap_or(json!([]));
            let cur_count: usize = cur_subsets
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            s.get("addresses")
                                .and_then(Value::as_array)
                                .map_or(0, Vec::len)
                                + s.get("notReadyAddresses")
                                    .and_then(Value::as_array)
                                    .map_or(0, Vec::len)
                        })
                        .sum()
                })
                .unwrap_or(0);
            let capacity_ok = cur_count <= MAX_CAPACITY
                && !cur
                    .pointer("/metadata/annotations")
                    .and_then(Value::as_object)
                    .is_some_and(|a| a.contains_key(OVER_CAPACITY));
            if without_target_versions(&cur_subsets) == json!(subsets)
                && cur_labels == svc_labels
                && capacity_ok
            {
                return Ok(None);
            }
        }

        let mut new = match &current {
            Some(cur) => (**cur).clone(),
            None => json!({
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns},
            }),
        };
        let meta = object::metadata_mut(&mut new).expect("object");
        let mut labels = svc_labels;
        if is_headless(&svc) {
            labels.insert(HEADLESS_LABEL.into(), json!(""));
        } else {
            labels.remove(HEADLESS_LABEL);
        }
        meta.insert("labels".into(), Value::Object(labels));
        let mut annotations = meta
            .get("annotations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        match trigger {
            Some(t) => {
                annotations.insert(
                    LAST_CHANGE_TRIGGER_TIME.into(),
                    json!(format_trigger_time(t)),
                );
            }
            None => {
                annotations.remove(LAST_CHANGE_TRIGGER_TIME);
            }
        }
        if truncate_endpoints(&mut subsets) {
            annotations.insert(OVER_CAPACITY.into(), json!("truncated"));
        } else {
            annotations.remove(OVER_CAPACITY);
        }
        meta.insert("annotations".into(), Value::Object(annotations));
        object::drop_empty_metadata(&mut new);
        if subsets.is_empty() {
            if let Some(o) = new.as_object_mut() {
                o.remove("subsets");
            }
        } else {
            new["subsets"] = Value::Array(subsets);
        }
        let written = match current {
            None => match self.client.create(&info, Some(ns), new).await {
                Ok(w) => w,
                // A terminating namespace refuses new content: nothing to do.
                Err(e) if e.code == 403 && is_namespace_terminating(&e) => return Ok(None),
                Err(e) => return Err(e),
            },
            Some(_) => self.client.update(&info, Some(ns), new).await?,
        };
        if let Some(rev) = object::resource_version(&written).and_then(|r| r.parse().ok()) {
            self.endpoints.wait_for(rev, Duration::from_secs(5)).await;
        }
        Ok(None)
    }
}

/// Whether a 403 is the NamespaceLifecycle refusal of a terminating namespace.
pub fn is_namespace_terminating(e: &ApiError) -> bool {
    e.details
        .as_ref()
        .and_then(|d| d.get("causes"))
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["reason"] == "NamespaceTerminating"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ip: &str, ready: bool, port: i64) -> Arc<Value> {
        Arc::new(json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": "2024-01-01T00:00:00Z"}]},
        }))
    }

    fn svc(publish: bool) -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "ns", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10", "ipFamilies": ["IPv4"],
                "publishNotReadyAddresses": publish,
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]},
        })
    }

    #[test]
    fn named_ports_resolve_per_pod_and_readiness_splits_addresses() {
        let pods = vec![
            pod("a", "10.0.0.2", true, 8080),
            pod("b", "10.0.0.1", false, 8080),
            pod("c", "10.0.0.3", true, 9090),
        ];
        let subsets = desired_subsets(&svc(false), &pods);
        assert_eq!(subsets.len(), 2, "{subsets:#?}");
        let s8080 = subsets
            .iter()
            .find(|s| s["ports"][0]["port"] == 8080)
            .unwrap();
        assert_eq!(s8080["addresses"][0]["ip"], "10.0.0.2");
        assert_eq!(s8080["notReadyAddresses"][0]["ip"], "10.0.0.1");
        assert_eq!(s8080["ports"][0]["name"], "http");
        assert_eq!(s8080["addresses"][0]["targetRef"]["kind"], "Pod");
        assert_eq!(s8080["addresses"][0]["nodeName"], "n1");
        let s9090 = subsets
            .iter()
            .find(|s| s["ports"][0]["port"] == 9090)
            .unwrap();
        assert_eq!(s9090["addresses"][0]["ip"], "10.0.0.3");
        assert!(s9090.get("notReadyAddresses").is_none());

        let published = desired_subsets(&svc(true), &pods);
        let s8080 = published
            .iter()
            .find(|s| s["ports"][0]["port"] == 8080)
            .unwrap();
        assert_eq!(s8080["addresses"].as_array().unwrap().len(), 2);
        assert_eq!(s8080["addresses"][0]["ip"], "10.0.0.1", "sorted by IP");
    }

    #[test]
    fn terminating_terminal_and_ipless_pods_are_left_out() {
        let mut deleting = (*pod("d", "10.0.0.4", true, 8080)).clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        let mut done = (*pod("e", "10.0.0.5", false, 8080)).clone();
        done["status"]["phase"] = json!("Succeeded");
        let mut no_ip = (*pod("f", "", false, 8080)).clone();
        no_ip["status"] = json!({"phase": "Pending"});
        let pods = vec![Arc::new(deleting.clone()), Arc::new(done), Arc::new(no_ip)];
        assert!(desired_subsets(&svc(false), &pods).is_empty());
        // publishNotReadyAddresses keeps terminating pods.
        assert_eq!(
            desired_subsets(&svc(true), &[Arc::new(deleting)])[0]["addresses"][0]["ip"],
            "10.0.0.4"
        );
    }

    #[test]
    fn hostname_needs_the_subdomain_of_the_service() {
        let mut p = (*pod("a", "10.0.0.2", true, 8080)).clone();
        p["spec"]["hostname"] = json!("a-host");
        assert!(!should_set_hostname(&p, &svc(false)));
        p["spec"]["subdomain"] = json!("web");
        assert!(should_set_hostname(&p, &svc(false)));
        let subsets = desired_subsets(&svc(false), &[Arc::new(p)]);
        assert_eq!(subsets[0]["addresses"][0]["hostname"], "a-host");
    }

    #[test]
    fn trigger_time_is_the_earliest_unseen_change() {
        let t = TriggerTimeTracker::default();
        let s = svc(false);
        let pods = vec![pod("a", "10.0.0.2", true, 8080)];
        // A new Service: its creation time.
        assert_eq!(
            t.compute(&s, &pods).map(format_trigger_time).as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        // Nothing new: no trigger.
        assert_eq!(t.compute(&s, &pods), None);
        let mut changed = (*pods[0]).clone();
        changed["status"]["conditions"][0]["lastTransitionTime"] = json!("2024-01-02T03:04:05Z");
        assert_eq!(
            t.compute(&s, &[Arc::new(changed)])
                .map(format_trigger_time)
                .as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
    }

    #[test]
    fn truncation_keeps_ready_addresses_first() {
        let addrs: Vec<Value> = (0..1200)
            .map(|i| json!({"ip": format!("10.1.{}.{}", i / 250, i % 250)}))
            .collect();
        let mut subsets =
            vec![json!({"addresses": addrs, "notReadyAddresses": [{"ip": "10.9.9.9"}]})];
        assert!(truncate_endpoints(&mut subsets));
        assert_eq!(
            subsets[0]["addresses"].as_array().unwrap().len(),
            MAX_CAPACITY
        );
        assert!(subsets[0].get("notReadyAddresses").is_none());
    }
}
