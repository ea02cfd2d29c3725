//! Server-side printing: the `meta.k8s.io/v1 Table` kube-apiserver returns for `as=Table`.
//!
//! kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints whatever columns the
//! server sends, so the columns and cells here follow kube-apiserver's printers
//! (`pkg/printers/internalversion/printers.go`) column for column: the same names (kubectl
//! upper-cases them for headers), types, priorities (1 = `-o wide` only) and cell formatting,
//! including placeholders such as `<none>`, `<unset>` and `<unknown>`. Like kube-apiserver, the
//! server always fills the wide columns; kubectl hides the priority-1 ones. Kinds without a
//! printer get kube's default columns, `Name` and `Created At`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::registry::ResourceInfo;
use crate::selectors::LabelSelector;

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object (`"object": null`).
    None,
    /// A `meta.k8s.io/v1 PartialObjectMetadata` with the object's metadata; kube's default.
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Reads the `includeObject` query parameter (`None`, `Metadata`, `Object`); anything else,
    /// or nothing, is the default `Metadata`.
    pub fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// Builds the `Table` for a list (or, with one object, for a GET of one name).
///
/// `list_meta` becomes the table's `metadata` (`resourceVersion`, `continue`,
/// `remainingItemCount`); for a single object pass `{"resourceVersion": <the object's>}`.
pub fn table(
    info: &ResourceInfo,
    objects: &[Value],
    include_object: IncludeObject,
    now: DateTime<Utc>,
    list_meta: Value,
) -> Value {
    table_with_headers(info, objects, include_object, now, list_meta, true)
}

/// [`table`], optionally without `columnDefinitions` (`null`), as kube answers when the
/// client sets `TableOptions.noHeaders` (kubectl does so for watch events after the first).
pub fn table_with_headers(
    info: &ResourceInfo,
    objects: &[Value],
    include_object: IncludeObject,
    now: DateTime<Utc>,
    list_meta: Value,
    headers: bool,
) -> Value {
    let metadata = match list_meta {
        Value::Object(m) => Value::Object(m),
        _ => json!({}),
    };
    let columns = if headers {
        Value::Array(column_definitions(info))
    } else {
        Value::Null
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| row(info, obj, include_object, now))
        .collect();
    // kube's default convertor appends to a nil slice, so an empty list of a kind without a
    // printer has `"rows": null`; the printers start from an empty slice.
    let rows = if rows.is_empty() && printer_for(info) == Printer::Default && info.crd.is_none() {
        Value::Null
    } else {
        Value::Array(rows)
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// One `TableRow`: `cells`, `conditions` where the printer sets them (finished pods), and
/// `object` as `include_object` asks.
pub fn row(
    info: &ResourceInfo,
    obj: &Value,
    include_object: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(row_cells(info, obj, now)));
    if printer_for(info) == Printer::Pod {
        let condition = match str_at(obj, "/status/phase") {
            "Succeeded" => Some(("Succeeded", "The pod has completed successfully.")),
            "Failed" => Some(("Failed", "The pod failed.")),
            _ => None,
        };
        if let Some((reason, message)) = condition {
            row.insert(
                "conditions".into(),
                json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]),
            );
        }
    }
    let object = match include_object {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => {
            let mut full = obj.clone();
            if let Some(m) = full.as_object_mut() {
                m.entry("kind").or_insert_with(|| json!(info.kind));
                m.entry("apiVersion")
                    .or_insert_with(|| json!(info.api_version()));
            }
            full
        }
    };
    row.insert("object".into(), object);
    Value::Object(row)
}

/// The printers kube-apiserver has for the built-in resources we serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Printer {
    Pod,
    PodTemplate,
    PodDisruptionBudget,
    ReplicationController,
    ReplicaSet,
    DaemonSet,
    Job,
    CronJob,
    Service,
    Ingress,
    IngressClass,
    StatefulSet,
    Endpoints,
    Node,
    Event,
    Namespace,
    Secret,
    ServiceAccount,
    PersistentVolume,
    PersistentVolumeClaim,
    Deployment,
    HorizontalPodAutoscaler,
    ConfigMap,
    NetworkPolicy,
    RoleBinding,
    ClusterRoleBinding,
    Lease,
    StorageClass,
    ControllerRevision,
    ResourceQuota,
    PriorityClass,
    RuntimeClass,
    EndpointSlice,
    /// kube's default table convertor: `Name`, `Created At`.
    Default,
}

fn printer_for(info: &ResourceInfo) -> Printer {
    use Printer::*;
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => Pod,
        ("", "podtemplates") => PodTemplate,
        ("policy", "poddisruptionbudgets") => PodDisruptionBudget,
        ("", "replicationcontrollers") => ReplicationController,
        ("apps", "replicasets") => ReplicaSet,
        ("apps", "daemonsets") => DaemonSet,
        ("batch", "jobs") => Job,
        ("batch", "cronjobs") => CronJob,
        ("", "services") => Service,
        ("networking.k8s.io", "ingresses") => Ingress,
        ("networking.k8s.io", "ingressclasses") => IngressClass,
        ("apps", "statefulsets") => StatefulSet,
        ("", "endpoints") => Endpoints,
        ("", "nodes") => Node,
        ("", "events") | ("events.k8s.io", "events") => Event,
        ("", "namespaces") => Namespace,
        ("", "secrets") => Secret,
        ("", "serviceaccounts") => ServiceAccount,
        ("", "persistentvolumes") => PersistentVolume,
        ("", "persistentvolumeclaims") => PersistentVolumeClaim,
        ("apps", "deployments") => Deployment,
        ("autoscaling", "horizontalpodautoscalers") => HorizontalPodAutoscaler,
        ("", "configmaps") => ConfigMap,
        ("networking.k8s.io", "networkpolicies") => NetworkPolicy,
        ("rbac.authorization.k8s.io", "rolebindings") => RoleBinding,
        ("rbac.authorization.k8s.io", "clusterrolebindings") => ClusterRoleBinding,
        ("coordination.k8s.io", "leases") => Lease,
        ("storage.k8s.io", "storageclasses") => StorageClass,
        ("apps", "controllerrevisions") => ControllerRevision,
        ("", "resourcequotas") => ResourceQuota,
        ("scheduling.k8s.io", "priorityclasses") => PriorityClass,
        ("node.k8s.io", "runtimeclasses") => RuntimeClass,
        ("discovery.k8s.io", "endpointslices") => EndpointSlice,
        _ => Default,
    }
}

/// One column: name, type, format, description, priority.
type Column = (&'static str, &'static str, &'static str, &'static str, i32);

const CONTAINERS: &str = "Names of each container in the template.";
const IMAGES: &str = "Images referenced by each container in the template.";

fn name_col() -> Column {
    ("Name", "string", "name", desc::NAME, 0)
}

fn age_col() -> Column {
    ("Age", "string", "", desc::CREATION_TIMESTAMP, 0)
}

