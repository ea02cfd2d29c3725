//! CustomResourceDefinitions end to end with kubectl: a CRD is applied, becomes Established,
//! its kind is served at two versions with printer columns, schema validation, defaulting,
//! pruning, merge and JSON patches, the scale and status subresources, and leaves discovery
//! (taking its objects with it) when deleted. Expected outputs are kube-apiserver 1.37's and
//! kubectl 1.37's, word for word.

use std::time::Duration;

use warren_tests::{Kubectl, TestServer, columns, eventually};

const WAIT: Duration = Duration::from_secs(30);

/// The schema both versions share: a required pattern-checked string, an integer with a
/// default and bounds, an enum, and a status the status subresource writes.
const CRONTAB_SCHEMA: &str = r#"
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
              image:
                type: string
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
              mode:
                type: string
                enum: [Daily, Hourly]
          status:
            type: object
            properties:
              replicas:
                type: integer
              phase:
                type: string
"#;

const CRONTAB_VERSION_REST: &str = r#"
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
"#;

/// The CronTab CRD: v1 (storage) and v1beta1 (served), short name `ct`, category `all`.
fn crontab_crd() -> String {
    let mut crd = String::from(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all]
  versions:
"#,
    );
    for (name, storage) in [("v1", true), ("v1beta1", false)] {
        crd.push_str(&format!(
            "  - name: {name}\n    served: true\n    storage: {storage}\n    schema:{CRONTAB_SCHEMA}{CRONTAB_VERSION_REST}"
        ));
    }
    crd
}

fn crontab(name: &str, cron: &str, replicas: Option<i64>) -> String {
    let mut s = format!(
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: {name}\nspec:\n  cronSpec: \"{cron}\"\n  image: my-cron-image\n"
    );
    if let Some(r) = replicas {
        s.push_str(&format!("  replicas: {r}\n"));
    }
    s
}

fn start() -> (TestServer, Kubectl) {
    let server = TestServer::start().expect("server starts");
    let kubectl = server.kubectl();
    (server, kubectl)
}

/// The rows of a `kubectl get` table, split into columns; the header first.
fn table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(columns)
        .collect()
}

