//! Expected messages are kube-apiserver's: kube-openapi `validation/errors/schema.go`
//! (`%s in %s must be of type %s: %q`, `should match '%s'`, `should be less than or equal to
//! %v`...), as converted by apiextensions-apiserver `pkg/apiserver/validation`
//! (`kubeOpenAPIResultToFieldErrors`), and `apimachinery/pkg/util/validation/field` rendering.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::*;

fn render(errs: &[crate::error::FieldError]) -> Vec<String> {
    errs.iter().map(|e| e.render()).collect()
}

fn crontab_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
            "versions": [
                {
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": schema()},
                    "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.labelSelector"}},
                    "additionalPrinterColumns": [
                        {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "priority": 1},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                    ]
                },
                {"name": "v1beta1", "served": false, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}}
            ]
        }
    })
}

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["cronSpec"],
                "properties": {
                    "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
                    "image": {"type": "string", "maxLength": 5, "minLength": 2},
                    "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                    "mode": {"type": "string", "enum": ["a", "b"]},
                    "ratio": {"type": "number", "exclusiveMaximum": true, "maximum": 1.5},
                    "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set", "maxItems": 3},
                    "ports": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer", "default": 80}}}
                    },
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "port": {"x-kubernetes-int-or-string": true},
                    "id": {"type": "string", "format": "uuid"},
                    "note": {"type": "string", "nullable": true},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
                    "nested": {"type": "object", "default": {}, "properties": {"level": {"type": "string", "default": "info"}}}
                }
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
    })
}

fn cr(spec: Value) -> Value {
    json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "x"}, "spec": spec})
}

#[test]
fn infos_one_per_served_version_with_the_documented_shape() {
    let infos = resource_infos(&crontab_crd());
    assert_eq!(infos.len(), 1);
    let info = &infos[0];
    assert_eq!(
        (
            info.group.as_str(),
            info.version.as_str(),
            info.kind.as_str()
        ),
        ("stable.example.com", "v1", "CronTab")
    );
    assert_eq!(info.plural, "crontabs");
    assert_eq!(info.singular, "crontab");
    assert!(info.namespaced);
    assert_eq!(info.short_names, vec!["ct"]);
    assert_eq!(info.subresources, vec!["status", "scale"]);
    assert_eq!(info.verbs.len(), 8);
    let v = info.crd.as_deref().unwrap();
    assert_eq!(v["name"], "v1");
    assert_eq!(v["group"], "stable.example.com");
    assert_eq!(v["scope"], "Namespaced");
    assert_eq!(v["storageVersion"], "v1");
    assert_eq!(v["names"]["kind"], "CronTab");
    assert!(
        v.pointer("/schema/openAPIV3Schema/properties/spec")
            .is_some()
    );
}

