//! Kubernetes RBAC evaluation as pure functions over stored objects.
//!
//! Roles, ClusterRoles, RoleBindings and ClusterRoleBindings arrive as `serde_json::Value` in
//! their `rbac.authorization.k8s.io/v1` JSON form, exactly as the store holds them. This module
//! answers the questions the tenant API server's authorization step asks, following
//! kube-apiserver's RBAC authorizer (`plugin/pkg/auth/authorizer/rbac`) and its helpers:
//!
//! - [`evaluation`]: rule and subject matching, [`authorize`] and [`rules_for`]
//!   (what a `SelfSubjectRulesReview` reports);
//! - [`aggregation`]: filling aggregated ClusterRoles as the ClusterRoleAggregation
//!   controller does;
//! - [`bootstrap`]: the default ClusterRoles and ClusterRoleBindings a new tenant starts with;
//! - [`escalation`]: the escalation check that guards writes of roles and bindings;
//! - [`forbidden`]: the wording of the 403 an API request gets when it is denied.
//!
//! Nothing here is wired into the request path yet; the functions hold no state and do no I/O.

pub mod aggregation;
pub mod bootstrap;
pub mod escalation;
pub mod evaluation;
pub mod forbidden;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use aggregation::aggregate_cluster_roles;
pub use bootstrap::{bootstrap_cluster_role_bindings, bootstrap_cluster_roles};
pub use escalation::{
    breakdown_rule, compact_rules, compact_string, confirm_no_escalation_message, covers,
};
pub use evaluation::{
    ResolvedRules, api_group_matches, applies_to_user, authorize, non_resource_url_matches,
    resource_matches, resource_name_matches, rule_allows, rules_for, verb_matches,
};
pub use forbidden::{forbidden_message, forbidden_message_with_reason};

/// The API group of the RBAC kinds.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Matches every verb, API group, resource or non-resource URL in a rule.
pub const ALL: &str = "*";

/// The authenticated user a request is made as (`k8s.io/apiserver/pkg/authentication/user.Info`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name, e.g. `alice` or `system:serviceaccount:default:builder`.
    pub name: String,
    /// The user's UID, if the authenticator knows one.
    pub uid: String,
    /// The groups the user belongs to, e.g. `system:authenticated`.
    pub groups: Vec<String>,
    /// Further authenticator-provided attributes (scopes and the like).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with a name and groups and nothing else.
    pub fn new(name: impl Into<String>, groups: &[&str]) -> Self {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..UserInfo::default()
        }
    }
}

/// What a request wants to do (`k8s.io/apiserver/pkg/authorization/authorizer.Attributes`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Who is asking.
    pub user: UserInfo,
    /// The verb: `get`, `list`, `watch`, `create`, ... for resources; the lowercased HTTP
    /// method for non-resource paths.
    pub verb: String,
    /// The request's namespace; empty for cluster-scoped requests and non-resource paths.
    pub namespace: String,
    /// The API group; empty for the core group.
    pub api_group: String,
    /// The resource, e.g. `pods`.
    pub resource: String,
    /// The subresource, e.g. `exec`; empty when there is none.
    pub subresource: String,
    /// The object's name; empty for lists and collection operations.
    pub name: String,
    /// The URL path; only consulted for non-resource requests.
    pub path: String,
    /// Whether this is a request for an API resource (as opposed to a path like `/healthz`).
    pub resource_request: bool,
}

/// The outcome of [`authorize`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Whether some rule allowed the request. RBAC never denies outright: `false` means
    /// "no opinion", which the API server turns into a 403 when no other authorizer allows.
    pub allowed: bool,
    /// Why: `RBAC: allowed by ...` when allowed; empty, or `RBAC: ` and the rule resolution
    /// errors, when not.
    pub reason: String,
}

/// One `rbac/v1 PolicyRule`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyRule {
    /// The verbs the rule grants; `*` for all.
    pub verbs: Vec<String>,
    /// The API groups of the resources; `""` is the core group, `*` all groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    /// The resources, as `resource`, `resource/subresource` or `*/subresource`; `*` for all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The object names the rule is limited to; empty means every name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    /// The non-resource URLs, exact or ending in `*` for a prefix.
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    /// Reads a rule from its JSON form; missing or malformed fields are empty lists, which
    /// match nothing (RBAC is deny by default).
    pub fn from_json(rule: &Value) -> Self {
        let list = |key: &str| -> Vec<String> {
            rule.get(key)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        PolicyRule {
            verbs: list("verbs"),
            api_groups: list("apiGroups"),
            resources: list("resources"),
            resource_names: list("resourceNames"),
            non_resource_urls: list("nonResourceURLs"),
        }
    }

    /// The rule's JSON form, empty lists other than `verbs` left out as the API does.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The `rules` of a Role or ClusterRole; none when the field is missing or `null`.
    pub fn list_from_role(role: &Value) -> Vec<PolicyRule> {
        role.get("rules")
            .and_then(Value::as_array)
            .map(|rules| rules.iter().map(PolicyRule::from_json).collect())
            .unwrap_or_default()
    }

    /// A rule with verbs only; add groups, resources, names or URLs with the builder methods.
    /// Every list is sorted, as upstream's `PolicyRuleBuilder.Rule` does.
    pub fn new(verbs: &[&str]) -> Self {
        PolicyRule {
            verbs: sorted(verbs),
            ..PolicyRule::default()
        }
    }

    /// Sets the API groups.
    pub fn groups(mut self, groups: &[&str]) -> Self {
        self.api_groups = sorted(groups);
        self
    }

    /// Sets the resources.
    pub fn resources(mut self, resources: &[&str]) -> Self {
        self.resources = sorted(resources);
        self
    }

    /// Sets the resource names.
    pub fn names(mut self, names: &[&str]) -> Self {
        self.resource_names = sorted(names);
        self
    }

    /// Sets the non-resource URLs.
    pub fn urls(mut self, urls: &[&str]) -> Self {
        self.non_resource_urls = sorted(urls);
        self
    }
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

/// Formats a string as Go's `%q` does for the ASCII and printable text RBAC names hold:
/// double quotes, with `"` and `\` and control characters escaped.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats a list of strings as Go's `%q` does for a `[]string`: `["a" "b"]`.
pub(crate) fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Joins error messages as `utilerrors.NewAggregate(errs).Error()` does: one message alone,
/// several deduplicated inside `[...]` separated by `, `.
pub(crate) fn aggregate_errors(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen[0].to_string(),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// `metadata.name` of an object, or `""`.
pub(crate) fn object_name(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `metadata.namespace` of an object, or `""`.
pub(crate) fn object_namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
