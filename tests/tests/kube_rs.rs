//! kube-rs's `watcher` and `reflector` against tenant-apiserver: through a stream of
//! creates, updates and deletes, the reflected store ends equal to the server's list.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use warren_tests::{TestServer, eventually_async};

const LABEL: &str = "suite=reflector";
const DEADLINE: Duration = Duration::from_secs(30);

fn config_map(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some([("suite".to_string(), "reflector".to_string())].into()),
            ..Default::default()
        },
        data: Some([("value".to_string(), value.to_string())].into()),
        ..Default::default()
    }
}

/// name -> resourceVersion of what the reflector holds.
fn reflected(store: &Store<ConfigMap>) -> BTreeMap<String, String> {
    store
        .state()
        .iter()
        .map(|cm| {
            (
                cm.metadata.name.clone().unwrap_or_default(),
                cm.metadata.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// name -> resourceVersion of what the server lists.
async fn listed(api: &Api<ConfigMap>) -> BTreeMap<String, String> {
    api.list(&ListParams::default().labels(LABEL))
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|cm| {
            (
                cm.metadata.name.unwrap_or_default(),
                cm.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect()
}

/// Creates, updates and deletes objects in an interleaved order while the reflector
/// runs, then waits for the store to equal the server's list.
async fn churn_and_compare(config: watcher::Config) {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // Some objects exist before the watcher starts: they arrive in the initial list.
    for i in 0..5 {
        api.create(
            &PostParams::default(),
            &config_map(&format!("pre-{i}"), "0"),
        )
        .await
        .expect("create");
    }

    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api.clone(), config.labels(LABEL)))
        .default_backoff()
        .touched_objects();
    let driver = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                eprintln!("watcher error: {e}");
            }
        }
    });
    tokio::time::timeout(DEADLINE, reader.wait_until_ready())
        .await
        .expect("reflector ready in time")
        .expect("reflector ready");
    assert_eq!(
        reflected(&reader),
        listed(&api).await,
        "after the initial list"
    );

    for round in 0..4 {
        for i in 0..8 {
            let name = format!("obj-{i}");
            if round == 0 {
                api.create(&PostParams::default(), &config_map(&name, "0"))
                    .await
                    .expect("create");
                continue;
            }
            if (i + round) % 3 == 0 {
                // delete, to be recreated next round
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        api.create(&PostParams::default(), &config_map(&name, "re"))
                            .await
                            .expect("recreate");
                    }
                    Err(e) => panic!("delete {name}: {e}"),
                }
                continue;
            }
            match api.get_opt(&name).await.expect("get") {
                Some(mut cm) => {
                    cm.data = Some([("value".to_string(), format!("{round}"))].into());
                    api.replace(&name, &PostParams::default(), &cm)
                        .await
                        .expect("replace");
                }
                None => {
                    api.create(&PostParams::default(), &config_map(&name, "re"))
                        .await
                        .expect("recreate");
                }
            }
        }
        api.delete(&format!("pre-{round}"), &DeleteParams::default())
            .await
            .expect("delete pre");
    }

    let want = listed(&api).await;
    assert!(want.len() >= 5, "the churn leaves objects behind: {want:?}");
    eventually_async(
        DEADLINE,
        "the reflected store to equal the server's list",
        || {
            let reader = reader.clone();
            let want = want.clone();
            async move { (reflected(&reader) == want).then_some(()) }
        },
    )
    .await;
    // and each reflected object carries the server's data, not only its version
    for cm in reader.state() {
        let name = cm.metadata.name.clone().unwrap();
        let fresh = api.get(&name).await.expect("get");
        assert_eq!(cm.data, fresh.data, "{name}");
        assert_eq!(cm.metadata.uid, fresh.metadata.uid, "{name}");
    }
    driver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_follows_creates_updates_deletes_list_then_watch() {
    churn_and_compare(watcher::Config::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_follows_creates_updates_deletes_streaming_list() {
    // `sendInitialEvents=true` with the initial-events-end bookmark (WatchList).
    churn_and_compare(watcher::Config::default().streaming_lists()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_a_resource_version_has_no_gaps_or_duplicates() {
    use kube::api::{WatchEvent, WatchParams};
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let start = api
        .list(&ListParams::default().labels(LABEL))
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("list resourceVersion");

    let mut expected = Vec::new();
    for i in 0..10 {
        let cm = api
            .create(&PostParams::default(), &config_map(&format!("w-{i}"), "0"))
            .await
            .expect("create");
        expected.push(("ADDED", cm.metadata.resource_version.unwrap()));
    }
    for i in 0..10 {
        let mut cm = api.get(&format!("w-{i}")).await.expect("get");
        cm.data = Some([("value".to_string(), "1".to_string())].into());
        let cm = api
            .replace(&format!("w-{i}"), &PostParams::default(), &cm)
            .await
            .expect("replace");
        expected.push(("MODIFIED", cm.metadata.resource_version.unwrap()));
    }
    for i in (0..10).step_by(2) {
        api.delete(&format!("w-{i}"), &DeleteParams::default())
            .await
            .expect("delete");
    }

    let stream = api
        .watch(&WatchParams::default().labels(LABEL).timeout(20), &start)
        .await
        .expect("watch");
    let mut stream = std::pin::pin!(stream);
    let mut seen = Vec::new();
    let collect = async {
        while let Some(ev) = stream.next().await {
            match ev.expect("watch event") {
                WatchEvent::Added(o) => seen.push(("ADDED", o.metadata.resource_version.unwrap())),
                WatchEvent::Modified(o) => {
                    seen.push(("MODIFIED", o.metadata.resource_version.unwrap()))
                }
                WatchEvent::Deleted(o) => {
                    seen.push(("DELETED", o.metadata.resource_version.unwrap()))
                }
                WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(e) => panic!("watch error: {e:?}"),
            }
            if seen.len() == 25 {
                break;
            }
        }
    };
    tokio::time::timeout(DEADLINE, collect)
        .await
        .expect("25 events in time");
    assert_eq!(seen[..20], expected[..], "creates and updates, in order");
    assert!(seen[20..].iter().all(|(t, _)| *t == "DELETED"), "{seen:?}");
    let mut rvs: Vec<u64> = seen
        .iter()
        .map(|(_, rv)| rv.parse().expect("numeric resourceVersion"))
        .collect();
    let sorted = {
        let mut s = rvs.clone();
        s.sort();
        s.dedup();
        s
    };
    assert_eq!(
        rvs, sorted,
        "strictly increasing resourceVersions: {seen:?}"
    );
    rvs.retain(|rv| *rv <= start.parse::<u64>().unwrap());
    assert!(rvs.is_empty(), "no event at or before the start version");
}

/// The metadata client (`as=PartialObjectMetadata[List]`, as client-go's metadata informers and
/// kube-rs `*_metadata` use): lists, gets and watches carry only metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_list_get_and_watch() {
    use futures::TryStreamExt;
    use kube::api::{WatchEvent, WatchParams};

    let server = TestServer::start().expect("server starts");
    let client = server.client().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &config_map("meta-a", "1"))
        .await
        .unwrap();
    let list = api.list_metadata(&ListParams::default()).await.unwrap();
    let names: Vec<String> = list
        .items
        .iter()
        .filter_map(|m| m.metadata.name.clone())
        .collect();
    assert!(names.contains(&"meta-a".to_string()), "{names:?}");
    assert_eq!(list.types.kind, "PartialObjectMetadataList");
    let one = api.get_metadata("meta-a").await.unwrap();
    assert_eq!(one.types.as_ref().unwrap().kind, "PartialObjectMetadata");
    assert_eq!(
        one.metadata.labels.unwrap()["suite"],
        "reflector",
        "labels are part of the metadata"
    );
    let rv = list.metadata.resource_version.unwrap();
    let mut events = api
        .watch_metadata(&WatchParams::default().timeout(60), &rv)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &config_map("meta-b", "2"))
        .await
        .unwrap();
    let ev = tokio::time::timeout(DEADLINE, events.try_next())
        .await
        .expect("an event within the deadline")
        .unwrap()
        .expect("the watch stays open");
    match ev {
        WatchEvent::Added(m) => {
            assert_eq!(m.metadata.name.as_deref(), Some("meta-b"));
            assert_eq!(m.types.unwrap().kind, "PartialObjectMetadata");
        }
        other => panic!("expected ADDED meta-b, got {other:?}"),
    }
}
