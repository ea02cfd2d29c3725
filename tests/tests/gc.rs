//! The garbage collector end to end: background, foreground and orphan propagation driven with
//! `kubectl delete --cascade=...`, dependents of owners that never existed, invalid
//! cross-namespace references, and the cascade through a Deployment's ReplicaSets and Pods.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::core::Resource;
use serde_json::{Value, json};
use warren_tests::{Kubectl, TestServer, eventually};

const WAIT: Duration = Duration::from_secs(30);

fn get_json(k: &Kubectl, args: &[&str]) -> Option<Value> {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = k.run(&all);
    out.success()
        .then(|| serde_json::from_str(&out.stdout).expect("kubectl prints JSON"))
}

fn uid(k: &Kubectl, ns: &str, kind: &str, name: &str) -> String {
    k.ok(&[
        "get",
        kind,
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.uid}",
    ])
}

/// A ConfigMap owned by `owners` (name, uid, blockOwnerDeletion), with extra metadata.
fn dependent_yaml(name: &str, owners: &[(&str, &str, bool)], extra_meta: Value) -> String {
    let refs: Vec<Value> = owners
        .iter()
        .map(|(n, u, block)| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": u, "blockOwnerDeletion": block})
        })
        .collect();
    let mut meta = json!({"name": name, "ownerReferences": refs});
    if let (Some(m), Some(e)) = (meta.as_object_mut(), extra_meta.as_object()) {
        m.extend(e.clone());
    }
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}})
        .to_string()
}

fn gone(k: &Kubectl, ns: &str, kind: &str, name: &str) -> bool {
    get_json(k, &["get", kind, name, "-n", ns]).is_none()
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r["uid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn background_delete_collects_dependents_and_trims_shared_ones() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&["create", "namespace", "bg"]);
    k.ok(&["create", "configmap", "owner", "-n", "bg"]);
    k.ok(&["create", "configmap", "other", "-n", "bg"]);
    let owner = uid(&k, "bg", "configmap", "owner");
    let other = uid(&k, "bg", "configmap", "other");
    for (name, owners) in [
        ("dep-a", vec![("owner", owner.as_str(), false)]),
        ("dep-b", vec![("owner", owner.as_str(), true)]),
        (
            "shared",
            vec![
                ("owner", owner.as_str(), false),
                ("other", other.as_str(), false),
            ],
        ),
    ] {
        k.ok_stdin(
            &["apply", "-n", "bg", "-f", "-"],
            &dependent_yaml(name, &owners, json!({})),
        );
    }
    // Solid owners: nothing is collected.
    assert!(!gone(&k, "bg", "configmap", "dep-a"));

    assert_eq!(
        k.ok(&["delete", "configmap", "owner", "-n", "bg"]),
        "configmap \"owner\" deleted from bg namespace\n"
    );
    eventually(
        WAIT,
        "dependents of the deleted owner to be collected",
        || {
            (gone(&k, "bg", "configmap", "dep-a") && gone(&k, "bg", "configmap", "dep-b"))
                .then_some(())
        },
    );
    // The dependent with a second owner stays and loses only the dangling reference.
    let shared = eventually(WAIT, "the dangling reference to be removed", || {
        let s = get_json(&k, &["get", "configmap", "shared", "-n", "bg"])?;
        (owner_uids(&s) == [other.clone()]).then_some(s)
    });
    assert_eq!(shared["metadata"]["ownerReferences"][0]["name"], "other");
    assert!(!gone(&k, "bg", "configmap", "other"));
}

/// Records the DELETED events of `api` from now on as (resourceVersion, "label/name").
async fn record_deletions<K>(
    api: Api<K>,
    label: &'static str,
    log: Arc<Mutex<Vec<(i64, String)>>>,
) -> tokio::task::JoinHandle<()>
where
    K: Resource
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("list resourceVersion");
    let mut stream = api
        .watch(&WatchParams::default(), &rv)
        .await
        .expect("watch")
        .boxed();
    tokio::spawn(async move {
        while let Ok(Some(ev)) = stream.try_next().await {
            if let WatchEvent::Deleted(obj) = ev {
                let meta = obj.meta();
                let rv: i64 = meta
                    .resource_version
                    .as_deref()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                let name = meta.name.clone().unwrap_or_default();
                log.lock().unwrap().push((rv, format!("{label}/{name}")));
            }
        }
    })
}