fn columns(printer: Printer) -> Vec<Column> {
    use Printer::*;
    let s = "string";
    let int = "integer";
    let boolean = "boolean";
    match printer {
        Pod => vec![
            name_col(),
            (
                "Ready",
                s,
                "",
                "The aggregate readiness state of this pod for accepting traffic.",
                0,
            ),
            (
                "Status",
                s,
                "",
                "The aggregate status of the containers in this pod.",
                0,
            ),
            (
                "Restarts",
                s,
                "",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                0,
            ),
            age_col(),
            ("IP", s, "", desc::POD_IP, 1),
            ("Node", s, "", desc::POD_NODE_NAME, 1),
            ("Nominated Node", s, "", desc::POD_NOMINATED_NODE, 1),
            ("Readiness Gates", s, "", desc::POD_READINESS_GATES, 1),
        ],
        PodTemplate => vec![
            name_col(),
            ("Containers", s, "", CONTAINERS, 0),
            ("Images", s, "", IMAGES, 0),
            ("Pod Labels", s, "", "The labels for the pod template.", 0),
        ],
        PodDisruptionBudget => vec![
            name_col(),
            (
                "Min Available",
                s,
                "",
                "The minimum number of pods that must be available.",
                0,
            ),
            (
                "Max Unavailable",
                s,
                "",
                "The maximum number of pods that may be unavailable.",
                0,
            ),
            (
                "Allowed Disruptions",
                int,
                "",
                "Calculated number of pods that may be disrupted at this time.",
                0,
            ),
            age_col(),
        ],
        ReplicationController => vec![
            name_col(),
            ("Desired", int, "", desc::RC_SPEC_REPLICAS, 0),
            ("Current", int, "", desc::RC_STATUS_REPLICAS, 0),
            ("Ready", int, "", desc::RC_READY_REPLICAS, 0),
            age_col(),
            ("Containers", s, "", CONTAINERS, 1),
            ("Images", s, "", IMAGES, 1),
            ("Selector", s, "", desc::RC_SELECTOR, 1),
        ],
        ReplicaSet => vec![
            name_col(),
            ("Desired", int, "", desc::RS_SPEC_REPLICAS, 0),
            ("Current", int, "", desc::RS_STATUS_REPLICAS, 0),
            ("Ready", int, "", desc::RS_READY_REPLICAS, 0),
            age_col(),
            ("Containers", s, "", CONTAINERS, 1),
            ("Images", s, "", IMAGES, 1),
            ("Selector", s, "", desc::RS_SELECTOR, 1),
        ],
        DaemonSet => vec![
            name_col(),
            ("Desired", int, "", desc::DS_DESIRED, 0),
            ("Current", int, "", desc::DS_CURRENT, 0),
            ("Ready", int, "", desc::DS_READY, 0),
            ("Up-to-date", int, "", desc::DS_UPDATED, 0),
            ("Available", int, "", desc::DS_AVAILABLE, 0),
            ("Node Selector", s, "", desc::POD_NODE_SELECTOR, 0),
            age_col(),
            ("Containers", s, "", CONTAINERS, 1),
            ("Images", s, "", IMAGES, 1),
            ("Selector", s, "", desc::DS_SELECTOR, 1),
        ],
        Job => vec![
            name_col(),
            ("Status", s, "", "Status of the job.", 0),
            ("Completions", s, "", desc::JOB_SUCCEEDED, 0),
            ("Duration", s, "", "Time required to complete the job.", 0),
            age_col(),
            ("Containers", s, "", CONTAINERS, 1),
            ("Images", s, "", IMAGES, 1),
            ("Selector", s, "", desc::JOB_SELECTOR, 1),
        ],
        CronJob => vec![
            name_col(),
            ("Schedule", s, "", desc::CJ_SCHEDULE, 0),
            ("Timezone", s, "", desc::CJ_TIME_ZONE, 0),
            ("Suspend", boolean, "", desc::CJ_SUSPEND, 0),
            ("Active", int, "", desc::CJ_ACTIVE, 0),
            ("Last Schedule", s, "", desc::CJ_LAST_SCHEDULE, 0),
            age_col(),
            ("Containers", s, "", CONTAINERS, 1),
            ("Images", s, "", IMAGES, 1),
            ("Selector", s, "", desc::JOB_SELECTOR, 1),
        ],
        Service => vec![
            name_col(),
            ("Type", s, "", desc::SVC_TYPE, 0),
            ("Cluster-IP", s, "", desc::SVC_CLUSTER_IP, 0),
            ("External-IP", s, "", desc::SVC_EXTERNAL_IPS, 0),
            ("Port(s)", s, "", desc::SVC_PORTS, 0),
            age_col(),
            ("Selector", s, "", desc::SVC_SELECTOR, 1),
        ],
        Ingress => vec![
            name_col(),
            (
                "Class",
                s,
                "",
                "The name of the IngressClass resource that should be used for additional configuration",
                0,
            ),
            (
                "Hosts",
                s,
                "",
                "Hosts that incoming requests are matched against before the ingress rule",
                0,
            ),
            (
                "Address",
                s,
                "",
                "Address is a list containing ingress points for the load-balancer",
                0,
            ),
            ("Ports", s, "", "Ports of TLS configurations that open", 0),
            age_col(),
        ],
        IngressClass => vec![
            name_col(),
            (
                "Controller",
                s,
                "",
                "Controller that is responsible for handling this class",
                0,
            ),
            (
                "Parameters",
                s,
                "",
                "A reference to a resource with additional parameters",
                0,
            ),
            age_col(),
        ],
        StatefulSet => vec![
            name_col(),
            ("Ready", s, "", "Number of the pod with ready state", 0),
            age_col(),
            ("Containers", s, "", CONTAINERS, 1),
            ("Images", s, "", IMAGES, 1),
        ],
        Endpoints => vec![
            name_col(),
            ("Endpoints", s, "", desc::ENDPOINTS_SUBSETS, 0),
            age_col(),
        ],
        Node => vec![
            name_col(),
            ("Status", s, "", "The status of the node", 0),
            ("Roles", s, "", "The roles of the node", 0),
            age_col(),
            ("Version", s, "", desc::NODE_KUBELET_VERSION, 0),
            ("Internal-IP", s, "", desc::NODE_ADDRESSES, 1),
            ("External-IP", s, "", desc::NODE_ADDRESSES, 1),
            ("OS-Image", s, "", desc::NODE_OS_IMAGE, 1),
            ("Kernel-Version", s, "", desc::NODE_KERNEL_VERSION, 1),
            ("Container-Runtime", s, "", desc::NODE_CONTAINER_RUNTIME, 1),
        ],
        Event => vec![
            ("Last Seen", s, "", desc::EVENT_LAST_TIMESTAMP, 0),
            ("Type", s, "", desc::EVENT_TYPE, 0),
            ("Reason", s, "", desc::EVENT_REASON, 0),
            ("Object", s, "", desc::EVENT_INVOLVED_OBJECT, 0),
            ("Subobject", s, "", desc::OBJECT_REFERENCE_FIELD_PATH, 1),
            ("Source", s, "", desc::EVENT_SOURCE, 1),
            ("Message", s, "", desc::EVENT_MESSAGE, 0),
            ("First Seen", s, "", desc::EVENT_FIRST_TIMESTAMP, 1),
            ("Count", s, "", desc::EVENT_COUNT, 1),
            ("Name", s, "name", desc::NAME, 1),
        ],
        Namespace => vec![
            name_col(),
            ("Status", s, "", "The status of the namespace", 0),
            age_col(),
        ],
        Secret => vec![
            name_col(),
            ("Type", s, "", desc::SECRET_TYPE, 0),
            ("Data", s, "", desc::SECRET_DATA, 0),
            age_col(),
        ],
        ServiceAccount => vec![
            name_col(),
            ("Secrets", s, "", desc::SA_SECRETS, 0),
            age_col(),
        ],
        PersistentVolume => vec![
            name_col(),
            ("Capacity", s, "", desc::PV_CAPACITY, 0),
            ("Access Modes", s, "", desc::PV_ACCESS_MODES, 0),
            ("Reclaim Policy", s, "", desc::PV_RECLAIM_POLICY, 0),
            ("Status", s, "", desc::PV_PHASE, 0),
            ("Claim", s, "", desc::PV_CLAIM_REF, 0),
            ("StorageClass", s, "", "StorageClass of the pv", 0),
            (
                "VolumeAttributesClass",
                s,
                "",
                "VolumeAttributesClass of the pv",
                0,
            ),
            ("Reason", s, "", desc::PV_REASON, 0),
            age_col(),
            ("VolumeMode", s, "", desc::PV_VOLUME_MODE, 1),
        ],
        PersistentVolumeClaim => vec![
            name_col(),
            ("Status", s, "", desc::PVC_PHASE, 0),
            ("Volume", s, "", desc::PVC_VOLUME_NAME, 0),
            ("Capacity", s, "", desc::PVC_CAPACITY, 0),
            ("Access Modes", s, "", desc::PVC_ACCESS_MODES, 0),
            ("StorageClass", s, "", "StorageClass of the pvc", 0),
            (
                "VolumeAttributesClass",
                s,
                "",
                "VolumeAttributesClass of the pvc",
                0,
            ),
            age_col(),
            ("VolumeMode", s, "", desc::PVC_VOLUME_MODE, 1),
        ],
        Deployment => vec![
            name_col(),
            ("Ready", s, "", "Number of the pod with ready state", 0),
            ("Up-to-date", s, "", desc::DEPLOY_UPDATED, 0),
            ("Available", s, "", desc::DEPLOY_AVAILABLE, 0),
            age_col(),
            ("Containers", s, "", CONTAINERS, 1),
            ("Images", s, "", IMAGES, 1),
            ("Selector", s, "", desc::DEPLOY_SELECTOR, 1),
        ],
        HorizontalPodAutoscaler => vec![
            name_col(),
            ("Reference", s, "", desc::HPA_SCALE_TARGET_REF, 0),
            ("Targets", s, "", desc::HPA_METRICS, 0),
            ("MinPods", s, "", desc::HPA_MIN_REPLICAS, 0),
            ("MaxPods", s, "", desc::HPA_MAX_REPLICAS, 0),
            ("Replicas", s, "", desc::HPA_CURRENT_REPLICAS, 0),
            age_col(),
        ],
        ConfigMap => vec![
            name_col(),
            ("Data", s, "", desc::CONFIGMAP_DATA, 0),
            age_col(),
        ],
        NetworkPolicy => vec![
            name_col(),
            ("Pod-Selector", s, "", desc::NETPOL_POD_SELECTOR, 0),
            age_col(),
        ],
        RoleBinding => vec![
            name_col(),
            ("Role", s, "", desc::ROLEBINDING_ROLE_REF, 0),
            age_col(),
            ("Users", s, "", "Users in the roleBinding", 1),
            ("Groups", s, "", "Groups in the roleBinding", 1),
            (
                "ServiceAccounts",
                s,
                "",
                "ServiceAccounts in the roleBinding",
                1,
            ),
        ],
        ClusterRoleBinding => vec![
            name_col(),
            ("Role", s, "", desc::CLUSTERROLEBINDING_ROLE_REF, 0),
            age_col(),
            ("Users", s, "", "Users in the clusterRoleBinding", 1),
            ("Groups", s, "", "Groups in the clusterRoleBinding", 1),
            (
                "ServiceAccounts",
                s,
                "",
                "ServiceAccounts in the clusterRoleBinding",
                1,
            ),
        ],
        Lease => vec![
            name_col(),
            ("Holder", s, "", desc::LEASE_HOLDER, 0),
            age_col(),
        ],
        StorageClass => vec![
            name_col(),
            ("Provisioner", s, "", desc::SC_PROVISIONER, 0),
            ("ReclaimPolicy", s, "", desc::SC_RECLAIM_POLICY, 0),
            ("VolumeBindingMode", s, "", desc::SC_BINDING_MODE, 0),
            ("AllowVolumeExpansion", s, "", desc::SC_ALLOW_EXPANSION, 0),
            age_col(),
        ],
        ControllerRevision => vec![
            name_col(),
            ("Controller", s, "", "Controller of the object", 0),
            ("Revision", s, "", desc::CONTROLLER_REVISION_REVISION, 0),
            age_col(),
        ],
        ResourceQuota => vec![
            name_col(),
            (
                "Request",
                s,
                "",
                "Request represents a minimum amount of cpu/memory that a container may consume.",
                0,
            ),
            (
                "Limit",
                s,
                "",
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
                0,
            ),
            age_col(),
        ],
        PriorityClass => vec![
            name_col(),
            ("Value", int, "", desc::PC_VALUE, 0),
            ("Global-Default", boolean, "", desc::PC_GLOBAL_DEFAULT, 0),
            age_col(),
            ("PreemptionPolicy", s, "", desc::PC_PREEMPTION_POLICY, 0),
        ],
        // kube reads this description from ObjectMeta's docs, which have no `handler`: empty.
        RuntimeClass => vec![name_col(), ("Handler", s, "", "", 0), age_col()],
        EndpointSlice => vec![
            name_col(),
            ("AddressType", s, "", desc::EPS_ADDRESS_TYPE, 0),
            ("Ports", s, "", desc::EPS_PORTS, 0),
            ("Endpoints", s, "", desc::EPS_ENDPOINTS, 0),
            age_col(),
        ],
        Default => vec![
            name_col(),
            ("Created At", "date", "", desc::CREATION_TIMESTAMP, 0),
        ],
    }
}

/// The `columnDefinitions` for a resource, each
/// `{"name","type","format","description","priority"}` as kube-apiserver sends them.
pub fn column_definitions(info: &ResourceInfo) -> Vec<Value> {
    if info.crd.is_some() {
        return crate::crd::column_definitions(info);
    }
    columns(printer_for(info))
        .into_iter()
        .map(|(name, ty, format, description, priority)| {
            json!({
                "name": name,
                "type": ty,
                "format": format,
                "description": description,
                "priority": priority,
            })
        })
        .collect()
}

