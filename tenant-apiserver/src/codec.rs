//! Request body decoding and response encoding: JSON and YAML in, JSON, YAML and Table out.

use serde_json::Value;
use warren_apimachinery::error::ApiError;

/// What the client accepts for a resource response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// `application/json`
    Json,
    /// `application/yaml`
    Yaml,
    /// `application/json;as=Table;v=v1;g=meta.k8s.io`
    Table,
    /// `application/json;as=PartialObjectMetadata(List);v=v1;g=meta.k8s.io`: metadata only
    /// (client-go's metadata client, kube-rs `list_metadata`/`watch_metadata`).
    Metadata,
}

/// An object as `meta.k8s.io/v1 PartialObjectMetadata`: its metadata only.
pub fn partial_metadata(obj: &Value) -> Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| serde_json::json!({})),
    })
}

/// One media range of an `Accept` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaRange {
    /// `type/subtype`, lowercased.
    pub essence: String,
    /// Parameters (`as`, `g`, `v`, `profile`...).
    pub params: Vec<(String, String)>,
}

impl MediaRange {
    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits an `Accept` or `Content-Type` header into media ranges.
pub fn media_ranges(header: &str) -> Vec<MediaRange> {
    header
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let essence = it.next()?.trim().to_ascii_lowercase();
            if essence.is_empty() {
                return None;
            }
            let params = it
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    ))
                })
                .collect();
            Some(MediaRange { essence, params })
        })
        .collect()
}

/// Chooses the response format for a resource request.
pub fn negotiate(accept: Option<&str>) -> Result<Output, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Json);
    };
    for range in media_ranges(accept) {
        let json_like = matches!(
            range.essence.as_str(),
            "application/json" | "application/*" | "*/*"
        );
        match range.param("as") {
            Some("Table") if json_like => {
                let group_ok = range.param("g").is_none_or(|g| g == "meta.k8s.io");
                let version_ok = range.param("v").is_none_or(|v| v == "v1" || v == "v1beta1");
                if group_ok && version_ok {
                    return Ok(Output::Table);
                }
            }
            Some("PartialObjectMetadata" | "PartialObjectMetadataList") if json_like => {
                let group_ok = range.param("g").is_none_or(|g| g == "meta.k8s.io");
                let version_ok = range.param("v").is_none_or(|v| v == "v1" || v == "v1beta1");
                if group_ok && version_ok {
                    return Ok(Output::Metadata);
                }
            }
            Some(_) => continue,
            None => {}
        }
        if range.param("as").is_some() {
            continue;
        }
        match range.essence.as_str() {
            "application/json" | "application/*" | "*/*" => return Ok(Output::Json),
            "application/yaml" => return Ok(Output::Yaml),
            _ => continue,
        }
    }
    Err(ApiError::not_acceptable(accept))
}

/// The body types a request can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    /// `application/json`
    Json,
    /// `application/yaml`
    Yaml,
    /// `application/merge-patch+json`
    MergePatch,
    /// `application/json-patch+json`
    JsonPatch,
    /// `application/strategic-merge-patch+json`
    StrategicMergePatch,
    /// `application/apply-patch+yaml`
    ApplyPatch,
    /// `application/vnd.kubernetes.protobuf` (what kubectl's typed clients send)
    Protobuf,
}

/// Reads a `Content-Type` header.
pub fn body_type(content_type: Option<&str>) -> Result<BodyType, ApiError> {
    let ct = content_type.unwrap_or("application/json");
    let essence = media_ranges(ct)
        .into_iter()
        .next()
        .map(|r| r.essence)
        .unwrap_or_default();
    match essence.as_str() {
        "application/json" | "" => Ok(BodyType::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" => Ok(BodyType::Yaml),
        "application/merge-patch+json" => Ok(BodyType::MergePatch),
        "application/json-patch+json" => Ok(BodyType::JsonPatch),
        "application/strategic-merge-patch+json" => Ok(BodyType::StrategicMergePatch),
        "application/apply-patch+yaml" => Ok(BodyType::ApplyPatch),
        "application/vnd.kubernetes.protobuf" => Ok(BodyType::Protobuf),
        _ => Err(ApiError::unsupported_media_type(ct)),
    }
}

/// Decodes a JSON or YAML body into a JSON value, with kube-apiserver's error wording.
pub fn decode_body(bytes: &[u8], ty: BodyType) -> Result<Value, ApiError> {
    match ty {
        BodyType::Protobuf => warren_apimachinery::protobuf::decode(bytes)
            .map_err(|e| ApiError::bad_request(e.to_string())),
        BodyType::Yaml | BodyType::ApplyPatch => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                ApiError::bad_request("error converting YAML to JSON: invalid UTF-8")
            })?;
            serde_saphyr::from_str::<Value>(text).map_err(|e| {
                ApiError::bad_request(format!(
                    "error converting YAML to JSON: yaml: {}",
                    one_line(&e.to_string())
                ))
            })
        }
        _ => serde_json::from_slice::<Value>(bytes).map_err(|e| {
            ApiError::bad_request(format!(
                "couldn't get version/kind; json parse error: {}",
                one_line(&e.to_string())
            ))
        }),
    }
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Encodes a response value in the chosen format; returns (content type, bytes).
pub fn encode(value: &Value, output: Output) -> (&'static str, Vec<u8>) {
    match output {
        Output::Yaml => match serde_saphyr::to_string(value) {
            Ok(s) => ("application/yaml", s.into_bytes()),
            Err(_) => (
                "application/json",
                serde_json::to_vec(value).unwrap_or_default(),
            ),
        },
        _ => (
            "application/json",
            serde_json::to_vec(value).unwrap_or_default(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(None).unwrap(), Output::Json);
        assert_eq!(
            negotiate(Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")).unwrap(),
            Output::Table
        );
        assert_eq!(
            negotiate(Some(
                "application/vnd.kubernetes.protobuf, application/json"
            ))
            .unwrap(),
            Output::Json
        );
        assert_eq!(negotiate(Some("application/yaml")).unwrap(), Output::Yaml);
        assert_eq!(
            negotiate(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            ))
            .unwrap(),
            Output::Metadata
        );
        assert!(
            negotiate(Some(
                "application/json;as=PartialObjectMetadataList;g=example.com;v=v1"
            ))
            .is_err()
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf"))
                .unwrap_err()
                .code,
            406
        );
    }

    #[test]
    fn bodies() {
        assert_eq!(
            body_type(Some("application/json; charset=utf-8")).unwrap(),
            BodyType::Json
        );
        assert_eq!(body_type(Some("text/plain")).unwrap_err().code, 415);
        assert_eq!(decode_body(b"{bad", BodyType::Json).unwrap_err().code, 400);
        let v = decode_body(b"kind: ConfigMap\nmetadata:\n  name: x\n", BodyType::Yaml).unwrap();
        assert_eq!(v["metadata"]["name"], "x");
        assert_eq!(decode_body(b"a: [b", BodyType::Yaml).unwrap_err().code, 400);
    }
}
