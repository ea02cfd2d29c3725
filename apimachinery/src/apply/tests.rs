//! Cases from the Kubernetes documentation ("Server-Side Apply", kubernetes.io) and
//! structured-merge-diff's `merge/*_test.go`, checked against the real built-in schemas.

use serde_json::{Value, json};

use super::*;
use crate::openapi::{builtin_definitions, definition_for};

const T0: &str = "2026-01-01T00:00:00Z";
const T1: &str = "2026-01-01T00:01:00Z";

fn schema(group: &str, version: &str, kind: &str) -> Option<Schema<'static>> {
    Schema::definition(
        builtin_definitions(),
        definition_for(group, version, kind).expect("built-in kind"),
    )
}

fn deployment_schema() -> Option<Schema<'static>> {
    schema("apps", "v1", "Deployment")
}

fn mgr<'a>(name: &'a str, api_version: &'a str, now: &'a str) -> Manager<'a> {
    Manager {
        name,
        api_version,
        subresource: None,
        now,
    }
}

fn entries(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn fields_of(obj: &Value, manager: &str, operation: &str) -> Option<Value> {
    entries(obj)
        .into_iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
        .map(|e| e["fieldsV1"].clone())
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

fn apply_ok(live: Option<&Value>, config: &Value, name: &str, now: &str) -> Value {
    apply(
        live,
        config,
        &mgr(name, "apps/v1", now),
        false,
        deployment_schema(),
        &reset_fields(None, true),
    )
    .expect("apply succeeds")
}

#[test]
fn fields_v1_round_trips_with_dot_for_members_that_have_children() {
    // The encoding of structured-merge-diff's fieldpath/serialize.go: `.` marks an element that
    // is a member and has children; keys are JSON objects with sorted fields.
    let v = json!({
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}}},
                   "f:finalizers": {"v:\"a\"": {}}, "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}},
                   "f:args": {"i:0": {}}}
    });
    let set = FieldSet::from_fields_v1(&v).unwrap();
    assert!(set.has(&[
        PathElement::Field("metadata".into()),
        PathElement::Field("labels".into())
    ]));
    assert!(!set.has(&[PathElement::Field("metadata".into())]));
    let key = PathElement::key(vec![("name".into(), json!("nginx"))]);
    assert!(set.has(&[
        PathElement::Field("spec".into()),
        PathElement::Field("containers".into()),
        key.clone()
    ]));
    assert_eq!(set.to_fields_v1(), v);
    assert_eq!(
        path_to_string(&[
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            key,
            PathElement::Field("image".into())
        ]),
        ".spec.containers[name=\"nginx\"].image"
    );
    assert!(FieldSet::from_fields_v1(&json!({"x:y": {}})).is_err());
}

#[test]
fn first_apply_of_a_configmap_records_the_documented_fields() {
    // kubernetes.io "Server-Side Apply", section "Field management": the ConfigMap example.
    let config = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
        "data": {"key": "some value"}
    });
    let out = apply(
        None,
        &config,
        &mgr("kubectl", "v1", T0),
        false,
        schema("", "v1", "ConfigMap"),
        &FieldSet::new(),
    )
    .unwrap();
    assert_eq!(
        out["metadata"]["managedFields"],
        json!([{
            "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}}
        }])
    );
    assert_eq!(out["data"]["key"], "some value");
}

#[test]
fn first_apply_of_a_deployment_keys_containers_and_ports() {
    // Source: the managedFields kube-apiserver records for `kubectl apply --server-side` of a
    // Deployment (kubernetes.io "Server-Side Apply", "Field management" shows the same shape):
    // containers keyed `k:{"name":...}`, ports `k:{"containerPort":...,"protocol":...}`.
    let out = apply_ok(None, &deployment(3, "nginx:1.14"), "applier", T0);
    // Ports are keyed by containerPort and protocol (protocol defaults to TCP, as in
    // kube-openapi), keys sorted; the selector is an atomic map, a leaf.
    assert_eq!(
        fields_of(&out, "applier", "Apply").unwrap(),
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {}, "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                    }}}
                }
            }
        })
    );
}