/// The table row whose first column is `name`.
fn row(out: &str, name: &str) -> Vec<String> {
    table(out)
        .into_iter()
        .find(|r| r.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{out}"))
}

/// `kubectl get ... -o jsonpath=PATH`.
fn jsonpath(k: &Kubectl, target: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(target);
    let expr = format!("jsonpath={path}");
    args.extend(["-o", &expr]);
    k.ok(&args)
}

/// Applies a CRD from `manifest`, checks kubectl's `created` line, waits for Established
/// with `kubectl wait`, then until kubectl can list `plural`.
fn install_crd(k: &Kubectl, manifest: &str, name: &str, plural: &str) {
    let out = k.run_stdin(&["apply", "-f", "-"], manifest);
    assert!(out.success(), "applying CRD {name}:\n{out}");
    assert_eq!(
        out.stdout,
        format!("customresourcedefinition.apiextensions.k8s.io/{name} created\n"),
        "{out}"
    );
    let out = k.run(&[
        "wait",
        "--for",
        "condition=established",
        "--timeout=30s",
        &format!("crd/{name}"),
    ]);
    assert!(
        out.success(),
        "kubectl wait for Established on {name}:\n{out}"
    );
    assert_eq!(
        out.stdout,
        format!("customresourcedefinition.apiextensions.k8s.io/{name} condition met\n"),
        "{out}"
    );
    eventually(WAIT, &format!("kubectl get {plural} to succeed"), || {
        k.run(&["get", plural]).success().then_some(())
    });
}

fn install_crontabs(k: &Kubectl) {
    install_crd(k, &crontab_crd(), "crontabs.stable.example.com", "crontabs");
}

#[test]
fn crd_becomes_established_and_is_discovered() {
    let (_server, k) = start();
    install_crontabs(&k);

    let conditions = jsonpath(
        &k,
        &["crd", "crontabs.stable.example.com"],
        "{range .status.conditions[*]}{.type}={.status}/{.reason};{end}",
    );
    assert!(
        conditions.contains("NamesAccepted=True/NoConflicts;"),
        "expected condition NamesAccepted=True reason NoConflicts, got {conditions:?}"
    );
    assert!(
        conditions.contains("Established=True/InitialNamesAccepted;"),
        "expected condition Established=True reason InitialNamesAccepted, got {conditions:?}"
    );
    assert_eq!(
        jsonpath(
            &k,
            &["crd", "crontabs.stable.example.com"],
            "{.status.acceptedNames.kind} {.status.acceptedNames.shortNames} {.status.storedVersions}"
        ),
        "CronTab [\"ct\"] [\"v1\"]"
    );

    // Discovery: the resource, its short name, preferred version and kind.
    let out = k.ok(&["api-resources", "--api-group=stable.example.com"]);
    assert_eq!(
        row(&out, "crontabs"),
        ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"],
        "{out}"
    );
    let versions = k.ok(&["api-versions"]);
    for v in ["stable.example.com/v1", "stable.example.com/v1beta1"] {
        assert!(
            versions.lines().any(|l| l == v),
            "api-versions lacks {v}:\n{versions}"
        );
    }
    // The group lists v1 first: it is the preferred version.
    let group = k.ok(&["get", "--raw", "/apis/stable.example.com"]);
    let group: serde_json::Value = serde_json::from_str(&group).expect("APIGroup JSON");
    assert_eq!(group["kind"], "APIGroup", "{group}");
    assert_eq!(group["preferredVersion"]["version"], "v1", "{group}");
    // The subresources appear in the version's resource list.
    let list = k.ok(&["get", "--raw", "/apis/stable.example.com/v1"]);
    let list: serde_json::Value = serde_json::from_str(&list).expect("APIResourceList JSON");
    let names: Vec<&str> = list["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["crontabs", "crontabs/status", "crontabs/scale"],
        "{list}"
    );
}

#[test]
fn objects_list_with_printer_columns_short_name_and_category() {
    let (_server, k) = start();
    install_crontabs(&k);
    assert_eq!(
        k.ok_stdin(
            &["apply", "-f", "-"],
            &crontab("nightly", "0 3 * * *", Some(2))
        ),
        "crontab.stable.example.com/nightly created\n"
    );
    assert_eq!(
        k.ok_stdin(
            &["create", "-f", "-"],
            &crontab("often", "*/5 * * * *", Some(4))
        ),
        "crontab.stable.example.com/often created\n"
    );

    let out = k.ok(&["get", "crontabs"]);
    let rows = table(&out);
    assert_eq!(rows[0], ["NAME", "SPEC", "REPLICAS", "AGE"], "{out}");
    assert_eq!(rows.len(), 3, "{out}");
    assert_eq!(
        row(&out, "nightly")[..3],
        ["nightly", "0 3 * * *", "2"],
        "{out}"
    );
    assert_eq!(
        row(&out, "often")[..3],
        ["often", "*/5 * * * *", "4"],
        "{out}"
    );
    let age = &row(&out, "nightly")[3];
    assert!(
        age.ends_with('s') && age[..age.len() - 1].parse::<u32>().is_ok(),
        "AGE should read like `5s`, got {age:?}:\n{out}"
    );

    // The short name and the singular name reach the same resource.
    let short = k.ok(&["get", "ct"]);
    assert_eq!(
        table(&short)[0],
        ["NAME", "SPEC", "REPLICAS", "AGE"],
        "{short}"
    );
    assert_eq!(
        row(&short, "nightly")[..3],
        ["nightly", "0 3 * * *", "2"],
        "{short}"
    );
    assert_eq!(
        row(&short, "often")[..3],
        ["often", "*/5 * * * *", "4"],
        "{short}"
    );
    assert_eq!(
        table(&k.ok(&["get", "crontab", "nightly"]))[1][..3],
        ["nightly", "0 3 * * *", "2"]
    );

    // Category `all` puts the kind into `kubectl get all`, named kind.group/name.
    let all = k.ok(&["get", "all"]);
    for name in [
        "crontab.stable.example.com/nightly",
        "crontab.stable.example.com/often",
    ] {
        assert!(
            all.lines().any(|l| l.starts_with(name)),
            "kubectl get all lacks {name}:\n{all}"
        );
    }
    assert!(
        all.lines()
            .any(|l| columns(l) == ["NAME", "SPEC", "REPLICAS", "AGE"]),
        "kubectl get all should print the CronTab table with its columns:\n{all}"
    );

    // -o wide and -o name.
    assert_eq!(
        k.ok(&["get", "ct", "-o", "name"]),
        "crontab.stable.example.com/nightly\ncrontab.stable.example.com/often\n"
    );
}

#[test]
fn objects_read_at_both_served_versions() {
    let (_server, k) = start();
    install_crontabs(&k);
    k.ok_stdin(&["apply", "-f", "-"], &crontab("x", "0 * * * *", Some(3)));
    // Stored at v1, read at v1beta1: only apiVersion changes (conversion strategy None).
    let yaml = k.ok(&[
        "get",
        "crontabs.v1beta1.stable.example.com",
        "x",
        "-o",
        "yaml",
    ]);
    assert!(
        yaml.lines()
            .any(|l| l == "apiVersion: stable.example.com/v1beta1"),
        "expected `apiVersion: stable.example.com/v1beta1` in:\n{yaml}"
    );
    assert!(yaml.contains("replicas: 3"), "{yaml}");
    // The plain name reads the preferred version.
    assert_eq!(
        jsonpath(&k, &["crontab", "x"], "{.apiVersion}"),
        "stable.example.com/v1"
    );

    // Written at v1beta1, read at v1.
    let beta = crontab("second", "0 1 * * *", None)
        .replace("stable.example.com/v1\n", "stable.example.com/v1beta1\n");
    assert_eq!(
        k.ok_stdin(&["create", "-f", "-"], &beta),
        "crontab.stable.example.com/second created\n"
    );
    assert_eq!(
        jsonpath(
            &k,
            &["crontabs.v1.stable.example.com", "second"],
            "{.apiVersion} {.spec.cronSpec}"
        ),
        "stable.example.com/v1 0 1 * * *"
    );
    let raw = k.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1beta1/namespaces/default/crontabs",
    ]);
    let raw: serde_json::Value = serde_json::from_str(&raw).expect("list JSON");
    assert_eq!(raw["kind"], "CronTabList", "{raw}");
    assert_eq!(raw["apiVersion"], "stable.example.com/v1beta1", "{raw}");
    let versions: Vec<&str> = raw["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["apiVersion"].as_str())
        .collect();
    assert_eq!(
        versions,
        ["stable.example.com/v1beta1", "stable.example.com/v1beta1"],
        "{raw}"
    );
}

