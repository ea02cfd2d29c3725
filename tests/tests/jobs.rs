//! The Job, CronJob and TTL-after-finished controllers end to end, with the test standing in for
//! the kubelet (`tests/src/kubelet.rs`): parallelism and completions never exceeded, the backoff
//! limit, Indexed Jobs, deletion after `ttlSecondsAfterFinished`, a CronJob firing (its last
//! schedule time moved back through the status subresource, so no waiting for the clock),
//! `kubectl create job --from=cronjob/...` and a suspended CronJob.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use warren_tests::kubelet::{bind, ensure_node, set_finished, set_running};
use warren_tests::{Kubectl, TestServer, eventually_async};

const WAIT: Duration = Duration::from_secs(30);
const NODE: &str = "node-1";

fn job_yaml(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n{spec}  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: work\n        image: busybox\n"
    )
}

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&all)).expect("kubectl prints JSON")
}

async fn job_pods(client: &kube::Client, ns: &str, job: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    pods.list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}")))
        .await
        .expect("list pods")
        .items
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

fn is_terminal(p: &Pod) -> bool {
    matches!(phase(p), "Succeeded" | "Failed")
}

fn conditions(job: &Value) -> Vec<(String, String)> {
    job.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter(|c| c["status"] == "True")
                .map(|c| {
                    (
                        c["type"].as_str().unwrap_or("").to_string(),
                        c["reason"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs a pod as a kubelet would: bound, running, then finished.
async fn run_pod(client: &kube::Client, ns: &str, pod: &Pod, succeed: bool, n: usize) {
    let pod_name = name(pod);
    let bound = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_ref())
        .is_some_and(|n| !n.is_empty());
    if !bound {
        bind(client, ns, &pod_name, NODE).await.expect("bind");
    }
    set_running(client, ns, &pod_name, &format!("10.244.0.{}", n + 2), true)
        .await
        .expect("running");
    set_finished(client, ns, &pod_name, succeed)
        .await
        .expect("finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_job_never_runs_more_than_parallelism_and_completes_after_completions() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let k = server.kubectl();
    ensure_node(&client, NODE).await.expect("node");
    k.ok_stdin(
        &["apply", "-f", "-"],
        &job_yaml("x", "  completions: 5\n  parallelism: 2\n"),
    );

    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut max_active = 0;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    // The kubelet's loop: each new pod runs and succeeds; polled until the Job completes.
    let end = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pods = job_pods(&client, "default", "x").await;
        let active: Vec<&Pod> = pods.iter().filter(|p| !is_terminal(p)).collect();
        max_active = max_active.max(active.len());
        assert!(
            active.len() <= 2,
            "{} active pods: {:?}",
            active.len(),
            active.iter().map(|p| name(p)).collect::<Vec<_>>()
        );
        for p in active {
            if finished.insert(name(p)) {
                run_pod(&client, "default", p, true, finished.len()).await;
            }
        }
        let job = jobs.get("x").await.expect("job");
        let complete = job
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Complete" && c.status == "True")
            });
        if complete {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for job x to complete"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(max_active, 2, "the job ran two pods at a time");
    assert_eq!(finished.len(), 5, "exactly five pods ran: {finished:?}");
    let pods = job_pods(&client, "default", "x").await;
    assert_eq!(
        pods.len(),
        5,
        "no pod was created after the fifth succeeded"
    );
    for p in &pods {
        assert!(name(p).starts_with("x-"));
        let fins = p.metadata.finalizers.clone().unwrap_or_default();
        assert!(
            !fins.iter().any(|f| f == "batch.kubernetes.io/job-tracking"),
            "the tracking finalizer is removed once counted: {fins:?}"
        );
        let owner = &p.metadata.owner_references.as_ref().expect("owned")[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("Job", Some(true)));
    }

    k.ok(&["wait", "--for=condition=complete", "job/x", "--timeout=60s"]);
    let job = get_json(&k, &["get", "job", "x"]);
    assert_eq!(job["status"]["succeeded"], 5);
    assert_eq!(job["status"]["ready"], 0);
    assert_eq!(job["status"]["terminating"], 0);
    assert_eq!(job["status"]["uncountedTerminatedPods"], json!({}));
    assert!(job["status"].get("active").is_none());
    assert!(job["status"]["startTime"].is_string());
    assert!(job["status"]["completionTime"].is_string());
    assert_eq!(
        conditions(&job),
        vec![
            (
                "SuccessCriteriaMet".to_string(),
                "CompletionsReached".to_string()
            ),
            ("Complete".to_string(), "CompletionsReached".to_string()),
        ]
    );
    let table = k.ok(&["get", "job", "x"]);
    let row = table.lines().nth(1).expect("a row");
    let cols = warren_tests::columns(row);
    assert_eq!(cols[0], "x");
    assert_eq!(cols[1], "Complete");
    assert_eq!(cols[2], "5/5");
    let events = k.ok(&["get", "events", "--field-selector", "involvedObject.name=x"]);
    assert!(events.contains("Created pod: x-"), "{events}");
    assert!(events.contains("Job completed"), "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_job_stops_at_the_backoff_limit() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let k = server.kubectl();
    ensure_node(&client, NODE).await.expect("node");
    k.ok_stdin(
        &["apply", "-f", "-"],
        &job_yaml(
            "fails",
            "  completions: 3\n  parallelism: 3\n  backoffLimit: 2\n",
        ),
    );
    let pods = eventually_async(WAIT, "three pods", || async {
        let pods = job_pods(&client, "default", "fails").await;
        (pods.len() == 3).then_some(pods)
    })
    .await;
    for (i, p) in pods.iter().enumerate() {
        run_pod(&client, "default", p, false, i).await;
    }
    let job = eventually_async(WAIT, "job fails to be Failed", || async {
        let job = get_json(&k, &["get", "job", "fails"]);
        conditions(&job)
            .iter()
            .any(|(t, _)| t == "Failed")
            .then_some(job)
    })
    .await;
    assert_eq!(
        conditions(&job),
        vec![
            (
                "FailureTarget".to_string(),
                "BackoffLimitExceeded".to_string()
            ),
            ("Failed".to_string(), "BackoffLimitExceeded".to_string()),
        ]
    );
    let failed = job["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap()
        .clone();
    assert_eq!(
        failed["message"],
        "Job has reached the specified backoff limit"
    );
    assert_eq!(job["status"]["failed"], 3);
    assert!(job["status"].get("completionTime").is_none());
    // No replacement pod was made: the failed Job is left alone.
    let pods = job_pods(&client, "default", "fails").await;
    assert_eq!(pods.len(), 3);
    let table = k.ok(&["get", "job", "fails"]);
    let cols = warren_tests::columns(table.lines().nth(1).expect("a row"));
    assert_eq!((cols[1].as_str(), cols[2].as_str()), ("Failed", "0/3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_job_gives_each_pod_its_index() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let k = server.kubectl();
    ensure_node(&client, NODE).await.expect("node");
    k.ok_stdin(
        &["apply", "-f", "-"],
        &job_yaml(
            "idx",
            "  completions: 3\n  parallelism: 3\n  completionMode: Indexed\n",
        ),
    );
    let pods = eventually_async(WAIT, "three indexed pods", || async {
        let pods = job_pods(&client, "default", "idx").await;
        (pods.len() == 3).then_some(pods)
    })
    .await;
    let mut indexes = BTreeSet::new();
    for p in &pods {
        let ix =
            p.metadata.annotations.as_ref().unwrap()["batch.kubernetes.io/job-completion-index"]
                .clone();
        assert_eq!(
            p.metadata.labels.as_ref().unwrap()["batch.kubernetes.io/job-completion-index"],
            ix
        );
        assert!(name(p).starts_with(&format!("idx-{ix}-")), "{}", name(p));
        let spec = p.spec.as_ref().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some(format!("idx-{ix}").as_str()));
        let env = spec.containers[0].env.as_ref().expect("env");
        let var = env
            .iter()
            .find(|e| e.name == "JOB_COMPLETION_INDEX")
            .expect("JOB_COMPLETION_INDEX");
        assert_eq!(
            var.value_from
                .as_ref()
                .unwrap()
                .field_ref
                .as_ref()
                .unwrap()
                .field_path,
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        );
        indexes.insert(ix);
    }
    assert_eq!(
        indexes,
        ["0", "1", "2"].iter().map(|s| s.to_string()).collect()
    );
    // Index 1 first: completedIndexes is a range string.
    let by_index = |ix: &str| {
        pods.iter()
            .find(|p| {
                p.metadata.annotations.as_ref().unwrap()["batch.kubernetes.io/job-completion-index"]
                    == ix
            })
            .unwrap()
            .clone()
    };
    run_pod(&client, "default", &by_index("1"), true, 1).await;
    eventually_async(WAIT, "completedIndexes 1", || async {
        let job = get_json(&k, &["get", "job", "idx"]);
        (job["status"]["completedIndexes"] == "1").then_some(())
    })
    .await;
    run_pod(&client, "default", &by_index("0"), true, 0).await;
    run_pod(&client, "default", &by_index("2"), true, 2).await;
    let job = eventually_async(WAIT, "indexed job to complete", || async {
        let job = get_json(&k, &["get", "job", "idx"]);
        conditions(&job)
            .iter()
            .any(|(t, _)| t == "Complete")
            .then_some(job)
    })
    .await;
    assert_eq!(job["status"]["completedIndexes"], "0-2");
    assert_eq!(job["status"]["succeeded"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_job_with_zero_ttl_is_deleted() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let k = server.kubectl();
    ensure_node(&client, NODE).await.expect("node");
    k.ok_stdin(
        &["apply", "-f", "-"],
        &job_yaml("short", "  ttlSecondsAfterFinished: 0\n"),
    );
    let pod = eventually_async(WAIT, "the pod", || async {
        job_pods(&client, "default", "short")
            .await
            .into_iter()
            .next()
    })
    .await;
    run_pod(&client, "default", &pod, true, 0).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    eventually_async(WAIT, "job short to be deleted", || async {
        jobs.get_opt("short")
            .await
            .expect("get")
            .is_none()
            .then_some(())
    })
    .await;
}

/// Moves a CronJob's last schedule time back, so that a `* * * * *` schedule is due now.
async fn due_now(client: &kube::Client, name: &str) {
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), "default");
    let past = (chrono::Utc::now() - chrono::Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    cronjobs
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"lastScheduleTime": past}})),
        )
        .await
        .expect("patch status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cronjob_fires_when_due_unless_suspended() {
    let server = TestServer::start().expect("server starts");
    let client = server.client().await.expect("client");
    let k = server.kubectl();
    for name in ["sleepy", "ticker"] {
        k.ok(&[
            "create",
            "cronjob",
            name,
            "--image=busybox",
            "--schedule=* * * * *",
        ]);
    }
    k.ok(&[
        "patch",
        "cronjob",
        "sleepy",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]);
    // The suspended one is due first, then the other: the controller syncs them in order.
    due_now(&client, "sleepy").await;
    due_now(&client, "ticker").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let job = eventually_async(WAIT, "ticker to start a job", || async {
        let list = jobs.list(&ListParams::default()).await.expect("list");
        list.items.into_iter().find(|j| {
            j.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o[0].name == "ticker")
        })
    })
    .await;
    let job_name = job.metadata.name.clone().unwrap();
    let annotations = job.metadata.annotations.clone().unwrap_or_default();
    let scheduled = &annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"];
    let minutes = chrono::DateTime::parse_from_rfc3339(scheduled)
        .expect("RFC 3339")
        .timestamp()
        / 60;
    assert_eq!(job_name, format!("ticker-{minutes}"));
    let cj = eventually_async(WAIT, "ticker's status to list the job", || async {
        let cj = get_json(&k, &["get", "cronjob", "ticker"]);
        (cj["status"]["active"][0]["name"] == job_name.as_str()).then_some(cj)
    })
    .await;
    assert_eq!(cj["status"]["lastScheduleTime"], scheduled.as_str());
    // The Job runs a pod as any Job does.
    eventually_async(WAIT, "the job's pod", || async {
        (!job_pods(&client, "default", &job_name).await.is_empty()).then_some(())
    })
    .await;
    // The suspended one (synced before) started nothing.
    let all = jobs.list(&ListParams::default()).await.expect("list");
    assert!(
        all.items.iter().all(|j| j
            .metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| o[0].name != "sleepy")),
        "a suspended CronJob started a Job"
    );
    let sleepy = get_json(&k, &["get", "cronjob", "sleepy"]);
    assert!(sleepy["status"].get("active").is_none());

    // kubectl creates a Job from the template client-side; the Job controller runs it.
    k.ok(&["create", "job", "manual", "--from=cronjob/sleepy"]);
    let manual = get_json(&k, &["get", "job", "manual"]);
    assert_eq!(
        manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    eventually_async(WAIT, "the manual job's pod", || async {
        (!job_pods(&client, "default", "manual").await.is_empty()).then_some(())
    })
    .await;
    let cols = warren_tests::columns(k.ok(&["get", "job", "manual"]).lines().nth(1).expect("row"));
    assert_eq!((cols[1].as_str(), cols[2].as_str()), ("Running", "0/1"));
}
