//! Cases taken from upstream's tests; each names its source file and test.

use serde_json::{Value, json};

use super::*;

// ---- helpers --------------------------------------------------------------------------

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        api_groups: groups.iter().map(|s| s.to_string()).collect(),
        resources: resources.iter().map(|s| s.to_string()).collect(),
        ..PolicyRule::default()
    }
}

fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        non_resource_urls: urls.iter().map(|s| s.to_string()).collect(),
        ..PolicyRule::default()
    }
}

fn with_names(mut r: PolicyRule, names: &[&str]) -> PolicyRule {
    r.resource_names = names.iter().map(|s| s.to_string()).collect();
    r
}

fn rules_json(rules: &[PolicyRule]) -> Value {
    Value::Array(rules.iter().map(PolicyRule::to_json).collect())
}

fn role(namespace: &str, name: &str, rules: &[PolicyRule]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules_json(rules),
    })
}

fn cluster_role(name: &str, rules: &[PolicyRule]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules_json(rules),
    })
}

/// `"User:alice"`, `"Group:admins"`, `"ServiceAccount:ns:name"` (ns may be empty).
fn subjects(specs: &[&str]) -> Value {
    Value::Array(
        specs
            .iter()
            .map(|s| {
                let parts: Vec<&str> = s.splitn(3, ':').collect();
                match parts[0] {
                    "ServiceAccount" => {
                        json!({"kind": "ServiceAccount", "namespace": parts[1], "name": parts[2]})
                    }
                    kind => json!({"kind": kind, "apiGroup": RBAC_GROUP, "name": parts[1]}),
                }
            })
            .collect(),
    )
}

fn role_binding(
    namespace: &str,
    name: &str,
    ref_kind: &str,
    ref_name: &str,
    subs: &[&str],
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": ref_kind, "name": ref_name},
        "subjects": subjects(subs),
    })
}

fn cluster_role_binding(name: &str, ref_name: &str, subs: &[&str]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": ref_name},
        "subjects": subjects(subs),
    })
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo::new(name, groups)
}

/// A resource request: `verb namespace group resource subresource name`.
fn res(
    user: &UserInfo,
    verb: &str,
    namespace: &str,
    group: &str,
    resource: &str,
    subresource: &str,
    name: &str,
) -> Attributes {
    Attributes {
        user: user.clone(),
        verb: verb.into(),
        namespace: namespace.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        name: name.into(),
        resource_request: true,
        ..Attributes::default()
    }
}

fn non_res(user: &UserInfo, verb: &str, path: &str) -> Attributes {
    Attributes {
        user: user.clone(),
        verb: verb.into(),
        path: path.into(),
        ..Attributes::default()
    }
}

fn nobody() -> UserInfo {
    UserInfo::default()
}

// ---- rule matching --------------------------------------------------------------------

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestRuleMatches "star verb, exact match other".
#[test]
fn rule_matches_star_verb() {
    let r = rule(&["*"], &["group1"], &["resource1"]);
    let u = nobody();
    assert!(rule_allows(
        &res(&u, "get", "", "group1", "resource1", "", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "get", "", "group2", "resource1", "", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "get", "", "group1", "resource2", "", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "get", "", "group2", "resource2", "", ""),
        &r
    ));
    assert!(rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", ""),
        &r
    ));
}

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestRuleMatches "star group, exact match other".
#[test]
fn rule_matches_star_group() {
    let r = rule(&["verb1"], &["*"], &["resource1"]);
    let u = nobody();
    assert!(rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", ""),
        &r
    ));
    assert!(rule_allows(
        &res(&u, "verb1", "", "group2", "resource1", "", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "verb1", "", "group1", "resource2", "", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "verb2", "", "group1", "resource1", "", ""),
        &r
    ));
}

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestRuleMatches "star resource, exact match
// other" and "tuple expansion".
#[test]
fn rule_matches_star_resource_and_tuples() {
    let r = rule(&["verb1"], &["group1"], &["*"]);
    let u = nobody();
    assert!(rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", ""),
        &r
    ));
    assert!(rule_allows(
        &res(&u, "verb1", "", "group1", "resource2", "", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "verb1", "", "group2", "resource1", "", ""),
        &r
    ));

    let r = rule(
        &["verb1", "verb2"],
        &["group1", "group2"],
        &["resource1", "resource2"],
    );
    for verb in ["verb1", "verb2"] {
        for group in ["group1", "group2"] {
            for resource in ["resource1", "resource2"] {
                assert!(rule_allows(&res(&u, verb, "", group, resource, "", ""), &r));
            }
        }
    }
    assert!(!rule_allows(
        &res(&u, "verb3", "", "group1", "resource1", "", ""),
        &r
    ));
}

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestRuleMatches "subresource expansion".
#[test]
fn rule_matches_subresources() {
    let r = rule(&["*"], &["*"], &["resource1/subresource1"]);
    let u = nobody();
    assert!(rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "subresource1", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "verb1", "", "group1", "resource2", "subresource1", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "subresource2", ""),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", ""),
        &r
    ));
}

