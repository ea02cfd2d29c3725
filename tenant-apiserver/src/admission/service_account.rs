//! ServiceAccount admission: a pod runs as a service account (`default` unless named) that must
//! exist, and unless `automountServiceAccountToken: false` gets the projected
//! `kube-api-access-*` volume (bound token, CA, namespace) mounted in every container.
//!
//! As upstream, only pod creates are mutated and validated; mirror pods (the kubelet's static
//! pods) are not mutated and may reference neither service accounts nor secrets.

use std::time::Duration;

use serde_json::{Value, json};
use warren_apimachinery::error::ApiError;

use super::quota::{forbidden, object_name};
use super::{Operation, Request};
use crate::handlers::store_error;
use crate::object::decode_stored;
use crate::server::ApiServer;

/// The service account of pods that name none.
const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// Where the token volume is mounted.
const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The name prefix of the token volume.
const VOLUME_PREFIX: &str = "kube-api-access-";
/// The kubelet's static pods carry this annotation.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";
/// A service account annotated `true` limits the secrets its pods may reference.
const ENFORCE_MOUNTABLE_SECRETS: &str = "kubernetes.io/enforce-mountable-secrets";
/// The alphabet of generated name suffixes (`names.SimpleNameGenerator`).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn applies(req: &Request<'_>) -> bool {
    req.is_main("", "pods") && req.operation == Operation::Create
}

fn is_mirror_pod(pod: &Value) -> bool {
    pod.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION))
}

fn service_account_name(pod: &Value) -> &str {
    pod.pointer("/spec/serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `getServiceAccount`: the `default` account is looked up a few times, since the namespace
/// controller creates it just after the namespace (as upstream's 10 tries).
async fn get_service_account(
    api: &ApiServer,
    ns: &str,
    name: &str,
) -> Result<Option<Value>, ApiError> {
    let Some(info) = api.registry.lookup("", "v1", "serviceaccounts") else {
        return Ok(None);
    };
    let key = info.key(Some(ns), name);
    let attempts = if name == DEFAULT_SERVICE_ACCOUNT {
        10
    } else {
        1
    };
    for attempt in 0..attempts {
        if attempt > 0 {
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 100;
            tokio::time::sleep(Duration::from_millis(100 + jitter)).await;
        }
        if let Some(kv) = api
            .store
            .get(&key)
            .await
            .map_err(|e| store_error(e, &info, name))?
        {
            return Ok(Some(decode_stored(&kv.value, kv.mod_revision)));
        }
    }
    Ok(None)
}

async fn lookup_or_refuse(
    api: &ApiServer,
    req: &Request<'_>,
    ns: &str,
    pod: &Value,
) -> Result<Value, ApiError> {
    let sa_name = service_account_name(pod);
    match get_service_account(api, ns, sa_name).await {
        Ok(Some(sa)) => Ok(sa),
        Ok(None) => Err(forbidden(
            req.info,
            object_name(req, pod),
            format!(
                "error looking up service account {ns}/{sa_name}: serviceaccount \"{sa_name}\" not found"
            ),
        )),
        Err(e) => Err(forbidden(
            req.info,
            object_name(req, pod),
            format!(
                "error looking up service account {ns}/{sa_name}: {}",
                e.message
            ),
        )),
    }
}

/// Sets the service account and adds the projected token volume and mounts.
pub async fn admit(api: &ApiServer, req: &Request<'_>, obj: &mut Value) -> Result<(), ApiError> {
    let (true, Some(ns)) = (applies(req), req.namespace) else {
        return Ok(());
    };
    if is_mirror_pod(obj) {
        return Ok(());
    }
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let name = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_SERVICE_ACCOUNT)
        .to_string();
    spec.insert("serviceAccountName".into(), json!(name));
    spec.insert("serviceAccount".into(), json!(name));
    let sa = lookup_or_refuse(api, req, ns, obj).await?;
    if should_automount(&sa, obj) {
        mount_token(obj, &random_suffix());
    }
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let pod_has_pull_secrets = spec
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !pod_has_pull_secrets
        && let Some(secrets) = sa
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
    {
        let refs: Vec<Value> = secrets
            .iter()
            .map(|s| json!({"name": s.get("name").cloned().unwrap_or(json!(""))}))
            .collect();
        spec.insert("imagePullSecrets".into(), Value::Array(refs));
    }
    Ok(())
}

/// The pod's `automountServiceAccountToken` wins, then the service account's; default true.
fn should_automount(sa: &Value, pod: &Value) -> bool {
    pod.pointer("/spec/automountServiceAccountToken")
        .and_then(Value::as_bool)
        .or_else(|| {
            sa.get("automountServiceAccountToken")
                .and_then(Value::as_bool)
        })
        .unwrap_or(true)
}

fn random_suffix() -> String {
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| NAME_ALPHABET[*b as usize % NAME_ALPHABET.len()] as char)
        .collect()
}