#[test]
fn reapplying_without_a_field_removes_it() {
    // kubernetes.io "Server-Side Apply", "Merge strategy": a field the applier stops applying
    // is removed when no other manager owns it.
    let live = apply_ok(None, &deployment(3, "nginx:1.14"), "applier", T0);
    let mut config = deployment(3, "nginx:1.14");
    config["spec"].as_object_mut().unwrap().remove("replicas");
    config["metadata"]["labels"] = json!({"tier": "web"});
    let out = apply_ok(Some(&live), &config, "applier", T1);
    assert!(out["spec"].get("replicas").is_none());
    assert_eq!(out["metadata"]["labels"], json!({"tier": "web"}));
    let f = fields_of(&out, "applier", "Apply").unwrap();
    assert!(f["f:spec"].get("f:replicas").is_none());
    assert_eq!(entries(&out)[0]["time"], T1);
}

#[test]
fn an_update_takes_the_fields_it_changes_and_apply_then_conflicts() {
    // kubernetes.io "Server-Side Apply", "Conflicts": after `kubectl scale`-like update, the
    // applier conflicts on .spec.replicas with the Update manager.
    let live = apply_ok(None, &deployment(3, "nginx:1.14"), "applier", T0);
    let mut edited = live.clone();
    edited["spec"]["replicas"] = json!(5);
    record_update(
        Some(&live),
        &mut edited,
        &mgr("kubectl-edit", "apps/v1", T1),
        deployment_schema(),
        &reset_fields(None, true),
    );
    assert_eq!(
        fields_of(&edited, "kubectl-edit", "Update").unwrap(),
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(
        fields_of(&edited, "applier", "Apply").unwrap()["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    // Apply entries sort before Update entries.
    assert_eq!(entries(&edited)[0]["operation"], "Apply");

    let err = apply(
        Some(&edited),
        &deployment(3, "nginx:1.14"),
        &mgr("applier", "apps/v1", T1),
        false,
        deployment_schema(),
        &FieldSet::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
    );
    let status = ApiError::from(err).to_status();
    assert_eq!(status["code"], 409);
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-edit\" using apps/v1", "field": ".spec.replicas"}])
    );

    // Applying the value the other manager set is no conflict.
    let same = apply_ok(Some(&edited), &deployment(5, "nginx:1.14"), "applier", T1);
    assert_eq!(same["spec"]["replicas"], 5);
}

#[test]
fn conflicts_with_several_managers_are_grouped_by_manager() {
    // apimachinery managedfields/internal/conflict.go getConflictMessage.
    let live = apply_ok(None, &deployment(3, "nginx:1.14"), "a", T0);
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.14"}]}}}});
    let live = apply_ok(Some(&live), &other, "b", T0);
    let err = apply(
        Some(&live),
        &deployment(4, "nginx:1.15"),
        &mgr("c", "apps/v1", T1),
        false,
        deployment_schema(),
        &FieldSet::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 3 conflicts: conflicts with \"a\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image\nconflicts with \"b\":\n- .spec.template.spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn force_moves_ownership_from_the_other_managers() {
    // structured-merge-diff merge/multiple_appliers_test.go: a forced apply takes the field
    // and the previous owner's entry loses it (and goes when empty).
    let live = apply_ok(None, &deployment(3, "nginx:1.14"), "a", T0);
    let replicas_only = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 7}});
    let out = apply(
        Some(&live),
        &replicas_only,
        &mgr("b", "apps/v1", T1),
        true,
        deployment_schema(),
        &FieldSet::new(),
    )
    .unwrap();
    assert_eq!(out["spec"]["replicas"], 7);
    assert_eq!(
        fields_of(&out, "b", "Apply").unwrap(),
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(
        fields_of(&out, "a", "Apply").unwrap()["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    // The previous applier can no longer remove it by leaving it out.
    let out = apply_ok(Some(&out), &deployment(3, "nginx:1.14"), "b", T1);
    assert_eq!(out["spec"]["replicas"], 3);
}

#[test]
fn equal_values_are_shared_and_a_release_keeps_the_value() {
    // kubernetes.io "Server-Side Apply", "Transferring ownership" / shared ownership.
    let live = apply_ok(None, &deployment(3, "nginx:1.14"), "a", T0);
    let replicas = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 3}});
    let shared = apply_ok(Some(&live), &replicas, "b", T1);
    assert_eq!(
        fields_of(&shared, "b", "Apply").unwrap(),
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(
        fields_of(&shared, "a", "Apply").unwrap()["f:spec"]
            .get("f:replicas")
            .is_some()
    );
    // Nothing changed: b's entry still gets its first time.
    assert_eq!(entries(&shared).len(), 2);

    let mut without = deployment(3, "nginx:1.14");
    without["spec"].as_object_mut().unwrap().remove("replicas");
    let out = apply_ok(Some(&shared), &without, "a", T1);
    assert_eq!(out["spec"]["replicas"], 3, "b still owns it");
    assert!(
        fields_of(&out, "a", "Apply").unwrap()["f:spec"]
            .get("f:replicas")
            .is_none()
    );
}

