//! The audit log: one `audit.k8s.io/v1` `Event` per request, as JSON lines, at the level an
//! `audit.k8s.io/v1` `Policy` gives the request (`None`, `Metadata`, `Request`;
//! `RequestResponse` is logged as `Request`, without the response body).
//!
//! `--audit-log-path FILE` (`-` for standard output) turns the log on; `--audit-policy-file`
//! chooses levels by the policy's first matching rule (no rule matches: `None`). Without a
//! policy file every request is logged at `Metadata`. Each event names the user, verb,
//! resource, namespace, name, response code and, in the `warren.io/latency` annotation, the time
//! from receipt to response (also given by the two timestamps).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use warren_apimachinery::rbac::Attributes;

use crate::pki::UserInfo;

/// How much of a request is logged (upstream's `audit.Level`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing.
    #[default]
    None,
    /// User, verb, object reference, response code, timestamps.
    Metadata,
    /// Metadata and the request body.
    Request,
    /// Logged as `Request` (response bodies are not kept).
    RequestResponse,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }
}

/// A resource match of a policy rule (`GroupResources`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupResources {
    /// The API group (`""` is core).
    #[serde(default)]
    pub group: String,
    /// Resources (`pods`, `pods/log`, `*`, `*/status`, `pods/*`); empty matches all.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Names; empty matches all.
    #[serde(default)]
    pub resource_names: Vec<String>,
}

/// One rule of a policy (`PolicyRule`); every non-empty list must match.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The level of matching requests.
    pub level: Level,
    /// User names.
    #[serde(default)]
    pub users: Vec<String>,
    /// Groups (any of the user's).
    #[serde(default)]
    pub user_groups: Vec<String>,
    /// Verbs (`get`, `list`, `watch`, `create`...).
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Resources.
    #[serde(default)]
    pub resources: Vec<GroupResources>,
    /// Namespaces (`""` matches cluster-scoped requests).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Non-resource URLs (`/healthz*` prefix patterns).
    #[serde(default, rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

/// An audit policy (`audit.k8s.io/v1` `Policy`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The rules; the first that matches decides.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// Errors reading the policy or opening the log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be read or opened.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The policy is not an `audit.k8s.io/v1` Policy.
    #[error("{path}: {message}")]
    Policy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Policy {
    /// Reads a policy file (YAML or JSON).
    pub fn load(path: &Path) -> Result<Policy, AuditError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(&text).map_err(|message| AuditError::Policy {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses a policy document.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let value: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        match value.get("apiVersion").and_then(Value::as_str) {
            Some("audit.k8s.io/v1") => {}
            other => {
                return Err(format!(
                    "apiVersion must be audit.k8s.io/v1, not {}",
                    other.unwrap_or("(none)")
                ));
            }
        }
        if value.get("kind").and_then(Value::as_str) != Some("Policy") {
            return Err("kind must be Policy".into());
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// The level of a request.
    pub fn level(&self, attrs: &Attributes) -> Level {
        self.rules
            .iter()
            .find(|r| r.matches(attrs))
            .map(|r| r.level)
            .unwrap_or(Level::None)
    }
}

impl Rule {
    fn matches(&self, a: &Attributes) -> bool {
        if !self.users.is_empty() && !self.users.contains(&a.user.name) {
            return false;
        }
        if !self.user_groups.is_empty()
            && !a.user.groups.iter().any(|g| self.user_groups.contains(g))
        {
            return false;
        }
        if !self.verbs.is_empty() && !self.verbs.contains(&a.verb) {
            return false;
        }
        if a.resource_request {
            if !self.non_resource_urls.is_empty() {
                return false;
            }
            if !self.namespaces.is_empty() && !self.namespaces.contains(&a.namespace) {
                return false;
            }
            if !self.resources.is_empty() && !self.resources.iter().any(|gr| gr.matches(a)) {
                return false;
            }
            true
        } else {
            if !self.resources.is_empty() || !self.namespaces.is_empty() {
                return false;
            }
            self.non_resource_urls.is_empty()
                || self
                    .non_resource_urls
                    .iter()
                    .any(|u| match u.strip_suffix('*') {
                        Some(prefix) => a.path.starts_with(prefix),
                        None => a.path == *u,
                    })
        }
    }
}

impl GroupResources {
    fn matches(&self, a: &Attributes) -> bool {
        if self.group != a.api_group {
            return false;
        }
        let full = if a.subresource.is_empty() {
            a.resource.clone()
        } else {
            format!("{}/{}", a.resource, a.subresource)
        };
        let resource_ok = self.resources.is_empty()
            || self.resources.iter().any(|r| {
                r == &full
                    || r == "*"
                    || (r == "*/*" && !a.subresource.is_empty())
                    || r.strip_prefix("*/").is_some_and(|s| s == a.subresource)
                    || r.strip_suffix("/*")
                        .is_some_and(|s| s == a.resource && !a.subresource.is_empty())
            });
        resource_ok && (self.resource_names.is_empty() || self.resource_names.contains(&a.name))
    }
}

/// The audit log of one server.
pub struct AuditLog {
    policy: Option<Policy>,
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("policy", &self.policy)
            .finish()
    }
}

impl AuditLog {
    /// Opens (appends to) `path`, or standard output for `-`.
    pub fn open(path: &Path, policy: Option<Policy>) -> Result<AuditLog, AuditError> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| AuditError::Io {
                        path: path.to_path_buf(),
                        source,
                    })?,
            )
        };
        Ok(AuditLog {
            policy,
            out: Mutex::new(out),
        })
    }

    /// The level of a request.
    pub fn level(&self, attrs: &Attributes) -> Level {
        match &self.policy {
            Some(p) => p.level(attrs),
            None => Level::Metadata,
        }
    }

    /// Writes the event of a finished request.
    pub fn write(&self, record: &Record, code: u16) {
        let Some(attrs) = &record.attrs else {
            // Unauthenticated: logged at Metadata when the policy has no user to match on.
            if self.policy.is_none() {
                self.emit(record, code, Level::Metadata);
            }
            return;
        };
        let level = self.level(attrs);
        if level != Level::None {
            self.emit(record, code, level);
        }
    }

    fn emit(&self, record: &Record, code: u16, level: Level) {
        let line = record.event(code, level);
        if let Ok(mut out) = self.out.lock() {
            let _ = serde_json::to_writer(&mut *out, &line);
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
    }
}

