//! Optimistic concurrency: many clients doing read-modify-write on one object get
//! 409 Conflict for stale writes, and no update is lost.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::Barrier;
use warren_tests::TestServer;

const CLIENTS: usize = 8;
const INCREMENTS: usize = 10;

fn counter(cm: &ConfigMap) -> u64 {
    cm.data
        .as_ref()
        .and_then(|d| d.get("count"))
        .and_then(|v| v.parse().ok())
        .expect("count is a number")
}

fn with_count(mut cm: ConfigMap, count: u64) -> ConfigMap {
    cm.data
        .get_or_insert_with(Default::default)
        .insert("count".into(), count.to_string());
    cm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_modify_write_gets_conflicts_and_loses_no_update() {
    let server = TestServer::start().expect("server starts");
    let admin: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    let initial = ConfigMap {
        metadata: ObjectMeta {
            name: Some("counter".into()),
            ..Default::default()
        },
        data: Some([("count".to_string(), "0".to_string())].into()),
        ..Default::default()
    };
    admin
        .create(&PostParams::default(), &initial)
        .await
        .expect("create");

    // Each client has its own connection.
    let mut apis = Vec::new();
    for _ in 0..CLIENTS {
        let client = server.client().await.expect("client");
        apis.push(Api::<ConfigMap>::namespaced(client, "default"));
    }

    // Round one is lock-step: every client reads the same version, then all write.
    // Exactly one write may win; the others must be refused with 409 Conflict.
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let mut first = Vec::new();
    for api in apis.clone() {
        let barrier = barrier.clone();
        first.push(tokio::spawn(async move {
            let cm = api.get("counter").await.expect("get");
            let next = counter(&cm) + 1;
            barrier.wait().await;
            api.replace("counter", &PostParams::default(), &with_count(cm, next))
                .await
        }));
    }
    let mut won = 0;
    for task in first {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 409, "{status:?}");
                assert_eq!(status.reason, "Conflict", "{status:?}");
                assert_eq!(
                    status.message,
                    "Operation cannot be fulfilled on configmaps \"counter\": the object has been modified; please apply your changes to the latest version and try again"
                );
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(
        won, 1,
        "exactly one of {CLIENTS} writes of the same version wins"
    );

    // Then free-running: each client makes INCREMENTS successful increments, retrying on 409.
    let mut tasks = Vec::new();
    for api in apis {
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0usize;
            let mut written = Vec::new();
            while written.len() < INCREMENTS {
                let cm = api.get("counter").await.expect("get");
                let next = counter(&cm) + 1;
                match api
                    .replace("counter", &PostParams::default(), &with_count(cm, next))
                    .await
                {
                    Ok(updated) => {
                        assert_eq!(counter(&updated), next);
                        written.push((next, updated.metadata.resource_version.unwrap()));
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => conflicts += 1,
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
            (conflicts, written)
        }));
    }
    let mut conflicts = CLIENTS - 1;
    let mut values = BTreeSet::new();
    let mut versions = BTreeSet::new();
    let run = async {
        for task in tasks {
            let (c, written) = task.await.unwrap();
            conflicts += c;
            for (value, rv) in written {
                assert!(values.insert(value), "value {value} was written twice");
                assert!(versions.insert(rv.clone()), "resourceVersion {rv} reused");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("increments finish in time");

    let successes = 1 + CLIENTS * INCREMENTS;
    let last = admin.get("counter").await.expect("get");
    assert_eq!(counter(&last), successes as u64, "no lost update");
    assert_eq!(
        values,
        (2..=successes as u64).collect::<BTreeSet<_>>(),
        "every value from 2 to {successes} was written exactly once"
    );
    assert!(conflicts >= CLIENTS - 1, "saw {conflicts} conflicts");
    eprintln!("{successes} successful updates, {conflicts} conflicts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_name_admit_exactly_one() {
    let server = TestServer::start().expect("server starts");
    let mut apis = Vec::new();
    for _ in 0..CLIENTS {
        let client = server.client().await.expect("client");
        apis.push(Api::<ConfigMap>::namespaced(client, "default"));
    }
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for (i, api) in apis.into_iter().enumerate() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some("same".into()),
                    ..Default::default()
                },
                data: Some([("writer".to_string(), i.to_string())].into()),
                ..Default::default()
            };
            barrier.wait().await;
            api.create(&PostParams::default(), &cm).await
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(cm) => winners.push(cm),
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 409, "{status:?}");
                assert_eq!(status.reason, "AlreadyExists", "{status:?}");
                assert_eq!(status.message, "configmaps \"same\" already exists");
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create of \"same\" succeeds");
    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    let stored = api.get("same").await.expect("get");
    assert_eq!(
        stored.data, winners[0].data,
        "the stored object is the winner's"
    );
    assert_eq!(stored.metadata.uid, winners[0].metadata.uid);
}
