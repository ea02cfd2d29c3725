//! `kubectl apply` (client-side and server-side), `diff`, `edit`, `set image`, `scale` and
//! `patch` against tenant-apiserver: the everyday verbs that rest on strategic merge patch,
//! server-side apply and managedFields. Outputs are kubectl 1.37's against kube-apiserver
//! 1.37, word for word. (`kubectl explain` and a first apply are covered in openapi.rs and
//! kubectl.rs.)

use serde_json::Value;
use warren_tests::{Kubectl, TestServer};

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start().expect("server starts");
    let kubectl = server.kubectl();
    (server, kubectl)
}

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    tier: frontend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - name: MODE
          value: fast
        - name: COLOR
          value: blue
        ports:
        - containerPort: 80
"#;

/// Writes `content` to `name` in kubectl's work directory and returns the path.
fn write(k: &Kubectl, name: &str, content: &str) -> String {
    let path = k.work_dir().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

/// `kubectl get TARGET -o json` parsed (with managedFields when `managed`).
fn get_json(k: &Kubectl, target: &[&str], managed: bool) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(target);
    args.extend(["-o", "json"]);
    if managed {
        args.push("--show-managed-fields");
    }
    serde_json::from_str(&k.ok(&args)).expect("kubectl prints JSON")
}

fn jsonpath(k: &Kubectl, target: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(target);
    let expr = format!("jsonpath={path}");
    args.extend(["-o", &expr]);
    k.ok(&args)
}

/// The managedFields entry of `manager` (with `operation`), if any.
fn managed_entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

/// Whether `entry.fieldsV1` has the path `keys` (e.g. `["f:spec", "f:replicas"]`).
fn owns(entry: &Value, keys: &[&str]) -> bool {
    let mut at = &entry["fieldsV1"];
    for key in keys {
        match at.get(key) {
            Some(next) => at = next,
            None => return false,
        }
    }
    true
}

#[test]
fn client_side_apply_three_times_removes_what_the_file_drops() {
    let (_server, k) = start();
    let file = write(&k, "web.yaml", WEB);

    let out = k.run(&["apply", "-f", &file]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "deployment.apps/web created\n", "{out}");
    let obj = get_json(&k, &["deployment", "web"], false);
    let last = obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap_or_else(|| panic!("no last-applied-configuration annotation: {obj}"));
    let last: Value = serde_json::from_str(last).expect("the annotation is JSON");
    assert_eq!(last["kind"], "Deployment", "{last}");
    assert_eq!(last["metadata"]["labels"]["tier"], "frontend", "{last}");
    assert_eq!(
        last["metadata"]["annotations"],
        serde_json::json!({}),
        "{last}"
    );

    // Someone else adds a label the file does not mention.
    k.ok(&["label", "deployment", "web", "owner=ops"]);

    // The file drops the `tier` label and the COLOR variable, and changes replicas.
    let edited = WEB
        .replace("    tier: frontend\n", "")
        .replace("        - name: COLOR\n          value: blue\n", "")
        .replace("replicas: 2", "replicas: 3");
    std::fs::write(&file, edited).unwrap();
    let out = k.run(&["apply", "-f", &file]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "deployment.apps/web configured\n", "{out}");
    let obj = get_json(&k, &["deployment", "web"], false);
    let labels = &obj["metadata"]["labels"];
    assert_eq!(labels.get("tier"), None, "the dropped label stays: {obj}");
    assert_eq!(
        labels["owner"], "ops",
        "the other writer's label is gone: {obj}"
    );
    assert_eq!(labels["app"], "web", "{obj}");
    assert_eq!(obj["spec"]["replicas"], 3, "{obj}");
    let env = &obj["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env,
        &serde_json::json!([{"name": "MODE", "value": "fast"}]),
        "the dropped env entry should be deleted (strategic `$patch: delete` by name): {obj}"
    );
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80,
        "{obj}"
    );
    let last: Value = serde_json::from_str(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("annotation"),
    )
    .unwrap();
    assert_eq!(last["metadata"]["labels"].get("tier"), None, "{last}");
    assert_eq!(last["spec"]["replicas"], 3, "{last}");

    let out = k.run(&["apply", "-f", &file]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "deployment.apps/web unchanged\n", "{out}");
    assert_eq!(
        jsonpath(&k, &["deployment", "web"], "{.metadata.generation}"),
        "2"
    );
}

