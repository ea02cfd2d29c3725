//! Service-account tokens, as kube-apiserver issues and checks them: bound JWTs from the
//! `serviceaccounts/token` subresource (TokenRequest), legacy tokens that the token controller
//! writes into `kubernetes.io/service-account-token` Secrets, their authentication on every
//! request (after client certificates and static tokens, see [`authenticate_request`]) and the
//! `TokenReview` answer.
//!
//! Tokens are ES256 JWTs signed with the tenant's `pki/sa.key`; the header's `kid` is upstream's
//! `keyIDFromPublicKey` (base64url of the SHA-256 of the DER public key). A token only this
//! tenant's key signed, with our issuer, an audience of the API server, inside its validity
//! window (one minute of leeway, as go-jose's) and whose service account and bound object still
//! exist with the same uids is a service account user. Checking a token's form and signature is
//! pure ([`ServiceAccountKeys::verify`]); the object look-ups read the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http::{Response, StatusCode};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use sha2::Digest;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use warren_apimachinery::error::{ApiError, FieldError};
use warren_apimachinery::registry::ResourceInfo;

use crate::codec::Output;
use crate::handlers::{DeleteOptions, RequestContext, plain_store_error};
use crate::object::{self, decode_stored};
use crate::pki::UserInfo;
use crate::server::{ApiServer, Body};

/// The issuer of bound tokens (kube-apiserver's usual `--service-account-issuer`), which is
/// also the API server's only audience (`--api-audiences` defaults to the issuer).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// The issuer of legacy (Secret-based) tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";
/// go-jose's `DefaultLeeway`: clock skew allowed on `exp`, `nbf` and `iat`, and how long a
/// deleted object's tokens keep working after its `deletionTimestamp`.
pub const LEEWAY_SECONDS: i64 = 60;
/// `spec.expirationSeconds` when a TokenRequest gives none.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// The shortest token a TokenRequest may ask for.
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// The longest token a TokenRequest may ask for.
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// A pod-bound request for exactly this many seconds (what kubelets ask for) gets a token that
/// is valid for [`EXPIRATION_EXTENSION_SECONDS`] but says when it should have expired
/// (`warnafter`), as `--service-account-extend-token-expiration` (on by default) does.
pub const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS: i64 = 60 * 60 + 7;
/// The extended lifetime of such tokens (one year).
pub const EXPIRATION_EXTENSION_SECONDS: i64 = 24 * 365 * 60 * 60;
/// The annotation naming a token Secret's service account.
pub const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
/// The annotation holding a token Secret's service account uid.
pub const SA_UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";
/// The type of token Secrets.
pub const SA_TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";

/// `user.Info.Extra` keys of service-account users.
const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";
const NODE_NAME_KEY: &str = "authentication.kubernetes.io/node-name";
const NODE_UID_KEY: &str = "authentication.kubernetes.io/node-uid";
const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";

/// The signature algorithms kube-apiserver parses a JWT with; any other `alg` (`none`,
/// `HS256`...) means the token is not a service-account token at all.
const PARSED_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
];

/// Why the signing key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PEM is not a usable ECDSA P-256 key.
    #[error("service-account key: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// rcgen could not read the key to derive its public half.
    #[error("service-account key: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// The tenant's service-account signing key, its public half and the API audiences.
pub struct ServiceAccountKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    key_id: String,
    api_audiences: Vec<String>,
}

impl std::fmt::Debug for ServiceAccountKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print keys.
        f.debug_struct("ServiceAccountKeys")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A token whose form, issuer and signature are good, with its claims (not yet checked against
/// the time, the audiences or the store).
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    /// A legacy (Secret-based) token rather than a bound one.
    pub legacy: bool,
    /// The claims.
    pub claims: Value,
}

/// A successful authentication: the user and the audiences the token is good for.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The user.
    pub user: UserInfo,
    /// The intersection of the token's and the requested audiences.
    pub audiences: Vec<String>,
}

