//! Service-account tokens end to end: `kubectl create token` (TokenRequest), bound tokens that
//! stop working with their pod or service account, legacy Secret tokens filled by the token
//! controller, TokenReview, and RBAC for service accounts. curl sends the exact tokens (forged
//! ones too: another key, expired, another audience, garbage), so that each request carries
//! nothing but the credential under test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Value, json};
use warren_tests::{Kubectl, TestServer, eventually, run_command};

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
const DEADLINE: Duration = Duration::from_secs(20);

/// The credential a request carries.
#[derive(Clone, Copy)]
enum Cred<'a> {
    /// `Authorization: Bearer TOKEN` and no client certificate.
    Token(&'a str),
    /// The admin client certificate.
    Admin,
}

/// (HTTP status, body) of `METHOD path` at `server` with `cred`, verifying the server against
/// the tenant CA.
fn curl(
    server: &TestServer,
    method: &str,
    path: &str,
    cred: Cred<'_>,
    body: Option<&Value>,
) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method])
        .arg("--cacert")
        .arg(server.data_dir().join("pki/ca.crt"));
    match cred {
        Cred::Token(token) => {
            cmd.arg("-H").arg(format!("Authorization: Bearer {token}"));
        }
        Cred::Admin => {
            cmd.arg("--cert")
                .arg(server.data_dir().join("pki/admin.crt"))
                .arg("--key")
                .arg(server.data_dir().join("pki/admin.key"));
        }
    }
    if let Some(body) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(body.to_string());
    }
    cmd.arg(format!("{}{path}", server.url()));
    let out = run_command(cmd, None).expect("curl runs");
    assert!(out.success(), "curl failed:\n{out}");
    let (body, code) = out.stdout.rsplit_once('\n').expect("status line");
    (code.parse().expect("HTTP status"), body.to_string())
}

/// Who `token` is at `server` (a SelfSubjectReview), or the HTTP status it got instead.
fn whoami(server: &TestServer, token: &str) -> Result<Value, (u16, String)> {
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let (code, body) = curl(
        server,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Cred::Token(token),
        Some(&review),
    );
    if code == 201 {
        let v: Value = serde_json::from_str(&body).expect("a SelfSubjectReview");
        Ok(v["status"]["userInfo"].clone())
    } else {
        Err((code, body))
    }
}

/// Asserts `token` gets kube-apiserver's 401 `Status` at `server` (on `GET /api`, which every
/// authenticated user may read).
fn assert_unauthorized(server: &TestServer, token: &str, what: &str) {
    let (code, body) = curl(server, "GET", "/api", Cred::Token(token), None);
    assert_eq!(code, 401, "{what}: {body}");
    let status: Value = serde_json::from_str(&body).expect("a Status");
    assert_eq!(status["kind"], "Status", "{what}: {status}");
    assert_eq!(status["reason"], "Unauthorized", "{what}: {status}");
    assert_eq!(status["message"], "Unauthorized", "{what}: {status}");
}

/// The claims of a JWT (unverified).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The `kid` of a JWT's header.
fn kid(token: &str) -> String {
    let header = token.split('.').next().expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url header");
    let v: Value = serde_json::from_slice(&bytes).expect("JSON header");
    v["kid"].as_str().expect("kid").to_string()
}

/// Signs `claims` (ES256, header `kid`) with the PKCS#8 PEM key `key_pem`.
fn forge(claims: &Value, kid: &str, key_pem: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = None;
    header.kid = Some(kid.to_string());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(key_pem.as_bytes()).expect("EC key");
    jsonwebtoken::encode(&header, claims, &key).expect("signs")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// `kubectl create token ARGS` as the admin: the token.
fn create_token(admin: &Kubectl, args: &[&str]) -> String {
    let mut all = vec!["create", "token"];
    all.extend_from_slice(args);
    admin.ok(&all).trim().to_string()
}

/// A kubeconfig with the server and its CA only (no user credentials), for `--token`.
fn ca_only_kubeconfig(server: &TestServer) -> PathBuf {
    let ca = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(server.data_dir().join("pki/ca.crt")).expect("ca.crt"));
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {}\n  name: t\ncontexts:\n- context:\n    cluster: t\n    user: nobody\n  name: t\ncurrent-context: t\nusers:\n- name: nobody\n  user: {{}}\n",
        server.url()
    );
    let path = server.data_dir().join("ca-only.kubeconfig");
    std::fs::write(&path, text).expect("kubeconfig written");
    path
}

