//! The conformance suite against [`EtcdStore`] on a real etcd, plus what is particular to it:
//! tenants sharing one etcd, the key layout, compactions made by someone else, and an etcd
//! outage with reconnection.
//!
//! Every test starts its own etcd (`etcd` must be on PATH: `scripts/setup.sh`); without it the
//! tests fail, they do not skip.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use warren_store::etcd::EtcdStore;
use warren_store::etcd_harness::EtcdServer;
use warren_store::{Store, StoreError, WatchEvent, conformance};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A fresh etcd and a store on it under `/warren/{name}`.
async fn fresh(name: &str) -> (EtcdServer, Arc<dyn Store>) {
    let etcd = EtcdServer::start();
    let store = etcd
        .store(&format!("/warren/{name}"), TIMEOUT)
        .await
        .expect("connect to etcd");
    (etcd, Arc::new(store))
}

/// Runs `check` and prints how long it took (visible with `--nocapture`).
async fn timed<F: std::future::Future>(what: &str, check: F) -> F::Output {
    let started = Instant::now();
    let out = check.await;
    eprintln!("etcd conformance: {what} took {:?}", started.elapsed());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_are_monotonic() {
    let (_etcd, store) = fresh("monotonic").await;
    // A fresh etcd is at revision 1; its first write is revision 2.
    assert_eq!(store.current_revision().await.unwrap(), 1);
    timed(
        "revisions_are_monotonic",
        conformance::revisions_are_monotonic(store.clone()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_rejects_existing() {
    let (_etcd, store) = fresh("create").await;
    conformance::create_rejects_existing(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes() {
    let (_etcd, store) = fresh("conditional").await;
    conformance::conditional_writes(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_at_older_revisions() {
    let (_etcd, store) = fresh("history").await;
    conformance::reads_at_older_revisions(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginated_range_is_consistent() {
    let (_etcd, store) = fresh("paging").await;
    conformance::paginated_range_is_consistent(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_winner_among_concurrent_updates() {
    let (_etcd, store) = fresh("race").await;
    conformance::one_winner_among_concurrent_updates(store, 32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_delivers_every_event() {
    let (_etcd, store) = fresh("watch").await;
    conformance::watch_delivers_every_event(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_seam_under_concurrent_writes() {
    let (_etcd, store) = fresh("seam").await;
    timed(
        "watch_seam_under_concurrent_writes(16, 40)",
        conformance::watch_seam_under_concurrent_writes(store, 16, 40),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_never_skips() {
    let (_etcd, store) = fresh("slow").await;
    assert!(
        conformance::slow_watcher_never_skips(&*store, 1000).await,
        "etcd keeps the history: a slow watcher catches up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction() {
    let (_etcd, store) = fresh("compaction").await;
    conformance::compaction(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_values() {
    let (_etcd, store) = fresh("large").await;
    timed(
        "large_values(1.5 MiB)",
        conformance::large_values(store, 1536 * 1024),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_keys() {
    // 100 000 keys, as the issue asks (about 100 s in a debug build on 2 cores);
    // WARREN_ETCD_MANY_KEYS sets another count.
    let count = std::env::var("WARREN_ETCD_MANY_KEYS")
        .ok()
        .map(|n| n.parse().expect("WARREN_ETCD_MANY_KEYS is a number"))
        .unwrap_or(100_000);
    let (_etcd, store) = fresh("many").await;
    timed(
        &format!("many_keys({count})"),
        conformance::many_keys(store, count),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_persistence() {
    // A "restart" is a new client on the same etcd and prefix.
    let etcd = EtcdServer::start();
    conformance::restart_persistence(|| {
        let store = etcd.store("/warren/restart", TIMEOUT);
        async move {
            let store: Arc<dyn Store> = Arc::new(store.await.expect("reconnect"));
            store
        }
    })
    .await;
}

/// Two stores on one etcd, one prefix a string prefix of the other: neither sees the other's
/// keys, ranges, conditional writes or watch events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_sharing_an_etcd_do_not_see_each_other() {
    let etcd = EtcdServer::start();
    let a = etcd.store("/warren/tenant-a", TIMEOUT).await.unwrap();
    let ab = etcd.store("/warren/tenant-ab/", TIMEOUT).await.unwrap();
    let r0 = a.current_revision().await.unwrap();
    let mut a_events = a.watch(r0).await.unwrap();
    let mut ab_events = ab.watch(r0).await.unwrap();

    let key = "/registry/core/configmaps/default/cm";
    let a1 = a.create(key, b"a".to_vec()).await.unwrap();
    let b1 = ab.create(key, b"ab".to_vec()).await.unwrap();
    assert_eq!(b1.mod_revision, a1.mod_revision + 1, "one global revision");
    let a2 = a
        .update(key, b"a2".to_vec(), a1.mod_revision)
        .await
        .unwrap();
    assert_eq!(a.get(key).await.unwrap(), Some(a2.clone()));
    assert_eq!(ab.get(key).await.unwrap(), Some(b1.clone()));
    for (store, only) in [(&a, &a2), (&ab, &b1)] {
        let all = store.range("", "", 0, None).await.unwrap();
        assert_eq!(all.kvs, vec![only.clone()]);
        let registry = store.range("/registry/", "", 0, None).await.unwrap();
        assert_eq!(registry.kvs, vec![only.clone()]);
    }
    // A write conditional on the other tenant's revision does not reach it.
    match ab.delete(key, a2.mod_revision).await {
        Err(StoreError::Conflict { current, .. }) => assert_eq!(*current, b1),
        other => panic!("expected Conflict, got {other:?}"),
    }
    let only_b = ab.create("/only-b", b"x".to_vec()).await.unwrap();
    match a
        .update("/only-b", b"y".to_vec(), only_b.mod_revision)
        .await
    {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }

    assert_eq!(next(&mut a_events).await, WatchEvent::Create(a1.clone()));
    assert_eq!(
        next(&mut a_events).await,
        WatchEvent::Update {
            kv: a2.clone(),
            prev: a1.clone()
        }
    );
    assert_eq!(next(&mut ab_events).await, WatchEvent::Create(b1.clone()));
    assert_eq!(next(&mut ab_events).await, WatchEvent::Create(only_b));
    // Nothing of tenant-ab reached tenant-a: its next event is its own next write.
    let a3 = a.create("/a-last", b"z".to_vec()).await.unwrap();
    assert_eq!(next(&mut a_events).await, WatchEvent::Create(a3));
}

/// The next event of `stream`, within [`TIMEOUT`].
async fn next(stream: &mut warren_store::WatchStream) -> WatchEvent {
    tokio::time::timeout(TIMEOUT, stream.next())
        .await
        .expect("a watch event in time")
        .expect("the watch goes on")
        .expect("a watch event")
}

/// Keys live under `{prefix}/data`; the prefix itself and everything beside it is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_stored_under_the_prefix() {
    let etcd = EtcdServer::start();
    let store = etcd.store("/warren/tenant-a", TIMEOUT).await.unwrap();
    store
        .create("/registry/core/namespaces/default", b"{}".to_vec())
        .await
        .unwrap();
    let mut client = etcd_client::Client::connect([etcd.url()], None)
        .await
        .unwrap();
    let all = client
        .get("", Some(etcd_client::GetOptions::new().with_all_keys()))
        .await
        .unwrap();
    let keys: Vec<&[u8]> = all.kvs().iter().map(|kv| kv.key()).collect();
    assert_eq!(
        keys,
        vec![b"/warren/tenant-a/data/registry/core/namespaces/default".as_slice()]
    );
}

/// A range whose `start` lies past its prefix is empty, served at the revision asked for, and
/// still refuses compacted and future revisions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_starting_past_its_prefix() {
    let etcd = EtcdServer::start();
    let store = etcd.store("/warren/tenant-a", TIMEOUT).await.unwrap();
    // A neighbour whose keys sort right after this tenant's prefix.
    let neighbour = etcd.store("/warren/tenant-ab", TIMEOUT).await.unwrap();
    neighbour.create("/a/x", b"n".to_vec()).await.unwrap();
    let kv = store.create("/a/x", b"1".to_vec()).await.unwrap();
    let now = store.current_revision().await.unwrap();
    let res = store.range("/a/", "/b", 0, None).await.unwrap();
    assert!(res.kvs.is_empty() && !res.more);
    assert_eq!(res.revision, now);
    let res = store
        .range("/a/", "/b", 0, Some(kv.mod_revision))
        .await
        .unwrap();
    assert!(res.kvs.is_empty());
    assert_eq!(res.revision, kv.mod_revision);
    assert!(matches!(
        store.range("/a/", "/b", 0, Some(now + 1)).await,
        Err(StoreError::FutureRevision { .. })
    ));
}

/// A compaction made by another client (another replica or tenant) is seen, exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactions_by_others_are_learnt() {
    let etcd = EtcdServer::start();
    let store = etcd.store("/warren/tenant-a", TIMEOUT).await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), 0);
    let mut kv = store.create("/k", b"0".to_vec()).await.unwrap();
    for i in 1..50 {
        kv = store
            .update("/k", i.to_string().into_bytes(), kv.mod_revision)
            .await
            .unwrap();
    }
    let mut other = etcd_client::Client::connect([etcd.url()], None)
        .await
        .unwrap();
    other.compact(37, None).await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), 37);
    match store.range("/", "", 0, Some(20)).await {
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => assert_eq!((requested, compacted), (20, 37)),
        other => panic!("expected Compacted, got {other:?}"),
    }
    other.compact(45, None).await.unwrap();
    match store.watch(40).await {
        Err(StoreError::Compacted { compacted, .. }) => assert_eq!(compacted, 45),
        Err(e) => panic!("expected Compacted, got {e}"),
        Ok(_) => panic!("expected Compacted, got a stream"),
    }
    // Compacting at or below the compaction revision is a no-op, as in the embedded store.
    store.compact(30).await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), 45);
}

/// etcd goes away: requests fail with Unavailable within the deadline, open watches end with
/// an error; etcd comes back on the same port and data: the same store works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_gives_unavailable_and_the_client_reconnects() {
    let mut etcd = EtcdServer::start();
    let timeout = Duration::from_secs(1);
    let store = etcd.store("/warren/tenant-a", timeout).await.unwrap();
    let before = store.create("/a", b"1".to_vec()).await.unwrap();
    let mut watch = store.watch(before.mod_revision).await.unwrap();

    etcd.stop();
    match tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
        Ok(Some(Err(StoreError::Unavailable(_)))) => {}
        other => panic!("an open watch during an outage: expected Unavailable, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(1), watch.next())
            .await
            .expect("the watch ends after its error")
            .is_none(),
        "a watch went on after its error"
    );
    for attempt in 0..3 {
        let started = Instant::now();
        match store.get("/a").await {
            Err(StoreError::Unavailable(message)) => {
                assert!(message.contains("etcd"), "{message}");
                // Request errors may reach API clients: they do not say where etcd is.
                assert!(!message.contains(&etcd.endpoint()), "{message}");
            }
            other => panic!("get during an outage (attempt {attempt}): got {other:?}"),
        }
        assert!(
            started.elapsed() < timeout * 3,
            "an outage took {:?} to report",
            started.elapsed()
        );
    }
    assert!(matches!(
        store.create("/b", b"1".to_vec()).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.watch(before.mod_revision).await,
        Err(StoreError::Unavailable(_))
    ));

    etcd.start_again();
    let deadline = Instant::now() + Duration::from_secs(30);
    let back = loop {
        match store.get("/a").await {
            Ok(kv) => break kv,
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("etcd is back but the store still fails: {e}"),
        }
    };
    assert_eq!(back, Some(before.clone()));
    let mut watch = store.watch(before.mod_revision).await.unwrap();
    let after = store.create("/b", b"2".to_vec()).await.unwrap();
    assert_eq!(
        tokio::time::timeout(TIMEOUT, watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap(),
        WatchEvent::Create(after)
    );
}

/// Certificates for a TLS etcd: a CA, etcd's serving certificate for 127.0.0.1 and a client
/// certificate, as PEM files in `dir`.
fn make_certificates(dir: &std::path::Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let write = |name: &str, pem: String| std::fs::write(dir.join(name), pem).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    write("ca.crt", ca_cert.pem());
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    server.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    write("server.crt", server.signed_by(&key, &issuer).unwrap().pem());
    write("server.key", key.serialize_pem());

    let key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    write("client.crt", client.signed_by(&key, &issuer).unwrap().pem());
    write("client.key", key.serialize_pem());
}

/// etcd with TLS and client certificates: the store connects over https with a client
/// certificate; without one, or trusting another CA, it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls() {
    use warren_store::etcd::{EtcdConfig, EtcdTls};
    use warren_store::etcd_harness::EtcdServerTls;
    let pki = tempfile::tempdir().unwrap();
    make_certificates(pki.path());
    let file = |name: &str| pki.path().join(name);
    let etcd = EtcdServer::start_with_tls(EtcdServerTls {
        cert_file: file("server.crt"),
        key_file: file("server.key"),
        client_ca_file: Some(file("ca.crt")),
    });
    assert!(etcd.url().starts_with("https://"));
    let config = |tls: Option<EtcdTls>| {
        let mut config = EtcdConfig::new(vec![etcd.endpoint()], "/warren/tenant-a");
        config.tls = tls;
        config.request_timeout = Duration::from_secs(2);
        config
    };
    let store = EtcdStore::connect(config(Some(EtcdTls {
        ca_file: file("ca.crt"),
        client_cert: Some((file("client.crt"), file("client.key"))),
    })))
    .await
    .expect("connect with TLS and a client certificate");
    assert!(store.description().contains("https://127.0.0.1:"));
    let r0 = store.current_revision().await.unwrap();
    let mut events = store.watch(r0).await.unwrap();
    let kv = store.create("/k", b"v".to_vec()).await.unwrap();
    assert_eq!(next(&mut events).await, WatchEvent::Create(kv.clone()));
    assert_eq!(store.get("/k").await.unwrap(), Some(kv));

    // No client certificate: refused.
    let refused = EtcdStore::connect(config(Some(EtcdTls {
        ca_file: file("ca.crt"),
        client_cert: None,
    })))
    .await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    // Plain HTTP to a TLS port: refused.
    let plain = EtcdStore::connect(config(None)).await;
    assert!(
        matches!(plain, Err(StoreError::Unavailable(_))),
        "{plain:?}"
    );
    // A missing CA file is a configuration error that names the file.
    match EtcdStore::connect(config(Some(EtcdTls {
        ca_file: file("missing.crt"),
        client_cert: None,
    })))
    .await
    {
        Err(StoreError::Internal(message)) => assert!(message.contains("missing.crt")),
        other => panic!("expected Internal, got {other:?}"),
    }
}

/// Connecting to nothing fails with Unavailable within the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_dead_endpoint_fails_quickly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config =
        warren_store::etcd::EtcdConfig::new(vec![format!("127.0.0.1:{port}")], "/warren/x");
    config.request_timeout = Duration::from_secs(1);
    let started = Instant::now();
    match EtcdStore::connect(config).await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}