// pkg/apis/rbac/v1/evaluation_helpers.go ResourceMatches: `*/subresource` matches that
// subresource of any resource, and only a subresource; `resource/*` is not a wildcard.
#[test]
fn resource_matches_star_subresource() {
    let r = rule(&["get"], &["*"], &["*/scale"]);
    assert!(resource_matches(&r, "deployments/scale", "scale"));
    assert!(resource_matches(&r, "replicasets/scale", "scale"));
    assert!(!resource_matches(&r, "deployments/status", "status"));
    assert!(!resource_matches(&r, "deployments", ""));
    assert!(!resource_matches(&r, "scale", ""));

    let r = rule(&["get"], &["*"], &["pods/*"]);
    assert!(!resource_matches(&r, "pods/exec", "exec"));
    assert!(!resource_matches(&r, "pods", ""));
}

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestRuleMatches "resource names" cases.
#[test]
fn rule_matches_resource_names() {
    let u = nobody();
    let r = with_names(
        rule(&["verb1"], &["group1"], &["resource1"]),
        &["foo", "bar"],
    );
    assert!(rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", "foo"),
        &r
    ));
    assert!(rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", "bar"),
        &r
    ));
    assert!(!rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", "baz"),
        &r
    ));
    // A list or a create has no name and is not limited by names it cannot know.
    assert!(!rule_allows(
        &res(&u, "verb1", "", "group1", "resource1", "", ""),
        &r
    ));
    let any = rule(&["verb1"], &["group1"], &["resource1"]);
    assert!(resource_name_matches(&any, ""));
    assert!(resource_name_matches(&any, "anything"));
}

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestRuleMatches "star nonresource, exact
// match other", "star nonresource subpath" and "star verb, exact nonresource".
#[test]
fn rule_matches_non_resource_urls() {
    let u = nobody();
    let r = url_rule(&["verb1"], &["*"]);
    assert!(rule_allows(&non_res(&u, "verb1", "/foo"), &r));
    assert!(rule_allows(&non_res(&u, "verb1", "/foo/bar"), &r));
    assert!(!rule_allows(&non_res(&u, "verb2", "/foo"), &r));

    let r = url_rule(&["verb1"], &["/foo/*"]);
    assert!(rule_allows(&non_res(&u, "verb1", "/foo/bar"), &r));
    assert!(rule_allows(&non_res(&u, "verb1", "/foo/baz/qux"), &r));
    assert!(rule_allows(&non_res(&u, "verb1", "/foo/"), &r));
    assert!(!rule_allows(&non_res(&u, "verb1", "/foo"), &r));
    assert!(!rule_allows(&non_res(&u, "verb1", "/bar/foo"), &r));

    let r = url_rule(&["*"], &["/foo", "/foo/bar/one"]);
    assert!(rule_allows(&non_res(&u, "verb1", "/foo"), &r));
    assert!(rule_allows(&non_res(&u, "verb2", "/foo/bar/one"), &r));
    assert!(!rule_allows(&non_res(&u, "verb1", "/foo/bar"), &r));
    assert!(!rule_allows(&non_res(&u, "verb1", "/foo/bar/one/two"), &r));

    // A resource rule never matches a path, nor a URL rule a resource.
    let resource_rule = rule(&["*"], &["*"], &["*"]);
    assert!(!rule_allows(&non_res(&u, "get", "/foo"), &resource_rule));
    assert!(!rule_allows(
        &res(&u, "get", "", "", "pods", "", ""),
        &url_rule(&["*"], &["*"])
    ));
}

// pkg/registry/rbac/validation/rule_test.go, TestAppliesTo.
#[test]
fn subjects_apply_to_users() {
    let sa = user("system:serviceaccount:kube-system:default", &[]);
    let cases: Vec<(&str, Value, UserInfo, &str, bool)> = vec![
        (
            "single subject that matches",
            json!({"kind": "User", "name": "foobar"}),
            user("foobar", &[]),
            "",
            true,
        ),
        (
            "single subject that does not match",
            json!({"kind": "User", "name": "foobar"}),
            user("baz", &[]),
            "",
            false,
        ),
        (
            "group",
            json!({"kind": "Group", "name": "foobar"}),
            user("baz", &["foobar"]),
            "",
            true,
        ),
        (
            "group no match",
            json!({"kind": "Group", "name": "foobar"}),
            user("baz", &["other"]),
            "",
            false,
        ),
        (
            "service account",
            json!({"kind": "ServiceAccount", "namespace": "kube-system", "name": "default"}),
            sa.clone(),
            "",
            true,
        ),
        (
            "service account wrong namespace",
            json!({"kind": "ServiceAccount", "namespace": "other", "name": "default"}),
            sa.clone(),
            "",
            false,
        ),
        (
            "service account without namespace uses the binding's",
            json!({"kind": "ServiceAccount", "name": "default"}),
            sa.clone(),
            "kube-system",
            true,
        ),
        (
            "service account without any namespace",
            json!({"kind": "ServiceAccount", "name": "default"}),
            sa.clone(),
            "",
            false,
        ),
        (
            "service account name is not a prefix match",
            json!({"kind": "ServiceAccount", "namespace": "kube-system", "name": "def"}),
            sa.clone(),
            "",
            false,
        ),
        (
            "unknown kind",
            json!({"kind": "Robot", "name": "foobar"}),
            user("foobar", &[]),
            "",
            false,
        ),
    ];
    for (name, subject, u, ns, want) in cases {
        assert_eq!(applies_to_user(&u, &subject, ns), want, "{name}");
    }
}