/// The cells of one object's row, one per column of [`column_definitions`] (wide columns
/// included), as strings, integers and booleans exactly as kube's printers produce them.
pub fn row_cells(info: &ResourceInfo, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    if info.crd.is_some() {
        return crate::crd::printer_cells(obj, &crate::crd::printer_columns(info), now);
    }
    use Printer::*;
    match printer_for(info) {
        Pod => pod_cells(obj, now),
        PodTemplate => pod_template_cells(obj),
        PodDisruptionBudget => pdb_cells(obj, now),
        ReplicationController => replication_controller_cells(obj, now),
        ReplicaSet => replica_set_cells(obj, now),
        DaemonSet => daemon_set_cells(obj, now),
        Job => job_cells(obj, now),
        CronJob => cron_job_cells(obj, now),
        Service => service_cells(obj, now),
        Ingress => ingress_cells(obj, now),
        IngressClass => ingress_class_cells(obj, now),
        StatefulSet => stateful_set_cells(obj, now),
        Endpoints => endpoints_cells(obj, now),
        Node => node_cells(obj, now),
        Event => event_cells(&event_as_core(info, obj), now),
        Namespace => vec![
            json!(name(obj)),
            json!(str_at(obj, "/status/phase")),
            json!(age(obj, now)),
        ],
        Secret => vec![
            json!(name(obj)),
            json!(str_at(obj, "/type")),
            json!(map_len(obj, "/data")),
            json!(age(obj, now)),
        ],
        ServiceAccount => vec![
            json!(name(obj)),
            json!(array_at(obj, "/secrets").len()),
            json!(age(obj, now)),
        ],
        PersistentVolume => persistent_volume_cells(obj, now),
        PersistentVolumeClaim => persistent_volume_claim_cells(obj, now),
        Deployment => deployment_cells(obj, now),
        HorizontalPodAutoscaler => hpa_cells(info, obj, now),
        ConfigMap => vec![
            json!(name(obj)),
            json!(map_len(obj, "/data") + map_len(obj, "/binaryData")),
            json!(age(obj, now)),
        ],
        NetworkPolicy => {
            // A missing podSelector is the empty selector (everything), not nothing.
            let selector = match obj.pointer("/spec/podSelector") {
                Some(v) if !v.is_null() => v.clone(),
                _ => json!({}),
            };
            vec![
                json!(name(obj)),
                json!(format_label_selector(&selector)),
                json!(age(obj, now)),
            ]
        }
        RoleBinding | ClusterRoleBinding => role_binding_cells(obj, now),
        Lease => vec![
            json!(name(obj)),
            json!(str_at(obj, "/spec/holderIdentity")),
            json!(age(obj, now)),
        ],
        StorageClass => storage_class_cells(obj, now),
        ControllerRevision => controller_revision_cells(obj, now),
        ResourceQuota => resource_quota_cells(obj, now),
        PriorityClass => vec![
            json!(name(obj)),
            json!(int_at(obj, "/value")),
            json!(bool_at(obj, "/globalDefault")),
            json!(age(obj, now)),
            json!(str_at(obj, "/preemptionPolicy")),
        ],
        RuntimeClass => vec![
            json!(name(obj)),
            json!(str_at(obj, "/handler")),
            json!(age(obj, now)),
        ],
        EndpointSlice => endpoint_slice_cells(obj, now),
        Default => {
            // RFC 3339 in UTC; Go's zero time when unset.
            let created = match time_at(obj, "/metadata/creationTimestamp") {
                Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                None => "0001-01-01T00:00:00Z".to_string(),
            };
            vec![json!(name(obj)), json!(created)]
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Durations and timestamps.

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`: ~2-3 significant figures
/// (`45s`, `5m20s`, `15m`, `3h10m`, `20h`, `2d3h`, `45d`, `2y30d`, `9y`); up to a second in
/// the future is `0s` (clock skew), more is `<invalid>`.
pub fn human_duration(d: TimeDelta) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d.num_minutes();
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d.num_hours();
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{h}h", hours / 24)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{dy}d", hours / 24 / 365)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// A timestamp field, `None` when absent, null, unparsable or Go's zero time.
fn time_at(obj: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    let s = obj.pointer(pointer)?.as_str()?;
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    (t.timestamp() != GO_ZERO_TIME_UNIX).then_some(t)
}

/// `0001-01-01T00:00:00Z`, Go's zero `time.Time`, in Unix seconds.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// `translateTimestampSince`: `<unknown>` for no time, else the human age.
fn since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}

fn age(obj: &Value, now: DateTime<Utc>) -> String {
    since(time_at(obj, "/metadata/creationTimestamp"), now)
}

// ---------------------------------------------------------------------------------------------
// Field access on unstructured objects: Go's zero value when a field is missing.

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn opt_str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

fn int_at(obj: &Value, pointer: &str) -> i64 {
    opt_int_at(obj, pointer).unwrap_or(0)
}

fn opt_int_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

fn bool_at(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn array_at<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn map_len(obj: &Value, pointer: &str) -> usize {
    obj.pointer(pointer)
        .and_then(Value::as_object)
        .map_or(0, Map::len)
}

fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// A `resource.Quantity` as kube prints it; we print the stored string (a missing one is `0`).
fn quantity_at(obj: &Value, pointer: &str) -> String {
    match obj.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// `labels.FormatLabels`: `k=v,...` sorted by key, or `<none>`.
fn format_labels(map: Option<&Value>) -> String {
    let Some(map) = map.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".to_string();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when empty, `<error>` when
/// invalid.
fn format_label_selector(selector: &Value) -> String {
    match LabelSelector::from_label_selector_json(selector) {
        Ok(sel) => {
            let s = sel.to_string();
            if s.is_empty() {
                "<none>".to_string()
            } else {
                s
            }
        }
        Err(_) => "<error>".to_string(),
    }
}

/// `layoutContainerCells`: container names and images, comma-joined.
fn container_cells(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn has_condition(conditions: &[Value], ty: &str) -> bool {
    conditions
        .iter()
        .find(|c| str_at(c, "/type") == ty)
        .is_some_and(|c| str_at(c, "/status") == "True")
}

/// `printBoolPtr`: `True`, `False` or `<unset>`.
fn bool_ptr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_bool) {
        Some(true) => "True".to_string(),
        Some(false) => "False".to_string(),
        None => "<unset>".to_string(),
    }
}

/// Joins the first three items and adds `+ N more...` (`listWithMoreString`; `<unset>` if none).
fn list_with_more(items: &[String], total: usize) -> String {
    let max = 3;
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    let ret = shown.join(",");
    if total > max {
        return format!("{ret} + {} more...", total - max);
    }
    if ret.is_empty() {
        "<unset>".to_string()
    } else {
        ret
    }
}

/// `net.JoinHostPort`: brackets around IPv6 addresses.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

// ---------------------------------------------------------------------------------------------
// Pods.

fn is_restartable_init_container(container: Option<&Value>) -> bool {
    container.is_some_and(|c| str_at(c, "/restartPolicy") == "Always")
}

/// `printPod`'s cells: Name, Ready, Status, Restarts, Age, IP, Node, Nominated Node,
/// Readiness Gates.
fn pod_cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec_containers = array_at(pod, "/spec/containers");
    let spec_init = array_at(pod, "/spec/initContainers");
    let conditions = array_at(pod, "/status/conditions");

    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let mut total_containers = spec_containers.len();
    let mut ready_containers = 0;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_restartable_init_restart: Option<DateTime<Utc>> = None;

    let phase = str_at(pod, "/status/phase");
    let mut reason = phase.to_string();
    let status_reason = str_at(pod, "/status/reason");
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }
    for c in conditions {
        if str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    let init_by_name = |name: &str| spec_init.iter().find(|c| str_at(c, "/name") == name);
    total_containers += spec_init
        .iter()
        .filter(|c| is_restartable_init_container(Some(c)))
        .count();

    let later = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };

    let mut initializing = false;
    let init_statuses = array_at(pod, "/status/initContainerStatuses");
    for (i, container) in init_statuses.iter().enumerate() {
        let count = int_at(container, "/restartCount");
        restarts += count;
        let terminated_at = time_at(container, "/lastState/terminated/finishedAt");
        last_restart = later(last_restart, terminated_at);
        let restartable = is_restartable_init_container(init_by_name(str_at(container, "/name")));
        if restartable {
            restartable_init_restarts += count;
            last_restartable_init_restart = later(last_restartable_init_restart, terminated_at);
        }
        let terminated = container
            .pointer("/state/terminated")
            .filter(|v| v.is_object());
        let waiting_reason = str_at(container, "/state/waiting/reason");
        if terminated.is_some_and(|t| int_at(t, "/exitCode") == 0) {
            continue;
        } else if restartable && bool_at(container, "/started") {
            if bool_at(container, "/ready") {
                ready_containers += 1;
            }
            continue;
        } else if let Some(t) = terminated {
            let r = str_at(t, "/reason");
            reason = if r.is_empty() {
                let signal = int_at(t, "/signal");
                if signal != 0 {
                    format!("Init:Signal:{signal}")
                } else {
                    format!("Init:ExitCode:{}", int_at(t, "/exitCode"))
                }
            } else {
                format!("Init:{r}")
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", spec_init.len());
        }
        initializing = true;
        break;
    }

    if !initializing || has_condition(conditions, "Initialized") {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        for container in array_at(pod, "/status/containerStatuses").iter().rev() {
            restarts += int_at(container, "/restartCount");
            last_restart = later(
                last_restart,
                time_at(container, "/lastState/terminated/finishedAt"),
            );
            let waiting_reason = str_at(container, "/state/waiting/reason");
            let terminated = container
                .pointer("/state/terminated")
                .filter(|v| v.is_object());
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, "/reason");
                reason = if !r.is_empty() {
                    r.to_string()
                } else {
                    let signal = int_at(t, "/signal");
                    if signal != 0 {
                        format!("Signal:{signal}")
                    } else {
                        format!("ExitCode:{}", int_at(t, "/exitCode"))
                    }
                };
            } else if bool_at(container, "/ready")
                && container
                    .pointer("/state/running")
                    .is_some_and(Value::is_object)
            {
                has_running = true;
                ready_containers += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if has_condition(conditions, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if is_deleting(pod) && status_reason == "NodeLost" {
        reason = "Unknown".to_string();
    } else if is_deleting(pod) && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    let pod_ip = array_at(pod, "/status/podIPs")
        .first()
        .map(|ip| str_at(ip, "/ip"))
        .unwrap_or_else(|| str_at(pod, "/status/podIP"));
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let gates = array_at(pod, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_conditions = gates
            .iter()
            .filter(|g| {
                let ty = str_at(g, "/conditionType");
                conditions
                    .iter()
                    .find(|c| str_at(c, "/type") == ty)
                    .is_some_and(|c| str_at(c, "/status") == "True")
            })
            .count();
        format!("{true_conditions}/{}", gates.len())
    };

    vec![
        json!(name(pod)),
        json!(format!("{ready_containers}/{total_containers}")),
        json!(reason),
        json!(restarts_cell),
        json!(age(pod, now)),
        json!(or_none(pod_ip)),
        json!(or_none(str_at(pod, "/spec/nodeName"))),
        json!(or_none(str_at(pod, "/status/nominatedNodeName"))),
        json!(readiness_gates),
    ]
}

fn pod_template_cells(obj: &Value) -> Vec<Value> {
    let (names, images) = container_cells(array_at(obj, "/template/spec/containers"));
    vec![
        json!(name(obj)),
        json!(names),
        json!(images),
        json!(format_labels(obj.pointer("/template/metadata/labels"))),
    ]
}

/// An IntOrString as Go's `String()` prints it.
fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn pdb_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let field = |p: &str| match obj.pointer(p) {
        Some(v) if !v.is_null() => int_or_string(v),
        _ => "N/A".to_string(),
    };
    vec![
        json!(name(obj)),
        json!(field("/spec/minAvailable")),
        json!(field("/spec/maxUnavailable")),
        json!(int_at(obj, "/status/disruptionsAllowed")),
        json!(age(obj, now)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Workloads.

/// `spec.replicas`, which defaulting sets to 1 when absent.
fn desired_replicas(obj: &Value) -> i64 {
    opt_int_at(obj, "/spec/replicas").unwrap_or(1)
}

fn replication_controller_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(array_at(obj, "/spec/template/spec/containers"));
    vec![
        json!(name(obj)),
        json!(desired_replicas(obj)),
        json!(int_at(obj, "/status/replicas")),
        json!(int_at(obj, "/status/readyReplicas")),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_labels(obj.pointer("/spec/selector"))),
    ]
}

fn selector_at(obj: &Value, pointer: &str) -> Value {
    obj.pointer(pointer).cloned().unwrap_or(Value::Null)
}

fn replica_set_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(array_at(obj, "/spec/template/spec/containers"));
    vec![
        json!(name(obj)),
        json!(desired_replicas(obj)),
        json!(int_at(obj, "/status/replicas")),
        json!(int_at(obj, "/status/readyReplicas")),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&selector_at(obj, "/spec/selector"))),
    ]
}

fn daemon_set_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(array_at(obj, "/spec/template/spec/containers"));
    vec![
        json!(name(obj)),
        json!(int_at(obj, "/status/desiredNumberScheduled")),
        json!(int_at(obj, "/status/currentNumberScheduled")),
        json!(int_at(obj, "/status/numberReady")),
        json!(int_at(obj, "/status/updatedNumberScheduled")),
        json!(int_at(obj, "/status/numberAvailable")),
        json!(format_labels(
            obj.pointer("/spec/template/spec/nodeSelector")
        )),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&selector_at(obj, "/spec/selector"))),
    ]
}

fn stateful_set_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(array_at(obj, "/spec/template/spec/containers"));
    vec![
        json!(name(obj)),
        json!(format!(
            "{}/{}",
            int_at(obj, "/status/readyReplicas"),
            desired_replicas(obj)
        )),
        json!(age(obj, now)),
        json!(names),
        json!(images),
    ]
}

fn deployment_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(array_at(obj, "/spec/template/spec/containers"));
    // printDeployment uses the selector's String() directly: empty stays empty.
    let selector =
        match LabelSelector::from_label_selector_json(&selector_at(obj, "/spec/selector")) {
            Ok(sel) => sel.to_string(),
            Err(_) => "<invalid>".to_string(),
        };
    vec![
        json!(name(obj)),
        json!(format!(
            "{}/{}",
            int_at(obj, "/status/readyReplicas"),
            desired_replicas(obj)
        )),
        json!(int_at(obj, "/status/updatedReplicas")),
        json!(int_at(obj, "/status/availableReplicas")),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector),
    ]
}

fn job_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = int_at(obj, "/status/succeeded");
    let parallelism = opt_int_at(obj, "/spec/parallelism");
    // Defaulting sets completions and parallelism to 1 when both are absent.
    let completions = opt_int_at(obj, "/spec/completions").or(match parallelism {
        None => Some(1),
        Some(_) => None,
    });
    let completions = match completions {
        Some(c) => format!("{succeeded}/{c}"),
        None if parallelism.unwrap_or(1) > 1 => {
            format!("{succeeded}/1 of {}", parallelism.unwrap_or(1))
        }
        None => format!("{succeeded}/1"),
    };
    let start = time_at(obj, "/status/startTime");
    let duration = match (start, time_at(obj, "/status/completionTime")) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now - s),
        (Some(s), Some(c)) => human_duration(c - s),
    };
    let conditions = array_at(obj, "/status/conditions");
    let status = if has_condition(conditions, "Complete") {
        "Complete"
    } else if has_condition(conditions, "Failed") {
        "Failed"
    } else if is_deleting(obj) {
        "Terminating"
    } else if has_condition(conditions, "Suspended") {
        "Suspended"
    } else if has_condition(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = container_cells(array_at(obj, "/spec/template/spec/containers"));
    vec![
        json!(name(obj)),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&selector_at(obj, "/spec/selector"))),
    ]
}

fn cron_job_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last_schedule = match time_at(obj, "/status/lastScheduleTime") {
        Some(t) => since(Some(t), now),
        None if obj
            .pointer("/status/lastScheduleTime")
            .is_some_and(|v| !v.is_null()) =>
        {
            "<unknown>".to_string()
        }
        None => "<none>".to_string(),
    };
    let time_zone = opt_str_at(obj, "/spec/timeZone").unwrap_or("<none>");
    let (names, images) = container_cells(array_at(
        obj,
        "/spec/jobTemplate/spec/template/spec/containers",
    ));
    vec![
        json!(name(obj)),
        json!(str_at(obj, "/spec/schedule")),
        json!(time_zone),
        json!(bool_ptr(obj.pointer("/spec/suspend"))),
        json!(array_at(obj, "/status/active").len()),
        json!(last_schedule),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&selector_at(
            obj,
            "/spec/jobTemplate/spec/selector"
        ))),
    ]
}

fn controller_revision_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let controller = array_at(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| bool_at(r, "/controller"));
    let controller = match controller {
        None => "<none>".to_string(),
        Some(r) => {
            let api_version = str_at(r, "/apiVersion");
            let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
            let kind = str_at(r, "/kind");
            let group_kind = if group.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}.{group}")
            };
            if group_kind.is_empty() {
                str_at(r, "/name").to_string()
            } else {
                format!("{}/{}", group_kind.to_lowercase(), str_at(r, "/name"))
            }
        }
    };
    vec![
        json!(name(obj)),
        json!(controller),
        json!(int_at(obj, "/revision")),
        json!(age(obj, now)),
    ]
}

fn hpa_cells(info: &ResourceInfo, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        str_at(obj, "/spec/scaleTargetRef/kind"),
        str_at(obj, "/spec/scaleTargetRef/name")
    );
    let (specs, statuses) = if info.version == "v1" {
        hpa_v1_metrics(obj)
    } else {
        (
            array_at(obj, "/spec/metrics").to_vec(),
            array_at(obj, "/status/currentMetrics").to_vec(),
        )
    };
    let min_pods = match opt_int_at(obj, "/spec/minReplicas") {
        Some(n) => n.to_string(),
        None => "<unset>".to_string(),
    };
    vec![
        json!(name(obj)),
        json!(reference),
        json!(format_hpa_metrics(&specs, &statuses)),
        json!(min_pods),
        json!(int_at(obj, "/spec/maxReplicas")),
        json!(int_at(obj, "/status/currentReplicas")),
        json!(age(obj, now)),
    ]
}

/// autoscaling/v1 keeps one CPU target; as v2 metrics it is a Resource utilization metric.
fn hpa_v1_metrics(obj: &Value) -> (Vec<Value>, Vec<Value>) {
    let mut specs = Vec::new();
    let mut statuses = Vec::new();
    if let Some(target) = opt_int_at(obj, "/spec/targetCPUUtilizationPercentage") {
        specs.push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}));
        if let Some(current) = opt_int_at(obj, "/status/currentCPUUtilizationPercentage") {
            statuses.push(json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}));
        }
    }
    (specs, statuses)
}

/// `formatHPAMetrics`.
fn format_hpa_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let max = 2;
    let mut list = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        let current_of = |kind: &str, field: &str| -> Option<String> {
            status
                .and_then(|s| s.get(kind))
                .filter(|v| v.is_object())
                .and_then(|v| v.pointer(&format!("/current/{field}")))
                .filter(|v| !v.is_null())
                .map(int_or_string)
        };
        let has_status = |kind: &str| {
            status
                .and_then(|s| s.get(kind))
                .is_some_and(Value::is_object)
        };
        let target = |kind: &str, field: &str| -> Option<String> {
            spec.pointer(&format!("/{kind}/target/{field}"))
                .filter(|v| !v.is_null())
                .map(int_or_string)
        };
        let unknown = || "<unknown>".to_string();
        let item = match str_at(spec, "/type") {
            "External" | "Object" => {
                let kind = if str_at(spec, "/type") == "External" {
                    "external"
                } else {
                    "object"
                };
                if let Some(avg) = target(kind, "averageValue") {
                    let current = current_of(kind, "averageValue").unwrap_or_else(unknown);
                    format!("{current}/{avg} (avg)")
                } else {
                    let current = if has_status(kind) {
                        current_of(kind, "value").unwrap_or_else(|| "0".to_string())
                    } else {
                        unknown()
                    };
                    let value = target(kind, "value").unwrap_or_else(|| "0".to_string());
                    format!("{current}/{value}")
                }
            }
            "Pods" => {
                let current = if has_status("pods") {
                    current_of("pods", "averageValue").unwrap_or_else(|| "0".to_string())
                } else {
                    unknown()
                };
                let avg = target("pods", "averageValue").unwrap_or_else(|| "0".to_string());
                format!("{current}/{avg}")
            }
            "Resource" | "ContainerResource" => {
                let kind = if str_at(spec, "/type") == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let resource = str_at(spec, &format!("/{kind}/name"));
                if let Some(avg) = target(kind, "averageValue") {
                    let current = if has_status(kind) {
                        current_of(kind, "averageValue").unwrap_or_else(|| "0".to_string())
                    } else {
                        unknown()
                    };
                    format!("{resource}: {current}/{avg}")
                } else {
                    let current = current_of(kind, "averageUtilization")
                        .map(|u| format!("{u}%"))
                        .unwrap_or_else(unknown);
                    let target = target(kind, "averageUtilization")
                        .map(|u| format!("{u}%"))
                        .unwrap_or_else(|| "<auto>".to_string());
                    format!("{resource}: {current}/{target}")
                }
            }
            _ => "<unknown type>".to_string(),
        };
        list.push(item);
    }
    let count = list.len();
    if count > max {
        list.truncate(max);
        return format!("{} + {} more...", list.join(", "), count - max);
    }
    list.join(", ")
}

// ---------------------------------------------------------------------------------------------
// Networking.

/// `getServiceExternalIP` and friends for one Service.
fn service_cells(svc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let svc_type = opt_str_at(svc, "/spec/type").unwrap_or("ClusterIP");
    let cluster_ip = array_at(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .or_else(|| opt_str_at(svc, "/spec/clusterIP").filter(|s| !s.is_empty()))
        .unwrap_or("<none>");
    let external_ips: Vec<&str> = array_at(svc, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let external = match svc_type {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_string()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(svc);
            if !external_ips.is_empty() {
                let mut all: Vec<&str> = lb.iter().map(String::as_str).collect();
                all.extend(external_ips.iter());
                all.join(",")
            } else if !lb.is_empty() {
                lb.join(",")
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = array_at(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let port = int_at(p, "/port");
            let protocol = opt_str_at(p, "/protocol").unwrap_or("TCP");
            let node_port = int_at(p, "/nodePort");
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        json!(name(svc)),
        json!(svc_type),
        json!(cluster_ip),
        json!(external),
        json!(ports),
        json!(age(svc, now)),
        json!(format_labels(svc.pointer("/spec/selector"))),
    ]
}

/// The sorted, de-duplicated IPs (or hostnames) of `status.loadBalancer.ingress`.
fn load_balancer_ingress(obj: &Value) -> Vec<String> {
    let mut set = std::collections::BTreeSet::new();
    for ing in array_at(obj, "/status/loadBalancer/ingress") {
        let ip = str_at(ing, "/ip");
        let host = str_at(ing, "/hostname");
        if !ip.is_empty() {
            set.insert(ip.to_string());
        } else if !host.is_empty() {
            set.insert(host.to_string());
        }
    }
    set.into_iter().collect()
}

fn ingress_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let class = opt_str_at(obj, "/spec/ingressClassName").unwrap_or("<none>");
    let rules = array_at(obj, "/spec/rules");
    let max = 3;
    let mut hosts = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == max {
            more = true;
        }
        let host = str_at(rule, "/host");
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - max)
    } else {
        hosts.join(",")
    };
    let ports = if array_at(obj, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        json!(name(obj)),
        json!(class),
        json!(hosts),
        json!(load_balancer_ingress(obj).join(",")),
        json!(ports),
        json!(age(obj, now)),
    ]
}

fn ingress_class_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let parameters = match obj.pointer("/spec/parameters").filter(|v| v.is_object()) {
        None => "<none>".to_string(),
        Some(p) => {
            let mut s = str_at(p, "/kind").to_string();
            if let Some(group) = opt_str_at(p, "/apiGroup") {
                s.push('.');
                s.push_str(group);
            }
            format!("{s}/{}", str_at(p, "/name"))
        }
    };
    vec![
        json!(name(obj)),
        json!(str_at(obj, "/spec/controller")),
        json!(parameters),
        json!(age(obj, now)),
    ]
}

/// `formatEndpoints` with all ports.
fn endpoints_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let subsets = array_at(obj, "/subsets");
    let formatted = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        let max = 3;
        let mut list: Vec<String> = Vec::new();
        let mut more = false;
        let mut count = 0;
        for ss in subsets {
            let addresses = array_at(ss, "/addresses");
            let ports = array_at(ss, "/ports");
            if ports.is_empty() {
                count += addresses.len();
                for a in addresses {
                    if list.len() == max {
                        more = true;
                        break;
                    }
                    list.push(str_at(a, "/ip").to_string());
                }
                continue;
            }
            for port in ports {
                count += addresses.len();
                for a in addresses {
                    if list.len() == max {
                        more = true;
                        break;
                    }
                    list.push(join_host_port(str_at(a, "/ip"), int_at(port, "/port")));
                }
            }
        }
        if more {
            format!("{} + {} more...", list.join(","), count - max)
        } else {
            list.join(",")
        }
    };
    vec![json!(name(obj)), json!(formatted), json!(age(obj, now))]
}

fn endpoint_slice_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports_list = array_at(obj, "/ports");
    let ports: Vec<String> = ports_list
        .iter()
        .map(|p| match (opt_int_at(p, "/port"), opt_str_at(p, "/name")) {
            (Some(n), _) => n.to_string(),
            (None, Some(name)) => name.to_string(),
            (None, None) => "*".to_string(),
        })
        .collect();
    let addresses: Vec<String> = array_at(obj, "/endpoints")
        .iter()
        .flat_map(|e| array_at(e, "/addresses"))
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();
    vec![
        json!(name(obj)),
        json!(str_at(obj, "/addressType")),
        json!(list_with_more(&ports, ports.len())),
        json!(list_with_more(&addresses, addresses.len())),
        json!(age(obj, now)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Cluster, storage, RBAC, events.

fn node_cells(node: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut status: Vec<String> = Vec::new();
    if let Some(ready) = array_at(node, "/status/conditions")
        .iter()
        .rev()
        .find(|c| str_at(c, "/type") == "Ready")
    {
        if str_at(ready, "/status") == "True" {
            status.push("Ready".into());
        } else {
            status.push("NotReady".into());
        }
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if bool_at(node, "/spec/unschedulable") {
        status.push("SchedulingDisabled".into());
    }
    let mut roles = std::collections::BTreeSet::new();
    if let Some(labels) = node.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role" {
                let v = v.as_str().unwrap_or_default();
                if !v.is_empty() {
                    roles.insert(v.to_string());
                }
            }
        }
    }
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };
    let address = |ty: &str| {
        array_at(node, "/status/addresses")
            .iter()
            .find(|a| str_at(a, "/type") == ty)
            .map_or("<none>".to_string(), |a| str_at(a, "/address").to_string())
    };
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "<unknown>".to_string()
        } else {
            s.to_string()
        }
    };
    vec![
        json!(name(node)),
        json!(status.join(",")),
        json!(roles),
        json!(age(node, now)),
        json!(str_at(node, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(or_unknown(str_at(node, "/status/nodeInfo/osImage"))),
        json!(or_unknown(str_at(node, "/status/nodeInfo/kernelVersion"))),
        json!(or_unknown(str_at(
            node,
            "/status/nodeInfo/containerRuntimeVersion"
        ))),
    ]
}

/// `helper.GetAccessModesAsString`: `RWO,ROX,RWX,RWOP` in that order, each once.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The beta storage-class annotation wins over `spec.storageClassName`.
fn storage_class_name(obj: &Value) -> String {
    obj.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str)
        .or_else(|| opt_str_at(obj, "/spec/storageClassName"))
        .unwrap_or("")
        .to_string()
}

fn persistent_volume_cells(pv: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let claim = match pv.pointer("/spec/claimRef").filter(|v| v.is_object()) {
        Some(c) => format!("{}/{}", str_at(c, "/namespace"), str_at(c, "/name")),
        None => String::new(),
    };
    let phase = if is_deleting(pv) {
        "Terminating"
    } else {
        str_at(pv, "/status/phase")
    };
    vec![
        json!(name(pv)),
        json!(quantity_at(pv, "/spec/capacity/storage")),
        json!(access_modes(array_at(pv, "/spec/accessModes"))),
        json!(str_at(pv, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class_name(pv)),
        json!(opt_str_at(pv, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
        json!(str_at(pv, "/status/reason")),
        json!(age(pv, now)),
        json!(opt_str_at(pv, "/spec/volumeMode").unwrap_or("<unset>")),
    ]
}

fn persistent_volume_claim_cells(pvc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let phase = if is_deleting(pvc) {
        "Terminating"
    } else {
        str_at(pvc, "/status/phase")
    };
    let volume = str_at(pvc, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity_at(pvc, "/status/capacity/storage"),
            access_modes(array_at(pvc, "/status/accessModes")),
        )
    };
    vec![
        json!(name(pvc)),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class_name(pvc)),
        json!(opt_str_at(pvc, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
        json!(age(pvc, now)),
        json!(opt_str_at(pvc, "/spec/volumeMode").unwrap_or("<unset>")),
    ]
}

fn storage_class_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let annotation = |key: &str| {
        obj.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            == Some("true")
    };
    let mut shown = name(obj).to_string();
    if annotation("storageclass.kubernetes.io/is-default-class")
        || annotation("storageclass.beta.kubernetes.io/is-default-class")
    {
        shown.push_str(" (default)");
    }
    vec![
        json!(shown),
        json!(str_at(obj, "/provisioner")),
        json!(opt_str_at(obj, "/reclaimPolicy").unwrap_or("Delete")),
        json!(opt_str_at(obj, "/volumeBindingMode").unwrap_or("Immediate")),
        json!(bool_at(obj, "/allowVolumeExpansion")),
        json!(age(obj, now)),
    ]
}

fn resource_quota_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut resources: Vec<&String> = obj
        .pointer("/status/hard")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    resources.sort();
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for resource in resources {
        let used = quantity_at(obj, &format!("/status/used/{}", pointer_escape(resource)));
        let hard = quantity_at(obj, &format!("/status/hard/{}", pointer_escape(resource)));
        let item = format!("{resource}: {used}/{hard}");
        let pieces: Vec<&str> = resource.split('.').collect();
        if pieces.len() > 1 && pieces[0] == "limits" {
            limits.push(item);
        } else {
            requests.push(item);
        }
    }
    vec![
        json!(name(obj)),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
        json!(age(obj, now)),
    ]
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn role_binding_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        str_at(obj, "/roleRef/kind"),
        str_at(obj, "/roleRef/name")
    );
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for subject in array_at(obj, "/subjects") {
        let name = str_at(subject, "/name");
        match str_at(subject, "/kind") {
            "ServiceAccount" => {
                service_accounts.push(format!("{}/{name}", str_at(subject, "/namespace")))
            }
            "User" => users.push(name.to_string()),
            "Group" => groups.push(name.to_string()),
            _ => {}
        }
    }
    vec![
        json!(name(obj)),
        json!(role),
        json!(age(obj, now)),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(service_accounts.join(", ")),
    ]
}

/// An `events.k8s.io/v1` Event in the shape of a core/v1 Event, as kube's conversion to the
/// internal type gives the printer; core Events pass through.
fn event_as_core(info: &ResourceInfo, obj: &Value) -> Value {
    if info.group != "events.k8s.io" {
        return obj.clone();
    }
    let get = |k: &str| obj.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "metadata": get("metadata"),
        "involvedObject": get("regarding"),
        "reason": get("reason"),
        "message": get("note"),
        "source": get("deprecatedSource"),
        "firstTimestamp": get("deprecatedFirstTimestamp"),
        "lastTimestamp": get("deprecatedLastTimestamp"),
        "count": get("deprecatedCount"),
        "type": get("type"),
        "eventTime": get("eventTime"),
        "series": get("series"),
        "action": get("action"),
        "related": get("related"),
        "reportingComponent": get("reportingController"),
        "reportingInstance": get("reportingInstance"),
    })
}

fn event_cells(ev: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = match time_at(ev, "/firstTimestamp") {
        Some(t) => since(Some(t), now),
        None => since(time_at(ev, "/eventTime"), now),
    };
    let mut last = match time_at(ev, "/lastTimestamp") {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_at(ev, "/count");
    if ev.get("series").is_some_and(Value::is_object) {
        last = since(time_at(ev, "/series/lastObservedTime"), now);
        count = int_at(ev, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = str_at(ev, "/involvedObject/kind").to_lowercase();
    let involved_name = str_at(ev, "/involvedObject/name");
    let target = if involved_name.is_empty() {
        kind
    } else {
        format!("{kind}/{involved_name}")
    };
    let first_non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let component = first_non_empty(
        str_at(ev, "/source/component"),
        str_at(ev, "/reportingComponent"),
    );
    let instance = first_non_empty(str_at(ev, "/source/host"), str_at(ev, "/reportingInstance"));
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(str_at(ev, "/type")),
        json!(str_at(ev, "/reason")),
        json!(target),
        json!(str_at(ev, "/involvedObject/fieldPath")),
        json!(source),
        json!(str_at(ev, "/message").trim()),
        json!(first),
        json!(count),
        json!(name(ev)),
    ]
}

/// Column descriptions kube-apiserver takes from the API types' documentation.
#[rustfmt::skip]
mod desc {
    pub(super) const NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
    pub(super) const CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
    pub(super) const POD_IP: &str = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
    pub(super) const POD_NODE_NAME: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
    pub(super) const POD_NOMINATED_NODE: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
    pub(super) const POD_READINESS_GATES: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";
    pub(super) const POD_NODE_SELECTOR: &str = "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/";
    pub(super) const RC_SPEC_REPLICAS: &str = "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
    pub(super) const RC_STATUS_REPLICAS: &str = "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
    pub(super) const RC_READY_REPLICAS: &str = "The number of ready replicas for this replication controller.";
    pub(super) const RC_SELECTOR: &str = "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub(super) const RS_SPEC_REPLICAS: &str = "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
    pub(super) const RS_STATUS_REPLICAS: &str = "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
    pub(super) const RS_READY_REPLICAS: &str = "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.";
    pub(super) const RS_SELECTOR: &str = "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub(super) const DS_DESIRED: &str = "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
    pub(super) const DS_CURRENT: &str = "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
    pub(super) const DS_READY: &str = "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.";
    pub(super) const DS_UPDATED: &str = "The total number of nodes that are running updated daemon pod";
    pub(super) const DS_AVAILABLE: &str = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)";
    pub(super) const DS_SELECTOR: &str = "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub(super) const JOB_SUCCEEDED: &str = "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.";
    pub(super) const JOB_SELECTOR: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub(super) const CJ_SCHEDULE: &str = "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.";
    pub(super) const CJ_TIME_ZONE: &str = "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones";
    pub(super) const CJ_SUSPEND: &str = "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.";
    pub(super) const CJ_ACTIVE: &str = "A list of pointers to currently running jobs.";
    pub(super) const CJ_LAST_SCHEDULE: &str = "Information when was the last time the job was successfully scheduled.";
    pub(super) const SVC_TYPE: &str = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
    pub(super) const SVC_CLUSTER_IP: &str = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
    pub(super) const SVC_EXTERNAL_IPS: &str = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
    pub(super) const SVC_PORTS: &str = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
    pub(super) const SVC_SELECTOR: &str = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";
    pub(super) const ENDPOINTS_SUBSETS: &str = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";
    pub(super) const NODE_KUBELET_VERSION: &str = "Kubelet Version reported by the node.";
    pub(super) const NODE_ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
    pub(super) const NODE_OS_IMAGE: &str = "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
    pub(super) const NODE_KERNEL_VERSION: &str = "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
    pub(super) const NODE_CONTAINER_RUNTIME: &str = "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";
    pub(super) const EVENT_LAST_TIMESTAMP: &str = "The time at which the most recent occurrence of this event was recorded.";
    pub(super) const EVENT_TYPE: &str = "Type of this event (Normal, Warning), new types could be added in the future";
    pub(super) const EVENT_REASON: &str = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
    pub(super) const EVENT_INVOLVED_OBJECT: &str = "The object that this event is about.";
    pub(super) const OBJECT_REFERENCE_FIELD_PATH: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
    pub(super) const EVENT_SOURCE: &str = "The component reporting this event. Should be a short machine understandable string.";
    pub(super) const EVENT_MESSAGE: &str = "A human-readable description of the status of this operation.";
    pub(super) const EVENT_FIRST_TIMESTAMP: &str = "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
    pub(super) const EVENT_COUNT: &str = "The number of times this event has occurred.";
    pub(super) const SECRET_TYPE: &str = "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
    pub(super) const SECRET_DATA: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
    pub(super) const SA_SECRETS: &str = "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
    pub(super) const PV_CAPACITY: &str = "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity";
    pub(super) const PV_ACCESS_MODES: &str = "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes";
    pub(super) const PV_RECLAIM_POLICY: &str = "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming";
    pub(super) const PV_PHASE: &str = "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase";
    pub(super) const PV_CLAIM_REF: &str = "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding";
    pub(super) const PV_REASON: &str = "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.";
    pub(super) const PV_VOLUME_MODE: &str = "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.";
    pub(super) const PVC_PHASE: &str = "phase represents the current phase of PersistentVolumeClaim.";
    pub(super) const PVC_VOLUME_NAME: &str = "volumeName is the binding reference to the PersistentVolume backing this claim.";
    pub(super) const PVC_CAPACITY: &str = "capacity represents the actual resources of the underlying volume.";
    pub(super) const PVC_ACCESS_MODES: &str = "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1";
    pub(super) const PVC_VOLUME_MODE: &str = "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.";
    pub(super) const DEPLOY_UPDATED: &str = "Total number of non-terminating pods targeted by this deployment that have the desired template spec.";
    pub(super) const DEPLOY_AVAILABLE: &str = "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.";
    pub(super) const DEPLOY_SELECTOR: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.";
    pub(super) const HPA_SCALE_TARGET_REF: &str = "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.";
    pub(super) const HPA_METRICS: &str = "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond. If not set, the default metric will be set to 80% average CPU utilization.";
    pub(super) const HPA_MIN_REPLICAS: &str = "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.";
    pub(super) const HPA_MAX_REPLICAS: &str = "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.";
    pub(super) const HPA_CURRENT_REPLICAS: &str = "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.";
    pub(super) const CONFIGMAP_DATA: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
    pub(super) const NETPOL_POD_SELECTOR: &str = "podSelector selects the pods to which this NetworkPolicy object applies. The array of rules is applied to any pods selected by this field. An empty selector matches all pods in the policy's namespace. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is optional. If it is not specified, it defaults to an empty selector.";
    pub(super) const ROLEBINDING_ROLE_REF: &str = "roleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.";
    pub(super) const CLUSTERROLEBINDING_ROLE_REF: &str = "roleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.";
    pub(super) const LEASE_HOLDER: &str = "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";
    pub(super) const SC_PROVISIONER: &str = "provisioner indicates the type of the provisioner.";
    pub(super) const SC_RECLAIM_POLICY: &str = "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.";
    pub(super) const SC_BINDING_MODE: &str = "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.";
    pub(super) const SC_ALLOW_EXPANSION: &str = "allowVolumeExpansion shows whether the storage class allow volume expand.";
    pub(super) const CONTROLLER_REVISION_REVISION: &str = "Revision indicates the revision of the state represented by Data.";
    pub(super) const PC_VALUE: &str = "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.";
    pub(super) const PC_GLOBAL_DEFAULT: &str = "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.";
    pub(super) const PC_PREEMPTION_POLICY: &str = "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.";
    pub(super) const EPS_ADDRESS_TYPE: &str = "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name. (Deprecated) The EndpointSlice controller only generates, and kube-proxy only processes, slices of addressType \"IPv4\" and \"IPv6\". No semantics are defined for the \"FQDN\" type.";
    pub(super) const EPS_PORTS: &str = "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. Each slice may include a maximum of 100 ports. Services always have at least 1 port, so EndpointSlices generated by the EndpointSlice controller will likewise always have at least 1 port. EndpointSlices used for other purposes may have an empty ports list.";
    pub(super) const EPS_ENDPOINTS: &str = "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(group: &str, version: &str, kind: &str, plural: &str) -> ResourceInfo {
        ResourceInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            verbs: vec![],
            subresources: vec![],
            crd: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn names(info: &ResourceInfo) -> Vec<String> {
        column_definitions(info)
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn pods() -> ResourceInfo {
        info("", "v1", "Pod", "pods")
    }

    #[test]
    fn human_duration_matches_kube() {
        let s = TimeDelta::seconds;
        assert_eq!(human_duration(s(-5)), "<invalid>");
        assert_eq!(human_duration(s(-2)), "<invalid>");
        assert_eq!(human_duration(TimeDelta::milliseconds(-1500)), "0s");
        assert_eq!(human_duration(s(-1)), "0s");
        assert_eq!(human_duration(s(0)), "0s");
        assert_eq!(human_duration(s(45)), "45s");
        assert_eq!(human_duration(s(119)), "119s");
        assert_eq!(human_duration(s(120)), "2m");
        assert_eq!(human_duration(s(320)), "5m20s");
        assert_eq!(human_duration(s(600)), "10m");
        assert_eq!(human_duration(s(179 * 60 + 59)), "179m");
        assert_eq!(human_duration(s(3 * 3600)), "3h");
        assert_eq!(human_duration(s(3 * 3600 + 10 * 60)), "3h10m");
        assert_eq!(human_duration(s(20 * 3600)), "20h");
        assert_eq!(human_duration(s(47 * 3600 + 59 * 60)), "47h");
        assert_eq!(human_duration(s(48 * 3600)), "2d");
        assert_eq!(human_duration(s(51 * 3600)), "2d3h");
        assert_eq!(human_duration(s(8 * 86400)), "8d");
        assert_eq!(human_duration(s(729 * 86400)), "729d");
        assert_eq!(human_duration(s(730 * 86400)), "2y");
        assert_eq!(human_duration(s((3 * 365 + 45) * 86400)), "3y45d");
        assert_eq!(human_duration(s(9 * 365 * 86400)), "9y");
    }

    #[test]
    fn pod_columns_and_running_pod() {
        assert_eq!(
            names(&pods()),
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        let cols = column_definitions(&pods());
        assert_eq!(cols[0]["format"], "name");
        assert_eq!(cols[3]["type"], "string");
        assert_eq!(cols[5]["priority"], 1);
        assert_eq!(cols[4]["priority"], 0);
        assert!(
            cols[4]["description"]
                .as_str()
                .unwrap()
                .starts_with("CreationTimestamp is a timestamp")
        );

        let pod = json!({
            "metadata": {"name": "web", "creationTimestamp": "2026-01-10T11:54:40Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-1"},
            "status": {
                "phase": "Running",
                "podIP": "10.0.0.5",
                "podIPs": [{"ip": "10.0.0.5"}],
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "a", "ready": true, "restartCount": 3, "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-10T11:55:00Z"}}},
                    {"name": "b", "ready": false, "restartCount": 0, "state": {"running": {}}}
                ]
            }
        });
        assert_eq!(
            row_cells(&pods(), &pod, now()),
            vec![
                json!("web"),
                json!("1/2"),
                json!("Running"),
                json!("3 (5m ago)"),
                json!("5m20s"),
                json!("10.0.0.5"),
                json!("node-1"),
                json!("<none>"),
                json!("<none>"),
            ]
        );
    }

    fn pod_status(pod: Value) -> Value {
        row_cells(&pods(), &pod, now())[2].clone()
    }

    #[test]
    fn pod_status_reasons() {
        // Pending, nothing reported yet.
        let pending = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Pending"}});
        assert_eq!(pod_status(pending.clone()), "Pending");
        let cells = row_cells(&pods(), &pending, now());
        assert_eq!(cells[1], "0/1");
        assert_eq!(cells[3], "0");
        assert_eq!(cells[4], "<unknown>");

        // A waiting container's reason wins.
        let crash = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "restartCount": 7, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(pod_status(crash.clone()), "CrashLoopBackOff");
        assert_eq!(row_cells(&pods(), &crash, now())[3], "7");

        // Terminated containers: their reason, else signal or exit code.
        let done = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}});
        assert_eq!(pod_status(done.clone()), "Completed");
        let row = row(&pods(), &done, IncludeObject::None, now());
        assert_eq!(row["conditions"][0]["type"], "Completed");
        assert_eq!(row["conditions"][0]["reason"], "Succeeded");
        assert_eq!(row["object"], Value::Null);
        let exit = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Failed", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 2}}}]}});
        assert_eq!(pod_status(exit), "ExitCode:2");
        let signal = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Failed", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}});
        assert_eq!(pod_status(signal), "Signal:9");

        // Init containers.
        let init = json!({"metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                {"name": "i2", "state": {"running": {}}}]}});
        assert_eq!(pod_status(init), "Init:1/2");
        let init_wait = json!({"metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(pod_status(init_wait), "Init:ImagePullBackOff");
        let init_fail = json!({"metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 1}}}]}});
        assert_eq!(pod_status(init_fail), "Init:ExitCode:1");

        // A sidecar (restartable init container) counts towards Ready.
        let sidecar = json!({"metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "s", "restartPolicy": "Always"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Running",
                "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                "initContainerStatuses": [{"name": "s", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
                "containerStatuses": [{"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}}}]}});
        let cells = row_cells(&pods(), &sidecar, now());
        assert_eq!(cells[1], "2/2");
        assert_eq!(cells[2], "Running");
        assert_eq!(cells[3], "3");

        // Deletion.
        let terminating = json!({"metadata": {"name": "p", "deletionTimestamp": "2026-01-10T11:59:00Z"},
            "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running"}});
        assert_eq!(pod_status(terminating), "Terminating");
        let lost = json!({"metadata": {"name": "p", "deletionTimestamp": "2026-01-10T11:59:00Z"},
            "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running", "reason": "NodeLost"}});
        assert_eq!(pod_status(lost), "Unknown");
        let gated = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}});
        assert_eq!(pod_status(gated), "SchedulingGated");
        let evicted = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Failed", "reason": "Evicted"}});
        assert_eq!(pod_status(evicted), "Evicted");
    }

    #[test]
    fn pod_readiness_gates() {
        let pod = json!({"metadata": {"name": "p"},
            "spec": {"containers": [], "readinessGates": [{"conditionType": "x"}, {"conditionType": "y"}]},
            "status": {"conditions": [{"type": "x", "status": "True"}, {"type": "y", "status": "False"}]}});
        assert_eq!(row_cells(&pods(), &pod, now())[8], "1/2");
    }

    #[test]
    fn deployment_cells_and_columns() {
        let deploy = info("apps", "v1", "Deployment", "deployments");
        assert_eq!(
            names(&deploy),
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        let d = json!({
            "metadata": {"name": "web", "creationTimestamp": "2026-01-08T09:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [
                         {"name": "nginx", "image": "nginx:1.27"}, {"name": "side", "image": "busybox"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        assert_eq!(
            row_cells(&deploy, &d, now()),
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("2d3h"),
                json!("nginx,side"),
                json!("nginx:1.27,busybox"),
                json!("app=web"),
            ]
        );
        // No status yet.
        let fresh = json!({"metadata": {"name": "x"}, "spec": {"replicas": 2}});
        let cells = row_cells(&deploy, &fresh, now());
        assert_eq!(cells[1], "0/2");
        assert_eq!(cells[2], 0);
    }

    fn services() -> ResourceInfo {
        info("", "v1", "Service", "services")
    }

    #[test]
    fn service_cells() {
        assert_eq!(
            names(&services()),
            [
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "Selector"
            ]
        );
        let svc = json!({"metadata": {"name": "web"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"},
                               {"port": 53, "protocol": "UDP"}],
                     "selector": {"tier": "front", "app": "web"}}});
        let cells = row_cells(&services(), &svc, now());
        assert_eq!(cells[1], "NodePort");
        assert_eq!(cells[2], "10.96.0.10");
        assert_eq!(cells[3], "<none>");
        assert_eq!(cells[4], "80/TCP,443:30443/TCP,53/UDP");
        assert_eq!(cells[6], "app=web,tier=front");

        let headless = json!({"metadata": {"name": "db"},
            "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}});
        let cells = row_cells(&services(), &headless, now());
        assert_eq!(cells[2], "None");
        assert_eq!(cells[4], "<none>");
        assert_eq!(cells[6], "<none>");

        let lb = json!({"metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80}]}});
        assert_eq!(row_cells(&services(), &lb, now())[3], "<pending>");
        let lb_ready = json!({"metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]},
            "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "a.example.com"}]}}});
        assert_eq!(
            row_cells(&services(), &lb_ready, now())[3],
            "5.6.7.8,a.example.com,9.9.9.9"
        );
        let external = json!({"metadata": {"name": "ext"},
            "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        let cells = row_cells(&services(), &external, now());
        assert_eq!(cells[2], "<none>");
        assert_eq!(cells[3], "db.example.com");
    }

    #[test]
    fn configmap_secret_and_namespace_cells() {
        let cm = info("", "v1", "ConfigMap", "configmaps");
        assert_eq!(names(&cm), ["Name", "Data", "Age"]);
        let cells = row_cells(
            &cm,
            &json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}}),
            now(),
        );
        assert_eq!(cells[1], 3);
        let secret = info("", "v1", "Secret", "secrets");
        assert_eq!(names(&secret), ["Name", "Type", "Data", "Age"]);
        let cells = row_cells(
            &secret,
            &json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}}),
            now(),
        );
        assert_eq!(cells[1], "Opaque");
        assert_eq!(cells[2], 1);
        let ns = info("", "v1", "Namespace", "namespaces");
        let cells = row_cells(
            &ns,
            &json!({"metadata": {"name": "default", "creationTimestamp": "2026-01-10T11:59:15Z"},
                    "status": {"phase": "Active"}}),
            now(),
        );
        assert_eq!(cells, vec![json!("default"), json!("Active"), json!("45s")]);
    }

    #[test]
    fn job_status_and_completions() {
        let jobs = info("batch", "v1", "Job", "jobs");
        assert_eq!(
            names(&jobs),
            [
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        let running = json!({"metadata": {"name": "j"},
            "spec": {"completions": 5, "parallelism": 2},
            "status": {"succeeded": 0, "startTime": "2026-01-10T11:58:00Z"}});
        let cells = row_cells(&jobs, &running, now());
        assert_eq!(cells[1], "Running");
        assert_eq!(cells[2], "0/5");
        assert_eq!(cells[3], "2m");
        let complete = json!({"metadata": {"name": "j"},
            "spec": {"completions": 1},
            "status": {"succeeded": 1, "startTime": "2026-01-10T11:00:00Z", "completionTime": "2026-01-10T11:00:12Z",
                       "conditions": [{"type": "Complete", "status": "True"}]}});
        let cells = row_cells(&jobs, &complete, now());
        assert_eq!(cells[1], "Complete");
        assert_eq!(cells[2], "1/1");
        assert_eq!(cells[3], "12s");
        let failed = json!({"metadata": {"name": "j"}, "spec": {},
            "status": {"conditions": [{"type": "Failed", "status": "True"}]}});
        let cells = row_cells(&jobs, &failed, now());
        assert_eq!(cells[1], "Failed");
        assert_eq!(cells[2], "0/1");
        assert_eq!(cells[3], "");
        let suspended = json!({"metadata": {"name": "j"}, "spec": {"parallelism": 3},
            "status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
        let cells = row_cells(&jobs, &suspended, now());
        assert_eq!(cells[1], "Suspended");
        assert_eq!(cells[2], "0/1 of 3");
        assert_eq!(cells[7], "<none>");
    }

    #[test]
    fn cron_job_cells() {
        let cj = info("batch", "v1", "CronJob", "cronjobs");
        assert_eq!(
            names(&cj),
            [
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        let obj = json!({"metadata": {"name": "c"},
            "spec": {"schedule": "*/5 * * * *", "suspend": false,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "c-1"}], "lastScheduleTime": "2026-01-10T11:55:00Z"}});
        let cells = row_cells(&cj, &obj, now());
        assert_eq!(
            cells[1..7],
            [
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("5m"),
                json!("<unknown>")
            ]
        );
    }

    #[test]
    fn other_printers() {
        let node = info("", "v1", "Node", "nodes");
        let cells = row_cells(
            &node,
            &json!({"metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}},
                    "spec": {"unschedulable": true},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}],
                               "addresses": [{"type": "InternalIP", "address": "192.168.0.2"}],
                               "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian"}}}),
            now(),
        );
        assert_eq!(cells[1], "Ready,SchedulingDisabled");
        assert_eq!(cells[2], "control-plane,worker");
        assert_eq!(cells[4], "v1.37.0");
        assert_eq!(cells[5], "192.168.0.2");
        assert_eq!(cells[6], "<none>");
        assert_eq!(cells[8], "<unknown>");

        let pvc = info("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims");
        let cells = row_cells(
            &pvc,
            &json!({"metadata": {"name": "data"},
                    "spec": {"volumeName": "pv-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
                    "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}}),
            now(),
        );
        assert_eq!(
            cells[1..7],
            [
                json!("Bound"),
                json!("pv-1"),
                json!("1Gi"),
                json!("RWO,RWX"),
                json!("standard"),
                json!("<unset>")
            ]
        );

        let ep = info("", "v1", "Endpoints", "endpoints");
        let cells = row_cells(
            &ep,
            &json!({"metadata": {"name": "web"}, "subsets": [{
                "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::1"}, {"ip": "10.0.0.4"}],
                "ports": [{"port": 8080}]}]}),
            now(),
        );
        assert_eq!(
            cells[1],
            "10.0.0.1:8080,10.0.0.2:8080,[fd00::1]:8080 + 1 more..."
        );
        assert_eq!(
            row_cells(&ep, &json!({"metadata": {"name": "x"}}), now())[1],
            "<none>"
        );

        let rb = info(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
        );
        let cells = row_cells(
            &rb,
            &json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                                 {"kind": "ServiceAccount", "name": "default", "namespace": "ns1"}]}),
            now(),
        );
        assert_eq!(cells[1], "ClusterRole/view");
        assert_eq!(
            cells[3..],
            [json!("alice"), json!("devs"), json!("ns1/default")]
        );

        let cr = info("apps", "v1", "ControllerRevision", "controllerrevisions");
        let cells = row_cells(
            &cr,
            &json!({"metadata": {"name": "web-1", "ownerReferences": [
                        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]},
                    "revision": 2}),
            now(),
        );
        assert_eq!(cells[1], "statefulset.apps/web");
        assert_eq!(cells[2], 2);

        let quota = info("", "v1", "ResourceQuota", "resourcequotas");
        assert_eq!(names(&quota), ["Name", "Request", "Limit", "Age"]);
        let cells = row_cells(
            &quota,
            &json!({"metadata": {"name": "q"}, "status": {
                "hard": {"requests.cpu": "1", "pods": "10", "limits.memory": "1Gi"},
                "used": {"requests.cpu": "500m", "pods": "2"}}}),
            now(),
        );
        assert_eq!(cells[1], "pods: 2/10, requests.cpu: 500m/1");
        assert_eq!(cells[2], "limits.memory: 0/1Gi");

        let sc = info("storage.k8s.io", "v1", "StorageClass", "storageclasses");
        let cells = row_cells(
            &sc,
            &json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                    "provisioner": "rancher.io/local-path"}),
            now(),
        );
        assert_eq!(
            cells[..5],
            [
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("Immediate"),
                json!(false)
            ]
        );

        let hpa = info(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
        );
        let cells = row_cells(
            &hpa,
            &json!({"metadata": {"name": "h"}, "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
                "status": {"currentReplicas": 2, "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]}}),
            now(),
        );
        assert_eq!(
            cells[1..6],
            [
                json!("Deployment/web"),
                json!("cpu: 12%/80%"),
                json!("1"),
                json!(5),
                json!(2)
            ]
        );
        let hpa_v1 = info(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
        );
        let cells = row_cells(
            &hpa_v1,
            &json!({"metadata": {"name": "h"}, "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                "targetCPUUtilizationPercentage": 50}}),
            now(),
        );
        assert_eq!(cells[2], "cpu: <unknown>/50%");
        assert_eq!(cells[3], "<unset>");

        let ev = info("", "v1", "Event", "events");
        assert_eq!(
            names(&ev),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
        let cells = row_cells(
            &ev,
            &json!({"metadata": {"name": "web.1"}, "type": "Normal", "reason": "Pulled",
                    "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{nginx}"},
                    "source": {"component": "kubelet", "host": "node-1"}, "message": " Pulled image \n",
                    "firstTimestamp": "2026-01-10T11:50:00Z", "lastTimestamp": "2026-01-10T11:59:00Z", "count": 4}),
            now(),
        );
        assert_eq!(
            cells,
            vec![
                json!("60s"),
                json!("Normal"),
                json!("Pulled"),
                json!("pod/web"),
                json!("spec.containers{nginx}"),
                json!("kubelet, node-1"),
                json!("Pulled image"),
                json!("10m"),
                json!(4),
                json!("web.1")
            ]
        );
        let ev2 = info("events.k8s.io", "v1", "Event", "events");
        let cells = row_cells(
            &ev2,
            &json!({"metadata": {"name": "e"}, "type": "Warning", "reason": "Failed",
                    "regarding": {"kind": "Pod", "name": "web"}, "note": "boom",
                    "eventTime": "2026-01-10T11:59:30.000000Z", "reportingController": "ctrl", "reportingInstance": "i-1"}),
            now(),
        );
        assert_eq!(cells[0], "30s");
        assert_eq!(cells[3], "pod/web");
        assert_eq!(cells[5], "ctrl, i-1");
        assert_eq!(cells[6], "boom");
        assert_eq!(cells[8], 1);
    }

    #[test]
    fn every_printer_has_one_cell_per_column() {
        let kinds = [
            ("", "pods"),
            ("", "podtemplates"),
            ("policy", "poddisruptionbudgets"),
            ("", "replicationcontrollers"),
            ("apps", "replicasets"),
            ("apps", "daemonsets"),
            ("batch", "jobs"),
            ("batch", "cronjobs"),
            ("", "services"),
            ("networking.k8s.io", "ingresses"),
            ("networking.k8s.io", "ingressclasses"),
            ("apps", "statefulsets"),
            ("", "endpoints"),
            ("", "nodes"),
            ("", "events"),
            ("events.k8s.io", "events"),
            ("", "namespaces"),
            ("", "secrets"),
            ("", "serviceaccounts"),
            ("", "persistentvolumes"),
            ("", "persistentvolumeclaims"),
            ("apps", "deployments"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("", "configmaps"),
            ("networking.k8s.io", "networkpolicies"),
            ("rbac.authorization.k8s.io", "rolebindings"),
            ("rbac.authorization.k8s.io", "clusterrolebindings"),
            ("coordination.k8s.io", "leases"),
            ("storage.k8s.io", "storageclasses"),
            ("apps", "controllerrevisions"),
            ("", "resourcequotas"),
            ("scheduling.k8s.io", "priorityclasses"),
            ("node.k8s.io", "runtimeclasses"),
            ("discovery.k8s.io", "endpointslices"),
            ("", "limitranges"),
            ("rbac.authorization.k8s.io", "roles"),
            ("example.com", "widgets"),
        ];
        let empty = json!({"metadata": {"name": "x"}});
        for (group, plural) in kinds {
            let i = info(group, "v1", "X", plural);
            let cols = column_definitions(&i);
            let cells = row_cells(&i, &empty, now());
            assert_eq!(cols.len(), cells.len(), "{group}/{plural}");
            for c in &cols {
                for key in ["name", "type", "format", "description", "priority"] {
                    assert!(c.get(key).is_some(), "{group}/{plural} {key}");
                }
            }
        }
        // A few placeholder cells of empty objects, as kube prints them.
        let cells = |g: &str, p: &str| row_cells(&info(g, "v1", "X", p), &empty, now());
        assert_eq!(cells("networking.k8s.io", "networkpolicies")[1], "<none>");
        assert_eq!(cells("networking.k8s.io", "ingresses")[1], "<none>");
        assert_eq!(cells("networking.k8s.io", "ingresses")[2], "*");
        assert_eq!(cells("networking.k8s.io", "ingresses")[4], "80");
        assert_eq!(cells("policy", "poddisruptionbudgets")[1], "N/A");
        assert_eq!(cells("discovery.k8s.io", "endpointslices")[2], "<unset>");
        assert_eq!(cells("apps", "replicasets")[7], "<none>");
        assert_eq!(cells("apps", "deployments")[7], "");
        assert_eq!(cells("", "persistentvolumes")[1], "0");
    }

    #[test]
    fn default_columns_for_other_kinds() {
        let widgets = info("example.com", "v1", "Widget", "widgets");
        let cols = column_definitions(&widgets);
        assert_eq!(cols.len(), 2);
        assert_eq!(cols[0]["name"], "Name");
        assert_eq!(cols[0]["type"], "string");
        assert_eq!(cols[0]["format"], "name");
        assert_eq!(cols[1]["name"], "Created At");
        assert_eq!(cols[1]["type"], "date");
        assert_eq!(cols[1]["format"], "");
        let cells = row_cells(
            &widgets,
            &json!({"metadata": {"name": "w", "creationTimestamp": "2026-01-02T03:04:05Z"}}),
            now(),
        );
        assert_eq!(cells, vec![json!("w"), json!("2026-01-02T03:04:05Z")]);
        let roles = info("rbac.authorization.k8s.io", "v1", "Role", "roles");
        assert_eq!(names(&roles), ["Name", "Created At"]);
        let empty = table(
            &widgets,
            &[],
            IncludeObject::Metadata,
            now(),
            json!({"resourceVersion": "5"}),
        );
        assert_eq!(empty["rows"], Value::Null);
        let empty_pods = table(&pods(), &[], IncludeObject::Metadata, now(), json!({}));
        assert_eq!(empty_pods["rows"], json!([]));
    }

    #[test]
    fn table_shape() {
        let cm = info("", "v1", "ConfigMap", "configmaps");
        let obj = json!({"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "c", "namespace": "default", "resourceVersion": "7",
                         "creationTimestamp": "2026-01-10T11:00:00Z"},
            "data": {"a": "b"}});
        let t = table(
            &cm,
            std::slice::from_ref(&obj),
            IncludeObject::default(),
            now(),
            json!({"resourceVersion": "9", "continue": "abc"}),
        );
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(
            t["metadata"],
            json!({"resourceVersion": "9", "continue": "abc"})
        );
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 3);
        let row = &t["rows"][0];
        assert_eq!(row["cells"], json!(["c", 1, "60m"]));
        assert!(row.get("conditions").is_none());
        assert_eq!(
            row["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": obj["metadata"]})
        );

        // Object embeds the whole object, filling in kind and apiVersion when missing.
        let bare = json!({"metadata": {"name": "d"}});
        let t = table(&cm, &[bare], IncludeObject::Object, now(), Value::Null);
        assert_eq!(t["metadata"], json!({}));
        assert_eq!(t["rows"][0]["object"]["kind"], "ConfigMap");
        assert_eq!(t["rows"][0]["object"]["apiVersion"], "v1");
        let t = table(
            &cm,
            std::slice::from_ref(&obj),
            IncludeObject::None,
            now(),
            json!({}),
        );
        assert_eq!(t["rows"][0]["object"], Value::Null);

        let t = table_with_headers(&cm, &[obj], IncludeObject::None, now(), json!({}), false);
        assert_eq!(t["columnDefinitions"], Value::Null);
        assert_eq!(t["rows"].as_array().unwrap().len(), 1);

        assert_eq!(IncludeObject::from_query(Some("None")), IncludeObject::None);
        assert_eq!(
            IncludeObject::from_query(Some("Object")),
            IncludeObject::Object
        );
        assert_eq!(IncludeObject::from_query(None), IncludeObject::Metadata);
    }
}
