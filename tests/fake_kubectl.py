"""A stateful stand-in for kubectl (and its Argo Rollouts plugin) for scenario tests.

It keeps the cluster's objects in `$STUB_DIR/state.json`, applies the manifests the
scripts build (with the real `kubectl kustomize`), acts as the Deployment and Argo
Rollouts controllers would in an instant, and answers the jsonpath queries the scripts
make. Images listed in `$FAKE_BAD_IMAGES` (comma-separated) never become ready: their
rollout fails, an Argo canary's analysis aborts it. `$FAKE_FAIL_MIGRATION=1` fails the
migration Job. Every call is appended to `$STUB_DIR/calls`.

`serving(state, service)` says which image takes the traffic, so a test asserts the
outcome of a pipeline, not the commands it printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

KINDS = {
    "deployment": "Deployment",
    "deployments": "Deployment",
    "rollout": "Rollout",
    "rollouts": "Rollout",
    "service": "Service",
    "job": "Job",
    "replicaset": "ReplicaSet",
    "configmap": "ConfigMap",
}


def install(folder: Path) -> Path:
    """Write `kubectl` (and a `sleep` that returns at once) into folder; return folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kubectl").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{__file__}" "$@"\n')
    (folder / "sleep").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("kubectl", "sleep"):
        (folder / tool).chmod(0o755)
    return folder


def load(folder: Path) -> dict[str, Any]:
    path = folder / "state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save(folder: Path, state: dict[str, Any]) -> None:
    (folder / "state.json").write_text(json.dumps(state, indent=1))


