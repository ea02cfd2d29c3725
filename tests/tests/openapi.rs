//! OpenAPI end to end: `kubectl explain` reads the v3 documents, `kubectl apply` fetches them
//! and still works, kubectl's client-side validation reads `/openapi/v2` as protobuf, and
//! `/openapi/v2` and `/openapi/v3` answer as kube-apiserver does.

use warren_tests::{Kubectl, TestServer, eventually};

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start().expect("server starts");
    let kubectl = server.kubectl();
    (server, kubectl)
}

/// Whether a line of kubectl's stderr is a klog error or warning (`E1124 10:00...`).
fn is_klog_problem(line: &str) -> bool {
    line.len() > 5
        && (line.starts_with('E') || line.starts_with('W'))
        && line[1..5].chars().all(|c| c.is_ascii_digit())
}

#[test]
fn explain_shows_descriptions_and_fields_of_builtin_kinds() {
    let (_server, k) = start();

    let out = k.run(&["explain", "deployment.spec.template.spec.containers"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("GROUP:      apps"), "{out}");
    assert!(out.stdout.contains("KIND:       Deployment"), "{out}");
    assert!(
        out.stdout.contains("FIELD: containers <[]Container>"),
        "{out}"
    );
    // The description of PodSpec.containers, from the generated definitions.
    assert!(
        out.stdout
            .contains("List of containers belonging to the pod."),
        "{out}"
    );
    // Fields of Container with their types.
    assert!(out.stdout.contains("image\t<string>"), "{out}");
    assert!(out.stdout.contains("ports\t<[]ContainerPort>"), "{out}");
    assert!(out.stdout.contains("name\t<string> -required-"), "{out}");
    assert!(!out.stderr.lines().any(is_klog_problem), "{out}");

    let out = k.run(&["explain", "pods"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("KIND:       Pod"), "{out}");
    assert!(out.stdout.contains("VERSION:    v1"), "{out}");
    assert!(out.stdout.contains("spec\t<PodSpec>"), "{out}");
    assert!(out.stdout.contains("metadata\t<ObjectMeta>"), "{out}");
    assert!(
        out.stdout.contains("Pod is a collection of containers"),
        "{out}"
    );

    let out = k.run(&["explain", "deployment.spec", "--recursive"]);
    assert!(out.success(), "{out}");
    for field in [
        "replicas",
        "strategy",
        "rollingUpdate",
        "maxSurge",
        "containers",
        "image",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(field)),
            "no {field} in:\n{out}"
        );
    }
    // IntOrString is named as upstream shows it.
    assert!(out.stdout.contains("maxSurge\t<IntOrString>"), "{out}");

    // A field that does not exist fails like kube-apiserver's explain.
    let out = k.run(&["explain", "deployment.spec.nope"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("field \"nope\" does not exist"),
        "{out}"
    );
}

#[test]
fn openapi_v2_and_v3_documents() {
    let (_server, k) = start();

    let v2: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "--raw", "/openapi/v2"])).expect("v2 is JSON");
    assert_eq!(v2["swagger"], "2.0");
    let pod_spec = &v2["definitions"]["io.k8s.api.core.v1.PodSpec"];
    assert_eq!(
        pod_spec["properties"]["containers"]["x-kubernetes-patch-merge-key"],
        "name"
    );
    assert!(v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"].is_object());

    let index: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "--raw", "/openapi/v3"])).expect("index is JSON");
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .expect("apps/v1 in the index")
        .to_string();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    let apps: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "--raw", &url])).expect("apps/v1 is JSON");
    let deployment = &apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deployment["x-kubernetes-group-version-kind"],
        serde_json::json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
    );
    assert!(
        apps["components"]["schemas"]["io.k8s.api.core.v1.Container"]["properties"]["image"]
            .is_object()
    );
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
"#;

#[test]
fn apply_with_schemas_served() {
    let (_server, k) = start();
    let file = k.work_dir().join("web.yaml");
    std::fs::write(&file, DEPLOYMENT).unwrap();
    let file = file.to_str().unwrap();

    let out = k.run(&["apply", "-f", file]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout.trim(), "deployment.apps/web created", "{out}");
    assert!(!out.stderr.lines().any(is_klog_problem), "{out}");

    // A changed manifest is patched (kubectl computes a strategic merge patch from the
    // schemas): the image changes, the container list keeps one entry.
    std::fs::write(file, DEPLOYMENT.replace("nginx:1.27", "nginx:1.28")).unwrap();
    let out = k.run(&["apply", "-f", file]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout.trim(), "deployment.apps/web configured", "{out}");
    let images = k.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[*].image}",
    ]);
    assert_eq!(images, "nginx:1.28");

    // kubectl read the apps/v1 document (by its hashed URL) to decide on server-side field
    // validation and patch metadata.
    std::fs::write(file, DEPLOYMENT.replace("replicas: 2", "replicas: 3")).unwrap();
    let out = k.run(&["apply", "-f", file, "-v=6"]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("/openapi/v3/apis/apps/v1?hash=") && l.contains("200 OK")),
        "{out}"
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("PATCH") && l.contains("fieldValidation=Strict")),
        "{out}"
    );
}

