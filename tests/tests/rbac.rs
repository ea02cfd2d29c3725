//! RBAC end to end with kubectl: a user bound to `view` in one namespace reads there and
//! nothing more; a namespace `admin` may bind `view` but not grant what it lacks (escalation);
//! 403s carry kube-apiserver's messages. Users get client certificates from the tenant CA
//! through `tenant-apiserver kubeconfig`.

use std::process::Command;

use warren_tests::{Kubectl, TestServer, binary, run_command};

/// A kubeconfig for `user` in `groups`, written next to the server's data.
fn user_kubectl(server: &TestServer, user: &str, groups: &[&str]) -> Kubectl {
    let mut cmd = Command::new(binary("tenant-apiserver"));
    cmd.arg("kubeconfig")
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["--server", server.url(), "--user", user]);
    for g in groups {
        cmd.args(["--group", g]);
    }
    let out = run_command(cmd, None).expect("tenant-apiserver kubeconfig runs");
    assert!(out.success(), "{out}");
    let path = server.data_dir().join(format!("{user}.kubeconfig"));
    std::fs::write(&path, &out.stdout).unwrap();
    Kubectl::new(&path)
}

fn refused(k: &Kubectl, args: &[&str], expected: &str) {
    let out = k.run(args);
    assert!(!out.success(), "kubectl {args:?} should be refused:\n{out}");
    assert!(
        out.stderr.contains(expected),
        "kubectl {args:?}: expected `{expected}` on stderr:\n{out}"
    );
}

