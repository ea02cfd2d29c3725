//! The default ClusterRoles and ClusterRoleBindings, after upstream's
//! `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go` (the user-facing subset: the
//! controller and node roles have no use in a tenant without its own nodes).

use serde_json::{Map, Value, json};

use super::{PolicyRule, RBAC_GROUP};

/// `kubernetes.io/bootstrapping: rbac-defaults`, on every bootstrap object.
pub const BOOTSTRAPPING_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");

/// `rbac.authorization.kubernetes.io/autoupdate: "true"`, on every bootstrap object: the API
/// server may reconcile it back to the defaults at start-up.
pub const AUTOUPDATE_ANNOTATION: (&str, &str) =
    ("rbac.authorization.kubernetes.io/autoupdate", "true");

/// The label that aggregates a ClusterRole into `admin`.
pub const AGGREGATE_TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
/// The label that aggregates a ClusterRole into `edit`.
pub const AGGREGATE_TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
/// The label that aggregates a ClusterRole into `view`.
pub const AGGREGATE_TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

/// `system:masters`: the group bound to `cluster-admin`.
pub const SYSTEM_PRIVILEGED_GROUP: &str = "system:masters";
/// `system:authenticated`: every authenticated user is in it.
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
/// `system:unauthenticated`: the anonymous user is in it.
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";

const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_WRITE: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const READ: &[&str] = &["get", "list", "watch"];

const LEGACY_GROUP: &str = "";
const APPS_GROUP: &str = "apps";
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";
const AUTHORIZATION_GROUP: &str = "authorization.k8s.io";
const AUTOSCALING_GROUP: &str = "autoscaling";
const BATCH_GROUP: &str = "batch";
const DISCOVERY_GROUP: &str = "discovery.k8s.io";
const EXTENSIONS_GROUP: &str = "extensions";
const NETWORKING_GROUP: &str = "networking.k8s.io";
const POLICY_GROUP: &str = "policy";

/// `metadata` of a bootstrap object: its name, the extra labels and the default label and
/// annotation (keys in sorted order, as the API server writes maps).
fn metadata(name: &str, extra_labels: &[(&str, &str)]) -> Value {
    let mut labels: Vec<(&str, &str)> = vec![BOOTSTRAPPING_LABEL];
    labels.extend_from_slice(extra_labels);
    labels.sort();
    let labels: Map<String, Value> = labels
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    json!({
        "name": name,
        "labels": labels,
        "annotations": { AUTOUPDATE_ANNOTATION.0: AUTOUPDATE_ANNOTATION.1 },
    })
}

fn cluster_role(name: &str, labels: &[(&str, &str)], rules: Vec<PolicyRule>) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(name, labels),
        "rules": rules.iter().map(PolicyRule::to_json).collect::<Vec<_>>(),
    })
}

/// An aggregated ClusterRole: no rules of its own (`null`, as upstream stores it until the
/// aggregation fills them) and one selector on `aggregate_label: "true"`.
fn aggregated_cluster_role(name: &str, labels: &[(&str, &str)], aggregate_label: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(name, labels),
        "rules": null,
        "aggregationRule": {
            "clusterRoleSelectors": [ { "matchLabels": { aggregate_label: "true" } } ],
        },
    })
}