impl ServiceAccountKeys {
    /// Loads the keys from the PKCS#8 PEM private key (the public half is derived from it).
    pub fn from_private_pem(private_pem: &str) -> Result<ServiceAccountKeys, KeyError> {
        let pair = rcgen::KeyPair::from_pem(private_pem)?;
        let encoding = EncodingKey::from_ec_pem(private_pem.as_bytes())?;
        let decoding = DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes())?;
        Ok(ServiceAccountKeys {
            encoding,
            decoding,
            key_id: key_id(&rcgen::PublicKeyData::subject_public_key_info(&pair)),
            api_audiences: vec![ISSUER.to_string()],
        })
    }

    /// The `kid` of our tokens.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The API server's audiences (`--api-audiences`).
    pub fn api_audiences(&self) -> &[String] {
        &self.api_audiences
    }

    /// Signs claims into a compact JWT (`{"alg":"ES256","kid":...}`, as go-jose writes it).
    pub fn sign(&self, claims: &Value) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = None;
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("failed to generate token: {e}")))
    }

    /// Checks a token's form, issuer and signature, as kube-apiserver's JWT authenticator does
    /// before it looks at the claims: `Ok(None)` when the token is not a service-account token
    /// at all (not a JWT, another issuer, an algorithm it does not parse), `Err` with
    /// upstream's message when it claims to be ours but is not.
    pub fn verify(&self, token: &str) -> Result<Option<VerifiedToken>, String> {
        let Some(issuer) = unverified_issuer(token) else {
            return Ok(None);
        };
        let legacy = match issuer.as_str() {
            ISSUER => false,
            LEGACY_ISSUER => true,
            _ => return Ok(None),
        };
        let Some(header) = unverified_header(token) else {
            return Ok(None);
        };
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if !PARSED_ALGORITHMS.contains(&alg) {
            return Ok(None);
        }
        if let Some(kid) = header
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            && kid != self.key_id
        {
            return Err("invalid signature, no keys found".into());
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(token, &self.decoding, &validation)
            .map_err(|_| "go-jose/go-jose: error in cryptographic primitive".to_string())?;
        if !data.claims.is_object() {
            return Err("go-jose/go-jose/jwt: claims must be a JSON object".into());
        }
        // Sanity check of the issuer, now that the signature is known good.
        if data.claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(format!("token issuer {issuer:?} is invalid"));
        }
        Ok(Some(VerifiedToken {
            legacy,
            claims: data.claims,
        }))
    }

    /// The audiences a verified token is good for among `requested` (the API audiences when
    /// None): upstream's intersection, with a token without `aud` (legacy) standing for the
    /// API audiences.
    pub fn audiences(
        &self,
        token: &VerifiedToken,
        requested: Option<&[String]>,
    ) -> Result<Vec<String>, String> {
        let mut token_audiences = string_or_list(token.claims.get("aud"));
        if token_audiences.is_empty() {
            token_audiences = self.api_audiences.clone();
        }
        let requested = requested.unwrap_or(&self.api_audiences);
        let both: Vec<String> = token_audiences
            .iter()
            .filter(|a| requested.contains(a))
            .cloned()
            .collect();
        if both.is_empty() {
            return Err(format!(
                "token audiences {} is invalid for the target audiences {}",
                go_quote_list(&token_audiences),
                go_quote_list(requested)
            ));
        }
        Ok(both)
    }

    /// Builds a bound token's claims (upstream's `serviceaccount.Claims` plus the issuer).
    #[allow(clippy::too_many_arguments)]
    pub fn bound_claims(
        &self,
        now: i64,
        namespace: &str,
        sa: &ObjectRef,
        bound: &Bound,
        expiration_seconds: i64,
        warn_after_seconds: i64,
        audiences: &[String],
    ) -> Value {
        let mut k8s = serde_json::Map::new();
        k8s.insert("namespace".into(), json!(namespace));
        match bound {
            Bound::None => {}
            Bound::Pod { pod, node } => {
                if let Some(node) = node {
                    k8s.insert("node".into(), node.to_json());
                }
                k8s.insert("pod".into(), pod.to_json());
            }
            Bound::Secret(secret) => {
                k8s.insert("secret".into(), secret.to_json());
            }
            Bound::Node(node) => {
                k8s.insert("node".into(), node.to_json());
            }
        }
        k8s.insert("serviceaccount".into(), sa.to_json());
        if warn_after_seconds != 0 {
            k8s.insert("warnafter".into(), json!(now + warn_after_seconds));
        }
        // Keys in go-jose's (sorted) order.
        json!({
            "aud": audiences,
            "exp": now + expiration_seconds,
            "iat": now,
            "iss": ISSUER,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": Value::Object(k8s),
            "nbf": now,
            "sub": service_account_username(namespace, &sa.name),
        })
    }
}

/// A named object with its uid, as token claims refer to service accounts and bound objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectRef {
    /// The name.
    pub name: String,
    /// The uid.
    pub uid: String,
}

impl ObjectRef {
    fn of(obj: &Value) -> ObjectRef {
        ObjectRef {
            name: object::name(obj).to_string(),
            uid: object::meta_str(obj, "uid").unwrap_or("").to_string(),
        }
    }

    fn from_claim(v: Option<&Value>) -> Option<ObjectRef> {
        let v = v?.as_object()?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Some(ObjectRef {
            name: s("name"),
            uid: s("uid"),
        })
    }

    fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if !self.name.is_empty() {
            m.insert("name".into(), json!(self.name));
        }
        if !self.uid.is_empty() {
            m.insert("uid".into(), json!(self.uid));
        }
        Value::Object(m)
    }
}

/// What a bound token is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Nothing: the token lives as long as its service account (and its expiry).
    None,
    /// A pod (and the node it runs on, if that node exists).
    Pod {
        /// The pod.
        pod: ObjectRef,
        /// Its node.
        node: Option<ObjectRef>,
    },
    /// A Secret.
    Secret(ObjectRef),
    /// A Node.
    Node(ObjectRef),
}

/// upstream's `keyIDFromPublicKey`: base64url (no padding) of the SHA-256 of the DER
/// (SubjectPublicKeyInfo) public key.
pub fn key_id(public_key_der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(public_key_der))
}

/// `system:serviceaccount:NS:NAME`.
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// upstream's `hasCorrectIssuer` parse: the `iss` of a three-part compact JWT whose payload is
/// unpadded base64url JSON (unverified).
fn unverified_issuer(token: &str) -> Option<String> {
    if token.trim_start().starts_with('{') {
        return None;
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    Some(claims.get("iss")?.as_str()?.to_string())
}

/// The JOSE header of a compact JWT (unverified).
fn unverified_header(token: &str) -> Option<Value> {
    let first = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first)
        .ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header.is_object().then_some(header)
}

/// A claim that is a string or a list of strings (JWT `aud`).
fn string_or_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// A JWT NumericDate claim (seconds; fractions dropped as go-jose does). `Err` when present but
/// not a number.
fn numeric_date(claims: &Value, key: &str) -> Result<Option<i64>, String> {
    match claims.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        Some(_) => Err("service account token claims could not be validated due to unexpected validation error".into()),
    }
}