fn deletions(log: &Arc<Mutex<Vec<(i64, String)>>>) -> Vec<String> {
    let mut v = log.lock().unwrap().clone();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_delete_waits_for_blocking_dependents_then_goes_last() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    k.ok(&["create", "namespace", "fg"]);
    k.ok(&["create", "configmap", "owner", "-n", "fg"]);
    let owner = uid(&k, "fg", "configmap", "owner");
    // A blocking dependent held by a finalizer of its own, so that the wait can be observed.
    k.ok_stdin(
        &["apply", "-n", "fg", "-f", "-"],
        &dependent_yaml(
            "held",
            &[("owner", &owner, true)],
            json!({"finalizers": ["example.com/hold"]}),
        ),
    );
    k.ok_stdin(
        &["apply", "-n", "fg", "-f", "-"],
        &dependent_yaml("free", &[("owner", &owner, true)], json!({})),
    );
    let log = Arc::new(Mutex::new(Vec::new()));
    let watch = record_deletions(
        Api::<ConfigMap>::namespaced(client.clone(), "fg"),
        "cm",
        log.clone(),
    )
    .await;

    k.ok(&[
        "delete",
        "configmap",
        "owner",
        "-n",
        "fg",
        "--cascade=foreground",
        "--wait=false",
    ]);
    // While the held dependent exists, the owner stays, marked, with the foregroundDeletion
    // finalizer; the dependent is being deleted.
    eventually(WAIT, "the free dependent to be deleted", || {
        gone(&k, "fg", "configmap", "free").then_some(())
    });
    let held = eventually(WAIT, "the held dependent to be marked", || {
        let h = get_json(&k, &["get", "configmap", "held", "-n", "fg"])?;
        h.pointer("/metadata/deletionTimestamp")
            .is_some()
            .then_some(h)
    });
    assert_eq!(held["metadata"]["finalizers"], json!(["example.com/hold"]));
    let owner_obj =
        get_json(&k, &["get", "configmap", "owner", "-n", "fg"]).expect("owner still there");
    assert!(owner_obj.pointer("/metadata/deletionTimestamp").is_some());
    assert_eq!(
        owner_obj["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );

    // Releasing the held dependent lets it go, then the owner.
    k.ok(&[
        "patch",
        "configmap",
        "held",
        "-n",
        "fg",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    eventually(WAIT, "the owner to be gone", || {
        gone(&k, "fg", "configmap", "owner").then_some(())
    });
    let order = tokio::time::timeout(WAIT, async {
        loop {
            let d = deletions(&log);
            if d.len() == 3 {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("three deletions watched");
    assert_eq!(order, ["cm/free", "cm/held", "cm/owner"]);
    watch.abort();
}

#[test]
fn orphan_delete_keeps_dependents_without_the_reference() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&["create", "namespace", "or"]);
    k.ok(&["create", "configmap", "owner", "-n", "or"]);
    k.ok(&["create", "configmap", "other", "-n", "or"]);
    let owner = uid(&k, "or", "configmap", "owner");
    let other = uid(&k, "or", "configmap", "other");
    k.ok_stdin(
        &["apply", "-n", "or", "-f", "-"],
        &dependent_yaml("dep", &[("owner", &owner, true)], json!({})),
    );
    k.ok_stdin(
        &["apply", "-n", "or", "-f", "-"],
        &dependent_yaml(
            "both",
            &[("owner", &owner, true), ("other", &other, false)],
            json!({}),
        ),
    );
    // kubectl waits for the owner to be gone: the orphan finalizer is removed once the
    // dependents are orphaned.
    k.ok(&[
        "delete",
        "configmap",
        "owner",
        "-n",
        "or",
        "--cascade=orphan",
    ]);
    assert!(gone(&k, "or", "configmap", "owner"));
    let dep = get_json(&k, &["get", "configmap", "dep", "-n", "or"]).expect("dep stays");
    assert!(owner_uids(&dep).is_empty(), "{dep}");
    let both = get_json(&k, &["get", "configmap", "both", "-n", "or"]).expect("both stays");
    assert_eq!(owner_uids(&both), [other]);
}

#[test]
fn dependents_of_owners_that_never_existed_or_live_elsewhere_are_collected() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&["create", "namespace", "never"]);
    k.ok(&["create", "namespace", "elsewhere"]);
    k.ok(&["create", "configmap", "owner", "-n", "elsewhere"]);
    let elsewhere_uid = uid(&k, "elsewhere", "configmap", "owner");
    k.ok(&["create", "configmap", "owner", "-n", "never"]);
    // The right name, a wrong uid: the owner never existed.
    k.ok_stdin(
        &["apply", "-n", "never", "-f", "-"],
        &dependent_yaml(
            "wrong-uid",
            &[("owner", "00000000-0000-0000-0000-000000000000", false)],
            json!({}),
        ),
    );
    // A namespaced owner in another namespace: invalid, so absent.
    k.ok_stdin(
        &["apply", "-n", "never", "-f", "-"],
        &dependent_yaml("cross-ns", &[("owner", &elsewhere_uid, false)], json!({})),
    );
    // A cluster-scoped dependent naming a namespaced kind: never collected, reported.
    let cluster_dep = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "invalid-owner", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": elsewhere_uid}]},
        "rules": [],
    });
    k.ok_stdin(&["apply", "-f", "-"], &cluster_dep.to_string());

    eventually(
        WAIT,
        "dependents without a valid owner to be collected",
        || {
            (gone(&k, "never", "configmap", "wrong-uid")
                && gone(&k, "never", "configmap", "cross-ns"))
            .then_some(())
        },
    );
    // The real owners are untouched.
    assert!(!gone(&k, "never", "configmap", "owner"));
    assert!(!gone(&k, "elsewhere", "configmap", "owner"));

    let events = eventually(WAIT, "OwnerRefInvalidNamespace events", || {
        let list = get_json(
            &k,
            &[
                "get",
                "events",
                "-A",
                "--field-selector=reason=OwnerRefInvalidNamespace",
            ],
        )?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= 2).then_some(items)
    });
    let cluster_event = events
        .iter()
        .find(|e| e["involvedObject"]["name"] == "invalid-owner")
        .expect("event about the ClusterRole");
    assert_eq!(cluster_event["type"], "Warning");
    assert_eq!(cluster_event["metadata"]["namespace"], "default");
    assert_eq!(
        cluster_event["message"],
        format!(
            "ownerRef [v1/ConfigMap, namespace: , name: owner, uid: {elsewhere_uid}] does not exist in namespace \"\""
        )
    );
    let cross = events
        .iter()
        .find(|e| e["involvedObject"]["name"] == "cross-ns")
        .expect("event about the cross-namespace reference");
    assert_eq!(cross["metadata"]["namespace"], "never");
    assert_eq!(cross["source"]["component"], "garbage-collector-controller");
    assert!(
        get_json(&k, &["get", "clusterrole", "invalid-owner"]).is_some(),
        "a cluster-scoped dependent of a namespaced kind is never collected"
    );
}

#[test]
fn delete_options_are_validated() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&["create", "configmap", "c"]);
    let out = k.run(&[
        "delete",
        "--raw",
        "/api/v1/namespaces/default/configmaps/c?propagationPolicy=Foreground&orphanDependents=true",
    ]);
    assert!(!out.success());
    assert!(
        out.stderr.contains(
            "The DeleteOptions \"\" is invalid: propagationPolicy: Invalid value: \"Foreground\": orphanDependents and deletionPropagation cannot be both set"
        ),
        "{}",
        out.stderr
    );
    // The legacy orphanDependents=true alone orphans.
    k.ok(&[
        "delete",
        "--raw",
        "/api/v1/namespaces/default/configmaps/c?orphanDependents=true",
    ]);
    eventually(WAIT, "the orphaned owner to go", || {
        gone(&k, "default", "configmap", "c").then_some(())
    });
}

