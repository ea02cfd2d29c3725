//! The Pod Security Standards checks, one function per upstream `check_*.go` version, over a
//! pod's metadata and spec as JSON.
//!
//! Each check returns `None` when it allows the pod and a [`Forbidden`] with upstream's reason
//! and detail otherwise. JSON `null` counts as unset, as a nil pointer does in Go.

use std::collections::BTreeSet;

use serde_json::Value;

/// A failed check: the short reason (`privileged`) and the detail naming what broke it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forbidden {
    /// The succinct reason, always shown (`host namespaces`).
    pub reason: String,
    /// The detail, shown in parentheses after the reason when not empty.
    pub detail: String,
}

/// The result of one check: `None` allows the pod.
pub type CheckResult = Option<Forbidden>;

/// The signature of every versioned check.
pub type CheckFn = fn(&Value, &Value) -> CheckResult;

fn forbid(reason: impl Into<String>, detail: impl Into<String>) -> CheckResult {
    Some(Forbidden {
        reason: reason.into(),
        detail: detail.into(),
    })
}

// --- helpers (helpers.go, visitor.go) -------------------------------------------------------

/// A field that is present and not `null`.
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

fn field_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    field(v, key).and_then(Value::as_str)
}

fn field_bool(v: &Value, key: &str) -> Option<bool> {
    field(v, key).and_then(Value::as_bool)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    field(v, key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `"a", "b"`: each item in double quotes, comma-separated.
pub(crate) fn join_quote<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items
        .into_iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 { singular } else { plural }
}

/// Go's `%q` for the strings met here: escapes quotes, backslashes and control characters.
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
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Init containers, then containers, then ephemeral containers (`visitContainers`).
fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    array(spec, "initContainers")
        .iter()
        .chain(array(spec, "containers"))
        .chain(array(spec, "ephemeralContainers"))
}

fn name(container: &Value) -> String {
    field_str(container, "name").unwrap_or("").to_string()
}

fn security_context(v: &Value) -> Option<&Value> {
    field(v, "securityContext")
}

/// A `securityContext` field of the pod or a container.
fn sc_field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    security_context(v).and_then(|sc| field(sc, key))
}

fn annotations(meta: &Value) -> impl Iterator<Item = (&String, &str)> {
    field(meta, "annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
}

fn annotation<'a>(meta: &'a Value, key: &str) -> Option<&'a str> {
    field(meta, "annotations")
        .and_then(|a| field(a, key))
        .and_then(Value::as_str)
}

fn is_windows(spec: &Value) -> bool {
    field(spec, "os").and_then(|os| field_str(os, "name")) == Some("windows")
}

/// `relaxPolicyForUserNamespacePod`: a pod with `hostUsers: false` runs in a user namespace.
fn in_user_namespace(spec: &Value) -> bool {
    field_bool(spec, "hostUsers") == Some(false)
}

/// `pod and containers "a", "b"`: the pod (if it set the value) and the containers that did.
fn setters(pod: bool, containers: &[String]) -> String {
    let mut parts = Vec::new();
    if pod {
        parts.push("pod".to_string());
    }
    if !containers.is_empty() {
        parts.push(format!(
            "{} {}",
            pluralize("container", "containers", containers.len()),
            join_quote(containers)
        ));
    }
    parts.join(" and ")
}

// --- baseline ---------------------------------------------------------------------------------

/// `appArmorProfile` 1.0: no `Unconfined` (or other unknown) AppArmor profile type, and no
/// AppArmor annotation other than `runtime/default` or `localhost/*`.
pub fn app_armor_profile_1_0(meta: &Value, spec: &Value) -> CheckResult {
    let allowed_type = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let profile_type = |v: &Value| {
        sc_field(v, "appArmorProfile").map(|p| field_str(p, "type").unwrap_or("").to_string())
    };
    let mut bad_values = BTreeSet::new();
    let mut pod_bad = false;
    if let Some(t) = profile_type(spec).filter(|t| !allowed_type(t)) {
        pod_bad = true;
        bad_values.insert(t);
    }
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(t) = profile_type(c).filter(|t| !allowed_type(t)) {
            bad_containers.push(name(c));
            bad_values.insert(t);
        }
    }
    let mut setters_list = Vec::new();
    let s = setters(pod_bad, &bad_containers);
    if !s.is_empty() {
        setters_list.push(s);
    }
    let mut forbidden_annotations: Vec<String> = annotations(meta)
        .filter(|(k, v)| {
            k.starts_with("container.apparmor.security.beta.kubernetes.io/")
                && !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/"))
        })
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    let mut values: Vec<String> = bad_values.into_iter().collect();
    if !forbidden_annotations.is_empty() {
        forbidden_annotations.sort();
        setters_list
            .push(pluralize("annotation", "annotations", forbidden_annotations.len()).to_string());
        values.extend(forbidden_annotations);
    }
    if setters_list.is_empty() {
        return None;
    }
    forbid(
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            setters_list.join(" and "),
            join_quote(&values)
        ),
    )
}

