//! ResourceQuota: object counts and compute requests/limits per namespace, charged at admission
//! and recalculated by the quota controller.
//!
//! Admission (kube-apiserver's `ResourceQuota` plugin): for a create (or an update that can change
//! usage) in a namespace with quotas, the object's usage is measured by the evaluator of its
//! resource (pods, services, persistentvolumeclaims, or a plain object count), checked against
//! every matching quota's `status.hard`, and — unless this is a dry run — added to
//! `status.used` with a compare-and-swap write of each quota, retried on conflict, so that
//! concurrent creates cannot both take the last unit.
//!
//! The quota controller (kube-controller-manager's `resourcequota` controller) sets
//! `status.hard` from `spec.hard` and recomputes `status.used` from the store, on every event in
//! a namespace and periodically, so that deletions and terminal pods free quota.
//!
//! Charges in flight (admitted, not yet in the store) are remembered per process so that the
//! controller's recount cannot lose them; a per-namespace lock orders a charge and a recount.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use warren_apimachinery::error::{ApiError, qualified_resource};
use warren_apimachinery::registry::ResourceInfo;
use warren_store::{KeyValue, StoreError};

use super::{Operation, Request};
use crate::handlers::plain_store_error;
use crate::object::{self, decode_stored, encode_for_store};
use crate::server::ApiServer;

pub use quantity::{Format, Quantity};

/// Resource names and amounts (`ResourceList`), ordered by name as kube prints them.
pub type ResourceList = BTreeMap<String, Quantity>;

/// Kubernetes resource quantities (`k8s.io/apimachinery/pkg/api/resource.Quantity`): parsing,
/// exact comparison and arithmetic (in nano units), and the canonical form kube prints.
pub mod quantity {
    use std::cmp::Ordering;
    use std::fmt;

    const NANO: i128 = 1_000_000_000;

