//! Admission webhooks end to end: the test serves HTTPS webhooks on 127.0.0.1 (a throw-away CA
//! signs a certificate for `127.0.0.1` and `wh.hooks.svc`), records every AdmissionReview it
//! receives, and drives the server with kubectl. Refusals and failures must read as
//! kube-apiserver's.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use warren_tests::{Kubectl, TestServer, eventually};

/// One review a webhook received: the path it was posted to and the AdmissionReview.
type Recorded = Arc<Mutex<Vec<(String, Value)>>>;

/// An HTTPS webhook server on 127.0.0.1 with its own runtime thread; stopped when dropped.
///
/// Paths: `/allow` allows; `/deny` refuses objects labelled `deny=yes` (403, with a message);
/// `/mutate` adds the label `mutated=yes` with a JSON patch and a warning; `/hang` never
/// answers.
struct WebhookServer {
    port: u16,
    ca_pem: String,
    recorded: Recorded,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WebhookServer {
    fn start() -> WebhookServer {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "webhook-test-ca");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "wh.hooks.svc".to_string(),
        ])
        .unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let recorded: Recorded = Arc::default();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let rec = recorded.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(Arc::new(config), rec, port_tx, stop_rx));
        });
        let port = port_rx.recv().expect("webhook server binds");
        WebhookServer {
            port,
            ca_pem: ca_cert.pem(),
            recorded,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `caBundle`: base64 of the CA's PEM.
    fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// The reviews received so far.
    fn reviews(&self) -> Vec<(String, Value)> {
        self.recorded.lock().unwrap().clone()
    }

    /// The names of the objects of the reviews received so far.
    fn names(&self) -> Vec<String> {
        self.reviews()
            .iter()
            .map(|(_, r)| {
                r.pointer("/request/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(
    config: Arc<rustls::ServerConfig>,
    recorded: Recorded,
    port_tx: std::sync::mpsc::Sender<u16>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    port_tx.send(addr.port()).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        let acceptor = acceptor.clone();
        let recorded = recorded.clone();
        connections.spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| answer(req, recorded.clone()));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
    // Dropping the set aborts the open connections (a `/hang` call among them).
    connections.abort_all();
}

async fn answer(
    req: hyper::Request<Incoming>,
    recorded: Recorded,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut review_with_query = review.clone();
    review_with_query["query"] = json!(query);
    recorded
        .lock()
        .unwrap()
        .push((path.clone(), review_with_query));
    let uid = review
        .pointer("/request/uid")
        .cloned()
        .unwrap_or(Value::Null);
    let labelled = |key: &str, value: &str| {
        review
            .pointer(&format!("/request/object/metadata/labels/{key}"))
            .and_then(Value::as_str)
            == Some(value)
    };
    let response = match path.as_str() {
        "/hang" => std::future::pending().await,
        "/deny" if labelled("deny", "yes") => json!({
            "uid": uid, "allowed": false,
            "status": {"code": 403, "reason": "Forbidden", "message": "pods labelled deny=yes are not allowed"}
        }),
        "/mutate" => {
            let patch = json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "yes"}]);
            json!({
                "uid": uid, "allowed": true, "patchType": "JSONPatch",
                "patch": base64::engine::general_purpose::STANDARD.encode(patch.to_string()),
                "warnings": ["mutated by the test webhook"],
                "auditAnnotations": {"mutated": "yes"},
            })
        }
        _ => json!({"uid": uid, "allowed": true}),
    };
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response});
    Ok(hyper::Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap())
}

/// A webhook entry calling `url` for `resources` (core group) on CREATE.
fn hook(name: &str, client_config: Value, resources: &[&str]) -> Value {
    json!({
        "name": name,
        "clientConfig": client_config,
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": resources}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    })
}

fn configuration(kind: &str, name: &str, hooks: Vec<Value>) -> String {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "webhooks": hooks,
    })
    .to_string()
}

fn pod(name: &str, labels: Value) -> String {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    })
    .to_string()
}

fn config_map(name: &str, namespace: &str, labels: Value) -> String {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    })
    .to_string()
}

fn wait_for_default_service_account(k: &Kubectl) {
    eventually(
        Duration::from_secs(30),
        "the default ServiceAccount",
        || {
            k.run(&["get", "serviceaccount", "default"])
                .success()
                .then_some(())
        },
    );
}

