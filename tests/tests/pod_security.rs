//! PodSecurity admission end to end with kubectl: `enforce` refuses pods with
//! kube-apiserver's message, `warn` admits them with a `Warning:`, workload resources only
//! warn, unlabelled namespaces admit anything, bad labels are refused, and tightening
//! `enforce` warns about the pods already running.

use std::time::Duration;

use warren_tests::{Kubectl, TestServer, eventually};

/// A pod with one privileged container named `x`.
fn privileged_pod(name: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: x
    image: nginx
    securityContext:
      privileged: true
"#
    )
}

/// A pod that meets the restricted standard.
const RESTRICTED_POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: app
    image: nginx
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
"#;

/// A Deployment whose pod template has a privileged container named `x`.
const PRIVILEGED_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: x
        image: nginx
        securityContext:
          privileged: true
"#;

/// The restricted violations of a pod whose only container `x` is privileged.
const PRIVILEGED_X_RESTRICTED: &str = concat!(
    r#"privileged (container "x" must not set securityContext.privileged=true), "#,
    r#"allowPrivilegeEscalation != false (container "x" must set securityContext.allowPrivilegeEscalation=false), "#,
    r#"unrestricted capabilities (container "x" must set securityContext.capabilities.drop=["ALL"]), "#,
    r#"runAsNonRoot != true (pod or container "x" must set securityContext.runAsNonRoot=true), "#,
    r#"seccompProfile (pod or container "x" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#,
);

/// Creates `ns` with `labels` and waits for its `default` ServiceAccount (pods need it).
fn namespace(k: &Kubectl, ns: &str, labels: &[&str]) {
    k.ok(&["create", "namespace", ns]);
    if !labels.is_empty() {
        let mut args = vec!["label", "namespace", ns];
        args.extend_from_slice(labels);
        k.ok(&args);
    }
    eventually(
        Duration::from_secs(20),
        "the default service account",
        || {
            k.run(&["get", "serviceaccount", "default", "-n", ns])
                .success()
                .then_some(())
        },
    );
}

fn pod_security_warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("Warning:") && l.contains("PodSecurity"))
        .collect()
}

#[test]
fn enforce_restricted_refuses_pods_and_warns_on_workloads() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    namespace(
        &k,
        "strict",
        &["pod-security.kubernetes.io/enforce=restricted"],
    );

    let out = k.run_stdin(&["create", "-n", "strict", "-f", "-"], &privileged_pod("x"));
    assert!(!out.success(), "a privileged pod is refused:\n{out}");
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            r#"Error from server (Forbidden): error when creating "STDIN": pods "x" is forbidden: violates PodSecurity "restricted:latest": {PRIVILEGED_X_RESTRICTED}"#
        )
    );

    let out = k.run_stdin(&["create", "-n", "strict", "-f", "-"], RESTRICTED_POD);
    assert!(out.success(), "a restricted pod is admitted:\n{out}");
    assert_eq!(out.stdout.trim(), "pod/good created");
    assert!(pod_security_warnings(&out.stderr).is_empty(), "{out}");

    // Workload resources are never refused; warn follows enforce when it is not set.
    let out = k.run_stdin(
        &["create", "-n", "strict", "-f", "-"],
        PRIVILEGED_DEPLOYMENT,
    );
    assert!(out.success(), "the deployment is admitted:\n{out}");
    assert_eq!(out.stdout.trim(), "deployment.apps/web created");
    assert_eq!(
        pod_security_warnings(&out.stderr),
        [format!(
            r#"Warning: would violate PodSecurity "restricted:latest": {PRIVILEGED_X_RESTRICTED}"#
        )]
    );

    // Label values are validated.
    let err = k.fails(&[
        "label",
        "namespace",
        "strict",
        "pod-security.kubernetes.io/warn=bogus",
    ]);
    assert!(
        err.contains(r#"metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "bogus": must be one of privileged, baseline, restricted"#),
        "{err}"
    );
    let out = k.run_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: badver\n  labels:\n    pod-security.kubernetes.io/enforce-version: v2.0\n",
    );
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains(r#"Namespace "badver" is invalid: metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "v2.0": must be "latest" or "v1.x""#),
        "{out}"
    );
}

#[test]
fn warn_baseline_and_unlabelled_namespaces_admit_privileged_pods() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    namespace(&k, "lenient", &["pod-security.kubernetes.io/warn=baseline"]);
    namespace(&k, "open", &[]);

    let out = k.run_stdin(
        &["create", "-n", "lenient", "-f", "-"],
        &privileged_pod("x"),
    );
    assert!(out.success(), "warn only warns:\n{out}");
    assert_eq!(out.stdout.trim(), "pod/x created");
    assert_eq!(
        pod_security_warnings(&out.stderr),
        [
            r#"Warning: would violate PodSecurity "baseline:latest": privileged (container "x" must not set securityContext.privileged=true)"#
        ]
    );

    for name in ["p1", "p2"] {
        let out = k.run_stdin(&["create", "-n", "open", "-f", "-"], &privileged_pod(name));
        assert!(
            out.success(),
            "an unlabelled namespace admits anything:\n{out}"
        );
        assert!(pod_security_warnings(&out.stderr).is_empty(), "{out}");
    }

    // Tightening enforce warns about the pods already there.
    let out = k.run(&[
        "label",
        "namespace",
        "open",
        "pod-security.kubernetes.io/enforce=baseline",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        pod_security_warnings(&out.stderr),
        [
            r#"Warning: existing pods in namespace "open" violate the new PodSecurity enforce level "baseline:latest""#
        ]
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l == "Warning: p1 (and 1 other pod): privileged"),
        "{out}"
    );
    let out = k.run_stdin(&["create", "-n", "open", "-f", "-"], &privileged_pod("p3"));
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains(r#"pods "p3" is forbidden: violates PodSecurity "baseline:latest": privileged (container "x" must not set securityContext.privileged=true)"#),
        "{out}"
    );
}
