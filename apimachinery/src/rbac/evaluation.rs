//! Rule and subject matching and the RBAC authorizer itself, after upstream's
//! `pkg/apis/rbac/v1/evaluation_helpers.go`, `pkg/registry/rbac/validation/rule.go` and
//! `plugin/pkg/auth/authorizer/rbac/rbac.go`.

use serde_json::Value;

use super::{
    ALL, Attributes, Decision, PolicyRule, UserInfo, aggregate_errors, go_quote, object_name,
    object_namespace,
};

/// The prefix of a service account's user name: `system:serviceaccount:NAMESPACE:NAME`.
const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";

/// Whether the rule grants `verb` (or every verb, `*`).
pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == ALL || v == verb)
}

/// Whether the rule covers the API group `group` (or every group, `*`).
pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == ALL || g == group)
}

/// Whether the rule covers a resource. `combined` is `resource` or `resource/subresource`;
/// `subresource` is the subresource alone (empty when there is none). A rule entry matches
/// when it is `*`, equals `combined`, or is `*/subresource`. As upstream, `resource/*` is not
/// a wildcard: it only matches a request whose subresource is literally `*`.
pub fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        if r == ALL || r == combined {
            return true;
        }
        !subresource.is_empty()
            && r.len() == subresource.len() + 2
            && r.starts_with("*/")
            && r.ends_with(subresource)
    })
}

/// Whether the rule allows the object name `name`: a rule without `resourceNames` allows
/// every name (including the empty name of a list or create); otherwise the name must be listed.
pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

/// Whether the rule covers the non-resource path `url`: `*`, an exact match, or an entry
/// ending in `*` that is a prefix of the path once the trailing `*`s are removed.
pub fn non_resource_url_matches(rule: &PolicyRule, url: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == ALL || u == url || (u.ends_with('*') && url.starts_with(u.trim_end_matches('*')))
    })
}

/// Whether one rule allows the request (upstream `RuleAllows`).
pub fn rule_allows(attrs: &Attributes, rule: &PolicyRule) -> bool {
    if attrs.resource_request {
        let combined = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        verb_matches(rule, &attrs.verb)
            && api_group_matches(rule, &attrs.api_group)
            && resource_matches(rule, &combined, &attrs.subresource)
            && resource_name_matches(rule, &attrs.name)
    } else {
        verb_matches(rule, &attrs.verb) && non_resource_url_matches(rule, &attrs.path)
    }
}

/// Whether a binding subject (the JSON `subjects[]` entry) names the user. `namespace` is the
/// binding's namespace (empty for a ClusterRoleBinding); a ServiceAccount subject without a
/// namespace of its own refers to a service account there, and never matches when both are
/// empty. Unknown kinds match nobody.
pub fn applies_to_user(user: &UserInfo, subject: &Value, namespace: &str) -> bool {
    let kind = subject["kind"].as_str().unwrap_or_default();
    let name = subject["name"].as_str().unwrap_or_default();
    match kind {
        "User" => user.name == name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let sa_namespace = match subject["namespace"].as_str() {
                Some(ns) if !ns.is_empty() => ns,
                _ => namespace,
            };
            !sa_namespace.is_empty() && service_account_matches(sa_namespace, name, &user.name)
        }
        _ => false,
    }
}

/// Whether `username` is `system:serviceaccount:NAMESPACE:NAME` (upstream
/// `serviceaccount.MatchesUsername`).
fn service_account_matches(namespace: &str, name: &str, username: &str) -> bool {
    username
        .strip_prefix(SERVICE_ACCOUNT_USER_PREFIX)
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}

/// The first subject of a binding that applies to the user.
fn applying_subject<'a>(user: &UserInfo, binding: &'a Value, namespace: &str) -> Option<&'a Value> {
    binding["subjects"]
        .as_array()?
        .iter()
        .find(|s| applies_to_user(user, s, namespace))
}

