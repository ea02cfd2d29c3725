//! MutatingWebhookConfiguration and ValidatingWebhookConfiguration
//! (`admissionregistration.k8s.io/v1`): kube-apiserver's defaults (`SetDefaults_*Webhook`,
//! `SetDefaults_Rule`, `SetDefaults_ServiceReference`) and validation
//! (`ValidateValidatingWebhookConfiguration` and its mutating twin, v1 options: webhook names
//! unique, side effects `None`/`NoneOnDryRun` only, a recognised AdmissionReview version).
//! `matchConditions` are stored unchecked (their CEL is not compiled here).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::{array_of, child, set_default, str_of};
use crate::error::FieldError;
use crate::validation::{self, go_string_slice, invalid_unquoted};

const GROUP: &str = "admissionregistration.k8s.io";
const MUTATING: &str = "MutatingWebhookConfiguration";
const VALIDATING: &str = "ValidatingWebhookConfiguration";

/// Whether `(group, kind)` is one of the webhook configurations.
pub(crate) fn is_webhook_configuration(group: &str, kind: &str) -> bool {
    group == GROUP && (kind == MUTATING || kind == VALIDATING)
}

/// Fills the defaults of every webhook of a configuration.
pub(crate) fn apply_defaults(group: &str, kind: &str, obj: &mut Value) {
    if !is_webhook_configuration(group, kind) {
        return;
    }
    let Some(hooks) = obj.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return;
    };
    for hook in hooks.iter_mut().filter_map(Value::as_object_mut) {
        set_default(hook, "failurePolicy", json!("Fail"));
        set_default(hook, "matchPolicy", json!("Equivalent"));
        set_default(hook, "namespaceSelector", json!({}));
        set_default(hook, "objectSelector", json!({}));
        set_default(hook, "timeoutSeconds", json!(10));
        if kind == MUTATING {
            set_default(hook, "reinvocationPolicy", json!("Never"));
        }
        if let Some(rules) = hook.get_mut("rules").and_then(Value::as_array_mut) {
            for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
                set_default(rule, "scope", json!("*"));
            }
        }
        let cc: &mut Map<String, Value> = child(hook, "clientConfig");
        if let Some(svc) = cc.get_mut("service").and_then(Value::as_object_mut) {
            set_default(svc, "port", json!(443));
        }
    }
}