    /// How a quantity prints (the format of the text it was parsed from).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Format {
        /// Decimal SI suffixes (`m`, `k`, `M`...), or none.
        DecimalSi,
        /// Binary SI suffixes (`Ki`, `Mi`...).
        BinarySi,
        /// A decimal exponent (`1e3`).
        DecimalExponent,
    }

    /// A quantity: an exact value in nano units and the format it prints in.
    #[derive(Clone, Copy, Debug)]
    pub struct Quantity {
        nanos: i128,
        format: Format,
    }

    impl PartialEq for Quantity {
        fn eq(&self, other: &Self) -> bool {
            self.nanos == other.nanos
        }
    }
    impl Eq for Quantity {}
    impl PartialOrd for Quantity {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Quantity {
        fn cmp(&self, other: &Self) -> Ordering {
            self.nanos.cmp(&other.nanos)
        }
    }

    fn pow10(e: u32) -> Option<i128> {
        10i128.checked_pow(e)
    }

    impl Quantity {
        /// Zero, printed as `0`.
        pub const ZERO: Quantity = Quantity {
            nanos: 0,
            format: Format::DecimalSi,
        };

        /// An integer count (`DecimalSI`).
        pub fn from_count(n: i64) -> Quantity {
            Quantity {
                nanos: i128::from(n) * NANO,
                format: Format::DecimalSi,
            }
        }

        /// Parses `100m`, `1Gi`, `1e3`, `0.5`, `1.5Gi`; `None` if malformed or out of range.
        /// Precision below one nano unit is rounded up, as kube does.
        pub fn parse(s: &str) -> Option<Quantity> {
            let s = s.trim();
            let (negative, rest) = match s.as_bytes().first()? {
                b'-' => (true, &s[1..]),
                b'+' => (false, &s[1..]),
                _ => (false, s),
            };
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (number, suffix) = rest.split_at(end);
            let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
            if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
                return None;
            }
            let digits = format!("{int_part}{frac_part}");
            let digits = digits.trim_start_matches('0');
            if digits.len() > 36 {
                return None;
            }
            let mantissa: i128 = if digits.is_empty() {
                0
            } else {
                digits.parse().ok()?
            };
            let (format, multiplier, exp10): (Format, i128, i32) = match suffix {
                "" => (Format::DecimalSi, 1, 0),
                "n" => (Format::DecimalSi, 1, -9),
                "u" => (Format::DecimalSi, 1, -6),
                "m" => (Format::DecimalSi, 1, -3),
                "k" => (Format::DecimalSi, 1, 3),
                "M" => (Format::DecimalSi, 1, 6),
                "G" => (Format::DecimalSi, 1, 9),
                "T" => (Format::DecimalSi, 1, 12),
                "P" => (Format::DecimalSi, 1, 15),
                "E" => (Format::DecimalSi, 1, 18),
                "Ki" => (Format::BinarySi, 1 << 10, 0),
                "Mi" => (Format::BinarySi, 1 << 20, 0),
                "Gi" => (Format::BinarySi, 1 << 30, 0),
                "Ti" => (Format::BinarySi, 1 << 40, 0),
                "Pi" => (Format::BinarySi, 1 << 50, 0),
                "Ei" => (Format::BinarySi, 1 << 60, 0),
                other if other.len() > 1 && (other.starts_with('e') || other.starts_with('E')) => {
                    let exp: i32 = other[1..].parse().ok()?;
                    if !(-100..=100).contains(&exp) {
                        return None;
                    }
                    (Format::DecimalExponent, 1, exp)
                }
                _ => return None,
            };
            let base = mantissa.checked_mul(multiplier)?;
            let e = exp10 + 9 - frac_part.len() as i32;
            let nanos = if e >= 0 {
                base.checked_mul(pow10(e as u32)?)?
            } else {
                match pow10((-e) as u32) {
                    Some(d) => base / d + i128::from(base % d != 0),
                    None => i128::from(base != 0),
                }
            };
            Some(Quantity {
                nanos: if negative { -nanos } else { nanos },
                format,
            })
        }

        /// The exact value in nano units.
        pub fn nanos(&self) -> i128 {
            self.nanos
        }

        /// Whether the value is zero.
        pub fn is_zero(&self) -> bool {
            self.nanos == 0
        }

        /// -1, 0 or 1.
        pub fn signum(&self) -> i128 {
            self.nanos.signum()
        }

        /// The sum; the format is this one's unless this is zero (as `Quantity.Add`).
        pub fn add(&self, other: &Quantity) -> Quantity {
            Quantity {
                nanos: self.nanos.saturating_add(other.nanos),
                format: if self.nanos == 0 {
                    other.format
                } else {
                    self.format
                },
            }
        }

        /// The difference, in this one's format.
        pub fn sub(&self, other: &Quantity) -> Quantity {
            Quantity {
                nanos: self.nanos.saturating_sub(other.nanos),
                format: self.format,
            }
        }
    }

    impl fmt::Display for Quantity {
        /// The canonical form (`Quantity.String()`): `500m`, `1536Mi`, `1k`, `1e3`.
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.nanos == 0 {
                return f.write_str("0");
            }
            let mut format = self.format;
            if format == Format::BinarySi
                && (self.nanos.abs() < 1024 * NANO || self.nanos % NANO != 0)
            {
                format = Format::DecimalSi;
            }
            if format == Format::BinarySi {
                let mut value = self.nanos / NANO;
                let mut times = 0;
                while times < 6 && value % 1024 == 0 {
                    value /= 1024;
                    times += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][times];
                return write!(f, "{value}{suffix}");
            }
            let mut mantissa = self.nanos;
            let mut exp: i32 = -9;
            while mantissa % 10 == 0 {
                mantissa /= 10;
                exp += 1;
            }
            let r = exp.rem_euclid(3);
            mantissa *= 10i128.pow(r as u32);
            exp -= r;
            let suffix = match (format, exp) {
                (_, 0) => String::new(),
                (Format::DecimalSi, -9) => "n".into(),
                (Format::DecimalSi, -6) => "u".into(),
                (Format::DecimalSi, -3) => "m".into(),
                (Format::DecimalSi, 3) => "k".into(),
                (Format::DecimalSi, 6) => "M".into(),
                (Format::DecimalSi, 9) => "G".into(),
                (Format::DecimalSi, 12) => "T".into(),
                (Format::DecimalSi, 15) => "P".into(),
                (Format::DecimalSi, 18) => "E".into(),
                (_, e) => format!("e{e}"),
            };
            write!(f, "{mantissa}{suffix}")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers of the admission plugins.

/// kube's `admission.NewForbidden`: 403 `pods "x" is forbidden: why`, with the name and
/// resource in `details`.
pub(crate) fn forbidden(info: &ResourceInfo, name: &str, why: impl std::fmt::Display) -> ApiError {
    let resource = qualified_resource(&info.group, &info.plural);
    let message = if name.is_empty() {
        format!("{resource} is forbidden: {why}")
    } else {
        format!("{resource} \"{name}\" is forbidden: {why}")
    };
    ApiError {
        code: 403,
        reason: "Forbidden",
        message,
        details: Some(json!({"name": name, "group": info.group, "kind": info.plural})),
    }
}

/// The name admission errors use: the object's name, else its generateName.
pub(crate) fn object_name<'a>(req: &'a Request<'_>, obj: &'a Value) -> &'a str {
    let name = object::name(obj);
    if !name.is_empty() {
        return name;
    }
    object::meta_str(obj, "generateName")
        .filter(|g| !g.is_empty())
        .unwrap_or(req.name)
}

/// A resource list (`{"cpu": "100m"}`) parsed; malformed amounts are skipped (validation
/// refuses them).
pub(crate) fn resource_list(v: Option<&Value>) -> ResourceList {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let q = match v {
                        Value::String(s) => Quantity::parse(s)?,
                        Value::Number(n) => Quantity::parse(&n.to_string())?,
                        _ => return None,
                    };
                    Some((k.clone(), q))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A resource list as JSON (canonical quantities).
fn resource_list_json(list: &ResourceList) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
            .collect::<Map<String, Value>>(),
    )
}

fn add_into(total: &mut ResourceList, add: &ResourceList) {
    for (k, v) in add {
        let sum = total.get(k).map_or(*v, |t| t.add(v));
        total.insert(k.clone(), sum);
    }
}

fn max_into(total: &mut ResourceList, other: &ResourceList) {
    for (k, v) in other {
        match total.get(k) {
            Some(t) if t >= v => {}
            _ => {
                total.insert(k.clone(), *v);
            }
        }
    }
}

fn containers<'a>(spec: &'a Value, list: &str) -> impl Iterator<Item = &'a Value> {
    spec.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Resources kube allows at pod level (`spec.resources`).
fn pod_level_resource(name: &str) -> bool {
    name == "cpu" || name == "memory" || name.starts_with("hugepages-")
}

