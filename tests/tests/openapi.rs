//! OpenAPI end to end: `kubectl explain` reads the v3 documents, `kubectl apply` fetches them
//! and still works, and `/openapi/v2` and `/openapi/v3` answer as kube-apiserver does.

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

    // v2 is JSON; a client that accepts only the protobuf form gets 406.
    let (status, headers, body) = get(&client, "/openapi/v2", &[]).await;
    assert_eq!(status, 200);
    assert!(header(&headers, "etag").starts_with('"'));
    let v2: serde_json::Value = serde_json::from_slice(&body).expect("v2 is JSON");
    assert!(v2["definitions"]["io.k8s.api.apps.v1.Deployment"].is_object());
    let (status, _, _) = get(
        &client,
        "/openapi/v2",
        &[(
            "accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )],
    )
    .await;
    assert_eq!(status, 406);
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
