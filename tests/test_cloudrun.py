"""Google Cloud Run: the Knative service manifest, deploy/rollback scenarios on a stateful
fake gcloud, the GitLab token exchange, and the `prodready check` rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from delivery import (
    HEALTH,
    Renders,
    combo_id,
    migrate_command,
    plain_var_names,
    secret_var_names,
    strategies,
)
from helpers import build_tree, choices, git_init_commit, render, require_tool
from prodready import check_repository

# One worker renders this module's projects once (scripts/test.sh runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("cloudrun")

COMBOS: list[dict[str, Any]] = [
    {"language": language, "strategy": strategy}
    for strategy, _ in strategies("cloudrun")
    for language in choices("language")
] + [
    {"language": "python", "framework": "django", "strategy": "canary", "cpu_limit": "1500m"},
    {"language": "python", "framework": "flask", "strategy": "rolling", "database": "none"},
    {"language": "go", "strategy": "blue-green", "cache": "none", "gcp_region": "europe-west4"},
]
TAG = "3f9c2ab"
PLACEHOLDERS = {"SERVICE", "IMAGE", "APP_ENV", "APP_VERSION", "MIN_INSTANCES", "SERVICE_ACCOUNT"}

# The part of Cloud Run's service YAML (Admin API v1) the template uses, closed
# (additionalProperties: false) so a misspelt or misplaced key fails here rather than
# at `gcloud run services replace`.
_PROBE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["httpGet"],
    "properties": {
        "httpGet": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "pattern": "^/"},
                "port": {"type": "integer"},
            },
        },
        "initialDelaySeconds": {"type": "integer", "minimum": 0, "maximum": 240},
        "periodSeconds": {"type": "integer", "minimum": 1, "maximum": 3600},
        "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": 3600},
        "failureThreshold": {"type": "integer", "minimum": 1},
    },
}
_ENV = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "oneOf": [{"required": ["value"]}, {"required": ["valueFrom"]}],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$", "not": {"const": "PORT"}},
        "value": {"type": "string"},
        "valueFrom": {
            "type": "object",
            "additionalProperties": False,
            "required": ["secretKeyRef"],
            "properties": {
                "secretKeyRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "key"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,255}$"},
                        "key": {"type": "string"},
                    },
                }
            },
        },
    },
}
SERVICE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "serving.knative.dev/v1"},
        "kind": {"const": "Service"},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["template"],
            "properties": {
                "template": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["spec"],
                    "properties": {
                        "metadata": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "annotations": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                }
                            },
                        },
                        "spec": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["containers", "serviceAccountName"],
                            "properties": {
                                "serviceAccountName": {"type": "string"},
                                "containerConcurrency": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": 1000,
                                },
                                "timeoutSeconds": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": 3600,
                                },
                                "containers": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["image", "ports", "resources"],
                                        "properties": {
                                            "name": {"type": "string"},
                                            "image": {"type": "string"},
                                            "ports": {
                                                "type": "array",
                                                "maxItems": 1,
                                                "items": {
                                                    "type": "object",
                                                    "additionalProperties": False,
                                                    "properties": {
                                                        "name": {"enum": ["http1", "h2c"]},
                                                        "containerPort": {"type": "integer"},
                                                    },
                                                },
                                            },
                                            "env": {"type": "array", "items": _ENV},
                                            "resources": {
                                                "type": "object",
                                                "additionalProperties": False,
                                                "properties": {
                                                    "limits": {
                                                        "type": "object",
                                                        "additionalProperties": False,
                                                        "required": ["cpu", "memory"],
                                                        "properties": {
                                                            "cpu": {"type": "string"},
                                                            "memory": {
                                                                "type": "string",
                                                                "pattern": "^[0-9]+(Mi|Gi)$",
                                                            },
                                                        },
                                                    }
                                                },
                                            },
                                            "startupProbe": _PROBE,
                                            "livenessProbe": _PROBE,
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
                "traffic": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["percent"],
                        "properties": {
                            "revisionName": {"type": "string"},
                            "latestRevision": {"type": "boolean"},
                            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
                            "tag": {"type": "string", "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$"},
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def renders(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Renders:
    return Renders(template_src, tmp_path_factory.mktemp("cloudrun"))


def project_for(renders: Renders, combo: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    answers = {"platform": "cloudrun", "database": "postgres", "cache": "redis", **combo}
    return renders(combo_id(answers), **answers), answers


def gcp_project(name: str) -> str:
    """The gcp_project answer's default for a service name."""
    return (name + "-prod")[:30].rstrip("-")


