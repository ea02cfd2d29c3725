//! Kind-specific validation, after kube's `pkg/apis/<group>/validation`: the rules kubectl
//! users and controllers run into, with kube's field paths and words.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::{Value, json};

use super::pod;
use super::{array_of, is_unset, str_of};
use crate::error::FieldError;
use crate::validation::{
    FIELD_IMMUTABLE, go_string_map, go_string_slice, immutable, invalid_unquoted,
    is_config_map_key, is_dns1123_label, is_path_segment_name, is_qualified_name,
    is_valid_port_name, is_valid_port_num, too_long, validate_labels,
};

/// The most data a ConfigMap or Secret may hold (1 MiB).
const MAX_DATA_SIZE: usize = 1024 * 1024;
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Runs the kind's own rules (metadata rules have run already).
pub(crate) fn validate(
    group: &str,
    kind: &str,
    obj: &Value,
    old: Option<&Value>,
    errs: &mut Vec<FieldError>,
) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let old_spec = old.and_then(|o| o.get("spec"));
    match (group, kind) {
        ("", "Pod") => {
            pod::validate_pod_spec(spec, "spec", errs);
            if let Some(old) = old {
                pod::validate_pod_update(obj, old, errs);
            }
        }
        ("", "PodTemplate") => pod::validate_template(obj.get("template"), "template", errs),
        ("", "ReplicationController") => replication_controller(spec, errs),
        ("", "Service") => service(spec, old_spec, errs),
        ("", "ConfigMap") => config_map(obj, old, errs),
        ("", "Secret") => secret(obj, old, errs),
        ("", "Event") => core_event(obj, errs),
        ("events.k8s.io", "Event") => events_v1_event(obj, errs),
        ("apps", "Deployment") => {
            workload(spec, "deployment", errs);
            deployment_strategy(spec, errs);
            selector_immutable(spec, old_spec, errs);
        }
        ("apps", "ReplicaSet") => {
            workload(spec, "deployment", errs);
            selector_immutable(spec, old_spec, errs);
        }
        ("apps", "DaemonSet") => {
            workload(spec, "daemonset", errs);
            selector_immutable(spec, old_spec, errs);
        }
        ("apps", "StatefulSet") => {
            workload(spec, "statefulset", errs);
            one_of(
                spec,
                "podManagementPolicy",
                "spec",
                &["OrderedReady", "Parallel"],
                errs,
            );
            if let Some(old_spec) = old_spec {
                stateful_set_update(spec, old_spec, errs);
            }
        }
        ("batch", "Job") => {
            job(spec, "spec", errs);
            if let Some(old_spec) = old_spec {
                selector_immutable(spec, Some(old_spec), errs);
                if spec.get("template") != old_spec.get("template") {
                    errs.push(invalid_unquoted(
                        "spec.template",
                        "core.PodTemplateSpec{...}",
                        FIELD_IMMUTABLE,
                    ));
                }
            }
        }
        ("batch", "CronJob") => cron_job(obj, spec, errs),
        ("rbac.authorization.k8s.io", "Role") => rules(obj, true, errs),
        ("rbac.authorization.k8s.io", "ClusterRole") => rules(obj, false, errs),
        ("rbac.authorization.k8s.io", "RoleBinding") => binding(obj, old, true, errs),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => binding(obj, old, false, errs),
        ("coordination.k8s.io", "Lease") => lease(spec, errs),
        ("scheduling.k8s.io", "PriorityClass") => priority_class(obj, errs),
        ("node.k8s.io", "RuntimeClass") => {
            let handler = str_of(obj, "handler");
            for msg in is_dns1123_label(handler) {
                errs.push(FieldError::invalid("handler", handler, msg));
            }
        }
        ("storage.k8s.io", "StorageClass") if str_of(obj, "provisioner").is_empty() => {
            errs.push(FieldError::required("provisioner", ""));
        }
        _ => {}
    }
}

fn one_of(v: &Value, key: &str, path: &str, supported: &[&str], errs: &mut Vec<FieldError>) {
    let value = str_of(v, key);
    if value.is_empty() {
        errs.push(FieldError::required(format!("{path}.{key}"), ""));
    } else if !supported.contains(&value) {
        errs.push(FieldError::not_supported(
            format!("{path}.{key}"),
            value,
            supported,
        ));
    }
}

