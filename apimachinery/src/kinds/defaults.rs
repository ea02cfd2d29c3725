//! Defaulting per kind, after kube's `pkg/apis/<group>/v1/defaults.go` and the few defaults the
//! create strategies and admission add (a Job's generated selector, a new Pod's status).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::pod;
use super::{child, set_default, str_of};

/// The label kube puts on every namespace, holding its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The label (and selector key) that ties a Job's pods to it.
pub const JOB_CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The label naming a pod's Job.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
const LEGACY_JOB_CONTROLLER_UID_LABEL: &str = "controller-uid";
const LEGACY_JOB_NAME_LABEL: &str = "job-name";

/// Applies the defaults of `group`/`kind` to `obj` (a JSON object).
pub(crate) fn apply(group: &str, kind: &str, obj: &mut Value) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("", "Pod") => pod::default_pod(o),
        ("", "PodTemplate") => pod::default_template(o.get_mut("template")),
        ("", "ReplicationController") => replication_controller(o),
        ("", "Service") => service(o),
        ("", "Namespace") => namespace(o),
        ("", "Secret") => secret(o),
        ("", "PersistentVolumeClaim") => pvc(o),
        ("", "PersistentVolume") => pv(o),
        ("", "Node") => node(o),
        ("", "Endpoints") => endpoints(o),
        ("", "LimitRange") => limit_range(o),
        ("apps", "Deployment") => deployment(o),
        ("apps", "ReplicaSet") => replica_set(o),
        ("apps", "StatefulSet") => stateful_set(o),
        ("apps", "DaemonSet") => daemon_set(o),
        ("batch", "Job") => job(o),
        ("batch", "CronJob") => cron_job(o),
        ("networking.k8s.io", "NetworkPolicy") => network_policy(o),
        ("networking.k8s.io", "Ingress") => {
            set_default(o, "status", json!({"loadBalancer": {}}));
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            set_default(o, "preemptionPolicy", json!("PreemptLowerPriority"));
        }
        ("storage.k8s.io", "StorageClass") => {
            set_default(o, "reclaimPolicy", json!("Delete"));
            set_default(o, "volumeBindingMode", json!("Immediate"));
        }
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(o),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => role_binding(o),
        ("discovery.k8s.io", "EndpointSlice") => {
            for p in array_mut(o, "ports") {
                set_default(p, "protocol", json!("TCP"));
            }
        }
        _ => {}
    }
}

/// `SetDefaults_LimitRangeItem`: a Container item's default limit comes from its max, and its
/// default request from the default limit, else from the min.
fn limit_range(o: &mut Map<String, Value>) {
    for item in array_mut(spec_of(o), "limits") {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        let map = |item: &Map<String, Value>, key: &str| {
            item.get(key)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut default = map(item, "default");
        for (k, v) in map(item, "max") {
            default.entry(k).or_insert(v);
        }
        let mut default_request = map(item, "defaultRequest");
        for (k, v) in default.iter().chain(map(item, "min").iter()) {
            default_request
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        if !default.is_empty() {
            item.insert("default".into(), Value::Object(default));
        }
        if !default_request.is_empty() {
            item.insert("defaultRequest".into(), Value::Object(default_request));
        }
    }
}

/// The objects of the array at `key` (nothing if it is missing or not an array).
fn array_mut<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn spec_of(o: &mut Map<String, Value>) -> &mut Map<String, Value> {
    child(o, "spec")
}

fn replication_controller(o: &mut Map<String, Value>) {
    let template_labels = o
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    let spec = spec_of(o);
    set_default(spec, "replicas", json!(1));
    pod::default_template(spec.get_mut("template"));
    if let Some(labels) = template_labels {
        if spec
            .get("selector")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
        {
            spec.insert("selector".into(), labels.clone());
        }
        let meta = child(o, "metadata");
        if meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
        {
            meta.insert("labels".into(), labels);
        }
    }
}

fn service(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let config = child(child(spec, "sessionAffinityConfig"), "clientIP");
            set_default(config, "timeoutSeconds", json!(10800));
        }
        _ => {}
    }
    for p in array_mut(spec, "ports") {
        set_default(p, "protocol", json!("TCP"));
        let target_unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if target_unset && let Some(port) = p.get("port").cloned() {
            p.insert("targetPort".into(), port);
        }
    }
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible =
        ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && has_external_ips);
    if externally_accessible {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if ty != "ExternalName" {
        // What the IP allocator records on a single-stack IPv4 cluster.
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "ipFamilies", json!(["IPv4"]));
    }
    set_default(o, "status", json!({"loadBalancer": {}}));
}