// ---- authorize ------------------------------------------------------------------------

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestAuthorizer: a ClusterRole bound in one
// namespace by a RoleBinding (users and groups), and nowhere else.
#[test]
fn authorize_role_binding_to_cluster_role() {
    let cluster_roles = vec![cluster_role("admin", &[rule(&["*"], &["*"], &["*"])])];
    let role_bindings = vec![role_binding(
        "ns1",
        "admin",
        "ClusterRole",
        "admin",
        &["User:admin", "Group:admins"],
    )];
    let admin = user("admin", &[]);
    let in_group = user("user", &["admins"]);
    for (u, verb, ns) in [
        (&admin, "get", "ns1"),
        (&admin, "watch", "ns1"),
        (&in_group, "get", "ns1"),
    ] {
        let d = authorize(
            &res(u, verb, ns, "", "pods", "", ""),
            &[],
            &cluster_roles,
            &role_bindings,
            &[],
        );
        assert!(d.allowed, "{} {verb} {ns}", u.name);
    }
    for (u, verb, ns) in [
        (&admin, "get", "ns2"),
        (&admin, "get", ""),
        (&in_group, "get", "ns2"),
    ] {
        let d = authorize(
            &res(u, verb, ns, "", "pods", "", ""),
            &[],
            &cluster_roles,
            &role_bindings,
            &[],
        );
        assert!(!d.allowed, "{} {verb} {ns:?}", u.name);
        assert_eq!(d.reason, "");
    }
    let d = authorize(
        &res(&admin, "get", "ns1", "", "pods", "", ""),
        &[],
        &cluster_roles,
        &role_bindings,
        &[],
    );
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "admin/ns1" of ClusterRole "admin" to User "admin""#
    );
}

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestAuthorizer: a ClusterRoleBinding grants
// everywhere, including non-resource URLs and the cluster scope.
#[test]
fn authorize_cluster_role_binding() {
    let cluster_roles = vec![cluster_role(
        "admin",
        &[rule(&["*"], &["*"], &["*"]), url_rule(&["*"], &["*"])],
    )];
    let bindings = vec![cluster_role_binding(
        "admin",
        "admin",
        &["User:admin", "Group:admins"],
    )];
    let admin = user("admin", &[]);
    for attrs in [
        res(&admin, "get", "ns1", "", "pods", "", ""),
        res(&admin, "list", "", "", "nodes", "", ""),
        non_res(&admin, "get", "/healthz"),
        res(
            &user("x", &["admins"]),
            "delete",
            "ns9",
            "apps",
            "deployments",
            "",
            "web",
        ),
    ] {
        assert!(
            authorize(&attrs, &[], &cluster_roles, &[], &bindings).allowed,
            "{attrs:?}"
        );
    }
    let d = authorize(
        &res(&admin, "get", "", "", "nodes", "", ""),
        &[],
        &cluster_roles,
        &[],
        &bindings,
    );
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by ClusterRoleBinding "admin" of ClusterRole "admin" to User "admin""#
    );
    let d = authorize(
        &res(&user("x", &["admins"]), "get", "", "", "nodes", "", ""),
        &[],
        &cluster_roles,
        &[],
        &bindings,
    );
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by ClusterRoleBinding "admin" of ClusterRole "admin" to Group "admins""#
    );
    assert!(
        !authorize(
            &non_res(&user("bob", &[]), "get", "/healthz"),
            &[],
            &cluster_roles,
            &[],
            &bindings
        )
        .allowed
    );
}

// plugin/pkg/auth/authorizer/rbac/rbac_test.go, TestAuthorizer: a namespaced Role, a
// ServiceAccount subject without a namespace, resourceNames and subresources.
#[test]
fn authorize_role_with_names_and_subresources() {
    let roles = vec![role(
        "ns1",
        "pod-reader",
        &[
            rule(&["get", "list"], &[""], &["pods", "pods/log"]),
            with_names(rule(&["get"], &[""], &["configmaps"]), &["settings"]),
        ],
    )];
    let role_bindings = vec![role_binding(
        "ns1",
        "read",
        "Role",
        "pod-reader",
        &["ServiceAccount::builder"],
    )];
    let sa = user(
        "system:serviceaccount:ns1:builder",
        &["system:serviceaccounts"],
    );
    let allow = |a: Attributes| authorize(&a, &roles, &[], &role_bindings, &[]);
    assert!(allow(res(&sa, "get", "ns1", "", "pods", "", "web")).allowed);
    assert!(allow(res(&sa, "get", "ns1", "", "pods", "log", "web")).allowed);
    assert!(!allow(res(&sa, "create", "ns1", "", "pods", "exec", "web")).allowed);
    assert!(!allow(res(&sa, "get", "ns1", "", "pods", "status", "web")).allowed);
    assert!(allow(res(&sa, "get", "ns1", "", "configmaps", "", "settings")).allowed);
    assert!(!allow(res(&sa, "get", "ns1", "", "configmaps", "", "other")).allowed);
    assert!(!allow(res(&sa, "list", "ns1", "", "configmaps", "", "")).allowed);
    assert!(!allow(res(&sa, "get", "ns2", "", "pods", "", "web")).allowed);
    let d = allow(res(&sa, "get", "ns1", "", "pods", "", "web"));
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "read/ns1" of Role "pod-reader" to ServiceAccount "builder/ns1""#
    );
    // A Role of another namespace with the same name is not the one referenced.
    let other = vec![role("ns2", "pod-reader", &[rule(&["*"], &["*"], &["*"])])];
    assert!(
        !authorize(
            &res(&sa, "get", "ns1", "", "pods", "", ""),
            &other,
            &[],
            &role_bindings,
            &[]
        )
        .allowed
    );
}

