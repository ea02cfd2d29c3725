//! Pod specs: defaults, validation, the QoS class and the rule of what a pod update may change.
//! Shared by Pods and by every kind that embeds a pod template.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{array_of, child, is_unset, set_default, str_of};
use crate::error::FieldError;
use crate::validation::{
    self, duplicate, invalid_unquoted, is_dns1123_label, is_valid_port_name, is_valid_port_num,
};

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const CONTAINER_LISTS: &[&str] = &["initContainers", "containers", "ephemeralContainers"];
/// The default permission bits of secret, configMap, downwardAPI and projected volumes (0644).
const DEFAULT_MODE: i64 = 420;

// ---------------------------------------------------------------------------------------------
// Defaults.

/// `SetDefaults_PodSpec` and the defaults of everything inside a pod spec (containers, ports,
/// probes, volumes, field references).
pub(crate) fn default_pod_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    // v1 conversion: the deprecated `serviceAccount` mirrors `serviceAccountName`.
    let sa_name = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| spec.get("serviceAccount").and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    if !sa_name.is_empty() {
        spec.insert("serviceAccountName".into(), json!(sa_name));
        spec.insert("serviceAccount".into(), json!(sa_name));
    }
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in CONTAINER_LISTS {
        if let Some(containers) = spec.get_mut(*list).and_then(Value::as_array_mut) {
            for c in containers.iter_mut().filter_map(Value::as_object_mut) {
                default_container(c, host_network && *list != "ephemeralContainers");
            }
        }
    }
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in volumes.iter_mut().filter_map(Value::as_object_mut) {
            default_volume(v);
        }
    }
}

/// The pull policy kube picks for an image: `Always` when the tag is `latest` or missing (and
/// no digest pins it), `IfNotPresent` otherwise.
pub(crate) fn default_pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = match last.split_once(':') {
        Some((_, t)) => t,
        None if digest => "",
        None => "latest",
    };
    if tag == "latest" {
        "Always"
    } else {
        "IfNotPresent"
    }
}

fn default_container(c: &mut Map<String, Value>, host_network: bool) {
    if c.get("imagePullPolicy")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = default_pull_policy(image);
        c.insert("imagePullPolicy".into(), json!(policy));
    }
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    set_default(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
            if host_network
                && p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                && let Some(cp) = p.get("containerPort").cloned()
            {
                p.insert("hostPort".into(), cp);
            }
        }
    }
    if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
        for e in env.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(field_ref) = e
                .get_mut("valueFrom")
                .and_then(|v| v.get_mut("fieldRef"))
                .and_then(Value::as_object_mut)
            {
                set_default(field_ref, "apiVersion", json!("v1"));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            set_default(p, "timeoutSeconds", json!(1));
            set_default(p, "periodSeconds", json!(10));
            set_default(p, "successThreshold", json!(1));
            set_default(p, "failureThreshold", json!(3));
            default_http_get(p);
        }
    }
    if let Some(lifecycle) = c.get_mut("lifecycle").and_then(Value::as_object_mut) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = lifecycle.get_mut(hook).and_then(Value::as_object_mut) {
                default_http_get(h);
            }
        }
    }
}

fn default_http_get(handler: &mut Map<String, Value>) {
    if let Some(get) = handler.get_mut("httpGet").and_then(Value::as_object_mut) {
        if get
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            get.insert("path".into(), json!("/"));
        }
        set_default(get, "scheme", json!("HTTP"));
    }
}

fn default_volume(v: &mut Map<String, Value>) {
    if v.keys().all(|k| k == "name") {
        v.insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = v.get_mut(source).and_then(Value::as_object_mut) {
            set_default(s, "defaultMode", json!(DEFAULT_MODE));
        }
    }
    let field_refs = |items: &mut Value| {
        for item in items.as_array_mut().into_iter().flatten() {
            if let Some(f) = item.get_mut("fieldRef").and_then(Value::as_object_mut) {
                set_default(f, "apiVersion", json!("v1"));
            }
        }
    };
    if let Some(items) = v.get_mut("downwardAPI").and_then(|d| d.get_mut("items")) {
        field_refs(items);
    }
    if let Some(sources) = v
        .get_mut("projected")
        .and_then(|p| p.get_mut("sources"))
        .and_then(Value::as_array_mut)
    {
        for s in sources {
            if let Some(token) = s
                .get_mut("serviceAccountToken")
                .and_then(Value::as_object_mut)
            {
                set_default(token, "expirationSeconds", json!(3600));
            }
            if let Some(items) = s.get_mut("downwardAPI").and_then(|d| d.get_mut("items")) {
                field_refs(items);
            }
        }
    }
}

