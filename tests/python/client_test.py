"""Drives tenant-apiserver with the official Python `kubernetes` client.

Run by tests/tests/python_client.rs with KUBECONFIG pointing at a fresh server.
Prints one line per check and exits non-zero (with a traceback) on the first failure.
"""

import json
import os
import sys
import threading
import traceback

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "default"
LABEL = "suite=python"


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def expect_api_error(fn, status, reason, message=None):
    try:
        fn()
    except ApiException as e:
        body = json.loads(e.body)
        check(e.status == status, f"HTTP {status} (got {e.status})")
        check(body.get("kind") == "Status", f"a Status body: {body}")
        check(body.get("reason") == reason, f"reason {reason} (got {body.get('reason')})")
        if message is not None:
            check(body.get("message") == message, f"message {message!r} (got {body.get('message')!r})")
        return body
    raise AssertionError(f"expected HTTP {status} {reason}")


def main():
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    # /version (the client asks for /version/ with a trailing slash)
    version = client.VersionApi().get_code()
    check(version.git_version.startswith("v1."), f"server version {version.git_version}")

    names = [ns.metadata.name for ns in core.list_namespace().items]
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        check(ns in names, f"namespace {ns} listed")

    # Remember where we are, to watch everything that follows.
    start = core.list_namespaced_config_map(NS, label_selector=LABEL)
    check(start.items == [], "no configmaps with the label yet")
    start_rv = start.metadata.resource_version
    check(bool(start_rv), f"list resourceVersion {start_rv}")

    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="py-cm", labels={"suite": "python"}),
        data={"k": "v1"},
    )
    created = core.create_namespaced_config_map(NS, body)
    check(created.metadata.uid and created.metadata.resource_version, "create returns uid and resourceVersion")
    check(created.metadata.creation_timestamp is not None, "create sets creationTimestamp")

    got = core.read_namespaced_config_map("py-cm", NS)
    check(got.data == {"k": "v1"}, f"read back data {got.data}")
    check(got.metadata.resource_version == created.metadata.resource_version, "same resourceVersion")

    listed = core.list_namespaced_config_map(NS, label_selector=LABEL)
    check([i.metadata.name for i in listed.items] == ["py-cm"], "list by label finds it")
    check(
        core.list_namespaced_config_map(NS, field_selector="metadata.name=py-cm").items[0].metadata.name == "py-cm",
        "list by field selector finds it",
    )

    expect_api_error(
        lambda: core.create_namespaced_config_map(NS, body),
        409,
        "AlreadyExists",
        'configmaps "py-cm" already exists',
    )
    expect_api_error(
        lambda: core.read_namespaced_config_map("nope", NS),
        404,
        "NotFound",
        'configmaps "nope" not found',
    )

    # replace (MODIFIED), JSON patch (MODIFIED), delete (DELETED)
    got.data = {"k": "v2"}
    replaced = core.replace_namespaced_config_map("py-cm", NS, got)
    check(replaced.data == {"k": "v2"}, "replace")
    check(int(replaced.metadata.resource_version) > int(created.metadata.resource_version), "resourceVersion grows")
    stale = got
    stale.metadata.resource_version = created.metadata.resource_version
    expect_api_error(lambda: core.replace_namespaced_config_map("py-cm", NS, stale), 409, "Conflict")
    patched = core.patch_namespaced_config_map(
        "py-cm", NS, [{"op": "replace", "path": "/data/k", "value": "v3"}]
    )
    check(patched.data == {"k": "v3"}, "JSON patch")
    core.delete_namespaced_config_map("py-cm", NS)
    expect_api_error(lambda: core.read_namespaced_config_map("py-cm", NS), 404, "NotFound")

    # Watch from the version before the create: ADDED, MODIFIED, MODIFIED, DELETED.
    events = []
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_config_map,
        NS,
        label_selector=LABEL,
        resource_version=start_rv,
        timeout_seconds=20,
        _request_timeout=60,
    ):
        events.append((ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("k")))
        if ev["type"] == "DELETED":
            w.stop()
    check(
        events
        == [
            ("ADDED", "py-cm", "v1"),
            ("MODIFIED", "py-cm", "v2"),
            ("MODIFIED", "py-cm", "v3"),
            ("DELETED", "py-cm", "v3"),
        ],
        f"watch from {start_rv} saw {events}",
    )

    # A live watch sees a change made while it runs.
    seen = []
    ready = threading.Event()

    def make_changes():
        ready.wait(10)
        core.create_namespaced_config_map(
            NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-live", labels={"suite": "python"}))
        )
        core.delete_namespaced_config_map("py-live", NS)

    now = core.list_namespaced_config_map(NS, label_selector=LABEL).metadata.resource_version
    t = threading.Thread(target=make_changes)
    t.start()
    w = watch.Watch()
    ready.set()
    for ev in w.stream(
        core.list_namespaced_config_map,
        NS,
        label_selector=LABEL,
        resource_version=now,
        timeout_seconds=20,
        _request_timeout=60,
    ):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    check(seen == [("ADDED", "py-live"), ("DELETED", "py-live")], f"live watch saw {seen}")

    # Typed objects of another group round-trip, with server defaults.
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-web"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "py-web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py-web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.27")]),
            ),
        ),
    )
    made = apps.create_namespaced_deployment(NS, dep)
    check(made.spec.replicas == 1, f"deployment replicas defaulted to 1 (got {made.spec.replicas})")
    check(made.spec.strategy.type == "RollingUpdate", "deployment strategy defaulted")
    check(made.metadata.generation == 1, "generation 1")
    apps.delete_namespaced_deployment("py-web", NS)

    # A namespace of our own, listed and deleted.
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py-ns")))
    check("py-ns" in [n.metadata.name for n in core.list_namespace().items], "created namespace listed")
    core.delete_namespace("py-ns")

    print("python client: all checks passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # noqa: BLE001 - report any failure and exit non-zero
        traceback.print_exc()
        sys.exit(1)