/// A pod's effective requests or limits (`field`: `requests` or `limits`): the sum of its
/// containers and sidecars, at least the largest init container, pod-level resources
/// overriding; with `overhead`, `spec.overhead` added (as `PodRequests`/`PodLimits`).
pub(crate) fn pod_resources(pod: &Value, field: &str, overhead: bool) -> ResourceList {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let of = |c: &Value| resource_list(c.pointer(&format!("/resources/{field}")));
    let mut total = ResourceList::new();
    for c in containers(spec, "containers") {
        add_into(&mut total, &of(c));
    }
    let mut restartable = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in containers(spec, "initContainers") {
        let own = of(c);
        let effective = if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            add_into(&mut total, &own);
            add_into(&mut restartable, &own);
            restartable.clone()
        } else {
            let mut e = own;
            add_into(&mut e, &restartable);
            e
        };
        max_into(&mut init_max, &effective);
    }
    max_into(&mut total, &init_max);
    for (k, v) in resource_list(spec.pointer(&format!("/resources/{field}"))) {
        if pod_level_resource(&k) {
            total.insert(k, v);
        }
    }
    if overhead {
        let extra = resource_list(spec.get("overhead"));
        if field == "requests" {
            add_into(&mut total, &extra);
        } else {
            for (k, v) in extra {
                if let Some(t) = total.get(&k) {
                    let sum = t.add(&v);
                    total.insert(k, sum);
                }
            }
        }
    }
    total
}

// ---------------------------------------------------------------------------------------------
// Evaluators (pkg/quota/v1/evaluator/core and the generic object count evaluator).

/// How usage of one resource is measured.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Evaluator {
    Pods,
    Services,
    PersistentVolumeClaims,
    /// A plain object count: `count/<resource>[.<group>]`, and the legacy name if any.
    Count {
        count_name: String,
        legacy: Option<&'static str>,
    },
}

fn count_name(group: &str, plural: &str) -> String {
    if group.is_empty() {
        format!("count/{plural}")
    } else {
        format!("count/{plural}.{group}")
    }
}

