//! Pod Security Standards, as `k8s.io/pod-security-admission` evaluates them: the namespace
//! labels that choose a level and version, the versioned baseline and restricted checks, and
//! the messages PodSecurity admission refuses and warns with.
//!
//! Pure functions over JSON; the tenant API server's PodSecurity admission plugin reads the
//! namespace and applies the result (refusal, warnings).
//!
//! Versions: every check keeps its upstream revisions, so `v1.X` labels evaluate the policy of
//! that version; versions newer than the newest revision (v1.35) evaluate as `latest`.

use serde_json::{Map, Value};

use crate::error::FieldError;

pub mod checks;

use checks::{CheckFn, Forbidden};

/// `pod-security.kubernetes.io/enforce`.
pub const ENFORCE_LEVEL_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// `pod-security.kubernetes.io/enforce-version`.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
/// `pod-security.kubernetes.io/audit`.
pub const AUDIT_LEVEL_LABEL: &str = "pod-security.kubernetes.io/audit";
/// `pod-security.kubernetes.io/audit-version`.
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
/// `pod-security.kubernetes.io/warn`.
pub const WARN_LEVEL_LABEL: &str = "pod-security.kubernetes.io/warn";
/// `pod-security.kubernetes.io/warn-version`.
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

/// A Pod Security Standard level, least strict first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No restriction.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Current pod hardening best practices.
    Restricted,
}

impl Level {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    /// `ParseLevel`: an unknown level is an error (and evaluates as restricted).
    pub fn parse(value: &str) -> Result<Level, String> {
        match value {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err("must be one of privileged, baseline, restricted".to_string()),
        }
    }
}

/// A policy version: `latest` or `v1.X`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// The newest policy, whatever the server's version.
    Latest,
    /// `v1.<minor>`.
    Minor(u32),
}

impl Version {
    /// `ParseVersion`: `latest` or `v1.X` (no leading zeros); anything else is an error (and
    /// evaluates as latest).
    pub fn parse(value: &str) -> Result<Version, String> {
        if value == "latest" {
            return Ok(Version::Latest);
        }
        let err = || "must be \"latest\" or \"v1.x\"".to_string();
        let minor = value.strip_prefix("v1.").ok_or_else(err)?;
        let valid = !minor.is_empty()
            && minor.bytes().all(|b| b.is_ascii_digit())
            && (minor == "0" || !minor.starts_with('0'));
        if !valid {
            return Err(err());
        }
        minor.parse().map(Version::Minor).map_err(|_| err())
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

/// A level at a version, shown as `restricted:latest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    /// The level.
    pub level: Level,
    /// The version.
    pub version: Version,
}

impl std::fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

/// The three modes of a namespace's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Violations are refused (pods only).
    pub enforce: LevelVersion,
    /// Violations are recorded in the audit log.
    pub audit: LevelVersion,
    /// Violations are returned as warnings.
    pub warn: LevelVersion,
}

impl Default for Policy {
    /// kube-apiserver's default configuration: privileged:latest for every mode.
    fn default() -> Self {
        let privileged = LevelVersion {
            level: Level::Privileged,
            version: Version::Latest,
        };
        Policy {
            enforce: privileged,
            audit: privileged,
            warn: privileged,
        }
    }
}

