//! The built-in kinds and their strategies: defaults, validation, field selectors.
//!
//! [`BUILTIN`] lists every built-in resource as `kubectl api-resources` shows it on a
//! kube-apiserver 1.3x (scope, short names, categories, subresources). For an object of one of
//! them, the handlers call [`apply_defaults`] then [`validate`] on create and update (as the
//! decoder's defaulting and the registry strategy's validation do in kube-apiserver), and
//! [`field_value`] when a list or watch has a field selector. Kinds not listed here (custom
//! resources) get metadata validation only.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::registry::ResourceInfo;
use crate::validation::{self, NameRule};

mod checks;
mod defaults;
mod fields;
mod pod;
mod webhooks;

pub use defaults::{JOB_CONTROLLER_UID_LABEL, JOB_NAME_LABEL, NAMESPACE_NAME_LABEL};
pub use fields::supported_fields;

/// A built-in resource, as a row of the static table.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinKind {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names.
    pub short_names: &'static [&'static str],
    /// Categories.
    pub categories: &'static [&'static str],
    /// Subresources.
    pub subresources: &'static [&'static str],
}

/// One row of [`BUILTIN`]; positional so that the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
) -> BuiltinKind {
    BuiltinKind {
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names,
        categories,
        subresources,
    }
}

const NS: bool = true;
const CLUSTER: bool = false;
const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];
const API_EXTENSIONS: &[&str] = &["api-extensions"];
const STATUS: &[&str] = &["status"];
const SCALE_STATUS: &[&str] = &["scale", "status"];

/// Every built-in resource: core first, then the groups in the order kube-apiserver lists them
/// under `/apis`; resources of a group in alphabetical order, as discovery shows them.
pub static BUILTIN: &[BuiltinKind] = &[
    // core/v1
    kind("", "v1", "ConfigMap", "configmaps", NS, &["cm"], NONE, NONE),
    kind("", "v1", "Endpoints", "endpoints", NS, &["ep"], NONE, NONE),
    kind("", "v1", "Event", "events", NS, &["ev"], NONE, NONE),
    kind(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        NS,
        &["limits"],
        NONE,
        NONE,
    ),
    kind(
        "",
        "v1",
        "Namespace",
        "namespaces",
        CLUSTER,
        &["ns"],
        NONE,
        &["finalize", "status"],
    ),
    kind("", "v1", "Node", "nodes", CLUSTER, &["no"], NONE, STATUS),
    kind(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        NS,
        &["pvc"],
        NONE,
        STATUS,
    ),
    kind(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        CLUSTER,
        &["pv"],
        NONE,
        STATUS,
    ),
    kind(
        "",
        "v1",
        "Pod",
        "pods",
        NS,
        &["po"],
        ALL,
        &["binding", "eviction", "status"],
    ),
    kind(
        "",
        "v1",
        "PodTemplate",
        "podtemplates",
        NS,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        NS,
        &["rc"],
        ALL,
        SCALE_STATUS,
    ),
    kind(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        NS,
        &["quota"],
        NONE,
        STATUS,
    ),
    kind("", "v1", "Secret", "secrets", NS, NONE, NONE, NONE),
    kind(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        NS,
        &["sa"],
        NONE,
        &["token"],
    ),
    kind("", "v1", "Service", "services", NS, &["svc"], ALL, STATUS),
    // apps/v1
    kind(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        NS,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        NS,
        &["ds"],
        ALL,
        STATUS,
    ),
    kind(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        NS,
        &["deploy"],
        ALL,
        SCALE_STATUS,
    ),
    kind(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        NS,
        &["rs"],
        ALL,
        SCALE_STATUS,
    ),
    kind(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        NS,
        &["sts"],
        ALL,
        SCALE_STATUS,
    ),
    // events.k8s.io/v1
    kind(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        NS,
        &["ev"],
        NONE,
        NONE,
    ),
    // admissionregistration.k8s.io/v1
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        CLUSTER,
        NONE,
        API_EXTENSIONS,
        NONE,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        CLUSTER,
        NONE,
        API_EXTENSIONS,
        NONE,
    ),
    // authentication.k8s.io/v1 and authorization.k8s.io/v1: create-only reviews, never stored
    kind(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        NS,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    // autoscaling/v2
    kind(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        NS,
        &["hpa"],
        ALL,
        STATUS,
    ),
    // batch/v1
    kind(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        NS,
        &["cj"],
        ALL,
        STATUS,
    ),
    kind("batch", "v1", "Job", "jobs", NS, NONE, ALL, STATUS),
    // networking.k8s.io/v1
    kind(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        NS,
        &["ing"],
        NONE,
        STATUS,
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        NS,
        &["netpol"],
        NONE,
        NONE,
    ),
    // policy/v1
    kind(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        NS,
        &["pdb"],
        NONE,
        STATUS,
    ),
    // rbac.authorization.k8s.io/v1
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        NS,
        NONE,
        NONE,
        NONE,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        NS,
        NONE,
        NONE,
        NONE,
    ),
    // storage.k8s.io/v1
    kind(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        CLUSTER,
        &["sc"],
        NONE,
        NONE,
    ),
    // apiextensions.k8s.io/v1
    kind(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        CLUSTER,
        &["crd", "crds"],
        &["api-extensions"],
        STATUS,
    ),
    // scheduling.k8s.io/v1
    kind(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        CLUSTER,
        &["pc"],
        NONE,
        NONE,
    ),
    // coordination.k8s.io/v1
    kind(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        NS,
        NONE,
        NONE,
        NONE,
    ),
    // node.k8s.io/v1
    kind(
        "node.k8s.io",
        "v1",
        "RuntimeClass",
        "runtimeclasses",
        CLUSTER,
        NONE,
        NONE,
        NONE,
    ),
    // discovery.k8s.io/v1
    kind(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        NS,
        NONE,
        NONE,
        NONE,
    ),
];