const POD_RESOURCES: &[&str] = &[
    "count/pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];
const SERVICE_RESOURCES: &[&str] = &[
    "count/services",
    "services",
    "services.loadbalancers",
    "services.nodeports",
];
const PVC_RESOURCES: &[&str] = &[
    "count/persistentvolumeclaims",
    "persistentvolumeclaims",
    "requests.storage",
];
const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// A resource name kube treats as native (no domain, or a `kubernetes.io` one).
fn is_native_resource(name: &str) -> bool {
    match name.split_once('/') {
        None => true,
        Some((domain, _)) => domain == "kubernetes.io" || domain.ends_with(".kubernetes.io"),
    }
}

impl Evaluator {
    fn for_resource(group: &str, plural: &str) -> Evaluator {
        match (group, plural) {
            ("", "pods") => Evaluator::Pods,
            ("", "services") => Evaluator::Services,
            ("", "persistentvolumeclaims") => Evaluator::PersistentVolumeClaims,
            _ => Evaluator::Count {
                count_name: count_name(group, plural),
                legacy: match (group, plural) {
                    ("", "configmaps") => Some("configmaps"),
                    ("", "secrets") => Some("secrets"),
                    ("", "replicationcontrollers") => Some("replicationcontrollers"),
                    ("", "resourcequotas") => Some("resourcequotas"),
                    _ => None,
                },
            },
        }
    }

    /// `MatchingResources`: the names of `input` this evaluator measures.
    fn matching(&self, input: &BTreeSet<String>) -> BTreeSet<String> {
        input
            .iter()
            .filter(|name| match self {
                Evaluator::Pods => {
                    POD_RESOURCES.contains(&name.as_str())
                        || name.starts_with("hugepages-")
                        || name.starts_with("requests.hugepages-")
                        || name
                            .strip_prefix("requests.")
                            .is_some_and(|r| !is_native_resource(r))
                }
                Evaluator::Services => SERVICE_RESOURCES.contains(&name.as_str()),
                Evaluator::PersistentVolumeClaims => {
                    PVC_RESOURCES.contains(&name.as_str())
                        || name.split_once(STORAGE_CLASS_SUFFIX).is_some_and(|(_, r)| {
                            r == "requests.storage" || r == "persistentvolumeclaims"
                        })
                }
                Evaluator::Count { count_name, legacy } => {
                    *name == count_name || Some(name.as_str()) == *legacy
                }
            })
            .cloned()
            .collect()
    }

    /// `Usage`: what one object consumes.
    fn usage(&self, obj: &Value) -> ResourceList {
        let mut out = ResourceList::new();
        let one = Quantity::from_count(1);
        match self {
            Evaluator::Pods => {
                out.insert("count/pods".into(), one);
                if !pod_counts(obj) {
                    return out;
                }
                let requests = pod_resources(obj, "requests", true);
                let limits = pod_resources(obj, "limits", true);
                add_into(&mut out, &pod_compute_usage(&requests, &limits));
            }
            Evaluator::Services => {
                out.insert("count/services".into(), one);
                out.insert("services".into(), one);
                let spec = obj.get("spec").unwrap_or(&Value::Null);
                let ports = spec
                    .get("ports")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len) as i64;
                let (lbs, node_ports) = match spec.get("type").and_then(Value::as_str) {
                    Some("NodePort") => (0, ports),
                    Some("LoadBalancer") => {
                        let allocate = spec
                            .get("allocateLoadBalancerNodePorts")
                            .and_then(Value::as_bool)
                            .unwrap_or(true);
                        (1, if allocate { ports } else { 0 })
                    }
                    _ => (0, 0),
                };
                out.insert("services.loadbalancers".into(), Quantity::from_count(lbs));
                out.insert(
                    "services.nodeports".into(),
                    Quantity::from_count(node_ports),
                );
            }
            Evaluator::PersistentVolumeClaims => {
                out.insert("count/persistentvolumeclaims".into(), one);
                out.insert("persistentvolumeclaims".into(), one);
                let class = obj
                    .pointer("/spec/storageClassName")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        obj.pointer(
                            "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
                        )
                        .and_then(Value::as_str)
                    })
                    .filter(|c| !c.is_empty());
                if let Some(class) = class {
                    out.insert(
                        format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
                        one,
                    );
                }
                let requests = resource_list(obj.pointer("/spec/resources/requests"));
                if let Some(storage) = requests.get("storage") {
                    out.insert("requests.storage".into(), *storage);
                    if let Some(class) = class {
                        out.insert(
                            format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"),
                            *storage,
                        );
                    }
                }
            }
            Evaluator::Count { count_name, legacy } => {
                out.insert(count_name.clone(), one);
                if let Some(legacy) = legacy {
                    out.insert((*legacy).to_string(), one);
                }
            }
        }
        out
    }

    /// `Handles`: whether this write can change usage.
    fn handles(&self, req: &Request<'_>, obj: &Value) -> bool {
        match (self, req.operation) {
            (_, Operation::Create) => req.subresource.is_none(),
            (Evaluator::Pods, Operation::Update) => match req.subresource {
                None => req
                    .old
                    .is_some_and(|old| pod_is_terminating(old) != pod_is_terminating(obj)),
                Some(sub) => sub == "resize",
            },
            (Evaluator::Services | Evaluator::PersistentVolumeClaims, Operation::Update) => {
                req.subresource.is_none()
            }
            _ => false,
        }
    }

    /// `Constraints`: pods quota'd on cpu or memory must state them in every container.
    fn constraints(&self, required: &BTreeSet<String>, obj: &Value) -> Result<(), String> {
        if *self != Evaluator::Pods {
            return Ok(());
        }
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        if spec
            .get("resources")
            .and_then(Value::as_object)
            .is_some_and(|r| !r.is_empty())
        {
            return Ok(());
        }
        const VALIDATION_SET: &[&str] = &[
            "cpu",
            "memory",
            "requests.cpu",
            "requests.memory",
            "limits.cpu",
            "limits.memory",
        ];
        let required: BTreeSet<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|r| VALIDATION_SET.contains(r))
            .collect();
        let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for c in containers(spec, "containers").chain(containers(spec, "initContainers")) {
            let usage = pod_compute_usage(
                &resource_list(c.pointer("/resources/requests")),
                &resource_list(c.pointer("/resources/limits")),
            );
            for r in &required {
                if !usage.contains_key(*r) {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                    missing.entry(r).or_default().insert(name.to_string());
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let parts: Vec<String> = missing
            .iter()
            .map(|(r, names)| {
                format!(
                    "{r} for: {}",
                    names.iter().cloned().collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        Err(format!("must specify {}", parts.join("; ")))
    }

    /// Whether a quota (its `status.hard` and scopes) applies to `obj`.
    fn matches_quota(&self, quota: &Value, hard_key: &str, obj: &Value) -> bool {
        let hard: BTreeSet<String> = resource_list(quota.pointer(hard_key)).into_keys().collect();
        if self.matching(&hard).is_empty() {
            return false;
        }
        scope_selectors(quota)
            .iter()
            .all(|s| *self == Evaluator::Pods && pod_matches_scope(s, obj))
    }
}

/// `podComputeUsageHelper`: the compute resource names a pod (or container) consumes.
fn pod_compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".into(), Quantity::from_count(1));
    for r in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(r) {
            out.insert(r.into(), *q);
            out.insert(format!("requests.{r}"), *q);
        }
        if let Some(q) = limits.get(r) {
            out.insert(format!("limits.{r}"), *q);
        }
    }
    for (r, q) in requests {
        if r.starts_with("hugepages-") {
            out.insert(r.clone(), *q);
            out.insert(format!("requests.{r}"), *q);
        } else if !is_native_resource(r) {
            out.insert(format!("requests.{r}"), *q);
        }
    }
    out
}

/// `QuotaV1Pod`: terminal pods, and pods past their deletion grace period, consume no compute
/// quota.
fn pod_counts(pod: &Value) -> bool {
    if matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    ) {
        return false;
    }
    if let (Some(ts), Some(grace)) = (
        pod.pointer("/metadata/deletionTimestamp")
            .and_then(Value::as_str),
        pod.pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64),
    ) && let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts)
        && chrono::Utc::now() > t + chrono::Duration::seconds(grace)
    {
        return false;
    }
    true
}

fn pod_is_terminating(pod: &Value) -> bool {
    pod.pointer("/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|s| s >= 0)
}

fn pod_is_best_effort(pod: &Value) -> bool {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let nonzero = |v: Option<&Value>| {
        resource_list(v)
            .iter()
            .any(|(k, q)| (k == "cpu" || k == "memory") && !q.is_zero())
    };
    if nonzero(spec.pointer("/resources/requests")) || nonzero(spec.pointer("/resources/limits")) {
        return false;
    }
    !containers(spec, "containers")
        .chain(containers(spec, "initContainers"))
        .any(|c| {
            nonzero(c.pointer("/resources/requests")) || nonzero(c.pointer("/resources/limits"))
        })
}

/// A quota's scopes and scope selector as `(scopeName, operator, values)`.
fn scope_selectors(quota: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| (s.to_string(), "Exists".to_string(), Vec::new()))
        .collect();
    for e in quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let values = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        out.push((s("scopeName"), s("operator"), values));
    }
    out
}