impl Policy {
    /// `PolicyToEvaluate`: the policy a namespace's labels choose, over the defaults. A policy
    /// is always returned; invalid labels also give field errors (`metadata.labels[...]`).
    /// An invalid enforce level evaluates as restricted; invalid warn and audit levels as
    /// privileged; invalid versions as latest. Without a warn label, warn follows a valid
    /// enforce level that is stricter (and its version, without a warn-version label).
    pub fn from_labels(labels: Option<&Map<String, Value>>) -> (Policy, Vec<FieldError>) {
        let mut policy = Policy::default();
        let mut errors = Vec::new();
        let Some(labels) = labels else {
            return (policy, errors);
        };
        let label = |key: &str| labels.get(key).map(|v| v.as_str().unwrap_or(""));
        let level = |key: &str, fallback: Level, errors: &mut Vec<FieldError>| {
            let value = label(key)?;
            Some(Level::parse(value).map_err(|detail| {
                errors.push(invalid_label(key, value, detail));
                fallback
            }))
        };
        let enforce_level = level(ENFORCE_LEVEL_LABEL, Level::Restricted, &mut errors);
        if let Some(parsed) = enforce_level {
            policy.enforce.level = parsed.unwrap_or_else(|fallback| fallback);
        }
        if let Some(version) = parse_version_label(labels, ENFORCE_VERSION_LABEL, &mut errors) {
            policy.enforce.version = version;
        }
        if let Some(parsed) = level(AUDIT_LEVEL_LABEL, Level::Privileged, &mut errors) {
            policy.audit.level = parsed.unwrap_or_else(|fallback| fallback);
        }
        if let Some(version) = parse_version_label(labels, AUDIT_VERSION_LABEL, &mut errors) {
            policy.audit.version = version;
        }
        let warn_level = level(WARN_LEVEL_LABEL, Level::Privileged, &mut errors);
        if let Some(parsed) = warn_level {
            policy.warn.level = parsed.unwrap_or_else(|fallback| fallback);
        }
        let warn_version = parse_version_label(labels, WARN_VERSION_LABEL, &mut errors);
        if let Some(version) = warn_version {
            policy.warn.version = version;
        }
        let enforce_valid = matches!(enforce_level, Some(Ok(_)));
        if warn_level.is_none() && enforce_valid && policy.enforce.level > policy.warn.level {
            policy.warn.level = policy.enforce.level;
            if warn_version.is_none() {
                policy.warn.version = policy.enforce.version;
            }
        }
        (policy, errors)
    }

    /// Whether every mode is privileged (nothing to evaluate).
    pub fn is_privileged(&self) -> bool {
        [self.enforce, self.audit, self.warn]
            .iter()
            .all(|lv| lv.level == Level::Privileged)
    }
}

fn invalid_label(key: &str, value: &str, detail: String) -> FieldError {
    FieldError::invalid(format!("metadata.labels[{key}]"), value, detail)
}

/// A version label's value, if set; an invalid one is recorded and evaluates as latest.
fn parse_version_label(
    labels: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Version> {
    let value = labels.get(key).map(|v| v.as_str().unwrap_or(""))?;
    Some(Version::parse(value).unwrap_or_else(|detail| {
        errors.push(invalid_label(key, value, detail));
        Version::Latest
    }))
}

// --- the check registry (registry.go) -------------------------------------------------------

/// One revision of a check, from `min_minor` (policy v1.`min_minor`) on.
struct Revision {
    min_minor: u32,
    check: CheckFn,
    /// Baseline checks this restricted revision replaces at the restricted level.
    overrides: &'static [&'static str],
}

/// A check and its revisions, oldest first.
struct Check {
    id: &'static str,
    level: Level,
    revisions: &'static [Revision],
}

const fn rev(min_minor: u32, check: CheckFn) -> Revision {
    Revision {
        min_minor,
        check,
        overrides: &[],
    }
}

const fn rev_over(min_minor: u32, check: CheckFn, overrides: &'static [&'static str]) -> Revision {
    Revision {
        min_minor,
        check,
        overrides,
    }
}