#[test]
fn list_map_items_merge_by_key_and_leave_with_their_applier() {
    // structured-merge-diff merge/multiple_appliers_test.go (associative lists): each applier
    // owns its own items; dropping an item removes only that one.
    let live = apply_ok(None, &deployment(3, "nginx:1.14"), "a", T0);
    let sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy"}]}}}});
    let out = apply_ok(Some(&live), &sidecar, "b", T0);
    let names: Vec<&Value> = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, vec!["nginx", "sidecar"]);
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80}])
    );
    // b stops applying its container: it goes, nginx stays.
    let empty = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 3}});
    let out = apply_ok(Some(&out), &empty, "b", T1);
    let containers = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], "nginx");
}

#[test]
fn sets_merge_by_value_and_atomic_lists_are_replaced() {
    // metadata.finalizers is `x-kubernetes-list-type: set` (structured-merge-diff
    // merge/set_test.go); container args are atomic (merge/atomic_test.go semantics).
    let base = |finalizers: Value, args: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "finalizers": finalizers},
            "spec": {"template": {"spec": {"containers": [{"name": "nginx", "args": args}]}}}})
    };
    let live = apply_ok(
        None,
        &base(json!(["a/x"]), json!(["--one", "--two"])),
        "a",
        T0,
    );
    let out = apply_ok(
        Some(&live),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx", "finalizers": ["b/y"]}}),
        "b",
        T0,
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["a/x", "b/y"]));
    assert_eq!(
        fields_of(&out, "b", "Apply").unwrap(),
        json!({"f:metadata": {"f:finalizers": {"v:\"b/y\"": {}}}})
    );
    let a = fields_of(&out, "a", "Apply").unwrap();
    assert_eq!(
        a["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"],
        json!({".": {}, "f:args": {}, "f:name": {}})
    );
    // a's own re-apply replaces the atomic list wholesale.
    let out = apply_ok(
        Some(&out),
        &base(json!(["a/x"]), json!(["--three"])),
        "a",
        T1,
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["--three"])
    );
    // Another applier changing the atomic list conflicts on the list as a whole.
    let err = apply(
        Some(&out),
        &base(json!([]), json!(["--four"])),
        &mgr("b", "apps/v1", T1),
        false,
        deployment_schema(),
        &FieldSet::new(),
    )
    .unwrap_err();
    let ApplyError::Conflicts(c) = err else {
        panic!("conflict expected")
    };
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].field,
        ".spec.template.spec.containers[name=\"nginx\"].args"
    );
}

