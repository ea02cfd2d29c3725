//! Bad input gets the `Status` kube-apiserver gives (code, reason, message, details),
//! the server stays up, and no data changes.

use std::collections::BTreeMap;

use http::Request;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams};
use serde_json::{Value, json};
use warren_tests::{TestServer, raw_request};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

struct Probe {
    client: kube::Client,
}

impl Probe {
    async fn send(&self, req: Request<Vec<u8>>) -> (u16, Value, String) {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, json, text) = raw_request(&self.client, req)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let json = json.unwrap_or_else(|| panic!("{what}: body is not JSON: {text}"));
        (status.as_u16(), json, what)
    }

    /// Sends the request and checks the answer is a `Status` with `code` and `reason`.
    async fn status(&self, req: Request<Vec<u8>>, code: u16, reason: &str) -> Value {
        let (got, body, what) = self.send(req).await;
        assert_eq!(got, code, "{what}: {body}");
        assert_eq!(body["kind"], "Status", "{what}: {body}");
        assert_eq!(body["apiVersion"], "v1", "{what}: {body}");
        assert_eq!(body["status"], "Failure", "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert_eq!(body["reason"], reason, "{what}: {body}");
        assert!(body["metadata"].is_object(), "{what}: {body}");
        body
    }
}

fn post(path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Request<Vec<u8>> {
    Request::post(path)
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(body.into())
        .unwrap()
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

async fn snapshot(client: &kube::Client) -> (BTreeMap<String, String>, Vec<String>) {
    let cms: Api<ConfigMap> = Api::all(client.clone());
    let cms = cms
        .list(&ListParams::default())
        .await
        .expect("list configmaps")
        .items
        .into_iter()
        .map(|cm| {
            (
                format!(
                    "{}/{}",
                    cm.metadata.namespace.unwrap_or_default(),
                    cm.metadata.name.unwrap_or_default()
                ),
                cm.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect();
    let nss: Api<Namespace> = Api::all(client.clone());
    let nss = nss
        .list(&ListParams::default())
        .await
        .expect("list namespaces")
        .items
        .into_iter()
        .map(|ns| ns.metadata.name.unwrap_or_default())
        .collect();
    (cms, nss)
}

fn cm_json(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": "v"}
    }))
    .unwrap()
}

/// A fresh server holding one configmap, and what it stored before the bad request.
struct Fixture {
    _server: TestServer,
    client: kube::Client,
    probe: Probe,
    before: (BTreeMap<String, String>, Vec<String>),
}

impl Fixture {
    async fn start() -> Fixture {
        let server = TestServer::start().expect("server starts");
        let client = server.client().await.expect("client");
        let probe = Probe {
            client: client.clone(),
        };
        // One good object, so that "nothing changed" has something to compare.
        let (code, body, _) = probe
            .send(post(CONFIGMAPS, "application/json", cm_json("keep")))
            .await;
        assert_eq!(code, 201, "{body}");
        let before = snapshot(&client).await;
        Fixture {
            _server: server,
            client,
            probe,
            before,
        }
    }

    /// The server is still up and no data changed.
    async fn finish(self) {
        let readyz = Request::get("/readyz").body(Vec::new()).unwrap();
        let (status, _, text) = raw_request(&self.client, readyz).await.expect("readyz");
        assert_eq!(status.as_u16(), 200, "{text}");
        assert_eq!(text, "ok");
        let after = snapshot(&self.client).await;
        assert_eq!(self.before, after, "a bad request changed the stored data");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // Malformed JSON.
    let body = probe
        .status(
            post(
                CONFIGMAPS,
                "application/json",
                r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x""#,
            ),
            400,
            "BadRequest",
        )
        .await;
    assert!(
        message(&body).starts_with(
            "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: "
        ),
        "{body}"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_yaml_is_400() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // Malformed YAML.
    let body = probe
        .status(
            post(
                CONFIGMAPS,
                "application/yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n",
            ),
            400,
            "BadRequest",
        )
        .await;
    assert!(
        message(&body).starts_with(
            "the object provided is unrecognized (must be of type ConfigMap): error converting YAML to JSON: yaml: "
        ),
        "{body}"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_kind_for_the_url_is_400() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // Well-formed, but the wrong kind for the URL.
    let secret = serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong"}
    }))
    .unwrap();
    let body = probe
        .status(
            post(CONFIGMAPS, "application/json", secret),
            400,
            "BadRequest",
        )
        .await;
    assert!(
        message(&body).starts_with("Secret in version \"v1\" cannot be handled as a ConfigMap: "),
        "{body}"
    );
    let body = probe
        .status(
            post(
                "/apis/apps/v1/namespaces/default/deployments",
                "application/json",
                cm_json("wrong"),
            ),
            400,
            "BadRequest",
        )
        .await;
    assert!(
        message(&body)
            .starts_with("ConfigMap in version \"v1\" cannot be handled as a Deployment: "),
        "{body}"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_name_too_long_is_422() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // Name too long (a ConfigMap name is a DNS-1123 subdomain: at most 253 characters).
    let long = "a".repeat(254);
    let body = probe
        .status(
            post(CONFIGMAPS, "application/json", cm_json(&long)),
            422,
            "Invalid",
        )
        .await;
    assert_eq!(
        message(&body),
        format!(
            "ConfigMap \"{long}\" is invalid: metadata.name: Invalid value: \"{long}\": must be no more than 253 characters"
        )
    );
    assert_eq!(body["details"]["name"], long.as_str(), "{body}");
    assert_eq!(body["details"]["kind"], "ConfigMap", "{body}");
    assert_eq!(
        body["details"]["group"].as_str().unwrap_or(""),
        "",
        "{body}"
    );
    let causes = body["details"]["causes"].as_array().expect("causes");
    assert_eq!(causes.len(), 1, "{body}");
    assert_eq!(causes[0]["reason"], "FieldValueInvalid", "{body}");
    assert_eq!(causes[0]["field"], "metadata.name", "{body}");
    assert_eq!(
        causes[0]["message"],
        format!("Invalid value: \"{long}\": must be no more than 253 characters")
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_name_too_long_is_422() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // A namespace name is a DNS-1123 label: at most 63 characters.
    let long_ns = "n".repeat(64);
    let ns = serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": long_ns}
    }))
    .unwrap();
    let body = probe
        .status(
            post("/api/v1/namespaces", "application/json", ns),
            422,
            "Invalid",
        )
        .await;
    assert_eq!(body["details"]["kind"], "Namespace", "{body}");
    let causes = body["details"]["causes"].as_array().expect("causes");
    assert!(
        causes.iter().any(|c| c["field"] == "metadata.name"
            && c["message"]
                .as_str()
                .unwrap_or("")
                .ends_with("must be no more than 63 characters")),
        "{body}"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_name_is_422() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // An invalid name.
    let body = probe
        .status(
            post(CONFIGMAPS, "application/json", cm_json("Bad_Name")),
            422,
            "Invalid",
        )
        .await;
    assert_eq!(
        message(&body),
        "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
    assert_eq!(
        body["details"]["causes"][0]["field"], "metadata.name",
        "{body}"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_3_mib_is_413() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // A body over kube-apiserver's 3 MiB limit.
    let big = serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
        "data": {"blob": "x".repeat(3 * 1024 * 1024 + 1024)}
    }))
    .unwrap();
    let body = probe
        .status(
            post(CONFIGMAPS, "application/json", big),
            413,
            "RequestEntityTooLarge",
        )
        .await;
    assert_eq!(message(&body), "Request entity too large: limit is 3145728");
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_resource_or_group_is_404() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // An unknown resource, and an unknown group.
    for path in [
        "/api/v1/namespaces/default/frobnicators",
        "/api/v1/frobnicators",
        "/apis/nope.example.com/v1/widgets",
    ] {
        let get = Request::get(path)
            .header("accept", "application/json")
            .body(Vec::new())
            .unwrap();
        let body = probe.status(get, 404, "NotFound").await;
        assert_eq!(
            message(&body),
            "the server could not find the requested resource",
            "{path}"
        );
    }
    let body = probe
        .status(
            post(
                "/api/v1/namespaces/default/frobnicators",
                "application/json",
                cm_json("f"),
            ),
            404,
            "NotFound",
        )
        .await;
    assert_eq!(
        message(&body),
        "the server could not find the requested resource"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_object_in_missing_namespace_is_404() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // A namespaced object in a namespace that does not exist.
    let body = probe
        .status(
            post(
                "/api/v1/namespaces/nope/configmaps",
                "application/json",
                cm_json("orphan"),
            ),
            404,
            "NotFound",
        )
        .await;
    assert_eq!(message(&body), "namespaces \"nope\" not found");
    assert_eq!(body["details"]["name"], "nope", "{body}");
    assert_eq!(body["details"]["kind"], "namespaces", "{body}");
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_media_type_is_415() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // A media type the server does not decode.
    let body = probe
        .status(
            post(CONFIGMAPS, "text/plain", "name=x"),
            415,
            "UnsupportedMediaType",
        )
        .await;
    let msg = message(&body);
    assert!(
        msg.starts_with(
            "the body of the request was in an unknown format - accepted media types include: "
        ),
        "{body}"
    );
    for t in [
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ] {
        assert!(msg.contains(t), "{t} not listed: {body}");
    }
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_or_namespace_mismatch_is_400() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // The name in the body must match the URL; the namespace too.
    let put = Request::put(format!("{CONFIGMAPS}/keep"))
        .header("content-type", "application/json")
        .body(cm_json("other"))
        .unwrap();
    let body = probe.status(put, 400, "BadRequest").await;
    assert_eq!(
        message(&body),
        "the name of the object (other) does not match the name on the URL (keep)"
    );
    let elsewhere = serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "elsewhere", "namespace": "kube-system"}
    }))
    .unwrap();
    let body = probe
        .status(
            post(CONFIGMAPS, "application/json", elsewhere),
            400,
            "BadRequest",
        )
        .await;
    assert_eq!(
        message(&body),
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_verb_is_405() {
    let fx = Fixture::start().await;
    let probe = &fx.probe;
    // A verb the resource does not support.
    let put_collection = Request::put(CONFIGMAPS)
        .header("content-type", "application/json")
        .body(cm_json("keep"))
        .unwrap();
    let body = probe.status(put_collection, 405, "MethodNotAllowed").await;
    assert_eq!(
        message(&body),
        "the server does not allow this method on the requested resource"
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_name_is_422() {
    let fx = Fixture::start().await;
    let nameless = serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}
    }))
    .unwrap();
    let body = fx
        .probe
        .status(
            post(CONFIGMAPS, "application/json", nameless),
            422,
            "Invalid",
        )
        .await;
    assert_eq!(
        message(&body),
        "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    let causes = body["details"]["causes"].as_array().expect("causes");
    assert_eq!(causes.len(), 1, "{body}");
    assert_eq!(causes[0]["reason"], "FieldValueRequired", "{body}");
    assert_eq!(causes[0]["field"], "metadata.name", "{body}");
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_body_over_3_mib_is_413() {
    let fx = Fixture::start().await;
    let big = serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"},
        "data": {"blob": "y".repeat(3 * 1024 * 1024 + 1)}
    }))
    .unwrap();
    let put = Request::put(format!("{CONFIGMAPS}/keep"))
        .header("content-type", "application/json")
        .body(big)
        .unwrap();
    let body = fx.probe.status(put, 413, "RequestEntityTooLarge").await;
    assert_eq!(message(&body), "Request entity too large: limit is 3145728");
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletecollection_of_namespaces_is_405() {
    // kube-apiserver serves no deletecollection on namespaces: a DELETE of the
    // collection must not remove every namespace.
    let fx = Fixture::start().await;
    let delete_all = Request::delete("/api/v1/namespaces")
        .header("accept", "application/json")
        .body(Vec::new())
        .unwrap();
    let body = fx.probe.status(delete_all, 405, "MethodNotAllowed").await;
    assert_eq!(
        message(&body),
        "the server does not allow this method on the requested resource"
    );
    fx.finish().await;
}
