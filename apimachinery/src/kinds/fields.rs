//! Field selectors: which fields each kind can be selected on, and their values (the
//! `GetAttrs`/`ToSelectableFields` of kube-apiserver's registries, with the field-label
//! conversions of `events.k8s.io`).

use serde_json::Value;

use crate::registry::ResourceInfo;

const CORE_EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

const EVENTS_V1_FIELDS: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
];

const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

/// The fields a field selector may name for this resource: `metadata.name` always,
/// `metadata.namespace` for namespaced resources, then the kind's own (custom resources have
/// only the metadata ones).
pub fn supported_fields(info: &ResourceInfo) -> Vec<&'static str> {
    let mut out = vec!["metadata.name"];
    if info.namespaced {
        out.push("metadata.namespace");
    }
    let specific: &[&str] = match (info.group.as_str(), info.kind.as_str()) {
        ("", "Pod") => POD_FIELDS,
        ("", "Event") => CORE_EVENT_FIELDS,
        ("events.k8s.io", "Event") => EVENTS_V1_FIELDS,
        ("", "Secret") => &["type"],
        // `name` is a historical alias kube-apiserver still accepts for namespaces.
        ("", "Namespace") => &["status.phase", "name"],
        ("", "Node") => &["spec.unschedulable"],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
        ("batch", "Job") => &["status.successful"],
        _ => &[],
    };
    out.extend_from_slice(specific);
    out
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn at(obj: &Value, dotted: &str) -> String {
    let pointer = format!("/{}", dotted.replace('.', "/"));
    text(obj.pointer(&pointer))
}

fn bool_at(obj: &Value, dotted: &str) -> String {
    let pointer = format!("/{}", dotted.replace('.', "/"));
    (obj.pointer(&pointer).and_then(Value::as_bool) == Some(true)).to_string()
}