/// go-jose's `Claims.ValidateWithLeeway` with upstream's messages: `nbf`, `exp`, then `iat`.
pub fn check_times(claims: &Value, now: i64) -> Result<(), String> {
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now + LEEWAY_SECONDS < nbf
    {
        return Err("service account token is not valid yet".into());
    }
    if let Some(exp) = numeric_date(claims, "exp")?
        && now - LEEWAY_SECONDS > exp
    {
        return Err("service account token has expired".into());
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && now + LEEWAY_SECONDS < iat
    {
        return Err("service account token is issued in the future".into());
    }
    Ok(())
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An object from the store, or None when it does not exist.
async fn get_object(
    api: &ApiServer,
    plural: &str,
    ns: Option<&str>,
    name: &str,
) -> Result<Option<Value>, ApiError> {
    let Some(info) = api.registry.lookup("", "v1", plural) else {
        return Ok(None);
    };
    if name.is_empty() {
        return Ok(None);
    }
    Ok(api
        .store
        .get(&info.key(ns, name))
        .await
        .map_err(plain_store_error)?
        .map(|kv| decode_stored(&kv.value, kv.mod_revision)))
}

/// Whether an object was deleted (its `deletionTimestamp` is more than the leeway ago), as
/// upstream's validator judges bound objects: a pod in its grace period still authenticates.
fn deleted_before_leeway(obj: &Value, now: i64) -> bool {
    object::meta_str(obj, "deletionTimestamp")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t.timestamp() < now - LEEWAY_SECONDS)
}

/// A user of a service account (upstream's `ServiceAccountInfo.UserInfo` and the
/// authenticated-group adder).
fn service_account_user(
    namespace: &str,
    sa: &ObjectRef,
    pod: Option<&ObjectRef>,
    node: Option<&ObjectRef>,
    jti: Option<&str>,
) -> UserInfo {
    let mut extra = BTreeMap::new();
    if let Some(pod) = pod.filter(|p| !p.name.is_empty() && !p.uid.is_empty()) {
        extra.insert(POD_NAME_KEY.to_string(), vec![pod.name.clone()]);
        extra.insert(POD_UID_KEY.to_string(), vec![pod.uid.clone()]);
    }
    if let Some(jti) = jti.filter(|j| !j.is_empty()) {
        extra.insert(CREDENTIAL_ID_KEY.to_string(), vec![format!("JTI={jti}")]);
    }
    if let Some(node) = node.filter(|n| !n.name.is_empty()) {
        extra.insert(NODE_NAME_KEY.to_string(), vec![node.name.clone()]);
        if !node.uid.is_empty() {
            extra.insert(NODE_UID_KEY.to_string(), vec![node.uid.clone()]);
        }
    }
    UserInfo {
        name: service_account_username(namespace, &sa.name),
        uid: sa.uid.clone(),
        groups: vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{namespace}"),
            "system:authenticated".to_string(),
        ],
        extra,
    }
}

/// Checks the service account of a token still exists with the claimed uid.
async fn check_service_account(
    api: &ApiServer,
    namespace: &str,
    sa: &ObjectRef,
    now: i64,
) -> Result<(), String> {
    let found = get_object(api, "serviceaccounts", Some(namespace), &sa.name)
        .await
        .map_err(|e| e.message)?;
    let Some(obj) = found else {
        return Err(format!("serviceaccounts {:?} not found", sa.name));
    };
    if deleted_before_leeway(&obj, now) {
        return Err(format!(
            "service account {namespace}/{} has been deleted",
            sa.name
        ));
    }
    let uid = object::meta_str(&obj, "uid").unwrap_or("");
    if uid != sa.uid {
        return Err(format!(
            "service account UID ({uid}) does not match claim ({})",
            sa.uid
        ));
    }
    Ok(())
}