#[test]
fn server_side_apply_records_managed_fields() {
    let (_server, k) = start();
    let file = write(&k, "web.yaml", WEB);
    let out = k.run(&["apply", "--server-side", "-f", &file]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "deployment.apps/web serverside-applied\n",
        "{out}"
    );
    assert_eq!(out.stderr, "", "{out}");

    let obj = get_json(&k, &["deployment", "web"], true);
    let entry = managed_entry(&obj, "kubectl", "Apply").unwrap_or_else(|| {
        panic!("expected a managedFields entry manager=kubectl operation=Apply: {obj}")
    });
    assert_eq!(entry["apiVersion"], "apps/v1", "{entry}");
    assert_eq!(entry["fieldsType"], "FieldsV1", "{entry}");
    assert!(entry["time"].is_string(), "{entry}");
    assert_eq!(entry.get("subresource"), None, "{entry}");
    assert!(owns(entry, &["f:spec", "f:replicas"]), "{entry}");
    assert!(
        owns(entry, &["f:metadata", "f:labels", "f:tier"]),
        "{entry}"
    );
    assert!(
        owns(
            entry,
            &[
                "f:spec",
                "f:template",
                "f:spec",
                "f:containers",
                "k:{\"name\":\"web\"}",
                "f:image"
            ]
        ),
        "containers are keyed by name in fieldsV1: {entry}"
    );
    assert!(
        owns(
            entry,
            &[
                "f:spec",
                "f:template",
                "f:spec",
                "f:containers",
                "k:{\"name\":\"web\"}",
                "f:env",
                "k:{\"name\":\"COLOR\"}",
                "f:value"
            ]
        ),
        "{entry}"
    );
    // Server-side apply writes no last-applied annotation.
    assert_eq!(
        obj["metadata"]["annotations"].get("kubectl.kubernetes.io/last-applied-configuration"),
        None,
        "{obj}"
    );

    // kubectl hides managedFields unless asked.
    let yaml = k.ok(&["get", "deployment", "web", "-o", "yaml"]);
    assert!(!yaml.contains("managedFields"), "{yaml}");
    let yaml = k.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(yaml.contains("  managedFields:\n"), "{yaml}");
    assert!(yaml.contains("manager: kubectl\n"), "{yaml}");
    assert!(yaml.contains("operation: Apply\n"), "{yaml}");

    // Applying the same file again changes nothing but still says serverside-applied.
    let rv = jsonpath(&k, &["deployment", "web"], "{.metadata.resourceVersion}");
    let out = k.run(&["apply", "--server-side", "-f", &file]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "deployment.apps/web serverside-applied\n",
        "{out}"
    );
    assert_eq!(
        jsonpath(&k, &["deployment", "web"], "{.metadata.resourceVersion}"),
        rv,
        "a no-op apply should not write"
    );
}

/// kubectl's text for one apply conflict on `.spec.replicas` with `manager`.
fn conflict_message(manager: &str) -> String {
    format!(
        "error: Apply failed with 1 conflict: conflict with \"{manager}\": .spec.replicas
Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
"
    )
}