fn pod_matches_scope(selector: &(String, String, Vec<String>), pod: &Value) -> bool {
    let (scope, op, values) = selector;
    match scope.as_str() {
        "Terminating" => pod_is_terminating(pod),
        "NotTerminating" => !pod_is_terminating(pod),
        "BestEffort" => pod_is_best_effort(pod),
        "NotBestEffort" => !pod_is_best_effort(pod),
        "PriorityClass" => {
            let class = pod
                .pointer("/spec/priorityClassName")
                .and_then(Value::as_str)
                .unwrap_or("");
            match op.as_str() {
                "Exists" => !class.is_empty(),
                "DoesNotExist" => class.is_empty(),
                "In" => !class.is_empty() && values.iter().any(|v| v == class),
                "NotIn" => class.is_empty() || !values.iter().any(|v| v == class),
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => {
            let cross = |term: &Value| {
                term.get("namespaces")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
                    || term.get("namespaceSelector").is_some_and(|s| !s.is_null())
            };
            ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
                let Some(a) = pod.pointer(&format!("/spec/affinity/{kind}")) else {
                    return false;
                };
                let required = a
                    .get("requiredDuringSchedulingIgnoredDuringExecution")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(cross);
                let preferred = a
                    .get("preferredDuringSchedulingIgnoredDuringExecution")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|w| w.get("podAffinityTerm"))
                    .any(cross);
                required || preferred
            })
        }
        _ => false,
    }
}