/// What the request path learns about a request, for its audit event.
#[derive(Debug)]
pub struct Record {
    /// The event's id.
    pub audit_id: String,
    /// When the request arrived.
    pub received: chrono::DateTime<chrono::Utc>,
    started: Instant,
    /// The request URI (path and query).
    pub request_uri: String,
    /// The HTTP method (the verb when no attributes were computed).
    pub method: String,
    /// The client's address.
    pub source_ip: String,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The authenticated (and impersonated) user.
    pub user: Option<UserInfo>,
    /// The user who authenticated, when impersonating.
    pub impersonated_by: Option<UserInfo>,
    /// The request's RBAC attributes.
    pub attrs: Option<Attributes>,
    /// The request body as JSON (kept for the `Request` level).
    pub request_object: Option<Value>,
    /// The authorization decision.
    pub decision: Option<&'static str>,
    /// Annotations admission added (PodSecurity's, webhooks' `auditAnnotations`).
    pub annotations: std::collections::BTreeMap<String, String>,
    /// The name in a create's body (the URL has none).
    pub object_name: Option<String>,
}

impl Record {
    /// A record of a request just received.
    pub fn new(method: &str, request_uri: String, source_ip: String) -> Record {
        Record {
            audit_id: uuid::Uuid::new_v4().to_string(),
            received: chrono::Utc::now(),
            started: Instant::now(),
            request_uri,
            method: method.to_string(),
            source_ip,
            user_agent: None,
            user: None,
            impersonated_by: None,
            attrs: None,
            request_object: None,
            decision: None,
            annotations: Default::default(),
            object_name: None,
        }
    }

    fn event(&self, code: u16, level: Level) -> Value {
        let ts = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        let user_json = |u: &UserInfo| {
            let mut v = json!({"username": u.name, "groups": u.groups});
            if !u.uid.is_empty() {
                v["uid"] = json!(u.uid);
            }
            if !u.extra.is_empty() {
                v["extra"] = json!(u.extra);
            }
            v
        };
        let verb = match &self.attrs {
            Some(a) => a.verb.clone(),
            None => self.method.to_ascii_lowercase(),
        };
        let mut event = Map::new();
        event.insert("kind".into(), json!("Event"));
        event.insert("apiVersion".into(), json!("audit.k8s.io/v1"));
        event.insert("level".into(), json!(level.as_str()));
        event.insert("auditID".into(), json!(self.audit_id));
        event.insert("stage".into(), json!("ResponseComplete"));
        event.insert("requestURI".into(), json!(self.request_uri));
        event.insert("verb".into(), json!(verb));
        event.insert(
            "user".into(),
            self.user
                .as_ref()
                .map(user_json)
                .unwrap_or_else(|| json!({})),
        );
        if let Some(by) = &self.impersonated_by {
            event.insert(
                "impersonatedUser".into(),
                user_json(self.user.as_ref().unwrap_or(by)),
            );
            event.insert("user".into(), user_json(by));
        }
        event.insert("sourceIPs".into(), json!([self.source_ip]));
        if let Some(ua) = &self.user_agent {
            event.insert("userAgent".into(), json!(ua));
        }
        if let Some(a) = self.attrs.as_ref().filter(|a| a.resource_request) {
            let mut r = Map::new();
            r.insert("resource".into(), json!(a.resource));
            if !a.namespace.is_empty() {
                r.insert("namespace".into(), json!(a.namespace));
            }
            match (a.name.as_str(), &self.object_name) {
                ("", Some(name)) if !name.is_empty() => {
                    r.insert("name".into(), json!(name));
                }
                ("", _) => {}
                (name, _) => {
                    r.insert("name".into(), json!(name));
                }
            }
            if !a.api_group.is_empty() {
                r.insert("apiGroup".into(), json!(a.api_group));
            }
            if let Some(v) = api_version(&self.request_uri) {
                r.insert("apiVersion".into(), json!(v));
            }
            if !a.subresource.is_empty() {
                r.insert("subresource".into(), json!(a.subresource));
            }
            event.insert("objectRef".into(), Value::Object(r));
        }
        event.insert(
            "responseStatus".into(),
            json!({"metadata": {}, "code": code}),
        );
        if level >= Level::Request
            && let Some(obj) = &self.request_object
        {
            event.insert("requestObject".into(), obj.clone());
        }
        event.insert("requestReceivedTimestamp".into(), json!(ts(self.received)));
        event.insert("stageTimestamp".into(), json!(ts(chrono::Utc::now())));
        let mut annotations: Map<String, Value> = self
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        if let Some(d) = self.decision {
            annotations.insert("authorization.k8s.io/decision".into(), json!(d));
        }
        annotations.insert(
            "warren.io/latency".into(),
            json!(format!("{:?}", self.started.elapsed())),
        );
        event.insert("annotations".into(), Value::Object(annotations));
        Value::Object(event)
    }
}