/// Sends a GET through kube-rs and returns status, headers and body.
async fn get(
    client: &kube::Client,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    let mut request = http::Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Vec::new()).unwrap();
    let response = client
        .send(request.map(kube::client::Body::from))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn v3_documents_are_cached_by_hash_and_etag() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");

    let (status, _, body) = get(&client, "/openapi/v3", &[]).await;
    assert_eq!(status, 200);
    let index: serde_json::Value = serde_json::from_slice(&body).expect("index is JSON");
    let url = index["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .expect("api/v1 in the index")
        .to_string();
    let hash = url.split("hash=").nth(1).expect("hash").to_string();

    // The current hash: immutable, and the ETag is the hash.
    let (status, headers, body) = get(&client, &url, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "cache-control"), "public, immutable");
    assert_eq!(header(&headers, "etag"), format!("\"{hash}\""));
    assert_eq!(header(&headers, "content-type"), "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&body).expect("api/v1 is JSON");
    assert!(doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"].is_object());

    // Without a hash: revalidate; with the ETag: 304.
    let (status, headers, _) = get(&client, "/openapi/v3/api/v1", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "cache-control"), "no-cache, private");
    let etag = format!("\"{hash}\"");
    let (status, _, body) = get(
        &client,
        "/openapi/v3/api/v1",
        &[("if-none-match", etag.as_str())],
    )
    .await;
    assert_eq!(status, 304);
    assert!(body.is_empty());

    // A stale hash is redirected to the current document.
    let (status, headers, _) = get(&client, "/openapi/v3/api/v1?hash=0123", &[]).await;
    assert_eq!(status, 301);
    assert_eq!(header(&headers, "location"), url);

    // An unknown group-version is a 404.
    let (status, _, _) = get(&client, "/openapi/v3/apis/nope.example.com/v1", &[]).await;
    assert_eq!(status, 404);

    // v2 is JSON by default.
    let (status, headers, body) = get(&client, "/openapi/v2", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "vary"), "Accept");
    let json_etag = header(&headers, "etag").to_string();
    assert!(json_etag.starts_with('"'), "{json_etag}");
    let v2: serde_json::Value = serde_json::from_slice(&body).expect("v2 is JSON");
    assert!(v2["definitions"]["io.k8s.api.apps.v1.Deployment"].is_object());
}

#[tokio::test]
async fn v2_is_served_as_protobuf_to_clients_that_ask_for_it() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let (_, headers, _) = get(&client, "/openapi/v2", &[]).await;
    let json_etag = header(&headers, "etag").to_string();

    // What client-go's OpenAPISchema() sends; kube-apiserver answers with the newer name.
    let protobuf = [(
        "accept",
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    )];
    let (status, headers, body) = get(&client, "/openapi/v2", &protobuf).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    );
    assert_eq!(header(&headers, "vary"), "Accept");
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
    let names = |needle: &str| body.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(names("io.k8s.api.apps.v1.Deployment"));
    assert!(names("x-kubernetes-group-version-kind"));
    // Its own ETag, and revalidation by it.
    let etag = header(&headers, "etag").to_string();
    assert!(
        etag.starts_with('"') && etag != json_etag,
        "{etag} {json_etag}"
    );
    let mut revalidate = protobuf.to_vec();
    revalidate.push(("if-none-match", etag.as_str()));
    let (status, _, body) = get(&client, "/openapi/v2", &revalidate).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());

    // The older name and the newer one, JSON listed first, and neither.
    let newer = [(
        "accept",
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    )];
    let (status, headers, _) = get(&client, "/openapi/v2", &newer).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "etag"), etag);
    let json_first = [(
        "accept",
        "application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    )];
    let (status, headers, _) = get(&client, "/openapi/v2", &json_first).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/json");
    let (status, _, _) = get(&client, "/openapi/v2", &[("accept", "application/yaml")]).await;
    assert_eq!(status, 406);
}

/// A `kind: List` (kubectl validates it on the client against `/openapi/v2` in protobuf: its
/// field-validation check never trusts the server for v1/List).
const LIST: &str = r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: settings
    namespace: default
  data:
    mode: fast
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    namespace: default
  spec:
    replicas: 1
    selector:
      matchLabels: {app: web}
    template:
      metadata:
        labels: {app: web}
      spec:
        containers:
        - name: web
          image: nginx:1.27
"#;

#[test]
fn apply_list_is_validated_with_the_v2_protobuf_schema() {
    let (_server, k) = start();

    let out = k.run_stdin(&["apply", "-f", "-", "-v=6"], LIST);
    assert!(out.success(), "{out}");
    let created: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        created,
        ["configmap/settings created", "deployment.apps/web created"],
        "{out}"
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("/openapi/v2") && l.contains("200 OK")),
        "{out}"
    );
    assert!(!out.stderr.lines().any(is_klog_problem), "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.mode}"
        ]),
        "fast"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "1"
    );

    // Applied again with changes: patched.
    let changed = LIST
        .replace("mode: fast", "mode: slow")
        .replace("nginx:1.27", "nginx:1.28");
    let out = k.run_stdin(&["apply", "-f", "-"], &changed);
    assert!(out.success(), "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.mode}"
        ]),
        "slow"
    );
}

