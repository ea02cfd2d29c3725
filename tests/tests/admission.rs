//! The built-in admission plugins end to end: ResourceQuota (counts, refusals with
//! kube-apiserver's message, concurrent creates, dry runs, freeing on delete), LimitRanger
//! (defaults and bounds), ServiceAccount (the projected token volume, missing accounts) and
//! DefaultTolerationSeconds, driven with kubectl and kube-rs.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use warren_tests::{Kubectl, TestServer, eventually};

const WAIT: Duration = Duration::from_secs(30);

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&all)).expect("kubectl prints JSON")
}

/// Waits until the quota controller has filled in `status.used` for `resource`, and returns it.
fn quota_used(k: &Kubectl, ns: &str, quota: &str, resource: &str, expected: &str) {
    eventually(
        WAIT,
        &format!("quota {quota} to use {resource}={expected}"),
        || {
            let q = get_json(k, &["get", "resourcequota", quota, "-n", ns]);
            (q.pointer(&format!("/status/used/{resource}")) == Some(&json!(expected))).then_some(())
        },
    );
}

fn pod_yaml(name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{extra_spec}  containers:\n  - name: nginx\n    image: nginx\n"
    )
}

#[test]
fn quota_counts_pods_refuses_the_third_and_frees_on_delete() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&["create", "namespace", "team"]);
    k.ok(&["create", "quota", "q", "--hard=pods=2", "-n", "team"]);
    quota_used(&k, "team", "q", "pods", "0");
    k.ok(&["run", "p1", "--image=nginx", "-n", "team"]);

    // A dry run is admitted and charges nothing: the quota is not written.
    quota_used(&k, "team", "q", "pods", "1");
    let before = get_json(&k, &["get", "quota", "q", "-n", "team"]);
    k.ok(&[
        "run",
        "dry",
        "--image=nginx",
        "-n",
        "team",
        "--dry-run=server",
    ]);
    let after = get_json(&k, &["get", "quota", "q", "-n", "team"]);
    assert_eq!(
        before.pointer("/metadata/resourceVersion"),
        after.pointer("/metadata/resourceVersion"),
        "a dry run must not charge the quota"
    );
    assert_eq!(after.pointer("/status/used/pods"), Some(&json!("1")));

    k.ok(&["run", "p2", "--image=nginx", "-n", "team"]);
    let err = k.fails(&["run", "p3", "--image=nginx", "-n", "team"]);
    assert!(
        err.contains(
            "pods \"p3\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
        ),
        "{err}"
    );
    let describe = k.ok(&["describe", "quota", "q", "-n", "team"]);
    assert!(
        describe
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pods", "2", "2"]),
        "{describe}"
    );

    // Unbound pods go at once; the controller recounts and the slot is free again.
    k.ok(&["delete", "pod", "p1", "-n", "team"]);
    eventually(WAIT, "a pod to be admitted after a delete", || {
        k.run(&["run", "p3", "--image=nginx", "-n", "team"])
            .success()
            .then_some(())
    });
    quota_used(&k, "team", "q", "pods", "2");
}

#[test]
fn quota_requires_compute_resources_it_limits() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&[
        "create",
        "quota",
        "compute",
        "--hard=requests.cpu=1,limits.cpu=2",
        "-n",
        "default",
    ]);
    quota_used(&k, "default", "compute", "requests.cpu", "0");
    let err = k.fails(&["run", "bare", "--image=nginx"]);
    assert!(
        err.contains(
            "pods \"bare\" is forbidden: failed quota: compute: must specify limits.cpu for: bare; requests.cpu for: bare"
        ),
        "{err}"
    );
    let ok = "  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests:\n        cpu: 600m\n      limits:\n        cpu: \"1\"\n";
    let manifest =
        |name: &str| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{ok}");
    k.ok_stdin(&["create", "-f", "-"], &manifest("first"));
    let err = k
        .run_stdin(&["create", "-f", "-"], &manifest("second"))
        .stderr;
    assert!(
        err.contains(
            "pods \"second\" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1"
        ),
        "{err}"
    );
    quota_used(&k, "default", "compute", "limits.cpu", "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_never_exceed_the_quota() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&["create", "quota", "few", "--hard=pods=3", "-n", "default"]);
    quota_used(&k, "default", "few", "pods", "0");
    let client = server.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let creates = (0..12).map(|i| {
        let pods = pods.clone();
        async move {
            let pod: Pod = serde_json::from_value(json!({
                "metadata": {"name": format!("racer-{i}")},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}
            }))
            .unwrap();
            pods.create(&PostParams::default(), &pod).await
        }
    });
    let results = futures::future::join_all(creates).await;
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        let text = r.to_string();
        assert!(text.contains("exceeded quota: few"), "{text}");
    }
    assert_eq!(admitted, 3, "exactly the quota's pods are admitted");
    quota_used(&k, "default", "few", "pods", "3");
}

