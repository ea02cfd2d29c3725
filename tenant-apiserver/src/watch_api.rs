//! The watch verb: streams of `{"type": ..., "object": ...}` lines served from the watch cache.
//!
//! Semantics as kube-apiserver's: `resourceVersion` unset or `0` starts with synthetic `ADDED`
//! events for the current state; a given resourceVersion resumes exactly after it (an `ERROR`
//! event with a 410 Status when it is too old); `sendInitialEvents=true` ends the initial state
//! with a bookmark annotated `k8s.io/initial-events-end`; `allowWatchBookmarks` adds periodic
//! bookmarks; `timeoutSeconds` ends the stream. A watcher that falls too far behind is ended
//! with a 410 so that it re-lists rather than silently missing events.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use crate::codec::Output;
use crate::filter::{ListFilter, to_table};
use crate::handlers::{RequestContext, plain_store_error};
use crate::object::{self, decode_stored};
use crate::server::{ApiServer, Body, query_bool};
use crate::watch::{CachedEvent, EventType};

/// How often a watch with `allowWatchBookmarks` gets a bookmark.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);
/// The longest a watch lasts without `timeoutSeconds` (kube-apiserver's default is 30–60 min).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

struct Watcher {
    info: ResourceInfo,
    prefix: String,
    name: Option<String>,
    filter: ListFilter,
    output: Output,
    query: HashMap<String, String>,
    tx: mpsc::Sender<Bytes>,
    sent_table_header: bool,
}

impl Watcher {
    fn line(&mut self, ty: &str, obj: &Value) -> Bytes {
        let object = match self.output {
            Output::Table if ty != "BOOKMARK" && ty != "ERROR" => {
                let mut t = to_table(
                    &self.info,
                    std::slice::from_ref(obj),
                    &self.query,
                    json!({
                        "resourceVersion": object::resource_version(obj).unwrap_or_default(),
                    }),
                );
                if self.sent_table_header {
                    t["columnDefinitions"] = json!([]);
                }
                self.sent_table_header = true;
                t
            }
            Output::Metadata if ty != "ERROR" => crate::codec::partial_metadata(obj),
            _ => {
                let mut obj = obj.clone();
                crate::crds::present(&self.info, &mut obj);
                obj
            }
        };
        let mut bytes =
            serde_json::to_vec(&json!({"type": ty, "object": object})).unwrap_or_default();
        bytes.push(b'\n');
        Bytes::from(bytes)
    }

    async fn send(&mut self, ty: &str, obj: &Value) -> bool {
        let line = self.line(ty, obj);
        self.tx.send(line).await.is_ok()
    }

    fn selects_key(&self, key: &str) -> bool {
        if !key.starts_with(&self.prefix) {
            return false;
        }
        match &self.name {
            Some(n) => key.rsplit('/').next() == Some(n.as_str()),
            None => true,
        }
    }

    fn matches(&self, obj: &Value) -> bool {
        self.filter.matches(obj).unwrap_or(false)
    }

    /// Sends one cache event, translated through the selectors. False when the client is gone.
    async fn deliver(&mut self, ev: &CachedEvent) -> bool {
        if !self.selects_key(&ev.key) {
            return true;
        }
        let now = self.matches(&ev.object);
        let before = ev.prev.as_deref().is_some_and(|p| self.matches(p));
        let ty = match ev.kind {
            EventType::Added if now => "ADDED",
            EventType::Modified if now && before => "MODIFIED",
            EventType::Modified if now => "ADDED",
            EventType::Modified if before => "DELETED",
            EventType::Deleted if before || now => "DELETED",
            _ => return true,
        };
        let obj = ev.object.clone();
        self.send(ty, &obj).await
    }