fn kubectl_for(path: &Path) -> Kubectl {
    Kubectl::new(path)
}

#[test]
fn tokens_are_good_at_their_own_tenant_only() {
    let a = TestServer::start().expect("A starts");
    let b = TestServer::start().expect("B starts");
    let token_a = create_token(&a.kubectl(), &["default"]);
    let token_b = create_token(&b.kubectl(), &["default"]);

    // Each token works at its own tenant, as the default service account...
    for (server, token) in [(&a, &token_a), (&b, &token_b)] {
        let user = whoami(server, token).expect("own tenant accepts its token");
        assert_eq!(
            user["username"], "system:serviceaccount:default:default",
            "{user}"
        );
        assert_eq!(
            user["groups"],
            json!([
                "system:serviceaccounts",
                "system:serviceaccounts:default",
                "system:authenticated"
            ]),
            "{user}"
        );
        assert!(
            user["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{user}"
        );
        let jti = claims(token)["jti"].as_str().expect("jti").to_string();
        assert_eq!(
            user["extra"]["authentication.kubernetes.io/credential-id"],
            json!([format!("JTI={jti}")]),
            "{user}"
        );
    }
    // ...and is a 401 at the other one.
    assert_unauthorized(&b, &token_a, "A's token at B");
    assert_unauthorized(&a, &token_b, "B's token at A");

    // The claims are upstream's.
    let c = claims(&token_a);
    assert_eq!(c["iss"], ISSUER, "{c}");
    assert_eq!(c["aud"], json!([ISSUER]), "{c}");
    assert_eq!(c["sub"], "system:serviceaccount:default:default", "{c}");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600,
        "{c}"
    );
    assert_eq!(c["nbf"], c["iat"], "{c}");
    assert_eq!(c["kubernetes.io"]["namespace"], "default", "{c}");
    assert_eq!(
        c["kubernetes.io"]["serviceaccount"]["name"], "default",
        "{c}"
    );

    // Forgeries. A token signed with A's own key is accepted (the forging is right)...
    let key_a = std::fs::read_to_string(a.data_dir().join("pki/sa.key")).expect("sa.key");
    let kid_a = kid(&token_a);
    let mut fresh = c.clone();
    fresh["jti"] = json!("forged-but-valid");
    assert!(whoami(&a, &forge(&fresh, &kid_a, &key_a)).is_ok());
    // ...another key with A's kid is not.
    let other_key = rcgen::KeyPair::generate().expect("key").serialize_pem();
    assert_unauthorized(&a, &forge(&c, &kid_a, &other_key), "another key");
    assert_unauthorized(&a, &forge(&c, "", &other_key), "another key, no kid");
    // Expired (beyond the minute of leeway) with A's own key.
    let mut expired = c.clone();
    expired["iat"] = json!(now() - 7200);
    expired["nbf"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    let expired_token = forge(&expired, &kid_a, &key_a);
    assert_unauthorized(&a, &expired_token, "expired");
    // Not valid yet.
    let mut future = c.clone();
    future["nbf"] = json!(now() + 3600);
    assert_unauthorized(&a, &forge(&future, &kid_a, &key_a), "not valid yet");
    // Another issuer.
    let mut issuer = c.clone();
    issuer["iss"] = json!("https://elsewhere.example");
    assert_unauthorized(&a, &forge(&issuer, &kid_a, &key_a), "another issuer");
    // Another audience, the kubectl way.
    let other_aud = create_token(&a.kubectl(), &["default", "--audience", "vault"]);
    assert_eq!(claims(&other_aud)["aud"], json!(["vault"]));
    assert_unauthorized(&a, &other_aud, "wrong audience");
    // Garbage.
    for garbage in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.",
        &token_a[..token_a.len() - 5],
        &format!("{token_a}x"),
        &"A".repeat(8 * 1024),
    ] {
        assert_unauthorized(&a, garbage, "garbage");
    }

    // TokenReview (as the admin): a good token, and bad ones.
    let review = |token: &str, audiences: Option<&[&str]>| {
        let mut spec = json!({"token": token});
        if let Some(auds) = audiences {
            spec["audiences"] = json!(auds);
        }
        let body =
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec});
        let (code, out) = curl(
            &a,
            "POST",
            "/apis/authentication.k8s.io/v1/tokenreviews",
            Cred::Admin,
            Some(&body),
        );
        assert_eq!(code, 201, "{out}");
        let v: Value = serde_json::from_str(&out).expect("a TokenReview");
        assert_eq!(v["kind"], "TokenReview", "{v}");
        v["status"].clone()
    };
    let good = review(&token_a, None);
    assert_eq!(good["authenticated"], true, "{good}");
    assert_eq!(
        good["user"]["username"], "system:serviceaccount:default:default",
        "{good}"
    );
    assert_eq!(good["audiences"], json!([ISSUER]), "{good}");
    assert!(
        good["user"]["groups"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("system:authenticated"))),
        "{good}"
    );
    let with_aud = review(&other_aud, Some(&["vault"]));
    assert_eq!(with_aud["authenticated"], true, "{with_aud}");
    assert_eq!(with_aud["audiences"], json!(["vault"]), "{with_aud}");
    for (token, auds, why) in [
        (
            token_a.as_str(),
            Some(&["vault"][..]),
            "is invalid for the target audiences",
        ),
        (
            expired_token.as_str(),
            None,
            "service account token has expired",
        ),
        (token_b.as_str(), None, "invalid signature, no keys found"),
        ("garbage", None, "invalid bearer token"),
    ] {
        let bad = review(token, auds);
        assert_ne!(bad["authenticated"], true, "{bad}");
        assert!(
            bad["error"].as_str().is_some_and(|e| e.contains(why)),
            "expected {why:?}: {bad}"
        );
    }
}