fn int_at(obj: &Value, dotted: &str) -> String {
    let pointer = format!("/{}", dotted.replace('.', "/"));
    obj.pointer(&pointer)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

/// The value of `field` for `obj`, or `None` if the resource cannot be selected on it.
pub(crate) fn value(info: &ResourceInfo, obj: &Value, field: &str) -> Option<String> {
    if !supported_fields(info).contains(&field) {
        return None;
    }
    let kind = (info.group.as_str(), info.kind.as_str());
    Some(match (kind, field) {
        (("", "Namespace"), "name") => at(obj, "metadata.name"),
        (("", "Pod"), "spec.hostNetwork") => bool_at(obj, "spec.hostNetwork"),
        (("", "Pod"), "status.podIP") => {
            // The first of `podIPs`, as kube-apiserver reads it.
            match obj.pointer("/status/podIPs/0/ip") {
                Some(ip) => text(Some(ip)),
                None => at(obj, "status.podIP"),
            }
        }
        (("", "Node"), "spec.unschedulable") => bool_at(obj, "spec.unschedulable"),
        (_, "status.replicas") => int_at(obj, "status.replicas"),
        (("batch", "Job"), "status.successful") => int_at(obj, "status.succeeded"),
        (("", "Event"), "reportingComponent") => text(obj.get("reportingComponent")),
        (("", "Event"), "source") => {
            let component = at(obj, "source.component");
            if component.is_empty() {
                text(obj.get("reportingComponent"))
            } else {
                component
            }
        }
        _ => at(obj, field),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::field_value;
    use crate::kinds::tests::info;
    use serde_json::json;

    #[test]
    fn metadata_fields() {
        let cm = info("", "ConfigMap");
        let obj = json!({"metadata": {"name": "a", "namespace": "ns"}});
        assert_eq!(
            field_value(&cm, &obj, "metadata.name").as_deref(),
            Some("a")
        );
        assert_eq!(
            field_value(&cm, &obj, "metadata.namespace").as_deref(),
            Some("ns")
        );
        assert_eq!(field_value(&cm, &obj, "data.x"), None);
        let probe = json!({"metadata": {}});
        assert_eq!(
            field_value(&cm, &probe, "metadata.name").as_deref(),
            Some("")
        );
        // Cluster-scoped resources have no namespace field.
        let node = info("", "Node");
        assert_eq!(field_value(&node, &obj, "metadata.namespace"), None);
        assert_eq!(
            supported_fields(&node),
            vec!["metadata.name", "spec.unschedulable"]
        );
    }

    #[test]
    fn pod_fields() {
        let pods = info("", "Pod");
        let pod = json!({
            "metadata": {"name": "p", "namespace": "d"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                     "serviceAccountName": "default"},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}],
                       "nominatedNodeName": "n2"}
        });
        let get = |f: &str| field_value(&pods, &pod, f);
        assert_eq!(get("spec.nodeName").as_deref(), Some("n1"));
        assert_eq!(get("spec.restartPolicy").as_deref(), Some("Always"));
        assert_eq!(
            get("spec.schedulerName").as_deref(),
            Some("default-scheduler")
        );
        assert_eq!(get("spec.serviceAccountName").as_deref(), Some("default"));
        assert_eq!(get("spec.hostNetwork").as_deref(), Some("false"));
        assert_eq!(get("status.phase").as_deref(), Some("Running"));
        assert_eq!(get("status.podIP").as_deref(), Some("10.0.0.1"));
        assert_eq!(get("status.nominatedNodeName").as_deref(), Some("n2"));
        assert_eq!(get("spec.containers"), None);
        let bare = json!({"metadata": {}});
        assert_eq!(
            field_value(&pods, &bare, "spec.nodeName").as_deref(),
            Some("")
        );
        assert_eq!(
            field_value(&pods, &bare, "status.podIP").as_deref(),
            Some("")
        );
    }

    #[test]
    fn event_fields() {
        let core = info("", "Event");
        let ev = json!({
            "metadata": {"name": "e", "namespace": "d"},
            "involvedObject": {"kind": "Pod", "namespace": "d", "name": "p", "uid": "u",
                "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{a}"},
            "reason": "Started", "type": "Normal", "reportingComponent": "kubelet",
            "source": {"component": "kubelet", "host": "n1"}
        });
        let get = |f: &str| field_value(&core, &ev, f);
        assert_eq!(get("involvedObject.kind").as_deref(), Some("Pod"));
        assert_eq!(get("involvedObject.namespace").as_deref(), Some("d"));
        assert_eq!(get("involvedObject.name").as_deref(), Some("p"));
        assert_eq!(get("involvedObject.uid").as_deref(), Some("u"));
        assert_eq!(get("involvedObject.apiVersion").as_deref(), Some("v1"));
        assert_eq!(get("involvedObject.resourceVersion").as_deref(), Some("7"));
        assert_eq!(
            get("involvedObject.fieldPath").as_deref(),
            Some("spec.containers{a}")
        );
        assert_eq!(get("reason").as_deref(), Some("Started"));
        assert_eq!(get("type").as_deref(), Some("Normal"));
        assert_eq!(get("reportingComponent").as_deref(), Some("kubelet"));
        assert_eq!(get("source").as_deref(), Some("kubelet"));
        let no_source = json!({"reportingComponent": "ctrl"});
        assert_eq!(
            field_value(&core, &no_source, "source").as_deref(),
            Some("ctrl")
        );

        let v1 = info("events.k8s.io", "Event");
        let ev = json!({"regarding": {"kind": "Node", "name": "n1"}, "reason": "R",
            "type": "Warning", "reportingController": "c"});
        let get = |f: &str| field_value(&v1, &ev, f);
        assert_eq!(get("regarding.kind").as_deref(), Some("Node"));
        assert_eq!(get("regarding.name").as_deref(), Some("n1"));
        assert_eq!(get("regarding.uid").as_deref(), Some(""));
        assert_eq!(get("reason").as_deref(), Some("R"));
        assert_eq!(get("type").as_deref(), Some("Warning"));
        assert_eq!(get("reportingController").as_deref(), Some("c"));
        assert_eq!(get("involvedObject.kind"), None);
    }

    #[test]
    fn other_kind_fields() {
        let secret = json!({"type": "kubernetes.io/tls"});
        assert_eq!(
            field_value(&info("", "Secret"), &secret, "type").as_deref(),
            Some("kubernetes.io/tls")
        );
        let ns = json!({"metadata": {"name": "x"}, "status": {"phase": "Terminating"}});
        let nsi = info("", "Namespace");
        assert_eq!(
            field_value(&nsi, &ns, "status.phase").as_deref(),
            Some("Terminating")
        );
        assert_eq!(field_value(&nsi, &ns, "name").as_deref(), Some("x"));
        let node = json!({"spec": {"unschedulable": true}});
        assert_eq!(
            field_value(&info("", "Node"), &node, "spec.unschedulable").as_deref(),
            Some("true")
        );
        assert_eq!(
            field_value(&info("", "Node"), &json!({}), "spec.unschedulable").as_deref(),
            Some("false")
        );
        let rs = json!({"status": {"replicas": 3}});
        assert_eq!(
            field_value(&info("apps", "ReplicaSet"), &rs, "status.replicas").as_deref(),
            Some("3")
        );
        assert_eq!(
            field_value(
                &info("", "ReplicationController"),
                &json!({}),
                "status.replicas"
            )
            .as_deref(),
            Some("0")
        );
        let job = json!({"status": {"succeeded": 2}});
        assert_eq!(
            field_value(&info("batch", "Job"), &job, "status.successful").as_deref(),
            Some("2")
        );
        assert_eq!(
            field_value(&info("apps", "Deployment"), &rs, "status.replicas"),
            None
        );
    }
}