fn namespace(o: &mut Map<String, Value>) {
    let name = o
        .get("metadata")
        .map(|m| str_of(m, "name"))
        .unwrap_or("")
        .to_string();
    if !name.is_empty() {
        child(child(o, "metadata"), "labels").insert(NAMESPACE_NAME_LABEL.into(), json!(name));
    }
    // A new namespace (no status yet) starts with the `kubernetes` finalizer; on update the
    // finalizers belong to the `finalize` subresource and are left alone.
    if o.get("status").and_then(|s| s.get("phase")).is_none() {
        set_default(spec_of(o), "finalizers", json!(["kubernetes"]));
    }
    set_default(child(o, "status"), "phase", json!("Active"));
}

fn secret(o: &mut Map<String, Value>) {
    match o.get("type") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => {
            o.insert("type".into(), json!("Opaque"));
        }
    }
    // v1 conversion: `stringData` is write-only; it is merged into `data`, winning over it.
    if let Some(Value::Object(string_data)) = o.remove("stringData") {
        let data = child(o, "data");
        for (k, v) in string_data {
            let text = v.as_str().map(str::to_string).unwrap_or(v.to_string());
            data.insert(
                k,
                json!(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

fn pvc_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "volumeMode", json!("Filesystem"));
}

fn pvc(o: &mut Map<String, Value>) {
    pvc_spec(spec_of(o));
    set_default(child(o, "status"), "phase", json!("Pending"));
}

fn pv(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
    set_default(spec, "volumeMode", json!("Filesystem"));
    set_default(child(o, "status"), "phase", json!("Pending"));
}

fn node(o: &mut Map<String, Value>) {
    if let Some(status) = o.get_mut("status").and_then(Value::as_object_mut)
        && let Some(capacity) = status.get("capacity").cloned()
    {
        set_default(status, "allocatable", capacity);
    }
}

fn endpoints(o: &mut Map<String, Value>) {
    for subset in array_mut(o, "subsets") {
        for p in array_mut(subset, "ports") {
            set_default(p, "protocol", json!("TCP"));
        }
    }
}

fn deployment(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    set_default(spec, "replicas", json!(1));
    let strategy = child(spec, "strategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = child(strategy, "rollingUpdate");
        set_default(rolling, "maxUnavailable", json!("25%"));
        set_default(rolling, "maxSurge", json!("25%"));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    pod::default_template(spec.get_mut("template"));
}

fn replica_set(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    set_default(spec, "replicas", json!(1));
    pod::default_template(spec.get_mut("template"));
}

fn stateful_set(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    let strategy = child(spec, "updateStrategy");
    if strategy
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        strategy.insert("type".into(), json!("RollingUpdate"));
        child(strategy, "rollingUpdate");
    }
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
        && let Some(rolling) = strategy
            .get_mut("rollingUpdate")
            .and_then(Value::as_object_mut)
    {
        set_default(rolling, "partition", json!(0));
    }
    let retention = child(spec, "persistentVolumeClaimRetentionPolicy");
    set_default(retention, "whenDeleted", json!("Retain"));
    set_default(retention, "whenScaled", json!("Retain"));
    set_default(spec, "revisionHistoryLimit", json!(10));
    pod::default_template(spec.get_mut("template"));
    for claim in array_mut(spec, "volumeClaimTemplates") {
        pvc_spec(child(claim, "spec"));
        set_default(child(claim, "status"), "phase", json!("Pending"));
    }
}

fn daemon_set(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    let strategy = child(spec, "updateStrategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = child(strategy, "rollingUpdate");
        set_default(rolling, "maxUnavailable", json!(1));
        set_default(rolling, "maxSurge", json!(0));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    pod::default_template(spec.get_mut("template"));
}

fn job(o: &mut Map<String, Value>) {
    let uid = o
        .get("metadata")
        .map(|m| str_of(m, "uid"))
        .unwrap_or("")
        .to_string();
    let name = o
        .get("metadata")
        .map(|m| str_of(m, "name"))
        .unwrap_or("")
        .to_string();
    let spec = spec_of(o);
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let per_index = spec
        .get("backoffLimitPerIndex")
        .is_some_and(|v| !v.is_null());
    set_default(
        spec,
        "backoffLimit",
        json!(if per_index { i64::from(i32::MAX) } else { 6 }),
    );
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let replacement = if spec.get("podFailurePolicy").is_some_and(|v| !v.is_null()) {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    set_default(spec, "manualSelector", json!(false));
    pod::default_template(spec.get_mut("template"));
    // The create strategy's generated selector: the pods carry the job's uid and name, and the
    // selector picks the uid.
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    if !manual && !uid.is_empty() {
        let labels = child(child(child(spec, "template"), "metadata"), "labels");
        for key in [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL] {
            labels.entry(key).or_insert_with(|| json!(name));
        }
        for key in [LEGACY_JOB_CONTROLLER_UID_LABEL, JOB_CONTROLLER_UID_LABEL] {
            labels.entry(key).or_insert_with(|| json!(uid));
        }
        child(child(spec, "selector"), "matchLabels")
            .entry(JOB_CONTROLLER_UID_LABEL)
            .or_insert_with(|| json!(uid));
    }
    // A Job without labels of its own takes its pod template's.
    let template_labels = spec
        .get("template")
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    if let Some(labels) = template_labels {
        let meta = child(o, "metadata");
        if meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
        {
            meta.insert("labels".into(), labels);
        }
    }
}

fn cron_job(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    let job_spec = child(child(spec, "jobTemplate"), "spec");
    pod::default_template(job_spec.get_mut("template"));
}

fn network_policy(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    for direction in ["ingress", "egress"] {
        for rule in array_mut(spec, direction) {
            for p in array_mut(rule, "ports") {
                set_default(p, "protocol", json!("TCP"));
            }
        }
    }
    let has_types = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_types {
        let has_egress = spec
            .get("egress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let types = if has_egress {
            json!(["Ingress", "Egress"])
        } else {
            json!(["Ingress"])
        };
        spec.insert("policyTypes".into(), types);
    }
}

fn hpa(o: &mut Map<String, Value>) {
    let spec = spec_of(o);
    set_default(spec, "minReplicas", json!(1));
    let has_metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_metrics {
        spec.insert(
            "metrics".into(),
            json!([{
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
            }]),
        );
    }
    if let Some(behavior) = spec.get_mut("behavior").and_then(Value::as_object_mut) {
        let up = child(behavior, "scaleUp");
        set_default(up, "stabilizationWindowSeconds", json!(0));
        set_default(up, "selectPolicy", json!("Max"));
        if up
            .get("policies")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            up.insert(
                "policies".into(),
                json!([
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15}
                ]),
            );
        }
        let down = child(behavior, "scaleDown");
        set_default(down, "stabilizationWindowSeconds", json!(300));
        set_default(down, "selectPolicy", json!("Max"));
        if down
            .get("policies")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            down.insert(
                "policies".into(),
                json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
            );
        }
    }
}

fn role_binding(o: &mut Map<String, Value>) {
    if let Some(role_ref) = o.get_mut("roleRef").and_then(Value::as_object_mut)
        && str_of(&Value::Object(role_ref.clone()), "apiGroup").is_empty()
    {
        role_ref.insert("apiGroup".into(), json!("rbac.authorization.k8s.io"));
    }
    for subject in array_mut(o, "subjects") {
        let has_group = subject
            .get("apiGroup")
            .and_then(Value::as_str)
            .is_some_and(|g| !g.is_empty());
        // ServiceAccount subjects default to the core group, which JSON leaves out.
        if !has_group
            && matches!(
                subject.get("kind").and_then(Value::as_str),
                Some("User" | "Group")
            )
        {
            subject.insert("apiGroup".into(), json!("rbac.authorization.k8s.io"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::apply_defaults;
    use crate::kinds::tests::info;

    fn defaulted(group: &str, kind: &str, obj: Value) -> Value {
        let mut obj = obj;
        apply_defaults(&info(group, kind), &mut obj);
        obj
    }

    fn pod_spec() -> Value {
        json!({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]})
    }

    #[test]
    fn pod_defaults() {
        let pod = defaulted(
            "",
            "Pod",
            json!({"metadata": {"name": "p", "namespace": "default"}, "spec": pod_spec()}),
        );
        let spec = &pod["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["resources"], json!({}));
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(
            pod["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
        // Idempotent.
        assert_eq!(defaulted("", "Pod", pod.clone()), pod);
    }

    #[test]
    fn pod_requests_default_to_limits_and_qos() {
        let pod = defaulted(
            "",
            "Pod",
            json!({"spec": {"containers": [{"name": "a", "image": "x:1",
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}),
        );
        let c = &pod["spec"]["containers"][0];
        assert_eq!(
            c["resources"]["requests"],
            json!({"cpu": "1", "memory": "1Gi"})
        );
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["status"]["qosClass"], "Guaranteed");
    }

    #[test]
    fn pod_status_kept_on_update() {
        let pod = defaulted(
            "",
            "Pod",
            json!({"spec": pod_spec(), "status": {"phase": "Running", "qosClass": "BestEffort"}}),
        );
        assert_eq!(pod["status"]["phase"], "Running");
    }

    #[test]
    fn pod_probe_and_volume_defaults() {
        let pod = defaulted(
            "",
            "Pod",
            json!({"spec": {
                "containers": [{"name": "a", "image": "x",
                    "livenessProbe": {"httpGet": {"port": 80}},
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
                "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}}]
            }}),
        );
        let probe = &pod["spec"]["containers"][0]["livenessProbe"];
        assert_eq!(probe["timeoutSeconds"], 1);
        assert_eq!(probe["periodSeconds"], 10);
        assert_eq!(probe["successThreshold"], 1);
        assert_eq!(probe["failureThreshold"], 3);
        assert_eq!(probe["httpGet"]["path"], "/");
        assert_eq!(probe["httpGet"]["scheme"], "HTTP");
        assert_eq!(
            pod["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"],
            "v1"
        );
        assert_eq!(pod["spec"]["volumes"][0]["emptyDir"], json!({}));
        assert_eq!(pod["spec"]["volumes"][1]["configMap"]["defaultMode"], 420);
    }

    #[test]
    fn limit_range_items_default_from_max_default_and_min() {
        let lr = defaulted(
            "",
            "LimitRange",
            json!({"spec": {"limits": [
                {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m", "ephemeral-storage": "1Gi"},
                 "default": {"cpu": "500m"}},
                {"type": "Pod", "max": {"cpu": "4"}},
            ]}}),
        );
        let c = &lr["spec"]["limits"][0];
        assert_eq!(c["default"], json!({"cpu": "500m", "memory": "1Gi"}));
        assert_eq!(
            c["defaultRequest"],
            json!({"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1Gi"})
        );
        // Only Container items are defaulted.
        assert!(lr["spec"]["limits"][1].get("default").is_none());
    }

    #[test]
    fn deployment_defaults() {
        let d = defaulted(
            "apps",
            "Deployment",
            json!({"spec": {"selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a"}}, "spec": pod_spec()}}}),
        );
        let spec = &d["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        let t = &spec["template"]["spec"];
        assert_eq!(t["restartPolicy"], "Always");
        assert_eq!(t["containers"][0]["imagePullPolicy"], "Always");
        // Pod-only defaults stay off templates.
        assert!(t.get("enableServiceLinks").is_none());
        assert!(t.get("serviceAccountName").is_none());
        let recreate = defaulted(
            "apps",
            "Deployment",
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        );
        assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn replica_set_and_rc_defaults() {
        let rs = defaulted("apps", "ReplicaSet", json!({"spec": {}}));
        assert_eq!(rs["spec"]["replicas"], 1);
        let rc = defaulted(
            "",
            "ReplicationController",
            json!({"metadata": {"name": "r"}, "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec()}}}),
        );
        assert_eq!(rc["spec"]["replicas"], 1);
        assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
        assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
    }

    #[test]
    fn stateful_set_defaults() {
        let s = defaulted(
            "apps",
            "StatefulSet",
            json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]}}),
        );
        let spec = &s["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            spec["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(
            spec["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(
            spec["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Filesystem"
        );
        assert_eq!(
            spec["volumeClaimTemplates"][0]["status"]["phase"],
            "Pending"
        );
        let on_delete = defaulted(
            "apps",
            "StatefulSet",
            json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
        );
        assert_eq!(
            on_delete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );
    }

    #[test]
    fn daemon_set_defaults() {
        let d = defaulted("apps", "DaemonSet", json!({"spec": {}}));
        assert_eq!(
            d["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    }

    #[test]
    fn job_defaults_and_generated_selector() {
        let j = defaulted(
            "batch",
            "Job",
            json!({"metadata": {"name": "pi", "uid": "u-1"},
                "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}}),
        );
        let spec = &j["spec"];
        assert_eq!(spec["completions"], 1);
        assert_eq!(spec["parallelism"], 1);
        assert_eq!(spec["backoffLimit"], 6);
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["manualSelector"], false);
        assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let labels = json!({
            "batch.kubernetes.io/controller-uid": "u-1",
            "batch.kubernetes.io/job-name": "pi",
            "controller-uid": "u-1",
            "job-name": "pi"
        });
        assert_eq!(spec["template"]["metadata"]["labels"], labels);
        assert_eq!(j["metadata"]["labels"], labels);
        assert_eq!(defaulted("batch", "Job", j.clone()), j);
        let parallel = defaulted("batch", "Job", json!({"spec": {"parallelism": 3}}));
        assert!(parallel["spec"].get("completions").is_none());
        let manual = defaulted(
            "batch",
            "Job",
            json!({"metadata": {"uid": "u"}, "spec": {"manualSelector": true}}),
        );
        assert!(manual["spec"].get("selector").is_none());
    }

    #[test]
    fn cron_job_defaults() {
        let c = defaulted(
            "batch",
            "CronJob",
            json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": pod_spec()}}}}}),
        );
        let spec = &c["spec"];
        assert_eq!(spec["concurrencyPolicy"], "Allow");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["successfulJobsHistoryLimit"], 3);
        assert_eq!(spec["failedJobsHistoryLimit"], 1);
        let job_spec = &spec["jobTemplate"]["spec"];
        assert_eq!(job_spec["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        assert!(job_spec.get("backoffLimit").is_none());
    }

    #[test]
    fn service_defaults() {
        let s = defaulted(
            "",
            "Service",
            json!({"spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}}),
        );
        let spec = &s["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["ports"][0]["targetPort"], 80);
        assert_eq!(spec["ports"][1]["targetPort"], "https");
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert!(spec.get("clusterIP").is_none());
        assert!(spec.get("externalTrafficPolicy").is_none());
        assert_eq!(s["status"], json!({"loadBalancer": {}}));
        let lb = defaulted(
            "",
            "Service",
            json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP"}}),
        );
        assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(
            lb["spec"]["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
        let ext = defaulted(
            "",
            "Service",
            json!({"spec": {"type": "ExternalName", "externalName": "x.com"}}),
        );
        assert!(ext["spec"].get("ipFamilies").is_none());
        assert!(ext["spec"].get("internalTrafficPolicy").is_none());
    }

    #[test]
    fn namespace_secret_volume_defaults() {
        let ns = defaulted("", "Namespace", json!({"metadata": {"name": "team-a"}}));
        assert_eq!(ns["metadata"]["labels"][NAMESPACE_NAME_LABEL], "team-a");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(ns["status"]["phase"], "Active");
        let finalized = defaulted(
            "",
            "Namespace",
            json!({"metadata": {"name": "team-a"}, "status": {"phase": "Terminating"}}),
        );
        assert!(finalized.get("spec").is_none());

        let s = defaulted(
            "",
            "Secret",
            json!({"data": {"a": "eA==", "b": "eA=="}, "stringData": {"b": "hello"}}),
        );
        assert_eq!(s["type"], "Opaque");
        assert_eq!(s["data"], json!({"a": "eA==", "b": "aGVsbG8="}));
        assert!(s.get("stringData").is_none());
        let tls = defaulted("", "Secret", json!({"type": "kubernetes.io/tls"}));
        assert_eq!(tls["type"], "kubernetes.io/tls");

        let pvc = defaulted("", "PersistentVolumeClaim", json!({"spec": {}}));
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["status"]["phase"], "Pending");
        let pv = defaulted("", "PersistentVolume", json!({"spec": {}}));
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pv["status"]["phase"], "Pending");
    }

    #[test]
    fn other_kind_defaults() {
        let np = defaulted(
            "networking.k8s.io",
            "NetworkPolicy",
            json!({"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}}),
        );
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
        let np = defaulted("networking.k8s.io", "NetworkPolicy", json!({"spec": {}}));
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress"]));

        let pc = defaulted("scheduling.k8s.io", "PriorityClass", json!({"value": 10}));
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");

        let hpa = defaulted(
            "autoscaling",
            "HorizontalPodAutoscaler",
            json!({"spec": {"maxReplicas": 3, "behavior": {"scaleDown": {"selectPolicy": "Min"}}}}),
        );
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
        assert_eq!(hpa["spec"]["behavior"]["scaleDown"]["selectPolicy"], "Min");
        assert_eq!(
            hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
            300
        );
        assert_eq!(
            hpa["spec"]["behavior"]["scaleUp"]["policies"][0]["value"],
            4
        );

        let rb = defaulted(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            json!({"roleRef": {"kind": "Role", "name": "r"},
                "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]}),
        );
        assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
        assert!(rb["subjects"][1].get("apiGroup").is_none());

        let cm = json!({"data": {"a": "b"}});
        assert_eq!(defaulted("", "ConfigMap", cm.clone()), cm);
    }
}
