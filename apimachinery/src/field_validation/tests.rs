//! Expected strings follow kube-apiserver: `fieldValidation` parsing in
//! `apiserver/pkg/apis/meta/v1/validation` (`ValidateFieldValidation`, unsupported values listed
//! sorted), strict decoding errors from `sigs.k8s.io/json` wrapped by the handlers'
//! `transformDecodeError` (`Deployment in version "v1" cannot be handled as a Deployment: ...`).

use serde_json::json;

use super::*;
use crate::openapi::{builtin_definitions, definition_for};

#[test]
fn modes_default_to_warn_and_reject_unknown_values() {
    assert_eq!(mode(None).unwrap(), Mode::Warn);
    assert_eq!(mode(Some("")).unwrap(), Mode::Warn);
    assert_eq!(mode(Some("Strict")).unwrap(), Mode::Strict);
    assert_eq!(mode(Some("Ignore")).unwrap(), Mode::Ignore);
    let err = mode_for(Some("strict"), "PatchOptions").unwrap_err();
    assert_eq!(err.code, 422);
    assert_eq!(
        err.message,
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"strict\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
    );
}

#[test]
fn strict_error_and_warning_text() {
    let p = problems(&["metadata.name".into()], &["spec.foo".into()]);
    let err = strict_error("Deployment", "v1", &p);
    assert_eq!(err.code, 400);
    assert_eq!(err.reason, "BadRequest");
    assert_eq!(
        err.message,
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: duplicate field \"metadata.name\", unknown field \"spec.foo\""
    );
    assert_eq!(
        warning_header(&unknown_message("spec.foo")),
        "299 - \"unknown field \\\"spec.foo\\\"\""
    );
}

#[test]
fn duplicate_json_keys_with_paths() {
    let raw = br#"{"metadata":{"name":"a","name":"b"},"spec":{"containers":[{"image":"x","image":"y","name":"c"}]},"kind":"Pod","kind":"Pod","kind":"Pod"}"#;
    assert_eq!(
        duplicate_fields_json(raw),
        vec!["metadata.name", "spec.containers[0].image", "kind"]
    );
    // Escapes decode before comparison.
    assert_eq!(duplicate_fields_json(br#"{"a":1,"\u0061":2}"#), vec!["a"]);
    assert!(duplicate_fields_json(br#"{"a":{"b":1},"c":{"b":2}}"#).is_empty());
}

#[test]
fn duplicate_json_never_panics() {
    for raw in [
        &b""[..],
        b"{",
        b"{\"a\"",
        b"{\"a\":",
        b"[1,",
        b"\"\\",
        b"{\"a\":1,\"a\"",
        b"\xff\xfe{",
        b"}}}]]]",
        b"{\"a\\",
    ] {
        let _ = duplicate_fields_json(raw);
    }
    let deep = "[".repeat(100_000);
    let _ = duplicate_fields_json(deep.as_bytes());
    // Malformed after a duplicate: what was found is kept.
    assert_eq!(duplicate_fields_json(br#"{"a":1,"a":2,"#), vec!["a"]);
}

#[test]
fn duplicate_yaml_keys_with_paths() {
    let raw = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata:\n  k: |\n    name: 1\n    name: 2\n  k2: v\nlist:\n- name: x\n  name: y\n- name: z\nkind: ConfigMap\n";
    assert_eq!(
        duplicate_fields_yaml(raw),
        vec!["metadata.name", "list[0].name", "kind"]
    );
    assert_eq!(
        duplicate_fields_yaml_messages(raw),
        vec![
            "line 5: key \"name\" already set in map",
            "line 13: key \"name\" already set in map",
            "line 15: key \"kind\" already set in map"
        ]
    );
    assert!(duplicate_fields_yaml("a:\n  b: 1\nc:\n  b: 2\n").is_empty());
    let nested = "spec:\n  containers:\n  - name: a\n    image: x\n    image: y\n  - name: b\n    ports:\n      - port: 1\n        port: 2\n  replicas: 1\n  replicas: 2\n";
    assert_eq!(
        duplicate_fields_yaml(nested),
        vec![
            "spec.containers[0].image",
            "spec.containers[1].ports[0].port",
            "spec.replicas"
        ]
    );
}

fn definition(group: &str, version: &str, kind: &str) -> Schema<'static> {
    let defs = builtin_definitions();
    Schema::definition(defs, definition_for(group, version, kind).unwrap()).unwrap()
}

#[test]
fn unknown_fields_of_builtins() {
    let obj = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"any": "thing"}, "bogus": 1},
        "spec": {
            "replicas": 1,
            "foo": 2,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", "imagex": "typo", "resources": {"limits": {"cpu": "1"}}}]}
            }
        }
    });
    let schema = definition("apps", "v1", "Deployment");
    assert_eq!(
        unknown_fields(&obj, schema),
        vec![
            "metadata.bogus",
            "spec.foo",
            "spec.template.spec.containers[0].imagex"
        ]
    );
    let mut stripped = obj.clone();
    strip_unknown(&mut stripped, schema);
    assert!(unknown_fields(&stripped, schema).is_empty());
    assert_eq!(stripped["metadata"]["labels"]["any"], "thing");
    assert_eq!(stripped["spec"]["replicas"], 1);
    assert!(stripped["spec"].get("foo").is_none());
}

#[test]
fn unknown_fields_with_a_hand_made_schema() {
    let schema = json!({
        "type": "object",
        "properties": {
            "data": {"type": "object", "additionalProperties": {"type": "string"}},
            "raw": {"type": "object"},
            "open": {"type": "object", "properties": {"a": {"type": "string"}}, "x-kubernetes-preserve-unknown-fields": true},
            "port": {"type": "string", "format": "int-or-string"}
        }
    });
    let obj = json!({"kind": "X", "data": {"x": "y"}, "raw": {"any": 1}, "open": {"b": 1}, "port": 80, "nope": true});
    assert_eq!(
        unknown_fields(&obj, Schema::new(None, &schema)),
        vec!["nope"]
    );
}