/// Every check, sorted by ID (upstream reports baseline checks by ID, then restricted by ID).
static CHECKS: &[Check] = &[
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        revisions: &[
            rev(8, checks::allow_privilege_escalation_1_8),
            rev(25, checks::allow_privilege_escalation_1_25),
        ],
    },
    Check {
        id: "appArmorProfile",
        level: Level::Baseline,
        revisions: &[rev(0, checks::app_armor_profile_1_0)],
    },
    Check {
        id: "capabilities_baseline",
        level: Level::Baseline,
        revisions: &[rev(0, checks::capabilities_baseline_1_0)],
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        revisions: &[
            rev_over(
                22,
                checks::capabilities_restricted_1_22,
                &["capabilities_baseline"],
            ),
            rev_over(
                25,
                checks::capabilities_restricted_1_25,
                &["capabilities_baseline"],
            ),
        ],
    },
    Check {
        id: "hostNamespaces",
        level: Level::Baseline,
        revisions: &[rev(0, checks::host_namespaces_1_0)],
    },
    Check {
        id: "hostPathVolumes",
        level: Level::Baseline,
        revisions: &[rev(0, checks::host_path_volumes_1_0)],
    },
    Check {
        id: "hostPorts",
        level: Level::Baseline,
        revisions: &[rev(0, checks::host_ports_1_0)],
    },
    Check {
        id: "hostProbesAndHostLifecycle",
        level: Level::Baseline,
        revisions: &[rev(34, checks::host_probes_and_host_lifecycle_1_34)],
    },
    Check {
        id: "privileged",
        level: Level::Baseline,
        revisions: &[rev(0, checks::privileged_1_0)],
    },
    Check {
        id: "procMount",
        level: Level::Baseline,
        revisions: &[
            rev(0, checks::proc_mount_1_0),
            rev(35, checks::proc_mount_1_35_baseline),
        ],
    },
    Check {
        id: "procMount_restricted",
        level: Level::Restricted,
        revisions: &[rev_over(35, checks::proc_mount_1_0, &["procMount"])],
    },
    Check {
        id: "restrictedVolumes",
        level: Level::Restricted,
        revisions: &[rev_over(
            0,
            checks::restricted_volumes_1_0,
            &["hostPathVolumes"],
        )],
    },
    Check {
        id: "runAsNonRoot",
        level: Level::Restricted,
        revisions: &[
            rev(0, checks::run_as_non_root_1_0),
            rev(35, checks::run_as_non_root_1_35),
        ],
    },
    Check {
        id: "runAsUser",
        level: Level::Restricted,
        revisions: &[
            rev(23, checks::run_as_user_1_23),
            rev(35, checks::run_as_user_1_35),
        ],
    },
    Check {
        id: "seLinuxOptions",
        level: Level::Baseline,
        revisions: &[
            rev(0, checks::se_linux_options_1_0),
            rev(31, checks::se_linux_options_1_31),
        ],
    },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        revisions: &[
            rev(0, checks::seccomp_profile_baseline_1_0),
            rev(19, checks::seccomp_profile_baseline_1_19),
        ],
    },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        revisions: &[
            rev_over(
                19,
                checks::seccomp_profile_restricted_1_19,
                &["seccompProfile_baseline"],
            ),
            rev_over(
                25,
                checks::seccomp_profile_restricted_1_25,
                &["seccompProfile_baseline"],
            ),
        ],
    },
    Check {
        id: "sysctls",
        level: Level::Baseline,
        revisions: &[
            rev(0, checks::sysctls_1_0),
            rev(27, checks::sysctls_1_27),
            rev(29, checks::sysctls_1_29),
            rev(32, checks::sysctls_1_32),
        ],
    },
    Check {
        id: "windowsHostProcess",
        level: Level::Baseline,
        revisions: &[rev(0, checks::windows_host_process_1_0)],
    },
];

/// The revision of `check` in force at policy v1.`minor`, if the check exists then.
fn revision_at(check: &Check, minor: u32) -> Option<&Revision> {
    check.revisions.iter().rev().find(|r| r.min_minor <= minor)
}