/// The version segment of an API path (`/api/v1/...` → `v1`, `/apis/G/V/...` → `V`).
fn api_version(uri: &str) -> Option<String> {
    let path = uri.split('?').next().unwrap_or(uri);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", v, ..] => Some(v.to_string()),
        ["apis", _, v, ..] => Some(v.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_apimachinery::rbac;

    fn attrs(user: &str, verb: &str, resource: &str, ns: &str) -> Attributes {
        Attributes {
            user: rbac::UserInfo {
                name: user.into(),
                groups: vec!["system:authenticated".into()],
                ..Default::default()
            },
            verb: verb.into(),
            namespace: ns.into(),
            api_group: String::new(),
            resource: resource.into(),
            subresource: String::new(),
            name: "x".into(),
            path: format!("/api/v1/namespaces/{ns}/{resource}/x"),
            resource_request: true,
        }
    }

    #[test]
    fn first_matching_rule_decides() {
        let policy = Policy::parse(
            r#"
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  verbs: ["get", "list", "watch"]
- level: Request
  resources:
  - group: ""
    resources: ["configmaps"]
- level: Metadata
  namespaces: ["prod"]
"#,
        )
        .unwrap();
        assert_eq!(
            policy.level(&attrs("a", "get", "configmaps", "prod")),
            Level::None
        );
        assert_eq!(
            policy.level(&attrs("a", "create", "configmaps", "dev")),
            Level::Request
        );
        assert_eq!(
            policy.level(&attrs("a", "create", "pods", "prod")),
            Level::Metadata
        );
        assert_eq!(
            policy.level(&attrs("a", "create", "pods", "dev")),
            Level::None
        );
    }

    #[test]
    fn wrong_documents_are_refused() {
        assert!(Policy::parse("apiVersion: v1\nkind: Policy\n").is_err());
        assert!(Policy::parse("apiVersion: audit.k8s.io/v1\nkind: Pod\n").is_err());
        assert!(
            Policy::parse("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Loud}]\n")
                .is_err()
        );
        assert!(Policy::parse(":::").is_err());
    }

    #[test]
    fn events_name_user_verb_object_and_code() {
        let mut r = Record::new(
            "POST",
            "/api/v1/namespaces/dev/pods".into(),
            "127.0.0.1".into(),
        );
        r.user = Some(UserInfo {
            name: "alice".into(),
            groups: vec!["dev".into()],
            ..Default::default()
        });
        r.attrs = Some(attrs("alice", "create", "pods", "dev"));
        r.request_object = Some(json!({"kind": "Pod"}));
        let e = r.event(201, Level::Request);
        assert_eq!(e["user"]["username"], "alice");
        assert_eq!(e["verb"], "create");
        assert_eq!(e["objectRef"]["resource"], "pods");
        assert_eq!(e["objectRef"]["namespace"], "dev");
        assert_eq!(e["objectRef"]["apiVersion"], "v1");
        assert_eq!(e["responseStatus"]["code"], 201);
        assert_eq!(e["requestObject"]["kind"], "Pod");
        assert!(e["annotations"]["warren.io/latency"].is_string());
        let m = r.event(201, Level::Metadata);
        assert!(m.get("requestObject").is_none());
    }
}
