//! ClusterRole aggregation, after upstream's
//! `pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go`.

use serde_json::Value;

use super::{PolicyRule, object_name};
use crate::selectors::LabelSelector;

/// The label selectors of a ClusterRole's `aggregationRule`, or `None` when it has no
/// aggregation rule or a selector does not parse (the controller then leaves it alone).
fn aggregation_selectors(role: &Value) -> Option<Vec<LabelSelector>> {
    let rule = role.get("aggregationRule").filter(|r| !r.is_null())?;
    let empty = Vec::new();
    let selectors = rule
        .get("clusterRoleSelectors")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    selectors
        .iter()
        .map(|s| {
            // A selector in the list is a value, never nil, upstream: null means `{}`.
            let s = if s.is_null() {
                Value::Object(Default::default())
            } else {
                s.clone()
            };
            LabelSelector::from_label_selector_json(&s).ok()
        })
        .collect()
}

/// The rules one aggregated role should have, given the current state of every role: for
/// each selector in order, the roles it matches sorted by name (the role itself excluded),
/// their rules in order, each rule kept only the first time it appears.
fn aggregated_rules(
    name: &str,
    selectors: &[LabelSelector],
    cluster_roles: &[Value],
) -> Vec<PolicyRule> {
    let mut rules: Vec<PolicyRule> = Vec::new();
    for selector in selectors {
        let mut matching: Vec<&Value> = cluster_roles
            .iter()
            .filter(|r| selector.matches_object(r))
            .collect();
        matching.sort_by(|a, b| object_name(a).cmp(object_name(b)));
        for role in matching {
            if object_name(role) == name {
                continue;
            }
            for rule in PolicyRule::list_from_role(role) {
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
        }
    }
    rules
}

/// Fills `rules` of every ClusterRole that has an `aggregationRule` with the rules of the
/// ClusterRoles whose labels match any of its `clusterRoleSelectors`, deduplicated, in the
/// order the ClusterRoleAggregation controller produces.
///
/// Aggregated roles may themselves be aggregated (`view` into `edit` into `admin`); the
/// controller converges on that over several passes, and so does this function, repeating
/// until nothing changes (at most once per role, plus one, so a cycle cannot loop forever).
/// A role whose selectors do not parse keeps its rules, as the controller would leave it.
pub fn aggregate_cluster_roles(cluster_roles: &mut [Value]) {
    let aggregated: Vec<(usize, Vec<LabelSelector>)> = cluster_roles
        .iter()
        .enumerate()
        .filter_map(|(i, r)| aggregation_selectors(r).map(|s| (i, s)))
        .collect();
    for _ in 0..=aggregated.len() {
        let mut changed = false;
        for (i, selectors) in &aggregated {
            let name = object_name(&cluster_roles[*i]).to_string();
            let rules = aggregated_rules(&name, selectors, cluster_roles);
            if rules != PolicyRule::list_from_role(&cluster_roles[*i]) {
                let json: Vec<Value> = rules.iter().map(PolicyRule::to_json).collect();
                if let Some(obj) = cluster_roles[*i].as_object_mut() {
                    obj.insert("rules".to_string(), Value::Array(json));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}