#[test]
fn limit_range_defaults_and_bounds() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: limits\n  namespace: default\nspec:\n  limits:\n  - type: Container\n    default:\n      cpu: 500m\n      memory: 256Mi\n    defaultRequest:\n      cpu: 100m\n      memory: 128Mi\n    max:\n      memory: 1Gi\n    min:\n      cpu: 50m\n",
    );
    k.ok(&["run", "nginx", "--image=nginx"]);
    let pod = get_json(&k, &["get", "pod", "nginx"]);
    assert_eq!(
        pod.pointer("/metadata/annotations/kubernetes.io~1limit-ranger"),
        Some(&json!(
            "LimitRanger plugin set: cpu, memory request for container nginx; cpu, memory limit for container nginx"
        ))
    );
    let resources = pod.pointer("/spec/containers/0/resources").unwrap();
    assert_eq!(resources["requests"]["cpu"], json!("100m"));
    assert_eq!(resources["requests"]["memory"], json!("128Mi"));
    assert_eq!(resources["limits"]["cpu"], json!("500m"));
    assert_eq!(resources["limits"]["memory"], json!("256Mi"));
    assert_eq!(pod.pointer("/status/qosClass"), Some(&json!("Burstable")));

    let big = pod_yaml("big", "").replace(
        "    image: nginx\n",
        "    image: nginx\n    resources:\n      requests:\n        cpu: 10m\n      limits:\n        memory: 2Gi\n",
    );
    let err = k.run_stdin(&["create", "-f", "-"], &big).stderr;
    assert!(
        err.contains(
            "pods \"big\" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, maximum memory usage per Container is 1Gi, but limit is 2Gi]"
        ),
        "{err}"
    );
}

#[test]
fn service_account_token_volume_and_default_tolerations() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let two = pod_yaml("two", "").replace(
        "  containers:\n",
        "  initContainers:\n  - name: init\n    image: busybox\n  containers:\n  - name: side\n    image: busybox\n",
    );
    k.ok_stdin(&["create", "-f", "-"], &two);
    let pod = get_json(&k, &["get", "pod", "two"]);
    assert_eq!(
        pod.pointer("/spec/serviceAccountName"),
        Some(&json!("default"))
    );
    assert_eq!(pod.pointer("/spec/serviceAccount"), Some(&json!("default")));
    let volume = &pod.pointer("/spec/volumes/0").expect("a volume")["name"];
    let volume = volume.as_str().unwrap();
    assert!(
        volume.starts_with("kube-api-access-") && volume.len() == 21,
        "{volume}"
    );
    assert!(
        volume[16..]
            .bytes()
            .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
    );
    assert_eq!(
        pod.pointer("/spec/volumes/0/projected"),
        Some(&json!({
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]
        }))
    );
    let mount = json!([{"name": volume, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]);
    for c in [
        "/spec/initContainers/0",
        "/spec/containers/0",
        "/spec/containers/1",
    ] {
        assert_eq!(
            pod.pointer(&format!("{c}/volumeMounts")),
            Some(&mount),
            "{c}"
        );
    }
    let tolerations = pod.pointer("/spec/tolerations").unwrap();
    assert_eq!(
        tolerations,
        &json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        ])
    );

    k.ok_stdin(
        &["create", "-f", "-"],
        &pod_yaml("quiet", "  automountServiceAccountToken: false\n"),
    );
    let quiet = get_json(&k, &["get", "pod", "quiet"]);
    assert_eq!(quiet.pointer("/spec/volumes"), None);
    assert_eq!(quiet.pointer("/spec/containers/0/volumeMounts"), None);

    let err = k
        .run_stdin(
            &["create", "-f", "-"],
            &pod_yaml("lost", "  serviceAccountName: ghost\n"),
        )
        .stderr;
    assert!(
        err.contains(
            "pods \"lost\" is forbidden: error looking up service account default/ghost: serviceaccount \"ghost\" not found"
        ),
        "{err}"
    );
}