/// The checks evaluated at a level and version, in the order upstream reports them: the
/// baseline checks (minus those a restricted check overrides, at restricted), then the
/// restricted checks, each group by ID.
fn checks_for(lv: LevelVersion) -> Vec<CheckFn> {
    if lv.level == Level::Privileged {
        return Vec::new();
    }
    let newest = CHECKS
        .iter()
        .flat_map(|c| c.revisions.iter().map(|r| r.min_minor))
        .max()
        .unwrap_or(0);
    let minor = match lv.version {
        Version::Latest => newest,
        Version::Minor(m) => m.min(newest),
    };
    let restricted: Vec<&Revision> = if lv.level == Level::Restricted {
        CHECKS
            .iter()
            .filter(|c| c.level == Level::Restricted)
            .filter_map(|c| revision_at(c, minor))
            .collect()
    } else {
        Vec::new()
    };
    let overridden = |id: &str| restricted.iter().any(|r| r.overrides.contains(&id));
    let mut fns: Vec<CheckFn> = CHECKS
        .iter()
        .filter(|c| c.level == Level::Baseline && !overridden(c.id))
        .filter_map(|c| revision_at(c, minor))
        .map(|r| r.check)
        .collect();
    fns.extend(restricted.iter().map(|r| r.check));
    fns
}

/// The failed checks of one evaluation, in report order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<Forbidden>);

impl Violations {
    /// Whether the pod passed every check.
    pub fn allowed(&self) -> bool {
        self.0.is_empty()
    }