#[test]
fn a_second_manager_conflicts_until_it_forces() {
    let (_server, k) = start();
    let file = write(&k, "web.yaml", WEB);
    k.ok(&["apply", "--server-side", "-f", &file]);

    let other = write(
        &k,
        "replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 5\n",
    );
    let out = k.run(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        &other,
    ]);
    assert!(!out.success(), "{out}");
    assert_eq!(out.stderr, conflict_message("kubectl"), "{out}");
    assert_eq!(
        jsonpath(&k, &["deployment", "web"], "{.spec.replicas}"),
        "2"
    );

    let out = k.run(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        &other,
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "deployment.apps/web serverside-applied\n",
        "{out}"
    );
    assert_eq!(
        jsonpath(&k, &["deployment", "web"], "{.spec.replicas}"),
        "5"
    );

    // Ownership of .spec.replicas moved from kubectl to other; kubectl keeps the rest.
    let obj = get_json(&k, &["deployment", "web"], true);
    let theirs = managed_entry(&obj, "other", "Apply")
        .unwrap_or_else(|| panic!("no Apply entry for `other`: {obj}"));
    assert!(owns(theirs, &["f:spec", "f:replicas"]), "{theirs}");
    let ours = managed_entry(&obj, "kubectl", "Apply")
        .unwrap_or_else(|| panic!("no Apply entry for `kubectl`: {obj}"));
    assert!(
        !owns(ours, &["f:spec", "f:replicas"]),
        "kubectl should have lost .spec.replicas: {ours}"
    );
    assert!(owns(ours, &["f:spec", "f:selector"]), "{ours}");

    // Now kubectl's own file (replicas: 2) conflicts with `other`.
    let out = k.run(&["apply", "--server-side", "-f", &file]);
    assert!(!out.success(), "{out}");
    assert_eq!(out.stderr, conflict_message("other"), "{out}");

    // Co-owning: the same value is no conflict, and both own the field.
    std::fs::write(&file, WEB.replace("replicas: 2", "replicas: 5")).unwrap();
    let out = k.run(&["apply", "--server-side", "-f", &file]);
    assert!(out.success(), "{out}");
    let obj = get_json(&k, &["deployment", "web"], true);
    for manager in ["kubectl", "other"] {
        let entry = managed_entry(&obj, manager, "Apply").expect("entry");
        assert!(owns(entry, &["f:spec", "f:replicas"]), "{manager}: {entry}");
    }
}

#[test]
fn server_side_apply_removes_fields_the_manager_dropped() {
    let (_server, k) = start();
    let file = write(&k, "web.yaml", WEB);
    k.ok(&["apply", "--server-side", "-f", &file]);
    // Another writer (an Update through kubectl label) adds a label.
    k.ok(&["label", "deployment", "web", "owner=ops"]);

    let edited = WEB
        .replace("    tier: frontend\n", "")
        .replace("        - name: COLOR\n          value: blue\n", "");
    std::fs::write(&file, edited).unwrap();
    let out = k.run(&["apply", "--server-side", "-f", &file]);
    assert!(out.success(), "{out}");
    let obj = get_json(&k, &["deployment", "web"], true);
    let labels = &obj["metadata"]["labels"];
    assert_eq!(labels.get("tier"), None, "the dropped label stays: {obj}");
    assert_eq!(
        labels["owner"], "ops",
        "another manager's label was removed: {obj}"
    );
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["env"],
        serde_json::json!([{"name": "MODE", "value": "fast"}]),
        "{obj}"
    );
    let ours = managed_entry(&obj, "kubectl", "Apply").expect("kubectl Apply entry");
    assert!(!owns(ours, &["f:metadata", "f:labels", "f:tier"]), "{ours}");
    let label_writer = managed_entry(&obj, "kubectl-label", "Update")
        .unwrap_or_else(|| panic!("expected an Update entry for kubectl-label: {obj}"));
    assert!(
        owns(label_writer, &["f:metadata", "f:labels", "f:owner"]),
        "{label_writer}"
    );

    // Dropping replicas (which has a default) resets it to the default.
    std::fs::write(&file, WEB.replace("  replicas: 2\n", "")).unwrap();
    k.ok(&["apply", "--server-side", "-f", &file]);
    assert_eq!(
        jsonpath(&k, &["deployment", "web"], "{.spec.replicas}"),
        "1"
    );
}