#[test]
fn validating_webhook_denies_with_upstream_message_and_sees_the_request() {
    let webhook = WebhookServer::start();
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    wait_for_default_service_account(&k);
    let mut h = hook(
        "deny.warren.test",
        json!({"url": webhook.url("/deny"), "caBundle": webhook.ca_bundle()}),
        &["pods"],
    );
    h["failurePolicy"] = json!("Fail");
    k.ok_stdin(
        &["create", "-f", "-"],
        &configuration("ValidatingWebhookConfiguration", "deny", vec![h]),
    );
    // Defaults as upstream's.
    let stored: Value = serde_json::from_str(&k.ok(&[
        "get",
        "validatingwebhookconfiguration",
        "deny",
        "-o",
        "json",
    ]))
    .unwrap();
    let w = &stored["webhooks"][0];
    assert_eq!(w["timeoutSeconds"], 10, "{stored}");
    assert_eq!(w["matchPolicy"], "Equivalent", "{stored}");
    assert_eq!(w["namespaceSelector"], json!({}), "{stored}");
    assert_eq!(w["rules"][0]["scope"], "*", "{stored}");

    let out = k.run_stdin(
        &["create", "-f", "-"],
        &pod("denied", json!({"deny": "yes"})),
    );
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains(
            "Error from server (Forbidden): error when creating \"STDIN\": admission webhook \"deny.warren.test\" denied the request: pods labelled deny=yes are not allowed"
        ),
        "{out}"
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &pod("allowed", json!({"deny": "no"})),
    );
    k.ok(&["get", "pod", "allowed"]);
    assert!(!k.run(&["get", "pod", "denied"]).success());

    let reviews = webhook.reviews();
    let (path, review) = reviews
        .iter()
        .find(|(_, r)| r.pointer("/request/name") == Some(&json!("allowed")))
        .expect("the allowed pod was reviewed");
    assert_eq!(path, "/deny");
    assert_eq!(review["query"], "timeout=10s");
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    let r = &review["request"];
    assert_eq!(
        r["kind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(
        r["resource"],
        json!({"group": "", "version": "v1", "resource": "pods"})
    );
    assert_eq!(r["requestKind"], r["kind"]);
    assert_eq!(r["operation"], "CREATE");
    assert_eq!(r["namespace"], "default");
    assert_eq!(r["userInfo"]["username"], "admin");
    assert!(
        r["userInfo"]["groups"]
            .as_array()
            .unwrap()
            .contains(&json!("system:masters")),
        "{r}"
    );
    assert_eq!(r["object"]["metadata"]["name"], "allowed");
    assert_eq!(r["object"]["spec"]["containers"][0]["image"], "nginx");
    assert_eq!(r["oldObject"], Value::Null);
    assert_eq!(r["dryRun"], false);
    assert_eq!(r["options"]["kind"], "CreateOptions", "{}", r["options"]);
    assert_eq!(r["options"]["apiVersion"], "meta.k8s.io/v1");
    assert!(!r["uid"].as_str().unwrap_or("").is_empty());
    // Deletes are not in the rules: nothing recorded for them.
    let before = webhook.reviews().len();
    k.ok(&["delete", "pod", "allowed", "--wait=false"]);
    assert_eq!(webhook.reviews().len(), before);
}

