//! The StatefulSet controller end to end, with the test standing in for the kubelet: pods are
//! created one at a time in ordinal order, each only once its predecessor is Ready, with a
//! PersistentVolumeClaim per ordinal; scaling down removes the highest ordinal first; an image
//! update with a partition replaces only the pods at or above it; `kubectl rollout status`
//! follows the rollout.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams};
use warren_tests::kubelet::{bind, ensure_node, set_ready};
use warren_tests::{TestServer, eventually_async};

const WAIT: Duration = Duration::from_secs(20);
const NS: &str = "default";

const WEB: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 3
  serviceName: nginx
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
"#;

async fn wait_pod(pods: &Api<Pod>, name: &str) -> Pod {
    eventually_async(WAIT, &format!("pod {name} to be created"), || async {
        pods.get_opt(name)
            .await
            .ok()
            .flatten()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
    })
    .await
}

async fn wait_set(
    sets: &Api<StatefulSet>,
    what: &str,
    pred: impl Fn(&StatefulSet) -> bool,
) -> StatefulSet {
    eventually_async(WAIT, what, || async {
        sets.get("web").await.ok().filter(|s| pred(s))
    })
    .await
}

fn status_of(s: &StatefulSet) -> k8s_openapi::api::apps::v1::StatefulSetStatus {
    s.status.clone().unwrap_or_default()
}