/// `kubectl create -f -` of `manifest` fails with exactly `expected` on stderr.
fn refused(k: &Kubectl, manifest: &str, expected: &str) {
    let out = k.run_stdin(&["create", "-f", "-"], manifest);
    assert!(!out.success(), "expected refusal `{expected}`, got:\n{out}");
    assert_eq!(out.stderr, expected, "{out}");
}

#[test]
fn schema_violations_name_the_field() {
    let (_server, k) = start();
    install_crontabs(&k);
    refused(
        &k,
        &crontab("big", "0 * * * *", Some(15)),
        "The CronTab \"big\" is invalid: spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10\n",
    );
    refused(
        &k,
        &crontab("small", "0 * * * *", Some(0)),
        "The CronTab \"small\" is invalid: spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1\n",
    );
    refused(
        &k,
        &crontab("pattern", "* * * *", None),
        "The CronTab \"pattern\" is invalid: spec.cronSpec: Invalid value: \"* * * *\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'\n",
    );
    refused(
        &k,
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: required\nspec:\n  image: x\n",
        "The CronTab \"required\" is invalid: spec.cronSpec: Required value\n",
    );
    refused(
        &k,
        &format!("{}  mode: Weekly\n", crontab("enum", "0 * * * *", None)),
        "The CronTab \"enum\" is invalid: spec.mode: Unsupported value: \"Weekly\": supported values: \"Daily\", \"Hourly\"\n",
    );
    refused(
        &k,
        &crontab("typed", "0 * * * *", None).replace(
            "  image: my-cron-image\n",
            "  image: my-cron-image\n  replicas: many\n",
        ),
        "The CronTab \"typed\" is invalid: spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"\n",
    );
    // Nothing refused was stored.
    let out = k.run(&["get", "crontabs"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(
        out.stderr, "No resources found in default namespace.\n",
        "{out}"
    );
    // A valid enum value passes.
    assert_eq!(
        k.ok_stdin(
            &["create", "-f", "-"],
            &format!("{}  mode: Daily\n", crontab("daily", "0 * * * *", None))
        ),
        "crontab.stable.example.com/daily created\n"
    );
}

#[test]
fn defaults_are_applied_and_unknown_fields_pruned_or_refused() {
    let (_server, k) = start();
    install_crontabs(&k);
    // spec.replicas defaults to 1.
    k.ok_stdin(&["create", "-f", "-"], &crontab("plain", "0 * * * *", None));
    assert_eq!(
        jsonpath(&k, &["crontab", "plain"], "{.spec.replicas}"),
        "1",
        "spec.replicas should take the schema's default (1)"
    );

    let colour = format!("{}  colour: blue\n", crontab("extra", "0 * * * *", Some(2)));
    // kubectl's default --validate=strict asks for fieldValidation=Strict.
    refused(
        &k,
        &colour,
        "Error from server (BadRequest): error when creating \"STDIN\": CronTab in version \"v1\" cannot be handled as a CronTab: strict decoding error: unknown field \"spec.colour\"\n",
    );
    let unknown = format!("{colour}extra: top-level\n");
    let out = k.run_stdin(&["create", "-f", "-"], &unknown);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("strict decoding error: ")
            && out.stderr.contains("unknown field \"spec.colour\"")
            && out.stderr.contains("unknown field \"extra\""),
        "expected a strict decoding error naming `spec.colour` and `extra`:\n{out}"
    );
    // --validate=warn: accepted with a warning per field, the fields pruned.
    let out = k.run_stdin(&["create", "--validate=warn", "-f", "-"], &unknown);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "crontab.stable.example.com/extra created\n",
        "{out}"
    );
    assert!(
        out.stderr
            .contains("Warning: unknown field \"spec.colour\"\n")
            && out.stderr.contains("Warning: unknown field \"extra\"\n"),
        "expected `Warning: unknown field \"spec.colour\"` and `Warning: unknown field \"extra\"` on stderr:\n{out}"
    );
    // --validate=false: accepted silently, the fields pruned.
    let quiet = unknown.replace("name: extra", "name: quiet");
    let out = k.run_stdin(&["create", "--validate=false", "-f", "-"], &quiet);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr, "", "{out}");
    for name in ["extra", "quiet"] {
        let obj = k.ok(&["get", "crontab", name, "-o", "json"]);
        let obj: serde_json::Value = serde_json::from_str(&obj).expect("JSON");
        assert_eq!(
            obj["spec"].get("colour"),
            None,
            "spec.colour not pruned: {obj}"
        );
        assert_eq!(obj.get("extra"), None, "extra not pruned: {obj}");
        assert_eq!(obj["spec"]["replicas"], 2, "{obj}");
    }
}

