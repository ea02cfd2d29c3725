use serde_json::{Value, json};

use super::*;

const BASELINE: LevelVersion = LevelVersion {
    level: Level::Baseline,
    version: Version::Latest,
};
const RESTRICTED: LevelVersion = LevelVersion {
    level: Level::Restricted,
    version: Version::Latest,
};

/// A container that passes every restricted check.
fn good_container(name: &str) -> Value {
    json!({
        "name": name,
        "image": "nginx",
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
        },
    })
}

/// A pod spec that passes every restricted check.
fn restricted_spec() -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [good_container("app")],
    })
}

fn with(mut base: Value, patch: &Value) -> Value {
    merge(&mut base, patch);
    base
}

fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn details(lv: LevelVersion, meta: &Value, spec: &Value) -> String {
    evaluate_pod(lv, meta, spec).details()
}

/// `(level, metadata, spec patch over the restricted pod, expected detail)`: each check fails
/// at the level it belongs to; baseline checks fail at restricted too.
#[test]
fn each_check_fails_at_its_level_and_above() {
    let c0 = |sc: Value| json!({"containers": [with(good_container("app"), &json!({"securityContext": sc}))]});
    let cases: Vec<(Level, Value, Value, &str)> = vec![
        (
            Level::Baseline,
            json!({}),
            c0(json!({"privileged": true})),
            r#"privileged (container "app" must not set securityContext.privileged=true)"#,
        ),
        (
            Level::Baseline,
            json!({}),
            json!({"hostNetwork": true, "hostPID": true, "hostIPC": true}),
            "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)",
        ),
        (
            Level::Baseline,
            json!({}),
            json!({"containers": [with(good_container("app"), &json!({"ports": [
                {"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 10000}]}))]}),
            r#"hostPort (container "app" uses hostPorts 10000, 8080)"#,
        ),
        (
            Level::Baseline,
            json!({}),
            json!({"containers": [with(good_container("app"), &json!({
                "livenessProbe": {"httpGet": {"host": "1.2.3.4", "port": 80}},
                "lifecycle": {"preStop": {"tcpSocket": {"host": "example.com", "port": 80}}}}))]}),
            r#"probe or lifecycle host (container "app" uses probe or lifecycle hosts "1.2.3.4", "example.com")"#,
        ),
        (
            Level::Baseline,
            json!({}),
            c0(
                json!({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "appArmorProfile": {"type": "Unconfined"}}),
            ),
            r#"forbidden AppArmor profile (container "app" must not set AppArmor profile type to "Unconfined")"#,
        ),
        (
            Level::Baseline,
            json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}),
            json!({}),
            r#"forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/app="unconfined"")"#,
        ),
        (
            Level::Baseline,
            json!({}),
            json!({"securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "root"}}}),
            r#"seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)"#,
        ),
        (
            Level::Baseline,
            json!({}),
            c0(json!({"procMount": "Unmasked"})),
            r#"procMount (container "app" must not set securityContext.procMount to "Unmasked")"#,
        ),
        (
            Level::Baseline,
            json!({}),
            json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_rmem", "value": "1"}]}}),
            "forbidden sysctls (kernel.msgmax)",
        ),
        (
            Level::Baseline,
            json!({}),
            json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}),
            "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
        ),
        (
            Level::Restricted,
            json!({}),
            c0(json!({"allowPrivilegeEscalation": true})),
            r#"allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)"#,
        ),
        (
            Level::Restricted,
            json!({}),
            c0(
                json!({"capabilities": {"drop": ["NET_RAW"], "add": ["CHOWN", "NET_BIND_SERVICE"]}}),
            ),
            r#"unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]; container "app" must not include "CHOWN" in securityContext.capabilities.add)"#,
        ),
        (
            Level::Restricted,
            json!({}),
            json!({"volumes": [{"name": "data", "nfs": {"server": "x", "path": "/"}}, {"name": "cm", "configMap": {"name": "x"}}]}),
            r#"restricted volume types (volume "data" uses restricted volume type "nfs")"#,
        ),
        (
            Level::Restricted,
            json!({}),
            json!({"securityContext": {"runAsNonRoot": false}}),
            "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)",
        ),
        (
            Level::Restricted,
            json!({}),
            c0(json!({"runAsUser": 0})),
            r#"runAsUser=0 (container "app" must not set runAsUser=0)"#,
        ),
        (
            Level::Restricted,
            json!({}),
            json!({"securityContext": {"seccompProfile": null}}),
            r#"seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#,
        ),
    ];
    for (level, meta, patch, want) in cases {
        let spec = with(restricted_spec(), &patch);
        assert_eq!(
            details(RESTRICTED, &meta, &spec),
            want,
            "restricted: {patch}"
        );
        let at_baseline = details(BASELINE, &meta, &spec);
        if level == Level::Baseline {
            assert_eq!(at_baseline, want, "baseline: {patch}");
        } else {
            assert_eq!(at_baseline, "", "baseline allows {patch}");
        }
        assert!(
            evaluate_pod(
                LevelVersion {
                    level: Level::Privileged,
                    version: Version::Latest
                },
                &meta,
                &spec
            )
            .allowed()
        );
    }
}

#[test]
fn compliant_pods_pass() {
    let spec = restricted_spec();
    assert!(evaluate_pod(RESTRICTED, &json!({}), &spec).allowed());
    // Container-level settings instead of pod-level ones, allowed volumes, NET_BIND_SERVICE.
    let spec = json!({
        "initContainers": [with(good_container("init"), &json!({"securityContext": {
            "runAsNonRoot": true, "seccompProfile": {"type": "Localhost", "localhostProfile": "p"}}}))],
        "containers": [with(good_container("app"), &json!({"securityContext": {
            "runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"},
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            "seLinuxOptions": {"type": "container_engine_t", "level": "s0"},
            "appArmorProfile": {"type": "RuntimeDefault"}}}))],
        "volumes": [
            {"name": "a", "emptyDir": {}}, {"name": "b", "secret": {"secretName": "s"}},
            {"name": "c", "projected": {"sources": []}}, {"name": "d", "persistentVolumeClaim": {"claimName": "x"}},
            {"name": "e", "ephemeral": {}}, {"name": "f", "csi": {"driver": "d"}},
            {"name": "g", "downwardAPI": {}}, {"name": "h", "image": {"reference": "x"}}],
        "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "1"}]},
    });
    assert!(evaluate_pod(RESTRICTED, &json!({}), &spec).allowed());
    // A plain pod passes baseline and fails restricted.
    let plain = json!({"containers": [{"name": "app", "image": "nginx"}]});
    assert!(evaluate_pod(BASELINE, &json!({}), &plain).allowed());
    assert!(!evaluate_pod(RESTRICTED, &json!({}), &plain).allowed());
}

#[test]
fn privileged_pod_violates_restricted_with_upstream_message() {
    let spec = json!({"containers": [{"name": "x", "image": "nginx", "securityContext": {"privileged": true}}]});
    let violations = evaluate_pod(RESTRICTED, &json!({}), &spec);
    assert_eq!(
        violates_message(RESTRICTED, &violations),
        concat!(
            r#"violates PodSecurity "restricted:latest": "#,
            r#"privileged (container "x" must not set securityContext.privileged=true), "#,
            r#"allowPrivilegeEscalation != false (container "x" must set securityContext.allowPrivilegeEscalation=false), "#,
            r#"unrestricted capabilities (container "x" must set securityContext.capabilities.drop=["ALL"]), "#,
            r#"runAsNonRoot != true (pod or container "x" must set securityContext.runAsNonRoot=true), "#,
            r#"seccompProfile (pod or container "x" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#,
        )
    );
    assert_eq!(
        violations.reasons(),
        "privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile"
    );
}

#[test]
fn several_violations_are_ordered_and_pluralised() {
    let spec = json!({
        "hostNetwork": true,
        "initContainers": [{"name": "init", "image": "x", "securityContext": {"runAsUser": 0}}],
        "containers": [
            {"name": "a", "image": "x", "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}}},
            {"name": "b", "image": "x", "securityContext": {"privileged": true}, "ports": [{"containerPort": 80, "hostPort": 80}]},
        ],
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}, {"name": "repo", "gitRepo": {"repository": "r"}}],
    });
    assert_eq!(
        details(BASELINE, &json!({}), &spec),
        concat!(
            r#"non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add), "#,
            r#"host namespaces (hostNetwork=true), "#,
            r#"hostPath volumes (volume "host"), "#,
            r#"hostPort (container "b" uses hostPort 80), "#,
            r#"privileged (containers "a", "b" must not set securityContext.privileged=true)"#,
        )
    );
    assert_eq!(
        details(RESTRICTED, &json!({}), &spec),
        concat!(
            r#"host namespaces (hostNetwork=true), "#,
            r#"hostPort (container "b" uses hostPort 80), "#,
            r#"privileged (containers "a", "b" must not set securityContext.privileged=true), "#,
            r#"allowPrivilegeEscalation != false (containers "init", "a", "b" must set securityContext.allowPrivilegeEscalation=false), "#,
            r#"unrestricted capabilities (containers "init", "a", "b" must set securityContext.capabilities.drop=["ALL"]; container "a" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add), "#,
            r#"restricted volume types (volumes "host", "repo" use restricted volume types "gitRepo", "hostPath"), "#,
            r#"runAsNonRoot != true (pod or containers "init", "a", "b" must set securityContext.runAsNonRoot=true), "#,
            r#"runAsUser=0 (container "init" must not set runAsUser=0), "#,
            r#"seccompProfile (pod or containers "init", "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#,
        )
    );
}

#[test]
fn explicit_bad_values_name_pod_and_containers() {
    let spec = json!({
        "securityContext": {"runAsNonRoot": false, "runAsUser": 0, "seccompProfile": {"type": "Unconfined"}},
        "containers": [
            with(good_container("a"), &json!({"securityContext": {"runAsNonRoot": false, "seccompProfile": {"type": "Unconfined"}}})),
            good_container("b"),
        ],
    });
    assert_eq!(
        details(RESTRICTED, &json!({}), &spec),
        concat!(
            r#"runAsNonRoot != true (pod and container "a" must not set securityContext.runAsNonRoot=false), "#,
            r#"runAsUser=0 (pod must not set runAsUser=0), "#,
            r#"seccompProfile (pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined")"#,
        )
    );
    assert_eq!(
        details(BASELINE, &json!({}), &spec),
        r#"seccompProfile (pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined")"#
    );
}

#[test]
fn user_namespaces_and_windows_relax_checks() {
    let userns = json!({"hostUsers": false, "containers": [with(good_container("app"), &json!({"securityContext": {
        "runAsUser": 0, "procMount": "Unmasked", "seccompProfile": {"type": "RuntimeDefault"}}}))]});
    assert!(evaluate_pod(BASELINE, &json!({}), &userns).allowed());
    assert_eq!(
        details(RESTRICTED, &json!({}), &userns),
        r#"procMount (container "app" must not set securityContext.procMount to "Unmasked")"#
    );
    let windows = json!({"os": {"name": "windows"}, "containers": [{"name": "app", "image": "x"}]});
    assert_eq!(
        details(RESTRICTED, &json!({}), &windows),
        r#"runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)"#
    );
}

#[test]
fn older_versions_evaluate_older_checks() {
    let at = |level, minor| LevelVersion {
        level,
        version: Version::Minor(minor),
    };
    let sysctl = json!({"containers": [], "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]}});
    assert!(!evaluate_pod(at(Level::Baseline, 31), &json!({}), &sysctl).allowed());
    assert!(evaluate_pod(at(Level::Baseline, 32), &json!({}), &sysctl).allowed());
    // Before 1.22 there is no capabilities_restricted, so capabilities_baseline still applies.
    let caps = json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]});
    assert!(
        evaluate_pod(at(Level::Restricted, 21), &json!({}), &caps)
            .reasons()
            .starts_with("non-default capabilities")
    );
    // Versions past the newest revision evaluate as latest.
    let spec = json!({"containers": [{"name": "x", "securityContext": {"privileged": true}}]});
    assert_eq!(
        details(at(Level::Restricted, 99), &json!({}), &spec),
        details(RESTRICTED, &json!({}), &spec)
    );
}

#[test]
fn labels_parse_into_a_policy() {
    let labels = json!({
        ENFORCE_LEVEL_LABEL: "restricted",
        WARN_LEVEL_LABEL: "baseline",
        WARN_VERSION_LABEL: "v1.30",
    });
    let (policy, errors) = Policy::from_labels(labels.as_object());
    assert!(errors.is_empty());
    assert_eq!(policy.enforce.to_string(), "restricted:latest");
    assert_eq!(policy.warn.to_string(), "baseline:v1.30");
    assert_eq!(policy.audit.to_string(), "privileged:latest");

    let labels = json!({
        ENFORCE_LEVEL_LABEL: "strict",
        ENFORCE_VERSION_LABEL: "v1.030",
        WARN_LEVEL_LABEL: "nope",
    });
    let (policy, errors) = Policy::from_labels(labels.as_object());
    assert_eq!(policy.enforce.to_string(), "restricted:latest");
    assert_eq!(policy.warn.level, Level::Privileged);
    let rendered: Vec<String> = errors.iter().map(|e| e.render()).collect();
    assert_eq!(
        rendered,
        [
            r#"metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted"#,
            r#"metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "v1.030": must be "latest" or "v1.x""#,
            r#"metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "nope": must be one of privileged, baseline, restricted"#,
        ]
    );
    // Without a warn label, warn follows a stricter valid enforce level and its version.
    let policy = |labels: Value| Policy::from_labels(labels.as_object()).0;
    assert_eq!(
        policy(json!({ENFORCE_LEVEL_LABEL: "restricted"}))
            .warn
            .to_string(),
        "restricted:latest"
    );
    assert_eq!(
        policy(json!({ENFORCE_LEVEL_LABEL: "baseline", ENFORCE_VERSION_LABEL: "v1.22"}))
            .warn
            .to_string(),
        "baseline:v1.22"
    );
    assert_eq!(
        policy(json!({ENFORCE_LEVEL_LABEL: "baseline", WARN_VERSION_LABEL: "v1.23"}))
            .warn
            .to_string(),
        "baseline:v1.23"
    );
    assert_eq!(
        policy(json!({ENFORCE_LEVEL_LABEL: "baseline", WARN_LEVEL_LABEL: "privileged"}))
            .warn
            .to_string(),
        "privileged:latest"
    );
    for ok in ["latest", "v1.0", "v1.25", "v1.100"] {
        assert!(Version::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["v2.0", "1.25", "v1.", "v1.x", "v1.01", "Latest"] {
        assert!(Version::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn pod_templates_and_significant_updates() {
    let deploy = json!({"spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}}});
    let (meta, spec) = pod_template("apps", "deployments", &deploy)
        .unwrap()
        .unwrap();
    assert_eq!(meta["labels"]["a"], "b");
    assert!(spec["containers"].is_array());
    let cron =
        json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
    assert!(pod_template("batch", "cronjobs", &cron).unwrap().is_some());
    assert!(
        pod_template("", "replicationcontrollers", &json!({"spec": {}}))
            .unwrap()
            .is_none()
    );
    assert!(pod_template("", "configmaps", &json!({})).is_none());

    let old = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}});
    let relabelled = with(old.clone(), &json!({"metadata": {"labels": {"a": "2"}}}));
    assert!(!is_significant_pod_update(&relabelled, &old));
    let new_image = json!({"metadata": {}, "spec": {"containers": [{"name": "c", "image": "y"}]}});
    assert!(is_significant_pod_update(&new_image, &old));
    let debug = with(
        old.clone(),
        &json!({"spec": {"ephemeralContainers": [{"name": "d", "image": "busybox"}]}}),
    );
    assert!(is_significant_pod_update(&debug, &old));
    assert!(is_ignored_pod_subresource("status"));
    assert!(!is_ignored_pod_subresource("ephemeralcontainers"));
}

#[test]
fn namespace_label_changes() {
    let policy = |labels: Value| Policy::from_labels(labels.as_object()).0;
    let none = policy(json!({}));
    let restricted = policy(json!({ENFORCE_LEVEL_LABEL: "restricted"}));
    let baseline = policy(json!({ENFORCE_LEVEL_LABEL: "baseline"}));
    assert!(enforce_tightened(&restricted, &none));
    assert!(enforce_tightened(&restricted, &baseline));
    assert!(!enforce_tightened(&baseline, &restricted));
    assert!(!enforce_tightened(&restricted, &restricted));
    assert!(!enforce_tightened(&none, &restricted));

    let pod = |name: &str, spec: Value| json!({"metadata": {"name": name}, "spec": spec});
    let privileged =
        json!({"containers": [{"name": "c", "securityContext": {"privileged": true}}]});
    let plain = json!({"containers": [{"name": "c"}]});
    let pods = vec![
        pod("zeta", privileged.clone()),
        pod("alpha", privileged),
        pod("mid", plain.clone()),
        pod("beta", plain.clone()),
        pod("gamma", plain),
        pod("ok", restricted_spec()),
    ];
    assert_eq!(
        existing_pods_warnings("ns", RESTRICTED, &pods),
        [
            r#"existing pods in namespace "ns" violate the new PodSecurity enforce level "restricted:latest""#,
            "alpha (and 1 other pod): privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
            "beta (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        ]
    );
    assert!(existing_pods_warnings("ns", BASELINE, &pods[2..]).is_empty());
}