fn non_negative(v: &Value, key: &str, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(n) = v.get(key).and_then(Value::as_i64)
        && n < 0
    {
        errs.push(invalid_unquoted(
            format!("{path}.{key}"),
            &n.to_string(),
            "must be greater than or equal to 0",
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Label selectors.

/// A `metav1.LabelSelector` as Go's `%#v` prints it, as kube shows it in messages.
fn go_label_selector(sel: &Value) -> String {
    let exprs = array_of(sel, "matchExpressions");
    let exprs = if exprs.is_empty() {
        "[]v1.LabelSelectorRequirement(nil)".to_string()
    } else {
        let items: Vec<String> = exprs
            .iter()
            .map(|e| {
                let values: Vec<String> = array_of(e, "values")
                    .iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect();
                format!(
                    "v1.LabelSelectorRequirement{{Key:{:?}, Operator:{:?}, Values:{}}}",
                    str_of(e, "key"),
                    str_of(e, "operator"),
                    go_string_slice(&values)
                )
            })
            .collect();
        format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(sel.get("matchLabels"))
    )
}

/// Whether a label selector selects nothing-in-particular (no labels and no expressions).
fn selector_is_empty(sel: &Value) -> bool {
    sel.get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty())
        && array_of(sel, "matchExpressions").is_empty()
}

/// `ValidateLabelSelector`: the match labels are valid labels, the expressions well formed.
pub(crate) fn validate_label_selector(sel: &Value, path: &str, errs: &mut Vec<FieldError>) {
    errs.extend(validate_labels(
        sel.get("matchLabels"),
        &format!("{path}.matchLabels"),
    ));
    for (i, e) in array_of(sel, "matchExpressions").iter().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let values = array_of(e, "values");
        match str_of(e, "operator") {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        format!("{p}.values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        format!("{p}.values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                format!("{p}.operator"),
                other,
                "not a valid selector operator",
            )),
        }
        let key = str_of(e, "key");
        for msg in is_qualified_name(key) {
            errs.push(FieldError::invalid(format!("{p}.key"), key, msg));
        }
    }
}

/// Whether a label selector selects a label set.
fn selector_matches(sel: &Value, labels: Option<&Value>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let labels_ok = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| {
            m.iter()
                .all(|(k, v)| label(k) == Some(v.as_str().unwrap_or("")))
        });
    labels_ok
        && array_of(sel, "matchExpressions").iter().all(|e| {
            let value = label(str_of(e, "key"));
            let values: Vec<&str> = array_of(e, "values")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            match str_of(e, "operator") {
                "In" => value.is_some_and(|v| values.contains(&v)),
                "NotIn" => value.is_none_or(|v| !values.contains(&v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// The shared rules of Deployments, ReplicaSets, StatefulSets and DaemonSets: replicas, the
/// selector, the selector matching the template's labels, and a template that restarts always.
/// `what` names the kind in kube's "empty selector is invalid for ..." message.
fn workload(spec: &Value, what: &str, errs: &mut Vec<FieldError>) {
    non_negative(spec, "replicas", "spec", errs);
    non_negative(spec, "minReadySeconds", "spec", errs);
    non_negative(spec, "revisionHistoryLimit", "spec", errs);
    let selector = spec.get("selector").filter(|s| s.is_object());
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            validate_label_selector(sel, "spec.selector", errs);
            if selector_is_empty(sel) {
                errs.push(invalid_unquoted(
                    "spec.selector",
                    &go_label_selector(sel),
                    &format!("empty selector is invalid for {what}"),
                ));
            }
        }
    }
    let Some(template) = spec.get("template").filter(|t| t.is_object()) else {
        errs.push(FieldError::required("spec.template", ""));
        return;
    };
    let labels = template.get("metadata").and_then(|m| m.get("labels"));
    if let Some(sel) = selector
        && !selector_is_empty(sel)
        && !selector_matches(sel, labels)
    {
        errs.push(invalid_unquoted(
            "spec.template.metadata.labels",
            &go_string_map(labels),
            "`selector` does not match template `labels`",
        ));
    }
    pod::validate_template(Some(template), "spec.template", errs);
    let restart = template
        .get("spec")
        .map(|s| str_of(s, "restartPolicy"))
        .unwrap_or("");
    if !restart.is_empty() && restart != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            restart,
            &["Always"],
        ));
    }
    if let Some(deadline) = template
        .get("spec")
        .and_then(|s| s.get("activeDeadlineSeconds"))
        .filter(|d| !d.is_null())
    {
        errs.push(invalid_unquoted(
            "spec.template.spec.activeDeadlineSeconds",
            &deadline.to_string(),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
}

/// apps/v1 selectors cannot change after creation.
fn selector_immutable(spec: &Value, old_spec: Option<&Value>, errs: &mut Vec<FieldError>) {
    let Some(old_spec) = old_spec else {
        return;
    };
    let (new, old) = (spec.get("selector"), old_spec.get("selector"));
    if new != old {
        let rendered = new
            .filter(|s| s.is_object())
            .map(go_label_selector)
            .unwrap_or_else(|| "null".into());
        errs.push(invalid_unquoted(
            "spec.selector",
            &rendered,
            FIELD_IMMUTABLE,
        ));
    }
}

fn deployment_strategy(spec: &Value, errs: &mut Vec<FieldError>) {
    let Some(strategy) = spec.get("strategy") else {
        return;
    };
    if str_of(strategy, "type") == "Recreate" && !is_unset(strategy, "rollingUpdate") {
        errs.push(FieldError::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
}

fn stateful_set_update(spec: &Value, old_spec: &Value, errs: &mut Vec<FieldError>) {
    const MUTABLE: &[&str] = &[
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
        "revisionHistoryLimit",
    ];
    let strip = |s: &Value| {
        let mut s = s.clone();
        if let Some(m) = s.as_object_mut() {
            m.retain(|k, _| !MUTABLE.contains(&k.as_str()));
        }
        s
    };
    if strip(spec) != strip(old_spec) {
        errs.push(FieldError::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
}

fn replication_controller(spec: &Value, errs: &mut Vec<FieldError>) {
    non_negative(spec, "replicas", "spec", errs);
    non_negative(spec, "minReadySeconds", "spec", errs);
    let selector = spec.get("selector").and_then(Value::as_object);
    if selector.is_none_or(|s| s.is_empty()) {
        errs.push(FieldError::required("spec.selector", ""));
    } else {
        errs.extend(validate_labels(spec.get("selector"), "spec.selector"));
    }
    let Some(template) = spec.get("template").filter(|t| t.is_object()) else {
        errs.push(FieldError::required("spec.template", ""));
        return;
    };
    let labels = template.get("metadata").and_then(|m| m.get("labels"));
    if let Some(sel) = selector.filter(|s| !s.is_empty()) {
        let matches = sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)).and_then(Value::as_str) == v.as_str());
        if !matches {
            errs.push(invalid_unquoted(
                "spec.template.metadata.labels",
                &go_string_map(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    pod::validate_template(Some(template), "spec.template", errs);
}

// ---------------------------------------------------------------------------------------------
// batch

fn job(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for f in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
    ] {
        non_negative(spec, f, path, errs);
    }
    let selector = spec.get("selector").filter(|s| s.is_object());
    match selector {
        None => errs.push(FieldError::required(format!("{path}.selector"), "")),
        Some(sel) => validate_label_selector(sel, &format!("{path}.selector"), errs),
    }
    let Some(template) = spec.get("template").filter(|t| t.is_object()) else {
        errs.push(FieldError::required(format!("{path}.template"), ""));
        return;
    };
    let labels = template.get("metadata").and_then(|m| m.get("labels"));
    if let Some(sel) = selector
        && !selector_is_empty(sel)
        && !selector_matches(sel, labels)
    {
        errs.push(invalid_unquoted(
            format!("{path}.template.metadata.labels"),
            &go_string_map(labels),
            "`selector` does not match template `labels`",
        ));
    }
    job_template(template, &format!("{path}.template"), errs);
}

/// A Job's pod template: a valid pod template whose pods restart `OnFailure` or `Never`.
fn job_template(template: &Value, path: &str, errs: &mut Vec<FieldError>) {
    pod::validate_template(Some(template), path, errs);
    let restart = template
        .get("spec")
        .map(|s| str_of(s, "restartPolicy"))
        .unwrap_or("");
    if restart != "OnFailure" && restart != "Never" {
        errs.push(FieldError::not_supported(
            format!("{path}.spec.restartPolicy"),
            restart,
            &["OnFailure", "Never"],
        ));
    }
}

fn cron_job(obj: &Value, spec: &Value, errs: &mut Vec<FieldError>) {
    let name = obj.get("metadata").map(|m| str_of(m, "name")).unwrap_or("");
    if name.len() > 52 {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    let schedule = str_of(spec, "schedule");
    if schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else if let Err(why) = check_schedule(schedule) {
        errs.push(FieldError::invalid("spec.schedule", schedule, why));
    }
    if let Some(tz) = spec.get("timeZone").and_then(Value::as_str)
        && let Err(why) = check_time_zone(tz)
    {
        errs.push(FieldError::invalid("spec.timeZone", tz, why));
    }
    one_of(
        spec,
        "concurrencyPolicy",
        "spec",
        &["Allow", "Forbid", "Replace"],
        errs,
    );
    non_negative(spec, "startingDeadlineSeconds", "spec", errs);
    non_negative(spec, "successfulJobsHistoryLimit", "spec", errs);
    non_negative(spec, "failedJobsHistoryLimit", "spec", errs);
    let null = Value::Null;
    let job_spec = spec
        .get("jobTemplate")
        .and_then(|t| t.get("spec"))
        .unwrap_or(&null);
    match job_spec.get("template").filter(|t| t.is_object()) {
        Some(template) => job_template(template, "spec.jobTemplate.spec.template", errs),
        None => errs.push(FieldError::required("spec.jobTemplate.spec.template", "")),
    }
}

/// A CronJob's `timeZone`, as upstream's `validateTimeZone`: an IANA name the time-zone
/// database knows (not `Local`), without path tricks.
fn check_time_zone(tz: &str) -> Result<(), String> {
    if tz.is_empty() {
        return Err("timeZone must be nil or non-empty string".into());
    }
    let unknown = || format!("unknown time zone {tz}");
    for part in tz.split('/') {
        let valid_chars = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'));
        if part == "." || part == ".." || part.starts_with('-') || !valid_chars {
            return Err(unknown());
        }
    }
    if tz.eq_ignore_ascii_case("local") {
        return Err(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .into(),
        );
    }
    jiff::tz::TimeZone::get(tz)
        .map(|_| ())
        .map_err(|_| unknown())
}

/// The checks robfig/cron's standard parser makes before kube accepts a schedule: a
/// descriptor (`@hourly`...) or exactly five fields of cron characters.
fn check_schedule(schedule: &str) -> Result<(), String> {
    if schedule.contains("TZ") {
        return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    if let Some(descriptor) = schedule.strip_prefix('@') {
        let known = [
            "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly",
        ];
        if known.contains(&descriptor) || descriptor.starts_with("every ") {
            return Ok(());
        }
        return Err(format!("unrecognized descriptor: {schedule}"));
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: {schedule}",
            fields.len()
        ));
    }
    for f in fields {
        if !f
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-' | '?'))
        {
            return Err(format!("failed to parse int from {f}"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// core

fn service(spec: &Value, old_spec: Option<&Value>, errs: &mut Vec<FieldError>) {
    let ty = str_of(spec, "type");
    let ports = array_of(spec, "ports");
    let headless = str_of(spec, "clusterIP") == "None";
    if ty == "ExternalName" {
        let external = str_of(spec, "externalName");
        if external.is_empty() {
            errs.push(FieldError::required("spec.externalName", ""));
        }
    } else if ports.is_empty() && !headless {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        let name = str_of(p, "name");
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(format!("{path}.name"), ""));
        } else if !name.is_empty() {
            for msg in is_dns1123_label(name) {
                errs.push(FieldError::invalid(format!("{path}.name"), name, msg));
            }
            if !names.insert(name) {
                errs.push(crate::validation::duplicate(format!("{path}.name"), name));
            }
        }
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        for msg in is_valid_port_num(port) {
            errs.push(invalid_unquoted(
                format!("{path}.port"),
                &port.to_string(),
                &msg,
            ));
        }
        one_of(p, "protocol", &path, &["SCTP", "TCP", "UDP"], errs);
        match p.get("targetPort") {
            Some(Value::Number(n)) => {
                let n = n.as_i64().unwrap_or(0);
                for msg in is_valid_port_num(n) {
                    errs.push(invalid_unquoted(
                        format!("{path}.targetPort"),
                        &n.to_string(),
                        &msg,
                    ));
                }
            }
            Some(Value::String(s)) => {
                for msg in is_valid_port_name(s) {
                    errs.push(FieldError::invalid(format!("{path}.targetPort"), s, msg));
                }
            }
            _ => {}
        }
        if let Some(node_port) = p.get("nodePort").and_then(Value::as_i64)
            && node_port != 0
            && ty != "NodePort"
            && ty != "LoadBalancer"
        {
            errs.push(FieldError::forbidden(
                format!("{path}.nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        }
    }
    let affinity = str_of(spec, "sessionAffinity");
    if !affinity.is_empty() && affinity != "None" && affinity != "ClientIP" {
        errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            affinity,
            &["ClientIP", "None"],
        ));
    }
    let supported = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !supported.contains(&ty) {
        errs.push(FieldError::not_supported("spec.type", ty, &supported));
    }
    if let Some(old_spec) = old_spec {
        service_ips_unchanged(spec, old_spec, errs);
    }
}

/// A service keeps its cluster IPs (unless it becomes or stops being an ExternalName one). An
/// update that leaves them out keeps the old ones, as kube-apiserver fills them in.
fn service_ips_unchanged(spec: &Value, old_spec: &Value, errs: &mut Vec<FieldError>) {
    if str_of(spec, "type") == "ExternalName" || str_of(old_spec, "type") == "ExternalName" {
        return;
    }
    let ips = |s: &Value| -> Vec<String> {
        let list: Vec<String> = array_of(s, "clusterIPs")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        if list.is_empty() && !str_of(s, "clusterIP").is_empty() {
            vec![str_of(s, "clusterIP").to_string()]
        } else {
            list
        }
    };
    let old_ips = ips(old_spec);
    if old_ips.is_empty() {
        return;
    }
    let mut new_ips = ips(spec);
    if new_ips.is_empty() {
        return;
    }
    let new_primary = str_of(spec, "clusterIP");
    if !new_primary.is_empty() && new_ips[0] != new_primary {
        new_ips[0] = new_primary.to_string();
    }
    if new_ips.len() == old_ips.len() {
        for (i, (o, n)) in old_ips.iter().zip(&new_ips).enumerate() {
            if o != n {
                errs.push(invalid_unquoted(
                    format!("spec.clusterIPs[{i}]"),
                    &go_string_slice(&new_ips),
                    "may not change once set",
                ));
            }
        }
    } else if new_ips[0] != old_ips[0] {
        errs.push(invalid_unquoted(
            "spec.clusterIPs[0]",
            &go_string_slice(&new_ips),
            "may not change once set",
        ));
    }
}

fn data_keys(obj: &Value, field: &str, other: Option<&str>, errs: &mut Vec<FieldError>) -> usize {
    let mut total = 0;
    let Some(data) = obj.get(field).and_then(Value::as_object) else {
        return 0;
    };
    for (k, v) in data {
        for msg in is_config_map_key(k) {
            errs.push(FieldError::invalid(
                format!("{field}[{k}]"),
                k.as_str(),
                msg,
            ));
        }
        if let Some(other) = other
            && obj.get(other).and_then(|o| o.get(k)).is_some()
        {
            errs.push(FieldError::invalid(
                format!("{field}[{k}]"),
                k.as_str(),
                format!("duplicate of key present in {other}"),
            ));
        }
        total += v.as_str().map(str::len).unwrap_or(0);
    }
    total
}

/// `immutable: true` ConfigMaps and Secrets keep their data, and stay immutable.
fn immutable_data(obj: &Value, old: Option<&Value>, fields: &[&str], errs: &mut Vec<FieldError>) {
    let Some(old) = old else {
        return;
    };
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return;
    }
    let detail = "field is immutable when `immutable` is set";
    if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden("immutable", detail));
    }
    for f in fields {
        if obj.get(*f) != old.get(*f) {
            errs.push(FieldError::forbidden(*f, detail));
        }
    }
}

fn config_map(obj: &Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    let mut total = data_keys(obj, "data", Some("binaryData"), errs);
    total += data_keys(obj, "binaryData", Some("data"), errs) * 3 / 4;
    if total > MAX_DATA_SIZE {
        errs.push(too_long("", MAX_DATA_SIZE));
    }
    immutable_data(obj, old, &["data", "binaryData"], errs);
}

/// Decodes a Secret's `data` value; kube-apiserver refuses undecodable ones while decoding.
pub(crate) fn decode_secret_value(v: &Value) -> Result<Vec<u8>, String> {
    let s = v.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => {
                format!("illegal base64 data at input byte {at}")
            }
            _ => format!("illegal base64 data at input byte {}", s.len()),
        })
}

fn secret(obj: &Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    let mut total = 0;
    let empty = json!({});
    let data = obj.get("data").filter(|d| d.is_object()).unwrap_or(&empty);
    for (k, v) in data.as_object().into_iter().flatten() {
        for msg in is_config_map_key(k) {
            errs.push(FieldError::invalid(format!("data[{k}]"), k.as_str(), msg));
        }
        match decode_secret_value(v) {
            Ok(bytes) => total += bytes.len(),
            Err(why) => errs.push(FieldError::invalid(
                format!("data[{k}]"),
                "<secret contents redacted>",
                why,
            )),
        }
    }
    if total > MAX_DATA_SIZE {
        errs.push(too_long("data", MAX_DATA_SIZE));
    }
    let has = |k: &str| data.get(k).is_some();
    let required = |errs: &mut Vec<FieldError>, k: &str| {
        errs.push(FieldError::required(format!("data[{k}]"), ""));
    };
    match str_of(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let annotated = obj
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if !annotated {
                errs.push(FieldError::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => required(errs, ".dockercfg"),
        "kubernetes.io/dockerconfigjson" => {
            if !has(".dockerconfigjson") {
                required(errs, ".dockerconfigjson");
            } else if let Ok(bytes) = decode_secret_value(&data[".dockerconfigjson"])
                && serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes).is_err()
            {
                errs.push(FieldError::invalid(
                    "data[.dockerconfigjson]",
                    "<secret contents redacted>",
                    "invalid character looking for beginning of value",
                ));
            }
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            required(errs, "username");
            required(errs, "password");
        }
        "kubernetes.io/ssh-auth" => {
            let key_len = data
                .get("ssh-privatekey")
                .and_then(|v| decode_secret_value(v).ok())
                .map_or(0, |b| b.len());
            if key_len == 0 {
                required(errs, "ssh-privatekey");
            }
        }
        "kubernetes.io/tls" => {
            if !has("tls.crt") {
                required(errs, "tls.crt");
            }
            if !has("tls.key") {
                required(errs, "tls.key");
            }
        }
        _ => {}
    }
    if let Some(old) = old {
        let (new_type, old_type) = (obj.get("type"), old.get("type"));
        if new_type != old_type {
            errs.push(immutable("type", new_type.unwrap_or(&Value::Null)));
        }
    }
    immutable_data(obj, old, &["data"], errs);
}

/// `legacyValidateEvent` for core/v1 Events: an old-style event (no `eventTime`) names the
/// namespace of its object (or `default` for a cluster-scoped one); a new-style event carries
/// its reporting fields.
fn core_event(obj: &Value, errs: &mut Vec<FieldError>) {
    let namespace = obj
        .get("metadata")
        .map(|m| str_of(m, "namespace"))
        .unwrap_or("");
    let null = Value::Null;
    let involved_ns = str_of(obj.get("involvedObject").unwrap_or(&null), "namespace");
    let mismatch = |errs: &mut Vec<FieldError>| {
        errs.push(FieldError::invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        ));
    };
    if is_unset(obj, "eventTime") {
        let matches = if involved_ns.is_empty() {
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved_ns
        };
        if !matches {
            mismatch(errs);
        }
        return;
    }
    if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
        mismatch(errs);
    }
    let controller = str_of(obj, "reportingComponent");
    if controller.is_empty() {
        errs.push(FieldError::required("reportingComponent", ""));
    }
    for msg in is_qualified_name(controller) {
        errs.push(FieldError::invalid("reportingComponent", controller, msg));
    }
    reporting_fields(obj, "message", errs);
}

/// The reporting fields both event APIs require of a new-style event.
fn reporting_fields(obj: &Value, note_field: &str, errs: &mut Vec<FieldError>) {
    for (field, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128)] {
        let v = str_of(obj, field);
        if v.is_empty() {
            errs.push(FieldError::required(field, ""));
        } else if v.len() > limit {
            errs.push(too_long(field, limit));
        }
    }
    if str_of(obj, note_field).len() > 1024 {
        errs.push(too_long(note_field, 1024));
    }
}

fn events_v1_event(obj: &Value, errs: &mut Vec<FieldError>) {
    if is_unset(obj, "eventTime") {
        errs.push(FieldError::required("eventTime", ""));
    }
    let ty = str_of(obj, "type");
    if ty != "Normal" && ty != "Warning" {
        errs.push(FieldError::invalid(
            "type",
            "",
            format!("has invalid value: {ty}"),
        ));
    }
    let controller = str_of(obj, "reportingController");
    if controller.is_empty() {
        errs.push(FieldError::required("reportingController", ""));
    } else {
        for msg in is_qualified_name(controller) {
            errs.push(FieldError::invalid("reportingController", controller, msg));
        }
    }
    reporting_fields(obj, "note", errs);
}

// ---------------------------------------------------------------------------------------------
// rbac, coordination, scheduling

fn rules(obj: &Value, namespaced: bool, errs: &mut Vec<FieldError>) {
    for (i, rule) in array_of(obj, "rules").iter().enumerate() {
        let path = format!("rules[{i}]");
        if array_of(rule, "verbs").is_empty() {
            errs.push(FieldError::required(
                format!("{path}.verbs"),
                "verbs must contain at least one value",
            ));
        }
        let urls = array_of(rule, "nonResourceURLs");
        if !urls.is_empty() {
            let rendered: Vec<String> = urls
                .iter()
                .map(|u| u.as_str().unwrap_or("").to_string())
                .collect();
            if namespaced {
                errs.push(invalid_unquoted(
                    format!("{path}.nonResourceURLs"),
                    &go_string_slice(&rendered),
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !array_of(rule, "apiGroups").is_empty()
                || !array_of(rule, "resources").is_empty()
                || !array_of(rule, "resourceNames").is_empty()
            {
                errs.push(invalid_unquoted(
                    format!("{path}.nonResourceURLs"),
                    &go_string_slice(&rendered),
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if array_of(rule, "apiGroups").is_empty() {
            errs.push(FieldError::required(
                format!("{path}.apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if array_of(rule, "resources").is_empty() {
            errs.push(FieldError::required(
                format!("{path}.resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
}

fn binding(obj: &Value, old: Option<&Value>, namespaced: bool, errs: &mut Vec<FieldError>) {
    let null = Value::Null;
    let role_ref = obj.get("roleRef").unwrap_or(&null);
    let group = str_of(role_ref, "apiGroup");
    if group != RBAC_GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            group,
            &[RBAC_GROUP],
        ));
    }
    let kind = str_of(role_ref, "kind");
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&kind) {
        errs.push(FieldError::not_supported("roleRef.kind", kind, kinds));
    }
    let name = str_of(role_ref, "name");
    if name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        for msg in is_path_segment_name(name) {
            errs.push(FieldError::invalid("roleRef.name", name, msg));
        }
    }
    for (i, subject) in array_of(obj, "subjects").iter().enumerate() {
        let path = format!("subjects[{i}]");
        let name = str_of(subject, "name");
        if name.is_empty() {
            errs.push(FieldError::required(format!("{path}.name"), ""));
        }
        let group = str_of(subject, "apiGroup");
        match str_of(subject, "kind") {
            "ServiceAccount" => {
                if !name.is_empty() {
                    for msg in crate::validation::is_dns1123_subdomain(name) {
                        errs.push(FieldError::invalid(format!("{path}.name"), name, msg));
                    }
                }
                if !group.is_empty() {
                    errs.push(FieldError::not_supported(
                        format!("{path}.apiGroup"),
                        group,
                        &[""],
                    ));
                }
                if !namespaced && str_of(subject, "namespace").is_empty() {
                    errs.push(FieldError::required(format!("{path}.namespace"), ""));
                }
            }
            "User" | "Group" => {
                if group != RBAC_GROUP {
                    errs.push(FieldError::not_supported(
                        format!("{path}.apiGroup"),
                        group,
                        &[RBAC_GROUP],
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                format!("{path}.kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
    if let Some(old) = old {
        let old_ref = old.get("roleRef").unwrap_or(&null);
        if old_ref != role_ref {
            errs.push(invalid_unquoted(
                "roleRef",
                &format!(
                    "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
                    group, kind, name
                ),
                "cannot change roleRef",
            ));
        }
    }
}

fn lease(spec: &Value, errs: &mut Vec<FieldError>) {
    if let Some(d) = spec.get("leaseDurationSeconds").and_then(Value::as_i64)
        && d <= 0
    {
        errs.push(invalid_unquoted(
            "spec.leaseDurationSeconds",
            &d.to_string(),
            "must be greater than 0",
        ));
    }
    non_negative(spec, "leaseTransitions", "spec", errs);
}

fn priority_class(obj: &Value, errs: &mut Vec<FieldError>) {
    let name = obj.get("metadata").map(|m| str_of(m, "name")).unwrap_or("");
    let builtin = ["system-node-critical", "system-cluster-critical"];
    if name.starts_with("system-") && !builtin.contains(&name) {
        errs.push(FieldError::forbidden(
            "metadata.name",
            "priority class names with 'system-' prefix are reserved",
        ));
    }
    let policy = str_of(obj, "preemptionPolicy");
    if !policy.is_empty() && policy != "PreemptLowerPriority" && policy != "Never" {
        errs.push(FieldError::not_supported(
            "preemptionPolicy",
            policy,
            &["Never", "PreemptLowerPriority"],
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::error::FieldError;
    use crate::kinds::tests::info;
    use crate::kinds::{apply_defaults, validate};
    use serde_json::{Value, json};

    fn check(group: &str, kind: &str, obj: Value, old: Option<Value>) -> Vec<String> {
        let info = info(group, kind);
        let mut obj = obj;
        apply_defaults(&info, &mut obj);
        let old = old.map(|mut o| {
            apply_defaults(&info, &mut o);
            o
        });
        validate(&info, &obj, old.as_ref())
            .iter()
            .map(FieldError::render)
            .collect()
    }

    fn pod(spec: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": spec})
    }

    #[test]
    fn valid_pod() {
        let errs = check(
            "",
            "Pod",
            pod(
                json!({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "name": "http"}]}]}),
            ),
            None,
        );
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn pod_spec_errors() {
        assert_eq!(
            check("", "Pod", pod(json!({})), None),
            vec!["spec.containers: Required value"]
        );
        let errs = check(
            "",
            "Pod",
            pod(json!({
                "containers": [
                    {"name": "a", "image": ""},
                    {"name": "a", "image": "x", "ports": [{"containerPort": 70000, "protocol": "HTTP"}]},
                    {"name": "Bad", "image": "x"}
                ],
                "restartPolicy": "Sometimes",
                "dnsPolicy": "Foo"
            })),
            None,
        );
        assert_eq!(
            errs,
            vec![
                "spec.containers[0].image: Required value",
                "spec.containers[1].name: Duplicate value: \"a\"",
                "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[1].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[2].name: Invalid value: \"Bad\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.dnsPolicy: Unsupported value: \"Foo\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
            ]
        );
    }

    #[test]
    fn pod_update_rules() {
        let old = pod(json!({"containers": [{"name": "a", "image": "nginx:1"}]}));
        let image = pod(json!({"containers": [{"name": "a", "image": "nginx:2"}],
            "tolerations": [{"key": "k", "operator": "Exists"}], "activeDeadlineSeconds": 30}));
        assert!(check("", "Pod", image, Some(old.clone())).is_empty());
        let command =
            pod(json!({"containers": [{"name": "a", "image": "nginx:1", "command": ["sh"]}]}));
        let errs = check("", "Pod", command, Some(old.clone()));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with(
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
        ), "{}", errs[0]);
        assert!(errs[0].contains("Containers"));
        // A status update leaves the spec alone, whatever the old object lacked in defaults.
        let mut stored = old.clone();
        stored["status"] = json!({"phase": "Running"});
        assert!(check("", "Pod", stored, Some(old.clone())).is_empty());
        let renamed = json!({"metadata": {"name": "q", "namespace": "d", "uid": "u"},
            "spec": {"containers": [{"name": "a", "image": "nginx:1"}]}});
        assert_eq!(
            check("", "Pod", renamed, Some(old)),
            vec!["metadata.name: Invalid value: \"q\": field is immutable"]
        );
    }

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"metadata": {"name": "d", "namespace": "n"}, "spec": {"selector": selector,
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}})
    }

    #[test]
    fn workload_selectors() {
        let ok = deployment(
            json!({"matchLabels": {"app": "a"}}),
            json!({"app": "a", "x": "y"}),
        );
        assert!(check("apps", "Deployment", ok.clone(), None).is_empty());
        assert_eq!(
            check(
                "apps",
                "Deployment",
                deployment(json!({"matchLabels": {"app": "a"}}), json!({"app": "b"})),
                None
            ),
            vec![
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"b\"}: `selector` does not match template `labels`"
            ]
        );
        let mut no_selector = ok.clone();
        no_selector["spec"]
            .as_object_mut()
            .unwrap()
            .remove("selector");
        assert_eq!(
            check("apps", "ReplicaSet", no_selector, None),
            vec!["spec.selector: Required value"]
        );
        assert_eq!(
            check(
                "apps",
                "DaemonSet",
                deployment(json!({}), json!({"app": "a"})),
                None
            ),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset"
            ]
        );
        let mut negative = ok.clone();
        negative["spec"]["replicas"] = json!(-1);
        assert_eq!(
            check("apps", "Deployment", negative, None),
            vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
        );
        let changed = deployment(json!({"matchLabels": {"app": "b"}}), json!({"app": "b"}));
        assert_eq!(
            check("apps", "Deployment", changed, Some(ok.clone())),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
            ]
        );
        let mut never = ok.clone();
        never["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        assert_eq!(
            check("apps", "Deployment", never, None),
            vec![
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""
            ]
        );
        let exprs = deployment(
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]}),
            json!({"app": "b"}),
        );
        assert!(check("apps", "StatefulSet", exprs.clone(), None).is_empty());
        let mut scaled = exprs.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert!(check("apps", "StatefulSet", scaled, Some(exprs.clone())).is_empty());
        let mut renamed = exprs.clone();
        renamed["spec"]["serviceName"] = json!("other");
        assert_eq!(check("apps", "StatefulSet", renamed, Some(exprs)).len(), 1);
    }

    #[test]
    fn jobs_and_cronjobs() {
        let job = |restart: Option<&str>| {
            let mut spec = json!({"containers": [{"name": "a", "image": "perl"}]});
            if let Some(r) = restart {
                spec["restartPolicy"] = json!(r);
            }
            json!({"metadata": {"name": "j", "namespace": "n", "uid": "u1"},
                "spec": {"template": {"spec": spec}}})
        };
        assert!(check("batch", "Job", job(Some("Never")), None).is_empty());
        assert!(check("batch", "Job", job(Some("Never")), Some(job(Some("Never")))).is_empty());
        assert_eq!(
            check(
                "batch",
                "Job",
                job(Some("OnFailure")),
                Some(job(Some("Never")))
            ),
            vec!["spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"]
        );
        assert_eq!(
            check("batch", "Job", job(None), None),
            vec![
                "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
            ]
        );
        let cron = |schedule: &str| {
            json!({"metadata": {"name": "c", "namespace": "n"}, "spec": {"schedule": schedule,
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}], "restartPolicy": "OnFailure"}}}}}})
        };
        assert!(check("batch", "CronJob", cron("*/5 * * * *"), None).is_empty());
        assert!(check("batch", "CronJob", cron("@hourly"), None).is_empty());
        assert_eq!(
            check("batch", "CronJob", cron(""), None),
            vec!["spec.schedule: Required value"]
        );
        assert_eq!(
            check("batch", "CronJob", cron("* *"), None),
            vec!["spec.schedule: Invalid value: \"* *\": expected exactly 5 fields, found 2: * *"]
        );
        let zoned = |tz: &str| {
            let mut c = cron("0 9 * * *");
            c["spec"]["timeZone"] = json!(tz);
            check("batch", "CronJob", c, None)
        };
        assert!(zoned("Europe/Berlin").is_empty());
        assert!(zoned("America/Argentina/Buenos_Aires").is_empty());
        assert!(zoned("Etc/GMT+5").is_empty());
        assert_eq!(
            zoned("Mars/Olympus"),
            vec!["spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"]
        );
        assert_eq!(
            zoned("../etc/passwd"),
            vec![
                "spec.timeZone: Invalid value: \"../etc/passwd\": unknown time zone ../etc/passwd"
            ]
        );
        assert_eq!(
            zoned("Local"),
            vec![
                "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
            ]
        );
        assert_eq!(
            zoned(""),
            vec!["spec.timeZone: Invalid value: \"\": timeZone must be nil or non-empty string"]
        );
    }

    #[test]
    fn config_maps_and_secrets() {
        let cm = json!({"metadata": {"name": "c", "namespace": "n"}, "data": {"ok.key": "v", "bad key": "v"}});
        assert_eq!(
            check("", "ConfigMap", cm, None),
            vec![
                "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            ]
        );
        let frozen = json!({"metadata": {"name": "c"}, "data": {"a": "1"}, "immutable": true});
        let mut thawed = frozen.clone();
        thawed["data"]["a"] = json!("2");
        assert_eq!(
            check("", "ConfigMap", thawed, Some(frozen)),
            vec!["data: Forbidden: field is immutable when `immutable` is set"]
        );

        let secret = json!({"metadata": {"name": "s"}, "data": {"a": "aGVsbG8="}});
        assert!(check("", "Secret", secret.clone(), None).is_empty());
        let bad = json!({"metadata": {"name": "s"}, "data": {"a": "not base64!"}});
        assert_eq!(
            check("", "Secret", bad, None),
            vec![
                "data[a]: Invalid value: \"<secret contents redacted>\": illegal base64 data at input byte 3"
            ]
        );
        let mut retyped = secret.clone();
        retyped["type"] = json!("kubernetes.io/tls");
        let errs = check("", "Secret", retyped, Some(secret));
        assert_eq!(
            errs,
            vec![
                "data[tls.crt]: Required value",
                "data[tls.key]: Required value",
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable"
            ]
        );
    }

    #[test]
    fn services() {
        let svc = |spec: Value| json!({"metadata": {"name": "s", "namespace": "n"}, "spec": spec});
        assert!(check("", "Service", svc(json!({"ports": [{"port": 80}]})), None).is_empty());
        assert_eq!(
            check("", "Service", svc(json!({})), None),
            vec!["spec.ports: Required value"]
        );
        assert!(check("", "Service", svc(json!({"clusterIP": "None"})), None).is_empty());
        assert!(
            check(
                "",
                "Service",
                svc(json!({"type": "ExternalName", "externalName": "a.b"})),
                None
            )
            .is_empty()
        );
        assert_eq!(
            check(
                "",
                "Service",
                svc(
                    json!({"type": "Magic", "ports": [{"port": 0, "protocol": "ICMP"}, {"port": 81}]})
                ),
                None
            ),
            vec![
                "spec.ports[0].name: Required value",
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1].name: Required value",
                "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            ]
        );
        let old = svc(
            json!({"ports": [{"port": 80}], "clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"]}),
        );
        assert!(
            check(
                "",
                "Service",
                svc(json!({"ports": [{"port": 80}]})),
                Some(old.clone())
            )
            .is_empty()
        );
        assert!(check("", "Service", old.clone(), Some(old.clone())).is_empty());
        assert_eq!(
            check(
                "",
                "Service",
                svc(json!({"ports": [{"port": 80}], "clusterIP": "10.0.0.6"})),
                Some(old)
            ),
            vec![
                "spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.6\"}: may not change once set"
            ]
        );
    }

    #[test]
    fn rbac() {
        let role = json!({"metadata": {"name": "r", "namespace": "n"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, {"apiGroups": [""], "resources": ["pods"]}]});
        assert_eq!(
            check("rbac.authorization.k8s.io", "Role", role, None),
            vec!["rules[1].verbs: Required value: verbs must contain at least one value"]
        );
        let cr = json!({"metadata": {"name": "system:x"}, "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]});
        assert!(check("rbac.authorization.k8s.io", "ClusterRole", cr, None).is_empty());
        let crb = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "User", "name": "u"}]});
        assert_eq!(
            check("rbac.authorization.k8s.io", "ClusterRoleBinding", crb, None),
            vec![
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
            ]
        );
        let rb = json!({"metadata": {"name": "b", "namespace": "n"}, "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa"}]});
        assert!(check("rbac.authorization.k8s.io", "RoleBinding", rb.clone(), None).is_empty());
        let mut changed = rb.clone();
        changed["roleRef"]["name"] = json!("other");
        assert_eq!(
            check(
                "rbac.authorization.k8s.io",
                "RoleBinding",
                changed,
                Some(rb)
            ),
            vec![
                "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"other\"}: cannot change roleRef"
            ]
        );
    }

    #[test]
    fn namespaces_events_leases() {
        assert!(
            check(
                "",
                "Namespace",
                json!({"metadata": {"name": "team-a"}}),
                None
            )
            .is_empty()
        );
        assert_eq!(
            check(
                "",
                "Namespace",
                json!({"metadata": {"name": "team.a"}}),
                None
            ),
            vec!["metadata.name: Invalid value: \"team.a\": must not contain dots"]
        );
        let ev = json!({"metadata": {"name": "e.1", "namespace": "a"},
            "involvedObject": {"kind": "Pod", "namespace": "b", "name": "p"}, "type": "Normal"});
        assert_eq!(
            check("", "Event", ev, None),
            vec!["involvedObject.namespace: Invalid value: \"b\": does not match event.namespace"]
        );
        let ev = json!({"metadata": {"name": "e.2", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": "n1"}, "type": "Normal"});
        assert!(check("", "Event", ev, None).is_empty());
        let new_style = json!({"metadata": {"name": "e.3", "namespace": "kube-system"},
            "involvedObject": {"kind": "Node", "name": "n1"}, "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingComponent": "kubelet", "reportingInstance": "n1", "action": "Start"});
        assert_eq!(
            check("", "Event", new_style, None),
            vec!["reason: Required value"]
        );
        let v1 = json!({"metadata": {"name": "e", "namespace": "n"}, "eventTime": "2024-01-01T00:00:00.000000Z",
            "type": "Normal", "reportingController": "example.com/ctl", "reportingInstance": "i",
            "action": "Act", "reason": "Why"});
        assert!(check("events.k8s.io", "Event", v1, None).is_empty());
        let lease = json!({"metadata": {"name": "l", "namespace": "n"}, "spec": {"leaseDurationSeconds": 0}});
        assert_eq!(
            check("coordination.k8s.io", "Lease", lease, None),
            vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
        );
    }
}