#[test]
fn merge_and_json_patches_apply() {
    let (_server, k) = start();
    install_crontabs(&k);
    k.ok_stdin(&["create", "-f", "-"], &crontab("p", "0 * * * *", Some(2)));

    assert_eq!(
        k.ok(&[
            "patch",
            "crontab",
            "p",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"image":"new-image","mode":"Hourly"}}"#
        ]),
        "crontab.stable.example.com/p patched\n"
    );
    assert_eq!(
        jsonpath(
            &k,
            &["crontab", "p"],
            "{.spec.image} {.spec.mode} {.spec.replicas}"
        ),
        "new-image Hourly 2"
    );
    // A merge patch with null removes the field.
    k.ok(&[
        "patch",
        "ct",
        "p",
        "--type=merge",
        "-p",
        r#"{"spec":{"mode":null}}"#,
    ]);
    assert_eq!(jsonpath(&k, &["crontab", "p"], "{.spec.mode}"), "");

    assert_eq!(
        k.ok(&["patch", "crontab", "p", "--type", "json", "-p", r#"[{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels","value":{"team":"ops"}}]"#]),
        "crontab.stable.example.com/p patched\n"
    );
    assert_eq!(
        jsonpath(
            &k,
            &["crontab", "p"],
            "{.spec.replicas} {.metadata.labels.team}"
        ),
        "4 ops"
    );
    // A patch that breaks the schema is refused like a create.
    let out = k.run(&[
        "patch",
        "crontab",
        "p",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"replicas":11}}"#,
    ]);
    assert!(
        !out.success(),
        "a merge patch to replicas 11 should be refused by the schema's maximum (10):\n{out}"
    );
    assert_eq!(
        out.stderr,
        "The CronTab \"p\" is invalid: spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10\n",
        "{out}"
    );
}