#[test]
fn diff_reports_changes_with_its_exit_code() {
    let (_server, k) = start();
    let file = write(&k, "web.yaml", WEB);
    k.ok(&["apply", "-f", &file]);

    let out = k.run(&["diff", "-f", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "kubectl diff of an unchanged file should exit 0 with no output:\n{out}"
    );
    assert_eq!(out.stdout, "", "{out}");

    std::fs::write(&file, WEB.replace("nginx:1.27", "nginx:1.28")).unwrap();
    let out = k.run(&["diff", "-f", &file]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "kubectl diff of a changed file should exit 1:\n{out}"
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('-') && l.trim_end().ends_with("image: nginx:1.27")),
        "expected a `-   image: nginx:1.27` line:\n{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('+') && l.trim_end().ends_with("image: nginx:1.28")),
        "expected a `+   image: nginx:1.28` line:\n{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("diff -u -N ") && l.ends_with("apps.v1.Deployment.default.web")),
        "expected a `diff -u -N .../apps.v1.Deployment.default.web` header:\n{out}"
    );
    // The diff was a dry run.
    assert_eq!(
        jsonpath(
            &k,
            &["deployment", "web"],
            "{.spec.template.spec.containers[0].image}"
        ),
        "nginx:1.27"
    );
    // Server-side diff as well.
    let out = k.run(&["diff", "--server-side", "-f", &file]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(out.stdout.contains("image: nginx:1.28"), "{out}");
}

#[test]
fn edit_a_deployment_with_an_editor_script() {
    let (_server, k) = start();
    k.ok_stdin(&["apply", "-f", "-"], WEB);
    // kubectl edit sends a strategic merge patch for built-in kinds.
    let out = k.run_env(
        &["edit", "deployment", "web"],
        &[("KUBE_EDITOR", "sed -i s/nginx:1.27/nginx:1.30/")],
    );
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "deployment.apps/web edited\n", "{out}");
    assert_eq!(
        jsonpath(
            &k,
            &["deployment", "web"],
            "{.spec.template.spec.containers[*].image} {.spec.template.spec.containers[0].env[*].name}"
        ),
        "nginx:1.30 MODE COLOR"
    );
}

const TWO_CONTAINERS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: pair
spec:
  replicas: 1
  selector:
    matchLabels:
      app: pair
  template:
    metadata:
      labels:
        app: pair
    spec:
      containers:
      - name: web
        image: nginx:1.27
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
"#;

fn images(k: &Kubectl) -> String {
    jsonpath(
        k,
        &["deployment", "pair"],
        "{range .spec.template.spec.containers[*]}{.name}={.image} {end}",
    )
}

#[test]
fn set_image_changes_one_container() {
    let (_server, k) = start();
    k.ok_stdin(&["create", "-f", "-"], TWO_CONTAINERS);
    assert_eq!(
        k.ok(&["set", "image", "deployment/pair", "web=nginx:2"]),
        "deployment.apps/pair image updated\n"
    );
    assert_eq!(images(&k), "web=nginx:2 sidecar=busybox:1.36 ");
    assert_eq!(
        jsonpath(&k, &["deployment", "pair"], "{.metadata.generation}"),
        "2"
    );
}

#[test]
fn patch_a_deployment_three_ways() {
    let (_server, k) = start();
    k.ok_stdin(&["create", "-f", "-"], TWO_CONTAINERS);

    // Strategic (kubectl's default type): containers merge by name.
    assert_eq!(
        k.ok(&[
            "patch",
            "deployment",
            "pair",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.29"}]}}}}"#,
        ]),
        "deployment.apps/pair patched\n"
    );
    assert_eq!(images(&k), "web=nginx:1.29 sidecar=busybox:1.36 ");
    assert_eq!(
        jsonpath(
            &k,
            &["deployment", "pair"],
            "{.spec.template.spec.containers[1].command}"
        ),
        "[\"sleep\",\"infinity\"]"
    );
    // The same patch again changes nothing.
    assert_eq!(
        k.ok(&[
            "patch",
            "deployment",
            "pair",
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.29"}]}}}}"#,
        ]),
        "deployment.apps/pair patched (no change)\n"
    );
    // A `$patch: delete` directive removes one element by its key.
    k.ok(&[
        "patch",
        "deployment",
        "pair",
        "--type=strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}"#,
    ]);
    assert_eq!(images(&k), "web=nginx:1.29 ");

    // Merge: a list is replaced whole; maps merge; null deletes.
    assert_eq!(
        k.ok(&[
            "patch",
            "deployment",
            "pair",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"labels":{"tier":"gold"}},"spec":{"template":{"spec":{"containers":[{"name":"only","image":"redis:7"}]}}}}"#,
        ]),
        "deployment.apps/pair patched\n"
    );
    assert_eq!(images(&k), "only=redis:7 ");
    assert_eq!(
        jsonpath(&k, &["deployment", "pair"], "{.metadata.labels.tier}"),
        "gold"
    );
    k.ok(&[
        "patch",
        "deployment",
        "pair",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":null}}}"#,
    ]);
    assert_eq!(
        jsonpath(&k, &["deployment", "pair"], "{.metadata.labels}"),
        ""
    );

    // JSON patch.
    assert_eq!(
        k.ok(&[
            "patch",
            "deployment",
            "pair",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":7},{"op":"add","path":"/spec/template/spec/containers/-","value":{"name":"extra","image":"busybox:1.37"}}]"#,
        ]),
        "deployment.apps/pair patched\n"
    );
    assert_eq!(
        jsonpath(&k, &["deployment", "pair"], "{.spec.replicas}"),
        "7"
    );
    assert_eq!(images(&k), "only=redis:7 extra=busybox:1.37 ");
}