def account(name: str, role: str) -> str:
    """A service account of the service (IDs are at most 30 characters)."""
    return f"{name[:19].rstrip('-')}-{role}@{gcp_project(name)}.iam.gserviceaccount.com"


def filled(project: Path, **values: str) -> dict[str, Any]:
    """The service manifest with its placeholders filled in, as scripts/deploy.sh does."""
    text = (project / "deploy" / "cloudrun" / "service.yaml").read_text()
    for key in PLACEHOLDERS:
        text = text.replace("${" + key + "}", values.get(key, f"x-{key.lower()}"))
    assert "${" not in text
    return yaml.safe_load(text)


@pytest.mark.parametrize("combo", COMBOS, ids=[combo_id(c) for c in COMBOS])
def test_service_manifest_follows_the_answers(renders: Renders, combo: dict[str, Any]) -> None:
    project, answers = project_for(renders, combo)
    text = (project / "deploy" / "cloudrun" / "service.yaml").read_text()
    used = {part.split("}", 1)[0] for part in text.split("${")[1:]}
    assert used == PLACEHOLDERS
    service = filled(project, MIN_INSTANCES="2")
    jsonschema.validate(service, SERVICE_SCHEMA)
    assert service["metadata"]["labels"] == {
        "cloud.googleapis.com/location": answers.get("gcp_region", "us-central1")
    }
    template = service["spec"]["template"]
    scaling = template["metadata"]["annotations"]
    assert scaling["autoscaling.knative.dev/minScale"] == "2"
    assert scaling["autoscaling.knative.dev/maxScale"] == "10"
    spec = template["spec"]
    threaded = answers["language"] == "python" and answers.get("framework") in ("flask", "django")
    assert spec["containerConcurrency"] == (8 if threaded else 80)
    (container,) = spec["containers"]
    port = {"node": 3000, "python": 8000, "go": 8080}[answers["language"]]
    assert container["ports"] == [{"name": "http1", "containerPort": port}]
    # Below one CPU Cloud Run forces a concurrency of 1: the template rounds up.
    assert container["resources"]["limits"] == {
        "cpu": "2" if answers.get("cpu_limit") == "1500m" else "1",
        "memory": "256Mi",
    }
    startup, liveness = container["startupProbe"], container["livenessProbe"]
    assert startup["httpGet"] == {"path": HEALTH["paths"]["readiness"], "port": port}
    assert liveness["httpGet"] == {"path": HEALTH["paths"]["liveness"], "port": port}
    timing = HEALTH["probes"]["startup"]
    assert startup["periodSeconds"] * startup["failureThreshold"] <= 240  # Cloud Run's cap
    assert (startup["periodSeconds"], startup["failureThreshold"]) == (
        timing["period"],
        timing["failure_threshold"],
    )
    env = {var["name"]: var for var in container["env"]}
    plain = {name for name, var in env.items() if "value" in var}
    assert plain == plain_var_names(answers) - {"PORT"}
    secrets = {
        name: var["valueFrom"]["secretKeyRef"] for name, var in env.items() if "valueFrom" in var
    }
    required = {name for name, needed in secret_var_names(answers).items() if needed}
    assert set(secrets) == required
    for name, ref in secrets.items():
        assert ref == {"name": f"x-service-{name.lower().replace('_', '-')}", "key": "latest"}