const CAPABILITIES_ALLOWED_1_0: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn added_capabilities(c: &Value) -> Option<Vec<String>> {
    let caps = sc_field(c, "capabilities")?;
    Some(
        array(caps, "add")
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect(),
    )
}

/// `capabilities_baseline` 1.0: only the default capabilities may be added.
pub fn capabilities_baseline_1_0(_: &Value, spec: &Value) -> CheckResult {
    let mut bad_containers = Vec::new();
    let mut non_default = BTreeSet::new();
    for c in containers(spec) {
        let Some(added) = added_capabilities(c) else {
            continue;
        };
        let mut valid = true;
        for cap in added {
            if !CAPABILITIES_ALLOWED_1_0.contains(&cap.as_str()) {
                valid = false;
                non_default.insert(cap);
            }
        }
        if !valid {
            bad_containers.push(name(c));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    forbid(
        "non-default capabilities",
        format!(
            "{} {} must not include {} in securityContext.capabilities.add",
            pluralize("container", "containers", bad_containers.len()),
            join_quote(&bad_containers),
            join_quote(&non_default)
        ),
    )
}

/// `hostNamespaces` 1.0: no host network, PID or IPC namespace.
pub fn host_namespaces_1_0(_: &Value, spec: &Value) -> CheckResult {
    let mut host = Vec::new();
    for (key, shown) in [
        ("hostNetwork", "hostNetwork=true"),
        ("hostPID", "hostPID=true"),
        ("hostIPC", "hostIPC=true"),
    ] {
        if field_bool(spec, key) == Some(true) {
            host.push(shown);
        }
    }
    if host.is_empty() {
        return None;
    }
    forbid("host namespaces", host.join(", "))
}

/// `hostPathVolumes` 1.0: no hostPath volume.
pub fn host_path_volumes_1_0(_: &Value, spec: &Value) -> CheckResult {
    let bad: Vec<String> = array(spec, "volumes")
        .iter()
        .filter(|v| field(v, "hostPath").is_some())
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    forbid(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad)
        ),
    )
}

