//! The HTTPS front: TLS (HTTP/1.1 and HTTP/2), authentication by client certificate, routing,
//! and the one place where errors become `Status` responses.
//!
//! A request goes: TLS handshake (client certificate verified against the tenant CA, if
//! offered) → [`ApiServer::handle`]: anonymous paths (`/version`, health) → authentication
//! (anything else needs a verified user, 401 otherwise) → route (discovery, OpenAPI, resources)
//! → handler. Handlers return `Result<Response, ApiError>`; [`error_response`] renders errors.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::Registry;
use warren_store::Store;

use crate::pki::{UserInfo, user_from_cert};
use crate::request::{Route, parse_path, parse_query};
use crate::watch::WatchCache;
use crate::{discovery, openapi};

/// The response body type: full bodies and watch streams.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The largest request body accepted, as kube-apiserver's limit (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The API server's shared state.
pub struct ApiServer {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Served resources.
    pub registry: Registry,
    /// The watch fan-out.
    pub watch_cache: WatchCache,
    /// The URL clients use (`https://127.0.0.1:PORT`).
    pub url: String,
    /// Serializes allocation of Service cluster IPs and node ports.
    pub service_alloc: tokio::sync::Mutex<()>,
    /// Shutdown for long-running requests (watches).
    pub cancel: CancellationToken,
    /// Tracks spawned request tasks so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// When the process started.
    pub started: Instant,
    /// Static bearer tokens (`--token-auth-file`).
    pub static_tokens: crate::tokens::StaticTokens,
    /// The audit log (`--audit-log-path`), if any.
    pub audit: Option<Arc<crate::audit::AuditLog>>,
    /// Address ranges admission webhooks may not be dialled at.
    pub webhook_egress_deny: Vec<crate::egress::Cidr>,
    /// The RBAC objects, as the authorizer uses them.
    pub rbac_cache: crate::cache::PrefixCache<crate::authz::Policy>,
    /// The service-account token signing key (`pki/sa.key`) and the API audiences.
    pub sa_keys: crate::sa_tokens::ServiceAccountKeys,
}

/// A JSON response.
pub fn json_response(code: StatusCode, value: &Value) -> Response<Body> {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

/// A response with a content type.
pub fn bytes_response(code: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)).boxed_unsync());
    *resp.status_mut() = code;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// The one translation of an error into a `Status` response.
pub fn error_response(err: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &err.to_status())
}