def get(state: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    return state.get(kind, {}).get(name)


def image_of(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def serving(state: dict[str, Any], service: str) -> str | None:
    """The image that takes the service's traffic, whatever the strategy."""
    rollout = get(state, "Rollout", service)
    if rollout:
        stable = rollout["status"].get("stableRS")
        return image_of(state["ReplicaSet"][f"{service}-{stable}"]) if stable else None
    svc = get(state, "Service", service)
    slot = (svc or {}).get("spec", {}).get("selector", {}).get("slot")
    if slot:
        return image_of(state["Deployment"][f"{service}-{slot}"])
    deployment = get(state, "Deployment", service)
    if not deployment:
        return None
    canary = get(state, "Deployment", f"{service}-canary")
    if (
        canary
        and canary["spec"].get("replicas", 0) > 0
        and image_of(canary) != image_of(deployment)
    ):
        return f"{image_of(deployment)} + canary {image_of(canary)}"
    return image_of(deployment)


def bad(image: str) -> bool:
    return image in [i for i in os.environ.get("FAKE_BAD_IMAGES", "").split(",") if i]


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def revision_key(kind: str) -> str:
    return (
        "rollout.argoproj.io/revision" if kind == "Rollout" else "deployment.kubernetes.io/revision"
    )


def replica_sets(state: dict[str, Any], owner: str) -> dict[str, dict[str, Any]]:
    return {
        name: rs
        for name, rs in state.get("ReplicaSet", {}).items()
        if rs["metadata"].get("owner") == owner
    }


def set_template(state: dict[str, Any], obj: dict[str, Any], template: dict[str, Any]) -> str:
    """Point a workload at a pod template as its controller would: the ReplicaSet of that
    template becomes the newest revision. Returns the template's hash."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    pod_hash = template_hash(template)
    key = revision_key(kind)
    sets = replica_sets(state, name)
    newest = max((int(rs["metadata"]["annotations"][key]) for rs in sets.values()), default=0)
    rs_name = f"{name}-{pod_hash}"
    current = sets.get(rs_name)
    if current is None or int(current["metadata"]["annotations"][key]) != newest:
        state.setdefault("ReplicaSet", {})[rs_name] = {
            "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "owner": name, "annotations": {key: str(newest + 1)}},
            "spec": {"template": template},
        }
    obj["spec"]["template"] = template
    obj["metadata"].setdefault("annotations", {})[key] = state["ReplicaSet"][rs_name]["metadata"][
        "annotations"
    ][key]
    return pod_hash


def rollout_update(state: dict[str, Any], obj: dict[str, Any], template: dict[str, Any]) -> None:
    """The Argo Rollouts controller, instantly: a new template starts an update; one that
    already is the stable one makes the rollout Healthy at once."""
    status = obj.setdefault("status", {})
    pod_hash = set_template(state, obj, template)
    generation = obj["metadata"].get("generation", 0) + 1
    obj["metadata"]["generation"] = status["observedGeneration"] = generation
    status["currentPodHash"] = pod_hash
    status.pop("abort", None)
    if not status.get("stableRS") or status["stableRS"] == pod_hash:
        status["stableRS"] = pod_hash
        status["phase"] = "Degraded" if bad(image_of(obj)) else "Healthy"
    elif bad(image_of(obj)):
        # Probes or the analysis fail: the controller aborts; traffic stays on stable.
        status.update(phase="Degraded", abort=True)
    elif "blueGreen" in obj["spec"].get("strategy", {}):
        status["phase"] = "Paused"
    else:
        # A healthy canary walks its steps; the fake walks them at once.
        status.update(stableRS=pod_hash, phase="Healthy")


def apply(state: dict[str, Any], doc: dict[str, Any]) -> None:
    kind, name = doc["kind"], doc["metadata"]["name"]
    store = state.setdefault(kind, {})
    old = store.get(name)
    if kind in {"Deployment", "Rollout"}:
        obj = old or {"kind": kind, "metadata": {"name": name, "annotations": {}}, "spec": {}}
        obj["metadata"]["labels"] = doc["metadata"].get("labels", {})
        template = doc["spec"]["template"]
        spec = {k: v for k, v in doc["spec"].items() if k != "template"}
        replicas = obj["spec"].get("replicas")
        obj["spec"].update(spec)
        if replicas is not None and "replicas" not in spec:
            obj["spec"]["replicas"] = replicas
        store[name] = obj
        if kind == "Rollout":
            if obj["spec"].get("template") != template or old is None:
                rollout_update(state, obj, template)
        elif obj["spec"].get("template") != template or old is None:
            set_template(state, obj, template)
        return
    if kind == "Job":
        failed = os.environ.get("FAKE_FAIL_MIGRATION") == "1"
        doc = {
            **doc,
            "status": {
                "conditions": [{"type": "Failed" if failed else "Complete", "status": "True"}]
            },
        }
    if kind == "Service" and old:
        # The live selector is the script's to patch; apply keeps annotations.
        doc = {
            **doc,
            "metadata": {**doc["metadata"], "annotations": old["metadata"].get("annotations", {})},
        }
    store[name] = doc


def matches(doc: dict[str, Any], selector: str) -> bool:
    labels = doc.get("metadata", {}).get("labels", {}) or {}
    return all(labels.get(k) == v for k, v in (p.split("=", 1) for p in selector.split(",")))


def jsonpath(obj: dict[str, Any] | None, template: str) -> str:
    """The subset of kubectl's jsonpath the scripts use: {.a.b\\.c[0].d} fields and a
    `[?(@.status=="True")].type` filter."""

    def field(expr: str) -> str:
        filtered = re.fullmatch(r'\.status\.conditions\[\?\(@\.status=="True"\)\]\.type', expr)
        if filtered:
            conditions = (obj or {}).get("status", {}).get("conditions", [])
            return " ".join(c["type"] for c in conditions if c["status"] == "True")
        value: Any = obj
        for part in re.findall(r"\.((?:\\\.|[^.\[])+)(?:\[(\d+)\])?", expr):
            key, index = part[0].replace("\\.", "."), part[1]
            value = value.get(key) if isinstance(value, dict) else None
            if index and isinstance(value, list):
                value = value[int(index)] if int(index) < len(value) else None
        if value is None:
            return ""
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    return re.sub(r"\{([^{}]*)\}", lambda m: field(m.group(1)), template)


def option(args: list[str], name: str, default: str | None = None) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def kind_and_name(args: list[str]) -> tuple[str, str]:
    words = [a for a in args if not a.startswith("-")]
    if "/" in words[0]:
        kind, name = words[0].split("/", 1)
    else:
        kind, name = words[0], words[1]
    return KINDS[kind], name


def find_revision(state: dict[str, Any], kind: str, name: str, wanted: str | None) -> Any:
    """The pod template of a workload's revision (the one before the newest by default)."""
    key = revision_key(kind)
    sets = sorted(
        replica_sets(state, name).values(),
        key=lambda rs: int(rs["metadata"]["annotations"][key]),
    )
    found = (
        [rs for rs in sets if rs["metadata"]["annotations"][key] == wanted]
        if wanted
        else sets[-2:-1]
    )
    if not found:
        print(f"unable to find specified revision {wanted}", file=sys.stderr)
        return None
    return found[0]["spec"]["template"]


def argo(state: dict[str, Any], args: list[str]) -> int:
    verb = args[2]  # kubectl argo rollouts VERB NAME
    if verb == "version":
        print("kubectl-argo-rollouts: v1.7.2")
        return 0
    name = args[3]
    obj = get(state, "Rollout", name)
    if obj is None:
        print(f'rollouts.argoproj.io "{name}" not found', file=sys.stderr)
        return 1
    status = obj["status"]
    if verb == "promote" and not status.get("abort") and not bad(image_of(obj)):
        status.update(stableRS=status["currentPodHash"], phase="Healthy")
    elif verb == "abort" and status["currentPodHash"] != status["stableRS"]:
        status.update(abort=True, phase="Degraded")
    elif verb == "undo":
        template = find_revision(state, "Rollout", name, option(args, "--to-revision"))
        if template is None:
            return 1
        rollout_update(state, obj, template)
    elif verb == "status":
        print(status["phase"])
        return 0 if status["phase"] == "Healthy" else 1
    return 0


def apply_files(state: dict[str, Any], args: list[str]) -> int:
    docs = yaml.safe_load_all(Path(option(args, "--filename") or "").read_text())
    selector = option(args, "--selector", "")
    for doc in docs:
        if doc and (not selector or matches(doc, selector)):
            apply(state, doc)
    return 0


def get_object(state: dict[str, Any], args: list[str]) -> int:
    if args[1] == "pods":
        # The native canary's health check: "ready restarts" per canary pod.
        service = re.search(r"app.kubernetes.io/name=([^,]+)", option(args, "--selector", "") or "")
        canary = get(state, "Deployment", f"{service.group(1) if service else ''}-canary")
        if canary:
            line = "false 3" if bad(image_of(canary)) else "true 0"
            print("".join(f"{line}\n" for _ in range(canary["spec"].get("replicas", 0))), end="")
        return 0
    if args[1] == "endpoints":
        print(args[2])
        return 0
    kind, name = kind_and_name(args[1:])
    obj = get(state, kind, name)
    if obj is None:
        if "--ignore-not-found" in args:
            return 0
        print(f'Error from server (NotFound): "{name}" not found', file=sys.stderr)
        return 1
    output = option(args, "--output", "") or ""
    print(jsonpath(obj, output.removeprefix("jsonpath=")) if output else name, end="")
    return 0


def change_object(state: dict[str, Any], args: list[str]) -> int:
    """delete, annotate, patch (a Service's selector) and scale."""
    verb, (kind, name) = args[0], kind_and_name(args[1:])
    if verb == "delete":
        state.get(kind, {}).pop(name, None)
        return 0
    obj = get(state, kind, name)
    if obj is None:
        print(f'Error from server (NotFound): "{name}" not found', file=sys.stderr)
        return 1
    if verb == "annotate":
        for pair in (a for a in args[2:] if "=" in a and not a.startswith("-")):
            key, value = pair.split("=", 1)
            obj["metadata"].setdefault("annotations", {})[key] = value
    elif verb == "patch":
        patch = json.loads(option(args, "--patch") or "{}")
        obj["spec"]["selector"].update(patch["spec"]["selector"])
    elif verb == "scale":
        obj["spec"]["replicas"] = int(option(args, "--replicas") or 0)
    return 0


def rollout(state: dict[str, Any], args: list[str]) -> int:
    kind, name = kind_and_name(args[2:])
    obj = get(state, kind, name)
    if obj is None:
        return 1
    if args[1] == "status":
        return 1 if bad(image_of(obj)) else 0
    if args[1] == "undo":
        template = find_revision(state, kind, name, option(args, "--to-revision"))
        if template is None:
            return 1
        set_template(state, obj, template)
    return 0


def explain(state: dict[str, Any], args: list[str]) -> int:
    """The Rollout CRD's schema: Argo Rollouts before 1.7 has no preStop sleep."""
    old = os.environ.get("FAKE_ARGO_BEFORE_1_7") == "1"
    if old and args[1].startswith("rollouts.") and args[1].endswith(".preStop.sleep"):
        print('error: field "sleep" does not exist', file=sys.stderr)
        return 1
    return 0


VERBS = {
    "argo": argo,
    "explain": explain,
    "apply": apply_files,
    "get": get_object,
    "delete": change_object,
    "annotate": change_object,
    "patch": change_object,
    "scale": change_object,
    "rollout": rollout,
}


def main(args: list[str]) -> int:
    folder = Path(os.environ["STUB_DIR"])
    with (folder / "calls").open("a") as calls:
        calls.write("kubectl " + " ".join(args) + "\n")
    if args[0] == "kustomize":
        return subprocess.run([os.environ["REAL_KUBECTL"], *args], check=False).returncode
    state = load(folder)
    handler = VERBS.get(args[0])
    code = handler(state, args) if handler else 0
    save(folder, state)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
