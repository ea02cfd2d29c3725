//! The audit log end to end: `--audit-log-path` with an `audit.k8s.io/v1` Policy writes one JSON
//! event per request at the level the first matching rule gives, naming the user, verb,
//! resource, namespace, name, response code and latency; `None` rules keep requests out.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use warren_tests::{Kubectl, TestServer, binary, eventually, run_command};

const POLICY: &str = r#"
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/api*", "/openapi*", "/version"]
- level: None
  verbs: ["watch"]
- level: Request
  resources:
  - group: ""
    resources: ["configmaps"]
- level: Metadata
"#;

fn events(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn find(events: &[Value], pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    events.iter().find(|e| pred(e))
}

#[test]
fn audit_log_follows_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let log = dir.path().join("audit.log");
    let server = TestServer::start_with(&[
        "--audit-log-path",
        log.to_str().unwrap(),
        "--audit-policy-file",
        policy.to_str().unwrap(),
    ])
    .expect("server starts");
    let admin = server.kubectl();
    admin.ok(&["create", "namespace", "team"]);
    admin.ok(&[
        "create",
        "configmap",
        "cfg",
        "-n",
        "team",
        "--from-literal=k=v",
    ]);
    admin.ok(&["get", "configmap", "cfg", "-n", "team"]);
    admin.fails(&["get", "secret", "missing", "-n", "team"]);
    // PodSecurity's audit level annotates the event of a pod that breaks it (and admits it).
    admin.ok(&[
        "label",
        "namespace",
        "team",
        "pod-security.kubernetes.io/audit=restricted",
    ]);
    admin.ok_stdin(
        &["create", "-f", "-"],
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "team"},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                "securityContext": {"privileged": true}}]}}"#,
    );

    // A user without rights: its 403 is logged with the forbid decision.
    let mut cmd = Command::new(binary("tenant-apiserver"));
    cmd.arg("kubeconfig")
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["--server", server.url(), "--user", "mallory"]);
    let out = run_command(cmd, None).expect("kubeconfig runs");
    assert!(out.success(), "{out}");
    let path = server.data_dir().join("mallory.kubeconfig");
    std::fs::write(&path, &out.stdout).unwrap();
    Kubectl::new(&path).fails(&["get", "pods", "-n", "team"]);

    let all = eventually(Duration::from_secs(10), "audit events written", || {
        let all = events(&log);
        find(&all, |e| e["user"]["username"] == "mallory").map(|_| all.clone())
    });

    let create = find(&all, |e| {
        e["verb"] == "create" && e["objectRef"]["resource"] == "configmaps"
    })
    .expect("the configmap create is logged");
    assert_eq!(create["kind"], "Event");
    assert_eq!(create["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(create["level"], "Request");
    assert_eq!(create["user"]["username"], "admin");
    assert_eq!(create["objectRef"]["namespace"], "team");
    assert_eq!(create["objectRef"]["apiVersion"], "v1");
    assert_eq!(create["responseStatus"]["code"], 201);
    assert_eq!(create["requestObject"]["data"]["k"], "v", "{create}");
    assert_eq!(
        create["annotations"]["authorization.k8s.io/decision"],
        "allow"
    );
    assert!(
        create["annotations"]["warren.io/latency"].is_string(),
        "{create}"
    );
    assert!(
        create["requestReceivedTimestamp"].as_str().unwrap()
            <= create["stageTimestamp"].as_str().unwrap()
    );

    let get = find(&all, |e| {
        e["verb"] == "get" && e["objectRef"]["resource"] == "configmaps"
    })
    .expect("the configmap get is logged");
    assert_eq!(get["objectRef"]["name"], "cfg");
    assert_eq!(get["responseStatus"]["code"], 200);

    let missing = find(&all, |e| {
        e["verb"] == "get" && e["objectRef"]["resource"] == "secrets"
    })
    .expect("the secret get is logged");
    assert_eq!(missing["level"], "Metadata");
    assert!(missing.get("requestObject").is_none());
    assert_eq!(missing["responseStatus"]["code"], 404);

    let ns = find(&all, |e| {
        e["verb"] == "create" && e["objectRef"]["resource"] == "namespaces"
    })
    .expect("the namespace create is logged");
    assert_eq!(ns["level"], "Metadata");
    assert!(ns.get("requestObject").is_none(), "{ns}");

    let pod = find(&all, |e| {
        e["verb"] == "create" && e["objectRef"]["resource"] == "pods"
    })
    .expect("the pod create is logged");
    assert_eq!(pod["responseStatus"]["code"], 201, "{pod}");
    assert_eq!(
        pod["annotations"]["pod-security.kubernetes.io/enforce-policy"], "privileged:latest",
        "{pod}"
    );
    let violations = pod["annotations"]["pod-security.kubernetes.io/audit-violations"]
        .as_str()
        .unwrap_or_else(|| panic!("no audit-violations annotation: {pod}"));
    assert!(
        violations.starts_with("would violate PodSecurity \"restricted:latest\": privileged"),
        "{violations}"
    );

    let denied = find(&all, |e| e["user"]["username"] == "mallory").unwrap();
    assert_eq!(denied["responseStatus"]["code"], 403);
    assert_eq!(denied["verb"], "list");
    assert_eq!(
        denied["annotations"]["authorization.k8s.io/decision"],
        "forbid"
    );

    // The None rules held: discovery and OpenAPI are not logged.
    assert!(
        find(&all, |e| e["requestURI"]
            .as_str()
            .is_some_and(|u| u.starts_with("/api")
                && !u.starts_with("/api/v1/")
                && !u.starts_with("/apis/")))
        .is_none(),
        "discovery was logged"
    );
}

#[test]
fn unreadable_policy_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "apiVersion: v1\nkind: Policy\n").unwrap();
    let result = TestServer::start_with(&[
        "--audit-log-path",
        dir.path().join("audit.log").to_str().unwrap(),
        "--audit-policy-file",
        policy.to_str().unwrap(),
    ]);
    assert!(result.is_err(), "a server started with a bad audit policy");
}