#[test]
fn view_in_one_namespace_and_no_escalation() {
    let server = TestServer::start().expect("server starts");
    let admin = server.kubectl();
    admin.ok(&["create", "namespace", "team"]);
    admin.ok(&["create", "namespace", "other"]);
    admin.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "team",
        "--from-literal=a=1",
    ]);
    admin.ok(&[
        "create",
        "configmap",
        "private",
        "-n",
        "other",
        "--from-literal=b=2",
    ]);
    admin.ok(&[
        "create",
        "secret",
        "generic",
        "token",
        "-n",
        "team",
        "--from-literal=t=x",
    ]);
    admin.ok(&[
        "create",
        "rolebinding",
        "alice-view",
        "-n",
        "team",
        "--clusterrole=view",
        "--user=alice",
    ]);
    // The bootstrap roles are there, aggregated as upstream (the aggregation controller fills
    // in view's rules from system:aggregate-to-view).
    warren_tests::eventually(
        std::time::Duration::from_secs(30),
        "view to be aggregated",
        || {
            let rules = admin.ok(&[
                "get",
                "clusterrole",
                "view",
                "-o",
                "jsonpath={.rules[*].resources}",
            ]);
            rules.contains("configmaps").then_some(())
        },
    );

    let alice = user_kubectl(&server, "alice", &[]);
    // Reads in her namespace work.
    assert_eq!(
        alice.ok(&["get", "configmaps", "-n", "team", "-o", "name"]),
        "configmap/kube-root-ca.crt\nconfigmap/settings\n"
    );
    assert_eq!(
        alice.ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.a}"
        ]),
        "1"
    );
    // No writes.
    refused(
        &alice,
        &["create", "configmap", "mine", "-n", "team"],
        "configmaps is forbidden: User \"alice\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"team\"",
    );
    refused(
        &alice,
        &["delete", "configmap", "settings", "-n", "team"],
        "Error from server (Forbidden): configmaps \"settings\" is forbidden: User \"alice\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"team\"",
    );
    // No secrets, even in her namespace.
    refused(
        &alice,
        &["get", "secrets", "-n", "team"],
        "Error from server (Forbidden): secrets is forbidden: User \"alice\" cannot list resource \"secrets\" in API group \"\" in the namespace \"team\"",
    );
    // Nothing in other namespaces, nothing cluster-wide.
    refused(
        &alice,
        &["get", "configmaps", "-n", "other"],
        "Error from server (Forbidden): configmaps is forbidden: User \"alice\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"other\"",
    );
    refused(
        &alice,
        &["get", "namespaces"],
        "Error from server (Forbidden): namespaces is forbidden: User \"alice\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope",
    );
    // kubectl auth can-i and whoami agree (SelfSubjectAccessReview, SelfSubjectRulesReview,
    // SelfSubjectReview).
    assert_eq!(
        alice.ok(&["auth", "can-i", "list", "configmaps", "-n", "team"]),
        "yes\n"
    );
    let out = alice.run(&["auth", "can-i", "create", "configmaps", "-n", "team"]);
    assert_eq!(
        (out.success(), out.stdout.as_str()),
        (false, "no\n"),
        "{out}"
    );
    let out = alice.run(&["auth", "can-i", "get", "secrets", "-n", "team"]);
    assert_eq!(out.stdout, "no\n", "{out}");
    let out = alice.run(&["auth", "can-i", "list", "configmaps", "-n", "other"]);
    assert_eq!(out.stdout, "no\n", "{out}");
    let list = alice.ok(&["auth", "can-i", "--list", "-n", "team"]);
    let configmaps = list
        .lines()
        .find(|l| l.starts_with("configmaps "))
        .unwrap_or_else(|| panic!("no configmaps row in can-i --list:\n{list}"));
    assert!(configmaps.ends_with("[get list watch]"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("selfsubjectaccessreviews.authorization.k8s.io ")),
        "{list}"
    );
    assert!(!list.lines().any(|l| l.starts_with("secrets ")), "{list}");
    assert_eq!(
        alice.ok(&["auth", "whoami"]),
        "ATTRIBUTE   VALUE\nUsername    alice\nGroups      [system:authenticated]\n"
    );
    assert_eq!(server.kubectl().ok(&["auth", "can-i", "*", "*"]), "yes\n");

    // Impersonation: the admin may act as alice (`--as`), alice may not act as anyone.
    let out = server.kubectl().run(&[
        "auth",
        "can-i",
        "create",
        "configmaps",
        "-n",
        "team",
        "--as=alice",
    ]);
    assert_eq!(out.stdout, "no\n", "{out}");
    assert_eq!(
        server.kubectl().ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "team",
            "--as=alice",
            "-o",
            "name"
        ]),
        "configmap/settings\n"
    );
    refused(
        &server.kubectl(),
        &["get", "secrets", "-n", "team", "--as=alice"],
        "secrets is forbidden: User \"alice\" cannot list resource \"secrets\"",
    );
    refused(
        &alice,
        &["get", "configmaps", "-n", "team", "--as=bob"],
        "Error from server (Forbidden): users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
    );

    // She cannot make herself admin.
    refused(
        &alice,
        &[
            "create",
            "rolebinding",
            "alice-admin",
            "-n",
            "team",
            "--clusterrole=admin",
            "--user=alice",
        ],
        "rolebindings.rbac.authorization.k8s.io is forbidden: User \"alice\" cannot create resource \"rolebindings\" in API group \"rbac.authorization.k8s.io\" in the namespace \"team\"",
    );

    // Bob administers `team`: he may grant view there (he holds its rules)...
    admin.ok(&[
        "create",
        "rolebinding",
        "bob-admin",
        "-n",
        "team",
        "--clusterrole=admin",
        "--user=bob",
    ]);
    let bob = user_kubectl(&server, "bob", &["team-leads"]);
    bob.ok(&[
        "create",
        "rolebinding",
        "carol-view",
        "-n",
        "team",
        "--clusterrole=view",
        "--user=carol",
    ]);
    // ...but not cluster-admin, whose rules he does not hold (escalation prevention).
    refused(
        &bob,
        &[
            "create",
            "rolebinding",
            "bob-everything",
            "-n",
            "team",
            "--clusterrole=cluster-admin",
            "--user=bob",
        ],
        "rolebindings.rbac.authorization.k8s.io \"bob-everything\" is forbidden: user \"bob\" (groups=[\"team-leads\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:",
    );
    // Nor a Role with rules he lacks.
    refused(
        &bob,
        &[
            "create",
            "role",
            "quota-writer",
            "-n",
            "team",
            "--verb=create",
            "--resource=resourcequotas",
        ],
        "is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"resourcequotas\"], Verbs:[\"create\"]}",
    );
    // The admin (system:masters) still may.
    admin.ok(&[
        "create",
        "rolebinding",
        "bob-everything",
        "-n",
        "team",
        "--clusterrole=cluster-admin",
        "--user=bob",
    ]);
}