/// The projected volume of a bound token, the cluster CA and the namespace (`TokenVolumeSource`).
fn token_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ],
            "defaultMode": 420
        }
    })
}

/// `mountServiceAccountToken`: every init container and container without a mount at the token
/// path gets one; the volume is added if a container needed it and none exists yet.
fn mount_token(pod: &mut Value, suffix: &str) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|n| n.starts_with(VOLUME_PREFIX))
        .map(str::to_string);
    let volume_name = existing
        .clone()
        .unwrap_or_else(|| format!("{VOLUME_PREFIX}{suffix}"));
    let mount = json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
    let mut needs_volume = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let mounted = c
                .get("volumeMounts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH));
            if mounted {
                continue;
            }
            let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
            if !mounts.is_array() {
                *mounts = json!([]);
            }
            if let Some(a) = mounts.as_array_mut() {
                a.push(mount.clone());
            }
            needs_volume = true;
        }
    }
    if existing.is_none() && needs_volume {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if !volumes.is_array() {
            *volumes = json!([]);
        }
        if let Some(a) = volumes.as_array_mut() {
            a.push(token_volume(&volume_name));
        }
    }
}

/// Refuses pods whose service account does not exist.
pub async fn validate(api: &ApiServer, req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    let (true, Some(ns)) = (applies(req), req.namespace) else {
        return Ok(());
    };
    let name = object_name(req, obj);
    if is_mirror_pod(obj) {
        return validate_mirror_pod(req, name, obj);
    }
    if service_account_name(obj).is_empty() {
        return Err(forbidden(
            req.info,
            name,
            format!("no service account specified for pod {ns}/{}", req.name),
        ));
    }
    let sa = lookup_or_refuse(api, req, ns, obj).await?;
    let enforce = sa
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ENFORCE_MOUNTABLE_SECRETS))
        .and_then(Value::as_str)
        .is_some_and(|v| matches!(v, "true" | "1" | "t" | "T" | "TRUE" | "True"));
    if enforce && let Err(why) = limit_secret_references(&sa, obj) {
        return Err(forbidden(req.info, name, why));
    }
    Ok(())
}

fn validate_mirror_pod(req: &Request<'_>, name: &str, pod: &Value) -> Result<(), ApiError> {
    if !service_account_name(pod).is_empty() {
        return Err(forbidden(
            req.info,
            name,
            "a mirror pod may not reference service accounts",
        ));
    }
    if references_secrets(pod) {
        return Err(forbidden(
            req.info,
            name,
            "a mirror pod may not reference secrets",
        ));
    }
    let projects_token = volumes(pod).any(|v| {
        v.pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|s| s.get("serviceAccountToken").is_some())
    });
    if projects_token {
        return Err(forbidden(
            req.info,
            name,
            "a mirror pod may not use ServiceAccountToken volume projections",
        ));
    }
    Ok(())
}

