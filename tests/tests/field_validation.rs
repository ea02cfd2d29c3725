//! `fieldValidation` on built-in kinds, end to end: kubectl's `--validate=strict|warn|false`
//! (which sends `fieldValidation=Strict|Warn|Ignore`), duplicate JSON keys, bad values of the
//! parameter, and server-side apply of a configuration with an undeclared field. Messages are
//! kube-apiserver's (`strict decoding error: unknown field "spec.bogus"`, the Warning header
//! kubectl prints as `Warning: unknown field ...`).

use http::Request;
use serde_json::{Value, json};
use warren_tests::{TestServer, raw_request};

const DEPLOYMENT_WITH_BOGUS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
spec:
  bogus: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        colour: blue
"#;

fn deployment(name: &str) -> String {
    DEPLOYMENT_WITH_BOGUS.replace("NAME", name)
}

#[test]
fn kubectl_validate_modes_refuse_warn_or_drop_unknown_fields() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();

    // Default (--validate=strict): refused, nothing created.
    let out = k.run_stdin(&["create", "-f", "-"], &deployment("strict"));
    assert!(!out.success(), "{out}");
    assert_eq!(
        out.stderr,
        "Error from server (BadRequest): error when creating \"STDIN\": Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.bogus\", unknown field \"spec.template.spec.containers[0].colour\"\n",
        "{out}"
    );
    let out = k.run(&["get", "deployment", "strict"]);
    assert!(!out.success(), "a refused object must not exist:\n{out}");

    // --validate=warn: created, one warning per field, the fields dropped.
    let out = k.run_stdin(
        &["create", "--validate=warn", "-f", "-"],
        &deployment("warned"),
    );
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "deployment.apps/warned created\n", "{out}");
    assert_eq!(
        out.stderr,
        "Warning: unknown field \"spec.bogus\"\nWarning: unknown field \"spec.template.spec.containers[0].colour\"\n",
        "{out}"
    );

    // --validate=false: created silently, the fields dropped.
    let out = k.run_stdin(
        &["create", "--validate=false", "-f", "-"],
        &deployment("ignored"),
    );
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "", "{out}");

    for name in ["warned", "ignored"] {
        let obj: Value =
            serde_json::from_str(&k.ok(&["get", "deployment", name, "-o", "json"])).unwrap();
        assert_eq!(obj["spec"].get("bogus"), None, "{obj}");
        let container = &obj["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container.get("colour"), None, "{obj}");
        assert_eq!(container["image"], "nginx:1.27", "{obj}");
    }

    // kubectl patch does not ask for strict validation: the server's default (Warn) applies.
    let out = k.run(&[
        "patch",
        "deployment",
        "warned",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3,"bogus":2}}"#,
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "deployment.apps/warned patched\n", "{out}");
    assert_eq!(
        out.stderr, "Warning: unknown field \"spec.bogus\"\n",
        "{out}"
    );
    let obj: Value =
        serde_json::from_str(&k.ok(&["get", "deployment", "warned", "-o", "json"])).unwrap();
    assert_eq!(obj["spec"]["replicas"], 3, "{obj}");
    assert_eq!(obj["spec"].get("bogus"), None, "{obj}");

    // Server-side apply cannot type an undeclared field, whatever the validation mode.
    let out = k.run_stdin(
        &["apply", "--server-side", "-f", "-"],
        &deployment("applied"),
    );
    assert!(!out.success(), "{out}");
    assert_eq!(
        out.stderr,
        "Error from server: failed to create typed patch object (default/applied; apps/v1, Kind=Deployment): .spec.bogus: field not declared in schema\n",
        "{out}"
    );
    assert!(!k.run(&["get", "deployment", "applied"]).success());
}

#[tokio::test]
async fn duplicate_keys_and_bad_parameter_values() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"},"data":{"a":"1","a":"2"}}"#;
    let post = |query: &str| {
        Request::post(format!("/api/v1/namespaces/default/configmaps{query}"))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_vec())
            .unwrap()
    };

    let (status, json, text) = raw_request(&client, post("?fieldValidation=Strict"))
        .await
        .expect("request");
    let json = json.unwrap_or_else(|| panic!("not JSON: {text}"));
    assert_eq!(status.as_u16(), 400, "{json}");
    assert_eq!(json["reason"], "BadRequest", "{json}");
    assert_eq!(
        json["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"metadata.name\", duplicate field \"data.a\"",
        "{json}"
    );

    let (status, json, text) = raw_request(&client, post("?fieldValidation=Loose"))
        .await
        .expect("request");
    let json = json.unwrap_or_else(|| panic!("not JSON: {text}"));
    assert_eq!(status.as_u16(), 422, "{json}");
    assert_eq!(json["reason"], "Invalid", "{json}");
    assert_eq!(
        json["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"Loose\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"",
        "{json}"
    );

    // A strict merge patch with an unknown field is refused; the object is unchanged.
    let patch = Request::patch("/api/v1/namespaces/default/configmaps/kept?fieldValidation=Strict")
        .header("content-type", "application/merge-patch+json")
        .header("accept", "application/json")
        .body(br#"{"data":{"b":"2"},"bogus":true}"#.to_vec())
        .unwrap();
    let create = Request::post("/api/v1/namespaces/default/configmaps")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept"},"data":{"a":"1"}}"#.to_vec())
        .unwrap();
    let (status, _, text) = raw_request(&client, create).await.expect("request");
    assert_eq!(status.as_u16(), 201, "{text}");
    let (status, json, text) = raw_request(&client, patch).await.expect("request");
    let json = json.unwrap_or_else(|| panic!("not JSON: {text}"));
    assert_eq!(status.as_u16(), 400, "{json}");
    assert_eq!(
        json["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogus\"",
        "{json}"
    );
    let get = Request::get("/api/v1/namespaces/default/configmaps/kept")
        .header("accept", "application/json")
        .body(Vec::new())
        .unwrap();
    let (_, json, text) = raw_request(&client, get).await.expect("request");
    let json = json.unwrap_or_else(|| panic!("not JSON: {text}"));
    assert_eq!(json["data"], json!({"a": "1"}), "{json}");

    // Without Strict the last value wins, as Go's JSON decoding does.
    let (status, json, text) = raw_request(&client, post("?fieldValidation=Ignore"))
        .await
        .expect("request");
    let json = json.unwrap_or_else(|| panic!("not JSON: {text}"));
    assert_eq!(status.as_u16(), 201, "{json}");
    assert_eq!(json["data"], json!({"a": "2"}), "{json}");
}