fn image_of(p: &Pod) -> String {
    p.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

fn revision_of(p: &Pod) -> String {
    p.metadata.labels.as_ref().unwrap()["controller-revision-hash"].clone()
}

/// As the kubelet finishing a graceful deletion: waits for the controller to mark `name`
/// deleted, then removes it.
async fn finish_termination(pods: &Api<Pod>, name: &str) {
    eventually_async(WAIT, &format!("{name} to be terminating"), || async {
        pods.get_opt(name)
            .await
            .ok()
            .flatten()
            .and_then(|p| p.metadata.deletion_timestamp)
    })
    .await;
    let _ = pods
        .delete(name, &DeleteParams::default().grace_period(0))
        .await;
    eventually_async(WAIT, &format!("{name} to be gone"), || async {
        match pods.get_opt(name).await {
            Ok(None) => Some(()),
            _ => None,
        }
    })
    .await;
}

/// As scheduler and kubelet: binds the pod to n1 and reports it Running and Ready.
async fn run_pod(client: &kube::Client, name: &str, ip: &str) {
    bind(client, NS, name, "n1").await.expect("bind");
    set_ready(client, NS, name, ip).await.expect("ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_come_in_order_with_claims_scale_down_from_the_top_and_partitioned_updates() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    ensure_node(&client, "n1").await.expect("node");
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    k.ok_stdin(&["apply", "-f", "-"], WEB);

    // OrderedReady: web-i appears, the controller sees it (status.replicas = i+1) and still
    // does not create web-(i+1) until web-i is Ready.
    for i in 0..3 {
        let name = format!("web-{i}");
        let pod = wait_pod(&pods, &name).await;
        let labels = pod.metadata.labels.clone().unwrap();
        assert_eq!(labels["statefulset.kubernetes.io/pod-name"], name);
        assert_eq!(labels["apps.kubernetes.io/pod-index"], i.to_string());
        assert!(labels.contains_key("controller-revision-hash"));
        let spec = pod.spec.clone().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some(name.as_str()));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let volume = spec
            .volumes
            .unwrap_or_default()
            .into_iter()
            .find(|v| v.name == "data")
            .expect("data volume");
        assert_eq!(
            volume.persistent_volume_claim.unwrap().claim_name,
            format!("data-web-{i}")
        );
        let claim = claims
            .get(&format!("data-web-{i}"))
            .await
            .expect("the claim is created before its pod");
        assert_eq!(claim.metadata.labels.unwrap()["app"], "nginx");
        wait_set(&sets, &format!("status.replicas = {}", i + 1), |s| {
            status_of(s).replicas == i + 1
        })
        .await;
        assert!(
            pods.get_opt(&format!("web-{}", i + 1))
                .await
                .unwrap()
                .is_none(),
            "web-{} must wait for web-{i} to be Ready",
            i + 1
        );
        run_pod(&client, &name, &format!("10.244.0.{}", i + 10)).await;
    }
    let set = wait_set(&sets, "3 ready replicas", |s| {
        let st = status_of(s);
        st.ready_replicas == Some(3)
            && st.available_replicas == Some(3)
            && st.current_replicas == Some(3)
    })
    .await;
    let st = status_of(&set);
    assert_eq!(st.current_revision, st.update_revision);
    assert_eq!(st.observed_generation, set.metadata.generation);
    assert_eq!(st.collision_count, Some(0));
    let out = k.ok(&["rollout", "status", "statefulset/web", "--timeout=20s"]);
    assert!(
        out.contains("partitioned roll out complete") || out.contains("rolling update complete"),
        "{out}"
    );

    // Scale down: web-2 goes first; its claim stays (whenScaled: Retain).
    k.ok(&["scale", "statefulset", "web", "--replicas=2"]);
    finish_termination(&pods, "web-2").await;
    for name in ["web-0", "web-1"] {
        let p = pods.get(name).await.unwrap();
        assert!(p.metadata.deletion_timestamp.is_none(), "{name} must stay");
    }
    wait_set(&sets, "2 replicas", |s| status_of(s).replicas == 2).await;
    assert!(claims.get_opt("data-web-2").await.unwrap().is_some());

    // Back to 3: web-2 comes back with the same claim.
    k.ok(&["scale", "statefulset", "web", "--replicas=3"]);
    wait_pod(&pods, "web-2").await;
    run_pod(&client, "web-2", "10.244.0.20").await;
    let before = wait_set(&sets, "3 ready again", |s| {
        status_of(s).ready_replicas == Some(3)
    })
    .await;
    let old_revision = status_of(&before).current_revision.unwrap();

    // An image update with partition 2: only web-2 is replaced.
    k.ok(&[
        "patch",
        "statefulset",
        "web",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}},"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}"#,
    ]);
    finish_termination(&pods, "web-2").await;
    let web2 = wait_pod(&pods, "web-2").await;
    assert_eq!(image_of(&web2), "nginx:1.27");
    assert_ne!(revision_of(&web2), old_revision);
    run_pod(&client, "web-2", "10.244.0.21").await;
    let set = wait_set(&sets, "the partitioned update", |s| {
        let st = status_of(s);
        st.updated_replicas == Some(1) && st.ready_replicas == Some(3)
    })
    .await;
    let st = status_of(&set);
    assert_eq!(st.current_revision.as_deref(), Some(old_revision.as_str()));
    assert_eq!(
        st.update_revision.as_deref(),
        Some(revision_of(&web2).as_str())
    );
    assert_eq!(st.current_replicas, Some(2));
    for name in ["web-0", "web-1"] {
        let p = pods.get(name).await.unwrap();
        assert_eq!(image_of(&p), "nginx:1.25", "{name} is below the partition");
        assert_eq!(revision_of(&p), old_revision);
        assert!(p.metadata.deletion_timestamp.is_none());
    }
    let out = k.ok(&["rollout", "status", "statefulset/web", "--timeout=20s"]);
    assert!(
        out.contains("partitioned roll out complete: 1 new pods have been updated"),
        "{out}"
    );

    // Both templates are kept as ControllerRevisions owned by the set.
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), NS);
    let mut names: Vec<String> = revisions
        .list(&ListParams::default().labels("app=nginx"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|r| {
            r.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|o| o.kind == "StatefulSet" && o.name == "web"))
        })
        .map(|r| r.metadata.name.unwrap())
        .collect();
    names.sort();
    let mut expected = vec![old_revision.clone(), revision_of(&web2)];
    expected.sort();
    assert_eq!(names, expected);
    let history = k.ok(&["rollout", "history", "statefulset/web"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");
}
