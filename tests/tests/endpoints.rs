//! The endpoints and EndpointSlice controllers end to end: a Service with a selector and a
//! named targetPort over pods created directly and made Running/Ready by the test (standing in
//! for kubelets); Endpoints and EndpointSlices list exactly the right IPs and resolved ports,
//! follow readiness, `publishNotReadyAddresses` and pod deletion, print as kubectl prints them,
//! and leave the selector-less `default/kubernetes` alone.

use std::time::Duration;

use serde_json::{Value, json};
use warren_tests::kubelet::{bind, ensure_node, set_running};
use warren_tests::{Kubectl, TestServer, columns, eventually};

const WAIT: Duration = Duration::from_secs(20);

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&all)).expect("kubectl prints JSON")
}

fn pod_yaml(name: &str, app: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels:\n    app: {app}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    ports:\n    - name: http\n      containerPort: {port}\n"
    )
}

/// The Endpoints' subsets as sorted (ready IPs, not-ready IPs, ports as `name:port`), one per
/// subset, sorted.
fn subsets_of(ep: &Value) -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
    let ips = |s: &Value, f: &str| -> Vec<String> {
        let mut v: Vec<String> = s[f]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x["ip"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut out: Vec<_> = ep["subsets"]
        .as_array()
        .map(|subsets| {
            subsets
                .iter()
                .map(|s| {
                    let ports = s["ports"]
                        .as_array()
                        .map(|ps| {
                            ps.iter()
                                .map(|p| {
                                    format!("{}:{}", p["name"].as_str().unwrap_or(""), p["port"])
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (ips(s, "addresses"), ips(s, "notReadyAddresses"), ports)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Every endpoint of the Service's slices as (ip, ready, serving, terminating, port list),
/// sorted.
fn slice_endpoints(k: &Kubectl, ns: &str, svc: &str) -> Vec<(String, bool, bool, bool, String)> {
    let list = get_json(
        k,
        &[
            "get",
            "endpointslices",
            "-n",
            ns,
            "-l",
            &format!("kubernetes.io/service-name={svc}"),
        ],
    );
    let mut out = Vec::new();
    for slice in list["items"].as_array().unwrap() {
        let ports: Vec<String> = slice["ports"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| format!("{}:{}", p["name"].as_str().unwrap_or(""), p["port"]))
                    .collect()
            })
            .unwrap_or_default();
        for ep in slice["endpoints"].as_array().into_iter().flatten() {
            let c = &ep["conditions"];
            out.push((
                ep["addresses"][0].as_str().unwrap().to_string(),
                c["ready"] == true,
                c["serving"] == true,
                c["terminating"] == true,
                ports.join(","),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_and_slices_follow_ready_pods_and_named_ports() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let client = server.client().await.expect("client");
    let kubernetes_before = get_json(&k, &["get", "endpoints", "kubernetes", "-n", "default"]);

    k.ok(&["create", "namespace", "ep"]);
    ensure_node(&client, "n1").await.unwrap();
    k.ok(&["label", "node", "n1", "topology.kubernetes.io/zone=zone-a"]);
    k.ok_stdin(
        &["apply", "-n", "ep", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    team: blue\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: http\n",
    );
    for (name, app, port) in [
        ("web-1", "web", 8080),
        ("web-2", "web", 8080),
        ("web-3", "web", 9090),
        ("other", "other", 8080),
    ] {
        k.ok_stdin(
            &["apply", "-n", "ep", "-f", "-"],
            &pod_yaml(name, app, port),
        );
    }
    // A pod without an IP is not listed at all.
    let placeholder = get_json(&k, &["get", "endpoints", "web", "-n", "ep"]);
    assert!(placeholder.get("subsets").is_none(), "{placeholder}");
    for (name, ip, ready) in [
        ("web-1", "10.244.0.1", true),
        ("web-2", "10.244.0.2", false),
        ("web-3", "10.244.0.3", true),
        ("other", "10.244.0.9", true),
    ] {
        bind(&client, "ep", name, "n1").await.unwrap();
        set_running(&client, "ep", name, ip, ready).await.unwrap();
    }

    // The named targetPort resolves per pod: pods with another port number get another subset.
    let want = vec![
        (
            strings(&["10.244.0.1"]),
            strings(&["10.244.0.2"]),
            strings(&["http:8080"]),
        ),
        (strings(&["10.244.0.3"]), vec![], strings(&["http:9090"])),
    ];
    let ep = eventually(WAIT, "endpoints of the ready and not-ready pods", || {
        let ep = get_json(&k, &["get", "endpoints", "web", "-n", "ep"]);
        (subsets_of(&ep) == want).then_some(ep)
    });
    assert_eq!(ep["metadata"]["labels"]["team"], "blue", "{ep}");
    assert!(
        ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
            .is_string(),
        "{ep}"
    );
    let addr = ep["subsets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["addresses"].as_array().cloned().unwrap_or_default())
        .find(|a| a["ip"] == "10.244.0.1")
        .unwrap();
    assert_eq!(addr["nodeName"], "n1");
    assert_eq!(addr["targetRef"]["kind"], "Pod");
    assert_eq!(addr["targetRef"]["name"], "web-1");
    assert_eq!(addr["targetRef"]["namespace"], "ep");
    assert!(
        addr["targetRef"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );

    let slices = eventually(WAIT, "endpoint slices of the pods", || {
        let eps = slice_endpoints(&k, "ep", "web");
        (eps == vec![
            ("10.244.0.1".into(), true, true, false, "http:8080".into()),
            ("10.244.0.2".into(), false, false, false, "http:8080".into()),
            ("10.244.0.3".into(), true, true, false, "http:9090".into()),
        ])
        .then_some(eps)
    });
    assert_eq!(slices.len(), 3);
    let list = get_json(
        &k,
        &[
            "get",
            "endpointslices",
            "-n",
            "ep",
            "-l",
            "kubernetes.io/service-name=web",
        ],
    );
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "one slice per port set: {list}");
    let svc_uid = get_json(&k, &["get", "service", "web", "-n", "ep"])["metadata"]["uid"].clone();
    for slice in items {
        let meta = &slice["metadata"];
        assert!(
            meta["name"].as_str().unwrap().starts_with("web-"),
            "{slice}"
        );
        assert_eq!(meta["generateName"], "web-");
        assert_eq!(
            meta["labels"]["endpointslice.kubernetes.io/managed-by"],
            "endpointslice-controller.k8s.io"
        );
        assert_eq!(meta["labels"]["team"], "blue");
        assert_eq!(meta["ownerReferences"][0]["kind"], "Service");
        assert_eq!(meta["ownerReferences"][0]["uid"], svc_uid);
        assert_eq!(meta["ownerReferences"][0]["controller"], true);
        assert_eq!(slice["addressType"], "IPv4");
        assert_eq!(slice["ports"][0]["protocol"], "TCP");
        let ep = &slice["endpoints"][0];
        assert_eq!(ep["nodeName"], "n1");
        assert_eq!(ep["zone"], "zone-a");
        assert_eq!(ep["targetRef"]["kind"], "Pod");
    }

    // kubectl shows them as it does on a real cluster.
    let out = k.ok(&["get", "endpoints", "web", "-n", "ep"]);
    let row = columns(out.lines().nth(1).expect("a row"));
    assert_eq!(row[0], "web", "{out}");
    let mut shown: Vec<&str> = row[1].split(',').collect();
    shown.sort();
    assert_eq!(shown, vec!["10.244.0.1:8080", "10.244.0.3:9090"], "{out}");
    let out = k.ok(&["get", "endpointslices", "-n", "ep"]);
    assert!(out.lines().next().unwrap().starts_with("NAME"), "{out}");
    let rows: Vec<Vec<String>> = out.lines().skip(1).map(columns).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|r| r[1] == "IPv4"), "{out}");
    let mut ports_and_ips: Vec<(String, String)> =
        rows.iter().map(|r| (r[2].clone(), r[3].clone())).collect();
    ports_and_ips.sort();
    assert_eq!(ports_and_ips[0].0, "8080", "{out}");
    let mut ips: Vec<&str> = ports_and_ips[0].1.split(',').collect();
    ips.sort();
    assert_eq!(ips, vec!["10.244.0.1", "10.244.0.2"], "{out}");
    assert_eq!(
        ports_and_ips[1],
        ("9090".into(), "10.244.0.3".into()),
        "{out}"
    );

    // Readiness flips move the addresses.
    set_running(&client, "ep", "web-2", "10.244.0.2", true)
        .await
        .unwrap();
    set_running(&client, "ep", "web-1", "10.244.0.1", false)
        .await
        .unwrap();
    let want = vec![
        (
            strings(&["10.244.0.2"]),
            strings(&["10.244.0.1"]),
            strings(&["http:8080"]),
        ),
        (strings(&["10.244.0.3"]), vec![], strings(&["http:9090"])),
    ];
    eventually(WAIT, "web-1 not ready, web-2 ready", || {
        (subsets_of(&get_json(&k, &["get", "endpoints", "web", "-n", "ep"])) == want).then_some(())
    });
    eventually(WAIT, "slices to follow readiness", || {
        let eps = slice_endpoints(&k, "ep", "web");
        (eps[..2]
            == [
                ("10.244.0.1".into(), false, false, false, "http:8080".into()),
                ("10.244.0.2".into(), true, true, false, "http:8080".into()),
            ])
        .then_some(())
    });

    // publishNotReadyAddresses lists the not-ready pod as ready.
    k.ok(&[
        "patch",
        "service",
        "web",
        "-n",
        "ep",
        "--type=merge",
        "-p",
        r#"{"spec":{"publishNotReadyAddresses":true}}"#,
    ]);
    let want = vec![
        (
            strings(&["10.244.0.1", "10.244.0.2"]),
            vec![],
            strings(&["http:8080"]),
        ),
        (strings(&["10.244.0.3"]), vec![], strings(&["http:9090"])),
    ];
    eventually(WAIT, "publishNotReadyAddresses endpoints", || {
        (subsets_of(&get_json(&k, &["get", "endpoints", "web", "-n", "ep"])) == want).then_some(())
    });
    eventually(WAIT, "publishNotReadyAddresses slices", || {
        let eps = slice_endpoints(&k, "ep", "web");
        (eps[0] == ("10.244.0.1".into(), true, false, false, "http:8080".into())).then_some(())
    });
    k.ok(&[
        "patch",
        "service",
        "web",
        "-n",
        "ep",
        "--type=merge",
        "-p",
        r#"{"spec":{"publishNotReadyAddresses":false}}"#,
    ]);

    // A deleted pod disappears, and with it the slice of its port set.
    k.ok(&[
        "delete",
        "pod",
        "web-3",
        "-n",
        "ep",
        "--grace-period=0",
        "--force",
    ]);
    let want = vec![(
        strings(&["10.244.0.2"]),
        strings(&["10.244.0.1"]),
        strings(&["http:8080"]),
    )];
    eventually(WAIT, "web-3 to leave the endpoints", || {
        (subsets_of(&get_json(&k, &["get", "endpoints", "web", "-n", "ep"])) == want).then_some(())
    });
    eventually(WAIT, "web-3 to leave the slices", || {
        let list = get_json(
            &k,
            &[
                "get",
                "endpointslices",
                "-n",
                "ep",
                "-l",
                "kubernetes.io/service-name=web",
            ],
        );
        let eps = slice_endpoints(&k, "ep", "web");
        (list["items"].as_array().unwrap().len() == 1 && eps.iter().all(|e| e.0 != "10.244.0.3"))
            .then_some(())
    });

    // The selector-less kubernetes Service's endpoints are the server's: untouched, unsliced.
    let kubernetes_after = get_json(&k, &["get", "endpoints", "kubernetes", "-n", "default"]);
    assert_eq!(
        kubernetes_before["metadata"]["resourceVersion"],
        kubernetes_after["metadata"]["resourceVersion"]
    );
    assert_eq!(kubernetes_before["subsets"], kubernetes_after["subsets"]);
    let default_slices = get_json(
        &k,
        &[
            "get",
            "endpointslices",
            "-n",
            "default",
            "-l",
            "kubernetes.io/service-name=kubernetes",
        ],
    );
    assert!(
        default_slices["items"].as_array().unwrap().iter().all(
            |s| s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
                != json!("endpointslice-controller.k8s.io")
        ),
        "{default_slices}"
    );

    // Deleting the Service deletes its Endpoints and slices.
    k.ok(&["delete", "service", "web", "-n", "ep"]);
    eventually(WAIT, "the Endpoints to go with the Service", || {
        let out = k.run(&["get", "endpoints", "web", "-n", "ep"]);
        (!out.success() && out.stderr.contains("NotFound")).then_some(())
    });
    eventually(WAIT, "the slices to go with the Service", || {
        let list = get_json(
            &k,
            &[
                "get",
                "endpointslices",
                "-n",
                "ep",
                "-l",
                "kubernetes.io/service-name=web",
            ],
        );
        list["items"].as_array().unwrap().is_empty().then_some(())
    });
}
