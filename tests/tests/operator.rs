//! An operator in the test process: a kube-rs `Controller` reconciles a `Website` custom
//! resource into a Deployment it owns (server-side apply with a controller ownerReference) and
//! writes the Website's `status.availableReplicas` from the Deployment's. With a fake kubelet
//! making pods Ready, the built-in Deployment and ReplicaSet controllers bring the children up
//! and the operator sees them become available, including after a scale of the Website.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::oneshot;
use warren_tests::kubelet::FakeKubelet;
use warren_tests::{TestServer, eventually_async};

const MANAGER: &str = "website-operator";
const DEADLINE: Duration = Duration::from_secs(40);

fn website_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Website"),
        "websites",
    )
}

fn website_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "websites.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "websites", "singular": "website", "kind": "Website"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer"}, "image": {"type": "string"}}},
                    "status": {"type": "object", "properties": {
                        "availableReplicas": {"type": "integer"}}}
                }}}
            }]
        }
    }))
    .expect("a valid CRD")
}

struct Ctx {
    client: Client,
}

/// Applies the Website's Deployment and copies its availability into the Website's status.
async fn reconcile(site: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    let name = site.metadata.name.clone().unwrap_or_default();
    let ns = site.metadata.namespace.clone().unwrap_or_default();
    let uid = site.metadata.uid.clone().unwrap_or_default();
    let replicas = site.data["spec"]["replicas"].as_i64().unwrap_or(1);
    let image = site.data["spec"]["image"].as_str().unwrap_or("nginx");
    let labels = json!({"app.kubernetes.io/name": "website", "website": name});
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": format!("{name}-web"),
            "labels": labels,
            "ownerReferences": [{"apiVersion": "example.com/v1", "kind": "Website", "name": name,
                "uid": uid, "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    });
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let applied = deployments
        .patch(
            &format!("{name}-web"),
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&deployment),
        )
        .await?;
    let available = applied
        .status
        .and_then(|s| s.available_replicas)
        .unwrap_or(0);
    let sites: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &website_resource());
    sites
        .patch_status(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&json!({
                "apiVersion": "example.com/v1",
                "kind": "Website",
                "metadata": {"name": name},
                "status": {"availableReplicas": available},
            })),
        )
        .await?;
    Ok(Action::await_change())
}

fn error_policy(_site: Arc<DynamicObject>, error: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    eprintln!("reconcile failed: {error}");
    Action::requeue(Duration::from_millis(500))
}

async fn available_of(sites: &Api<DynamicObject>, name: &str) -> Option<i64> {
    let site = sites.get(name).await.ok()?;
    site.data["status"]["availableReplicas"].as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_its_deployments_become_available() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &website_crd())
        .await
        .expect("create the CRD");
    let sites: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &website_resource());
    eventually_async(DEADLINE, "websites to be served", || {
        let sites = sites.clone();
        async move { sites.list(&Default::default()).await.ok().map(|_| ()) }
    })
    .await;
    let _kubelet = FakeKubelet::start(client.clone(), "default", "node-1")
        .await
        .expect("fake kubelet");

    // The operator: Websites, and the Deployments they own.
    let (stop, stopped) = oneshot::channel::<()>();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
    });
    let all_sites: Api<DynamicObject> = Api::all_with(client.clone(), &website_resource());
    let owned: Api<Deployment> = Api::all(client.clone());
    let operator = tokio::spawn(async move {
        Controller::new_with(all_sites, watcher::Config::default(), website_resource())
            .owns(owned, watcher::Config::default())
            .graceful_shutdown_on(async move {
                let _ = stopped.await;
            })
            .run(reconcile, error_policy, ctx)
            .for_each(|_| async {})
            .await;
    });

    let site: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1",
        "kind": "Website",
        "metadata": {"name": "blog"},
        "spec": {"replicas": 2, "image": "nginx"},
    }))
    .unwrap();
    sites
        .create(&PostParams::default(), &site)
        .await
        .expect("create the Website");

    eventually_async(
        DEADLINE,
        "the Website to report 2 available replicas",
        || {
            let sites = sites.clone();
            async move { (available_of(&sites, "blog").await == Some(2)).then_some(()) }
        },
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d = deployments
        .get("blog-web")
        .await
        .expect("the child Deployment");
    let owner = &d.metadata.owner_references.as_ref().expect("owned")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Website", Some(true))
    );
    assert_eq!(d.status.as_ref().and_then(|s| s.ready_replicas), Some(2));

    // Scaling the Website flows down to pods and back up to its status.
    sites
        .patch(
            "blog",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scale the Website");
    eventually_async(
        DEADLINE,
        "the Website to report 3 available replicas",
        || {
            let sites = sites.clone();
            async move { (available_of(&sites, "blog").await == Some(3)).then_some(()) }
        },
    )
    .await;

    let _ = stop.send(());
    tokio::time::timeout(DEADLINE, operator)
        .await
        .expect("the operator stops")
        .expect("the operator does not panic");
}