#[test]
fn bound_tokens_end_with_their_pod_service_account_or_secret() {
    let server = TestServer::start().expect("server starts");
    let admin = server.kubectl();
    admin.ok(&["create", "namespace", "apps"]);
    eventually(DEADLINE, "the default service account of apps", || {
        admin
            .run(&["get", "serviceaccount", "default", "-n", "apps"])
            .success()
            .then_some(())
    });
    let sa_kubectl = kubectl_for(&ca_only_kubeconfig(&server));
    let whoami_json = |token: &str| {
        let out = sa_kubectl.run(&["--token", token, "auth", "whoami", "-o", "json"]);
        out.success()
            .then(|| serde_json::from_str::<Value>(&out.stdout).expect("JSON"))
    };

    // A token bound to a pod (no node: it goes at once when deleted).
    admin.ok(&[
        "run",
        "worker",
        "-n",
        "apps",
        "--image",
        "nginx",
        "--restart",
        "Never",
    ]);
    let pod_uid = admin.ok(&[
        "get",
        "pod",
        "worker",
        "-n",
        "apps",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    let bound = create_token(
        &admin,
        &[
            "default",
            "-n",
            "apps",
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            "worker",
        ],
    );
    let c = claims(&bound);
    assert_eq!(
        c["kubernetes.io"]["pod"],
        json!({"name": "worker", "uid": pod_uid}),
        "{c}"
    );
    let me = whoami_json(&bound).expect("the pod's token works");
    let info = &me["status"]["userInfo"];
    assert_eq!(
        info["username"], "system:serviceaccount:apps:default",
        "{me}"
    );
    assert_eq!(
        info["extra"]["authentication.kubernetes.io/pod-name"],
        json!(["worker"]),
        "{me}"
    );
    assert_eq!(
        info["extra"]["authentication.kubernetes.io/pod-uid"],
        json!([pod_uid]),
        "{me}"
    );
    // Binding to a pod of another name or with a stale uid is refused as upstream does.
    let out = admin.run(&[
        "create",
        "token",
        "default",
        "-n",
        "apps",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "nosuch",
    ]);
    assert!(out.stderr.contains("pods \"nosuch\" not found"), "{out}");
    let out = admin.run(&[
        "create",
        "token",
        "default",
        "-n",
        "apps",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "worker",
        "--bound-object-uid",
        "0000",
    ]);
    assert!(
        out.stderr
            .contains("the UID in the bound object reference (0000) does not match"),
        "{out}"
    );
    admin.ok(&[
        "delete",
        "pod",
        "worker",
        "-n",
        "apps",
        "--grace-period=0",
        "--force",
    ]);
    eventually(DEADLINE, "the pod's token to stop working", || {
        whoami_json(&bound).is_none().then_some(())
    });
    assert_unauthorized(&server, &bound, "the token of a deleted pod");

    // Deleting a service account ends its tokens.
    admin.ok(&["create", "serviceaccount", "robot", "-n", "apps"]);
    let robot = create_token(&admin, &["robot", "-n", "apps"]);
    assert_eq!(
        whoami(&server, &robot).expect("robot's token works")["username"],
        "system:serviceaccount:apps:robot"
    );
    admin.ok(&["delete", "serviceaccount", "robot", "-n", "apps"]);
    assert_unauthorized(&server, &robot, "the token of a deleted service account");
    // A service account of the same name is another one (another uid).
    admin.ok(&["create", "serviceaccount", "robot", "-n", "apps"]);
    assert_unauthorized(&server, &robot, "the token of a recreated service account");

    // A legacy token: the token controller fills the Secret, and the token works while the
    // Secret and the service account exist.
    admin.ok(&["create", "serviceaccount", "legacy", "-n", "apps"]);
    admin.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy-token\n  namespace: apps\n  annotations:\n    kubernetes.io/service-account.name: legacy\ntype: kubernetes.io/service-account-token\n",
    );
    let secret: Value = eventually(DEADLINE, "the token controller to fill the secret", || {
        let out = admin.run(&["get", "secret", "legacy-token", "-n", "apps", "-o", "json"]);
        let v: Value = serde_json::from_str(&out.stdout).ok()?;
        v["data"]["token"].is_string().then_some(v)
    });
    let decode = |k: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(secret["data"][k].as_str().expect(k))
                .expect("base64"),
        )
        .expect("UTF-8")
    };
    let legacy = decode("token");
    assert_eq!(decode("namespace"), "apps");
    assert_eq!(
        decode("ca.crt"),
        std::fs::read_to_string(server.data_dir().join("pki/ca.crt")).unwrap()
    );
    let sa_uid = admin.ok(&[
        "get",
        "serviceaccount",
        "legacy",
        "-n",
        "apps",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    assert_eq!(
        secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"],
        json!(sa_uid),
        "{secret}"
    );
    let lc = claims(&legacy);
    assert_eq!(lc["iss"], "kubernetes/serviceaccount", "{lc}");
    assert_eq!(
        lc["kubernetes.io/serviceaccount/secret.name"], "legacy-token",
        "{lc}"
    );
    assert_eq!(
        lc["kubernetes.io/serviceaccount/service-account.uid"],
        json!(sa_uid),
        "{lc}"
    );
    let user = whoami(&server, &legacy).expect("the legacy token works");
    assert_eq!(
        user["username"], "system:serviceaccount:apps:legacy",
        "{user}"
    );
    assert_eq!(user["uid"], json!(sa_uid), "{user}");
    admin.ok(&["delete", "secret", "legacy-token", "-n", "apps"]);
    assert_unauthorized(&server, &legacy, "the token of a deleted secret");

    // A token Secret outlives nothing: deleting its service account deletes it.
    admin.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy-token2\n  namespace: apps\n  annotations:\n    kubernetes.io/service-account.name: legacy\ntype: kubernetes.io/service-account-token\n",
    );
    let legacy2 = eventually(DEADLINE, "the second token", || {
        let out = admin.run(&[
            "get",
            "secret",
            "legacy-token2",
            "-n",
            "apps",
            "-o",
            "jsonpath={.data.token}",
        ]);
        (out.success() && !out.stdout.is_empty()).then(|| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(out.stdout.trim())
                    .unwrap(),
            )
            .unwrap()
        })
    });
    assert!(whoami(&server, &legacy2).is_ok());
    admin.ok(&["delete", "serviceaccount", "legacy", "-n", "apps"]);
    assert_unauthorized(
        &server,
        &legacy2,
        "a legacy token of a deleted service account",
    );
    eventually(
        DEADLINE,
        "the token secret of a deleted service account to go",
        || {
            let out = admin.run(&["get", "secret", "legacy-token2", "-n", "apps"]);
            out.stderr.contains("not found").then_some(())
        },
    );
}