/// The rules of `system:aggregate-to-edit` (upstream policy.go; `endpoints` write was
/// removed for CVE-2021-25740).
fn aggregate_to_edit_rules() -> Vec<PolicyRule> {
    vec![
        // Allow read on escalating resources.
        PolicyRule::new(READ).groups(&[LEGACY_GROUP]).resources(&[
            "pods/attach",
            "pods/proxy",
            "pods/exec",
            "pods/portforward",
            "secrets",
            "services/proxy",
        ]),
        PolicyRule::new(&["impersonate"])
            .groups(&[LEGACY_GROUP])
            .resources(&["serviceaccounts"]),
        PolicyRule::new(WRITE).groups(&[LEGACY_GROUP]).resources(&[
            "pods",
            "pods/attach",
            "pods/proxy",
            "pods/exec",
            "pods/portforward",
        ]),
        PolicyRule::new(&["create"])
            .groups(&[LEGACY_GROUP])
            .resources(&["pods/eviction"]),
        PolicyRule::new(WRITE).groups(&[LEGACY_GROUP]).resources(&[
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/proxy",
            "persistentvolumeclaims",
            "configmaps",
            "secrets",
        ]),
        PolicyRule::new(&["create"])
            .groups(&[LEGACY_GROUP])
            .resources(&["serviceaccounts/token"]),
        PolicyRule::new(WRITE).groups(&[APPS_GROUP]).resources(&[
            "statefulsets",
            "statefulsets/scale",
            "daemonsets",
            "deployments",
            "deployments/scale",
            "deployments/rollback",
            "replicasets",
            "replicasets/scale",
        ]),
        PolicyRule::new(WRITE)
            .groups(&[AUTOSCALING_GROUP])
            .resources(&["horizontalpodautoscalers"]),
        PolicyRule::new(WRITE)
            .groups(&[BATCH_GROUP])
            .resources(&["jobs", "cronjobs"]),
        PolicyRule::new(WRITE)
            .groups(&[EXTENSIONS_GROUP])
            .resources(&[
                "daemonsets",
                "deployments",
                "deployments/scale",
                "deployments/rollback",
                "ingresses",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
                "networkpolicies",
            ]),
        PolicyRule::new(WRITE)
            .groups(&[POLICY_GROUP])
            .resources(&["poddisruptionbudgets"]),
        PolicyRule::new(WRITE)
            .groups(&[NETWORKING_GROUP])
            .resources(&["networkpolicies", "ingresses"]),
    ]
}