// pkg/registry/rbac/validation/rule.go GetRoleReferenceRules and rbac.go Authorize: an
// unresolvable reference is reported in the reason when nothing allows the request, and
// does not stop other bindings from allowing it.
#[test]
fn authorize_reports_resolution_errors() {
    let alice = user("alice", &[]);
    let crbs = vec![cluster_role_binding("missing", "gone", &["User:alice"])];
    let rbs = vec![
        role_binding("ns1", "r1", "Role", "absent", &["User:alice"]),
        role_binding("ns1", "r2", "Widget", "w", &["User:alice"]),
    ];
    let d = authorize(
        &res(&alice, "get", "ns1", "", "pods", "", ""),
        &[],
        &[],
        &rbs,
        &crbs,
    );
    assert!(!d.allowed);
    assert_eq!(
        d.reason,
        r#"RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "absent" not found, unsupported role reference kind: "Widget"]"#
    );
    let d = authorize(
        &res(&alice, "get", "", "", "nodes", "", ""),
        &[],
        &[],
        &rbs,
        &crbs,
    );
    assert_eq!(
        d.reason,
        r#"RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#
    );

    let roles = vec![cluster_role("reader", &[rule(&["get"], &[""], &["pods"])])];
    let rbs = vec![role_binding(
        "ns1",
        "ok",
        "ClusterRole",
        "reader",
        &["User:alice"],
    )];
    assert!(
        authorize(
            &res(&alice, "get", "ns1", "", "pods", "", ""),
            &[],
            &roles,
            &rbs,
            &crbs
        )
        .allowed
    );
}

