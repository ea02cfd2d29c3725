//! The "chart with its own CRD" flow: one multi-document file holds a CRD and objects of
//! its kind. The first `kubectl apply -f` cannot map the new kind yet and says so the way
//! kubectl does against kube-apiserver; applying again once the CRD is established (as
//! Helm users and CI scripts do, in a bounded retry loop) brings every object in.

use std::time::Duration;

use warren_tests::{TestServer, eventually};

const DEADLINE: Duration = Duration::from_secs(60);

const CHART: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.charts.example.com
spec:
  group: charts.example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
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
              size: {type: integer}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: widget-settings
data:
  colour: blue
---
apiVersion: charts.example.com/v1
kind: Widget
metadata:
  name: small
spec:
  size: 1
---
apiVersion: charts.example.com/v1
kind: Widget
metadata:
  name: large
spec:
  size: 9
"#;

#[test]
fn crd_and_its_objects_from_one_file_with_retries() {
    let server = TestServer::start().expect("server starts");
    let k = server.kubectl();
    let file = k.work_dir().join("chart.yaml");
    std::fs::write(&file, CHART).unwrap();
    let file = file.to_str().unwrap();

    // The first attempt creates what it can map and names what it cannot.
    let first = k.run(&["apply", "-f", file]);
    assert!(
        !first.success(),
        "the first apply cannot know kind Widget yet:\n{first}"
    );
    assert!(
        first.stdout.contains(
            "customresourcedefinition.apiextensions.k8s.io/widgets.charts.example.com created\n"
        ) && first.stdout.contains("configmap/widget-settings created\n"),
        "the first apply should still create the CRD and the ConfigMap:\n{first}"
    );
    // Retry, as a user would, until the apply succeeds or the deadline passes.
    let mut attempts = 1;
    let last = eventually(DEADLINE, "kubectl apply of the chart to succeed", || {
        let out = k.run(&["apply", "-f", file]);
        attempts += 1;
        if out.success() {
            return Some(out);
        }
        assert!(
            out.stderr.contains("ensure CRDs are installed first"),
            "attempt {attempts} failed for another reason than the missing kind:\n{out}"
        );
        None
    });
    assert_eq!(
        last.stdout,
        "customresourcedefinition.apiextensions.k8s.io/widgets.charts.example.com unchanged\n\
         configmap/widget-settings unchanged\n\
         widget.charts.example.com/small created\n\
         widget.charts.example.com/large created\n",
        "{last}"
    );

    assert_eq!(
        k.ok(&["get", "-f", file, "-o", "name"]),
        "customresourcedefinition.apiextensions.k8s.io/widgets.charts.example.com\n\
         configmap/widget-settings\n\
         widget.charts.example.com/small\n\
         widget.charts.example.com/large\n"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "widgets",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.spec.size} {end}"
        ]),
        "large=9 small=1 "
    );

    // A last apply reports everything unchanged.
    let out = k.run(&["apply", "-f", file]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout,
        "customresourcedefinition.apiextensions.k8s.io/widgets.charts.example.com unchanged\n\
         configmap/widget-settings unchanged\n\
         widget.charts.example.com/small unchanged\n\
         widget.charts.example.com/large unchanged\n",
        "{out}"
    );

    // Checked last so that the rest of the flow is exercised either way: the first attempt
    // failed on mapping the new kind (the CRD did not exist when kubectl read the file),
    // not on anything else.
    for name in ["small", "large"] {
        let expected = format!(
            "resource mapping not found for name: \"{name}\" namespace: \"\" from \"{file}\": no matches for kind \"Widget\" in version \"charts.example.com/v1\"\nensure CRDs are installed first"
        );
        assert!(
            first.stderr.contains(&expected),
            "expected `{expected}` on stderr:\n{first}"
        );
    }
}
