//! Authentication across tenants: a client certificate is only good at the tenant whose CA
//! issued it. Another tenant's certificate, or none, gets kube-apiserver's 401 `Status` (not a
//! failed handshake); `/version` and the health endpoints stay public. curl is the client, so
//! that each request carries exactly the certificate chosen.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use warren_tests::{TestServer, run_command};

/// (HTTP status, body) of `GET path` on `server` with the client certificate of `creds` (the
/// data dir whose `pki/admin.crt` and `admin.key` to present), or none.
fn get(server: &TestServer, path: &str, creds: Option<&Path>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-k", "-o", "-", "-w", "\n%{http_code}"]);
    if let Some(dir) = creds {
        cmd.arg("--cert")
            .arg(dir.join("pki/admin.crt"))
            .arg("--key")
            .arg(dir.join("pki/admin.key"));
    }
    cmd.arg(format!("{}{path}", server.url()));
    let out = run_command(cmd, None).expect("curl runs");
    assert!(out.success(), "curl failed:\n{out}");
    let (body, code) = out.stdout.rsplit_once('\n').expect("status line");
    (code.parse().expect("HTTP status"), body.to_string())
}

#[test]
fn another_tenants_certificate_is_unauthorized() {
    let a = TestServer::start().expect("A starts");
    let b = TestServer::start().expect("B starts");

    // Each admin certificate works at its own tenant...
    let (code, body) = get(&b, "/api/v1/namespaces", Some(b.data_dir()));
    assert_eq!(code, 200, "{body}");
    // ...and is a 401 at the other one, as kube-apiserver answers an unknown CA.
    for (server, foreign) in [(&b, a.data_dir()), (&a, b.data_dir())] {
        let (code, body) = get(server, "/api/v1/namespaces", Some(foreign));
        assert_eq!(code, 401, "{body}");
        let status: Value = serde_json::from_str(&body).expect("a Status");
        assert_eq!(status["kind"], "Status", "{status}");
        assert_eq!(status["reason"], "Unauthorized", "{status}");
        assert_eq!(status["message"], "Unauthorized", "{status}");
        // Writes too, and with no data changed.
        let (code, _) = get(server, "/api/v1/namespaces/default/secrets", Some(foreign));
        assert_eq!(code, 401);
    }
    // No certificate: 401 for the API, public endpoints still answer.
    assert_eq!(get(&a, "/api", None).0, 401);
    assert_eq!(get(&a, "/version", None).0, 200);
    let (code, body) = get(&a, "/healthz", None);
    assert_eq!((code, body.as_str()), (200, "ok"));
    // A foreign certificate on a public endpoint is still fine (nothing to authenticate).
    assert_eq!(get(&a, "/version", Some(b.data_dir())).0, 200);
}

/// A kubeconfig with the server's CA and a bearer token (no client certificate).
fn token_kubeconfig(server: &TestServer, token: &str) -> std::path::PathBuf {
    let admin = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    let ca = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data:"))
        .expect("CA in the admin kubeconfig")
        .trim()
        .to_string();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {}\n  name: t\ncontexts:\n- context:\n    cluster: t\n    user: u\n  name: t\ncurrent-context: t\nusers:\n- name: u\n  user:\n    token: {token}\n",
        server.url()
    );
    let path = server
        .data_dir()
        .join(format!("token-{}.kubeconfig", token.len()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn static_token_file_authenticates_bearer_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.csv");
    std::fs::write(&file, "s3cret-token,dave,uid-1,\"team-leads,ops\"\n").unwrap();
    let server = TestServer::start_with(&["--token-auth-file", file.to_str().unwrap()])
        .expect("server starts");
    let dave = warren_tests::Kubectl::new(&token_kubeconfig(&server, "s3cret-token"));
    assert_eq!(
        dave.ok(&["auth", "whoami"]),
        "ATTRIBUTE   VALUE\nUsername    dave\nUID         uid-1\nGroups      [team-leads ops system:authenticated]\n"
    );
    // Authenticated is not authorized: dave has no role yet.
    let out = dave.run(&["get", "pods"]);
    assert!(
        out.stderr.contains(
            "pods is forbidden: User \"dave\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{out}"
    );
    let wrong = warren_tests::Kubectl::new(&token_kubeconfig(&server, "wrong"));
    let out = wrong.run(&["get", "pods"]);
    assert!(!out.success(), "{out}");
    // (kubectl 1.37's wording for a 401 on its discovery request.)
    assert!(
        out.stderr.contains(
            "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
        ),
        "{out}"
    );
    // A malformed token file stops the server from starting, without printing tokens.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "only-a-token\n").unwrap();
    let err = TestServer::start_with(&["--token-auth-file", bad.to_str().unwrap()])
        .err()
        .expect("a bad token file is refused");
    let text = format!("{err:#}");
    assert!(text.contains("line 1"), "{text}");
    assert!(!text.contains("only-a-token"), "the token leaked: {text}");
}

#[test]
fn issuing_a_user_kubeconfig_keeps_the_serving_certificate() {
    let server = TestServer::start_with(&["--tls-san", "tenant.example"]).expect("starts");
    let crt = server.data_dir().join("pki/server.crt");
    let before = std::fs::read(&crt).unwrap();
    let mut cmd = Command::new(warren_tests::binary("tenant-apiserver"));
    cmd.arg("kubeconfig")
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["--server", server.url(), "--user", "carol"]);
    let out = run_command(cmd, None).expect("kubeconfig runs");
    assert!(out.success(), "{out}");
    assert_eq!(
        std::fs::read(&crt).unwrap(),
        before,
        "the serving certificate was re-issued"
    );
    // And the new kubeconfig authenticates as carol.
    let path = server.data_dir().join("carol.kubeconfig");
    std::fs::write(&path, &out.stdout).unwrap();
    let whoami = warren_tests::Kubectl::new(&path).ok(&[
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(whoami.trim(), "carol");
}

/// A refused write gets its 401 even over HTTP/2 with a large body still being sent (the server
/// reads the body before answering, so the client never sees a reset stream instead).
#[test]
fn refused_posts_are_answered_not_reset() {
    let server = TestServer::start().expect("starts");
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(
        &body,
        format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"x\"}},\"data\":{{\"k\":\"{}\"}}}}",
            "v".repeat(512 * 1024)
        ),
    )
    .unwrap();
    for http in ["--http2", "--http1.1"] {
        for _ in 0..10 {
            let mut cmd = Command::new("curl");
            cmd.args(["-sS", "-k", http, "-o", "/dev/null", "-w", "%{http_code}"])
                .args(["-X", "POST", "-H", "Content-Type: application/json"])
                .arg("--data-binary")
                .arg(format!("@{}", body.display()))
                .arg(format!(
                    "{}/api/v1/namespaces/default/configmaps",
                    server.url()
                ));
            let out = run_command(cmd, None).expect("curl runs");
            assert!(out.success(), "curl {http} failed:\n{out}");
            assert_eq!(out.stdout.trim(), "401", "{out}");
        }
    }
}