/// Validates a configuration; errors are appended to `errs`.
pub(crate) fn validate(group: &str, kind: &str, obj: &Value, errs: &mut Vec<FieldError>) {
    if !is_webhook_configuration(group, kind) {
        return;
    }
    let mut names = HashSet::new();
    for (i, hook) in array_of(obj, "webhooks").iter().enumerate() {
        let path = format!("webhooks[{i}]");
        validate_webhook(hook, &path, kind == MUTATING, errs);
        validate_review_versions(hook, &format!("{path}.admissionReviewVersions"), errs);
        let name = str_of(hook, "name");
        if !name.is_empty() && !names.insert(name.to_string()) {
            errs.push(validation::duplicate(format!("{path}.name"), name));
        }
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    array_of(v, key)
        .iter()
        .map(|s| s.as_str().unwrap_or("").to_string())
        .collect()
}

fn validate_webhook(hook: &Value, path: &str, mutating: bool, errs: &mut Vec<FieldError>) {
    fully_qualified_name(str_of(hook, "name"), &format!("{path}.name"), errs);
    for (i, rule) in array_of(hook, "rules").iter().enumerate() {
        validate_rule(rule, &format!("{path}.rules[{i}]"), errs);
    }
    let one_of = |key: &str, supported: &[&str], errs: &mut Vec<FieldError>| {
        if let Some(v) = hook.get(key).and_then(Value::as_str)
            && !supported.contains(&v)
        {
            errs.push(FieldError::not_supported(
                format!("{path}.{key}"),
                v,
                supported,
            ));
        }
    };
    one_of("failurePolicy", &["Fail", "Ignore"], errs);
    one_of("matchPolicy", &["Equivalent", "Exact"], errs);
    if mutating {
        one_of("reinvocationPolicy", &["IfNeeded", "Never"], errs);
    }
    if hook.get("sideEffects").and_then(Value::as_str).is_none() {
        errs.push(FieldError::required(
            format!("{path}.sideEffects"),
            "must specify one of None, NoneOnDryRun",
        ));
    } else {
        one_of("sideEffects", &["None", "NoneOnDryRun"], errs);
    }
    if let Some(t) = hook.get("timeoutSeconds").and_then(Value::as_i64)
        && !(1..=30).contains(&t)
    {
        errs.push(invalid_unquoted(
            format!("{path}.timeoutSeconds"),
            &t.to_string(),
            "the timeout value must be between 1 and 30 seconds",
        ));
    }
    for key in ["namespaceSelector", "objectSelector"] {
        if let Some(sel) = hook.get(key).filter(|s| s.is_object()) {
            super::checks::validate_label_selector(sel, &format!("{path}.{key}"), errs);
        }
    }
    let null = Value::Null;
    let cc = hook.get("clientConfig").unwrap_or(&null);
    let cc_path = format!("{path}.clientConfig");
    let url = cc.get("url").and_then(Value::as_str);
    let service = cc.get("service").filter(|s| s.is_object());
    match (url, service) {
        (Some(url), None) => validate_url(url, &format!("{cc_path}.url"), errs),
        (None, Some(svc)) => validate_service(svc, &format!("{cc_path}.service"), errs),
        _ => errs.push(FieldError::required(
            cc_path,
            "exactly one of url or service is required",
        )),
    }
}

/// `IsFullyQualifiedName`: a DNS subdomain with at least three segments.
fn fully_qualified_name(name: &str, path: &str, errs: &mut Vec<FieldError>) {
    if name.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let problems = validation::is_dns1123_subdomain(name);
    if !problems.is_empty() {
        errs.push(FieldError::invalid(path, name, problems.join(",")));
        return;
    }
    if name.split('.').count() < 3 {
        errs.push(FieldError::invalid(
            path,
            name,
            "should be a domain with at least three segments separated by dots",
        ));
    }
}

fn has_wildcard(items: &[String]) -> bool {
    items.iter().any(|i| i == "*")
}

/// `validateRuleWithOperations` with subresources allowed.
fn validate_rule(rule: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let operations = strings(rule, "operations");
    if operations.is_empty() {
        errs.push(FieldError::required(format!("{path}.operations"), ""));
    }
    if operations.len() > 1 && has_wildcard(&operations) {
        errs.push(invalid_unquoted(
            format!("{path}.operations"),
            &go_string_slice(&operations),
            "if '*' is present, must not specify other operations",
        ));
    }
    const OPERATIONS: &[&str] = &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
    for (i, op) in operations.iter().enumerate() {
        if !OPERATIONS.contains(&op.as_str()) {
            errs.push(FieldError::not_supported(
                format!("{path}.operations[{i}]"),
                op.clone(),
                OPERATIONS,
            ));
        }
    }
    let groups = strings(rule, "apiGroups");
    if groups.is_empty() {
        errs.push(FieldError::required(format!("{path}.apiGroups"), ""));
    }
    if groups.len() > 1 && has_wildcard(&groups) {
        errs.push(invalid_unquoted(
            format!("{path}.apiGroups"),
            &go_string_slice(&groups),
            "if '*' is present, must not specify other API groups",
        ));
    }
    let versions = strings(rule, "apiVersions");
    if versions.is_empty() {
        errs.push(FieldError::required(format!("{path}.apiVersions"), ""));
    }
    if versions.len() > 1 && has_wildcard(&versions) {
        errs.push(invalid_unquoted(
            format!("{path}.apiVersions"),
            &go_string_slice(&versions),
            "if '*' is present, must not specify other API versions",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if v.is_empty() {
            errs.push(FieldError::required(format!("{path}.apiVersions[{i}]"), ""));
        }
    }
    validate_resources(
        &strings(rule, "resources"),
        &format!("{path}.resources"),
        errs,
    );
    if let Some(scope) = rule.get("scope").and_then(Value::as_str) {
        const SCOPES: &[&str] = &["*", "Cluster", "Namespaced"];
        if !SCOPES.contains(&scope) {
            errs.push(FieldError::not_supported(
                format!("{path}.scope"),
                scope,
                SCOPES,
            ));
        }
    }
}

/// `validateResources`: wildcards may not be mixed with what they already cover.
fn validate_resources(resources: &[String], path: &str, errs: &mut Vec<FieldError>) {
    if resources.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
    let mut with_wildcard_sub = HashSet::new();
    let mut sub_with_wildcard_res = HashSet::new();
    let (mut double, mut single, mut plain) = (false, false, false);
    for (i, res_sub) in resources.iter().enumerate() {
        if res_sub.is_empty() {
            errs.push(FieldError::required(format!("{path}[{i}]"), ""));
            continue;
        }
        double |= res_sub == "*/*";
        single |= res_sub == "*";
        let Some((res, sub)) = res_sub.split_once('/') else {
            plain = res_sub != "*";
            continue;
        };
        if with_wildcard_sub.contains(res) {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                res_sub.clone(),
                format!("if '{res}/*' is present, must not specify {res_sub}"),
            ));
        }
        if sub_with_wildcard_res.contains(sub) {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                res_sub.clone(),
                format!("if '*/{sub}' is present, must not specify {res_sub}"),
            ));
        }
        if sub == "*" {
            with_wildcard_sub.insert(res.to_string());
        }
        if res == "*" {
            sub_with_wildcard_res.insert(sub.to_string());
        }
    }
    if resources.len() > 1 && double {
        errs.push(invalid_unquoted(
            path,
            &go_string_slice(resources),
            "if '*/*' is present, must not specify other resources",
        ));
    }
    if single && plain {
        errs.push(invalid_unquoted(
            path,
            &go_string_slice(resources),
            "if '*' is present, must not specify other resources without subresources",
        ));
    }
}