    /// `ForbiddenReason`: the reasons, comma-separated (`host namespaces, privileged`).
    pub fn reasons(&self) -> String {
        self.0
            .iter()
            .map(|f| f.reason.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `ForbiddenDetail`: `reason (detail), reason (detail)`.
    pub fn details(&self) -> String {
        self.0
            .iter()
            .map(|f| {
                if f.detail.is_empty() {
                    f.reason.clone()
                } else {
                    format!("{} ({})", f.reason, f.detail)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Evaluates a pod's (or pod template's) metadata and spec against a level and version.
pub fn evaluate_pod(lv: LevelVersion, metadata: &Value, spec: &Value) -> Violations {
    Violations(
        checks_for(lv)
            .into_iter()
            .filter_map(|check| check(metadata, spec))
            .collect(),
    )
}

/// The message of a refused pod: `violates PodSecurity "restricted:latest": ...`.
pub fn violates_message(lv: LevelVersion, violations: &Violations) -> String {
    format!("violates PodSecurity \"{lv}\": {}", violations.details())
}

/// The warning for a `warn` violation: `would violate PodSecurity "baseline:latest": ...`.
pub fn would_violate_message(lv: LevelVersion, violations: &Violations) -> String {
    format!(
        "would violate PodSecurity \"{lv}\": {}",
        violations.details()
    )
}

// --- what admission evaluates ---------------------------------------------------------------

/// The pod subresources PodSecurity never evaluates (`ignoredPodSubresources`).
pub fn is_ignored_pod_subresource(subresource: &str) -> bool {
    matches!(
        subresource,
        "exec" | "attach" | "binding" | "eviction" | "log" | "portforward" | "proxy" | "status"
    )
}

/// The pod template of a workload resource (`DefaultPodSpecExtractor`): `(metadata, spec)`,
/// or `None` if the resource has no pod template or this object leaves it out. `group` and
/// `plural` name the resource.
pub fn pod_template<'a>(
    group: &str,
    plural: &str,
    obj: &'a Value,
) -> Option<Option<(&'a Value, &'a Value)>> {
    let template = match (group, plural) {
        ("", "podtemplates") => obj.get("template"),
        ("", "replicationcontrollers")
        | ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => obj.get("spec").and_then(|s| s.get("template")),
        ("batch", "cronjobs") => obj
            .pointer("/spec/jobTemplate/spec/template")
            .filter(|v| !v.is_null()),
        _ => return None,
    };
    let template = template.filter(|t| !t.is_null());
    Some(template.map(|t| {
        (
            t.get("metadata").unwrap_or(&Value::Null),
            t.get("spec").unwrap_or(&Value::Null),
        )
    }))
}

/// `isSignificantPodUpdate`: whether a pod update can change the evaluation (container count,
/// images, seccomp annotations, added ephemeral containers). Other updates are always allowed.
pub fn is_significant_pod_update(new: &Value, old: &Value) -> bool {
    let annotation = |pod: &Value, key: &str| {
        pod.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let list = |pod: &Value, key: &str| {
        pod.get("spec")
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let container_changed = |c: &Value, oc: &Value| {
        let image = |c: &Value| {
            c.get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        if image(c) != image(oc) {
            return true;
        }
        let key = format!(
            "container.seccomp.security.alpha.kubernetes.io/{}",
            c.get("name").and_then(Value::as_str).unwrap_or("")
        );
        annotation(new, &key) != annotation(old, &key)
    };
    let pod_key = "seccomp.security.alpha.kubernetes.io/pod";
    if annotation(new, pod_key) != annotation(old, pod_key) {
        return true;
    }
    for key in ["containers", "initContainers"] {
        let (n, o) = (list(new, key), list(old, key));
        if n.len() != o.len() || n.iter().zip(&o).any(|(c, oc)| container_changed(c, oc)) {
            return true;
        }
    }
    let old_ephemeral = list(old, "ephemeralContainers");
    list(new, "ephemeralContainers").iter().any(|c| {
        match old_ephemeral
            .iter()
            .find(|oc| oc.get("name") == c.get("name"))
        {
            None => true,
            Some(oc) => container_changed(c, oc),
        }
    })
}

/// Whether a namespace update must check the existing pods: the enforce level or version
/// changed, the new level is not privileged, and it is not the same version made less strict.
pub fn enforce_tightened(new: &Policy, old: &Policy) -> bool {
    if new.enforce == old.enforce || new.enforce.level == Level::Privileged {
        return false;
    }
    !(new.enforce.version == old.enforce.version && new.enforce.level <= old.enforce.level)
}

/// How many existing pods a namespace update checks at most (`defaultNamespaceMaxPodsToCheck`).
pub const NAMESPACE_MAX_PODS_TO_CHECK: usize = 3000;

/// `EvaluatePodsInNamespace`: the warnings for the existing `pods` of `namespace` against a
/// new enforce level: one line naming the namespace, then one line per distinct set of
/// reasons (`pod (and 2 other pods): reasons`), sorted.
pub fn existing_pods_warnings(
    namespace: &str,
    enforce: LevelVersion,
    pods: &[Value],
) -> Vec<String> {
    let total = pods.len();
    let checked = &pods[..total.min(NAMESPACE_MAX_PODS_TO_CHECK)];
    // reasons -> (lexically first pod name, count), in first-seen order.
    let mut seen: Vec<(String, String, usize)> = Vec::new();
    for pod in checked {
        let meta = pod.get("metadata").unwrap_or(&Value::Null);
        let spec = pod.get("spec").unwrap_or(&Value::Null);
        let violations = evaluate_pod(enforce, meta, spec);
        if violations.allowed() {
            continue;
        }
        let reasons = violations.reasons();
        let pod_name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match seen.iter_mut().find(|(r, _, _)| *r == reasons) {
            Some((_, first, count)) => {
                if pod_name < *first {
                    *first = pod_name;
                }
                *count += 1;
            }
            None => seen.push((reasons, pod_name, 1)),
        }
    }
    let mut warnings = Vec::new();
    if checked.len() < total {
        warnings.push(format!(
            "new PodSecurity enforce level only checked against the first {} of {total} existing pods",
            checked.len()
        ));
    }
    if !seen.is_empty() {
        warnings.push(format!(
            "existing pods in namespace \"{namespace}\" violate the new PodSecurity enforce level \"{enforce}\""
        ));
    }
    let mut pod_warnings: Vec<String> = seen
        .into_iter()
        .map(|(reasons, first, count)| match count {
            1 => format!("{first}: {reasons}"),
            2 => format!("{first} (and 1 other pod): {reasons}"),
            n => format!("{first} (and {} other pods): {reasons}", n - 1),
        })
        .collect();
    pod_warnings.sort();
    warnings.extend(pod_warnings);
    warnings
}

#[cfg(test)]
mod tests;