#[test]
fn mutating_webhook_patches_the_stored_object() {
    let webhook = WebhookServer::start();
    let audit_dir = tempfile::tempdir().unwrap();
    let audit_log = audit_dir.path().join("audit.log");
    let server = TestServer::start_with(&["--audit-log-path", audit_log.to_str().unwrap()])
        .expect("server starts");
    let k = server.kubectl();
    wait_for_default_service_account(&k);
    k.ok_stdin(
        &["create", "-f", "-"],
        &configuration(
            "MutatingWebhookConfiguration",
            "mutate",
            vec![hook(
                "mutate.warren.test",
                json!({"url": webhook.url("/mutate"), "caBundle": webhook.ca_bundle()}),
                &["pods"],
            )],
        ),
    );
    let stored: Value = serde_json::from_str(&k.ok(&[
        "get",
        "mutatingwebhookconfiguration",
        "mutate",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(stored["webhooks"][0]["reinvocationPolicy"], "Never");
    let out = k.run_stdin(&["create", "-f", "-"], &pod("patched", json!({"app": "x"})));
    assert!(out.success(), "{out}");
    assert!(
        out.stderr.contains("Warning: mutated by the test webhook"),
        "{out}"
    );
    let pod: Value = serde_json::from_str(&k.ok(&["get", "pod", "patched", "-o", "json"])).unwrap();
    assert_eq!(pod["metadata"]["labels"]["mutated"], "yes", "{pod}");
    assert_eq!(pod["metadata"]["labels"]["app"], "x", "{pod}");
    assert_eq!(webhook.names(), vec!["patched".to_string()]);
    // A generateName create is reviewed before its name is generated, as upstream's
    // BeforeCreate comes after mutating admission: no name, the generateName in the object.
    let created = k.ok_stdin(
        &["create", "-f", "-", "-o", "name"],
        &json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": "gen-", "namespace": "default", "labels": {"app": "gen"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        .to_string(),
    );
    assert!(created.starts_with("pod/gen-"), "{created}");
    let (_, review) = webhook.reviews().last().cloned().expect("a review");
    // (`name` is omitempty in AdmissionRequest.)
    assert!(review["request"].get("name").is_none(), "{review}");
    assert_eq!(
        review["request"]["object"]["metadata"]["generateName"], "gen-",
        "{review}"
    );
    // The webhook's audit annotation is on the create's audit event, under its name.
    let log = std::fs::read_to_string(&audit_log).unwrap();
    let create = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["verb"] == "create" && e["objectRef"]["name"] == "patched")
        .unwrap_or_else(|| panic!("no audit event of the create:\n{log}"));
    assert_eq!(
        create["annotations"]["mutate.warren.test/mutated"], "yes",
        "{create}"
    );
}

#[test]
fn namespace_and_object_selectors_exclude_requests() {
    let webhook = WebhookServer::start();
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let mut h = hook(
        "select.warren.test",
        json!({"url": webhook.url("/allow"), "caBundle": webhook.ca_bundle()}),
        &["configmaps"],
    );
    h["namespaceSelector"] = json!({"matchLabels": {"webhooks": "on"}});
    h["objectSelector"] =
        json!({"matchExpressions": [{"key": "watched", "operator": "In", "values": ["yes"]}]});
    k.ok_stdin(
        &["create", "-f", "-"],
        &configuration("ValidatingWebhookConfiguration", "select", vec![h]),
    );
    k.ok(&["create", "namespace", "on"]);
    k.ok(&["label", "namespace", "on", "webhooks=on"]);
    k.ok(&["create", "namespace", "off"]);
    k.ok_stdin(
        &["create", "-f", "-"],
        &config_map("off-watched", "off", json!({"watched": "yes"})),
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &config_map("on-unwatched", "on", json!({"watched": "no"})),
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &config_map("on-watched", "on", json!({"watched": "yes"})),
    );
    assert_eq!(webhook.names(), vec!["on-watched".to_string()]);
}

#[test]
fn failure_policies_and_timeouts() {
    // A server that is gone: its port refuses connections.
    let mut gone = WebhookServer::start();
    gone.stop();
    let hanging = WebhookServer::start();
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let with_selector = |name: &str, url: String, ca: String, label: &str, policy: &str| {
        let mut h = hook(name, json!({"url": url, "caBundle": ca}), &["configmaps"]);
        h["failurePolicy"] = json!(policy);
        h["objectSelector"] = json!({"matchLabels": {label: "yes"}});
        h
    };
    let mut hang = with_selector(
        "hang.warren.test",
        hanging.url("/hang"),
        hanging.ca_bundle(),
        "hang",
        "Fail",
    );
    hang["timeoutSeconds"] = json!(1);
    k.ok_stdin(
        &["create", "-f", "-"],
        &configuration(
            "ValidatingWebhookConfiguration",
            "failures",
            vec![
                with_selector(
                    "fail.warren.test",
                    gone.url("/allow"),
                    gone.ca_bundle(),
                    "fail",
                    "Fail",
                ),
                with_selector(
                    "ignore.warren.test",
                    gone.url("/allow"),
                    gone.ca_bundle(),
                    "ignore",
                    "Ignore",
                ),
                hang,
            ],
        ),
    );
    let out = k.run_stdin(
        &["create", "-f", "-"],
        &config_map("failing", "default", json!({"fail": "yes"})),
    );
    assert!(!out.success(), "{out}");
    let expected = format!(
        "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred: failed calling webhook \"fail.warren.test\": failed to call webhook: Post \"https://127.0.0.1:{port}/allow?timeout=10s\": dial tcp 127.0.0.1:{port}: connect: connection refused",
        port = gone.port
    );
    assert!(out.stderr.contains(&expected), "expected {expected}\n{out}");
    k.ok_stdin(
        &["create", "-f", "-"],
        &config_map("ignoring", "default", json!({"ignore": "yes"})),
    );
    k.ok(&["get", "configmap", "ignoring"]);

    let started = Instant::now();
    let out = k.run_stdin(
        &["create", "-f", "-"],
        &config_map("hanging", "default", json!({"hang": "yes"})),
    );
    let took = started.elapsed();
    assert!(!out.success(), "{out}");
    let expected = format!(
        "Internal error occurred: failed calling webhook \"hang.warren.test\": failed to call webhook: Post \"https://127.0.0.1:{}/hang?timeout=1s\": context deadline exceeded",
        hanging.port
    );
    assert!(out.stderr.contains(&expected), "expected {expected}\n{out}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(hanging.names(), vec!["hanging".to_string()]);
}

#[test]
fn dry_runs_and_side_effects() {
    let webhook = WebhookServer::start();
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    // v1 accepts only side-effect-free webhooks (kube-apiserver's message).
    let mut unknown = hook(
        "unknown.warren.test",
        json!({"url": webhook.url("/allow"), "caBundle": webhook.ca_bundle()}),
        &["configmaps"],
    );
    unknown["sideEffects"] = json!("Unknown");
    let out = k.run_stdin(
        &["create", "-f", "-"],
        &configuration("ValidatingWebhookConfiguration", "unknown", vec![unknown]),
    );
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains(
            "webhooks[0].sideEffects: Unsupported value: \"Unknown\": supported values: \"None\", \"NoneOnDryRun\""
        ),
        "{out}"
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &configuration(
            "ValidatingWebhookConfiguration",
            "none",
            vec![hook(
                "none.warren.test",
                json!({"url": webhook.url("/allow"), "caBundle": webhook.ca_bundle()}),
                &["configmaps"],
            )],
        ),
    );
    k.ok(&[
        "create",
        "configmap",
        "dry",
        "--from-literal=a=b",
        "--dry-run=server",
    ]);
    assert!(!k.run(&["get", "configmap", "dry"]).success());
    let reviews = webhook.reviews();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    let r = &reviews[0].1["request"];
    assert_eq!(r["dryRun"], true, "{r}");
    assert_eq!(r["options"]["dryRun"], json!(["All"]), "{r}");
}

#[test]
fn service_referenced_webhook_is_called_through_endpoints() {
    let webhook = WebhookServer::start();
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    k.ok(&["create", "namespace", "hooks"]);
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "wh", "namespace": "hooks"},
        "spec": {"ports": [{"port": 443, "targetPort": webhook.port}]},
    });
    let endpoints = json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "wh", "namespace": "hooks"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": webhook.port}]}],
    });
    k.ok_stdin(&["create", "-f", "-"], &service.to_string());
    k.ok_stdin(&["create", "-f", "-"], &endpoints.to_string());
    k.ok_stdin(
        &["create", "-f", "-"],
        &configuration(
            "ValidatingWebhookConfiguration",
            "service",
            vec![hook(
                "service.warren.test",
                json!({"service": {"namespace": "hooks", "name": "wh", "path": "/allow"}, "caBundle": webhook.ca_bundle()}),
                &["configmaps"],
            )],
        ),
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &config_map("via-service", "default", json!({})),
    );
    let reviews = webhook.reviews();
    assert_eq!(webhook.names(), vec!["via-service".to_string()]);
    assert_eq!(reviews[0].0, "/allow");
    assert_eq!(reviews[0].1["query"], "timeout=10s");
}

