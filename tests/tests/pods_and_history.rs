//! Pod binding and graceful deletion as kube-apiserver does them, and 410 Gone for a watch
//! from a compacted resourceVersion.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use warren_tests::{TestServer, eventually_async, raw_request};

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_pods_go_at_once_bound_pods_wait_for_their_node() {
    let server = TestServer::start().unwrap();
    let client = server.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // Unbound: deleted at once.
    pods.create(&PostParams::default(), &pod("free"))
        .await
        .unwrap();
    pods.delete("free", &DeleteParams::default()).await.unwrap();
    assert!(pods.get_opt("free").await.unwrap().is_none());

    // Bound through pods/binding.
    let created = pods
        .create(&PostParams::default(), &pod("bound"))
        .await
        .unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Pending"));
    let binding = |node: &str| {
        http::Request::post("/api/v1/namespaces/default/pods/bound/binding")
            .header("content-type", "application/json")
            .body(
                serde_json::to_vec(&json!({
                    "apiVersion": "v1", "kind": "Binding",
                    "metadata": {"name": "bound"},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node},
                }))
                .unwrap(),
            )
            .unwrap()
    };
    let (code, _, text) = raw_request(&client, binding("node-a")).await.unwrap();
    assert_eq!(code.as_u16(), 201, "{text}");
    let bound = pods.get("bound").await.unwrap();
    assert_eq!(
        bound.spec.as_ref().unwrap().node_name.as_deref(),
        Some("node-a")
    );
    // A second binding is a conflict.
    let (code, status, text) = raw_request(&client, binding("node-b")).await.unwrap();
    assert_eq!(code.as_u16(), 409, "{text}");
    assert_eq!(status.unwrap()["reason"], "Conflict");

    // Deleting a bound pod only marks it, with the pod's grace period.
    pods.delete("bound", &DeleteParams::default())
        .await
        .unwrap();
    let marked = pods.get("bound").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
    // The node confirms with a zero-grace delete: now it is gone.
    pods.delete(
        "bound",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(pods.get_opt("bound").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_a_compacted_revision_is_gone() {
    let server = TestServer::start_with(&["--compaction-interval", "1"]).unwrap();
    let client = server.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let first = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "old"}})).unwrap(),
        )
        .await
        .unwrap();
    let old_rv = first.metadata.resource_version.unwrap();
    // Keep writing until the server has compacted past the first write: a watch from it
    // then ends with an ERROR event carrying 410 Expired, as kube-apiserver's does.
    let mut i = 0;
    let status = eventually_async(
        Duration::from_secs(30),
        "a 410 for the compacted revision",
        || {
            i += 1;
            let cms = cms.clone();
            let old_rv = old_rv.clone();
            let n = i;
            async move {
                let cm: ConfigMap =
                    serde_json::from_value(json!({"metadata": {"name": format!("new-{n}")}}))
                        .unwrap();
                cms.create(&PostParams::default(), &cm).await.ok()?;
                let mut stream = cms
                    .watch(&WatchParams::default().timeout(2), &old_rv)
                    .await
                    .ok()?
                    .boxed();
                match tokio::time::timeout(Duration::from_secs(3), stream.next()).await {
                    Ok(Some(Ok(WatchEvent::Error(e)))) => Some(e),
                    _ => None,
                }
            }
        },
    )
    .await;
    assert_eq!(status.code, 410);
    assert_eq!(status.reason, "Expired");
    assert!(
        status.message.starts_with("too old resource version: "),
        "{}",
        status.message
    );
}
