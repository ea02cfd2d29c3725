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