fn pretty(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn mask(list: &ResourceList, names: &BTreeSet<String>) -> ResourceList {
    list.iter()
        .filter(|(k, _)| names.contains(*k))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Charges in flight and the per-namespace lock.

/// An admitted create whose object may not be in the store yet.
struct PendingCharge {
    key: String,
    group: String,
    plural: String,
    object: Arc<Value>,
    at: Instant,
}

/// How long an admitted create is counted before it shows up in the store (a write that
/// failed after admission is forgotten after this).
const PENDING_TTL: Duration = Duration::from_secs(30);

type NamespaceKey = String;

static PENDING: LazyLock<Mutex<HashMap<NamespaceKey, Vec<PendingCharge>>>> =
    LazyLock::new(Default::default);
static LOCKS: LazyLock<Mutex<HashMap<NamespaceKey, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

fn namespace_key(api: &ApiServer, ns: &str) -> NamespaceKey {
    format!("{}|{ns}", api.url)
}

fn namespace_lock(api: &ApiServer, ns: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    locks.entry(namespace_key(api, ns)).or_default().clone()
}

fn forget_pending(api: &ApiServer, ns: &str, key: &str) {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(list) = pending.get_mut(&namespace_key(api, ns)) {
        list.retain(|p| p.key != key && p.at.elapsed() < PENDING_TTL);
    }
}

/// The admitted objects of `group/plural` in `ns` not yet seen in the store.
fn pending_objects(
    api: &ApiServer,
    ns: &str,
    group: &str,
    plural: &str,
) -> Vec<(String, Arc<Value>)> {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    let Some(list) = pending.get_mut(&namespace_key(api, ns)) else {
        return Vec::new();
    };
    list.retain(|p| p.at.elapsed() < PENDING_TTL);
    list.iter()
        .filter(|p| p.group == group && p.plural == plural)
        .map(|p| (p.key.clone(), p.object.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Admission.

fn quota_info(api: &ApiServer) -> Option<Arc<ResourceInfo>> {
    api.registry.lookup("", "v1", "resourcequotas")
}

async fn list_quotas(api: &ApiServer, ns: &str) -> Result<Vec<(KeyValue, Value)>, ApiError> {
    let Some(info) = quota_info(api) else {
        return Ok(Vec::new());
    };
    let res = api
        .store
        .range(&info.namespace_prefix(Some(ns)), "", 0, None)
        .await
        .map_err(plain_store_error)?;
    Ok(res
        .kvs
        .into_iter()
        .map(|kv| {
            let obj = decode_stored(&kv.value, kv.mod_revision);
            (kv, obj)
        })
        .collect())
}

/// `CheckRequest`: the new `status.used` of every quota the write changes, or the refusal.
fn check_request(
    req: &Request<'_>,
    name: &str,
    evaluator: &Evaluator,
    quotas: &[(KeyValue, Value)],
    obj: &Value,
) -> Result<Vec<(usize, ResourceList)>, ApiError> {
    let mut interesting = Vec::new();
    for (i, (_, quota)) in quotas.iter().enumerate() {
        if !evaluator.matches_quota(quota, "/status/hard", obj) {
            continue;
        }
        let quota_name = object::name(quota);
        let hard = resource_list(quota.pointer("/status/hard"));
        let restricted = evaluator.matching(&hard.keys().cloned().collect());
        if let Err(e) = evaluator.constraints(&restricted, obj) {
            return Err(forbidden(
                req.info,
                name,
                format!("failed quota: {quota_name}: {e}"),
            ));
        }
        let used = resource_list(quota.pointer("/status/used"));
        if restricted.iter().any(|r| !used.contains_key(r)) {
            return Err(forbidden(
                req.info,
                name,
                format!(
                    "status unknown for quota: {quota_name}, resources: {}",
                    restricted.iter().cloned().collect::<Vec<_>>().join(",")
                ),
            ));
        }
        interesting.push(i);
    }
    if interesting.is_empty() {
        return Ok(Vec::new());
    }
    let input = evaluator.usage(obj);
    let negative: Vec<&str> = input
        .iter()
        .filter(|(_, q)| q.signum() < 0)
        .map(|(k, _)| k.as_str())
        .collect();
    if !negative.is_empty() {
        return Err(forbidden(
            req.info,
            name,
            format!(
                "quota usage is negative for resource(s): {}",
                negative.join(",")
            ),
        ));
    }
    let mut delta_for: HashMap<usize, ResourceList> =
        interesting.iter().map(|i| (*i, input.clone())).collect();
    if req.operation == Operation::Update
        && let Some(old) = req.old
    {
        let prev = evaluator.usage(old);
        let delta: ResourceList = input
            .iter()
            .map(|(k, v)| {
                let d = prev.get(k).map_or(*v, |p| v.sub(p));
                (k.clone(), if d.signum() < 0 { Quantity::ZERO } else { d })
            })
            .collect();
        for i in &interesting {
            if evaluator.matches_quota(&quotas[*i].1, "/status/hard", old) {
                delta_for.insert(*i, delta.clone());
            }
        }
    }
    let mut out = Vec::new();
    for i in interesting {
        let delta: ResourceList = delta_for
            .remove(&i)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, q)| !q.is_zero())
            .collect();
        if delta.is_empty() {
            continue;
        }
        let quota = &quotas[i].1;
        let hard = resource_list(quota.pointer("/status/hard"));
        let used = resource_list(quota.pointer("/status/used"));
        let requested = mask(&delta, &hard.keys().cloned().collect());
        if requested.is_empty() {
            continue;
        }
        let mut new_used = used.clone();
        add_into(&mut new_used, &requested);
        let exceeded: BTreeSet<String> = requested
            .keys()
            .filter(|k| hard.get(*k).is_some_and(|h| new_used[*k] > *h))
            .cloned()
            .collect();
        if !exceeded.is_empty() {
            return Err(forbidden(
                req.info,
                name,
                format!(
                    "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                    object::name(quota),
                    pretty(&mask(&requested, &exceeded)),
                    pretty(&mask(&used, &exceeded)),
                    pretty(&mask(&hard, &exceeded)),
                ),
            ));
        }
        out.push((i, new_used));
    }
    Ok(out)
}

/// How many times a charge re-reads the quotas after losing a compare-and-swap.
const CHARGE_RETRIES: usize = 32;

/// Refuses a write that would exceed a quota of the namespace, and charges it otherwise.
pub async fn admit(api: &ApiServer, req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(ns) = req.namespace else {
        return Ok(());
    };
    let pods_resize = req.is("", "pods") && req.subresource == Some("resize");
    if (req.subresource.is_some() && !pods_resize)
        || req.operation == Operation::Delete
        || req.is("", "events")
        || req.is("events.k8s.io", "events")
    {
        return Ok(());
    }
    let evaluator = Evaluator::for_resource(&req.info.group, &req.info.plural);
    if !evaluator.handles(req, obj) {
        return Ok(());
    }
    let name = object_name(req, obj).to_string();
    let lock = namespace_lock(api, ns);
    let _guard = lock.lock().await;
    let key = req.info.key(Some(ns), req.name);
    let mut registered = false;
    let result = charge(api, req, ns, &name, &evaluator, obj, &key, &mut registered).await;
    if result.is_err() && registered {
        forget_pending(api, ns, &key);
    }
    result
}

/// Checks and charges the quotas of `ns` (under its lock), re-reading them after a lost
/// compare-and-swap; quotas already charged are not charged again.
#[allow(clippy::too_many_arguments)]
async fn charge(
    api: &ApiServer,
    req: &Request<'_>,
    ns: &str,
    name: &str,
    evaluator: &Evaluator,
    obj: &Value,
    key: &str,
    registered: &mut bool,
) -> Result<(), ApiError> {
    let mut charged: HashSet<String> = HashSet::new();
    for _ in 0..CHARGE_RETRIES {
        let quotas: Vec<(KeyValue, Value)> = list_quotas(api, ns)
            .await?
            .into_iter()
            .filter(|(_, q)| !charged.contains(object::name(q)))
            .collect();
        let changes = check_request(req, name, evaluator, &quotas, obj)?;
        if req.dry_run || changes.is_empty() {
            return Ok(());
        }
        // Known to the controller's recount before the charge is visible.
        if req.operation == Operation::Create && !*registered {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending
                .entry(namespace_key(api, ns))
                .or_default()
                .push(PendingCharge {
                    key: key.to_string(),
                    group: req.info.group.clone(),
                    plural: req.info.plural.clone(),
                    object: Arc::new(obj.clone()),
                    at: Instant::now(),
                });
            *registered = true;
        }
        let mut conflicted = false;
        for (i, new_used) in changes {
            let (kv, quota) = &quotas[i];
            let mut updated = quota.clone();
            updated["status"]["used"] = resource_list_json(&new_used);
            match api
                .store
                .update(&kv.key, encode_for_store(&updated), kv.mod_revision)
                .await
            {
                Ok(_) => {
                    charged.insert(object::name(quota).to_string());
                }
                Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound(_)) => {
                    conflicted = true;
                }
                Err(e) => return Err(plain_store_error(e)),
            }
        }
        if !conflicted {
            return Ok(());
        }
    }
    Err(forbidden(
        req.info,
        name,
        "unable to update quota status: the object has been modified; please apply your changes to the latest version and try again",
    ))
}

// ---------------------------------------------------------------------------------------------
// The quota controller.

const RESYNC: Duration = Duration::from_secs(15);

/// Runs the quota controller until `cancel`: on any event in a namespace (and every
/// [`RESYNC`]) each quota of that namespace gets `status.hard` from `spec.hard` and
/// `status.used` recounted from the store.
pub async fn run_quota_controller(api: Arc<ApiServer>, cancel: CancellationToken) {
    let mut events = match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
        Ok(s) => s.live,
        Err(_) => return,
    };
    let mut tick = tokio::time::interval(RESYNC);
    loop {
        let mut dirty: BTreeSet<String> = BTreeSet::new();
        let mut all = false;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => all = true,
            ev = events.recv() => match ev {
                Ok(ev) => note_event(&api, &ev, &mut dirty),
                Err(broadcast::error::RecvError::Lagged(_)) => all = true,
                Err(broadcast::error::RecvError::Closed) => {
                    match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
                        Ok(s) => events = s.live,
                        Err(_) => return,
                    }
                    all = true;
                }
            }
        }
        // Take whatever else is queued, so a burst is one recount.
        loop {
            match events.try_recv() {
                Ok(ev) => note_event(&api, &ev, &mut dirty),
                Err(broadcast::error::TryRecvError::Lagged(_)) => all = true,
                Err(_) => break,
            }
        }
        if all {
            match all_quota_namespaces(&api).await {
                Ok(namespaces) => dirty.extend(namespaces),
                Err(err) => tracing::warn!(error = %err.message, "listing quotas failed"),
            }
        }
        for ns in dirty {
            if let Err(err) = reconcile_namespace(&api, &ns).await {
                tracing::warn!(namespace = %ns, error = %err.message, "quota recount failed");
            }
        }
    }
}