#[test]
fn create_records_an_update_entry_without_server_fields() {
    // kubectl create: one Update entry; apiVersion, kind, metadata.name/namespace and other
    // server fields are never owned (managedfields stripMetaManager); added maps carry `.`.
    let mut obj = deployment(3, "nginx:1.14");
    obj["metadata"]["namespace"] = json!("default");
    obj["metadata"]["uid"] = json!("u-1");
    record_update(
        None,
        &mut obj,
        &mgr("kubectl-create", "apps/v1", T0),
        deployment_schema(),
        &reset_fields(None, true),
    );
    let e = entries(&obj);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["operation"], "Update");
    assert_eq!(e[0]["time"], T0);
    let f = &e[0]["fieldsV1"];
    assert!(f.get("f:apiVersion").is_none() && f.get("f:kind").is_none());
    assert_eq!(f["f:metadata"], json!({"f:labels": {".": {}, "f:app": {}}}));
    // The value structs of the Go zero value already exist: no `.` on spec or the template,
    // while the new container item carries one (as `kubectl create deployment` shows).
    assert!(f["f:spec"].get(".").is_none(), "{f}");
    assert!(f["f:spec"]["f:template"].get(".").is_none(), "{f}");
    assert!(
        f["f:spec"]["f:template"]["f:spec"].get(".").is_none(),
        "{f}"
    );
    assert_eq!(
        f["f:spec"]["f:template"]["f:metadata"],
        json!({"f:labels": {".": {}, "f:app": {}}})
    );
    assert_eq!(
        f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]["."],
        json!({})
    );
    assert_eq!(
        f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]["f:image"],
        json!({})
    );
}