#[test]
fn kubectl_create_token_and_rbac_for_service_accounts() {
    let server = TestServer::start().expect("server starts");
    let admin = server.kubectl();
    let token = create_token(&admin, &["default", "--duration", "20m"]);
    let c = claims(&token);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        1200,
        "{c}"
    );

    // Upstream's refusals.
    let out = admin.run(&["create", "token", "default", "--duration", "5m"]);
    assert!(
        out.stderr.contains("spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes"),
        "{out}"
    );
    let out = admin.run(&["create", "token", "nosuch"]);
    assert!(
        out.stderr.contains("serviceaccounts \"nosuch\" not found"),
        "{out}"
    );

    // The TokenRequest object itself (raw, as client-go sends it).
    let (code, body) = curl(
        &server,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/default/token",
        Cred::Admin,
        Some(
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
        ),
    );
    assert_eq!(code, 201, "{body}");
    let tr: Value = serde_json::from_str(&body).expect("a TokenRequest");
    assert_eq!(tr["kind"], "TokenRequest", "{tr}");
    assert_eq!(tr["apiVersion"], "authentication.k8s.io/v1", "{tr}");
    assert_eq!(tr["spec"]["audiences"], json!([ISSUER]), "{tr}");
    assert_eq!(tr["spec"]["expirationSeconds"], 3600, "{tr}");
    assert_eq!(tr["spec"]["boundObjectRef"], Value::Null, "{tr}");
    assert!(tr["status"]["token"].is_string(), "{tr}");
    assert!(tr["status"]["expirationTimestamp"].is_string(), "{tr}");

    // Authenticated but not authorized: 403 (not 401) until RBAC grants it.
    let sa = kubectl_for(&ca_only_kubeconfig(&server));
    let out = sa.run(&["--token", &token, "get", "pods"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains(
            "pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{out}"
    );
    admin.ok(&[
        "create",
        "rolebinding",
        "sa-view",
        "--clusterrole",
        "view",
        "--serviceaccount",
        "default:default",
    ]);
    eventually(DEADLINE, "view to be granted", || {
        sa.run(&["--token", &token, "get", "pods"])
            .success()
            .then_some(())
    });
    admin.ok(&["create", "configmap", "settings", "--from-literal=a=1"]);
    assert!(
        sa.ok(&["--token", &token, "get", "configmaps"])
            .contains("settings")
    );
    // view does not write.
    let out = sa.run(&["--token", &token, "create", "configmap", "mine"]);
    assert!(out.stderr.contains("is forbidden"), "{out}");
    // Another namespace: no grant there.
    let out = sa.run(&["--token", &token, "get", "pods", "-n", "kube-system"]);
    assert!(out.stderr.contains("is forbidden"), "{out}");
}