fn note_event(api: &ApiServer, ev: &crate::watch::CachedEvent, dirty: &mut BTreeSet<String>) {
    let Some(ns) = object::meta_str(&ev.object, "namespace").filter(|n| !n.is_empty()) else {
        return;
    };
    if ev.kind == crate::watch::EventType::Added {
        forget_pending(api, ns, &ev.key);
    }
    dirty.insert(ns.to_string());
}

async fn all_quota_namespaces(api: &ApiServer) -> Result<BTreeSet<String>, ApiError> {
    let Some(info) = quota_info(api) else {
        return Ok(BTreeSet::new());
    };
    let res = api
        .store
        .range(&info.key_prefix(), "", 0, None)
        .await
        .map_err(plain_store_error)?;
    Ok(res
        .kvs
        .iter()
        .filter_map(|kv| {
            let q = decode_stored(&kv.value, kv.mod_revision);
            object::meta_str(&q, "namespace").map(str::to_string)
        })
        .collect())
}

/// The served resource a quota name counts (`pods`, `count/deployments.apps`...).
fn resource_for_name(api: &ApiServer, name: &str) -> Option<Arc<ResourceInfo>> {
    let (group, plural) = if let Some(counted) = name.strip_prefix("count/") {
        match counted.split_once('.') {
            Some((plural, group)) => (group.to_string(), plural.to_string()),
            None => (String::new(), counted.to_string()),
        }
    } else if name.contains(STORAGE_CLASS_SUFFIX) || name == "requests.storage" {
        (String::new(), "persistentvolumeclaims".into())
    } else if name.starts_with("services") {
        (String::new(), "services".into())
    } else {
        match name {
            "configmaps"
            | "secrets"
            | "replicationcontrollers"
            | "resourcequotas"
            | "persistentvolumeclaims" => (String::new(), name.to_string()),
            _ => (String::new(), "pods".into()),
        }
    };
    api.registry
        .all()
        .into_iter()
        .find(|r| r.group == group && r.plural == plural && r.namespaced)
}

