//! Moving a tenant between stores: `tenant-apiserver snapshot save|restore` from the embedded
//! store to etcd and back preserves every object, and a server on each store serves them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use warren_store::etcd_harness::EtcdServer;
use warren_tests::{TestServer, binary, run_command};

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
"#;

fn snapshot(action: &str, store: &str, file: &Path) -> String {
    let mut cmd = Command::new(binary("tenant-apiserver"));
    cmd.args(["snapshot", action, "--store", store]).arg(file);
    let out = run_command(cmd, None).expect("tenant-apiserver snapshot runs");
    assert!(out.success(), "snapshot {action} --store {store}:\n{out}");
    out.stdout
}

/// Every (key, value) of a snapshot file (header and end line left out).
fn entries(file: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("key").is_some())
        .map(|v| (v["key"].as_str().unwrap().to_string(), v["value"].clone()))
        .collect()
}

/// What kubectl shows of every object we created, without the fields a move renews.
fn objects(server: &TestServer) -> Vec<Value> {
    let k = server.kubectl();
    let mut out = Vec::new();
    for kind in ["namespaces", "configmaps", "deployments", "widgets", "crd"] {
        let list: Value = serde_json::from_str(&k.ok(&["get", kind, "-A", "-o", "json"])).unwrap();
        for mut item in list["items"].as_array().unwrap().clone() {
            item["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("resourceVersion");
            out.push(item);
        }
    }
    out
}

#[test]
fn embedded_to_etcd_and_back_keeps_every_object() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("tenant");
    let mut server = TestServer::start_in(&dir).expect("embedded server starts");
    let k = server.kubectl();
    k.ok_stdin(&["apply", "-f", "-"], CRD);
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
    ]);
    k.ok(&["create", "namespace", "team"]);
    for i in 0..20 {
        k.ok(&[
            "create",
            "configmap",
            &format!("cm-{i}"),
            "-n",
            "team",
            &format!("--from-literal=i={i}"),
        ]);
    }
    k.ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "team",
        "--image=nginx:1.27",
    ]);
    k.ok_stdin(
        &["apply", "-n", "team", "-f", "-"],
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n",
    );
    let before = objects(&server);
    server.stop().expect("clean stop");

    // embedded → file → etcd
    let embedded = format!("embedded://{}", dir.join("store").display());
    let first = work.path().join("first.snapshot");
    let saved = snapshot("save", &embedded, &first);
    assert!(saved.starts_with("saved "), "{saved}");
    let etcd = EtcdServer::start();
    let on_etcd = format!("etcd://{}/moved", etcd.endpoint());
    snapshot("restore", &on_etcd, &first);

    // A server on etcd (same PKI) serves the same objects.
    let server = TestServer::start_in_with(&dir, &["--store", &on_etcd]).unwrap();
    assert_eq!(objects(&server), before, "objects differ on etcd");
    drop(server);

    // etcd → file → a fresh embedded store, and the same again.
    let second = work.path().join("second.snapshot");
    snapshot("save", &on_etcd, &second);
    let back = work.path().join("back");
    let back_store = format!("embedded://{}", back.join("store").display());
    snapshot("restore", &back_store, &second);
    let third = work.path().join("third.snapshot");
    snapshot("save", &back_store, &third);
    let (a, mut c) = (entries(&first), entries(&third));
    // The server on etcd added its leader lease; everything else must be as it was.
    c.retain(|k, _| !k.contains("/leases/kube-system/warren-tenant-apiserver"));
    assert_eq!(a.len(), c.len());
    assert!(a.len() > 30, "too few keys to be a real check: {}", a.len());
    assert_eq!(a, c, "a key changed on the round trip");

    // Restoring into a store that holds data is refused.
    let mut cmd = Command::new(binary("tenant-apiserver"));
    cmd.args(["snapshot", "restore", "--store", &on_etcd])
        .arg(&first);
    let out = run_command(cmd, None).unwrap();
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("the target store is not empty"),
        "{out}"
    );

    // The server on the restored embedded store (PKI copied over) serves the same objects.
    std::fs::create_dir_all(back.join("pki")).unwrap();
    for f in std::fs::read_dir(dir.join("pki")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), back.join("pki").join(f.file_name())).unwrap();
    }
    let server = TestServer::start_in(&back).unwrap();
    assert_eq!(
        objects(&server),
        before,
        "objects differ after the round trip"
    );
}