/// upstream's bound-token validator: times, then the service account, the bound Secret, Pod or
/// Node, each still there (or deleted less than the leeway ago) with the claimed uid.
async fn validate_bound(api: &ApiServer, claims: &Value, now: i64) -> Result<UserInfo, String> {
    check_times(claims, now)?;
    let k8s = claims.get("kubernetes.io");
    let namespace = k8s
        .and_then(|k| k.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let sa = ObjectRef::from_claim(k8s.and_then(|k| k.get("serviceaccount"))).unwrap_or_default();
    let pod = ObjectRef::from_claim(k8s.and_then(|k| k.get("pod")));
    let secret = ObjectRef::from_claim(k8s.and_then(|k| k.get("secret")));
    let node = ObjectRef::from_claim(k8s.and_then(|k| k.get("node")));
    check_service_account(api, &namespace, &sa, now).await?;
    let invalidated = || "service account token has been invalidated".to_string();
    if let Some(secret) = &secret {
        let obj = get_object(api, "secrets", Some(&namespace), &secret.name)
            .await
            .map_err(|e| e.message)?
            .ok_or_else(invalidated)?;
        if deleted_before_leeway(&obj, now) {
            return Err(invalidated());
        }
        let uid = object::meta_str(&obj, "uid").unwrap_or("");
        if uid != secret.uid {
            return Err(format!(
                "secret UID ({uid}) does not match service account secret ref claim ({})",
                secret.uid
            ));
        }
    }
    if let Some(pod) = &pod {
        let obj = get_object(api, "pods", Some(&namespace), &pod.name)
            .await
            .map_err(|e| e.message)?
            .ok_or_else(invalidated)?;
        if deleted_before_leeway(&obj, now) {
            return Err(invalidated());
        }
        let uid = object::meta_str(&obj, "uid").unwrap_or("");
        if uid != pod.uid {
            return Err(format!(
                "pod UID ({uid}) does not match service account pod ref claim ({})",
                pod.uid
            ));
        }
    }
    // A pod-bound token carries its node for information; a node-bound one needs the node.
    if pod.is_none()
        && let Some(node) = &node
    {
        let obj = get_object(api, "nodes", None, &node.name)
            .await
            .map_err(|e| e.message)?
            .ok_or_else(invalidated)?;
        if deleted_before_leeway(&obj, now) {
            return Err(invalidated());
        }
        let uid = object::meta_str(&obj, "uid").unwrap_or("");
        if uid != node.uid {
            return Err(format!(
                "node UID ({uid}) does not match service account node ref claim ({})",
                node.uid
            ));
        }
    }
    let jti = claims.get("jti").and_then(Value::as_str);
    Ok(service_account_user(
        &namespace,
        &sa,
        pod.as_ref(),
        node.as_ref(),
        jti,
    ))
}

/// upstream's legacy validator: the claims are all there, the Secret still holds this very
/// token, and the service account still exists with the claimed uid.
async fn validate_legacy(
    api: &ApiServer,
    token: &str,
    claims: &Value,
    now: i64,
) -> Result<UserInfo, String> {
    let s = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    let subject = s("sub");
    if subject.is_empty() {
        return Err("sub claim is missing".into());
    }
    let namespace = s("kubernetes.io/serviceaccount/namespace");
    if namespace.is_empty() {
        return Err("namespace claim is missing".into());
    }
    let secret_name = s("kubernetes.io/serviceaccount/secret.name");
    if secret_name.is_empty() {
        return Err("secretName claim is missing".into());
    }
    let sa_name = s("kubernetes.io/serviceaccount/service-account.name");
    if sa_name.is_empty() {
        return Err("serviceAccountName claim is missing".into());
    }
    let sa_uid = s("kubernetes.io/serviceaccount/service-account.uid");
    if sa_uid.is_empty() {
        return Err("serviceAccountUID claim is missing".into());
    }
    if subject != service_account_username(namespace, sa_name) {
        return Err("sub claim is invalid".into());
    }
    let invalidated = || "service account token has been invalidated".to_string();
    let secret = get_object(api, "secrets", Some(namespace), secret_name)
        .await
        .map_err(|e| e.message)?
        .ok_or_else(invalidated)?;
    if object::is_deleting(&secret) {
        return Err(invalidated());
    }
    let stored = secret
        .pointer("/data/token")
        .and_then(Value::as_str)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_default();
    if stored != token.as_bytes() {
        return Err("service account token does not match server's copy".into());
    }
    let sa = ObjectRef {
        name: sa_name.to_string(),
        uid: sa_uid.to_string(),
    };
    check_service_account(api, namespace, &sa, now).await?;
    Ok(service_account_user(namespace, &sa, None, None, None))
}

/// Authenticates a bearer token as kube-apiserver's token authenticators do, in their order:
/// the static token file, then service-account tokens. `requested` are the audiences asked for
/// (a TokenReview's `spec.audiences`; None: the API audiences). `Err(None)`: no authenticator
/// knows the token; `Err(Some(message))`: one refused it, with upstream's reason.
pub async fn authenticate_token(
    api: &ApiServer,
    token: &str,
    requested: Option<&[String]>,
) -> Result<Authenticated, Option<String>> {
    let keys = &api.sa_keys;
    if let Some(mut user) = api.static_tokens.authenticate(&format!("Bearer {token}")) {
        // The token file is audience-agnostic: good for the API audiences only.
        let requested = requested.unwrap_or(keys.api_audiences());
        let audiences: Vec<String> = keys
            .api_audiences()
            .iter()
            .filter(|a| requested.contains(a))
            .cloned()
            .collect();
        if !audiences.is_empty() {
            if !user.groups.iter().any(|g| g == "system:authenticated") {
                user.groups.push("system:authenticated".into());
            }
            return Ok(Authenticated { user, audiences });
        }
    }
    let verified = match keys.verify(token) {
        Ok(Some(v)) => v,
        Ok(None) => return Err(None),
        Err(e) => return Err(Some(e)),
    };
    let audiences = keys.audiences(&verified, requested).map_err(Some)?;
    let now = now_unix();
    let user = if verified.legacy {
        validate_legacy(api, token, &verified.claims, now).await
    } else {
        validate_bound(api, &verified.claims, now).await
    }
    .map_err(Some)?;
    Ok(Authenticated { user, audiences })
}

/// The message kube-apiserver's request authenticator gives for a refused bearer token.
fn request_error(reason: Option<String>) -> String {
    match reason {
        Some(r) => format!("[invalid bearer token, {r}]"),
        None => "invalid bearer token".to_string(),
    }
}

/// The token of an `Authorization: Bearer TOKEN` header, parsed as upstream's bearer-token
/// authenticator does.
fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let auth = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let mut parts = auth.split(' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The user of a request's bearer token (static or service account), or None (a 401).
pub async fn authenticate_request(api: &ApiServer, headers: &http::HeaderMap) -> Option<UserInfo> {
    let token = bearer_token(headers)?;
    match authenticate_token(api, token, None).await {
        Ok(a) => Some(a.user),
        Err(reason) => {
            // Never log the token itself.
            tracing::debug!(reason = %request_error(reason), "bearer token refused");
            None
        }
    }
}

/// The `status` of a `TokenReview` with `spec`: the user and audiences of a good token, or
/// upstream's error for a bad one.
pub async fn token_review_status(api: &ApiServer, spec: &Value) -> Result<Value, ApiError> {
    let token = spec.get("token").and_then(Value::as_str).unwrap_or("");
    if token.is_empty() {
        return Err(ApiError::bad_request(
            "token is required for TokenReview in authentication",
        ));
    }
    let requested = string_or_list(spec.get("audiences"));
    let requested = (!requested.is_empty()).then_some(requested);
    Ok(
        match authenticate_token(api, token.trim(), requested.as_deref()).await {
            Ok(a) => {
                let mut user = json!({"username": a.user.name, "groups": a.user.groups});
                if !a.user.uid.is_empty() {
                    user["uid"] = json!(a.user.uid);
                }
                if !a.user.extra.is_empty() {
                    user["extra"] = json!(a.user.extra);
                }
                json!({"authenticated": true, "user": user, "audiences": a.audiences})
            }
            // Go's omitempty: no `authenticated: false`, but an empty `user` struct.
            Err(reason) => json!({"user": {}, "error": request_error(reason)}),
        },
    )
}

/// A 422 whose field value is a number (rendered unquoted, as Go renders an int64).
fn invalid_number(field: &str, value: i64, detail: &str) -> ApiError {
    let mut err = ApiError::invalid(
        "authentication.k8s.io",
        "TokenRequest",
        "",
        &[FieldError::invalid(field, value.to_string(), detail)],
    );
    let quoted = format!("Invalid value: \"{value}\"");
    let plain = format!("Invalid value: {value}");
    err.message = err.message.replace(&quoted, &plain);
    if let Some(causes) = err
        .details
        .as_mut()
        .and_then(|d| d.get_mut("causes"))
        .and_then(Value::as_array_mut)
    {
        for c in causes {
            if let Some(m) = c.get("message").and_then(Value::as_str) {
                c["message"] = json!(m.replace(&quoted, &plain));
            }
        }
    }
    err
}

/// `POST .../serviceaccounts/NAME/token`: a TokenRequest, answered with a bound token (upstream's
/// `TokenREST.Create`).
pub async fn create_token(
    api: &ApiServer,
    info: &ResourceInfo,
    ns: Option<&str>,
    name: &str,
    ctx: &RequestContext,
    body: &[u8],
    output: Output,
) -> Result<Response<Body>, ApiError> {
    let namespace = ns.ok_or_else(|| ApiError::bad_request("namespace is required"))?;
    let ty = crate::codec::body_type(ctx.content_type.as_deref())?;
    let req = crate::codec::decode_body(body, ty)?;
    if !req.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type TokenRequest)",
        ));
    }
    let kind = req.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = req.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !(kind.is_empty() || kind == "TokenRequest")
        || !(api_version.is_empty() || api_version.starts_with("authentication.k8s.io/"))
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type TokenRequest): {kind} ({api_version})"
        )));
    }
    let meta_name = object::meta_str(&req, "name").unwrap_or("").to_string();
    if !meta_name.is_empty() && meta_name != name {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            name,
            &[FieldError::invalid(
                "metadata.name",
                meta_name,
                "must match the service account name if specified",
            )],
        ));
    }
    let meta_ns = object::meta_str(&req, "namespace")
        .unwrap_or("")
        .to_string();
    if !meta_ns.is_empty() && meta_ns != namespace {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            name,
            &[FieldError::invalid(
                "metadata.namespace",
                meta_ns,
                "must match the service account namespace if specified",
            )],
        ));
    }
    let sa_obj = get_object(api, "serviceaccounts", Some(namespace), name)
        .await?
        .ok_or_else(|| ApiError::not_found("", &info.plural, name))?;
    let sa = ObjectRef::of(&sa_obj);
    let keys = &api.sa_keys;

    let spec = req.get("spec").cloned().unwrap_or_else(|| json!({}));
    let mut audiences = string_or_list(spec.get("audiences"));
    if audiences.is_empty() {
        audiences = keys.api_audiences().to_vec();
    }
    let expiration_seconds = match spec.get("expirationSeconds") {
        None | Some(Value::Null) => DEFAULT_EXPIRATION_SECONDS,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "json: cannot unmarshal {v} into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64"
            ))
        })?,
    };
    let now = chrono::Utc::now();
    if expiration_seconds < MIN_EXPIRATION_SECONDS {
        return Err(invalid_number(
            "spec.expirationSeconds",
            expiration_seconds,
            "may not specify a duration less than 10 minutes",
        ));
    }
    if expiration_seconds > MAX_EXPIRATION_SECONDS {
        return Err(invalid_number(
            "spec.expirationSeconds",
            expiration_seconds,
            "may not specify a duration larger than 2^32 seconds",
        ));
    }

    let bound_ref = spec
        .get("boundObjectRef")
        .filter(|r| r.is_object())
        .cloned();
    let bound = match &bound_ref {
        None => Bound::None,
        Some(r) => bind(api, namespace, name, r).await?,
    };

    // Kubelets' pod-bound requests of exactly 3607 s for the API audiences get a long token
    // that warns after the requested time (--service-account-extend-token-expiration).
    let mut exp = expiration_seconds;
    let mut warn_after = 0;
    if matches!(bound, Bound::Pod { .. })
        && expiration_seconds == WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS
        && same_set(&audiences, keys.api_audiences())
    {
        warn_after = exp;
        exp = EXPIRATION_EXTENSION_SECONDS;
    }
    let claims = keys.bound_claims(
        now.timestamp(),
        namespace,
        &sa,
        &bound,
        exp,
        warn_after,
        &audiences,
    );
    let token = keys.sign(&claims)?;
    let expires = (now + chrono::Duration::seconds(expiration_seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let out = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        },
        "spec": {
            "audiences": audiences,
            "expirationSeconds": expiration_seconds,
            "boundObjectRef": bound_ref,
        },
        "status": {"token": token, "expirationTimestamp": expires},
    });
    Ok(api.respond(info, StatusCode::CREATED, &out, output))
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

