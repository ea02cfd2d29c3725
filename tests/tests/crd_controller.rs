//! A kube-rs controller for a custom resource: the CRD is created through the API, a
//! `kube::runtime::Controller` over `DynamicObject`s copies `spec.replicas` into
//! `status.observedReplicas` with server-side apply on the status subresource, the status
//! converges, and after the server and the controller restart (same data directory) an
//! object changed while both were down is reconciled. managedFields show the controller's
//! Apply entry for the status subresource.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warren_tests::{TestServer, eventually_async};

const MANAGER: &str = "warren-test-controller";
const DEADLINE: Duration = Duration::from_secs(30);

fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("stable.example.com", "v1", "Widget"),
        "widgets",
    )
}

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "properties": {
                            "replicas": {"type": "integer"}
                        }},
                        "status": {"type": "object", "properties": {
                            "observedReplicas": {"type": "integer"},
                            "observedGeneration": {"type": "integer"}
                        }}
                    }
                }}
            }]
        }
    }))
    .expect("a valid CustomResourceDefinition")
}

/// What the reconciler needs: a client and the resource it writes.
struct Context {
    client: Client,
    resource: ApiResource,
}

/// Level-triggered and idempotent: applies `status.observedReplicas = spec.replicas` (and
/// the generation it saw) as the controller's field manager on the status subresource.
async fn reconcile(widget: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    let name = widget.metadata.name.clone().unwrap_or_default();
    let namespace = widget.metadata.namespace.clone().unwrap_or_default();
    let replicas = widget.data["spec"]["replicas"].as_i64().unwrap_or(0);
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &namespace, &ctx.resource);
    let status = json!({
        "apiVersion": "stable.example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "status": {
            "observedReplicas": replicas,
            "observedGeneration": widget.metadata.generation,
        }
    });
    api.patch_status(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&status),
    )
    .await?;
    Ok(Action::await_change())
}

/// Requeues after a failure; prints each distinct error once (shown when the test fails).
fn error_policy(_widget: Arc<DynamicObject>, error: &kube::Error, _ctx: Arc<Context>) -> Action {
    static LAST: Mutex<String> = Mutex::new(String::new());
    let text = error.to_string();
    let mut last = LAST.lock().unwrap();
    if *last != text {
        eprintln!("reconcile failed: {text}");
        *last = text;
    }
    Action::requeue(Duration::from_millis(500))
}

/// A running controller: dropping the sender (or sending) shuts it down gracefully.
struct RunningController {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningController {
    fn start(client: Client) -> RunningController {
        let resource = widget_resource();
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let ctx = Arc::new(Context {
            client,
            resource: resource.clone(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            Controller::new_with(api, watcher::Config::default(), resource)
                .graceful_shutdown_on(async move {
                    let _ = stopped.await;
                })
                .run(reconcile, error_policy, ctx)
                .for_each(|_| async {})
                .await;
        });
        RunningController { stop, task }
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the controller stops within the deadline")
            .expect("the controller task does not panic");
    }
}

/// Creates the CRD and waits until it is Established and its resource answers a list.
async fn install_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &widget_crd())
        .await
        .expect("create the Widget CRD");
    eventually_async(DEADLINE, "the Widget CRD to be Established", || {
        let crds = crds.clone();
        async move {
            let crd = crds.get("widgets.stable.example.com").await.ok()?;
            let established = crd
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        }
    })
    .await;
    let widgets: Api<DynamicObject> = Api::all_with(client.clone(), &widget_resource());
    eventually_async(DEADLINE, "widgets to be served", || {
        let widgets = widgets.clone();
        async move { widgets.list(&Default::default()).await.ok().map(|_| ()) }
    })
    .await;
}

fn widgets(client: &Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), "default", &widget_resource())
}

async fn create_widget(client: &Client, name: &str, replicas: i64) {
    let widget =
        DynamicObject::new(name, &widget_resource()).data(json!({"spec": {"replicas": replicas}}));
    widgets(client)
        .create(&PostParams::default(), &widget)
        .await
        .unwrap_or_else(|e| panic!("create widget {name}: {e}"));
}

/// Waits until widget `name` has `status.observedReplicas == replicas`.
async fn wait_observed(client: &Client, name: &str, replicas: i64) -> DynamicObject {
    let api = widgets(client);
    eventually_async(
        DEADLINE,
        &format!("widget {name} to have status.observedReplicas = {replicas}"),
        || {
            let api = api.clone();
            async move {
                let w = api.get(name).await.ok()?;
                (w.data["status"]["observedReplicas"] == json!(replicas)).then_some(w)
            }
        },
    )
    .await
}