#[test]
fn apply_list_with_an_unknown_field_fails_on_the_client() {
    let (_server, k) = start();
    let bogus = LIST.replace("    replicas: 1\n", "    replicas: 1\n    bogus: true\n");
    assert_ne!(bogus, LIST);

    let out = k.run_stdin(&["apply", "-f", "-"], &bogus);
    assert!(!out.success(), "{out}");
    // kubectl's own message, from the schema it decoded.
    assert!(
        out.stderr
            .contains(r#"unknown field "bogus" in io.k8s.api.apps.v1.DeploymentSpec"#),
        "{out}"
    );
    // Nothing was sent: the whole file is validated first.
    let out = k.run(&["get", "configmap", "settings"]);
    assert!(!out.success(), "{out}");
}

const CRONTAB_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A cron tab.
        properties:
          spec:
            type: object
            description: The cron spec.
            properties:
              cronSpec: {type: string, description: When to run.}
              replicas: {type: integer}
"#;

/// A CRD whose schema has what OpenAPI v2 cannot say: a nullable field, an int-or-string, a
/// `oneOf`, and a preserve-unknown-fields object that still lists a property.
const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
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
              size: {x-kubernetes-int-or-string: true}
              note: {type: string, nullable: true}
              config:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  known: {type: string}
              choice:
                type: object
                properties:
                  a: {type: string}
                  b: {type: string}
                oneOf:
                - required: [a]
                - required: [b]
"#;

const WIDGET_LIST: &str = r#"apiVersion: v1
kind: List
items:
- apiVersion: example.com/v1
  kind: Widget
  metadata: {name: w1, namespace: default}
  spec:
    size: 3
    note: null
    config: {known: x, extra: {deep: 1}}
    choice: {a: hi}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c2, namespace: default}
"#;

#[test]
fn apply_list_with_a_custom_resource_validates_as_upstream() {
    let (_server, k) = start();
    k.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    k.ok(&[
        "wait",
        "--for=condition=established",
        "--timeout=30s",
        "crd/widgets.example.com",
    ]);
    eventually(
        std::time::Duration::from_secs(30),
        "widgets are served",
        || k.run(&["get", "widgets"]).success().then_some(()),
    );

    // Unknown fields under preserve-unknown-fields pass kubectl's validation, as with
    // kube-apiserver (whose v2 drops the properties there).
    let out = k.run_stdin(&["apply", "-f", "-"], WIDGET_LIST);
    assert!(out.success(), "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "widget",
            "w1",
            "-o",
            "jsonpath={.spec.config.extra.deep}"
        ]),
        "1"
    );

    // Elsewhere they still fail.
    let bogus = WIDGET_LIST.replace("    size: 3\n", "    size: 3\n    bogus: 1\n");
    let out = k.run_stdin(&["apply", "-f", "-"], &bogus);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains(r#"unknown field "bogus" in com.example.v1.Widget.spec"#),
        "{out}"
    );
}

#[test]
fn explain_custom_resource_from_its_crd_schema() {
    let (_server, k) = start();
    k.ok_stdin(&["apply", "-f", "-"], CRONTAB_CRD);
    k.ok(&[
        "wait",
        "--for=condition=established",
        "--timeout=30s",
        "crd/crontabs.stable.example.com",
    ]);
    // The registry serves the new kind once the CRD controller has seen it.
    let out = eventually(
        std::time::Duration::from_secs(30),
        "kubectl explain crontab.spec",
        || {
            let out = k.run(&["explain", "crontab.spec"]);
            out.success().then_some(out)
        },
    );
    assert!(out.stdout.contains("KIND:       CronTab"), "{out}");
    assert!(out.stdout.contains("The cron spec."), "{out}");
    assert!(out.stdout.contains("cronSpec\t<string>"), "{out}");
    assert!(out.stdout.contains("When to run."), "{out}");

    let out = k.ok(&["explain", "crontabs"]);
    assert!(out.contains("A cron tab."), "{out}");
    assert!(out.contains("metadata\t<ObjectMeta>"), "{out}");
    assert!(out.contains("apiVersion\t<string>"), "{out}");
}
