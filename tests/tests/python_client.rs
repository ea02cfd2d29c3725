//! The official Python `kubernetes` client lists, creates, watches and deletes objects
//! (tests/python/client_test.py does the work; this test runs it against a fresh server).

use warren_tests::{TestServer, python3, repo_root};

#[test]
fn python_kubernetes_client_lists_creates_watches_deletes() {
    let server = TestServer::start().expect("server starts");
    let script = repo_root().join("tests/python/client_test.py");
    let kubeconfig = server.kubeconfig_path();
    let out = python3(
        &script,
        &[],
        &[("KUBECONFIG", kubeconfig.to_str().unwrap())],
    )
    .expect("python3 runs");
    println!("{}", out.stdout);
    eprintln!("{}", out.stderr);
    assert!(out.success(), "client_test.py failed:\n{out}");
    assert!(
        out.stdout.contains("python client: all checks passed"),
        "client_test.py did not finish:\n{out}"
    );
}