/// The built-in row for a served resource, if it is built in.
pub fn builtin(info: &ResourceInfo) -> Option<&'static BuiltinKind> {
    BUILTIN
        .iter()
        .find(|b| b.group == info.group && b.version == info.version && b.plural == info.plural)
}

/// Which rule `metadata.name` follows for this resource: a DNS-1123 label for namespaces, a
/// DNS-1035 label for services, a path segment for the RBAC kinds, and a DNS-1123 subdomain
/// for everything else (custom resources included).
pub fn name_validator(info: &ResourceInfo) -> NameRule {
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Namespace") => NameRule::Dns1123Label,
        ("", "Service") => NameRule::Dns1035Label,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Dns1123Subdomain,
    }
}

/// Fills in defaults on create and update, as kube-apiserver's defaulting (`SetDefaults_*` of
/// `pkg/apis/*/v1`) and the create strategies do. Idempotent: defaulting a defaulted object
/// changes nothing. Reads `metadata.uid` (set by the handler first) for a Job's generated
/// selector.
pub fn apply_defaults(info: &ResourceInfo, obj: &mut Value) {
    if !obj.is_object() || builtin(info).is_none() {
        return;
    }
    defaults::apply(info.group.as_str(), info.kind.as_str(), obj);
    webhooks::apply_defaults(info.group.as_str(), info.kind.as_str(), obj);
}

/// Validates an object for create (`old` is `None`) or update; an empty list means valid.
/// Paths and messages are kube-apiserver's (`spec.containers[0].image: Required value`).
pub fn validate(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let empty = Value::Object(Map::new());
    let meta = obj.get("metadata").unwrap_or(&empty);
    let mut errs = match old {
        None => validation::validate_object_meta(meta, name_validator(info)),
        Some(old) => {
            validation::validate_object_meta_update(meta, old.get("metadata").unwrap_or(&empty))
        }
    };
    if builtin(info).is_some() {
        checks::validate(info.group.as_str(), info.kind.as_str(), obj, old, &mut errs);
        webhooks::validate(info.group.as_str(), info.kind.as_str(), obj, &mut errs);
    }
    errs
}

/// The 400 kube-apiserver answers when a body of this kind cannot even be decoded, before any
/// validation: today, a Secret whose `data` holds a value that is not base64
/// (`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3`).
/// [`validate`] reports the same values as field errors for handlers that skip this check.
pub fn decoding_error(info: &ResourceInfo, obj: &Value) -> Option<String> {
    if (info.group.as_str(), info.kind.as_str()) != ("", "Secret") {
        return None;
    }
    let data = obj.get("data")?.as_object()?;
    data.values()
        .find_map(|v| checks::decode_secret_value(v).err())
        .map(|why| {
            format!(
                "{} in version \"{}\" cannot be handled as a {}: {why}",
                info.kind, info.version, info.kind
            )
        })
}