#[test]
fn defaults_follow_set_defaults() {
    let mut crd = json!({"spec": {"names": {"plural": "foos", "kind": "Foo"}, "versions": [{"name": "v1", "storage": true}]}});
    default_crd(&mut crd);
    assert_eq!(crd["spec"]["names"]["singular"], "foo");
    assert_eq!(crd["spec"]["names"]["listKind"], "FooList");
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    let mut kept = json!({"spec": {"names": {"kind": "Foo", "singular": "f", "listKind": "Foos"}, "conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"name": "s", "namespace": "n"}}}}}});
    default_crd(&mut kept);
    assert_eq!(kept["spec"]["names"]["singular"], "f");
    assert_eq!(kept["spec"]["names"]["listKind"], "Foos");
    assert_eq!(
        kept["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
        443
    );
}

#[test]
fn type_errors_name_the_value_type() {
    let errs = validate_object(
        &cr(json!({"cronSpec": "* * * * *", "replicas": "string"})),
        &schema(),
    );
    assert_eq!(
        render(&errs),
        vec![
            "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""
        ]
    );
    let errs = validate_object(
        &cr(json!({"cronSpec": "* * * * *", "image": true, "replicas": 2.0})),
        &schema(),
    );
    assert_eq!(
        render(&errs),
        vec![
            "spec.image: Invalid value: \"boolean\": spec.image in body must be of type string: \"boolean\""
        ]
    );
}

#[test]
fn required_pattern_bounds_enum() {
    let errs = validate_object(&cr(json!({"replicas": 20})), &schema());
    assert_eq!(
        render(&errs),
        vec![
            "spec.cronSpec: Required value",
            "spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10",
        ]
    );
    let errs = validate_object(
        &cr(json!({"cronSpec": "x", "replicas": 0, "mode": "c", "ratio": 1.5, "image": "abcdefg"})),
        &schema(),
    );
    assert_eq!(
        render(&errs),
        vec![
            "spec.cronSpec: Invalid value: \"x\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'",
            "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            "spec.mode: Unsupported value: \"c\": supported values: \"a\", \"b\"",
            "spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5",
            "spec.image: Too long: may not be more than 5 bytes",
        ]
    );
    let errs = validate_object(
        &cr(json!({"cronSpec": "* * * * *", "image": "a"})),
        &schema(),
    );
    assert_eq!(
        render(&errs),
        vec![
            "spec.image: Invalid value: \"a\": spec.image in body should be at least 2 chars long"
        ]
    );
}

#[test]
fn lists_formats_int_or_string_nullable() {
    let errs = validate_object(
        &cr(json!({
            "cronSpec": "* * * * *",
            "tags": ["a", "b", "a", "c"],
            "ports": [{"name": "http"}, {"name": "http", "port": 81}],
            "port": true,
            "id": "nope",
            "note": null
        })),
        &schema(),
    );
    assert_eq!(
        render(&errs),
        vec![
            "spec.tags: Too many: 4: must have at most 3 items",
            "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
            "spec.id: Invalid value: \"nope\": spec.id in body must be of type uuid: \"nope\"",
            "spec.tags[2]: Duplicate value: \"a\"",
            "spec.ports[1]: Duplicate value: map[string]interface {}{\"name\":\"http\"}",
        ]
    );
    let ok = validate_object(
        &cr(
            json!({"cronSpec": "* * * * *", "port": "http", "id": "123e4567-e89b-12d3-a456-426614174000", "labels": {"a": "b"}, "free": {"x": [1]}}),
        ),
        &schema(),
    );
    assert!(ok.is_empty(), "{ok:?}");
    let errs = validate_object(
        &cr(json!({"cronSpec": "* * * * *", "labels": {"a": 1}})),
        &schema(),
    );
    assert_eq!(
        render(&errs),
        vec![
            "spec.labels.a: Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\""
        ]
    );
}

#[test]
fn embedded_resources_need_api_version_and_kind() {
    let errs = validate_object(
        &cr(json!({"cronSpec": "* * * * *", "template": {"metadata": {"name": "Bad_Name"}}})),
        &schema(),
    );
    let r = render(&errs);
    assert_eq!(
        r[0],
        "spec.template.apiVersion: Required value: must not be empty"
    );
    assert_eq!(
        r[1],
        "spec.template.kind: Required value: must not be empty"
    );
    assert_eq!(r.len(), 2, "path-segment names allow Bad_Name: {r:?}");
    let ok = validate_object(
        &cr(
            json!({"cronSpec": "* * * * *", "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}),
        ),
        &schema(),
    );
    assert!(ok.is_empty(), "{ok:?}");
}

#[test]
fn prune_reports_paths_and_keeps_open_parts() {
    let mut obj = json!({
        "apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "x", "bogus": 1},
        "spec": {
            "cronSpec": "* * * * *", "unknown": 1,
            "ports": [{"name": "a", "extra": true}],
            "free": {"anything": {"goes": 1}},
            "labels": {"k": "v"},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1}, "spec": {"x": 1}}
        },
        "status": {"whatever": 1},
        "top": 1
    });
    let pruned = prune(&mut obj, &schema());
    assert_eq!(
        pruned,
        vec![
            "metadata.bogus",
            "spec.unknown",
            "spec.ports[0].extra",
            "spec.template.metadata.junk",
            "top"
        ]
    );
    assert!(obj["spec"]["free"]["anything"]["goes"] == 1);
    assert!(obj["spec"]["template"]["spec"]["x"] == 1);
    assert!(obj.get("top").is_none());
    assert!(obj["metadata"].get("bogus").is_none());
}

#[test]
fn defaults_fill_missing_and_non_nullable_nulls() {
    let mut obj = cr(
        json!({"cronSpec": "x", "replicas": null, "image": null, "note": null, "ports": [{"name": "a"}]}),
    );
    apply_defaults(&mut obj, &schema());
    assert_eq!(obj["spec"]["replicas"], 1);
    assert!(obj["spec"].get("image").is_none());
    assert_eq!(obj["spec"]["note"], Value::Null);
    assert_eq!(obj["spec"]["ports"][0]["port"], 80);
    // A defaulted object gets its own defaults.
    assert_eq!(obj["spec"]["nested"], json!({"level": "info"}));
    // No spec, no spec defaults.
    let mut bare = json!({"metadata": {"name": "x"}});
    apply_defaults(&mut bare, &schema());
    assert!(bare.get("spec").is_none());
}

#[test]
fn printer_columns_and_cells() {
    let info = &resource_infos(&crontab_crd())[0];
    let cols = printer_columns(info);
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["Name", "Spec", "Replicas", "Ready", "Age"]);
    assert_eq!(cols[0].format, "name");
    assert_eq!(cols[3].priority, 1);
    let now = Utc.with_ymd_and_hms(2024, 1, 1, 1, 0, 0).unwrap();
    let obj = json!({
        "metadata": {"name": "c1", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"cronSpec": "* * * * */5", "replicas": 3},
        "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}
    });
    assert_eq!(
        printer_cells(&obj, &cols, now),
        vec![
            json!("c1"),
            json!("* * * * */5"),
            json!(3),
            json!("True"),
            json!("60m")
        ]
    );
    let empty = json!({"metadata": {"name": "c2"}});
    assert_eq!(
        printer_cells(&empty, &cols, now),
        vec![
            json!("c2"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null
        ]
    );
    let defs = column_definitions(info);
    assert_eq!(defs[1]["name"], "Spec");
    assert_eq!(defs[1]["type"], "string");
}

#[test]
fn default_age_column_without_printer_columns() {
    let mut crd = crontab_crd();
    crd["spec"]["versions"][0]
        .as_object_mut()
        .unwrap()
        .remove("additionalPrinterColumns");
    let cols = printer_columns(&resource_infos(&crd)[0]);
    assert_eq!(cols.len(), 2);
    assert_eq!(
        (cols[1].name.as_str(), cols[1].type_.as_str()),
        ("Age", "date")
    );
}

#[test]
fn jsonpath_subset() {
    let doc = json!({"spec": {"list": [{"x": 1}, {"x": 2}], "a.b": "dotted"}});
    let find = |p: &str| -> Vec<Value> {
        parse_jsonpath(p)
            .unwrap()
            .find(&doc)
            .into_iter()
            .cloned()
            .collect()
    };
    assert_eq!(find(".spec.list[0].x"), vec![json!(1)]);
    assert_eq!(find(".spec.list[-1].x"), vec![json!(2)]);
    assert_eq!(find(".spec.list[*].x"), vec![json!(1), json!(2)]);
    assert_eq!(find("{.spec['a.b']}"), vec![json!("dotted")]);
    assert_eq!(find(".spec.list[?(@.x>1)].x"), vec![json!(2)]);
    assert!(find(".spec.missing").is_empty());
}

#[test]
fn names_conflicts_as_the_naming_controller() {
    let mine = crontab_crd();
    let mut other = crontab_crd();
    other["metadata"]["name"] = json!("crontabs2.stable.example.com");
    other["spec"]["names"] = json!({"plural": "crontabs2", "singular": "crontab2", "kind": "CronTab2", "listKind": "CronTab2List", "shortNames": ["ct"]});
    assert_eq!(
        names_conflict(&mine, std::slice::from_ref(&other), &[]),
        Some((
            "ShortNamesConflict".to_string(),
            "\"ct\" is already in use".to_string()
        ))
    );
    other["spec"]["names"]["shortNames"] = json!([]);
    other["spec"]["names"]["plural"] = json!("crontabs");
    assert_eq!(
        names_conflict(&mine, std::slice::from_ref(&other), &[]),
        Some((
            "PluralConflict".to_string(),
            "\"crontabs\" is already in use".to_string()
        ))
    );
    // Another group never conflicts.
    other["spec"]["group"] = json!("other.example.com");
    assert_eq!(names_conflict(&mine, &[other], &[]), None);
    // Names already accepted stay accepted.
    let mut accepted = crontab_crd();
    accepted["status"]["acceptedNames"] = accepted["spec"]["names"].clone();
    let mut same = crontab_crd();
    same["metadata"]["name"] = json!("dup.stable.example.com");
    assert_eq!(names_conflict(&accepted, &[same], &[]), None);
}

#[test]
fn status_conditions() {
    let mut crd = crontab_crd();
    update_status(&mut crd, None, "2024-01-01T00:00:00Z");
    let conds = crd["status"]["conditions"].as_array().unwrap().clone();
    assert_eq!(conds[0]["type"], "NamesAccepted");
    assert_eq!(conds[0]["reason"], "NoConflicts");
    assert_eq!(conds[1]["type"], "Established");
    assert_eq!(conds[1]["status"], "True");
    assert_eq!(crd["status"]["acceptedNames"]["plural"], "crontabs");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    // Same status again: the transition time stays.
    update_status(&mut crd, None, "2025-01-01T00:00:00Z");
    assert_eq!(
        crd["status"]["conditions"][0]["lastTransitionTime"],
        "2024-01-01T00:00:00Z"
    );
    let conflict = (
        "PluralConflict".to_string(),
        "\"crontabs\" is already in use".to_string(),
    );
    let mut fresh = crontab_crd();
    update_status(&mut fresh, Some(&conflict), "2024-01-01T00:00:00Z");
    assert_eq!(fresh["status"]["conditions"][0]["status"], "False");
    assert_eq!(fresh["status"]["conditions"][1]["reason"], "NotAccepted");
}

#[test]
fn scale_paths_read_and_write() {
    let info = &resource_infos(&crontab_crd())[0];
    let paths = scale_paths(info).unwrap();
    assert_eq!(paths.spec_replicas, ".spec.replicas");
    assert_eq!(
        paths.label_selector.as_deref(),
        Some(".status.labelSelector")
    );
    let mut obj = json!({"spec": {"replicas": 2}});
    assert_eq!(read_path(&obj, &paths.spec_replicas), Some(&json!(2)));
    assert_eq!(read_path(&obj, &paths.status_replicas), None);
    write_path(&mut obj, &paths.status_replicas, json!(5));
    assert_eq!(obj["status"]["replicas"], 5);
}

#[test]
fn crd_validation_messages() {
    let mut crd = crontab_crd();
    default_crd(&mut crd);
    assert!(
        validate_crd(&crd, None).is_empty(),
        "{:?}",
        validate_crd(&crd, None)
    );

    let mut bad = crd.clone();
    bad["metadata"]["name"] = json!("wrong.stable.example.com");
    bad["spec"]["versions"][1]["storage"] = json!(true);
    bad["spec"]["group"] = json!("nodot");
    let r = render(&validate_crd(&bad, None));
    assert!(r.contains(&"metadata.name: Invalid value: \"wrong.stable.example.com\": must be spec.names.plural+\".\"+spec.group".to_string()), "{r:?}");
    assert!(
        r.contains(
            &"spec.group: Invalid value: \"nodot\": should be a domain with at least one dot"
                .to_string()
        ),
        "{r:?}"
    );
    assert!(
        r.iter()
            .any(|e| e.starts_with(
                "spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{"
            ) && e.ends_with("must have exactly one version marked as storage version")),
        "{r:?}"
    );

    let mut no_schema = crd.clone();
    no_schema["spec"]["versions"][0]
        .as_object_mut()
        .unwrap()
        .remove("schema");
    no_schema["spec"]["scope"] = json!("Global");
    let r = render(&validate_crd(&no_schema, None));
    assert!(r.contains(&"spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\"".to_string()), "{r:?}");
    assert!(
        r.contains(
            &"spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"
                .to_string()
        ),
        "{r:?}"
    );

    let mut untyped = crd.clone();
    untyped["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["x"] = json!({"description": "no type"});
    let r = render(&validate_crd(&untyped, None));
    assert_eq!(
        r,
        vec![
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].type: Required value: must not be empty for specified object fields"
        ]
    );

    let mut column = crd.clone();
    column["spec"]["versions"][0]["additionalPrinterColumns"][0]["jsonPath"] = json!("spec.x");
    column["spec"]["versions"][0]["additionalPrinterColumns"][1]["type"] = json!("int");
    let r = render(&validate_crd(&column, None));
    assert_eq!(
        r,
        vec![
            "spec.versions[0].additionalPrinterColumns[0].jsonPath: Invalid value: \"spec.x\": must be a simple json path starting with .",
            "spec.versions[0].additionalPrinterColumns[1].type: Unsupported value: \"int\": supported values: \"integer\", \"number\", \"string\", \"boolean\", \"date\"",
        ]
    );

    let mut scoped = crd.clone();
    scoped["spec"]["scope"] = json!("Cluster");
    let r = render(&validate_crd(&scoped, Some(&crd)));
    assert_eq!(
        r,
        vec!["spec.scope: Invalid value: \"Cluster\": field is immutable"]
    );
}