fn volumes(pod: &Value) -> impl Iterator<Item = &Value> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn all_containers(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |list| {
            pod.pointer(&format!("/spec/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
}

/// Whether the pod names any secret (`VisitPodSecretNames`).
fn references_secrets(pod: &Value) -> bool {
    let pull = pod
        .pointer("/spec/imagePullSecrets")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let env = all_containers(pod).any(|c| {
        c.get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|e| e.get("secretRef").is_some())
            || c.get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|e| e.pointer("/valueFrom/secretKeyRef").is_some())
    });
    let vols = volumes(pod).any(|v| {
        v.get("secret").is_some()
            || v.pointer("/projected/sources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|s| s.get("secret").is_some())
            || [
                "azureFile",
                "cephfs",
                "cinder",
                "flexVolume",
                "iscsi",
                "rbd",
                "scaleIO",
                "storageos",
                "csi",
            ]
            .iter()
            .any(|k| {
                v.get(*k).is_some_and(|s| {
                    s.get("secretRef").is_some()
                        || s.get("secretName").is_some()
                        || s.get("nodePublishSecretRef").is_some()
                })
            })
    });
    pull || env || vols
}

/// `limitSecretReferences`: with `kubernetes.io/enforce-mountable-secrets: "true"`, a pod may
/// reference only the secrets its service account lists.
fn limit_secret_references(sa: &Value, pod: &Value) -> Result<(), String> {
    let names = |field: &str| -> Vec<String> {
        sa.get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("name").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    };
    let mountable = names("secrets");
    let pullable = names("imagePullSecrets");
    let sa_name = sa
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    for v in volumes(pod) {
        if let Some(secret) = v.pointer("/secret/secretName").and_then(Value::as_str)
            && !mountable.iter().any(|m| m == secret)
        {
            return Err(format!(
                "volume with secret.secretName=\"{secret}\" is not allowed because service account {sa_name} does not reference that secret"
            ));
        }
    }
    for (list, what) in [
        ("initContainers", "init container"),
        ("containers", "container"),
    ] {
        for c in pod
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                if let Some(secret) = e
                    .pointer("/valueFrom/secretKeyRef/name")
                    .and_then(Value::as_str)
                    && !mountable.iter().any(|m| m == secret)
                {
                    let env = e.get("name").and_then(Value::as_str).unwrap_or("");
                    return Err(format!(
                        "{what} {cname} with envVar {env} referencing secret.secretName=\"{secret}\" is not allowed because service account {sa_name} does not reference that secret"
                    ));
                }
            }
            for e in c
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(secret) = e.pointer("/secretRef/name").and_then(Value::as_str)
                    && !mountable.iter().any(|m| m == secret)
                {
                    return Err(format!(
                        "{what} {cname} with envFrom referencing secret.secretName=\"{secret}\" is not allowed because service account {sa_name} does not reference that secret"
                    ));
                }
            }
        }
    }
    for (i, r) in pod
        .pointer("/spec/imagePullSecrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let secret = r.get("name").and_then(Value::as_str).unwrap_or("");
        if !pullable.iter().any(|p| p == secret) {
            return Err(format!(
                "imagePullSecrets[{i}].name=\"{secret}\" is not allowed because service account {sa_name} does not reference that imagePullSecret"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_mounted_in_every_container_once() {
        let mut pod = json!({"spec": {
            "initContainers": [{"name": "init"}],
            "containers": [
                {"name": "a"},
                {"name": "b", "volumeMounts": [{"name": "own", "mountPath": TOKEN_MOUNT_PATH}]}
            ]
        }});
        mount_token(&mut pod, "abcde");
        let mount = json!({"name": "kube-api-access-abcde", "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
        assert_eq!(
            pod.pointer("/spec/initContainers/0/volumeMounts/0"),
            Some(&mount)
        );
        assert_eq!(
            pod.pointer("/spec/containers/0/volumeMounts/0"),
            Some(&mount)
        );
        assert_eq!(
            pod.pointer("/spec/containers/1/volumeMounts")
                .and_then(Value::as_array)
                .map(Vec::len),
            Some(1)
        );
        assert_eq!(
            pod.pointer("/spec/volumes/0"),
            Some(&token_volume("kube-api-access-abcde"))
        );
        assert_eq!(
            pod.pointer(
                "/spec/volumes/0/projected/sources/0/serviceAccountToken/expirationSeconds"
            ),
            Some(&json!(3607))
        );
    }

    #[test]
    fn automount_prefers_the_pod_then_the_account() {
        let sa_off = json!({"automountServiceAccountToken": false});
        let pod_on = json!({"spec": {"automountServiceAccountToken": true}});
        assert!(should_automount(&sa_off, &pod_on));
        assert!(!should_automount(&sa_off, &json!({"spec": {}})));
        assert!(should_automount(&json!({}), &json!({"spec": {}})));
    }

    #[test]
    fn suffixes_use_the_name_alphabet() {
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|b| NAME_ALPHABET.contains(&b)));
    }

    #[test]
    fn enforced_accounts_limit_secret_references() {
        let sa = json!({"metadata": {"name": "sa"}, "secrets": [{"name": "ok"}]});
        let pod = json!({"spec": {"volumes": [{"name": "v", "secret": {"secretName": "nope"}}]}});
        assert_eq!(
            limit_secret_references(&sa, &pod),
            Err("volume with secret.secretName=\"nope\" is not allowed because service account sa does not reference that secret".into())
        );
    }
}