/// `--webhook-egress-deny` fences the server's calls: a webhook whose address is in a denied
/// range is never dialled, and the request fails (Fail) or passes (Ignore) as for any failed
/// call.
#[test]
fn denied_egress_ranges_are_never_dialled() {
    let webhook = WebhookServer::start();
    let server =
        TestServer::start_with(&["--webhook-egress-deny", "127.0.0.0/8"]).expect("server starts");
    let k = server.kubectl();
    let fenced = |name: &str, label: &str, policy: &str| {
        let mut h = hook(
            name,
            json!({"url": webhook.url("/allow"), "caBundle": webhook.ca_bundle()}),
            &["configmaps"],
        );
        h["failurePolicy"] = json!(policy);
        h["objectSelector"] = json!({"matchLabels": {label: "yes"}});
        h
    };
    k.ok_stdin(
        &["create", "-f", "-"],
        &configuration(
            "ValidatingWebhookConfiguration",
            "fenced",
            vec![
                fenced("fail.warren.test", "fail", "Fail"),
                fenced("ignore.warren.test", "ignore", "Ignore"),
            ],
        ),
    );
    let out = k.run_stdin(
        &["create", "-f", "-"],
        &config_map("refused", "default", json!({"fail": "yes"})),
    );
    assert!(!out.success(), "{out}");
    let expected = format!(
        "failed calling webhook \"fail.warren.test\": failed to call webhook: Post \"https://127.0.0.1:{port}/allow?timeout=10s\": dial tcp 127.0.0.1:{port}: address is in 127.0.0.0/8, which --webhook-egress-deny forbids",
        port = webhook.port
    );
    assert!(out.stderr.contains(&expected), "expected {expected}\n{out}");
    k.ok_stdin(
        &["create", "-f", "-"],
        &config_map("let-through", "default", json!({"ignore": "yes"})),
    );
    assert!(webhook.names().is_empty(), "{:?}", webhook.names());
    // A bad range is a start-up error, not an open door.
    assert!(TestServer::start_with(&["--webhook-egress-deny", "10.0.0.0/40"]).is_err());
}