// pkg/registry/rbac/validation/rule_test.go, TestDefaultRuleResolver: the rules for a user
// in a namespace are the cluster-wide ones and that namespace's.
#[test]
fn rules_for_user_in_namespace() {
    let cluster_roles = vec![
        cluster_role("cluster-admin", &[rule(&["*"], &["*"], &["*"])]),
        cluster_role(
            "write-nodes",
            &[rule(&["create", "update"], &[""], &["nodes"])],
        ),
    ];
    let roles = vec![role(
        "namespace1",
        "readthings",
        &[rule(&["get", "list"], &[""], &["pods", "services"])],
    )];
    let crbs = vec![cluster_role_binding(
        "cluster-admins",
        "cluster-admin",
        &["Group:admin"],
    )];
    let rbs = vec![
        role_binding("namespace1", "read", "Role", "readthings", &["User:foobar"]),
        role_binding(
            "namespace1",
            "nodes",
            "ClusterRole",
            "write-nodes",
            &["Group:foobar-group"],
        ),
    ];
    let foobar = user("foobar", &["foobar-group"]);
    let r = rules_for(&foobar, "namespace1", &roles, &cluster_roles, &rbs, &crbs);
    assert_eq!(
        r.rules,
        vec![
            rule(&["get", "list"], &[""], &["pods", "services"]),
            rule(&["create", "update"], &[""], &["nodes"]),
        ]
    );
    assert_eq!(r.evaluation_error(), None);
    assert!(
        rules_for(&foobar, "namespace2", &roles, &cluster_roles, &rbs, &crbs)
            .rules
            .is_empty()
    );
    assert!(
        rules_for(&foobar, "", &roles, &cluster_roles, &rbs, &crbs)
            .rules
            .is_empty()
    );
    let admin = user("someone", &["admin"]);
    assert_eq!(
        rules_for(&admin, "namespace1", &roles, &cluster_roles, &rbs, &crbs).rules,
        vec![rule(&["*"], &["*"], &["*"])]
    );
    let broken = vec![role_binding(
        "namespace1",
        "x",
        "Role",
        "nope",
        &["User:foobar"],
    )];
    let r = rules_for(
        &foobar,
        "namespace1",
        &roles,
        &cluster_roles,
        &broken,
        &crbs,
    );
    assert!(r.rules.is_empty());
    assert_eq!(
        r.evaluation_error().as_deref(),
        Some(r#"role.rbac.authorization.k8s.io "nope" not found"#)
    );
}

// ---- aggregation ----------------------------------------------------------------------

fn labeled_role(name: &str, labels: Value, rules: &[PolicyRule]) -> Value {
    json!({"kind": "ClusterRole", "metadata": {"name": name, "labels": labels}, "rules": rules_json(rules)})
}

fn aggregating_role(name: &str, selectors: Value, rules: &[PolicyRule]) -> Value {
    json!({
        "kind": "ClusterRole", "metadata": {"name": name},
        "aggregationRule": {"clusterRoleSelectors": selectors},
        "rules": rules_json(rules),
    })
}

// pkg/controller/clusterroleaggregation/clusterroleaggregation_controller_test.go,
// TestSyncClusterRole: "no change", "no aggregation rule", "update with new rules" (roles
// sorted by name), "dedupe" and "multiple selectors".
#[test]
fn aggregation_like_the_controller() {
    let hammer = rule(&["hammer"], &[""], &["nails"]);
    let chisel = rule(&["chisel"], &[""], &["wood"]);
    let mut roles = vec![
        labeled_role(
            "hammer",
            json!({"foo": "bar"}),
            std::slice::from_ref(&hammer),
        ),
        labeled_role(
            "chisel",
            json!({"foo": "bar"}),
            &[chisel.clone(), hammer.clone()],
        ),
        labeled_role(
            "unrelated",
            json!({"foo": "baz"}),
            &[rule(&["saw"], &[""], &["trees"])],
        ),
        labeled_role(
            "other",
            json!({"kind": "tool"}),
            &[rule(&["drill"], &[""], &["holes"])],
        ),
        aggregating_role("aggregate", json!([{"matchLabels": {"foo": "bar"}}]), &[]),
        aggregating_role(
            "multi",
            json!([
                {"matchExpressions": [{"key": "kind", "operator": "In", "values": ["tool"]}]},
                {"matchLabels": {"foo": "bar"}},
            ]),
            &[],
        ),
        labeled_role("plain", json!({}), std::slice::from_ref(&hammer)),
    ];
    aggregate_cluster_roles(&mut roles);
    let rules_of = |roles: &[Value], name: &str| {
        PolicyRule::list_from_role(
            roles
                .iter()
                .find(|r| r["metadata"]["name"] == name)
                .unwrap(),
        )
    };
    assert_eq!(
        rules_of(&roles, "aggregate"),
        vec![chisel.clone(), hammer.clone()]
    );
    assert_eq!(
        rules_of(&roles, "multi"),
        vec![
            rule(&["drill"], &[""], &["holes"]),
            chisel.clone(),
            hammer.clone()
        ]
    );
    assert_eq!(rules_of(&roles, "plain"), vec![hammer.clone()]);
    // Running again changes nothing.
    let before = roles.clone();
    aggregate_cluster_roles(&mut roles);
    assert_eq!(roles, before);
    // An aggregation rule without selectors aggregates nothing.
    let mut roles = vec![aggregating_role(
        "empty",
        json!([]),
        std::slice::from_ref(&hammer),
    )];
    aggregate_cluster_roles(&mut roles);
    assert!(rules_of(&roles, "empty").is_empty());
}

fn aggregated_bootstrap() -> Vec<Value> {
    let mut roles = bootstrap_cluster_roles();
    aggregate_cluster_roles(&mut roles);
    roles
}

/// Binds `cluster_role` to user `u` in namespace `ns` and authorizes `attrs` against the
/// aggregated bootstrap roles.
fn allowed_by_bootstrap_role(cluster_role: &str, attrs: &Attributes) -> bool {
    let roles = aggregated_bootstrap();
    let rbs = vec![role_binding(
        &attrs.namespace,
        "b",
        "ClusterRole",
        cluster_role,
        &[&format!("User:{}", attrs.user.name)],
    )];
    authorize(attrs, &[], &roles, &rbs, &[]).allowed
}

// plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go with the aggregation controller:
// view reads but not secrets; edit writes workloads and reads secrets but does not touch
// RBAC; admin manages roles and bindings in its namespace.
#[test]
fn bootstrap_admin_edit_view_aggregate() {
    let u = user("alice", &[]);
    let r = |verb: &str, group: &str, resource: &str, sub: &str| {
        res(&u, verb, "team", group, resource, sub, "")
    };

    assert!(allowed_by_bootstrap_role("view", &r("get", "", "pods", "")));
    assert!(allowed_by_bootstrap_role(
        "view",
        &r("list", "apps", "deployments", "")
    ));
    assert!(allowed_by_bootstrap_role(
        "view",
        &r("get", "", "pods", "log")
    ));
    assert!(!allowed_by_bootstrap_role(
        "view",
        &r("get", "", "secrets", "")
    ));
    assert!(!allowed_by_bootstrap_role(
        "view",
        &r("create", "", "pods", "")
    ));
    assert!(!allowed_by_bootstrap_role(
        "view",
        &r("create", "", "pods", "exec")
    ));

    assert!(allowed_by_bootstrap_role(
        "edit",
        &r("create", "apps", "deployments", "")
    ));
    assert!(allowed_by_bootstrap_role(
        "edit",
        &r("get", "apps", "deployments", "")
    ));
    assert!(allowed_by_bootstrap_role(
        "edit",
        &r("get", "", "secrets", "")
    ));
    assert!(allowed_by_bootstrap_role(
        "edit",
        &r("create", "", "pods", "exec")
    ));
    assert!(allowed_by_bootstrap_role(
        "edit",
        &r("create", "", "pods", "eviction")
    ));
    assert!(allowed_by_bootstrap_role(
        "edit",
        &r("update", "batch", "cronjobs", "")
    ));
    assert!(allowed_by_bootstrap_role(
        "edit",
        &r("patch", "networking.k8s.io", "ingresses", "")
    ));
    assert!(!allowed_by_bootstrap_role(
        "edit",
        &r("create", "", "endpoints", "")
    ));
    assert!(!allowed_by_bootstrap_role(
        "edit",
        &r("create", "rbac.authorization.k8s.io", "rolebindings", "")
    ));
    assert!(!allowed_by_bootstrap_role(
        "edit",
        &r("update", "", "resourcequotas", "")
    ));

    assert!(allowed_by_bootstrap_role(
        "admin",
        &r("create", "rbac.authorization.k8s.io", "rolebindings", "")
    ));
    assert!(allowed_by_bootstrap_role(
        "admin",
        &r(
            "create",
            "authorization.k8s.io",
            "localsubjectaccessreviews",
            ""
        )
    ));
    assert!(allowed_by_bootstrap_role(
        "admin",
        &r("create", "apps", "deployments", "")
    ));
    assert!(allowed_by_bootstrap_role(
        "admin",
        &r("get", "", "pods", "")
    ));
    assert!(!allowed_by_bootstrap_role(
        "admin",
        &r("update", "", "resourcequotas", "")
    ));

    // Aggregation order: edit is system:aggregate-to-edit's rules, then view's.
    let roles = aggregated_bootstrap();
    let find = |name: &str| {
        roles
            .iter()
            .find(|r| r["metadata"]["name"] == name)
            .unwrap()
    };
    let edit = PolicyRule::list_from_role(find("edit"));
    let view = PolicyRule::list_from_role(find("view"));
    let to_edit = PolicyRule::list_from_role(find("system:aggregate-to-edit"));
    assert_eq!(
        view,
        PolicyRule::list_from_role(find("system:aggregate-to-view"))
    );
    assert_eq!(edit[..to_edit.len()], to_edit[..]);
    assert_eq!(edit.len(), to_edit.len() + view.len());
}

// plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml and
// cluster-role-bindings.yaml: names, labels, annotations, selectors and subjects.
#[test]
fn bootstrap_objects_shape() {
    let roles = bootstrap_cluster_roles();
    let names: Vec<&str> = roles
        .iter()
        .map(|r| r["metadata"]["name"].as_str().unwrap())
        .collect();
    for name in [
        "cluster-admin",
        "system:discovery",
        "system:basic-user",
        "system:public-info-viewer",
        "admin",
        "edit",
        "view",
        "system:aggregate-to-admin",
        "system:aggregate-to-edit",
        "system:aggregate-to-view",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    for r in roles.iter().chain(bootstrap_cluster_role_bindings().iter()) {
        assert_eq!(
            r["metadata"]["labels"]["kubernetes.io/bootstrapping"],
            "rbac-defaults"
        );
        assert_eq!(
            r["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
            "true"
        );
    }
    let find = |name: &str| {
        roles
            .iter()
            .find(|r| r["metadata"]["name"] == name)
            .unwrap()
    };
    assert_eq!(
        find("admin")["aggregationRule"],
        json!({"clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]})
    );
    assert_eq!(find("admin")["rules"], Value::Null);
    assert_eq!(
        find("edit")["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"],
        "true"
    );
    assert_eq!(
        find("view")["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"],
        "true"
    );
    assert_eq!(
        find("cluster-admin")["rules"],
        json!([
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            {"verbs": ["*"], "nonResourceURLs": ["*"]},
        ])
    );
    // Lists are sorted, as upstream's rule builder leaves them.
    assert_eq!(
        find("system:aggregate-to-admin")["rules"][1]["verbs"],
        json!([
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ])
    );

    let bindings = bootstrap_cluster_role_bindings();
    let subjects_of = |name: &str| -> Vec<(String, String)> {
        let b = bindings
            .iter()
            .find(|b| b["metadata"]["name"] == name)
            .unwrap();
        assert_eq!(
            b["roleRef"],
            json!({"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name})
        );
        b["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["kind"].as_str().unwrap().into(),
                    s["name"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let g = |n: &str| ("Group".to_string(), n.to_string());
    assert_eq!(subjects_of("cluster-admin"), vec![g("system:masters")]);
    assert_eq!(
        subjects_of("system:discovery"),
        vec![g("system:authenticated")]
    );
    assert_eq!(
        subjects_of("system:basic-user"),
        vec![g("system:authenticated")]
    );
    assert_eq!(
        subjects_of("system:public-info-viewer"),
        vec![g("system:authenticated"), g("system:unauthenticated")]
    );
}

// The bootstrap bindings as a new tenant's authorizer sees them.
#[test]
fn bootstrap_bindings_authorize() {
    let roles = aggregated_bootstrap();
    let crbs = bootstrap_cluster_role_bindings();
    let authz = |a: Attributes| authorize(&a, &[], &roles, &[], &crbs);
    let master = user("root", &["system:masters", "system:authenticated"]);
    let alice = user("alice", &["system:authenticated"]);
    let anonymous = user("system:anonymous", &["system:unauthenticated"]);
    assert!(authz(res(&master, "delete", "", "", "namespaces", "", "x")).allowed);
    assert!(authz(non_res(&master, "get", "/metrics")).allowed);
    assert!(authz(non_res(&alice, "get", "/apis/apps/v1")).allowed);
    assert!(authz(non_res(&alice, "get", "/version")).allowed);
    assert!(
        authz(res(
            &alice,
            "create",
            "",
            "authorization.k8s.io",
            "selfsubjectrulesreviews",
            "",
            ""
        ))
        .allowed
    );
    assert!(!authz(res(&alice, "list", "default", "", "pods", "", "")).allowed);
    assert!(authz(non_res(&anonymous, "get", "/healthz")).allowed);
    assert!(!authz(non_res(&anonymous, "get", "/api")).allowed);
    let d = authz(non_res(&anonymous, "get", "/livez"));
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "system:unauthenticated""#
    );
}

// ---- escalation -----------------------------------------------------------------------

fn rule_g(groups: &[&str], verbs: &[&str], resources: &[&str]) -> PolicyRule {
    rule(verbs, groups, resources)
}

// staging/src/k8s.io/component-helpers/auth/rbac/validation/policy_comparator_test.go,
// TestCoversExactMatch, TestCoversSubresourceWildcard, TestCoversMultipleRulesCoveringMultipleRules,
// TestCoversVerbStar, TestCoversGroupStar, TestCoversResourceStar and the resourceNames cases.
#[test]
fn covers_cases() {
    struct Case {
        name: &'static str,
        owner: Vec<PolicyRule>,
        servant: Vec<PolicyRule>,
        covered: bool,
        uncovered: Vec<PolicyRule>,
    }
    let cases = vec![
        Case {
            name: "exact match",
            owner: vec![rule_g(&["v1"], &["get"], &["builds"])],
            servant: vec![rule_g(&["v1"], &["get"], &["builds"])],
            covered: true,
            uncovered: vec![],
        },
        Case {
            name: "subresource wildcard",
            owner: vec![rule_g(&["v1"], &["get"], &["*/scale"])],
            servant: vec![rule_g(&["v1"], &["get"], &["foo/scale"])],
            covered: true,
            uncovered: vec![],
        },
        Case {
            name: "subresource wildcard does not cover another subresource",
            owner: vec![rule_g(&["v1"], &["get"], &["*/scale"])],
            servant: vec![rule_g(&["v1"], &["get"], &["foo/status", "foo"])],
            covered: false,
            uncovered: vec![
                rule_g(&["v1"], &["get"], &["foo/status"]),
                rule_g(&["v1"], &["get"], &["foo"]),
            ],
        },
        Case {
            name: "multiple rules covering multiple rules",
            owner: vec![
                rule_g(&["v1"], &["delete"], &["deployments"]),
                rule_g(&["v1"], &["delete"], &["builds"]),
                rule_g(&["v1"], &["update"], &["builds", "deployments"]),
            ],
            servant: vec![rule_g(
                &["v1"],
                &["delete", "update"],
                &["builds", "deployments"],
            )],
            covered: true,
            uncovered: vec![],
        },
        Case {
            name: "verb star",
            owner: vec![rule_g(&["v1"], &["*"], &["builds"])],
            servant: vec![rule_g(&["v1"], &["watch", "create"], &["builds"])],
            covered: true,
            uncovered: vec![],
        },
        Case {
            name: "group star",
            owner: vec![rule_g(&["*"], &["get"], &["builds"])],
            servant: vec![rule_g(&["v1", "apps"], &["get"], &["builds"])],
            covered: true,
            uncovered: vec![],
        },
        Case {
            name: "resource star",
            owner: vec![rule_g(&["v1"], &["get"], &["*"])],
            servant: vec![rule_g(&["v1"], &["get"], &["builds", "pods/log"])],
            covered: true,
            uncovered: vec![],
        },
        Case {
            name: "verbs not covered",
            owner: vec![rule_g(&["v1"], &["get"], &["builds"])],
            servant: vec![rule_g(&["v1"], &["get", "delete"], &["builds"])],
            covered: false,
            uncovered: vec![rule_g(&["v1"], &["delete"], &["builds"])],
        },
        Case {
            name: "owner without resourceNames covers named servant",
            owner: vec![rule_g(&["v1"], &["get"], &["builds"])],
            servant: vec![with_names(
                rule_g(&["v1"], &["get"], &["builds"]),
                &["foo", "bar"],
            )],
            covered: true,
            uncovered: vec![],
        },
        Case {
            name: "named owner does not cover unnamed servant",
            owner: vec![with_names(rule_g(&["v1"], &["get"], &["builds"]), &["foo"])],
            servant: vec![rule_g(&["v1"], &["get"], &["builds"])],
            covered: false,
            uncovered: vec![rule_g(&["v1"], &["get"], &["builds"])],
        },
        Case {
            name: "named owner covers some names",
            owner: vec![with_names(rule_g(&["v1"], &["get"], &["builds"]), &["foo"])],
            servant: vec![with_names(
                rule_g(&["v1"], &["get"], &["builds"]),
                &["foo", "bar"],
            )],
            covered: false,
            uncovered: vec![with_names(rule_g(&["v1"], &["get"], &["builds"]), &["bar"])],
        },
        Case {
            name: "non-resource URL prefix",
            owner: vec![url_rule(&["get"], &["/apis/*"])],
            servant: vec![url_rule(&["get"], &["/apis/v1", "/apis/v1/foo", "/api"])],
            covered: false,
            uncovered: vec![url_rule(&["get"], &["/api"])],
        },
        Case {
            name: "resource owner does not cover non-resource servant",
            owner: vec![rule_g(&["*"], &["*"], &["*"])],
            servant: vec![url_rule(&["get"], &["/healthz"])],
            covered: false,
            uncovered: vec![url_rule(&["get"], &["/healthz"])],
        },
    ];
    for c in cases {
        let (covered, uncovered) = covers(&c.owner, &c.servant);
        assert_eq!(covered, c.covered, "{}", c.name);
        assert_eq!(uncovered, c.uncovered, "{}", c.name);
    }
}

// staging/src/k8s.io/component-helpers/auth/rbac/validation/policy_comparator_test.go,
// TestBreakdownRule (resource names and non-resource URLs).
#[test]
fn breakdown_rule_splits_everything() {
    let r = with_names(
        rule(&["get", "list"], &["", "apps"], &["pods"]),
        &["a", "b"],
    );
    assert_eq!(breakdown_rule(&r).len(), 8);
    let r = PolicyRule {
        non_resource_urls: vec!["/a".into(), "/b".into()],
        ..rule(&["get", "post"], &[], &[])
    };
    assert_eq!(
        breakdown_rule(&r),
        vec![
            url_rule(&["get"], &["/a"]),
            url_rule(&["post"], &["/a"]),
            url_rule(&["get"], &["/b"]),
            url_rule(&["post"], &["/b"])
        ]
    );
}

// pkg/registry/rbac/validation/policy_compact_test.go, TestCompactRules, and rule.go
// ConfirmNoEscalation's message.
#[test]
fn escalation_message() {
    let owner = vec![rule(&["get"], &[""], &["pods"])];
    let requested = vec![
        rule(&["get", "list"], &[""], &["secrets"]),
        rule(&["get"], &[""], &["pods"]),
        with_names(rule(&["update"], &["apps"], &["deployments"]), &["web"]),
        url_rule(&["get"], &["/metrics"]),
    ];
    let (ok, uncovered) = covers(&owner, &requested);
    assert!(!ok);
    assert_eq!(
        compact_rules(&uncovered),
        vec![
            with_names(rule(&["update"], &["apps"], &["deployments"]), &["web"]),
            url_rule(&["get"], &["/metrics"]),
            rule(&["get", "list"], &[""], &["secrets"]),
        ]
    );
    let u = user("alice", &["system:authenticated", "dev"]);
    assert_eq!(
        confirm_no_escalation_message(&u, &uncovered, &[]),
        "user \"alice\" (groups=[\"system:authenticated\" \"dev\"]) is attempting to grant RBAC permissions not currently held:\n\
         {APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}\n\
         {APIGroups:[\"apps\"], Resources:[\"deployments\"], ResourceNames:[\"web\"], Verbs:[\"update\"]}\n\
         {NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}"
    );
    let one = vec![rule(&["get"], &[""], &["secrets"])];
    assert_eq!(
        confirm_no_escalation_message(
            &user("bob", &[]),
            &one,
            &["role.rbac.authorization.k8s.io \"x\" not found".into()]
        ),
        "user \"bob\" (groups=[]) is attempting to grant RBAC permissions not currently held:\n\
         {APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\"]}; resolution errors: [role.rbac.authorization.k8s.io \"x\" not found]"
    );
}

// The escalation check end to end: an `edit` user may not bind `admin`, an `admin` may.
#[test]
fn escalation_with_bootstrap_roles() {
    let roles = aggregated_bootstrap();
    let find = |name: &str| {
        PolicyRule::list_from_role(
            roles
                .iter()
                .find(|r| r["metadata"]["name"] == name)
                .unwrap(),
        )
    };
    let editor = user("ed", &[]);
    let rbs = vec![role_binding(
        "team",
        "b",
        "ClusterRole",
        "edit",
        &["User:ed"],
    )];
    let owner = rules_for(&editor, "team", &[], &roles, &rbs, &[]).rules;
    assert!(covers(&owner, &find("view")).0);
    assert!(covers(&owner, &find("edit")).0);
    let (ok, uncovered) = covers(&owner, &find("admin"));
    assert!(!ok);
    let msg = confirm_no_escalation_message(&editor, &uncovered, &[]);
    assert!(msg.contains("{APIGroups:[\"rbac.authorization.k8s.io\"], Resources:[\"rolebindings\"], Verbs:[\"create\" \"delete\" \"deletecollection\" \"get\" \"list\" \"patch\" \"update\" \"watch\"]}"), "{msg}");
    assert!(msg.contains("{APIGroups:[\"authorization.k8s.io\"], Resources:[\"localsubjectaccessreviews\"], Verbs:[\"create\"]}"), "{msg}");
}

// ---- forbidden messages ---------------------------------------------------------------

// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors_test.go,
// TestForbidden, plus the namespaced, cluster-scoped and subresource forms of
// forbiddenMessage.
#[test]
fn forbidden_messages() {
    let name = user("NAME", &[]);
    assert_eq!(
        forbidden_message(&non_res(&name, "GET", "/whatever")),
        r#"forbidden: User "NAME" cannot GET path "/whatever""#
    );
    assert_eq!(
        forbidden_message(&non_res(&name, "GET", "/<script>")),
        r#"forbidden: User "NAME" cannot GET path "/&lt;script&gt;""#
    );
    assert_eq!(
        forbidden_message(&res(&name, "get", "test", "", "pod", "", "test")),
        r#"pod "test" is forbidden: User "NAME" cannot get resource "pod" in API group "" in the namespace "test""#
    );
    assert_eq!(
        forbidden_message(&res(&name, "get", "test", "v2", "pod", "", "")),
        r#"pod.v2 is forbidden: User "NAME" cannot get resource "pod" in API group "v2" in the namespace "test""#
    );
    assert_eq!(
        forbidden_message_with_reason(&res(&name, "get", "test", "v2", "pod", "", ""), "reason"),
        r#"pod.v2 is forbidden: User "NAME" cannot get resource "pod" in API group "v2" in the namespace "test": reason"#
    );

    let alice = user("alice", &[]);
    assert_eq!(
        forbidden_message(&res(&alice, "list", "default", "", "configmaps", "", "")),
        r#"configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "default""#
    );
    assert_eq!(
        forbidden_message(&res(&alice, "list", "", "", "nodes", "", "")),
        r#"nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope"#
    );
    assert_eq!(
        forbidden_message(&res(&alice, "create", "default", "", "pods", "exec", "web")),
        r#"pods "web" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "default""#
    );
    assert_eq!(
        forbidden_message(&res(
            &alice,
            "get",
            "",
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            "admin"
        )),
        r#"clusterroles.rbac.authorization.k8s.io "admin" is forbidden: User "alice" cannot get resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope"#
    );
    assert_eq!(
        forbidden_message(&non_res(&user("x", &[]), "get", "/foo")),
        r#"forbidden: User "x" cannot get path "/foo""#
    );
}

// Go's %q as the messages use it.
#[test]
fn go_quoting() {
    assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
    assert_eq!(go_quote_list(&[]), "[]");
    assert_eq!(go_quote_list(&["a".into(), "".into()]), r#"["a" ""]"#);
    assert_eq!(aggregate_errors(&["x".into(), "x".into()]), "x");
}
