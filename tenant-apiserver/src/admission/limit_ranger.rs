//! LimitRanger: a namespace's LimitRanges default the resources of containers that set none,
//! and refuse pods (and PVCs) outside their bounds, with kube-apiserver's messages.
//!
//! As upstream, the mutating half runs on pod creates only (containers cannot change later) and
//! writes the `kubernetes.io/limit-ranger` annotation; the validating half checks pod creates
//! and PVC creates and updates (a PVC request the update leaves unchanged is not checked again).
//! Objects being deleted are left alone.

use serde_json::{Map, Value, json};
use warren_apimachinery::error::ApiError;

use super::quota::{ResourceList, forbidden, object_name, pod_resources, resource_list};
use super::{Operation, Request};
use crate::handlers::plain_store_error;
use crate::object::{self, decode_stored};
use crate::server::ApiServer;

const ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// Whether LimitRanger looks at this write (`SupportsAttributes` and the deletion check).
fn supports(req: &Request<'_>) -> bool {
    if req.subresource.is_some() || req.operation == Operation::Delete {
        return false;
    }
    if req.old.is_some_and(object::is_deleting) {
        return false;
    }
    if req.is("", "pods") {
        return req.operation == Operation::Create;
    }
    req.is("", "persistentvolumeclaims")
}

/// The LimitRanges of `ns`, with `SetDefaults_LimitRangeItem` applied to each item (a Container
/// item's `default` from `max`, `defaultRequest` from `default` and then `min`).
async fn limit_ranges(api: &ApiServer, ns: &str) -> Result<Vec<Value>, ApiError> {
    let Some(info) = api.registry.lookup("", "v1", "limitranges") else {
        return Ok(Vec::new());
    };
    let res = api
        .store
        .range(&info.namespace_prefix(Some(ns)), "", 0, None)
        .await
        .map_err(plain_store_error)?;
    Ok(res
        .kvs
        .iter()
        .map(|kv| {
            let mut lr = decode_stored(&kv.value, kv.mod_revision);
            if let Some(items) = lr.pointer_mut("/spec/limits").and_then(Value::as_array_mut) {
                items.iter_mut().for_each(default_item);
            }
            lr
        })
        .collect())
}

fn default_item(item: &mut Value) {
    let Some(item) = item.as_object_mut() else {
        return;
    };
    if item.get("type").and_then(Value::as_str) != Some("Container") {
        return;
    }
    let copy_missing = |item: &mut Map<String, Value>, from: &str, to: &str| {
        let source = item.get(from).and_then(Value::as_object).cloned();
        let target = item.entry(to).or_insert_with(|| json!({}));
        if let (Some(source), Some(target)) = (source, target.as_object_mut()) {
            for (k, v) in source {
                target.entry(k).or_insert(v);
            }
        }
    };
    copy_missing(item, "max", "default");
    copy_missing(item, "default", "defaultRequest");
    copy_missing(item, "min", "defaultRequest");
}