#[test]
fn strategic_merge_patch_is_refused_for_custom_resources() {
    let (_server, k) = start();
    install_crontabs(&k);
    k.ok_stdin(&["create", "-f", "-"], &crontab("p", "0 * * * *", Some(4)));
    // Custom resources have no strategic merge patch: the server answers 415 with the
    // accepted types, and kubectl 1.37 names the patch type and the kind in front of it.
    let out = k.run(&[
        "patch",
        "crontab",
        "p",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ]);
    assert!(!out.success(), "{out}");
    assert_eq!(
        out.stderr,
        "error: application/strategic-merge-patch+json is not supported by stable.example.com/v1, Kind=CronTab: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n",
        "{out}"
    );
    assert_eq!(jsonpath(&k, &["crontab", "p"], "{.spec.replicas}"), "4");
}

#[test]
fn scale_subresource_moves_spec_replicas() {
    let (_server, k) = start();
    install_crontabs(&k);
    k.ok_stdin(&["create", "-f", "-"], &crontab("x", "0 * * * *", Some(2)));
    assert_eq!(
        k.ok(&["scale", "crontab", "x", "--replicas=3"]),
        "crontab.stable.example.com/x scaled\n"
    );
    assert_eq!(jsonpath(&k, &["crontab", "x"], "{.spec.replicas}"), "3");
    // The status replicas path feeds status.replicas of the Scale.
    k.ok(&[
        "patch",
        "crontab",
        "x",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":2}}"#,
    ]);
    let scale = k.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/namespaces/default/crontabs/x/scale",
    ]);
    let scale: serde_json::Value = serde_json::from_str(&scale).expect("Scale JSON");
    assert_eq!(scale["kind"], "Scale", "{scale}");
    assert_eq!(scale["apiVersion"], "autoscaling/v1", "{scale}");
    assert_eq!(scale["metadata"]["name"], "x", "{scale}");
    assert_eq!(scale["spec"]["replicas"], 3, "{scale}");
    assert_eq!(scale["status"]["replicas"], 2, "{scale}");
    // Scaling past the schema's maximum is refused by the object's validation.
    let out = k.run(&["scale", "crontab", "x", "--replicas=11"]);
    assert!(
        !out.success(),
        "scaling to 11 should be refused by the schema's maximum (10):\n{out}"
    );
    assert!(
        out.stderr.contains("spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        "expected the schema's maximum in the message:\n{out}"
    );
    assert_eq!(jsonpath(&k, &["crontab", "x"], "{.spec.replicas}"), "3");
}