def test_only_cloudrun_renders_its_files(renders: Renders) -> None:
    project, _ = project_for(renders, {"language": "node", "strategy": "rolling"})
    assert (project / "docs" / "cloudrun.md").is_file()
    assert not (project / "deploy" / "k8s").exists()
    assert not (project / ".github" / "workflows" / "preview.yml").exists()
    assert not (project / "scripts" / "gcp-access-token.sh").exists()  # GitLab only
    other = renders("not-cloudrun", platform="fly")
    assert not (other / "deploy").exists()
    assert not (other / "docs" / "cloudrun.md").exists()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"image": "ghcr.io/my-org/svc"}, "Cloud Run pulls from Artifact Registry"),
        ({"gcp_project": "My_Project"}, "must be a Google Cloud project ID"),
        ({"gcp_region": "mars"}, "must be a Google Cloud region"),
    ],
)
def test_bad_cloudrun_answers_are_refused(
    template_src: Path, tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render(template_src, tmp_path / "svc", platform="cloudrun", **answers)


# --- deploy and rollback on a stateful fake gcloud ------------------------------------

# Plays Cloud Run for one service: revisions, traffic targets with tags, the
# migration job. `curl` (the smoke test's client) is the same script: a revision
# whose image tag starts with "bad" fails its health checks; one starting with
# "late" fails them only once it has some traffic.
FAKE = r"""#!PYTHON
import json, os, pathlib, re, sys
import yaml

state_file = pathlib.Path(os.environ["FAKE_STATE"])
state = json.loads(state_file.read_text()) if state_file.exists() else {}
tool, args = pathlib.Path(sys.argv[0]).name, sys.argv[1:]
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(" ".join([tool, *args]) + "\n")


def save():
    state_file.write_text(json.dumps(state))


def flag(name):
    return args[args.index(name) + 1] if name in args else None


def healthy(revision):
    tag = state["revisions"][revision]["tag"]
    serving = any(t.get("revisionName") == revision and t["percent"] > 0 for t in state["traffic"])
    return not (tag.startswith("bad") or (tag.startswith("late") and serving))


if tool == "curl":
    url = args[-1]
    revision = re.match(r"https://[a-z]+---([a-z0-9-]+)\.fake/", url).group(1)
    ok = healthy(revision)
    pathlib.Path(flag("--output")).write_text('{"status":"ok"}' if ok else '{"status":"fail"}')
    sys.stdout.write("200" if ok else "503")
    sys.exit(0)

command = args[:3]
if command[:2] == ["run", "jobs"]:
    if command[2] == "execute" and os.environ.get("FAKE_MIGRATION") == "fail":
        sys.exit(1)
    state.setdefault("jobs", []).append(command[2])
    save()
    sys.exit(0)
if command == ["run", "services", "describe"]:
    if "revisions" not in state:
        sys.exit(1)  # no such service yet
    if flag("--format") != "json":
        sys.exit(0)
    traffic = []
    for target in state["traffic"]:
        entry = dict(target)
        if "tag" in entry:
            entry["url"] = f"https://{entry['tag']}---{entry['revisionName']}.fake/"
        traffic.append(entry)
    print(json.dumps({"status": {"latestReadyRevisionName": state["latest"], "traffic": traffic}}))
    sys.exit(0)
if command == ["run", "services", "replace"]:
    manifest = yaml.safe_load(pathlib.Path(args[3]).read_text())
    with open(state_file.parent / "manifests", "a") as log:
        log.write(json.dumps(manifest) + "\n")
    state.setdefault("revisions", {})
    image = manifest["spec"]["template"]["spec"]["containers"][0]["image"]
    template = json.dumps(manifest["spec"]["template"], sort_keys=True)
    latest = state.get("latest")
    if latest is None or state["revisions"][latest]["template"] != template:
        name = f"{manifest['metadata']['name']}-{len(state['revisions']) + 1:05d}"
        tag = image.rsplit(":", 1)[1]
        if tag.startswith("crash"):
            save()
            sys.exit(1)  # never passes its startup probe: no revision becomes ready
        state["revisions"][name] = {"tag": tag, "template": template}
        state["latest"] = latest = name
    state["traffic"] = [
        {
            "revisionName": latest if t.get("latestRevision") else t["revisionName"],
            "percent": t["percent"],
            **({"tag": t["tag"]} if "tag" in t else {}),
        }
        for t in manifest["spec"]["traffic"]
    ]
    save()
    sys.exit(0)
if command == ["run", "services", "update-traffic"]:
    split = dict(pair.split("=") for pair in flag("--to-revisions").split(","))
    assert sum(map(int, split.values())) == 100, split
    tagged = [dict(t, percent=0) for t in state["traffic"] if "tag" in t]
    state["traffic"] = [{"revisionName": r, "percent": int(p)} for r, p in split.items()] + tagged
    save()
    sys.exit(0)
sys.exit(f"fake gcloud: unexpected call {args}")
"""


@pytest.fixture
def fake_cloud(tmp_path: Path) -> Path:
    """A bin folder with the fake gcloud and curl, their state and call log beside them."""
    require_tool("jq")
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("gcloud", "curl"):
        (folder / tool).write_text(FAKE.replace("PYTHON", sys.executable, 1))
        (folder / tool).chmod(0o755)
    return folder


def run(
    project: Path, fake: Path, script: str, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "FAKE_STATE": str(fake / "state.json"),
        "FAKE_CALLS": str(fake / "calls"),
        "CANARY_PAUSE_SECONDS": "0",
        "SMOKE_TIMEOUT_SECONDS": "1",
        **env,
    }
    return subprocess.run(
        [str(project / "scripts" / script), *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def deploy(project: Path, fake: Path, tag: str, **env: str) -> subprocess.CompletedProcess[str]:
    name = project.name
    image = f"us-central1-docker.pkg.dev/{gcp_project(name)}/{name}/{name}:{tag}"
    return run(project, fake, "deploy.sh", "--env", "production", "--image", image, **env)


def state(fake: Path) -> dict[str, Any]:
    return json.loads((fake / "state.json").read_text())


def serving(fake: Path) -> dict[str, int]:
    """Revision image tag -> percent, for the revisions with traffic."""
    current = state(fake)
    return {
        current["revisions"][t["revisionName"]]["tag"]: t["percent"]
        for t in current["traffic"]
        if t["percent"]
    }


def tagged(fake: Path, tag: str) -> str | None:
    """The image tag of the revision under a traffic tag."""
    current = state(fake)
    names = [t["revisionName"] for t in current["traffic"] if t.get("tag") == tag]
    return current["revisions"][names[0]]["tag"] if names else None


def splits(fake: Path) -> list[str]:
    calls = (fake / "calls").read_text().splitlines()
    return [c.rsplit(" ", 1)[1] for c in calls if " update-traffic " in c]


@pytest.mark.parametrize("strategy", ["rolling", "blue-green", "canary"])
def test_deploys_record_the_previous_revision_and_rollback_returns_to_it(
    renders: Renders, fake_cloud: Path, strategy: str
) -> None:
    project, _ = project_for(renders, {"language": "node", "strategy": strategy})
    first = deploy(project, fake_cloud, "v1")
    assert first.returncode == 0, first.stderr
    assert serving(fake_cloud) == {"v1": 100}
    assert tagged(fake_cloud, "previous") is None  # nothing served before
    second = deploy(project, fake_cloud, "v2")
    assert second.returncode == 0, second.stderr
    assert serving(fake_cloud) == {"v2": 100}
    assert tagged(fake_cloud, "previous") == "v1"
    calls = (fake_cloud / "calls").read_text()
    # Migrations ran as a job with the new image before each replace.
    assert calls.index("run jobs execute") < calls.index("run services replace")
    assert state(fake_cloud)["jobs"] == ["deploy", "execute"] * 2
    if strategy == "rolling":
        assert splits(fake_cloud) == []
    else:
        # The candidate is smoke-tested at its tag URL before it gets any traffic.
        second_calls = calls.split("run services replace")[-1]
        assert second_calls.index("curl") < second_calls.index("update-traffic")
        steps = ["5", "50"] if strategy == "canary" else []
        names = state(fake_cloud)["revisions"]
        new, old = sorted(names)[-1], sorted(names)[0]
        assert splits(fake_cloud) == [
            *(f"{new}={w},{old}={100 - int(w)}" for w in steps),
            f"{new}=100",
        ]
    back = run(project, fake_cloud, "rollback.sh", "--env", "production", "--to", "previous")
    assert back.returncode == 0, back.stderr
    assert serving(fake_cloud) == {"v1": 100}


@pytest.mark.parametrize("strategy", ["blue-green", "canary"])
def test_a_candidate_failing_its_smoke_test_never_gets_traffic(
    renders: Renders, fake_cloud: Path, strategy: str
) -> None:
    project, _ = project_for(renders, {"language": "go", "strategy": strategy})
    assert deploy(project, fake_cloud, "v1").returncode == 0
    result = deploy(project, fake_cloud, "bad2")
    assert result.returncode == 1
    assert "failed its smoke test" in result.stderr
    assert serving(fake_cloud) == {"v1": 100}
    assert tagged(fake_cloud, "candidate") == "bad2"  # kept for inspection


def test_a_canary_failing_under_traffic_goes_back_to_the_previous_revision(
    renders: Renders, fake_cloud: Path
) -> None:
    project, _ = project_for(renders, {"language": "python", "strategy": "canary"})
    assert deploy(project, fake_cloud, "v1").returncode == 0
    result = deploy(project, fake_cloud, "late2")
    assert result.returncode == 1
    assert "failed its check at 5%" in result.stderr
    assert serving(fake_cloud) == {"v1": 100}
    assert splits(fake_cloud)[-1].endswith("=100")


def test_a_revision_that_never_starts_leaves_traffic_alone(
    renders: Renders, fake_cloud: Path
) -> None:
    project, _ = project_for(renders, {"language": "node", "strategy": "rolling"})
    assert deploy(project, fake_cloud, "v1").returncode == 0
    assert deploy(project, fake_cloud, "crash2").returncode != 0
    assert serving(fake_cloud) == {"v1": 100}


def test_failed_migrations_stop_the_deploy_before_traffic_moves(
    renders: Renders, fake_cloud: Path
) -> None:
    project, answers = project_for(renders, {"language": "python", "strategy": "blue-green"})
    assert deploy(project, fake_cloud, "v1").returncode == 0
    result = deploy(project, fake_cloud, "v2", FAKE_MIGRATION="fail")
    assert result.returncode == 1
    assert "migrations failed; traffic was not moved" in result.stderr
    assert serving(fake_cloud) == {"v1": 100}
    calls = (fake_cloud / "calls").read_text().splitlines()
    job = next(c for c in calls if " jobs deploy " in c)
    command = migrate_command(answers)
    assert f"--command={command[0]} --args={','.join(command[1:])}" in job
    assert f"--service-account {account(project.name, 'run')}" in job
    assert "DATABASE_URL=" + project.name + "-database-url:latest" in job


def test_rollback_without_a_recorded_revision_refuses(renders: Renders, fake_cloud: Path) -> None:
    project, _ = project_for(renders, {"language": "node", "strategy": "rolling"})
    assert deploy(project, fake_cloud, "v1").returncode == 0
    result = run(project, fake_cloud, "rollback.sh", "--env", "production", "--to", "previous")
    assert result.returncode == 1
    assert "no revision tagged 'previous'" in result.stderr
    assert serving(fake_cloud) == {"v1": 100}


def test_rollback_to_a_tag_moves_all_traffic_at_once(renders: Renders, fake_cloud: Path) -> None:
    project, _ = project_for(renders, {"language": "node", "strategy": "canary"})
    for tag in ("v1", "v2"):
        assert deploy(project, fake_cloud, tag).returncode == 0
    result = run(project, fake_cloud, "rollback.sh", "--env", "production", "--to", "v1")
    assert result.returncode == 0, result.stderr
    assert serving(fake_cloud) == {"v1": 100}
    assert tagged(fake_cloud, "previous") == "v2"


def test_each_environment_gets_its_own_service_identity_and_secrets(
    renders: Renders, fake_cloud: Path
) -> None:
    project, _ = project_for(renders, {"language": "node", "strategy": "rolling"})
    image = f"us-central1-docker.pkg.dev/x/y/z:{TAG}"
    for env in ("staging", "production"):
        result = run(project, fake_cloud, "deploy.sh", "--env", env, "--image", image)
        assert result.returncode == 0, result.stderr
        (fake_cloud / "state.json").unlink()
    staging, production = state_manifests(fake_cloud)
    name = project.name
    for manifest, service, runtime, env in (
        (staging, f"{name}-staging", account(name, "run-stg"), "staging"),
        (production, name, account(name, "run"), "production"),
    ):
        jsonschema.validate(manifest, SERVICE_SCHEMA)
        assert manifest["metadata"]["name"] == service
        spec = manifest["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == runtime
        container = spec["containers"][0]
        assert container["image"] == image
        values = {v["name"]: v.get("value") for v in container["env"]}
        assert (values["APP_ENV"], values["APP_VERSION"]) == (env, TAG)
        refs = [
            v["valueFrom"]["secretKeyRef"]["name"] for v in container["env"] if "valueFrom" in v
        ]
        assert refs and all(ref.startswith(f"{service}-") for ref in refs)
        assert manifest["spec"]["template"]["metadata"]["annotations"][
            "autoscaling.knative.dev/minScale"
        ] == ("2" if env == "production" else "1")


def state_manifests(fake: Path) -> list[dict[str, Any]]:
    """The manifests `services replace` received, from the call log's copies."""
    return [json.loads(line) for line in (fake / "manifests").read_text().splitlines()]


# --- GitLab: the OIDC token exchange ------------------------------------------------


PROVIDER = "projects/1/locations/global/workloadIdentityPools/ci/providers/gitlab"


def test_gitlab_token_exchange_never_puts_tokens_on_a_command_line(
    renders: Renders, tmp_path: Path
) -> None:
    project, _ = project_for(renders, {"language": "go", "strategy": "rolling", "ci": "gitlab"})
    script = project / "scripts" / "gcp-access-token.sh"
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "curl").write_text(
        "#!/bin/sh\n"
        f'echo "curl $*" >> "{folder}/calls"\n'
        f'cat >> "{folder}/stdin"; echo >> "{folder}/stdin"\n'
        'case "$*" in\n'
        '  *sts.googleapis.com*) echo \'{"access_token": "fed-123", "token_type": "Bearer"}\' ;;\n'
        "  *generateAccessToken*)"
        ' printf \'{\\n  "accessToken": "ya29.sa",\\n  "expireTime": "x"\\n}\\n\' ;;\n'
        "esac\n"
    )
    (folder / "curl").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{folder}:{os.environ['PATH']}",
        "GCP_ID_TOKEN": "jwt-from-gitlab",
        "GCP_WORKLOAD_IDENTITY_PROVIDER": PROVIDER,
        "GCP_SERVICE_ACCOUNT": "deployer@p.iam.gserviceaccount.com",
    }
    result = subprocess.run([str(script)], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ya29.sa\n"
    calls = (folder / "calls").read_text()
    assert f"audience=//iam.googleapis.com/{PROVIDER}" in calls
    assert "serviceAccounts/deployer@p.iam.gserviceaccount.com:generateAccessToken" in calls
    assert "jwt-from-gitlab" not in calls and "fed-123" not in calls
    sent = [line for line in (folder / "stdin").read_text().splitlines() if line]
    assert sent == ["jwt-from-gitlab", "Authorization: Bearer fed-123"]
    missing = subprocess.run(
        [str(script)],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "GCP_ID_TOKEN": ""},
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("gcp-access-token: GCP_ID_TOKEN is empty")


# --- prodready check ---------------------------------------------------------------

GOOD = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {"name": "api"},
    "spec": {
        "template": {
            "metadata": {
                "annotations": {
                    "autoscaling.knative.dev/minScale": "1",
                    "autoscaling.knative.dev/maxScale": "10",
                }
            },
            "spec": {
                "serviceAccountName": "api@p.iam.gserviceaccount.com",
                "containers": [
                    {
                        "image": "us-docker.pkg.dev/p/r/api:1",
                        "ports": [{"containerPort": 8080}],
                        "env": [{"name": "LOG_LEVEL", "value": "info"}],
                        "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
                        "startupProbe": {"httpGet": {"path": "/healthz"}},
                        "livenessProbe": {"httpGet": {"path": "/healthz"}},
                    }
                ],
            },
        }
    },
}
APP = (
    "from flask import Flask\napp = Flask(__name__)\n"
    '@app.get("/healthz")\ndef health():\n    return "ok"\n'
)


def _broken(change: str) -> dict[str, Any]:
    service = json.loads(json.dumps(GOOD))
    template = service["spec"]["template"]
    container = template["spec"]["containers"][0]
    if change == "no probes":
        del container["startupProbe"], container["livenessProbe"]
    elif change == "probe path":
        container["startupProbe"]["httpGet"]["path"] = "/ready"
    elif change == "unbounded":
        del (
            container["resources"],
            template["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"],
        )
    elif change == "default account":
        template["spec"]["serviceAccountName"] = "123-compute@developer.gserviceaccount.com"
    elif change == "plain secret":
        container["env"].append({"name": "DATABASE_URL", "value": "postgres://u:p@h/db"})
    elif change == "scale to zero":
        template["metadata"]["annotations"]["autoscaling.knative.dev/minScale"] = "0"
    return service


@pytest.mark.parametrize(
    ("change", "check_id"),
    [
        ("no probes", "PR-CR-001"),
        ("probe path", "PR-CR-002"),
        ("unbounded", "PR-CR-003"),
        ("default account", "PR-CR-004"),
        ("plain secret", "PR-CR-005"),
        ("scale to zero", "PR-CR-006"),
    ],
)
def test_check_flags_what_cloud_run_needs(tmp_path: Path, change: str, check_id: str) -> None:
    for name, service in (("good", GOOD), ("bad", _broken(change))):
        root = build_tree(
            tmp_path / name,
            {"service.yaml": yaml.safe_dump(service), "app.py": APP, "requirements.txt": "flask\n"},
        )
        git_init_commit(root)
        result = check_repository(root, only=[check_id])
        found = [f for f in result.open if f.check_id == check_id]
        assert bool(found) == (name == "bad"), (name, found)
        if found:
            assert found[0].file == "service.yaml"