/// Resolves a TokenRequest's `boundObjectRef` (Pod, Secret or Node of the core group) to the
/// object it names, with upstream's errors.
async fn bind(
    api: &ApiServer,
    namespace: &str,
    sa_name: &str,
    r: &Value,
) -> Result<Bound, ApiError> {
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (api_version, kind, name, want_uid) = (s("apiVersion"), s("kind"), s("name"), s("uid"));
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.clone()),
    };
    let fetch = |plural: &'static str, namespaced: bool| {
        let name = name.clone();
        async move {
            if name.is_empty() {
                return Err(ApiError::bad_request("Name parameter required."));
            }
            let ns = namespaced.then_some(namespace);
            get_object(api, plural, ns, &name)
                .await?
                .ok_or_else(|| ApiError::not_found("", plural, &name))
        }
    };
    let (bound, uid) = match (group.as_str(), kind.as_str()) {
        ("", "Pod") => {
            let pod = fetch("pods", true).await?;
            let runs_as = pod
                .pointer("/spec/serviceAccountName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if runs_as != sa_name {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount {sa_name:?} to pod running with different serviceaccount name."
                )));
            }
            let node_name = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            // A node that does not exist (yet) is left out, as upstream does.
            let node = get_object(api, "nodes", None, node_name)
                .await?
                .map(|n| ObjectRef::of(&n));
            let pod = ObjectRef::of(&pod);
            let uid = pod.uid.clone();
            (Bound::Pod { pod, node }, uid)
        }
        ("", "Secret") => {
            let secret = ObjectRef::of(&fetch("secrets", true).await?);
            let uid = secret.uid.clone();
            (Bound::Secret(secret), uid)
        }
        ("", "Node") => {
            let node = ObjectRef::of(&fetch("nodes", false).await?);
            let uid = node.uid.clone();
            (Bound::Node(node), uid)
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of type {group}/{version}, Kind={kind}"
            )));
        }
    };
    if !want_uid.is_empty() && want_uid != uid {
        return Err(ApiError::conflict_with(
            "",
            &kind,
            &name,
            &format!(
                "the UID in the bound object reference ({want_uid}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        ));
    }
    Ok(bound)
}

/// Legacy token claims (upstream's `LegacyClaims` plus the issuer), keys in go-jose's order.
pub fn legacy_claims(namespace: &str, sa: &ObjectRef, secret_name: &str) -> Value {
    json!({
        "iss": LEGACY_ISSUER,
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secret_name,
        "kubernetes.io/serviceaccount/service-account.name": sa.name,
        "kubernetes.io/serviceaccount/service-account.uid": sa.uid,
        "sub": service_account_username(namespace, &sa.name),
    })
}

/// The token controller (upstream's `TokensController`): every
/// `kubernetes.io/service-account-token` Secret gets a legacy token, `ca.crt`, `namespace` and
/// the service account's uid annotation; a token Secret whose service account is gone (or was
/// recreated with another uid) is deleted. Level-triggered: Secret and ServiceAccount events,
/// and a periodic tick, make it look at the token Secrets concerned.
pub async fn run_token_controller(api: Arc<ApiServer>, ca_pem: String, cancel: CancellationToken) {
    let (Some(secrets), Some(accounts)) = (
        api.registry
            .lookup("", "v1", "secrets")
            .map(|i| (*i).clone()),
        api.registry
            .lookup("", "v1", "serviceaccounts")
            .map(|i| (*i).clone()),
    ) else {
        return;
    };
    let secret_prefix = secrets.key_prefix();
    let sa_prefix = accounts.key_prefix();
    let mut events = match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
        Ok(s) => s.live,
        Err(_) => return,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        // Which secrets to look at: one namespace's, or all (None).
        let scope: Option<String> = tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => None,
            ev = events.recv() => match ev {
                Ok(ev) => {
                    let rest = ev
                        .key
                        .strip_prefix(&secret_prefix)
                        .or_else(|| ev.key.strip_prefix(&sa_prefix));
                    match rest.and_then(|r| r.split_once('/')) {
                        Some((ns, _)) => Some(ns.to_string()),
                        None => continue,
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => None,
                // The watch cache started over after a gap: follow its new feed.
                Err(broadcast::error::RecvError::Closed) => {
                    match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
                        Ok(s) => events = s.live,
                        Err(_) => return,
                    }
                    None
                }
            }
        };
        if let Err(err) = sync_token_secrets(&api, &secrets, scope.as_deref(), &ca_pem).await {
            tracing::warn!(error = %err.message, "token controller sync failed");
        }
    }
}

/// One pass of the token controller over the token Secrets of `namespace` (None: all).
async fn sync_token_secrets(
    api: &ApiServer,
    secrets: &ResourceInfo,
    namespace: Option<&str>,
    ca_pem: &str,
) -> Result<(), ApiError> {
    let res = api
        .store
        .range(&secrets.namespace_prefix(namespace), "", 0, None)
        .await
        .map_err(plain_store_error)?;
    for kv in res.kvs {
        let secret = decode_stored(&kv.value, kv.mod_revision);
        if secret.get("type").and_then(Value::as_str) != Some(SA_TOKEN_SECRET_TYPE)
            || object::is_deleting(&secret)
        {
            continue;
        }
        let ns = object::meta_str(&secret, "namespace")
            .unwrap_or("")
            .to_string();
        let name = object::name(&secret).to_string();
        let span = tracing::debug_span!("token_secret", namespace = %ns, name = %name);
        match sync_token_secret(api, secrets, &kv, secret, ca_pem)
            .instrument(span)
            .await
        {
            // Gone or changed meanwhile: the next event brings it back.
            Err(e) if e.code == 404 || e.code == 409 => {}
            other => other?,
        }
    }
    Ok(())
}

/// Brings one token Secret to what the token controller wants.
async fn sync_token_secret(
    api: &ApiServer,
    secrets: &ResourceInfo,
    kv: &warren_store::KeyValue,
    secret: Value,
    ca_pem: &str,
) -> Result<(), ApiError> {
    let annotation = |key: &str| {
        secret
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let ns = object::meta_str(&secret, "namespace")
        .unwrap_or("")
        .to_string();
    let name = object::name(&secret).to_string();
    let sa_name = annotation(SA_NAME_ANNOTATION);
    let sa_uid = annotation(SA_UID_ANNOTATION);
    let sa = get_object(api, "serviceaccounts", Some(&ns), &sa_name)
        .await?
        .filter(|sa| !object::is_deleting(sa))
        .filter(|sa| sa_uid.is_empty() || object::meta_str(sa, "uid") == Some(sa_uid.as_str()));
    let Some(sa) = sa else {
        // The service account is gone: so is its token.
        let opts = DeleteOptions {
            precondition_uid: object::meta_str(&secret, "uid").map(str::to_string),
            ..Default::default()
        };
        api.delete_object(secrets, Some(&ns), &name, &opts, None)
            .await?;
        return Ok(());
    };
    let sa = ObjectRef::of(&sa);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let data = |k: &str| {
        secret
            .pointer(&format!("/data/{k}"))
            .and_then(Value::as_str)
    };
    let needs_ca = data("ca.crt") != Some(b64(ca_pem).as_str());
    let needs_namespace = data("namespace") != Some(b64(&ns).as_str());
    let needs_token = data("token").is_none_or(str::is_empty);
    let needs_uid = sa_uid != sa.uid;
    if !(needs_ca || needs_namespace || needs_token || needs_uid) {
        return Ok(());
    }
    let mut new = secret.clone();
    if !new.get("data").is_some_and(Value::is_object) {
        new["data"] = json!({});
    }
    if needs_ca {
        new["data"]["ca.crt"] = json!(b64(ca_pem));
    }
    if needs_namespace {
        new["data"]["namespace"] = json!(b64(&ns));
    }
    if needs_token {
        let token = api.sa_keys.sign(&legacy_claims(&ns, &sa, &name))?;
        new["data"]["token"] = json!(b64(&token));
    }
    if let Some(meta) = object::metadata_mut(&mut new) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if !annotations.is_object() {
            *annotations = json!({});
        }
        annotations[SA_NAME_ANNOTATION] = json!(sa.name);
        annotations[SA_UID_ANNOTATION] = json!(sa.uid);
    }
    match api
        .write_update(
            secrets,
            Some(&ns),
            &name,
            kv,
            &secret,
            new,
            None,
            false,
            None,
            None,
        )
        .await
    {
        Ok(_) | Err(crate::handlers::WriteError::Conflict) => Ok(()),
        Err(crate::handlers::WriteError::Api(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ServiceAccountKeys {
        let pair = rcgen::KeyPair::generate().unwrap();
        ServiceAccountKeys::from_private_pem(&pair.serialize_pem()).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn signs_es256_with_upstream_key_id_and_verifies() {
        let k = keys();
        let sa = ObjectRef {
            name: "default".into(),
            uid: "u-1".into(),
        };
        let claims = k.bound_claims(
            1000,
            "ns",
            &sa,
            &Bound::None,
            3600,
            0,
            &[ISSUER.to_string()],
        );
        let token = k.sign(&claims).unwrap();
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header, json!({"alg": "ES256", "kid": k.key_id()}));
        // 32 bytes of SHA-256, base64url without padding.
        assert_eq!(k.key_id().len(), 43);
        let v = k.verify(&token).unwrap().unwrap();
        assert!(!v.legacy);
        assert_eq!(v.claims["sub"], "system:serviceaccount:ns:default");
        assert_eq!(v.claims["kubernetes.io"]["serviceaccount"]["uid"], "u-1");
        assert_eq!(k.audiences(&v, None).unwrap(), vec![ISSUER.to_string()]);
        assert_eq!(
            k.audiences(&v, Some(&["other".to_string()])).unwrap_err(),
            format!(
                "token audiences [\"{ISSUER}\"] is invalid for the target audiences [\"other\"]"
            )
        );
        // Another tenant's key: an error, never a user.
        let other = keys();
        assert!(other.verify(&token).is_err());
        // Legacy tokens have no audience: they stand for the API audiences.
        let legacy = k.sign(&legacy_claims("ns", &sa, "s")).unwrap();
        let v = k.verify(&legacy).unwrap().unwrap();
        assert!(v.legacy);
        assert_eq!(k.audiences(&v, None).unwrap(), vec![ISSUER.to_string()]);
    }

    #[test]
    fn times_have_a_minute_of_leeway() {
        let c = json!({"nbf": 1000, "iat": 1000, "exp": 2000});
        assert!(check_times(&c, 1500).is_ok());
        assert!(check_times(&c, 2060).is_ok());
        assert_eq!(
            check_times(&c, 2061).unwrap_err(),
            "service account token has expired"
        );
        assert!(check_times(&c, 940).is_ok());
        assert_eq!(
            check_times(&c, 939).unwrap_err(),
            "service account token is not valid yet"
        );
        assert_eq!(
            check_times(&json!({"iat": 1000}), 900).unwrap_err(),
            "service account token is issued in the future"
        );
        assert!(check_times(&json!({"exp": "soon"}), 0).is_err());
    }

    #[test]
    fn bearer_headers_parse_as_upstream() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert(http::header::AUTHORIZATION, v.parse().unwrap());
            m
        };
        assert_eq!(bearer_token(&h("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&h("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&h("  Bearer abc  ")), Some("abc"));
        assert_eq!(bearer_token(&h("Basic abc")), None);
        assert_eq!(bearer_token(&h("Bearer")), None);
        assert_eq!(bearer_token(&h("Bearer  abc")), None);
    }

    /// Property check: whatever a client sends as a token (random bytes, JWT-shaped garbage,
    /// `alg: none`, HS256 keyed with our public key, tampered or truncated good tokens, huge
    /// tokens, bad base64), verification never panics and never accepts it.
    #[test]
    fn arbitrary_tokens_never_verify_and_never_panic() {
        let k = keys();
        let sa = ObjectRef {
            name: "default".into(),
            uid: "u".into(),
        };
        let good = k
            .sign(&k.bound_claims(
                now_unix(),
                "ns",
                &sa,
                &Bound::None,
                3600,
                0,
                &[ISSUER.into()],
            ))
            .unwrap();
        assert!(k.verify(&good).unwrap().is_some());
        let payload = b64(&serde_json::to_vec(&json!({"iss": ISSUER, "sub": "system:serviceaccount:ns:default", "aud": [ISSUER], "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "default", "uid": "u"}}})).unwrap());
        let legacy_payload = b64(&serde_json::to_vec(&legacy_claims("ns", &sa, "s")).unwrap());
        // alg none, with and without a signature.
        for p in [&payload, &legacy_payload] {
            let none = b64(br#"{"alg":"none","typ":"JWT"}"#);
            assert!(k.verify(&format!("{none}.{p}.")).unwrap().is_none());
            assert!(k.verify(&format!("{none}.{p}.c2ln")).unwrap().is_none());
        }
        // HS256 with the public key (PEM and DER) as the shared secret: the classic confusion.
        let pair = rcgen::KeyPair::generate().unwrap();
        let k2 = ServiceAccountKeys::from_private_pem(&pair.serialize_pem()).unwrap();
        for secret in [
            pair.public_key_pem().into_bytes(),
            rcgen::PublicKeyData::subject_public_key_info(&pair),
        ] {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(k2.key_id().to_string());
            let claims: Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(&payload)
                    .unwrap(),
            )
            .unwrap();
            let forged =
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
            assert!(k2.verify(&forged).unwrap().is_none(), "HS256 accepted");
        }
        // ES256 claiming our kid but signed by another key.
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(k.key_id().to_string());
        let other = rcgen::KeyPair::generate().unwrap();
        let forged = jsonwebtoken::encode(
            &header,
            &json!({"iss": ISSUER}),
            &EncodingKey::from_ec_pem(other.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap();
        assert!(k.verify(&forged).is_err());
        // Huge tokens.
        let huge = format!(
            "{}.{}.{}",
            "a".repeat(1 << 20),
            payload,
            "b".repeat(1 << 20)
        );
        assert!(k.verify(&huge).unwrap_or(None).is_none());

        let mut seed = 0x5851_f42d_4c95_7f2du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet: Vec<char> = "eyJhbGciOiJFUzI1NiJ9.-_=+/{}\":,ié\u{0} ".chars().collect();
        let parts: Vec<&str> = good.split('.').collect();
        for i in 0..4000 {
            let candidate = match i % 5 {
                // Random text.
                0 => (0..(next() % 200))
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect::<String>(),
                // A good token with one character changed.
                1 => {
                    let mut bytes = good.clone().into_bytes();
                    let at = next() as usize % bytes.len();
                    let c = alphabet[(next() % alphabet.len() as u64) as usize];
                    if c.is_ascii() && bytes[at] != c as u8 {
                        bytes[at] = c as u8;
                    } else {
                        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                    }
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                // Truncated.
                2 => good[..(next() as usize % good.len())].to_string(),
                // Good header and payload, random signature.
                3 => {
                    let sig: Vec<u8> = (0..(next() % 80)).map(|_| next() as u8).collect();
                    format!("{}.{}.{}", parts[0], parts[1], b64(&sig))
                }
                // JWT-shaped random bytes.
                _ => {
                    let mut seg = || {
                        let bytes: Vec<u8> = (0..(next() % 60)).map(|_| next() as u8).collect();
                        b64(&bytes)
                    };
                    format!("{}.{}.{}", seg(), seg(), seg())
                }
            };
            if candidate == good {
                continue;
            }
            if let Ok(Some(v)) = k.verify(&candidate) {
                // Only a payload edit that decodes to the same claims could pass the
                // signature; ES256 makes that impossible.
                panic!("case {i}: a garbled token verified: {:?}", v.claims);
            }
        }
    }
}
