//! Hostile credentials and headers against a running server: random and malformed bearer
//! tokens, `Authorization` schemes and impersonation headers. Every answer is a `Status` with
//! 401 (no identity), 400 or 403 — never a 5xx, never a hang, and the server keeps serving.
//! Inputs come from a fixed-seed generator so that a failure reproduces.

use base64::Engine;
use http::Request;
use warren_tests::{TestServer, raw_request};

/// xorshift64*: a small deterministic generator (no dependency, reproducible).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string of visible ASCII (what an HTTP header value may hold).
    fn header_text(&mut self, max: usize) -> String {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| char::from(b' ' + self.below(95) as u8))
            .collect::<String>()
            .trim()
            .to_string()
    }

    /// Something shaped like a JWT: three base64url parts of random JSON-ish or random bytes.
    fn jwt_like(&mut self) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let part = |g: &mut Gen| -> String {
            match g.below(4) {
                0 => b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
                1 => b64.encode(format!(
                    r#"{{"alg":"ES256","kid":"{}"}}"#,
                    g.header_text(10).replace('"', "")
                )),
                2 => b64.encode(format!(
                    r#"{{"iss":"https://kubernetes.default.svc.cluster.local","sub":"system:serviceaccount:default:default","exp":{}}}"#,
                    g.next() % 4_000_000_000
                )),
                _ => {
                    let n = g.below(64);
                    let bytes: Vec<u8> = (0..n).map(|_| g.next() as u8).collect();
                    b64.encode(bytes)
                }
            }
        };
        let parts = 1 + self.below(4);
        (0..parts).map(|_| part(self)).collect::<Vec<_>>().join(".")
    }
}

/// A kube-rs client with the server's CA and no credentials at all.
async fn anonymous_client(server: &TestServer) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.auth_info = Default::default();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

fn get(path: &str, headers: &[(&str, String)]) -> Request<Vec<u8>> {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    req.body(Vec::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_credentials_get_401_and_never_crash() {
    let server = TestServer::start().expect("server starts");
    let anon = anonymous_client(&server).await;
    let mut g = Gen(0x5EED_CAFE_F00D_D00D);

    let mut fixed: Vec<String> = vec![
        String::new(),
        "Bearer".into(),
        "Bearer ".into(),
        "Bearer  ".into(),
        "bearer abc".into(),
        "Basic YWRtaW46YWRtaW4=".into(),
        "Bearer a.b.c".into(),
        "Bearer ...".into(),
        "Bearer eyJ".into(),
        format!("Bearer {}", "A".repeat(16 * 1024)),
        format!(
            "Bearer {}.{}.{}",
            "e".repeat(4000),
            "f".repeat(4000),
            "g".repeat(4000)
        ),
    ];
    for _ in 0..150 {
        fixed.push(format!("Bearer {}", g.jwt_like()));
        fixed.push(format!("Bearer {}", g.header_text(200)));
        fixed.push(g.header_text(60));
    }
    for (i, auth) in fixed.iter().enumerate() {
        let headers = if auth.is_empty() {
            vec![]
        } else {
            vec![("Authorization", auth.clone())]
        };
        let path = if i % 2 == 0 {
            "/api/v1/namespaces/default/secrets"
        } else {
            "/apis/apps/v1/deployments"
        };
        let (status, body, text) = raw_request(&anon, get(path, &headers))
            .await
            .unwrap_or_else(|e| panic!("request {i} ({auth:?}) failed: {e}"));
        assert_eq!(status.as_u16(), 401, "Authorization {auth:?} → {text}");
        let body = body.unwrap_or_else(|| panic!("not JSON: {text}"));
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["reason"], "Unauthorized");
    }

    // Impersonation headers from a user who may not impersonate are refused; from the admin,
    // any identity is taken on and then judged by RBAC.
    let admin = server.client().await.unwrap();
    for i in 0..120 {
        let user = match g.below(4) {
            0 => format!("system:serviceaccount:{}", g.header_text(20)),
            1 => g.jwt_like(),
            _ => g.header_text(40),
        };
        // An empty user is no impersonation at all (and groups without a user are upstream's
        // 500), so every case names someone.
        let user = if user.is_empty() {
            "x".to_string()
        } else {
            user
        };
        let mut headers = vec![("Impersonate-User", user.clone())];
        if g.below(2) == 0 {
            headers.push(("Impersonate-Group", g.header_text(30)));
        }
        if g.below(3) == 0 {
            headers.push(("Impersonate-Uid", g.header_text(30)));
        }
        if g.below(3) == 0 {
            headers.push(("Impersonate-Extra-scopes", g.header_text(30)));
        }
        let (status, body, text) =
            raw_request(&admin, get("/api/v1/namespaces/default/secrets", &headers))
                .await
                .unwrap_or_else(|e| panic!("impersonation {i} ({headers:?}) failed: {e}"));
        let code = status.as_u16();
        assert!(
            code == 200 || code == 400 || code == 403,
            "impersonating {headers:?} → {code} {text}"
        );
        if code != 200 {
            assert_eq!(body.expect("a Status")["kind"], "Status");
        }
        // The same headers without credentials: 401, whatever they ask.
        let (status, _, text) =
            raw_request(&anon, get("/api/v1/namespaces/default/secrets", &headers))
                .await
                .unwrap();
        assert_eq!(status.as_u16(), 401, "{headers:?} → {text}");
    }

    // Still serving.
    let (status, _, text) = raw_request(&admin, get("/api/v1/namespaces", &[]))
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200, "{text}");
}