#[test]
fn updates_merge_into_the_same_entry_and_drop_emptied_ones() {
    // Source: managedfields internal/managedfields.go and structuredmerge.go Update — one entry
    // per (manager, operation, apiVersion, subresource); entries whose set empties are removed.
    let mut obj = deployment(3, "nginx:1.14");
    record_update(
        None,
        &mut obj,
        &mgr("kubectl-create", "apps/v1", T0),
        deployment_schema(),
        &FieldSet::new(),
    );
    let before = obj.clone();
    // A merge patch by kubectl-edit changing the image and adding a label.
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.15");
    obj["metadata"]["labels"]["tier"] = json!("web");
    record_update(
        Some(&before),
        &mut obj,
        &mgr("kubectl-edit", "apps/v1", T1),
        deployment_schema(),
        &FieldSet::new(),
    );
    let edit = fields_of(&obj, "kubectl-edit", "Update").unwrap();
    assert_eq!(edit["f:metadata"], json!({"f:labels": {"f:tier": {}}}));
    assert_eq!(
        edit["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"],
        json!({"f:image": {}})
    );
    let create = fields_of(&obj, "kubectl-create", "Update").unwrap();
    assert!(
        create["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]
            .get("f:image")
            .is_none()
    );
    // A second edit merges into kubectl-edit's entry.
    let before = obj.clone();
    obj["spec"]["replicas"] = json!(9);
    record_update(
        Some(&before),
        &mut obj,
        &mgr("kubectl-edit", "apps/v1", T1),
        deployment_schema(),
        &FieldSet::new(),
    );
    let edit = fields_of(&obj, "kubectl-edit", "Update").unwrap();
    assert!(edit["f:spec"].get("f:replicas").is_some() && edit.get("f:metadata").is_some());
    assert_eq!(entries(&obj).len(), 2);
    // A write that changes nothing leaves the entries alone.
    let before = obj.clone();
    record_update(
        Some(&before),
        &mut obj,
        &mgr("other", "apps/v1", T1),
        deployment_schema(),
        &FieldSet::new(),
    );
    assert_eq!(obj, before);
}

#[test]
fn status_is_not_owned_on_the_main_resource_and_only_status_on_the_subresource() {
    // Reset fields (registry strategies' GetResetFields): status on the main resource, spec on
    // the status subresource.
    let mut config = deployment(3, "nginx:1.14");
    config["status"] = json!({"replicas": 3});
    let out = apply_ok(None, &config, "a", T0);
    assert!(
        fields_of(&out, "a", "Apply")
            .unwrap()
            .get("f:status")
            .is_none()
    );

    let status_mgr = Manager {
        subresource: Some("status"),
        ..mgr("controller", "apps/v1", T1)
    };
    let mut new = out.clone();
    new["status"] = json!({"replicas": 3, "readyReplicas": 3});
    record_update(
        Some(&out),
        &mut new,
        &status_mgr,
        deployment_schema(),
        &reset_fields(Some("status"), true),
    );
    let e: Vec<Value> = entries(&new)
        .into_iter()
        .filter(|e| e["manager"] == "controller")
        .collect();
    assert_eq!(e[0]["subresource"], "status");
    assert_eq!(
        e[0]["fieldsV1"],
        json!({"f:status": {"f:readyReplicas": {}}})
    );
}

#[test]
fn invalid_apply_requests_and_the_managed_fields_reset() {
    // Source: apiserver endpoints/handlers/patch.go (applyPatcher) and managedfields
    // fieldmanager.go: managedFields in an apply configuration, a wrong apiVersion, and the
    // `managedFields: [{}]` reset of an update.
    let mut config = deployment(3, "x");
    config["metadata"]["managedFields"] = json!([]);
    let err = apply(
        None,
        &config,
        &mgr("a", "apps/v1", T0),
        false,
        deployment_schema(),
        &FieldSet::new(),
    )
    .unwrap_err();
    assert!(matches!(err, ApplyError::ManagedFieldsInConfig));
    assert_eq!(ApiError::from(err).code, 400);
    let err = apply(
        None,
        &deployment(3, "x"),
        &mgr("a", "apps/v1beta1", T0),
        false,
        deployment_schema(),
        &FieldSet::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Incorrect version specified in apply patch. Specified patch version: apps/v1, expected: apps/v1beta1"
    );
    // kubernetes.io "Server-Side Apply", "Clearing managedFields": `[{}]` strips them.
    let live = apply_ok(None, &deployment(3, "x"), "a", T0);
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([{}]);
    record_update(
        Some(&live),
        &mut new,
        &mgr("k", "apps/v1", T1),
        deployment_schema(),
        &FieldSet::new(),
    );
    assert!(new["metadata"].get("managedFields").is_none());
    // An empty list keeps the stored ones.
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([]);
    record_update(
        Some(&live),
        &mut new,
        &mgr("k", "apps/v1", T1),
        deployment_schema(),
        &FieldSet::new(),
    );
    assert_eq!(
        new["metadata"]["managedFields"],
        live["metadata"]["managedFields"]
    );
}

#[test]
fn without_a_schema_maps_are_granular_and_lists_atomic() {
    // Upstream's deduced type: every map key is a member, lists are leaves.
    let config = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
        "spec": {"size": 1, "items": [1, 2]}});
    let out = apply(
        None,
        &config,
        &mgr("a", "example.com/v1", T0),
        false,
        None,
        &FieldSet::new(),
    )
    .unwrap();
    assert_eq!(
        fields_of(&out, "a", "Apply").unwrap(),
        json!({"f:spec": {".": {}, "f:items": {}, "f:size": {}}})
    );
}

#[test]
fn crd_schemas_are_inline_with_list_type_extensions() {
    // Source: apiextensions-apiserver's structural schema to SMD conversion (kube-openapi
    // schemaconv): `x-kubernetes-list-type: map` with `x-kubernetes-list-map-keys` keys items.
    let crd_schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "routes": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["host", "port"],
                "items": {"type": "object", "properties": {"host": {"type": "string"}, "port": {"type": "integer"}, "backend": {"type": "string"}}}},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
        }}
    }});
    let schema = Some(Schema::new(None, &crd_schema));
    let config = json!({"apiVersion": "example.com/v1", "kind": "Route", "metadata": {"name": "r", "labels": {"a": "b"}},
        "spec": {"routes": [{"port": 80, "host": "x", "backend": "b1"}], "tags": ["t1"]}});
    let out = apply(
        None,
        &config,
        &mgr("a", "example.com/v1", T0),
        false,
        schema,
        &FieldSet::new(),
    )
    .unwrap();
    assert_eq!(
        fields_of(&out, "a", "Apply").unwrap(),
        json!({"f:metadata": {"f:labels": {"f:a": {}}},
               "f:spec": {"f:routes": {"k:{\"host\":\"x\",\"port\":80}": {".": {}, "f:backend": {}, "f:host": {}, "f:port": {}}},
                          "f:tags": {"v:\"t1\"": {}}}})
    );
}

