//! The built-in controllers a tenant needs from its API server alone: bootstrap of the system
//! namespaces and the `kubernetes` Service, and namespace lifecycle (each namespace gets its
//! `default` ServiceAccount and `kube-root-ca.crt`; a deleted namespace is emptied, finalized
//! and removed).
//!
//! The namespace controller is level-triggered: any namespace event, or a periodic tick, makes
//! it look at every namespace and repair what is missing.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;
use warren_store::StoreError;

use crate::handlers::{DeleteOptions, plain_store_error};
use crate::object::{self, decode_stored, encode_for_store};
use crate::server::ApiServer;

/// The namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

const NAMESPACE_PREFIX: &str = "/registry/core/namespaces/";

/// Creates an object if its key is free (used for bootstrap objects).
async fn ensure(
    api: &ApiServer,
    info: &ResourceInfo,
    ns: Option<&str>,
    mut obj: Value,
) -> Result<(), ApiError> {
    let name = object::name(&obj).to_string();
    let key = info.key(ns, &name);
    if api
        .store
        .get(&key)
        .await
        .map_err(plain_store_error)?
        .is_some()
    {
        return Ok(());
    }
    let meta = object::metadata_mut(&mut obj).expect("object");
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
    if let Some(ns) = ns {
        meta.insert("namespace".into(), json!(ns));
    }
    obj["apiVersion"] = json!(info.api_version());
    obj["kind"] = json!(info.kind);
    warren_apimachinery::kinds::apply_defaults(info, &mut obj);
    match api.store.create(&key, encode_for_store(&obj)).await {
        Ok(_) | Err(StoreError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(plain_store_error(e)),
    }
}

fn lookup(api: &ApiServer, plural: &str) -> ResourceInfo {
    (*api
        .registry
        .lookup("", "v1", plural)
        .expect("core resource is registered"))
    .clone()
}

/// Creates the system namespaces and the `kubernetes` Service with its Endpoints.
pub async fn bootstrap(api: &ApiServer, ca_pem: &str) -> Result<(), ApiError> {
    let ns_info = lookup(api, "namespaces");
    for ns in SYSTEM_NAMESPACES {
        ensure(
            api,
            &ns_info,
            None,
            json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        )
        .await?;
        namespace_defaults(api, ns, ca_pem).await?;
    }
    // RBAC's default roles and bindings (cluster-admin for system:masters, admin/edit/view,
    // discovery for everyone authenticated), as kube-apiserver's bootstrap policy.
    let rbac_info = |plural: &str| {
        (*api
            .registry
            .lookup("rbac.authorization.k8s.io", "v1", plural)
            .expect("RBAC resources are registered"))
        .clone()
    };
    let roles = rbac_info("clusterroles");
    for role in warren_apimachinery::rbac::bootstrap_cluster_roles() {
        ensure(api, &roles, None, role).await?;
    }
    let bindings = rbac_info("clusterrolebindings");
    for binding in warren_apimachinery::rbac::bootstrap_cluster_role_bindings() {
        ensure(api, &bindings, None, binding).await?;
    }
    let svc = lookup(api, "services");
    ensure(
        api,
        &svc,
        Some("default"),
        json!({
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}], "sessionAffinity": "None", "type": "ClusterIP"},
        }),
    )
    .await?;
    let port: u16 = api
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(6443);
    let ep = lookup(api, "endpoints");
    ensure(
        api,
        &ep,
        Some("default"),
        json!({
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
        }),
    )
    .await?;
    Ok(())
}

/// The `default` ServiceAccount and `kube-root-ca.crt` ConfigMap of a namespace.
async fn namespace_defaults(api: &ApiServer, ns: &str, ca_pem: &str) -> Result<(), ApiError> {
    ensure(
        api,
        &lookup(api, "serviceaccounts"),
        Some(ns),
        json!({"metadata": {"name": "default"}}),
    )
    .await?;
    ensure(
        api,
        &lookup(api, "configmaps"),
        Some(ns),
        json!({
            "metadata": {"name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": ca_pem},
        }),
    )
    .await
}

/// Runs the namespace controller until `cancel`.
pub async fn run_namespace_controller(
    api: Arc<ApiServer>,
    ca_pem: String,
    cancel: CancellationToken,
) {
    let mut events = match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
        Ok(s) => s.live,
        Err(_) => return,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
            ev = events.recv() => match ev {
                Ok(ev) if ev.key.starts_with(NAMESPACE_PREFIX) => {}
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                // The watch cache started over after a gap: follow its new feed.
                Err(broadcast::error::RecvError::Closed) => {
                    match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
                        Ok(s) => events = s.live,
                        Err(_) => return,
                    }
                }
            }
        }
        if let Err(err) = reconcile_namespaces(&api, &ca_pem).await {
            tracing::warn!(error = %err.message, "namespace reconcile failed");
        }
        if let Err(err) = aggregate_cluster_roles(&api).await {
            tracing::warn!(error = %err.message, "ClusterRole aggregation failed");
        }
    }
}