#[test]
fn status_subresource_keeps_spec_and_status_apart() {
    let (_server, k) = start();
    install_crontabs(&k);
    k.ok_stdin(&["create", "-f", "-"], &crontab("s", "0 * * * *", Some(2)));
    assert_eq!(
        jsonpath(&k, &["crontab", "s"], "{.metadata.generation}"),
        "1"
    );

    // A write to /status changes status only; the spec in the same body is ignored.
    assert_eq!(
        k.ok(&[
            "patch",
            "crontab",
            "s",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":9},"status":{"replicas":2,"phase":"Running"}}"#
        ]),
        "crontab.stable.example.com/s patched\n"
    );
    assert_eq!(
        jsonpath(
            &k,
            &["crontab", "s"],
            "{.spec.replicas} {.status.replicas} {.status.phase} {.metadata.generation}"
        ),
        "2 2 Running 1"
    );
    // Reading through the subresource returns the whole object.
    assert_eq!(
        jsonpath(
            &k,
            &["crontab", "s", "--subresource=status"],
            "{.status.phase} {.spec.cronSpec}"
        ),
        "Running 0 * * * *"
    );

    // A write to the main resource changes spec only; status in the body is ignored,
    // and the spec change bumps the generation.
    assert_eq!(
        k.ok(&[
            "patch",
            "crontab",
            "s",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":5},"status":{"phase":"Broken"}}"#
        ]),
        "crontab.stable.example.com/s patched\n"
    );
    assert_eq!(
        jsonpath(
            &k,
            &["crontab", "s"],
            "{.spec.replicas} {.status.phase} {.metadata.generation}"
        ),
        "5 Running 2"
    );
    // A replace (PUT) of the whole object keeps the stored status too.
    let mut obj: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "crontab", "s", "-o", "json"])).unwrap();
    obj["status"] = serde_json::json!({"phase": "Replaced"});
    obj["spec"]["image"] = serde_json::json!("replaced-image");
    assert_eq!(
        k.ok_stdin(&["replace", "-f", "-"], &obj.to_string()),
        "crontab.stable.example.com/s replaced\n"
    );
    assert_eq!(
        jsonpath(
            &k,
            &["crontab", "s"],
            "{.spec.image} {.status.phase} {.metadata.generation}"
        ),
        "replaced-image Running 3"
    );
}

#[test]
fn deleting_the_crd_deletes_its_objects_and_leaves_discovery() {
    let (server, k) = start();
    install_crontabs(&k);
    k.ok_stdin(&["create", "-f", "-"], &crontab("a", "0 * * * *", None));
    k.ok(&["create", "namespace", "other"]);
    k.ok_stdin(
        &["create", "-n", "other", "-f", "-"],
        &crontab("b", "0 * * * *", None),
    );
    assert_eq!(
        k.ok(&["get", "crontabs", "-A", "-o", "name"]),
        "crontab.stable.example.com/a\ncrontab.stable.example.com/b\n"
    );

    // A watch of the resource, open while the CRD goes.
    let mut watch = k.spawn(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/crontabs?watch=true",
    ]);
    watch.wait_for_stdout(WAIT, "the watch's initial events", |out| {
        out.matches("\"ADDED\"").count() == 2
    });

    // kubectl delete waits until the CRD (and, through its cleanup finalizer, its objects) is gone.
    assert_eq!(
        k.ok(&[
            "delete",
            "crd",
            "crontabs.stable.example.com",
            "--timeout=60s"
        ]),
        "customresourcedefinition.apiextensions.k8s.io \"crontabs.stable.example.com\" deleted\n"
    );
    let out = k.run(&["get", "crd", "crontabs.stable.example.com"]);
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"crontabs.stable.example.com\" not found\n",
        "{out}"
    );
    // The watch saw its objects deleted, then ended (as kube-apiserver ends it).
    let status = watch.wait_exit(WAIT);
    assert!(
        status.is_some(),
        "the watch did not end with its CRD:\n{}",
        watch.stdout()
    );
    assert_eq!(
        watch.stdout().matches("\"DELETED\"").count(),
        2,
        "{}",
        watch.stdout()
    );
    // The resource has left discovery.
    eventually(WAIT, "stable.example.com to leave /apis", || {
        let apis = k.ok(&["get", "--raw", "/apis"]);
        (!apis.contains("stable.example.com")).then_some(())
    });
    let out = k.run(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/namespaces/default/crontabs",
    ]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("NotFound"),
        "expected 404 NotFound for the removed resource:\n{out}"
    );
    // (A kubectl with a fresh discovery cache: the old one still remembers crontabs.)
    let fresh = server.kubectl();
    let out = fresh.run(&["get", "crontabs"]);
    assert!(!out.success(), "{out}");
    assert_eq!(
        out.stderr, "error: the server doesn't have a resource type \"crontabs\"\n",
        "{out}"
    );

    // Installing the CRD again shows that the objects were deleted, not hidden.
    install_crontabs(&k);
    let out = k.run(&["get", "crontabs", "-A"]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "",
        "the objects of a deleted CRD should be gone when it is created again:\n{out}"
    );
    assert_eq!(out.stderr, "No resources found\n", "{out}");
}

const BACKUP_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: backups
    singular: backup
    kind: Backup
    shortNames: [bk]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              target: {type: string}
"#;