const WORKLOADS: &str = r#"apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs
spec:
  replicas: 1
  selector:
    matchLabels:
      app: rs
  template:
    metadata:
      labels:
        app: rs
    spec:
      containers:
      - name: c
        image: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 1
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: c
        image: postgres
---
apiVersion: v1
kind: ReplicationController
metadata:
  name: rc
spec:
  replicas: 1
  selector:
    app: rc
  template:
    metadata:
      labels:
        app: rc
    spec:
      containers:
      - name: c
        image: nginx
"#;

#[test]
fn scale_replicasets_statefulsets_and_replication_controllers() {
    let (_server, k) = start();
    k.ok_stdin(&["create", "-f", "-"], WORKLOADS);
    for (target, printed) in [
        ("replicaset/rs", "replicaset.apps/rs scaled\n"),
        ("statefulset/db", "statefulset.apps/db scaled\n"),
        (
            "replicationcontroller/rc",
            "replicationcontroller/rc scaled\n",
        ),
    ] {
        let out = k.run(&["scale", target, "--replicas=4"]);
        assert!(out.success(), "kubectl scale {target}:\n{out}");
        assert_eq!(out.stdout, printed, "{out}");
        assert_eq!(jsonpath(&k, &[target], "{.spec.replicas}"), "4", "{target}");
    }
    // --current-replicas is a precondition.
    let out = k.run(&["scale", "rs/rs", "--current-replicas=2", "--replicas=5"]);
    assert!(!out.success(), "{out}");
    assert_eq!(
        out.stderr, "error: Expected replicas to be 2, was 4\n",
        "{out}"
    );
    assert_eq!(jsonpath(&k, &["rs/rs"], "{.spec.replicas}"), "4");
}

fn config_maps(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n  labels:\n    app: prune-test\ndata:\n  k: v\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

#[test]
fn apply_prune_deletes_what_left_the_file() {
    let (_server, k) = start();
    let file = write(&k, "cms.yaml", &config_maps(&["a", "b", "c"]));
    let out = k.run(&["apply", "-f", &file, "-l", "app=prune-test", "--prune"]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "configmap/a created\nconfigmap/b created\nconfigmap/c created\n",
        "{out}"
    );
    // An object with the label that apply did not create is never pruned.
    k.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: manual\n  labels:\n    app: prune-test\n",
    );

    // Without --prune, an object that left the file stays.
    std::fs::write(&file, config_maps(&["a", "b"])).unwrap();
    let out = k.run(&["apply", "-f", &file, "-l", "app=prune-test"]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "configmap/a unchanged\nconfigmap/b unchanged\n",
        "{out}"
    );
    assert_eq!(
        k.ok(&["get", "cm", "-l", "app=prune-test", "-o", "name"]),
        "configmap/a\nconfigmap/b\nconfigmap/c\nconfigmap/manual\n"
    );

    // With --prune it is deleted.
    let out = k.run(&["apply", "-f", &file, "-l", "app=prune-test", "--prune"]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "configmap/a unchanged\nconfigmap/b unchanged\nconfigmap/c pruned\n",
        "{out}"
    );
    assert_eq!(
        k.ok(&["get", "cm", "-l", "app=prune-test", "-o", "name"]),
        "configmap/a\nconfigmap/b\nconfigmap/manual\n"
    );
}

#[test]
fn apply_a_list_document() {
    let (_server, k) = start();
    // `kind: List` is a client-side wrapper; kubectl validates its items itself
    // (fieldValidation is never verified for v1/List) and applies each item.
    let list = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: first
  data:
    k: v
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: second
";
    let out = k.run_stdin(&["apply", "-f", "-"], list);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "configmap/first created\nconfigmap/second created\n",
        "{out}"
    );
    assert_eq!(
        k.ok(&["get", "cm", "first", "second", "-o", "name"]),
        "configmap/first\nconfigmap/second\n"
    );
}