/// A pod template (`spec.template` of a workload): pod-spec defaults on `template.spec`.
pub(crate) fn default_template(template: Option<&mut Value>) {
    if let Some(t) = template.and_then(Value::as_object_mut) {
        default_pod_spec(child(t, "spec"));
    }
}

/// A Pod: `SetDefaults_Pod` and `SetDefaults_PodSpec`, the admission defaults every real
/// cluster applies (service account `default`, priority), and on create the status a new pod
/// starts with (`Pending`, with its QoS class).
pub(crate) fn default_pod(obj: &mut Map<String, Value>) {
    let spec = child(obj, "spec");
    default_pod_spec(spec);
    for list in ["containers", "initContainers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            requests_from_limits(c);
        }
    }
    set_default(spec, "enableServiceLinks", json!(true));
    // ServiceAccount admission.
    if spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        spec.insert("serviceAccountName".into(), json!("default"));
        spec.insert("serviceAccount".into(), json!("default"));
    }
    // Priority admission, for the classes every cluster has.
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let priority = match class {
        "" => Some(0),
        "system-cluster-critical" => Some(2_000_000_000),
        "system-node-critical" => Some(2_000_001_000),
        _ => None,
    };
    if let Some(p) = priority {
        set_default(spec, "priority", json!(p));
    }
    if priority.is_some() || spec.contains_key("priority") {
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    let qos = qos_class(&Value::Object(spec.clone()));
    match obj.get_mut("status").and_then(Value::as_object_mut) {
        Some(status) => set_default(status, "qosClass", json!(qos)),
        None => {
            obj.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": qos}),
            );
        }
    }
}

fn requests_from_limits(c: &mut Map<String, Value>) {
    let resources = child(c, "resources");
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let requests = child(resources, "requests");
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

/// Parses a resource quantity (`100m`, `1.5Gi`, `2e3`) into a number; `None` if malformed.
pub(crate) fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || ((*c == '+' || *c == '-') && *i == 0)))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(end);
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * multiplier)
}