/// `validateAdmissionReviewVersions` (v1 requires a recognised version).
fn validate_review_versions(hook: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let versions = strings(hook, "admissionReviewVersions");
    if versions.is_empty() {
        errs.push(FieldError::required(
            path,
            "must specify one of v1, v1beta1",
        ));
        return;
    }
    let mut seen = HashSet::new();
    let mut accepted = false;
    for (i, v) in versions.iter().enumerate() {
        if !seen.insert(v.clone()) {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                v.clone(),
                "duplicate version",
            ));
            continue;
        }
        for problem in validation::is_dns1035_label(v) {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                v.clone(),
                problem,
            ));
        }
        accepted |= v == "v1" || v == "v1beta1";
    }
    if !accepted {
        errs.push(invalid_unquoted(
            path,
            &go_string_slice(&versions),
            "must include at least one of v1, v1beta1",
        ));
    }
}

/// `ValidateWebhookURL` with https forced.
fn validate_url(url: &str, path: &str, errs: &mut Vec<FieldError>) {
    const FORM: &str = "; desired format: https://host[/path]";
    let Some((scheme, rest)) = url.split_once("://") else {
        // Go parses a scheme-less URL as a path: no scheme, no host.
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        errs.push(FieldError::invalid(
            path,
            scheme,
            format!("'https' is the only allowed URL scheme{FORM}"),
        ));
        errs.push(FieldError::invalid(
            path,
            "",
            format!("host must be specified{FORM}"),
        ));
        return;
    };
    if scheme != "https" {
        errs.push(FieldError::invalid(
            path,
            scheme,
            format!("'https' is the only allowed URL scheme{FORM}"),
        ));
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = rest.split('/').next().unwrap_or("");
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    if host.is_empty() {
        errs.push(FieldError::invalid(
            path,
            "",
            format!("host must be specified{FORM}"),
        ));
    }
    if let Some(user) = user {
        errs.push(FieldError::invalid(
            path,
            user,
            "user information is not permitted in the URL",
        ));
    }
    if !fragment.is_empty() {
        errs.push(FieldError::invalid(
            path,
            fragment,
            "fragments are not permitted in the URL",
        ));
    }
    if !query.is_empty() {
        errs.push(FieldError::invalid(
            path,
            query,
            "query parameters are not permitted in the URL",
        ));
    }
}

/// `ValidateWebhookService`.
fn validate_service(svc: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if str_of(svc, "name").is_empty() {
        errs.push(FieldError::required(
            format!("{path}.name"),
            "service name is required",
        ));
    }
    if str_of(svc, "namespace").is_empty() {
        errs.push(FieldError::required(
            format!("{path}.namespace"),
            "service namespace is required",
        ));
    }
    if let Some(port) = svc.get("port").and_then(Value::as_i64) {
        let problems = validation::is_valid_port_num(port);
        if !problems.is_empty() {
            errs.push(invalid_unquoted(
                format!("{path}.port"),
                &port.to_string(),
                &format!("port is not valid: {}", problems.join(", ")),
            ));
        }
    }
    let Some(url_path) = svc.get("path").and_then(Value::as_str) else {
        return;
    };
    let path_field = format!("{path}.path");
    if url_path.is_empty() || url_path == "/" {
        return;
    }
    if url_path == "//" {
        errs.push(FieldError::invalid(
            path_field,
            url_path,
            "segment[0] may not be empty",
        ));
        return;
    }
    if !url_path.starts_with('/') {
        errs.push(FieldError::invalid(
            &path_field,
            url_path,
            "must start with a '/'",
        ));
    }
    let check = url_path.get(1..).unwrap_or("");
    let check = check.strip_suffix('/').unwrap_or(check);
    for (i, step) in check.split('/').enumerate() {
        if step.is_empty() {
            errs.push(FieldError::invalid(
                &path_field,
                url_path,
                format!("segment[{i}] may not be empty"),
            ));
            continue;
        }
        for problem in validation::is_dns1123_subdomain(step) {
            errs.push(FieldError::invalid(
                &path_field,
                url_path,
                format!("segment[{i}]: {problem}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook() -> Value {
        json!({
            "name": "deny.example.com",
            "clientConfig": {"url": "https://127.0.0.1:8443/deny"},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
        })
    }

    fn rendered(hooks: Vec<Value>) -> Vec<String> {
        let mut errs = Vec::new();
        validate(GROUP, VALIDATING, &json!({"webhooks": hooks}), &mut errs);
        errs.iter().map(FieldError::render).collect()
    }

    #[test]
    fn a_complete_webhook_is_valid_and_defaulted() {
        assert!(rendered(vec![hook()]).is_empty());
        let mut obj = json!({"webhooks": [hook()]});
        apply_defaults(GROUP, MUTATING, &mut obj);
        let w = &obj["webhooks"][0];
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["matchPolicy"], "Equivalent");
        assert_eq!(w["timeoutSeconds"], 10);
        assert_eq!(w["reinvocationPolicy"], "Never");
        assert_eq!(w["namespaceSelector"], json!({}));
        assert_eq!(w["rules"][0]["scope"], "*");
    }

    #[test]
    fn upstream_messages() {
        let mut h = hook();
        h["sideEffects"] = json!("Unknown");
        h["name"] = json!("short.name");
        h["timeoutSeconds"] = json!(31);
        h["clientConfig"] = json!({"url": "http://x/y?z=1"});
        assert_eq!(
            rendered(vec![h]),
            vec![
                "webhooks[0].name: Invalid value: \"short.name\": should be a domain with at least three segments separated by dots",
                "webhooks[0].sideEffects: Unsupported value: \"Unknown\": supported values: \"None\", \"NoneOnDryRun\"",
                "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds",
                "webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
                "webhooks[0].clientConfig.url: Invalid value: \"z=1\": query parameters are not permitted in the URL",
            ]
        );
        let mut h = hook();
        h.as_object_mut().unwrap().remove("sideEffects");
        h["clientConfig"] = json!({});
        h["admissionReviewVersions"] = json!(["v2"]);
        assert_eq!(
            rendered(vec![h, hook(), hook()]),
            vec![
                "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun",
                "webhooks[0].clientConfig: Required value: exactly one of url or service is required",
                "webhooks[0].admissionReviewVersions: Invalid value: []string{\"v2\"}: must include at least one of v1, v1beta1",
                "webhooks[1].name: Duplicate value: \"deny.example.com\"",
                "webhooks[2].name: Duplicate value: \"deny.example.com\"",
            ]
        );
    }
}