/// The value of a field-selector field for this object, or `None` if the kind does not support
/// selecting on that field (the handler then answers `field label not supported: X`). A
/// supported field the object lacks has the value `""`, as in kube-apiserver.
pub fn field_value(info: &ResourceInfo, obj: &Value, field: &str) -> Option<String> {
    fields::value(info, obj, field)
}

// ---------------------------------------------------------------------------------------------
// Small JSON helpers shared by the submodules.

/// The string at `key` of a JSON object, or `""`.
pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The object at `key` of `map`, created (replacing a `null` or missing value) if needed.
pub(crate) fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

/// Sets `key` to `value` unless it already holds something other than `null`.
pub(crate) fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get(key) {
        Some(v) if !v.is_null() => {}
        _ => {
            map.insert(key.to_string(), value);
        }
    }
}

/// Whether `key` of a JSON object is missing or `null`.
pub(crate) fn is_unset(v: &Value, key: &str) -> bool {
    v.get(key).is_none_or(Value::is_null)
}

/// The array at `key`, or an empty slice.
pub(crate) fn array_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::builtin_resources;

    pub(crate) fn info(group: &str, kind: &str) -> ResourceInfo {
        builtin_resources()
            .into_iter()
            .find(|r| r.group == group && r.kind == kind)
            .unwrap_or_else(|| panic!("{group}/{kind} is built in"))
    }

    #[test]
    fn table_is_unique_and_complete() {
        let mut seen = std::collections::BTreeSet::new();
        for b in BUILTIN {
            assert!(
                seen.insert((b.group, b.version, b.plural)),
                "{} twice",
                b.plural
            );
        }
        assert_eq!(BUILTIN.len(), 46);
        let find = |g: &str, p: &str| {
            BUILTIN
                .iter()
                .find(|b| b.group == g && b.plural == p)
                .unwrap()
        };
        assert_eq!(
            find("", "pods").subresources,
            &["binding", "eviction", "status"]
        );
        assert_eq!(find("", "namespaces").subresources, &["finalize", "status"]);
        assert!(!find("", "namespaces").namespaced);
        assert_eq!(find("apps", "deployments").short_names, &["deploy"]);
        assert_eq!(
            find("apps", "deployments").subresources,
            &["scale", "status"]
        );
        assert_eq!(find("batch", "jobs").categories, &["all"]);
        assert!(find("batch", "jobs").short_names.is_empty());
        assert_eq!(find("events.k8s.io", "events").short_names, &["ev"]);
        assert!(!find("rbac.authorization.k8s.io", "clusterroles").namespaced);
        assert_eq!(BUILTIN[0].group, "");
        let all: Vec<&str> = BUILTIN
            .iter()
            .filter(|b| b.categories.contains(&"all"))
            .map(|b| b.plural)
            .collect();
        assert_eq!(
            all,
            vec![
                "pods",
                "replicationcontrollers",
                "services",
                "daemonsets",
                "deployments",
                "replicasets",
                "statefulsets",
                "horizontalpodautoscalers",
                "cronjobs",
                "jobs"
            ]
        );
    }

    #[test]
    fn undecodable_secrets() {
        let secrets = info("", "Secret");
        let ok = serde_json::json!({"data": {"a": "aGk="}});
        assert_eq!(decoding_error(&secrets, &ok), None);
        let bad = serde_json::json!({"data": {"a": "not base64!"}});
        assert_eq!(
            decoding_error(&secrets, &bad).as_deref(),
            Some(
                "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 3"
            )
        );
        assert_eq!(decoding_error(&info("", "ConfigMap"), &bad), None);
    }

    #[test]
    fn name_rules_per_kind() {
        assert_eq!(
            name_validator(&info("", "Namespace")),
            NameRule::Dns1123Label
        );
        assert_eq!(name_validator(&info("", "Service")), NameRule::Dns1035Label);
        assert_eq!(
            name_validator(&info("rbac.authorization.k8s.io", "ClusterRole")),
            NameRule::PathSegment
        );
        assert_eq!(
            name_validator(&info("", "ConfigMap")),
            NameRule::Dns1123Subdomain
        );
        let errs = validate(
            &info("rbac.authorization.k8s.io", "ClusterRole"),
            &serde_json::json!({"metadata": {"name": "system:Controller"}}),
            None,
        );
        assert!(errs.is_empty(), "{errs:?}");
        let errs = validate(
            &info("", "Service"),
            &serde_json::json!({"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "type": "ClusterIP"}}),
            None,
        );
        assert_eq!(errs.len(), 1);
        assert!(errs[0].detail.starts_with("a DNS-1035 label"));
    }
}