/// Recounts every quota of `ns` (under the namespace's lock, so no charge is in between).
async fn reconcile_namespace(api: &ApiServer, ns: &str) -> Result<(), ApiError> {
    let lock = namespace_lock(api, ns);
    let _guard = lock.lock().await;
    let quotas = list_quotas(api, ns).await?;
    let mut listed: HashMap<String, Vec<Arc<Value>>> = HashMap::new();
    for (kv, quota) in quotas {
        let span =
            tracing::debug_span!("resourcequota", namespace = %ns, name = %object::name(&quota));
        let _enter = span.enter();
        // As stored by kube: quantities in their canonical form.
        let hard = resource_list(quota.pointer("/spec/hard"));
        let hard_json = resource_list_json(&hard);
        let names: BTreeSet<String> = hard.keys().cloned().collect();
        // The previous counts, for names no evaluator measures.
        let mut used: ResourceList = mask(&resource_list(quota.pointer("/status/used")), &names);
        let mut infos: Vec<Arc<ResourceInfo>> = Vec::new();
        for name in &names {
            if let Some(info) = resource_for_name(api, name)
                && !infos
                    .iter()
                    .any(|i| i.group == info.group && i.plural == info.plural)
            {
                infos.push(info);
            }
        }
        for info in infos {
            let evaluator = Evaluator::for_resource(&info.group, &info.plural);
            let matched = evaluator.matching(&names);
            if matched.is_empty() {
                continue;
            }
            let cache_key = format!("{}/{}", info.group, info.plural);
            if !listed.contains_key(&cache_key) {
                let res = api
                    .store
                    .range(&info.namespace_prefix(Some(ns)), "", 0, None)
                    .await
                    .map_err(plain_store_error)?;
                let keys: HashSet<&str> = res.kvs.iter().map(|kv| kv.key.as_str()).collect();
                let mut objects: Vec<Arc<Value>> = res
                    .kvs
                    .iter()
                    .map(|kv| Arc::new(decode_stored(&kv.value, kv.mod_revision)))
                    .collect();
                for (key, obj) in pending_objects(api, ns, &info.group, &info.plural) {
                    if keys.contains(key.as_str()) {
                        forget_pending(api, ns, &key);
                    } else {
                        objects.push(obj);
                    }
                }
                listed.insert(cache_key.clone(), objects);
            }
            let mut total: ResourceList = matched
                .iter()
                .map(|n| (n.clone(), Quantity::ZERO))
                .collect();
            for obj in &listed[&cache_key] {
                let scopes_match = scope_selectors(&quota)
                    .iter()
                    .all(|s| evaluator == Evaluator::Pods && pod_matches_scope(s, obj));
                if scopes_match {
                    add_into(&mut total, &mask(&evaluator.usage(obj), &matched));
                }
            }
            used.extend(total);
        }
        let new_status = json!({"hard": hard_json, "used": resource_list_json(&used)});
        let same = quota.pointer("/status/hard") == Some(&hard_json)
            && resource_list(quota.pointer("/status/used")) == used
            && quota
                .pointer("/status/used")
                .and_then(Value::as_object)
                .map(Map::len)
                == Some(used.len());
        if same {
            continue;
        }
        let mut updated = quota.clone();
        updated["status"] = new_status;
        match api
            .store
            .update(&kv.key, encode_for_store(&updated), kv.mod_revision)
            .await
        {
            // A lost race re-triggers: the winner's write is an event in this namespace.
            Ok(_) | Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(plain_store_error(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn quantities_parse_and_print_canonically() {
        assert_eq!(q("100m").nanos(), 100_000_000);
        assert_eq!(q("1Gi").nanos(), (1i128 << 30) * 1_000_000_000);
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("1.5Gi"), q("1536Mi"));
        assert_eq!(q("1E").nanos(), 1_000_000_000_000_000_000_000_000_000);
        for (input, canonical) in [
            ("100m", "100m"),
            ("1Gi", "1Gi"),
            ("1e3", "1e3"),
            ("0.5", "500m"),
            ("1.5Gi", "1536Mi"),
            ("1000m", "1"),
            ("1000", "1k"),
            ("1500000", "1500k"),
            ("0", "0"),
            ("512", "512"),
            ("1.5", "1500m"),
            ("2000Mi", "2000Mi"),
            ("1024Mi", "1Gi"),
            ("100Ki", "100Ki"),
            ("0.1m", "100u"),
            ("-2", "-2"),
        ] {
            assert_eq!(q(input).to_string(), canonical, "{input}");
        }
        for bad in ["", "abc", "1.2.3", "1Qi", ".", "1e", "--1"] {
            assert!(Quantity::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn sums_keep_the_first_nonzero_format() {
        assert_eq!(Quantity::ZERO.add(&q("128Mi")).to_string(), "128Mi");
        assert_eq!(q("128Mi").add(&q("128Mi")).to_string(), "256Mi");
        assert_eq!(q("500m").add(&q("1")).to_string(), "1500m");
        assert_eq!(q("1Gi").add(&q("500M")).to_string(), "1573741824");
    }

    #[test]
    fn pod_usage_counts_containers_and_the_largest_init_container() {
        let pod = json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m"}}},
                {"name": "b", "resources": {"requests": {"cpu": "300m"}}}
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]
        }});
        let usage = Evaluator::Pods.usage(&pod);
        assert_eq!(usage["pods"].to_string(), "1");
        assert_eq!(usage["count/pods"].to_string(), "1");
        assert_eq!(usage["requests.cpu"].to_string(), "1");
        assert_eq!(usage["requests.memory"].to_string(), "64Mi");
        assert_eq!(usage["limits.cpu"].to_string(), "200m");
        let done = json!({"spec": {"containers": []}, "status": {"phase": "Succeeded"}});
        let usage = Evaluator::Pods.usage(&done);
        assert!(!usage.contains_key("pods"));
        assert!(usage.contains_key("count/pods"));
    }

    #[test]
    fn constraints_name_the_containers_missing_a_quotad_resource() {
        let pod = json!({"spec": {"containers": [
            {"name": "c2", "resources": {}},
            {"name": "c1", "resources": {"requests": {"cpu": "1"}}}
        ]}});
        let required: BTreeSet<String> = ["limits.cpu", "requests.cpu", "pods"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            Evaluator::Pods.constraints(&required, &pod),
            Err("must specify limits.cpu for: c1,c2; requests.cpu for: c2".into())
        );
    }

    #[test]
    fn services_count_node_ports_and_load_balancers() {
        let svc = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}});
        let usage = Evaluator::Services.usage(&svc);
        assert_eq!(usage["services.loadbalancers"].to_string(), "1");
        assert_eq!(usage["services.nodeports"].to_string(), "2");
        let count = Evaluator::for_resource("apps", "deployments");
        assert_eq!(
            count.usage(&json!({})).keys().collect::<Vec<_>>(),
            vec!["count/deployments.apps"]
        );
    }
}