#[test]
fn two_kinds_in_one_group_coexist() {
    let (_server, k) = start();
    install_crontabs(&k);
    install_crd(&k, BACKUP_CRD, "backups.stable.example.com", "backups");

    let out = k.ok(&["api-resources", "--api-group=stable.example.com"]);
    assert_eq!(
        row(&out, "backups"),
        ["backups", "bk", "stable.example.com/v1", "true", "Backup"],
        "{out}"
    );
    assert_eq!(
        row(&out, "crontabs"),
        ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"],
        "{out}"
    );
    k.ok_stdin(&["create", "-f", "-"], &crontab("c", "0 * * * *", None));
    assert_eq!(
        k.ok_stdin(
            &["create", "-f", "-"],
            "apiVersion: stable.example.com/v1\nkind: Backup\nmetadata:\n  name: nightly\nspec:\n  target: s3\n"
        ),
        "backup.stable.example.com/nightly created\n"
    );
    assert_eq!(
        k.ok(&["get", "ct,bk", "-o", "name"]),
        "crontab.stable.example.com/c\nbackup.stable.example.com/nightly\n"
    );
    // A CRD without printer columns lists NAME and AGE.
    let out = k.ok(&["get", "backups"]);
    assert_eq!(table(&out)[0], ["NAME", "AGE"], "{out}");

    // Deleting one CRD leaves the other kind served.
    k.ok(&[
        "delete",
        "crd",
        "backups.stable.example.com",
        "--timeout=60s",
    ]);
    assert_eq!(
        k.ok(&["get", "ct", "-o", "name"]),
        "crontab.stable.example.com/c\n"
    );
    let list = k.ok(&["get", "--raw", "/apis/stable.example.com/v1"]);
    assert!(!list.contains("\"backups\""), "{list}");
    assert!(list.contains("\"crontabs\""), "{list}");
}