fn names_of(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Creates a Deployment with kubectl and waits for its ReplicaSet and pods.
fn deployment_with_pods(k: &Kubectl, ns: &str, name: &str) -> (String, Vec<String>) {
    k.ok(&[
        "create",
        "deployment",
        name,
        "--image=nginx",
        "--replicas=2",
        "-n",
        ns,
    ]);
    eventually(WAIT, "the ReplicaSet and its two pods", || {
        let rs = get_json(k, &["get", "rs", "-n", ns, "-l", &format!("app={name}")])?;
        let rs = names_of(&rs);
        let pods = names_of(&get_json(
            k,
            &["get", "pods", "-n", ns, "-l", &format!("app={name}")],
        )?);
        (rs.len() == 1 && pods.len() == 2).then(|| (rs[0].clone(), pods))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_foreground_and_orphan_cascades() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    k.ok(&["create", "namespace", "apps"]);

    // Foreground: pods, then the ReplicaSet, then the Deployment.
    let (rs, pods) = deployment_with_pods(&k, "apps", "fore");
    let log = Arc::new(Mutex::new(Vec::new()));
    let watches = vec![
        record_deletions(
            Api::<Deployment>::namespaced(client.clone(), "apps"),
            "deploy",
            log.clone(),
        )
        .await,
        record_deletions(
            Api::<ReplicaSet>::namespaced(client.clone(), "apps"),
            "rs",
            log.clone(),
        )
        .await,
        record_deletions(
            Api::<Pod>::namespaced(client.clone(), "apps"),
            "pod",
            log.clone(),
        )
        .await,
    ];
    k.ok(&[
        "delete",
        "deployment",
        "fore",
        "-n",
        "apps",
        "--cascade=foreground",
    ]);
    assert!(gone(&k, "apps", "deployment", "fore"));
    let order = tokio::time::timeout(WAIT, async {
        loop {
            let d = deletions(&log);
            if d.iter().any(|n| n == "deploy/fore") {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the deployment's deletion watched");
    let pos = |what: &str| order.iter().position(|n| n == what);
    let deploy_at = pos("deploy/fore").unwrap();
    let rs_at = pos(&format!("rs/{rs}")).expect("the ReplicaSet was deleted");
    assert!(rs_at < deploy_at, "{order:?}");
    for p in &pods {
        let at = pos(&format!("pod/{p}")).expect("the pod was deleted");
        assert!(at < rs_at, "{order:?}");
    }
    // Nothing the ReplicaSet controller might have recreated was left behind.
    assert!(
        names_of(&get_json(&k, &["get", "pods", "-n", "apps", "-l", "app=fore"]).unwrap())
            .is_empty()
    );
    for w in watches {
        w.abort();
    }

    // Orphan: the Deployment goes; its ReplicaSet stays without the owner reference, and its
    // pods stay owned by the ReplicaSet.
    let (rs, pods) = deployment_with_pods(&k, "apps", "orph");
    let rs_uid = uid(&k, "apps", "rs", &rs);
    k.ok(&[
        "delete",
        "deployment",
        "orph",
        "-n",
        "apps",
        "--cascade=orphan",
    ]);
    assert!(gone(&k, "apps", "deployment", "orph"));
    let rs_obj = get_json(&k, &["get", "rs", &rs, "-n", "apps"]).expect("the ReplicaSet stays");
    assert!(owner_uids(&rs_obj).is_empty(), "{rs_obj}");
    for p in &pods {
        let pod = get_json(&k, &["get", "pod", p, "-n", "apps"]).expect("the pod stays");
        assert_eq!(owner_uids(&pod), std::slice::from_ref(&rs_uid));
    }
}