impl ApiServer {
    /// Handles one request from `user` (None: no verified client certificate).
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        user: Option<UserInfo>,
        peer: SocketAddr,
    ) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let span = tracing::debug_span!("request", %method, %path, user = user.as_ref().map(|u| u.name.as_str()).unwrap_or("anonymous"));
        async move {
            let mut record = self.audit.as_ref().map(|_| {
                let uri = req
                    .uri()
                    .path_and_query()
                    .map(|pq| pq.as_str().to_string())
                    .unwrap_or_else(|| path.clone());
                let mut r = crate::audit::Record::new(method.as_str(), uri, peer.ip().to_string());
                r.user_agent = req
                    .headers()
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                r
            });
            let resp = match self.clone().route(req, user, &mut record).await {
                Ok(resp) => resp,
                Err(err) => {
                    if err.code >= 500 {
                        tracing::error!(code = err.code, message = %err.message, "request failed");
                    }
                    error_response(&err)
                }
            };
            if let (Some(log), Some(record)) = (&self.audit, &record) {
                log.write(record, resp.status().as_u16());
            }
            resp
        }
        .instrument(span)
        .await
    }

    async fn route(
        self: Arc<Self>,
        req: Request<Incoming>,
        user: Option<UserInfo>,
        record: &mut Option<crate::audit::Record>,
    ) -> Result<Response<Body>, ApiError> {
        let route = parse_path(req.uri().path());
        // Anonymous paths first, as system:public-info-viewer allows.
        match route {
            Route::Version => return Ok(json_response(StatusCode::OK, &version_info())),
            Route::Health => return Ok(self.health(req.uri().path(), req.uri().query()).await),
            _ => {}
        }
        // A verified client certificate first, then a bearer token: static (token file), then
        // a service-account token.
        let user = match user {
            Some(user) => Some(user),
            None => crate::sa_tokens::authenticate_request(&self, req.headers()).await,
        };
        let Some(user) = user else {
            drain(req.into_body()).await;
            return Err(ApiError::unauthorized());
        };
        if let Some(r) = record.as_mut() {
            r.user = Some(user.clone());
        }
        let user = match crate::authz::impersonate(&self, user, req.headers()).await {
            Ok(user) => user,
            Err(err) => {
                drain(req.into_body()).await;
                return Err(err);
            }
        };
        if let Some(r) = record.as_mut()
            && r.user.as_ref() != Some(&user)
        {
            r.impersonated_by = r.user.replace(user.clone());
        }
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let query = parse_query(req.uri().query());
        let attrs = crate::authz::attributes(&user, req.method(), &route, req.uri().path(), &query);
        let decision = crate::authz::authorize(&self, &attrs).await;
        if let Some(r) = record.as_mut() {
            r.decision = Some(if decision.is_ok() { "allow" } else { "forbid" });
            r.attrs = Some(attrs.clone());
        }
        if let Err(err) = decision {
            drain(req.into_body()).await;
            return Err(err);
        }
        match route {
            Route::CoreGroup => Ok(discovery::core_group(&self, accept.as_deref())),
            Route::Groups => Ok(discovery::groups(&self, accept.as_deref())),
            Route::Group(g) => discovery::group(&self, &g),
            Route::GroupVersion(g, v) => discovery::group_version(&self, &g, &v),
            Route::OpenApiV2 => openapi::v2(&self, req.headers()),
            Route::OpenApiV3(gv) => openapi::v3(&self, gv.as_deref(), &query, req.headers()),
            Route::Metrics => Ok(bytes_response(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                self.metrics().into_bytes(),
            )),
            Route::Resource(rp) => {
                let method = req.method().clone();
                let content_type = req
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let user_agent = req
                    .headers()
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = if matches!(
                    method,
                    Method::POST | Method::PUT | Method::PATCH | Method::DELETE
                ) {
                    read_body(req.into_body()).await?
                } else {
                    Bytes::new()
                };
                if let (Some(log), Some(r)) = (&self.audit, record.as_mut())
                    && !body.is_empty()
                {
                    let level = log.level(&attrs);
                    // As upstream's LogRequestObject: a create's object names the objectRef.
                    if level >= crate::audit::Level::Request
                        || (attrs.verb == "create" && attrs.name.is_empty())
                    {
                        let obj = crate::codec::body_type(content_type.as_deref())
                            .ok()
                            .and_then(|ty| crate::codec::decode_body(&body, ty).ok());
                        r.object_name = obj
                            .as_ref()
                            .and_then(|o| o.pointer("/metadata/name"))
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_string);
                        if level >= crate::audit::Level::Request {
                            r.request_object = obj;
                        }
                    }
                }
                crate::authz::check_escalation(&self, &attrs, &body, content_type.as_deref())
                    .await?;
                let warnings = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                let ctx = crate::handlers::RequestContext {
                    user,
                    accept,
                    content_type,
                    query,
                    user_agent,
                    warnings: warnings.clone(),
                    audit_annotations: Default::default(),
                };
                let annotations = ctx.audit_annotations.clone();
                let result = self.serve_resource(method, rp, ctx, body).await;
                if let (Some(r), Ok(a)) = (record.as_mut(), annotations.lock()) {
                    r.annotations
                        .extend(a.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                let mut resp = result?;
                for w in warnings.lock().map(|w| w.clone()).unwrap_or_default() {
                    let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
                    if let Ok(v) = http::HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
                        resp.headers_mut().append(header::WARNING, v);
                    }
                }
                Ok(resp)
            }
            Route::NotFound | Route::Version | Route::Health => Err(ApiError::no_route()),
        }
    }

    /// `/healthz`, `/livez`, `/readyz` (and `/readyz/CHECK`, `?verbose`) as kube-apiserver
    /// answers them: `ok`, or one `[+]check ok` line per check and `readyz check passed`.
    async fn health(&self, path: &str, query: Option<&str>) -> Response<Body> {
        let endpoint = path
            .trim_matches('/')
            .split('/')
            .next()
            .unwrap_or("healthz")
            .to_string();
        let only = path.trim_matches('/').split('/').nth(1).map(str::to_string);
        let store_ok = self.store.current_revision().await.is_ok();
        let mut checks: Vec<(&str, bool)> = vec![("ping", true), ("log", true), ("etcd", store_ok)];
        if endpoint == "readyz" {
            checks.push(("informer-sync", true));
            checks.push(("shutdown", !self.cancel.is_cancelled()));
        }
        checks.push(("poststarthook/start-apiextensions-controllers", true));
        if let Some(one) = only {
            return match checks.iter().find(|(n, _)| *n == one) {
                Some((_, true)) => {
                    bytes_response(StatusCode::OK, "text/plain; charset=utf-8", b"ok".to_vec())
                }
                Some((_, false)) => bytes_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain; charset=utf-8",
                    format!("internal server error: {one} failed\n").into_bytes(),
                ),
                None => error_response(&ApiError::no_route()),
            };
        }
        let healthy = checks.iter().all(|(_, ok)| *ok);
        let verbose = crate::request::parse_query(query).contains_key("verbose");
        let code = if healthy {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        if !verbose && healthy {
            return bytes_response(code, "text/plain; charset=utf-8", b"ok".to_vec());
        }
        let mut out = String::new();
        for (name, ok) in &checks {
            if *ok {
                out.push_str(&format!("[+]{name} ok\n"));
            } else {
                out.push_str(&format!("[-]{name} failed: reason withheld\n"));
            }
        }
        if healthy {
            out.push_str(&format!("{endpoint} check passed\n"));
        } else {
            out.push_str(&format!("{endpoint} check failed\n"));
        }
        bytes_response(code, "text/plain; charset=utf-8", out.into_bytes())
    }

    fn metrics(&self) -> String {
        format!(
            "# HELP warren_apiserver_uptime_seconds Seconds since start.\n# TYPE warren_apiserver_uptime_seconds gauge\nwarren_apiserver_uptime_seconds {}\n# HELP warren_apiserver_watch_cache_revision Newest revision in the watch cache.\n# TYPE warren_apiserver_watch_cache_revision gauge\nwarren_apiserver_watch_cache_revision {}\n",
            self.started.elapsed().as_secs_f64(),
            self.watch_cache.latest()
        )
    }
}