/// Polls the CRD's conditions (`type=status/reason/message;` each) until NamesAccepted is
/// False; on timeout, fails showing the conditions last seen.
fn names_accepted_false(k: &Kubectl, crd: &str) -> String {
    let end = std::time::Instant::now() + WAIT;
    loop {
        let conditions = jsonpath(
            k,
            &["crd", crd],
            "{range .status.conditions[*]}{.type}={.status}/{.reason}/{.message};{end}",
        );
        if conditions.contains("NamesAccepted=False") {
            return conditions;
        }
        assert!(
            std::time::Instant::now() < end,
            "expected condition NamesAccepted=False on {crd} within {WAIT:?}; conditions: {conditions:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn conflicting_names_are_not_accepted() {
    let (_server, k) = start();
    install_crontabs(&k);
    // Another CRD of the same group asks for the short name `ct`.
    let clash = BACKUP_CRD
        .replace("backups", "crontasks")
        .replace("backup", "crontask")
        .replace("Backup", "CronTask")
        .replace("[bk]", "[ct]");
    assert_eq!(
        k.ok_stdin(&["apply", "-f", "-"], &clash),
        "customresourcedefinition.apiextensions.k8s.io/crontasks.stable.example.com created\n"
    );
    let conditions = names_accepted_false(&k, "crontasks.stable.example.com");
    assert!(
        conditions.contains("NamesAccepted=False/ShortNamesConflict/\"ct\" is already in use;"),
        "expected NamesAccepted=False reason ShortNamesConflict message `\"ct\" is already in use`, got {conditions:?}"
    );
    assert!(
        conditions.contains("Established=False/NotAccepted/not all names are accepted;"),
        "expected Established=False reason NotAccepted message `not all names are accepted`, got {conditions:?}"
    );
    // `ct` still means crontabs.
    k.ok_stdin(&["create", "-f", "-"], &crontab("c", "0 * * * *", None));
    assert_eq!(
        k.ok(&["get", "ct", "-o", "name"]),
        "crontab.stable.example.com/c\n"
    );
    // A kind that clashes is refused in the same way.
    let kind_clash = BACKUP_CRD
        .replace("backups", "crontables")
        .replace("backup", "crontable")
        .replace("Backup", "CronTab")
        .replace("[bk]", "[ctb]\n    listKind: CronTableList");
    k.ok_stdin(&["apply", "-f", "-"], &kind_clash);
    let conditions = names_accepted_false(&k, "crontables.stable.example.com");
    assert!(
        conditions.contains("NamesAccepted=False/KindConflict/\"CronTab\" is already in use;"),
        "expected NamesAccepted=False reason KindConflict message `\"CronTab\" is already in use`, got {conditions:?}"
    );
}

const CLUSTER_FLAG_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusterflags.stable.example.com
spec:
  group: stable.example.com
  scope: Cluster
  names:
    plural: clusterflags
    singular: clusterflag
    kind: ClusterFlag
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              enabled: {type: boolean, default: false}
    additionalPrinterColumns:
    - name: Enabled
      type: boolean
      jsonPath: .spec.enabled
"#;

#[test]
fn cluster_scoped_crd() {
    let (_server, k) = start();
    install_crd(
        &k,
        CLUSTER_FLAG_CRD,
        "clusterflags.stable.example.com",
        "clusterflags",
    );
    let out = k.ok(&["api-resources", "--api-group=stable.example.com"]);
    assert_eq!(
        row(&out, "clusterflags"),
        [
            "clusterflags",
            "stable.example.com/v1",
            "false",
            "ClusterFlag"
        ],
        "{out}"
    );
    assert_eq!(
        k.ok_stdin(
            &["apply", "-f", "-"],
            "apiVersion: stable.example.com/v1\nkind: ClusterFlag\nmetadata:\n  name: dark-mode\nspec:\n  enabled: true\n"
        ),
        "clusterflag.stable.example.com/dark-mode created\n"
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: stable.example.com/v1\nkind: ClusterFlag\nmetadata:\n  name: beta\nspec: {}\n",
    );
    let out = k.ok(&["get", "clusterflags"]);
    let rows = table(&out);
    // A CRD that lists columns gets NAME and exactly those (AGE only when no column is listed).
    assert_eq!(rows[0], ["NAME", "ENABLED"], "{out}");
    assert_eq!(
        row(&out, "dark-mode"),
        ["dark-mode", "true"],
        "the boolean column should read `true`:\n{out}"
    );
    assert_eq!(
        row(&out, "beta"),
        ["beta", "false"],
        "the defaulted boolean column should read `false`:\n{out}"
    );
    // Stored without a namespace, served at the cluster path.
    let obj = k.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/clusterflags/dark-mode",
    ]);
    let obj: serde_json::Value = serde_json::from_str(&obj).expect("JSON");
    assert_eq!(obj["metadata"].get("namespace"), None, "{obj}");
    assert_eq!(obj["spec"]["enabled"], true, "{obj}");
    // -n is ignored for a cluster-scoped kind.
    assert_eq!(
        k.ok(&[
            "get",
            "clusterflag",
            "beta",
            "-n",
            "kube-system",
            "-o",
            "name"
        ]),
        "clusterflag.stable.example.com/beta\n"
    );
    assert_eq!(
        k.ok(&["delete", "clusterflag", "beta"]),
        "clusterflag.stable.example.com \"beta\" deleted\n"
    );
    assert_eq!(
        k.ok(&["get", "clusterflags", "-o", "name"]),
        "clusterflag.stable.example.com/dark-mode\n"
    );
}

#[test]
fn explain_shows_the_crd_schema() {
    let (_server, k) = start();
    install_crontabs(&k);
    let out = eventually(WAIT, "kubectl explain crontabs.spec to succeed", || {
        let out = k.run(&["explain", "crontabs.spec"]);
        out.success().then_some(out)
    });
    for expected in [
        "GROUP:      stable.example.com\n",
        "KIND:       CronTab\n",
        "VERSION:    v1\n",
        "FIELD: spec <Object>\n",
        "  cronSpec\t<string> -required-\n",
        "  replicas\t<integer>\n",
        "  mode\t<string>\n  enum: Daily, Hourly\n",
    ] {
        assert!(
            out.stdout.contains(expected),
            "expected {expected:?} in kubectl explain crontabs.spec:\n{out}"
        );
    }
    let out = k.run(&[
        "explain",
        "crontabs.spec",
        "--api-version=stable.example.com/v1beta1",
    ]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("VERSION:    v1beta1\n"), "{out}");
}
