//! Escalation prevention: a user may only grant permissions they hold. After upstream's
//! `k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go` (`Covers`),
//! `pkg/registry/rbac/validation/policy_compact.go` (`CompactRules`) and
//! `pkg/registry/rbac/validation/rule.go` (`ConfirmNoEscalation`).

use std::collections::{BTreeSet, HashMap};

use super::{ALL, PolicyRule, UserInfo, aggregate_errors, go_quote, go_quote_list};

/// Whether `owner_rules` cover every permission in `requested_rules`, and the requested
/// permissions they do not cover, each broken down to one group, resource, verb and name
/// (or one URL and verb), in the order of the requested rules.
pub fn covers(
    owner_rules: &[PolicyRule],
    requested_rules: &[PolicyRule],
) -> (bool, Vec<PolicyRule>) {
    let uncovered: Vec<PolicyRule> = requested_rules
        .iter()
        .flat_map(breakdown_rule)
        .filter(|sub| !owner_rules.iter().any(|owner| rule_covers(owner, sub)))
        .collect();
    (uncovered.is_empty(), uncovered)
}

/// Upstream `BreakdownRule`: the equivalent rules with at most one verb, one API group, one
/// resource and one resource name each; non-resource URLs pair with verbs only.
pub fn breakdown_rule(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut subrules = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let base = PolicyRule {
                    api_groups: vec![group.clone()],
                    resources: vec![resource.clone()],
                    verbs: vec![verb.clone()],
                    ..PolicyRule::default()
                };
                if rule.resource_names.is_empty() {
                    subrules.push(base);
                } else {
                    for name in &rule.resource_names {
                        subrules.push(PolicyRule {
                            resource_names: vec![name.clone()],
                            ..base.clone()
                        });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            subrules.push(PolicyRule {
                non_resource_urls: vec![url.clone()],
                verbs: vec![verb.clone()],
                ..PolicyRule::default()
            });
        }
    }
    subrules
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

/// Upstream `resourceCoversAll`: `*`, exact entries, or `*/subresource` for a subresource.
fn resource_covers_all(owner: &[String], requested: &[String]) -> bool {
    if has(owner, ALL) || has_all(owner, requested) {
        return true;
    }
    requested.iter().all(|path| {
        if has(owner, path) {
            return true;
        }
        match path.split_once('/') {
            Some((_, sub)) => has(owner, &format!("*/{sub}")),
            None => false,
        }
    })
}

/// Upstream `nonResourceURLCovers`.
fn non_resource_url_covers(owner: &str, requested: &str) -> bool {
    owner == requested
        || (owner.ends_with('*') && requested.starts_with(owner.trim_end_matches('*')))
}

fn non_resource_urls_cover_all(owner: &[String], requested: &[String]) -> bool {
    requested
        .iter()
        .all(|path| owner.iter().any(|o| non_resource_url_covers(o, path)))
}

/// Upstream `ruleCovers`: whether one owner rule covers a broken-down rule.
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, ALL) || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, ALL) || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resource_covers_all(&owner.resources, &sub.resources);
    let urls = non_resource_urls_cover_all(&owner.non_resource_urls, &sub.non_resource_urls);
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs && groups && resources && names && urls
}

/// Upstream `CompactRules`: merges rules that name one API group and one resource and differ
/// only in verbs (the shape [`covers`] reports). Other rules are kept as they are, first; the
/// merged ones follow in order of first appearance.
pub fn compact_rules(rules: &[PolicyRule]) -> Vec<PolicyRule> {
    let mut compacted = Vec::with_capacity(rules.len());
    let mut simple: Vec<PolicyRule> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for rule in rules {
        let is_simple = rule.resource_names.is_empty()
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if !is_simple {
            compacted.push(rule.clone());
            continue;
        }
        let key = (rule.api_groups[0].clone(), rule.resources[0].clone());
        match index.get(&key) {
            Some(&i) => simple[i].verbs.extend(rule.verbs.iter().cloned()),
            None => {
                index.insert(key, simple.len());
                simple.push(rule.clone());
            }
        }
    }
    compacted.extend(simple);
    compacted
}

/// Upstream `CompactString`: `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`, each
/// list only when non-empty.
pub fn compact_string(rule: &PolicyRule) -> String {
    let mut parts = Vec::new();
    if !rule.api_groups.is_empty() {
        parts.push(format!("APIGroups:{}", go_quote_list(&rule.api_groups)));
    }
    if !rule.resources.is_empty() {
        parts.push(format!("Resources:{}", go_quote_list(&rule.resources)));
    }
    if !rule.non_resource_urls.is_empty() {
        parts.push(format!(
            "NonResourceURLs:{}",
            go_quote_list(&rule.non_resource_urls)
        ));
    }
    if !rule.resource_names.is_empty() {
        parts.push(format!(
            "ResourceNames:{}",
            go_quote_list(&rule.resource_names)
        ));
    }
    if !rule.verbs.is_empty() {
        parts.push(format!("Verbs:{}", go_quote_list(&rule.verbs)));
    }
    format!("{{{}}}", parts.join(", "))
}

/// The error message of upstream `ConfirmNoEscalation` when the user's rules do not cover
/// the rules being granted: `user "x" (groups=["a" "b"]) is attempting to grant RBAC
/// permissions not currently held:` and then the compacted missing rules, one per line,
/// sorted and deduplicated. `resolution_errors` are the errors met collecting the user's own
/// rules ([`super::ResolvedRules::errors`]); when there are any they are appended as
/// `; resolution errors: [...]`.
pub fn confirm_no_escalation_message(
    user: &UserInfo,
    uncovered: &[PolicyRule],
    resolution_errors: &[String],
) -> String {
    let missing: BTreeSet<String> = compact_rules(uncovered)
        .iter()
        .map(compact_string)
        .collect();
    let missing: Vec<String> = missing.into_iter().collect();
    let mut msg = format!(
        "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        go_quote(&user.name),
        go_quote_list(&user.groups),
        missing.join("\n")
    );
    if !resolution_errors.is_empty() {
        msg.push_str(&format!(
            "; resolution errors: [{}]",
            aggregate_errors(resolution_errors)
        ));
    }
    msg
}