/// Upstream `describeSubject`: `Kind "name"`, or for a service account `ServiceAccount
/// "name/namespace"` (name first, as upstream writes it).
fn describe_subject(subject: &Value, binding_namespace: &str) -> String {
    let kind = subject["kind"].as_str().unwrap_or_default();
    let name = subject["name"].as_str().unwrap_or_default();
    if kind == "ServiceAccount" {
        let ns = match subject["namespace"].as_str() {
            Some(ns) if !ns.is_empty() => ns,
            _ => binding_namespace,
        };
        format!("{kind} {}", go_quote(&format!("{name}/{ns}")))
    } else {
        format!("{kind} {}", go_quote(name))
    }
}

/// What [`Policy::visit_rules_for`] hands its visitor.
enum Visit<'a> {
    /// A rule, with a lazily built description of the binding that granted it.
    Rule {
        source: &'a dyn Fn() -> String,
        rule: &'a PolicyRule,
    },
    /// A role reference that could not be resolved.
    Error(String),
}

/// The stored policy objects an evaluation reads.
struct Policy<'a> {
    roles: &'a [Value],
    cluster_roles: &'a [Value],
    role_bindings: &'a [Value],
    cluster_role_bindings: &'a [Value],
}

impl Policy<'_> {
    /// Upstream `GetRoleReferenceRules`: the rules of the Role (in the binding's namespace) or
    /// ClusterRole a binding refers to, or the lister's error text.
    fn role_reference_rules(
        &self,
        role_ref: &Value,
        binding_namespace: &str,
    ) -> Result<Vec<PolicyRule>, String> {
        let kind = role_ref["kind"].as_str().unwrap_or_default();
        let name = role_ref["name"].as_str().unwrap_or_default();
        match kind {
            "Role" => self
                .roles
                .iter()
                .find(|r| object_namespace(r) == binding_namespace && object_name(r) == name)
                .map(PolicyRule::list_from_role)
                .ok_or_else(|| {
                    format!(
                        "role.rbac.authorization.k8s.io {} not found",
                        go_quote(name)
                    )
                }),
            "ClusterRole" => self
                .cluster_roles
                .iter()
                .find(|r| object_name(r) == name)
                .map(PolicyRule::list_from_role)
                .ok_or_else(|| {
                    format!(
                        "clusterrole.rbac.authorization.k8s.io {} not found",
                        go_quote(name)
                    )
                }),
            _ => Err(format!(
                "unsupported role reference kind: {}",
                go_quote(kind)
            )),
        }
    }

    /// Upstream `VisitRulesFor`: cluster role bindings first, then (for a namespaced request)
    /// the role bindings of that namespace. The visitor sees each rule with a description of
    /// where it came from, or an error; it returns `false` to stop.
    fn visit_rules_for(
        &self,
        user: &UserInfo,
        namespace: &str,
        visitor: &mut dyn FnMut(Visit<'_>) -> bool,
    ) {
        for binding in self.cluster_role_bindings {
            if !self.visit_binding(user, binding, "", visitor) {
                return;
            }
        }
        if namespace.is_empty() {
            return;
        }
        for binding in self
            .role_bindings
            .iter()
            .filter(|b| object_namespace(b) == namespace)
        {
            if !self.visit_binding(user, binding, namespace, visitor) {
                return;
            }
        }
    }

    /// Visits the rules one binding grants the user, if any of its subjects applies.
    /// `namespace` is empty for a ClusterRoleBinding. Returns `false` once the visitor stops.
    fn visit_binding(
        &self,
        user: &UserInfo,
        binding: &Value,
        namespace: &str,
        visitor: &mut dyn FnMut(Visit<'_>) -> bool,
    ) -> bool {
        let Some(subject) = applying_subject(user, binding, namespace) else {
            return true;
        };
        let role_ref = &binding["roleRef"];
        let rules = match self.role_reference_rules(role_ref, namespace) {
            Ok(rules) => rules,
            Err(e) => return visitor(Visit::Error(e)),
        };
        let describe = || {
            let binding = if namespace.is_empty() {
                format!("ClusterRoleBinding {}", go_quote(object_name(binding)))
            } else {
                let name = format!("{}/{}", object_name(binding), namespace);
                format!("RoleBinding {}", go_quote(&name))
            };
            format!(
                "{binding} of {} {} to {}",
                role_ref["kind"].as_str().unwrap_or_default(),
                go_quote(role_ref["name"].as_str().unwrap_or_default()),
                describe_subject(subject, namespace)
            )
        };
        rules.iter().all(|rule| {
            visitor(Visit::Rule {
                source: &describe,
                rule,
            })
        })
    }
}

/// Decides a request as kube-apiserver's RBAC authorizer does: the first rule, from cluster
/// role bindings then from role bindings in the request's namespace, that allows the request
/// allows it, with the reason `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to
/// User "u"` (or `RoleBinding "b/ns" of Role "r" to ...`). Otherwise the decision is "no
/// opinion", with the errors met while resolving role references (a binding to a missing
/// role) as the reason.
///
/// `role_bindings` may hold bindings of every namespace; only those in `attrs.namespace` count.
pub fn authorize(
    attrs: &Attributes,
    roles: &[Value],
    cluster_roles: &[Value],
    role_bindings: &[Value],
    cluster_role_bindings: &[Value],
) -> Decision {
    let policy = Policy {
        roles,
        cluster_roles,
        role_bindings,
        cluster_role_bindings,
    };
    let mut allowed_by: Option<String> = None;
    let mut errors: Vec<String> = Vec::new();
    policy.visit_rules_for(&attrs.user, &attrs.namespace, &mut |visit| {
        match visit {
            Visit::Rule { source, rule } => {
                if rule_allows(attrs, rule) {
                    allowed_by = Some(source());
                    return false;
                }
            }
            Visit::Error(e) => errors.push(e),
        }
        true
    });
    match allowed_by {
        Some(source) => Decision {
            allowed: true,
            reason: format!("RBAC: allowed by {source}"),
        },
        None => Decision {
            allowed: false,
            reason: if errors.is_empty() {
                String::new()
            } else {
                format!("RBAC: {}", aggregate_errors(&errors))
            },
        },
    }
}

/// The rules that apply to a user in a namespace, and the errors met collecting them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvedRules {
    /// Every rule granted to the user through cluster role bindings and, for a non-empty
    /// namespace, that namespace's role bindings; in visiting order, not deduplicated.
    pub rules: Vec<PolicyRule>,
    /// Role references that could not be resolved. The rules are still valid (RBAC only adds
    /// permissions), but incomplete.
    pub errors: Vec<String>,
}

impl ResolvedRules {
    /// The errors joined as upstream's aggregate error, for `SelfSubjectRulesReview`'s
    /// `status.evaluationError`; `None` when there were none.
    pub fn evaluation_error(&self) -> Option<String> {
        (!self.errors.is_empty()).then(|| aggregate_errors(&self.errors))
    }
}

/// Upstream `RulesFor`: every rule that applies to `user` in `namespace` (cluster-wide ones
/// included), which is what `SelfSubjectRulesReview` and the escalation check work from.
pub fn rules_for(
    user: &UserInfo,
    namespace: &str,
    roles: &[Value],
    cluster_roles: &[Value],
    role_bindings: &[Value],
    cluster_role_bindings: &[Value],
) -> ResolvedRules {
    let policy = Policy {
        roles,
        cluster_roles,
        role_bindings,
        cluster_role_bindings,
    };
    let mut resolved = ResolvedRules::default();
    policy.visit_rules_for(user, namespace, &mut |visit| {
        match visit {
            Visit::Rule { rule, .. } => resolved.rules.push(rule.clone()),
            Visit::Error(e) => resolved.errors.push(e),
        }
        true
    });
    resolved
}