/// `GetPodQOS`: `Guaranteed` when every container limits cpu and memory and requests equal
/// limits, `BestEffort` when nothing requests or limits cpu or memory, `Burstable` otherwise.
pub(crate) fn qos_class(spec: &Value) -> &'static str {
    let mut requests: BTreeMap<&str, f64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, f64> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = array_of(spec, "containers")
        .iter()
        .chain(array_of(spec, "initContainers"));
    for c in containers {
        let resources = c.get("resources");
        let amounts = |kind: &str| -> Vec<(&'static str, f64)> {
            ["cpu", "memory"]
                .into_iter()
                .filter_map(|name| {
                    let q = resources?.get(kind)?.get(name)?;
                    let text = q.as_str().map(str::to_string).unwrap_or(q.to_string());
                    parse_quantity(&text)
                        .filter(|v| *v > 0.0)
                        .map(|v| (name, v))
                })
                .collect()
        };
        for (name, v) in amounts("requests") {
            *requests.entry(name).or_default() += v;
        }
        let found = amounts("limits");
        if found.len() < 2 {
            guaranteed = false;
        }
        for (name, v) in found {
            *limits.entry(name).or_default() += v;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let equal = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    if guaranteed
        && requests.len() == limits.len()
        && requests
            .iter()
            .all(|(k, r)| limits.get(k).is_some_and(|l| equal(*l, *r)))
    {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

fn one_of(v: &Value, key: &str, path: &str, supported: &[&str], errs: &mut Vec<FieldError>) {
    let value = str_of(v, key);
    if value.is_empty() {
        errs.push(FieldError::required(format!("{path}.{key}"), ""));
    } else if !supported.contains(&value) {
        errs.push(FieldError::not_supported(
            format!("{path}.{key}"),
            value,
            supported,
        ));
    }
}

/// `ValidatePodSpec`, the parts kubectl users and controllers meet: volumes, containers (names,
/// images, ports, pull policy), restart and DNS policy, active deadline.
pub(crate) fn validate_pod_spec(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let mut volume_names = BTreeSet::new();
    for (i, v) in array_of(spec, "volumes").iter().enumerate() {
        let name_path = format!("{path}.volumes[{i}].name");
        let name = str_of(v, "name");
        if name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else {
            for msg in is_dns1123_label(name) {
                errs.push(FieldError::invalid(&name_path, name, msg));
            }
        }
        if !volume_names.insert(name) {
            errs.push(duplicate(&name_path, name));
        }
    }
    let containers = array_of(spec, "containers");
    let mut names = BTreeSet::new();
    if containers.is_empty() {
        errs.push(FieldError::required(format!("{path}.containers"), ""));
    }
    for (i, c) in containers.iter().enumerate() {
        validate_container(c, &format!("{path}.containers[{i}]"), &mut names, errs);
    }
    for (i, c) in array_of(spec, "initContainers").iter().enumerate() {
        validate_container(c, &format!("{path}.initContainers[{i}]"), &mut names, errs);
    }
    one_of(
        spec,
        "restartPolicy",
        path,
        &["Always", "OnFailure", "Never"],
        errs,
    );
    one_of(
        spec,
        "dnsPolicy",
        path,
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        errs,
    );
    if str_of(spec, "dnsPolicy") == "None" && is_unset(spec, "dnsConfig") {
        errs.push(FieldError::required(
            format!("{path}.dnsConfig"),
            "must provide `dnsConfig` when `dnsPolicy` is None",
        ));
    }
    if let Some(deadline) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=i64::from(i32::MAX)).contains(&deadline)
    {
        errs.push(invalid_unquoted(
            format!("{path}.activeDeadlineSeconds"),
            &deadline.to_string(),
            &validation::inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }
}

fn validate_container<'a>(
    c: &'a Value,
    path: &str,
    names: &mut BTreeSet<&'a str>,
    errs: &mut Vec<FieldError>,
) {
    let name = str_of(c, "name");
    let name_path = format!("{path}.name");
    if name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        for msg in is_dns1123_label(name) {
            errs.push(FieldError::invalid(&name_path, name, msg));
        }
    }
    if !names.insert(name) {
        errs.push(duplicate(&name_path, name));
    }
    let image = str_of(c, "image");
    if image.is_empty() {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    } else if image.trim() != image {
        errs.push(FieldError::invalid(
            format!("{path}.image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    let mut port_names = BTreeSet::new();
    for (i, p) in array_of(c, "ports").iter().enumerate() {
        let port_path = format!("{path}.ports[{i}]");
        let port_name = str_of(p, "name");
        if !port_name.is_empty() {
            let msgs = is_valid_port_name(port_name);
            if !msgs.is_empty() {
                for msg in msgs {
                    errs.push(FieldError::invalid(
                        format!("{port_path}.name"),
                        port_name,
                        msg,
                    ));
                }
            } else if !port_names.insert(port_name) {
                errs.push(duplicate(format!("{port_path}.name"), port_name));
            }
        }
        let container_port = p.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
        if container_port == 0 {
            errs.push(FieldError::required(
                format!("{port_path}.containerPort"),
                "",
            ));
        } else {
            for msg in is_valid_port_num(container_port) {
                errs.push(invalid_unquoted(
                    format!("{port_path}.containerPort"),
                    &container_port.to_string(),
                    &msg,
                ));
            }
        }
        let host_port = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if host_port != 0 {
            for msg in is_valid_port_num(host_port) {
                errs.push(invalid_unquoted(
                    format!("{port_path}.hostPort"),
                    &host_port.to_string(),
                    &msg,
                ));
            }
        }
        one_of(p, "protocol", &port_path, PROTOCOLS, errs);
    }
    for (i, e) in array_of(c, "env").iter().enumerate() {
        if str_of(e, "name").is_empty() {
            errs.push(FieldError::required(format!("{path}.env[{i}].name"), ""));
        }
    }
    one_of(
        c,
        "imagePullPolicy",
        path,
        &["Always", "IfNotPresent", "Never"],
        errs,
    );
}

/// A pod template: the labels and annotations of `template.metadata`, then the pod spec.
pub(crate) fn validate_template(template: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(template) = template.filter(|t| t.is_object()) else {
        errs.push(FieldError::required(path, ""));
        return;
    };
    errs.extend(validation::validate_template_meta(
        template.get("metadata"),
        &format!("{path}.metadata"),
    ));
    let empty = json!({});
    validate_pod_spec(
        template.get("spec").unwrap_or(&empty),
        &format!("{path}.spec"),
        errs,
    );
}

/// The fields of a running pod's spec that an update may change.
pub(crate) const POD_UPDATABLE_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidatePodUpdate`'s rule on the spec: after taking from the new spec what may change
/// (images, the active deadline, added tolerations, removed scheduling gates, a grace period
/// going from negative to 1), the spec must equal the old one. Both sides are defaulted first,
/// as kube-apiserver defaults what it reads from storage.
pub(crate) fn validate_pod_update(new: &Value, old: &Value, errs: &mut Vec<FieldError>) {
    let defaulted = |v: &Value| {
        let mut pod = v.clone();
        if let Some(m) = pod.as_object_mut() {
            default_pod(m);
        }
        pod.get("spec").cloned().unwrap_or(json!({}))
    };
    let new_spec = defaulted(new);
    let mut allowed = defaulted(old);
    let Some(allowed_map) = allowed.as_object_mut() else {
        return;
    };
    for list in ["containers", "initContainers"] {
        let new_list = array_of(&new_spec, list);
        if let Some(old_list) = allowed_map.get_mut(list).and_then(Value::as_array_mut)
            && old_list.len() == new_list.len()
        {
            for (o, n) in old_list.iter_mut().zip(new_list) {
                if let (Some(o), Some(image)) = (o.as_object_mut(), n.get("image")) {
                    o.insert("image".into(), image.clone());
                }
            }
        }
    }
    // Ephemeral containers change through their own subresource.
    match new_spec.get("ephemeralContainers") {
        Some(e) => allowed_map.insert("ephemeralContainers".into(), e.clone()),
        None => allowed_map.remove("ephemeralContainers"),
    };
    if let Some(d) = new_spec.get("activeDeadlineSeconds") {
        allowed_map.insert("activeDeadlineSeconds".into(), d.clone());
    }
    let old_tolerations = array_of(old.get("spec").unwrap_or(&Value::Null), "tolerations");
    let new_tolerations = array_of(&new_spec, "tolerations");
    if old_tolerations.iter().all(|t| new_tolerations.contains(t)) {
        match new_spec.get("tolerations") {
            Some(t) => allowed_map.insert("tolerations".into(), t.clone()),
            None => allowed_map.remove("tolerations"),
        };
    }
    let old_gates = array_of(&Value::Object(allowed_map.clone()), "schedulingGates").to_vec();
    if array_of(&new_spec, "schedulingGates")
        .iter()
        .all(|g| old_gates.contains(g))
    {
        match new_spec.get("schedulingGates") {
            Some(g) => allowed_map.insert("schedulingGates".into(), g.clone()),
            None => allowed_map.remove("schedulingGates"),
        };
    }
    let old_grace = allowed_map
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    let new_grace = new_spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    if old_grace.is_some_and(|g| g < 0) && new_grace == Some(1) {
        allowed_map.insert("terminationGracePeriodSeconds".into(), json!(1));
    }
    if allowed != new_spec {
        errs.push(FieldError::forbidden(
            "spec",
            format!(
                "pod updates may not change fields other than {POD_UPDATABLE_FIELDS}\n{}",
                spec_diff(&allowed, &new_spec)
            ),
        ));
    }
}

/// A short diff of two pod specs in the spirit of the `cmp.Diff` kube appends: one `-`/`+`
/// pair per changed top-level field, named as the Go struct field.
fn spec_diff(old: &Value, new: &Value) -> String {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = String::from("  core.PodSpec{\n");
    for k in keys {
        let (o, n) = (old.get(k), new.get(k));
        if o == n {
            continue;
        }
        let go_name = go_field_name(k);
        let show = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_else(|| "nil".into());
        out.push_str(&format!("- \t{go_name}: {},\n", show(o)));
        out.push_str(&format!("+ \t{go_name}: {},\n", show(n)));
    }
    out.push_str("  }\n");
    out
}

fn go_field_name(json_name: &str) -> String {
    let mut chars = json_name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(default_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(
            default_pull_policy("localhost:5000/nginx:v1"),
            "IfNotPresent"
        );
        assert_eq!(default_pull_policy("nginx@sha256:abcd"), "IfNotPresent");
        assert_eq!(default_pull_policy("nginx:latest@sha256:abcd"), "Always");
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("100m"), Some(0.1));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("1E"), Some(1e18));
        assert_eq!(parse_quantity("1.5k"), Some(1500.0));
        assert_eq!(parse_quantity("abc"), None);
    }

    #[test]
    fn qos_classes() {
        let c = |resources: Value| json!({"containers": [{"name": "a", "resources": resources}]});
        assert_eq!(qos_class(&c(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&c(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
        assert_eq!(
            qos_class(&c(json!({
                "limits": {"cpu": "1", "memory": "1Gi"},
                "requests": {"cpu": "1000m", "memory": "1Gi"}
            }))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&c(json!({
                "limits": {"cpu": "1", "memory": "1Gi"},
                "requests": {"cpu": "500m", "memory": "1Gi"}
            }))),
            "Burstable"
        );
        assert_eq!(
            qos_class(&c(json!({"requests": {"ephemeral-storage": "1Gi"}}))),
            "BestEffort"
        );
    }
}