#[test]
fn more_than_ten_update_managers_fold_the_oldest_into_ancient_changes() {
    // managedfields capmanagers.go: DefaultMaxUpdateManagers = 10, bucket "ancient-changes".
    let mut obj =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
    let schema = schema("", "v1", "ConfigMap");
    let times: Vec<String> = (0..12)
        .map(|i| format!("2026-01-01T00:00:{i:02}Z"))
        .collect();
    for (i, now) in times.iter().enumerate() {
        let before = obj.clone();
        obj["data"][format!("k{i}")] = json!("v");
        let name = format!("m{i:02}");
        record_update(
            Some(&before),
            &mut obj,
            &mgr(&name, "v1", now),
            schema,
            &FieldSet::new(),
        );
    }
    let e = entries(&obj);
    assert_eq!(e.len(), 10);
    let ancient = e
        .iter()
        .find(|e| e["manager"] == "ancient-changes")
        .unwrap();
    assert_eq!(
        ancient["fieldsV1"],
        json!({"f:data": {"f:k0": {}, "f:k1": {}, "f:k2": {}}})
    );
    assert_eq!(ancient["time"], times[2]);
    assert!(
        e.iter()
            .all(|e| e["manager"] != "m00" && e["manager"] != "m02")
    );
    assert!(e.iter().any(|e| e["manager"] == "m03"));
}

#[test]
fn kubectl_upgrades_from_client_side_apply() {
    // kubernetes.io "Server-Side Apply", "Upgrading from client-side apply to server-side
    // apply", and managedfields lastappliedmanager.go / lastappliedupdater.go: `kubectl`
    // takes the fields the last-applied annotation still describes, and keeps the annotation
    // in step; another manager name, or a field changed since, still conflicts.
    let mut created = deployment(3, "nginx:1.14");
    let annotation = created.to_string();
    created["metadata"]["annotations"] = json!({LAST_APPLIED_ANNOTATION: annotation});
    record_update(
        None,
        &mut created,
        &mgr("kubectl-client-side-apply", "apps/v1", T0),
        deployment_schema(),
        &FieldSet::new(),
    );
    let config = deployment(5, "nginx:1.14");
    let err = apply(
        Some(&created),
        &config,
        &mgr("someone", "apps/v1", T1),
        false,
        deployment_schema(),
        &FieldSet::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let out = apply(
        Some(&created),
        &config,
        &mgr("kubectl", "apps/v1", T1),
        false,
        deployment_schema(),
        &FieldSet::new(),
    )
    .expect("kubectl takes the client-side applied fields");
    assert_eq!(out["spec"]["replicas"], 5);
    let annotation: Value = serde_json::from_str(
        out["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(annotation["spec"]["replicas"], 5);

    // Once the live value differs from the annotation, it is a real conflict again.
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(7);
    record_update(
        Some(&created),
        &mut scaled,
        &mgr("kubectl-client-side-apply", "apps/v1", T1),
        deployment_schema(),
        &FieldSet::new(),
    );
    assert!(matches!(
        apply(
            Some(&scaled),
            &config,
            &mgr("kubectl", "apps/v1", T1),
            false,
            deployment_schema(),
            &FieldSet::new()
        ),
        Err(ApplyError::Conflicts(_))
    ));
}