fn items(limit_range: &Value) -> impl Iterator<Item = &Value> {
    limit_range
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn item_type(item: &Value) -> &str {
    item.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Fills default requests and limits of pod containers.
pub async fn admit(api: &ApiServer, req: &Request<'_>, obj: &mut Value) -> Result<(), ApiError> {
    if !supports(req) || !req.is("", "pods") {
        return Ok(());
    }
    let Some(ns) = req.namespace else {
        return Ok(());
    };
    let mut changed = false;
    for lr in limit_ranges(api, ns).await? {
        changed |= default_pod_resources(&lr, obj);
    }
    if changed {
        // The QoS class is decided after admission (the second defaulting pass sets it again).
        if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
            status.remove("qosClass");
        }
    }
    Ok(())
}

/// `PodMutateLimitFunc`: one LimitRange's container defaults merged into every container and
/// init container; the annotation lists what was set. Returns whether anything was set.
fn default_pod_resources(limit_range: &Value, pod: &mut Value) -> bool {
    let mut default_requests = Map::new();
    let mut default_limits = Map::new();
    for item in items(limit_range).filter(|i| item_type(i) == "Container") {
        for (field, target) in [
            ("defaultRequest", &mut default_requests),
            ("default", &mut default_limits),
        ] {
            if let Some(m) = item.get(field).and_then(Value::as_object) {
                target.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
    let mut notes: Vec<String> = Vec::new();
    for (list, prefix) in [
        ("containers", "container"),
        ("initContainers", "init container"),
    ] {
        let Some(containers) = pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let resources = object_child(c, "resources");
            let set_limits = merge_missing(object_child(resources, "limits"), &default_limits);
            let set_requests =
                merge_missing(object_child(resources, "requests"), &default_requests);
            if !set_requests.is_empty() {
                notes.push(format!(
                    "{} request for {prefix} {name}",
                    set_requests.join(", ")
                ));
            }
            if !set_limits.is_empty() {
                notes.push(format!(
                    "{} limit for {prefix} {name}",
                    set_limits.join(", ")
                ));
            }
        }
    }
    if notes.is_empty() {
        return false;
    }
    if let Some(meta) = object::metadata_mut(pod) {
        let annotations = object_child(meta, "annotations");
        annotations.insert(
            ANNOTATION.into(),
            json!(format!("LimitRanger plugin set: {}", notes.join("; "))),
        );
    }
    true
}

fn object_child<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("just made an object")
}

/// Adds the defaults `target` lacks; returns their names, sorted.
fn merge_missing(target: &mut Map<String, Value>, defaults: &Map<String, Value>) -> Vec<String> {
    let mut set: Vec<String> = Vec::new();
    for (k, v) in defaults {
        if !target.contains_key(k) {
            target.insert(k.clone(), v.clone());
            set.push(k.clone());
        }
    }
    set.sort();
    set
}

/// Refuses objects outside the LimitRanges' min, max and maxLimitRequestRatio.
pub async fn validate(api: &ApiServer, req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    if !supports(req) {
        return Ok(());
    }
    let Some(ns) = req.namespace else {
        return Ok(());
    };
    for lr in limit_ranges(api, ns).await? {
        let errors = if req.is("", "pods") {
            validate_pod(&lr, obj)
        } else {
            validate_pvc(&lr, obj, req.old)
        };
        match errors.len() {
            0 => {}
            1 => return Err(forbidden(req.info, object_name(req, obj), &errors[0])),
            _ => {
                return Err(forbidden(
                    req.info,
                    object_name(req, obj),
                    format!("[{}]", errors.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

fn sorted_bounds(item: &Value, field: &str) -> ResourceList {
    resource_list(item.get(field))
}

/// `PodValidateLimitFunc` on create: Container items against every container and init
/// container, Pod items against the pod's total requests and limits.
fn validate_pod(limit_range: &Value, pod: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    for item in items(limit_range) {
        let kind = item_type(item);
        let mins = sorted_bounds(item, "min");
        let maxes = sorted_bounds(item, "max");
        let ratios = sorted_bounds(item, "maxLimitRequestRatio");
        let mut check = |requests: &ResourceList, limits: &ResourceList| {
            for (name, bound) in &mins {
                errors.extend(min_constraint(kind, name, bound, requests, limits));
            }
            for (name, bound) in &maxes {
                errors.extend(max_constraint(kind, name, bound, requests, limits));
            }
            for (name, bound) in &ratios {
                errors.extend(ratio_constraint(kind, name, bound, requests, limits));
            }
        };
        match kind {
            "Container" => {
                for list in ["containers", "initContainers"] {
                    for c in spec
                        .get(list)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        check(
                            &resource_list(c.pointer("/resources/requests")),
                            &resource_list(c.pointer("/resources/limits")),
                        );
                    }
                }
            }
            "Pod" => check(
                &pod_resources(pod, "requests", false),
                &pod_resources(pod, "limits", false),
            ),
            _ => {}
        }
    }
    errors
}

/// `PersistentVolumeClaimValidateLimitFunc`: min and max of the storage request; a request an
/// update leaves unchanged is not checked again.
fn validate_pvc(limit_range: &Value, pvc: &Value, old: Option<&Value>) -> Vec<String> {
    let requests = resource_list(pvc.pointer("/spec/resources/requests"));
    let old_requests = resource_list(old.and_then(|o| o.pointer("/spec/resources/requests")));
    let unchanged = |name: &str| matches!((requests.get(name), old_requests.get(name)), (Some(a), Some(b)) if a == b);
    let mut errors = Vec::new();
    for item in items(limit_range).filter(|i| item_type(i) == "PersistentVolumeClaim") {
        for (name, bound) in &sorted_bounds(item, "min") {
            if !unchanged(name) {
                errors.extend(min_constraint(
                    "PersistentVolumeClaim",
                    name,
                    bound,
                    &requests,
                    &ResourceList::new(),
                ));
            }
        }
        for (name, bound) in &sorted_bounds(item, "max") {
            if unchanged(name) {
                continue;
            }
            match requests.get(name) {
                None => errors.push(format!(
                    "maximum {name} usage per PersistentVolumeClaim is {bound}.  No request is specified"
                )),
                Some(req) if req > bound => errors.push(format!(
                    "maximum {name} usage per PersistentVolumeClaim is {bound}, but request is {req}"
                )),
                Some(_) => {}
            }
        }
    }
    errors
}

type Q = super::quota::Quantity;

fn min_constraint(
    kind: &str,
    name: &str,
    bound: &Q,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let Some(req) = requests.get(name) else {
        return Some(format!(
            "minimum {name} usage per {kind} is {bound}.  No request is specified"
        ));
    };
    if bound > req {
        return Some(format!(
            "minimum {name} usage per {kind} is {bound}, but request is {req}"
        ));
    }
    match limits.get(name) {
        Some(lim) if bound > lim => Some(format!(
            "minimum {name} usage per {kind} is {bound}, but limit is {lim}"
        )),
        _ => None,
    }
}

fn max_constraint(
    kind: &str,
    name: &str,
    bound: &Q,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let Some(lim) = limits.get(name) else {
        return Some(format!(
            "maximum {name} usage per {kind} is {bound}.  No limit is specified"
        ));
    };
    if lim > bound {
        return Some(format!(
            "maximum {name} usage per {kind} is {bound}, but limit is {lim}"
        ));
    }
    match requests.get(name) {
        Some(req) if req > bound => Some(format!(
            "maximum {name} usage per {kind} is {bound}, but request is {req}"
        )),
        _ => None,
    }
}

fn ratio_constraint(
    kind: &str,
    name: &str,
    bound: &Q,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let req = requests.get(name).filter(|q| !q.is_zero());
    let Some(req) = req else {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {bound}, but no request is specified or request is 0"
        ));
    };
    let lim = limits.get(name).filter(|q| !q.is_zero());
    let Some(lim) = lim else {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {bound}, but no limit is specified or limit is 0"
        ));
    };
    let (l, r, b) = (lim.nanos().abs(), req.nanos().abs(), bound.nanos());
    // limit > request × ratio, in nano units on both sides (limit × 10⁹ > request × ratio).
    let exceeds = match (l.checked_mul(1_000_000_000), r.checked_mul(b)) {
        (Some(lhs), Some(rhs)) => lhs > rhs,
        _ => (l as f64) > (r as f64) * (b as f64) / 1e9,
    };
    if !exceeds {
        return None;
    }
    Some(format!(
        "{name} max limit to request ratio per {kind} is {bound}, but provided ratio is {}",
        ratio_string(l, r)
    ))
}

/// `limit / request` to six decimals, rounded half to even (`inf.Dec.QuoRound`).
fn ratio_string(limit: i128, request: i128) -> String {
    let scaled = limit.checked_mul(1_000_000).map(|n| {
        let (q, rem) = (n / request, n % request);
        let twice = rem * 2;
        if twice > request || (twice == request && q % 2 == 1) {
            q + 1
        } else {
            q
        }
    });
    match scaled {
        Some(v) => format!("{}.{:06}", v / 1_000_000, v % 1_000_000),
        None => format!("{:.6}", limit as f64 / request as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lr(limits: Value) -> Value {
        let mut v = json!({"metadata": {"name": "lr"}, "spec": {"limits": limits}});
        if let Some(items) = v.pointer_mut("/spec/limits").and_then(Value::as_array_mut) {
            items.iter_mut().for_each(default_item);
        }
        v
    }

    #[test]
    fn defaults_fill_containers_and_annotate() {
        let range = lr(json!([{"type": "Container",
            "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]));
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
        assert!(default_pod_resources(&range, &mut pod));
        assert_eq!(
            pod.pointer("/metadata/annotations/kubernetes.io~1limit-ranger"),
            Some(&json!(
                "LimitRanger plugin set: cpu, memory request for container nginx; cpu, memory limit for container nginx"
            ))
        );
        assert_eq!(
            pod.pointer("/spec/containers/0/resources"),
            Some(
                &json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
            )
        );
    }

    #[test]
    fn max_alone_defaults_limits_and_requests() {
        let range = lr(json!([{"type": "Container", "max": {"cpu": "1"}}]));
        let mut pod = json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "200m"}}}]}});
        assert!(default_pod_resources(&range, &mut pod));
        assert_eq!(
            pod.pointer("/spec/containers/0/resources"),
            Some(&json!({"requests": {"cpu": "200m"}, "limits": {"cpu": "1"}}))
        );
    }

    #[test]
    fn bounds_are_checked_with_upstream_messages() {
        let range = lr(json!([{"type": "Container",
            "min": {"cpu": "100m"}, "max": {"memory": "1Gi"}, "maxLimitRequestRatio": {"cpu": "2"}}]));
        let pod = json!({"spec": {"containers": [{"name": "c", "resources": {
            "requests": {"cpu": "50m", "memory": "512Mi"},
            "limits": {"cpu": "200m", "memory": "2Gi"}}}]}});
        assert_eq!(
            validate_pod(&range, &pod),
            vec![
                "minimum cpu usage per Container is 100m, but request is 50m".to_string(),
                "maximum memory usage per Container is 1Gi, but limit is 2Gi".to_string(),
                "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"
                    .to_string(),
            ]
        );
        let pod_range = lr(json!([{"type": "Pod", "max": {"cpu": "300m"}}]));
        let two = json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "200m"}, "limits": {"cpu": "200m"}}},
            {"name": "b", "resources": {"requests": {"cpu": "200m"}, "limits": {"cpu": "200m"}}}]}});
        assert_eq!(
            validate_pod(&pod_range, &two),
            vec!["maximum cpu usage per Pod is 300m, but limit is 400m".to_string()]
        );
    }

    #[test]
    fn pvc_storage_bounds() {
        let range = lr(
            json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}}]),
        );
        let pvc = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        assert_eq!(
            validate_pvc(&range, &pvc("5Gi"), None),
            vec![
                "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"
                    .to_string()
            ]
        );
        assert_eq!(
            validate_pvc(&range, &pvc("500Mi"), None),
            vec![
                "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
                    .to_string()
            ]
        );
        assert!(validate_pvc(&range, &pvc("5Gi"), Some(&pvc("5Gi"))).is_empty());
    }

    #[test]
    fn ratios_round_half_even() {
        assert_eq!(ratio_string(4, 1), "4.000000");
        assert_eq!(ratio_string(2, 3), "0.666667");
    }
}