/// The ClusterRole aggregation controller: a ClusterRole with an `aggregationRule` gets the
/// rules of every ClusterRole its selectors match (admin, edit and view from the
/// `aggregate-to-*` roles, and the tenant's own).
async fn aggregate_cluster_roles(api: &ApiServer) -> Result<(), ApiError> {
    let Some(info) = api
        .registry
        .lookup("rbac.authorization.k8s.io", "v1", "clusterroles")
    else {
        return Ok(());
    };
    let res = api
        .store
        .range(&info.key_prefix(), "", 0, None)
        .await
        .map_err(plain_store_error)?;
    let stored: Vec<Value> = res
        .kvs
        .iter()
        .map(|kv| decode_stored(&kv.value, kv.mod_revision))
        .collect();
    let mut aggregated = stored.clone();
    warren_apimachinery::rbac::aggregate_cluster_roles(&mut aggregated);
    for ((kv, before), after) in res.kvs.iter().zip(&stored).zip(aggregated) {
        if before.get("aggregationRule").is_none() || before.get("rules") == after.get("rules") {
            continue;
        }
        let mut new = after;
        if let Some(meta) = object::metadata_mut(&mut new) {
            meta.remove("resourceVersion");
        }
        match api
            .store
            .update(&kv.key, encode_for_store(&new), kv.mod_revision)
            .await
        {
            Ok(_) | Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(plain_store_error(e)),
        }
    }
    Ok(())
}

async fn reconcile_namespaces(api: &ApiServer, ca_pem: &str) -> Result<(), ApiError> {
    let all = api
        .store
        .range(NAMESPACE_PREFIX, "", 0, None)
        .await
        .map_err(plain_store_error)?;
    for kv in all.kvs {
        let ns = decode_stored(&kv.value, kv.mod_revision);
        let name = object::name(&ns).to_string();
        let span = tracing::debug_span!("namespace", namespace = %name);
        let _g = span.enter();
        if object::is_deleting(&ns) {
            drop(_g);
            finalize_namespace(api, &name, &kv).await?;
        } else {
            namespace_defaults(api, &name, ca_pem).await?;
        }
    }
    Ok(())
}

/// Deletes everything in a terminating namespace; once it is empty, clears the `kubernetes`
/// finalizer so that the namespace itself goes.
async fn finalize_namespace(
    api: &ApiServer,
    ns: &str,
    ns_kv: &warren_store::KeyValue,
) -> Result<(), ApiError> {
    let mut remaining = 0usize;
    for info in api.registry.all().iter().filter(|r| r.namespaced) {
        let res = api
            .store
            .range(&info.namespace_prefix(Some(ns)), "", 0, None)
            .await
            .map_err(plain_store_error)?;
        for kv in res.kvs {
            remaining += 1;
            let obj = decode_stored(&kv.value, kv.mod_revision);
            if object::is_deleting(&obj) {
                continue;
            }
            let name = object::name(&obj).to_string();
            match api
                .delete_object(
                    info,
                    Some(ns),
                    &name,
                    // As upstream's namespace controller: background, so nothing is orphaned.
                    &DeleteOptions {
                        propagation: Some("Background".into()),
                        ..Default::default()
                    },
                    None,
                )
                .await
            {
                Ok((_, true)) => remaining -= 1,
                Ok((_, false)) => {}
                Err(e) if e.code == 404 => remaining -= 1,
                Err(e) => return Err(e),
            }
        }
    }
    if remaining > 0 {
        return Ok(());
    }
    // Empty: drop spec.finalizers "kubernetes"; the namespace goes when nothing else holds it.
    let info = lookup(api, "namespaces");
    let old = decode_stored(&ns_kv.value, ns_kv.mod_revision);
    let mut new = old.clone();
    let finalizers: Vec<Value> = old
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|f| f.as_str() != Some("kubernetes"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    new["spec"]["finalizers"] = json!(finalizers);
    match api
        .write_update(
            &info,
            None,
            ns,
            ns_kv,
            &old,
            new,
            Some("finalize"),
            false,
            None,
            None,
        )
        .await
    {
        Ok(_) | Err(crate::handlers::WriteError::Conflict) => Ok(()),
        Err(crate::handlers::WriteError::Api(e)) if e.code == 404 => Ok(()),
        Err(crate::handlers::WriteError::Api(e)) => Err(e),
    }
}