/// The rules of `system:aggregate-to-view` (upstream policy.go).
fn aggregate_to_view_rules() -> Vec<PolicyRule> {
    vec![
        PolicyRule::new(READ).groups(&[LEGACY_GROUP]).resources(&[
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "configmaps",
        ]),
        PolicyRule::new(READ).groups(&[LEGACY_GROUP]).resources(&[
            "limitranges",
            "resourcequotas",
            "bindings",
            "events",
            "pods/status",
            "resourcequotas/status",
            "namespaces/status",
            "replicationcontrollers/status",
            "pods/log",
        ]),
        // Read access to namespaces at the namespace scope means you can read *this*
        // namespace, an indicator of which namespaces you have access to.
        PolicyRule::new(READ)
            .groups(&[LEGACY_GROUP])
            .resources(&["namespaces"]),
        PolicyRule::new(READ)
            .groups(&[DISCOVERY_GROUP])
            .resources(&["endpointslices"]),
        PolicyRule::new(READ).groups(&[APPS_GROUP]).resources(&[
            "controllerrevisions",
            "statefulsets",
            "statefulsets/status",
            "statefulsets/scale",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/status",
            "deployments/scale",
            "replicasets",
            "replicasets/status",
            "replicasets/scale",
        ]),
        PolicyRule::new(READ)
            .groups(&[AUTOSCALING_GROUP])
            .resources(&[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ]),
        PolicyRule::new(READ).groups(&[BATCH_GROUP]).resources(&[
            "jobs",
            "cronjobs",
            "cronjobs/status",
            "jobs/status",
        ]),
        PolicyRule::new(READ)
            .groups(&[EXTENSIONS_GROUP])
            .resources(&[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
                "networkpolicies",
            ]),
        PolicyRule::new(READ)
            .groups(&[POLICY_GROUP])
            .resources(&["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        PolicyRule::new(READ)
            .groups(&[NETWORKING_GROUP])
            .resources(&["networkpolicies", "ingresses", "ingresses/status"]),
    ]
}

/// The default ClusterRoles, in upstream's order: `cluster-admin`, `system:discovery`,
/// `system:basic-user`, `system:public-info-viewer`, the aggregated `admin`, `edit` and
/// `view` (with no rules until [`super::aggregate_cluster_roles`] fills them), and
/// `system:aggregate-to-admin`, `-edit` and `-view` that hold their rules.
pub fn bootstrap_cluster_roles() -> Vec<Value> {
    vec![
        // A "root" role which can do absolutely anything.
        cluster_role(
            "cluster-admin",
            &[],
            vec![
                PolicyRule::new(&["*"]).groups(&["*"]).resources(&["*"]),
                PolicyRule::new(&["*"]).urls(&["*"]),
            ],
        ),
        // Just enough to tell whether the server is ready and to discover API versions.
        cluster_role(
            "system:discovery",
            &[],
            vec![PolicyRule::new(&["get"]).urls(&[
                "/livez",
                "/readyz",
                "/healthz",
                "/version",
                "/version/",
                "/openapi",
                "/openapi/*",
                "/api",
                "/api/*",
                "/apis",
                "/apis/*",
            ])],
        ),
        // Minimal access for a "normal" user to learn about themselves.
        cluster_role(
            "system:basic-user",
            &[],
            vec![
                PolicyRule::new(&["create"])
                    .groups(&[AUTHORIZATION_GROUP])
                    .resources(&["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                PolicyRule::new(&["create"])
                    .groups(&[AUTHENTICATION_GROUP])
                    .resources(&["selfsubjectreviews"]),
            ],
        ),
        // Read insensitive cluster information.
        cluster_role(
            "system:public-info-viewer",
            &[],
            vec![PolicyRule::new(&["get"]).urls(&[
                "/livez",
                "/readyz",
                "/healthz",
                "/version",
                "/version/",
            ])],
        ),
        // A namespace admin: `edit` plus the power to grant permissions to other users.
        aggregated_cluster_role("admin", &[], AGGREGATE_TO_ADMIN),
        // A namespace editor: every user-level action, but not the privileged `/status`
        // subresources, quota or limits.
        aggregated_cluster_role("edit", &[(AGGREGATE_TO_ADMIN, "true")], AGGREGATE_TO_EDIT),
        // Read-only access to non-escalating resources in a namespace.
        aggregated_cluster_role("view", &[(AGGREGATE_TO_EDIT, "true")], AGGREGATE_TO_VIEW),
        cluster_role(
            "system:aggregate-to-admin",
            &[(AGGREGATE_TO_ADMIN, "true")],
            vec![
                PolicyRule::new(&["create"])
                    .groups(&[AUTHORIZATION_GROUP])
                    .resources(&["localsubjectaccessreviews"]),
                PolicyRule::new(READ_WRITE)
                    .groups(&[RBAC_GROUP])
                    .resources(&["roles", "rolebindings"]),
            ],
        ),
        cluster_role(
            "system:aggregate-to-edit",
            &[(AGGREGATE_TO_EDIT, "true")],
            aggregate_to_edit_rules(),
        ),
        cluster_role(
            "system:aggregate-to-view",
            &[(AGGREGATE_TO_VIEW, "true")],
            aggregate_to_view_rules(),
        ),
    ]
}

fn cluster_role_binding(role: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({ "kind": "Group", "apiGroup": RBAC_GROUP, "name": g }))
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": metadata(role, &[]),
        "roleRef": { "apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role },
        "subjects": subjects,
    })
}

/// The default ClusterRoleBindings: `cluster-admin` to `system:masters`,
/// `system:discovery` and `system:basic-user` to `system:authenticated`, and
/// `system:public-info-viewer` to `system:authenticated` and `system:unauthenticated`.
pub fn bootstrap_cluster_role_bindings() -> Vec<Value> {
    vec![
        cluster_role_binding("cluster-admin", &[SYSTEM_PRIVILEGED_GROUP]),
        cluster_role_binding("system:discovery", &[ALL_AUTHENTICATED]),
        cluster_role_binding("system:basic-user", &[ALL_AUTHENTICATED]),
        cluster_role_binding(
            "system:public-info-viewer",
            &[ALL_AUTHENTICATED, ALL_UNAUTHENTICATED],
        ),
    ]
}