/// The controller's managedFields entry, checked to be an Apply on the status subresource
/// owning `status.observedReplicas` and nothing of the spec.
fn check_controller_entry(widget: &DynamicObject) {
    let entries = widget.metadata.managed_fields.clone().unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| e.manager.as_deref() == Some(MANAGER))
        .unwrap_or_else(|| panic!("no managedFields entry for {MANAGER}: {entries:#?}"));
    assert_eq!(entry.operation.as_deref(), Some("Apply"), "{entry:#?}");
    assert_eq!(entry.subresource.as_deref(), Some("status"), "{entry:#?}");
    assert_eq!(
        entry.api_version.as_deref(),
        Some("stable.example.com/v1"),
        "{entry:#?}"
    );
    assert_eq!(entry.fields_type.as_deref(), Some("FieldsV1"), "{entry:#?}");
    let fields: Value = entry
        .fields_v1
        .as_ref()
        .map(|f| f.0.clone())
        .expect("fieldsV1");
    assert!(
        fields["f:status"].get("f:observedReplicas").is_some(),
        "the controller should own status.observedReplicas: {fields}"
    );
    assert_eq!(
        fields.get("f:spec"),
        None,
        "the controller owns no spec field: {fields}"
    );
    // Whoever created the object holds the spec through an Update entry.
    assert!(
        entries
            .iter()
            .any(|e| e.operation.as_deref() == Some("Update")
                && e.subresource.is_none()
                && e.fields_v1
                    .as_ref()
                    .is_some_and(|f| f.0.get("f:spec").is_some())),
        "expected an Update entry owning the spec: {entries:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_sets_status_and_catches_up_after_a_restart() {
    let data_dir = tempfile::TempDir::with_prefix("warren-crd-controller-").expect("temp dir");
    let mut server = TestServer::start_in(data_dir.path()).expect("server starts");
    let client = server.client().await.expect("client");
    install_crd(&client).await;

    create_widget(&client, "alpha", 2).await;
    create_widget(&client, "beta", 3).await;
    let controller = RunningController::start(client.clone());
    let alpha = wait_observed(&client, "alpha", 2).await;
    wait_observed(&client, "beta", 3).await;
    check_controller_entry(&alpha);
    assert_eq!(
        alpha.data["status"]["observedGeneration"],
        json!(1),
        "{alpha:?}"
    );
    assert_eq!(
        alpha.data["spec"]["replicas"],
        json!(2),
        "status writes keep the spec"
    );

    // A change while everything runs is picked up through the watch.
    widgets(&client)
        .patch(
            "beta",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("patch beta");
    let beta = wait_observed(&client, "beta", 5).await;
    assert_eq!(
        beta.data["status"]["observedGeneration"],
        json!(2),
        "{beta:?}"
    );

    // Stop the controller and the server.
    controller.shutdown().await;
    drop(client);
    server.stop().expect("server stops on SIGTERM");
    drop(server);

    // The server comes back on the same data: the CRD and its objects are still there.
    let server = TestServer::start_in(data_dir.path()).expect("server restarts");
    let client = server.client().await.expect("client");
    let widget_api = widgets(&client);
    eventually_async(DEADLINE, "widgets to be served after the restart", || {
        let api = widget_api.clone();
        async move { api.list(&Default::default()).await.ok().map(|_| ()) }
    })
    .await;
    let alpha = widget_api
        .get("alpha")
        .await
        .expect("alpha survived the restart");
    assert_eq!(
        alpha.data["status"]["observedReplicas"],
        json!(2),
        "{alpha:?}"
    );
    check_controller_entry(&alpha);

    // While the controller is down, alpha changes and gamma appears.
    widget_api
        .patch(
            "alpha",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await
        .expect("patch alpha");
    create_widget(&client, "gamma", 4).await;
    assert_eq!(
        widget_api.get("alpha").await.unwrap().data["status"]["observedReplicas"],
        json!(2),
        "nothing reconciles while the controller is down"
    );

    // The restarted controller lists, sees both, and reconciles them.
    let controller = RunningController::start(client.clone());
    let alpha = wait_observed(&client, "alpha", 7).await;
    wait_observed(&client, "gamma", 4).await;
    wait_observed(&client, "beta", 5).await;
    check_controller_entry(&alpha);
    let entries = alpha.metadata.managed_fields.clone().unwrap_or_default();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.manager.as_deref() == Some(MANAGER))
            .count(),
        1,
        "one entry per manager, operation and subresource: {entries:#?}"
    );
    controller.shutdown().await;
}