/// Reads and discards what is left of a refused request's body (bounded in size and time), so
/// that the client sees the answer rather than a reset stream while it is still sending.
async fn drain(body: Incoming) {
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await;
}

async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) => {
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(ApiError::too_large())
            } else {
                Err(ApiError::bad_request(format!(
                    "error reading request body: {err}"
                )))
            }
        }
    }
}

/// `/version`.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "37",
        "emulationMajor": "1",
        "emulationMinor": "37",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "36",
        "gitVersion": concat!("v1.37.0-warren.", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else if cfg!(target_arch = "aarch64") { "arm64" } else { std::env::consts::ARCH }),
    })
}

/// Serves HTTPS on `listener` until `cancel` fires, then waits for open connections to finish
/// (watches end on cancel).
pub async fn serve(
    api: Arc<ApiServer>,
    listener: TcpListener,
    tls: crate::pki::ServerTls,
    cancel: CancellationToken,
) {
    let acceptor = TlsAcceptor::from(tls.config.clone());
    let connections = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let api = api.clone();
        let cancel = cancel.clone();
        let tls = tls.clone();
        connections
            .spawn(async move { serve_connection(api, acceptor, tls, tcp, peer, cancel).await });
    }
    connections.close();
    // Give in-flight requests a bounded time to finish.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), connections.wait()).await;
}

async fn serve_connection(
    api: Arc<ApiServer>,
    acceptor: TlsAcceptor,
    server_tls: crate::pki::ServerTls,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    cancel: CancellationToken,
) {
    let tls = match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp))
        .await
    {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            tracing::debug!(%peer, error = %err, "tls handshake failed");
            return;
        }
        Err(_) => return,
    };
    // A certificate the tenant CA did not issue authenticates nobody: 401, not a failed
    // handshake.
    let user = tls
        .get_ref()
        .1
        .peer_certificates()
        .filter(|chain| server_tls.verify_client(chain))
        .and_then(|certs| certs.first())
        .and_then(|c| user_from_cert(c));
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let api = api.clone();
        let user = user.clone();
        async move { Ok::<_, Infallible>(api.handle(req, user, peer).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(err) = res {
                tracing::debug!(%peer, error = %err, "connection ended with error");
            }
        }
        _ = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), conn).await;
        }
    }
}

/// Parses a boolean query parameter the way kube-apiserver does (`true`, `1`).
pub fn query_bool(query: &HashMap<String, String>, key: &str) -> bool {
    matches!(
        query.get(key).map(String::as_str),
        Some("true" | "1" | "True" | "TRUE")
    )
}