    fn bookmark(&self, revision: i64, initial_end: bool) -> Value {
        let mut meta = json!({"resourceVersion": revision.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": self.info.kind, "apiVersion": self.info.api_version(), "metadata": meta})
    }
}

impl ApiServer {
    /// Serves a watch.
    pub async fn watch(
        self: Arc<Self>,
        info: Arc<ResourceInfo>,
        ns: Option<&str>,
        name: Option<&str>,
        ctx: &RequestContext,
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        let filter = ListFilter::from_query(&info, &ctx.query)?;
        let bookmarks = query_bool(&ctx.query, "allowWatchBookmarks");
        let send_initial = query_bool(&ctx.query, "sendInitialEvents");
        let rv = ctx
            .query
            .get("resourceVersion")
            .filter(|s| !s.is_empty())
            .cloned();
        let rv_match = ctx
            .query
            .get("resourceVersionMatch")
            .filter(|s| !s.is_empty())
            .cloned();
        if send_initial {
            if rv_match.as_deref() != Some("NotOlderThan") {
                return Err(ApiError::invalid(
                    "",
                    "ListOptions",
                    "",
                    &[warren_apimachinery::error::FieldError::forbidden(
                        "resourceVersionMatch",
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    )],
                ));
            }
            if !bookmarks {
                return Err(ApiError::invalid(
                    "",
                    "ListOptions",
                    "",
                    &[warren_apimachinery::error::FieldError::forbidden(
                        "allowWatchBookmarks",
                        "sendInitialEvents requires setting allowWatchBookmarks to true",
                    )],
                ));
            }
        } else if rv_match.is_some() {
            return Err(ApiError::invalid(
                "",
                "ListOptions",
                "",
                &[warren_apimachinery::error::FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                )],
            ));
        }
        let timeout = match ctx.query.get("timeoutSeconds").filter(|s| !s.is_empty()) {
            Some(t) => Duration::from_secs(
                t.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t}")))?,
            ),
            None => DEFAULT_TIMEOUT,
        };
        let start_rv: Option<i64> = match rv.as_deref() {
            None | Some("0") => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}")))?,
            ),
        };
        let initial = send_initial || start_rv.is_none();
        // Subscribe first, then read the state at the subscription's revision: no gap, no repeat.
        let mut catch_up: Option<(warren_store::WatchStream, i64)> = None;
        let (sub, mut after) = match (initial, start_rv) {
            (true, _) | (false, None) => {
                let latest = self.watch_cache.latest();
                match self.watch_cache.subscribe_after(latest) {
                    Ok(s) => (Some(s), latest),
                    Err(_) => (None, latest),
                }
            }
            (false, Some(rv)) => {
                let current = self
                    .store
                    .current_revision()
                    .await
                    .map_err(plain_store_error)?;
                if rv > current {
                    return Err(plain_store_error(
                        warren_store::StoreError::FutureRevision {
                            requested: rv,
                            current,
                        },
                    ));
                }
                // History below the compaction revision is gone, even if the cache holds it.
                let compacted = self
                    .store
                    .compacted_revision()
                    .await
                    .map_err(plain_store_error)?;
                if rv < compacted {
                    return Ok(error_stream(ApiError::gone(rv, compacted)));
                }
                match self.watch_cache.subscribe_after(rv) {
                    Ok(s) => (Some(s), rv),
                    Err(too_old) => {
                        // Older than the cache: replay the store's log up to the cache's oldest
                        // revision, then go on from the cache.
                        let oldest = too_old.oldest;
                        let sub = self.watch_cache.subscribe_after(oldest).ok();
                        match self.store.watch(rv).await {
                            Ok(stream) => catch_up = Some((stream, oldest)),
                            Err(warren_store::StoreError::Compacted { compacted, .. }) => {
                                return Ok(error_stream(ApiError::gone(rv, compacted)));
                            }
                            Err(e) => return Err(plain_store_error(e)),
                        }
                        (sub, rv)
                    }
                }
            }
        };
        let Some(sub) = sub else {
            return Err(ApiError::internal("watch cache unavailable"));
        };
        let initial_objects = if initial {
            let prefix = info.namespace_prefix(ns);
            let res = self.store.range(&prefix, "", 0, Some(after)).await;
            let res = match res {
                Ok(r) => r,
                Err(_) => {
                    // The cache may be ahead of a fresh store range only by racing writes; read now.
                    let r = self
                        .store
                        .range(&prefix, "", 0, None)
                        .await
                        .map_err(plain_store_error)?;
                    after = r.revision;
                    r
                }
            };
            res.kvs
                .into_iter()
                .map(|kv| decode_stored(&kv.value, kv.mod_revision))
                .collect::<Vec<_>>()
        } else {
            Vec::new()
        };
        let (tx, rx) = mpsc::channel::<Bytes>(256);
        let mut watcher = Watcher {
            prefix: info.namespace_prefix(ns),
            info: (*info).clone(),
            name: name.map(str::to_string),
            filter,
            output,
            query: ctx.query.clone(),
            tx,
            sent_table_header: false,
        };
        let cancel = self.cancel.clone();
        let cache = self.watch_cache.clone();
        // A custom resource's watches end once its CRD is gone, as kube-apiserver tears the
        // resource's storage down.
        let crd_key = info.crd.as_ref().map(|_| {
            format!(
                "/registry/apiextensions.k8s.io/customresourcedefinitions/{}.{}",
                info.plural, info.group
            )
        });
        self.tasks.spawn(async move {
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            let mut sub = sub;
            // Initial state.
            for obj in &initial_objects {
                let key_name = object::name(obj).to_string();
                if watcher.name.as_deref().is_some_and(|n| n != key_name) || !watcher.matches(obj) {
                    continue;
                }
                if !watcher.send("ADDED", obj).await {
                    return;
                }
            }
            if send_initial {
                let b = watcher.bookmark(after, true);
                if !watcher.send("BOOKMARK", &b).await {
                    return;
                }
            }
            let mut last = after;
            // Events older than the cache, from the store's log.
            if let Some((mut stream, until)) = catch_up {
                while last < until {
                    let next = tokio::select! {
                        _ = cancel.cancelled() => return,
                        n = tokio::time::timeout(Duration::from_secs(30), stream.next()) => n,
                    };
                    match next {
                        Ok(Some(Ok(ev))) => {
                            let ev = crate::watch::decode_event(&ev);
                            if ev.revision <= last {
                                continue;
                            }
                            last = ev.revision;
                            if !watcher.deliver(&ev).await {
                                return;
                            }
                        }
                        _ => {
                            let status = ApiError::gone(last, until).to_status();
                            let _ = watcher.send("ERROR", &status).await;
                            return;
                        }
                    }
                }
            }
            // Buffered events after the start revision.
            for ev in std::mem::take(&mut sub.replay) {
                if ev.revision <= last {
                    continue;
                }
                last = ev.revision;
                if !watcher.deliver(&ev).await {
                    return;
                }
            }
            let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = &mut deadline => return,
                    _ = watcher.tx.closed() => return,
                    _ = ticker.tick(), if bookmarks => {
                        let rev = cache.latest().max(last);
                        let b = watcher.bookmark(rev, false);
                        if !watcher.send("BOOKMARK", &b).await {
                            return;
                        }
                    }
                    ev = sub.live.recv() => match ev {
                        Ok(ev) => {
                            if ev.revision <= last {
                                continue;
                            }
                            if crd_key.as_deref() == Some(ev.key.as_str())
                                && ev.kind == crate::watch::EventType::Deleted
                            {
                                return;
                            }
                            last = ev.revision;
                            if !watcher.deliver(&ev).await {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            let status = ApiError::gone(last, cache.latest()).to_status();
                            let _ = watcher.send("ERROR", &status).await;
                            return;
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).boxed();
        Ok(stream_response(stream))
    }
}

/// A watch response that carries one ERROR event (how kube-apiserver reports a 410 on watch).
fn error_stream(err: ApiError) -> Response<Body> {
    let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": err.to_status()}))
        .unwrap_or_default();
    line.push(b'\n');
    stream_response(futures::stream::once(async move { Bytes::from(line) }).boxed())
}

fn stream_response(stream: futures::stream::BoxStream<'static, Bytes>) -> Response<Body> {
    let body = StreamBody::new(stream.map(|b| Ok::<_, Infallible>(Frame::data(b)))).boxed_unsync();
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}