/// `hostPorts` 1.0: no container port with a hostPort.
pub fn host_ports_1_0(_: &Value, spec: &Value) -> CheckResult {
    let mut bad_containers = Vec::new();
    // `sets.String.List()`: sorted as strings, not as numbers.
    let mut ports = BTreeSet::new();
    for c in containers(spec) {
        let mut valid = true;
        for p in array(c, "ports") {
            let host_port = field(p, "hostPort").and_then(Value::as_i64).unwrap_or(0);
            if host_port != 0 {
                valid = false;
                ports.insert(host_port.to_string());
            }
        }
        if !valid {
            bad_containers.push(name(c));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    forbid(
        "hostPort",
        format!(
            "{} {} {} {} {}",
            pluralize("container", "containers", bad_containers.len()),
            join_quote(&bad_containers),
            pluralize("uses", "use", bad_containers.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
}

/// The hosts an httpGet or tcpSocket handler (probe or lifecycle) names.
fn handler_hosts(handler: Option<&Value>) -> Vec<String> {
    let Some(handler) = handler else {
        return Vec::new();
    };
    ["httpGet", "tcpSocket"]
        .iter()
        .filter_map(|k| field(handler, k))
        .filter_map(|h| field_str(h, "host"))
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect()
}

/// `hostProbesAndHostLifecycle` 1.34: probes and lifecycle handlers must not name a host.
pub fn host_probes_and_host_lifecycle_1_34(_: &Value, spec: &Value) -> CheckResult {
    let mut bad_containers = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for c in containers(spec) {
        let mut found = Vec::new();
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            found.extend(handler_hosts(field(c, probe)));
        }
        if let Some(lifecycle) = field(c, "lifecycle") {
            found.extend(handler_hosts(field(lifecycle, "postStart")));
            found.extend(handler_hosts(field(lifecycle, "preStop")));
        }
        if !found.is_empty() {
            bad_containers.insert(name(c));
            hosts.extend(found);
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    forbid(
        "probe or lifecycle host",
        format!(
            "{} {} {} {} {}",
            pluralize("container", "containers", bad_containers.len()),
            join_quote(&bad_containers),
            pluralize("uses", "use", bad_containers.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
    )
}

/// `privileged` 1.0: no privileged container.
pub fn privileged_1_0(_: &Value, spec: &Value) -> CheckResult {
    let bad: Vec<String> = containers(spec)
        .filter(|c| sc_field(c, "privileged").and_then(Value::as_bool) == Some(true))
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    forbid(
        "privileged",
        format!(
            "{} {} must not set securityContext.privileged=true",
            pluralize("container", "containers", bad.len()),
            join_quote(&bad)
        ),
    )
}

/// `procMount` 1.0 (and `procMount_restricted` 1.35): only the `Default` /proc mount.
pub fn proc_mount_1_0(_: &Value, spec: &Value) -> CheckResult {
    let mut bad_containers = Vec::new();
    let mut types = BTreeSet::new();
    for c in containers(spec) {
        let Some(pm) = sc_field(c, "procMount") else {
            continue;
        };
        let pm = pm.as_str().unwrap_or("");
        if pm != "Default" {
            bad_containers.push(name(c));
            types.insert(pm.to_string());
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    forbid(
        "procMount",
        format!(
            "{} {} must not set securityContext.procMount to {}",
            pluralize("container", "containers", bad_containers.len()),
            join_quote(&bad_containers),
            join_quote(&types)
        ),
    )
}

/// `procMount` 1.35 at baseline: pods in a user namespace may unmask /proc.
pub fn proc_mount_1_35_baseline(meta: &Value, spec: &Value) -> CheckResult {
    if in_user_namespace(spec) {
        return None;
    }
    proc_mount_1_0(meta, spec)
}

const SELINUX_TYPES_1_0: [&str; 4] = ["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: [&str; 5] = [
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn se_linux_options(spec: &Value, allowed: &[&str]) -> CheckResult {
    let mut bad_types = BTreeSet::new();
    let mut set_user = false;
    let mut set_role = false;
    let mut invalid = |v: &Value| {
        let Some(opts) = sc_field(v, "seLinuxOptions") else {
            return false;
        };
        let mut bad = false;
        let t = field_str(opts, "type").unwrap_or("");
        if !allowed.contains(&t) {
            bad = true;
            bad_types.insert(t.to_string());
        }
        if field_str(opts, "user").is_some_and(|u| !u.is_empty()) {
            bad = true;
            set_user = true;
        }
        if field_str(opts, "role").is_some_and(|r| !r.is_empty()) {
            bad = true;
            set_role = true;
        }
        bad
    };
    let pod_bad = invalid(spec);
    let bad_containers: Vec<String> = containers(spec).filter(|c| invalid(c)).map(name).collect();
    if !pod_bad && bad_containers.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !bad_types.is_empty() {
        data.push(format!(
            "{} {}",
            pluralize("type", "types", bad_types.len()),
            join_quote(&bad_types)
        ));
    }
    if set_user {
        data.push("user may not be set".to_string());
    }
    if set_role {
        data.push("role may not be set".to_string());
    }
    forbid(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters(pod_bad, &bad_containers),
            data.join("; ")
        ),
    )
}

/// `seLinuxOptions` 1.0: only the container SELinux types, no user or role.
pub fn se_linux_options_1_0(_: &Value, spec: &Value) -> CheckResult {
    se_linux_options(spec, &SELINUX_TYPES_1_0)
}

/// `seLinuxOptions` 1.31: also `container_engine_t`.
pub fn se_linux_options_1_31(_: &Value, spec: &Value) -> CheckResult {
    se_linux_options(spec, &SELINUX_TYPES_1_31)
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// `seccompProfile_baseline` 1.0: the alpha seccomp annotations may only name the runtime
/// default or a localhost profile.
pub fn seccomp_profile_baseline_1_0(meta: &Value, spec: &Value) -> CheckResult {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let mut forbidden = BTreeSet::new();
    if let Some(v) = annotation(meta, SECCOMP_POD_ANNOTATION).filter(|v| !valid(v)) {
        forbidden.insert(format!("{SECCOMP_POD_ANNOTATION}={}", go_quote(v)));
    }
    for c in containers(spec) {
        let key = format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", name(c));
        if let Some(v) = annotation(meta, &key).filter(|v| !valid(v)) {
            forbidden.insert(format!("{key}={}", go_quote(v)));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    forbid(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", forbidden.len()),
            forbidden.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
}

fn valid_seccomp_type(t: &str) -> bool {
    t == "RuntimeDefault" || t == "Localhost"
}

fn seccomp_type(v: &Value) -> Option<String> {
    sc_field(v, "seccompProfile").map(|p| field_str(p, "type").unwrap_or("").to_string())
}

/// `seccompProfile_baseline` 1.19: `securityContext.seccompProfile.type` must not be
/// `Unconfined` where set.
pub fn seccomp_profile_baseline_1_19(_: &Value, spec: &Value) -> CheckResult {
    let mut bad_values = BTreeSet::new();
    let mut pod_bad = false;
    if let Some(t) = seccomp_type(spec).filter(|t| !valid_seccomp_type(t)) {
        pod_bad = true;
        bad_values.insert(t);
    }
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(t) = seccomp_type(c).filter(|t| !valid_seccomp_type(t)) {
            bad_containers.push(name(c));
            bad_values.insert(t);
        }
    }
    if !pod_bad && bad_containers.is_empty() {
        return None;
    }
    forbid(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters(pod_bad, &bad_containers),
            join_quote(&bad_values)
        ),
    )
}

const SYSCTLS_1_0: [&str; 5] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_ADDED_1_27: [&str; 1] = ["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_ADDED_1_29: [&str; 4] = [
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_ADDED_1_32: [&str; 2] = ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

fn sysctls(spec: &Value, allowed: &[&[&str]]) -> CheckResult {
    let forbidden: Vec<String> = security_context(spec)
        .map(|sc| array(sc, "sysctls"))
        .unwrap_or(&[])
        .iter()
        .map(|s| field_str(s, "name").unwrap_or("").to_string())
        .filter(|n| !allowed.iter().any(|set| set.contains(&n.as_str())))
        .collect();
    if forbidden.is_empty() {
        return None;
    }
    forbid("forbidden sysctls", forbidden.join(", "))
}

/// `sysctls` 1.0: only the safe sysctls.
pub fn sysctls_1_0(_: &Value, spec: &Value) -> CheckResult {
    sysctls(spec, &[&SYSCTLS_1_0])
}

/// `sysctls` 1.27: also `net.ipv4.ip_local_reserved_ports`.
pub fn sysctls_1_27(_: &Value, spec: &Value) -> CheckResult {
    sysctls(spec, &[&SYSCTLS_1_0, &SYSCTLS_ADDED_1_27])
}

/// `sysctls` 1.29: also the TCP keepalive and fin timeout sysctls.
pub fn sysctls_1_29(_: &Value, spec: &Value) -> CheckResult {
    sysctls(
        spec,
        &[&SYSCTLS_1_0, &SYSCTLS_ADDED_1_27, &SYSCTLS_ADDED_1_29],
    )
}

/// `sysctls` 1.32: also `net.ipv4.tcp_rmem` and `net.ipv4.tcp_wmem`.
pub fn sysctls_1_32(_: &Value, spec: &Value) -> CheckResult {
    sysctls(
        spec,
        &[
            &SYSCTLS_1_0,
            &SYSCTLS_ADDED_1_27,
            &SYSCTLS_ADDED_1_29,
            &SYSCTLS_ADDED_1_32,
        ],
    )
}

/// `windowsHostProcess` 1.0: no Windows HostProcess pod or container.
pub fn windows_host_process_1_0(_: &Value, spec: &Value) -> CheckResult {
    let host_process = |v: &Value| {
        sc_field(v, "windowsOptions").and_then(|w| field_bool(w, "hostProcess")) == Some(true)
    };
    let pod_bad = host_process(spec);
    let bad: Vec<String> = containers(spec)
        .filter(|c| host_process(c))
        .map(name)
        .collect();
    if !pod_bad && bad.is_empty() {
        return None;
    }
    forbid(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters(pod_bad, &bad)
        ),
    )
}

// --- restricted -------------------------------------------------------------------------------

/// `allowPrivilegeEscalation` 1.8: every container sets `allowPrivilegeEscalation: false`.
pub fn allow_privilege_escalation_1_8(_: &Value, spec: &Value) -> CheckResult {
    let bad: Vec<String> = containers(spec)
        .filter(|c| sc_field(c, "allowPrivilegeEscalation").and_then(Value::as_bool) != Some(false))
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    forbid(
        "allowPrivilegeEscalation != false",
        format!(
            "{} {} must set securityContext.allowPrivilegeEscalation=false",
            pluralize("container", "containers", bad.len()),
            join_quote(&bad)
        ),
    )
}

/// `allowPrivilegeEscalation` 1.25: Windows pods are exempt.
pub fn allow_privilege_escalation_1_25(meta: &Value, spec: &Value) -> CheckResult {
    if is_windows(spec) {
        return None;
    }
    allow_privilege_escalation_1_8(meta, spec)
}

/// `capabilities_restricted` 1.22: drop ALL, add at most NET_BIND_SERVICE.
pub fn capabilities_restricted_1_22(_: &Value, spec: &Value) -> CheckResult {
    let mut missing_drop_all = Vec::new();
    let mut adding_forbidden = Vec::new();
    let mut forbidden_caps = BTreeSet::new();
    for c in containers(spec) {
        let Some(caps) = sc_field(c, "capabilities") else {
            missing_drop_all.push(name(c));
            continue;
        };
        if !array(caps, "drop")
            .iter()
            .any(|d| d.as_str() == Some("ALL"))
        {
            missing_drop_all.push(name(c));
        }
        let mut added_forbidden = false;
        for cap in array(caps, "add") {
            let cap = cap.as_str().unwrap_or("");
            if cap != "NET_BIND_SERVICE" {
                added_forbidden = true;
                forbidden_caps.insert(cap.to_string());
            }
        }
        if added_forbidden {
            adding_forbidden.push(name(c));
        }
    }
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!(
            "{} {} must set securityContext.capabilities.drop=[\"ALL\"]",
            pluralize("container", "containers", missing_drop_all.len()),
            join_quote(&missing_drop_all)
        ));
    }
    if !adding_forbidden.is_empty() {
        details.push(format!(
            "{} {} must not include {} in securityContext.capabilities.add",
            pluralize("container", "containers", adding_forbidden.len()),
            join_quote(&adding_forbidden),
            join_quote(&forbidden_caps)
        ));
    }
    if details.is_empty() {
        return None;
    }
    forbid("unrestricted capabilities", details.join("; "))
}

/// `capabilities_restricted` 1.25: Windows pods are exempt.
pub fn capabilities_restricted_1_25(meta: &Value, spec: &Value) -> CheckResult {
    if is_windows(spec) {
        return None;
    }
    capabilities_restricted_1_22(meta, spec)
}

/// The volume sources the restricted level allows.
const ALLOWED_VOLUME_SOURCES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The restricted volume sources in the order upstream names them.
const RESTRICTED_VOLUME_SOURCES: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// `restrictedVolumes` 1.0: only the allowed volume types.
pub fn restricted_volumes_1_0(_: &Value, spec: &Value) -> CheckResult {
    let mut bad_volumes = Vec::new();
    let mut bad_types = BTreeSet::new();
    for v in array(spec, "volumes") {
        if ALLOWED_VOLUME_SOURCES.iter().any(|s| field(v, s).is_some()) {
            continue;
        }
        bad_volumes.push(name(v));
        let t = RESTRICTED_VOLUME_SOURCES
            .iter()
            .find(|s| field(v, s).is_some())
            .copied()
            .unwrap_or("unknown");
        bad_types.insert(t.to_string());
    }
    if bad_volumes.is_empty() {
        return None;
    }
    forbid(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad_volumes.len()),
            join_quote(&bad_volumes),
            pluralize("uses", "use", bad_volumes.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                bad_types.len()
            ),
            join_quote(&bad_types)
        ),
    )
}

/// `runAsNonRoot` 1.0: the pod or every container sets `runAsNonRoot: true`, none false.
pub fn run_as_non_root_1_0(_: &Value, spec: &Value) -> CheckResult {
    let pod_value = sc_field(spec, "runAsNonRoot").and_then(Value::as_bool);
    let pod_bad = pod_value == Some(false);
    let pod_non_root = pod_value == Some(true);
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in containers(spec) {
        match sc_field(c, "runAsNonRoot").and_then(Value::as_bool) {
            Some(false) => explicitly_bad.push(name(c)),
            Some(true) => {}
            None if !pod_non_root => implicitly_bad.push(name(c)),
            None => {}
        }
    }
    if pod_bad || !explicitly_bad.is_empty() {
        return forbid(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters(pod_bad, &explicitly_bad)
            ),
        );
    }
    if !implicitly_bad.is_empty() {
        return forbid(
            "runAsNonRoot != true",
            format!(
                "pod or {} {} must set securityContext.runAsNonRoot=true",
                pluralize("container", "containers", implicitly_bad.len()),
                join_quote(&implicitly_bad)
            ),
        );
    }
    None
}

/// `runAsNonRoot` 1.35: pods in a user namespace are exempt.
pub fn run_as_non_root_1_35(meta: &Value, spec: &Value) -> CheckResult {
    if in_user_namespace(spec) {
        return None;
    }
    run_as_non_root_1_0(meta, spec)
}

/// `runAsUser` 1.23: neither the pod nor a container sets `runAsUser: 0`.
pub fn run_as_user_1_23(_: &Value, spec: &Value) -> CheckResult {
    let is_root = |v: &Value| sc_field(v, "runAsUser").and_then(Value::as_i64) == Some(0);
    let pod_bad = is_root(spec);
    let bad: Vec<String> = containers(spec).filter(|c| is_root(c)).map(name).collect();
    if !pod_bad && bad.is_empty() {
        return None;
    }
    forbid(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters(pod_bad, &bad)),
    )
}

/// `runAsUser` 1.35: pods in a user namespace are exempt.
pub fn run_as_user_1_35(meta: &Value, spec: &Value) -> CheckResult {
    if in_user_namespace(spec) {
        return None;
    }
    run_as_user_1_23(meta, spec)
}

/// `seccompProfile_restricted` 1.19: the pod or every container sets a `RuntimeDefault` or
/// `Localhost` seccomp profile.
pub fn seccomp_profile_restricted_1_19(_: &Value, spec: &Value) -> CheckResult {
    let mut bad_values = BTreeSet::new();
    let mut pod_bad = false;
    let mut pod_set = false;
    if let Some(t) = seccomp_type(spec) {
        if valid_seccomp_type(&t) {
            pod_set = true;
        } else {
            pod_bad = true;
            bad_values.insert(t);
        }
    }
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in containers(spec) {
        match seccomp_type(c) {
            Some(t) if !valid_seccomp_type(&t) => {
                explicitly_bad.push(name(c));
                bad_values.insert(t);
            }
            Some(_) => {}
            None if !pod_set => implicitly_bad.push(name(c)),
            None => {}
        }
    }
    if pod_bad || !explicitly_bad.is_empty() {
        return forbid(
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters(pod_bad, &explicitly_bad),
                join_quote(&bad_values)
            ),
        );
    }
    if !implicitly_bad.is_empty() {
        return forbid(
            "seccompProfile",
            format!(
                "pod or {} {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                pluralize("container", "containers", implicitly_bad.len()),
                join_quote(&implicitly_bad)
            ),
        );
    }
    None
}

/// `seccompProfile_restricted` 1.25: Windows pods are exempt.
pub fn seccomp_profile_restricted_1_25(meta: &Value, spec: &Value) -> CheckResult {
    if is_windows(spec) {
        return None;
    }
    seccomp_profile_restricted_1_19(meta, spec)
}
