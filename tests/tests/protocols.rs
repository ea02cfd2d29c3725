//! The wire: TLS with the tenant CA and the admin client certificate, HTTP/1.1 and
//! HTTP/2 (chosen by ALPN), as curl — a client independent of Go and Rust — sees it.

use std::process::Command;

use base64::Engine;
use warren_tests::{TestServer, run_command};

/// The base64 value of `key:` in the kubeconfig (each is on one line).
fn kubeconfig_field(text: &str, key: &str) -> Vec<u8> {
    let value = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in kubeconfig:\n{text}"))
        .trim()
        .trim_matches('"');
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .unwrap_or_else(|e| panic!("{key} is not base64: {e}"))
}

/// Writes the kubeconfig's CA, client certificate and key to files curl can read.
fn credentials(server: &TestServer, dir: &std::path::Path) -> [String; 3] {
    let text = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    let mut paths = Vec::new();
    for (name, key) in [
        ("ca.crt", "certificate-authority-data:"),
        ("client.crt", "client-certificate-data:"),
        ("client.key", "client-key-data:"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, kubeconfig_field(&text, key)).unwrap();
        paths.push(path.to_str().unwrap().to_string());
    }
    paths.try_into().unwrap()
}

/// `curl` against the server with the admin credentials; returns (http version, status, body).
fn curl(
    server: &TestServer,
    creds: &[String; 3],
    proto: &str,
    path: &str,
) -> (String, String, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS", proto, "--cacert", &creds[0], "--cert", &creds[1], "--key", &creds[2],
    ])
    .args(["-w", "\n%{http_version} %{http_code}"])
    .arg(format!("{}{}", server.url(), path));
    let out = run_command(cmd, None).expect("curl runs");
    assert!(out.success(), "curl failed:\n{out}");
    let (body, tail) = out.stdout.rsplit_once('\n').expect("curl's -w line");
    let (version, code) = tail.split_once(' ').unwrap();
    (version.to_string(), code.to_string(), body.to_string())
}

#[test]
fn http1_and_http2_with_the_tenant_ca_and_client_certificate() {
    let server = TestServer::start().expect("server starts");
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials(&server, dir.path());

    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let (v, code, body) = curl(&server, &creds, flag, "/version");
        assert_eq!(
            (v.as_str(), code.as_str()),
            (version, "200"),
            "{flag}: {body}"
        );
        let json: serde_json::Value = serde_json::from_str(&body).expect("version JSON");
        assert_eq!(json["major"], "1", "{body}");

        let (v, code, body) = curl(&server, &creds, flag, "/api/v1/namespaces/default");
        assert_eq!(
            (v.as_str(), code.as_str()),
            (version, "200"),
            "{flag}: {body}"
        );
        let json: serde_json::Value = serde_json::from_str(&body).expect("namespace JSON");
        assert_eq!(json["kind"], "Namespace");
        assert_eq!(json["metadata"]["name"], "default");

        let (v, code, body) = curl(&server, &creds, flag, "/readyz");
        assert_eq!(
            (v.as_str(), code.as_str(), body.as_str()),
            (version, "200", "ok"),
            "{flag}"
        );
    }

    // Without a client certificate the request is refused with kube-apiserver's
    // Status: 401 when anonymous authentication is off, or 403 for system:anonymous
    // when it is on (kube-apiserver's default).
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--cacert", &creds[0], "-w", "\n%{http_code}"])
        .arg(format!("{}/api/v1/namespaces", server.url()));
    let out = run_command(cmd, None).expect("curl runs");
    let (body, code) = out.stdout.rsplit_once('\n').unwrap();
    let status: serde_json::Value = serde_json::from_str(body).expect("Status JSON");
    assert_eq!(status["kind"], "Status", "{body}");
    match code {
        "401" => {
            assert_eq!(status["reason"], "Unauthorized", "{body}");
            assert_eq!(status["message"], "Unauthorized", "{body}");
        }
        "403" => {
            assert_eq!(status["reason"], "Forbidden", "{body}");
            assert_eq!(
                status["message"],
                "namespaces is forbidden: User \"system:anonymous\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
            );
        }
        other => panic!("anonymous list answered {other}: {body}"),
    }
}
