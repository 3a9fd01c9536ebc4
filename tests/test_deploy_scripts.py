"""scripts/deploy.sh and rollback.sh: shellcheck, exact dry runs, refusals, a stubbed real run."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery import Renders, combo_id, load_all, strategies
from helpers import choices, require_tool

# One worker renders this module's projects once (scripts/test.sh runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("deploy-scripts")

COMBOS: list[dict[str, Any]] = [
    {"platform": platform, "strategy": strategy, "k8s_rollouts": rollouts}
    for platform in choices("platform")
    for strategy, rollouts in strategies(platform)
] + [
    {"platform": "kubernetes", "strategy": "rolling", "k8s_rollouts": "argo", "database": "none"},
    {"platform": "fly", "strategy": "rolling", "k8s_rollouts": "argo", "database": "none"},
]
IDS = [combo_id(c) for c in COMBOS]
TAG = "3f9c2ab"
# Tools the scripts drive; the dry-run tests put failing stand-ins first on PATH.
DRIVEN = ("kubectl", "flyctl", "docker", "jq", "gcloud")


@pytest.fixture(scope="module")
def project(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Render a combination (Node, Postgres and Redis unless it says otherwise) on first use."""
    renders = Renders(template_src, tmp_path_factory.mktemp("scripts"))

    def get(combo: dict[str, Any]) -> Path:
        return renders(combo_id(combo), **combo)

    return get


@pytest.fixture(scope="module")
def tripwire(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bin folder whose kubectl/flyctl/docker/jq/gcloud record their call and fail."""
    folder = tmp_path_factory.mktemp("tripwire")
    for tool in DRIVEN:
        script = folder / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{folder}/calls"\nexit 99\n')
        script.chmod(0o755)
    return folder


def run_script(
    project: Path,
    script: str,
    *args: str,
    path_first: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one of the project's scripts from outside the project (they cd to its root)."""
    environment = {**os.environ, **(env or {})}
    if path_first is not None:
        environment["PATH"] = f"{path_first}:{environment['PATH']}"
    return subprocess.run(
        [str(project / "scripts" / script), *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def commands(output: str) -> list[str]:
    """The commands a dry run printed (its `+ ` lines, prefix removed)."""
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


def dry_run(project: Path, tripwire: Path, script: str, *args: str) -> list[str]:
    """Dry-run a script, check it ran nothing and exited 0, and return its commands."""
    result = run_script(project, script, *args, "--dry-run", path_first=tripwire)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tripwire / "calls").exists(), (tripwire / "calls").read_text()
    return commands(result.stdout)


def test_scripts_pass_shellcheck(project: Any) -> None:
    shellcheck = require_tool("shellcheck")
    scripts = [
        str(project(combo) / "scripts" / name)
        for combo in COMBOS
        for name in ("deploy.sh", "rollback.sh")
    ]
    result = subprocess.run(
        [shellcheck, "--severity=warning", *scripts], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    for script in scripts:
        text = Path(script).read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "\nset -euo pipefail\n" in text
        assert os.access(script, os.X_OK)


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_scripts_carry_only_their_platforms_logic(project: Any, combo: dict[str, Any]) -> None:
    tools = {
        "kubernetes": "kubectl ",
        "fly": "flyctl ",
        "compose": "docker ",
        "cloudrun": "gcloud ",
    }
    root = project(combo)
    for name in ("deploy.sh", "rollback.sh"):
        text = (root / "scripts" / name).read_text()
        for platform, tool in tools.items():
            assert (tool in text) == (platform == combo["platform"]), (name, tool)
        if combo["platform"] == "kubernetes" and combo["strategy"] != "rolling":
            assert ("argo rollouts" in text) == (combo["k8s_rollouts"] == "argo"), name


def expected_deploy(combo: dict[str, Any], name: str, env: str) -> list[str]:
    """Commands (as substrings, in order) a dry-run deploy must print."""
    if combo["platform"] == "fly":
        app = {"production": name, "staging": f"{name}-staging", "preview": f"{name}-pr-7"}[env]
        app_env = "production" if env == "production" else "staging"
        return [
            f"flyctl deploy --config fly.toml --app {app} --image ghcr.io/my-org/{name}:{TAG} "
            f"--env APP_ENV={app_env} --env APP_VERSION={TAG} "
            f"--ha={'false' if env == 'preview' else 'true'}",
            f"flyctl status --app {app}",
        ]
    if combo["platform"] == "cloudrun":
        return expected_cloudrun_deploy(combo, name, env)
    if combo["platform"] == "compose":
        compose = (
            f"env IMAGE_TAG={TAG} IMAGE_DIGEST= APP_ENV={env} docker compose --project-name {name} "
            "--file compose.yaml --file compose.production.yaml"
        )
        return [
            f"{compose} pull app migrate",
            f"{compose} run --rm migrate",
            f"{compose} up --detach --wait --wait-timeout 300 --no-deps app postgres redis",
        ]
    ns = f"{name}-pr-7" if env == "preview" else f"{name}-{env}"
    steps = ["kubectl kustomize deploy/k8s/.deploy.", "--selector deploy-step=config"]
    if combo.get("database", "postgres") == "postgres":
        steps += [
            f"kubectl delete job {name}-migrate --namespace {ns}",
            "--selector deploy-step=migration",
            f"--for=condition=complete job/{name}-migrate",
        ]
    return steps + k8s_workload_steps(combo, name, ns, preview=env == "preview")


def cloudrun_where(name: str) -> str:
    """The --project/--region flags of every gcloud call (the gcp_* answers' defaults)."""
    return f"--project {name}-prod --region us-central1"


def expected_cloudrun_deploy(combo: dict[str, Any], name: str, env: str) -> list[str]:
    """A dry run sees a serving revision, so blue-green and canary take their gradual path."""
    service = name if env == "production" else f"{name}-staging"
    where = cloudrun_where(name)
    steps = [f"gcloud run services describe {service} {where} --format json"]
    if combo.get("database", "postgres") == "postgres":
        steps += [
            f"gcloud run jobs deploy {service}-migrate {where} --quiet --image ghcr.io/my-org/"
            f"{name}:{TAG}",
            f"gcloud run jobs execute {service}-migrate {where} --wait",
        ]
    steps.append("gcloud run services replace ")
    update = f"gcloud run services update-traffic {service} {where} --quiet --to-revisions"
    if combo["strategy"] != "rolling":
        steps += [
            f"gcloud run services describe {service} {where} --format json",
            "scripts/smoke-test.sh 'https://candidate---<service-url>'",
        ]
    if combo["strategy"] == "canary":
        steps += [
            f"{update} '<new-revision>=5,<previous-revision>=95'",
            "sleep 60",
            "scripts/smoke-test.sh",
            f"{update} '<new-revision>=50,<previous-revision>=50'",
            "sleep 60",
        ]
    if combo["strategy"] != "rolling":
        steps.append(f"{update} '<new-revision>=100'")
    return steps


def select_slot(service: str, ns: str, slot: str) -> str:
    """The printed command that points a Service at a blue-green slot."""
    patch = '{"spec":{"selector":{"slot":"%s"}}}' % slot  # noqa: UP031 - braces galore
    return f"kubectl patch service {service} --namespace {ns} --type merge --patch '{patch}'"


def k8s_workload_steps(combo: dict[str, Any], name: str, ns: str, *, preview: bool) -> list[str]:
    """The strategy's part of a Kubernetes dry run, after config and migrations."""
    strategy = (
        "rolling"
        if combo["strategy"] == "rolling"
        else f"{combo['strategy']}/{combo['k8s_rollouts']}"
    )
    canary = f"kubectl scale deployment/{name}-canary --namespace {ns} --replicas"
    argo_status = f"kubectl argo rollouts status {name} --namespace {ns}"
    steps = {
        "rolling": [
            "deploy-step=workload",
            f"kubectl rollout status deployment/{name} --namespace {ns}",
        ],
        "blue-green/argo": [
            "deploy-step=workload",
            f"kubectl argo rollouts promote {name} --namespace {ns}",
            argo_status,
        ],
        "canary/argo": [argo_status],
        "blue-green/native": [
            "deploy-step=workload,slot=green",
            f"rollout status deployment/{name}-green",
            select_slot(name, ns, "green"),
            select_slot(f"{name}-preview", ns, "blue"),
        ],
        "canary/native": [
            "deploy-step=workload,track=canary",
            f"{canary} 1",
            f"{canary} 2",
            "deploy-step=workload,track=stable",
            f"rollout status deployment/{name} ",
            f"{canary} 0",
        ],
    }
    previews = {
        "canary/argo": [
            "deploy-step=workload",
            f"kubectl argo rollouts promote {name} --namespace {ns} --full",
            argo_status,
        ],
        "blue-green/native": [
            f"rollout status deployment/{name}-blue",
            f"rollout status deployment/{name}-green",
            select_slot(name, ns, "blue"),
        ],
        "canary/native": ["deploy-step=workload,track=stable", f"{canary} 0"],
    }
    return previews.get(strategy, steps[strategy]) if preview else steps[strategy]


def assert_in_order(printed: list[str], expected: list[str]) -> None:
    """Each expected snippet appears in a printed command after the previous one."""
    position = 0
    for snippet in expected:
        for index in range(position, len(printed)):
            if snippet in printed[index]:
                position = index + 1
                break
        else:
            raise AssertionError(f"{snippet!r} not printed (in order) in:\n" + "\n".join(printed))


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_deploy_dry_run_prints_the_platform_commands(
    project: Any, tripwire: Path, combo: dict[str, Any]
) -> None:
    root = project(combo)
    no_previews = ("compose", "cloudrun")
    envs = ["staging", "production"] + ([] if combo["platform"] in no_previews else ["preview"])
    for env in envs:
        pr = ["--pr", "7"] if env == "preview" else []
        printed = dry_run(
            root,
            tripwire,
            "deploy.sh",
            "--env",
            env,
            "--image",
            f"ghcr.io/my-org/{root.name}:{TAG}",
            *pr,
        )
        assert_in_order(printed, expected_deploy(combo, root.name, env))


@pytest.mark.parametrize(
    "combo",
    [c for c in COMBOS if c["platform"] == "kubernetes"],
    ids=[i for c, i in zip(COMBOS, IDS, strict=True) if c["platform"] == "kubernetes"],
)
def test_deploy_kustomization_builds_with_the_image_and_namespace(
    project: Any, tripwire: Path, combo: dict[str, Any]
) -> None:
    kubectl = require_tool("kubectl")
    root = project(combo)
    for env, args in (("production", []), ("preview", ["--pr", "12"])):
        result = run_script(
            root,
            "deploy.sh",
            "--env",
            env,
            "--image",
            f"ghcr.io/my-org/{root.name}:{TAG}",
            *args,
            "--dry-run",
            path_first=tripwire,
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.endswith("/kustomization.yaml:"))
        kustomization = "\n".join(
            line[4:] for line in lines[start + 1 :] if line.startswith("#   ")
        )
        folder = root / "deploy" / "k8s" / f".test-{env}"
        folder.mkdir(exist_ok=True)
        (folder / "kustomization.yaml").write_text(kustomization + "\n")
        built = subprocess.run(
            [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False
        )
        assert built.returncode == 0, built.stderr
        docs = load_all(built.stdout)
        namespace = f"{root.name}-pr-12" if env == "preview" else f"{root.name}-production"
        assert [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"] == [namespace]
        assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {
            namespace
        }
        images = {
            c["image"]
            for d in docs
            if d["kind"] in {"Deployment", "Rollout", "Job"}
            for c in d["spec"]["template"]["spec"]["containers"]
        }
        assert images == {f"ghcr.io/my-org/{root.name}:{TAG}"}
        (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
        assert config["data"]["APP_VERSION"] == TAG
        assert not list((root / "deploy" / "k8s").glob(".deploy.*")), (
            "the script left its work folder behind"
        )


# Kubernetes and Fly rollbacks read the live state even in a dry run: their
# scenarios run against stateful fakes in test_release_scenarios.py.
@pytest.mark.parametrize(
    "combo",
    [c for c in COMBOS if c["platform"] == "compose"],
    ids=[i for c, i in zip(COMBOS, IDS, strict=True) if c["platform"] == "compose"],
)
def test_rollback_to_previous_prints_the_platform_commands(
    project: Any, tripwire: Path, combo: dict[str, Any]
) -> None:
    root = project(combo)
    name = root.name
    printed = dry_run(root, tripwire, "rollback.sh", "--env", "production", "--to", "previous")
    ns = f"--namespace {name}-production"
    platform, strategy, rollouts = combo["platform"], combo["strategy"], combo["k8s_rollouts"]
    if platform == "fly":
        expected = [
            f"flyctl releases --app {name} --image --json",
            f"flyctl deploy --config fly.toml --app {name}",
            f"flyctl status --app {name}",
        ]
    elif platform == "cloudrun":
        where = cloudrun_where(name)
        expected = [
            f"gcloud run services describe {name} {where} --format json",
            f"gcloud run services update-traffic {name} {where} --quiet "
            "--to-revisions '<previous-revision>=100'",
        ]
    elif platform == "compose":
        expected = [
            "docker image inspect --format '{{join .RepoTags \"\\n\"}}' "
            f"ghcr.io/my-org/{name}:previous-production",
            "--file compose.production.yaml up --detach --wait",
        ]
    elif strategy == "rolling":
        expected = [
            f"kubectl rollout undo deployment/{name} {ns}",
            f"kubectl rollout status deployment/{name} {ns}",
        ]
    elif rollouts == "argo":
        expected = [
            f"kubectl argo rollouts undo {name} {ns}",
            f"kubectl argo rollouts promote {name} {ns} --full",
            f"kubectl argo rollouts status {name} {ns}",
        ]
    elif strategy == "blue-green":
        expected = [
            f"kubectl rollout status deployment/{name}-green {ns}",
            select_slot(name, f"{name}-production", "green"),
        ]
    else:
        expected = [
            f"kubectl scale deployment/{name}-canary {ns} --replicas 0",
            f"kubectl rollout undo deployment/{name} {ns}",
            f"kubectl rollout status deployment/{name} {ns}",
        ]
    assert_in_order(printed, expected)


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_rollback_to_a_tag_redeploys_it_at_once(
    project: Any, tripwire: Path, combo: dict[str, Any]
) -> None:
    root = project(combo)
    result = run_script(
        root, "rollback.sh", "--env", "staging", "--to", "1a2b3c4", "--dry-run", path_first=tripwire
    )
    assert result.returncode == 0, result.stderr
    assert "--fast: no gradual steps" in result.stderr
    printed = "\n".join(commands(result.stdout))
    if combo["platform"] == "kubernetes":
        assert "newTag: 1a2b3c4" in result.stdout
    else:
        assert "1a2b3c4" in printed
    assert "sleep" not in printed, "a rollback must not walk canary steps"


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_scripts_refuse_to_guess(project: Any, tripwire: Path, combo: dict[str, Any]) -> None:
    root = project(combo)
    image = f"ghcr.io/my-org/{root.name}"
    refusals = {
        "deploy.sh": [
            ["--image", f"{image}:{TAG}"],
            ["--env", "staging"],
            ["--env", "staging", "--image", image],
            ["--env", "staging", "--image", f"{image}:latest"],
            ["--env", "qa", "--image", f"{image}:{TAG}"],
            ["--env", "preview", "--image", f"{image}:{TAG}"],
            ["--env", "staging", "--image", f"{image}:{TAG}", "--bogus"],
            ["--env"],
        ],
        "rollback.sh": [
            ["--env", "production"],
            ["--to", "previous"],
            ["--env", "production", "--to", "latest"],
            ["--env", "preview", "--to", "previous"],
            ["--env", "production", "--to", "bad tag!"],
        ],
    }
    for script, cases in refusals.items():
        for args in cases:
            result = run_script(root, script, *args, "--dry-run", path_first=tripwire)
            assert result.returncode == 2, (script, args, result.stdout, result.stderr)
            assert result.stderr.startswith("error: "), result.stderr
            assert not commands(result.stdout), (script, args)
    missing_to = run_script(root, "rollback.sh", "--env", "production", path_first=tripwire)
    assert "--to is required" in missing_to.stderr
    assert not (tripwire / "calls").exists()


@pytest.mark.parametrize(
    "combo",
    [c for c in COMBOS if c["platform"] not in ("compose", "cloudrun")],
    ids=[
        i for c, i in zip(COMBOS, IDS, strict=True) if c["platform"] not in ("compose", "cloudrun")
    ],
)
def test_preview_environments_are_destroyed_by_pr(
    project: Any, tripwire: Path, combo: dict[str, Any]
) -> None:
    root = project(combo)
    printed = dry_run(root, tripwire, "deploy.sh", "--env", "preview", "--pr", "7", "--destroy")
    if combo["platform"] == "kubernetes":
        assert printed == [
            f"kubectl delete namespace {root.name}-pr-7 --ignore-not-found --wait=false"
        ]
    else:
        assert printed == [f"flyctl apps destroy {root.name}-pr-7 --yes"]
    refused = run_script(
        root, "deploy.sh", "--env", "staging", "--destroy", "--dry-run", path_first=tripwire
    )
    assert refused.returncode == 2


@pytest.mark.parametrize("platform", ["compose", "cloudrun"])
def test_platforms_without_previews_refuse_them(
    project: Any, tripwire: Path, platform: str
) -> None:
    root = project(COMBOS[IDS.index(f"{platform}-rolling-argo")])
    result = run_script(
        root,
        "deploy.sh",
        "--env",
        "preview",
        "--pr",
        "3",
        "--image",
        "x/y:1",
        "--dry-run",
        path_first=tripwire,
    )
    assert result.returncode == 2
    assert "no preview" in result.stderr


# A kubectl stand-in for real (not dry) runs: it records every call, builds with
# the real kustomize, and answers the queries the scripts make.
FAKE_KUBECTL = """#!/usr/bin/env bash
echo "kubectl $*" >> "$STUB_DIR/calls"
case "$1 $2" in
  "kustomize "*) exec "$REAL_KUBECTL" "$@" ;;
  "get job") echo "$STUB_JOB" ;;
  "get service") echo "$STUB_SLOT" ;;
  "get rollout") echo "1 1 $STUB_PHASE" ;;
  "get deployment") echo "${STUB_REPLICAS:-}" ;;
  "scale "*) for arg in "$@"; do last="$arg"; done; echo "$last" > "$STUB_DIR/replicas" ;;
  "get pods") for ((i = 0; i < $(cat "$STUB_DIR/replicas"); i++)); do echo "$STUB_POD"; done ;;
  "argo rollouts") exit 0 ;;
esac
exit 0
"""


@pytest.fixture
def fake_kubectl(tmp_path: Path) -> Path:
    """A bin folder with the recording kubectl and a sleep that does not sleep."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "kubectl").write_text(FAKE_KUBECTL)
    (folder / "sleep").write_text("#!/bin/sh\nexit 0\n")
    for tool in folder.iterdir():
        tool.chmod(0o755)
    return folder


def real_run(
    root: Path, fake: Path, *args: str, **stub: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run deploy.sh for real against the fake kubectl; return the result and its kubectl calls."""
    env = {
        "STUB_DIR": str(fake),
        "REAL_KUBECTL": require_tool("kubectl"),
        "STUB_JOB": "Complete",
        "STUB_SLOT": "",
        "STUB_PHASE": "Healthy",
        **stub,
    }
    result = run_script(root, "deploy.sh", *args, path_first=fake, env=env)
    calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
    return result, calls


def test_rolling_deploy_migrates_before_the_new_pods(project: Any, fake_kubectl: Path) -> None:
    root = project(COMBOS[IDS.index("kubernetes-rolling-argo")])
    result, calls = real_run(
        root, fake_kubectl, "--env", "staging", "--image", f"ghcr.io/my-org/{root.name}:{TAG}"
    )
    assert result.returncode == 0, result.stderr
    assert_in_order(
        calls,
        [
            "kubectl kustomize",
            "--selector deploy-step=config",
            f"delete job {root.name}-migrate",
            "--selector deploy-step=migration",
            f"get job {root.name}-migrate",
            "--selector deploy-step=workload",
            f"rollout status deployment/{root.name}",
        ],
    )
    manifests = next(c.split("--filename ")[1].split()[0] for c in calls if "--filename" in c)
    assert not (root / manifests).exists(), "the work folder is removed on exit"


def test_failed_migration_stops_the_deploy(project: Any, fake_kubectl: Path) -> None:
    root = project(COMBOS[IDS.index("kubernetes-rolling-argo")])
    result, calls = real_run(
        root,
        fake_kubectl,
        "--env",
        "staging",
        "--image",
        f"ghcr.io/my-org/{root.name}:{TAG}",
        STUB_JOB="Failed",
    )
    assert result.returncode == 1
    assert "migrations failed" in result.stderr
    assert not [c for c in calls if "deploy-step=workload" in c], (
        "no new pods after a failed migration"
    )


def test_native_blue_green_deploys_to_the_idle_slot_then_switches(
    project: Any, fake_kubectl: Path
) -> None:
    root = project(COMBOS[IDS.index("kubernetes-blue-green-native")])
    result, calls = real_run(
        root,
        fake_kubectl,
        "--env",
        "production",
        "--image",
        f"ghcr.io/my-org/{root.name}:{TAG}",
        STUB_SLOT="green",
    )
    assert result.returncode == 0, result.stderr
    assert_in_order(
        calls,
        [
            "--selector deploy-step=config",
            "--selector deploy-step=workload,slot=blue",
            f"rollout status deployment/{root.name}-blue",
            f"patch service {root.name} --namespace {root.name}-production --type merge "
            '--patch {"spec":{"selector":{"slot":"blue"}}}',
            f"patch service {root.name}-preview",
        ],
    )
    assert not [c for c in calls if "slot=green" in c], "the live slot is never touched"


def test_argo_canary_failure_is_reported(project: Any, fake_kubectl: Path) -> None:
    root = project(COMBOS[IDS.index("kubernetes-canary-argo")])
    result, _ = real_run(
        root,
        fake_kubectl,
        "--env",
        "staging",
        "--image",
        f"ghcr.io/my-org/{root.name}:{TAG}",
        STUB_PHASE="Degraded",
    )
    assert result.returncode == 1
    assert "Degraded" in result.stderr


def test_rendered_manifest_selectors_match_the_script_labels(project: Any) -> None:
    # The scripts select objects by `deploy-step` and `slot`: the manifests must carry them.
    root = project(COMBOS[IDS.index("kubernetes-blue-green-native")])
    text = (root / "scripts" / "deploy.sh").read_text()
    assert re.search(r"deploy-step=workload,slot=\$idle", text)
    workload = yaml.safe_load_all((root / "deploy" / "k8s" / "base" / "workload.yaml").read_text())
    slots = {doc["metadata"]["labels"]["slot"] for doc in workload}
    assert slots == {"blue", "green"}


def test_native_canary_grows_then_promotes(project: Any, fake_kubectl: Path) -> None:
    root = project(COMBOS[IDS.index("kubernetes-canary-native")])
    name = root.name
    result, calls = real_run(
        root,
        fake_kubectl,
        "--env",
        "production",
        "--image",
        f"ghcr.io/my-org/{name}:{TAG}",
        STUB_REPLICAS="4",
        STUB_POD="true 0",
    )
    assert result.returncode == 0, result.stderr
    canary = f"scale deployment/{name}-canary --namespace {name}-production --replicas"
    # 4 stable pods: 1 canary is ~5% (20%), 4 canaries are 50%.
    assert_in_order(
        calls,
        [
            "deploy-step=workload,track=canary",
            f"{canary} 1",
            "get pods",
            f"{canary} 4",
            "get pods",
            "deploy-step=workload,track=stable",
            f"rollout status deployment/{name} ",
            f"{canary} 0",
        ],
    )


def test_unhealthy_native_canary_is_removed_and_never_promoted(
    project: Any, fake_kubectl: Path
) -> None:
    root = project(COMBOS[IDS.index("kubernetes-canary-native")])
    result, calls = real_run(
        root,
        fake_kubectl,
        "--env",
        "production",
        "--image",
        f"ghcr.io/my-org/{root.name}:{TAG}",
        STUB_REPLICAS="4",
        STUB_POD="true 2",
    )
    assert result.returncode == 1
    assert "the canary is unhealthy" in result.stderr
    assert calls[-1].startswith(f"kubectl scale deployment/{root.name}-canary")
    assert calls[-1].endswith("--replicas 0")
    assert not [c for c in calls if "track=stable" in c]


def test_bad_prometheus_url_is_rejected(template_src: Path, tmp_path: Path) -> None:
    from helpers import render

    with pytest.raises(ValueError, match="must be an http"):
        render(
            template_src,
            tmp_path / "svc",
            platform="kubernetes",
            strategy="canary",
            k8s_rollouts="argo",
            prometheus_url="prometheus:9090",
        )


def recording_tool(folder: Path, name: str, body: str) -> None:
    """A stand-in for `name` that records its arguments, then runs `body`."""
    script = folder / name
    script.write_text(
        f'#!/usr/bin/env bash\necho "{name} $*" >> "{folder}/calls"\n{body}\nexit 0\n'
    )
    script.chmod(0o755)


def test_compose_deploy_keeps_the_previous_image_and_rollback_returns_to_it(
    project: Any, tmp_path: Path
) -> None:
    root = project(COMBOS[IDS.index("compose-rolling-argo")])
    image = f"ghcr.io/my-org/{root.name}"
    recording_tool(
        tmp_path,
        "docker",
        f"""case "$1 $2" in
  "compose --project-name") [[ " $* " != *" ps --quiet app "* ]] || echo c0ffee ;;
  "inspect --format") echo "${{SERVING:-{image}:old}}" ;;
  "image inspect") printf '%s\\n' "{image}:old" "{image}:previous-staging" ;;
esac""",
    )
    env = {"DOCKER_HOST": "ssh://deploy@staging.invalid"}
    deployed = run_script(
        root,
        "deploy.sh",
        "--env",
        "staging",
        "--image",
        f"{image}:{TAG}",
        path_first=tmp_path,
        env=env,
    )
    assert deployed.returncode == 0, deployed.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert_in_order(
        calls,
        [
            f"docker image tag {image}:old {image}:previous-staging",
            "pull app migrate",
            "run --rm migrate",
            "up --detach --wait --wait-timeout 300 --no-deps app postgres redis",
        ],
    )
    (tmp_path / "calls").unlink()
    rolled = run_script(
        root,
        "rollback.sh",
        "--env",
        "staging",
        "--to",
        "previous",
        path_first=tmp_path,
        env={**env, "SERVING": f"{image}:{TAG}"},
    )
    assert rolled.returncode == 0, rolled.stderr
    assert f"deploying {image}:old" in rolled.stderr
    # A deploy that failed before replacing the container leaves nothing to roll back.
    unchanged = run_script(
        root, "rollback.sh", "--env", "staging", "--to", "previous", path_first=tmp_path, env=env
    )
    assert unchanged.returncode == 0, unchanged.stderr
    assert "nothing to roll back" in unchanged.stderr
    missing_host = run_script(
        root,
        "deploy.sh",
        "--env",
        "staging",
        "--image",
        f"{image}:{TAG}",
        path_first=tmp_path,
        env={"DOCKER_HOST": ""},
    )
    assert missing_host.returncode == 1
    assert "DOCKER_HOST" in missing_host.stderr


def test_kubernetes_deploys_by_digest_too(project: Any, tripwire: Path) -> None:
    kubectl = require_tool("kubectl")
    root = project(COMBOS[IDS.index("kubernetes-rolling-argo")])
    digest = "sha256:" + "ab" * 32
    result = run_script(
        root,
        "deploy.sh",
        "--env",
        "staging",
        "--image",
        f"ghcr.io/my-org/{root.name}:v1.2@{digest}",
        "--dry-run",
        path_first=tripwire,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("/kustomization.yaml:"))
    folder = root / "deploy" / "k8s" / ".test-digest"
    folder.mkdir(exist_ok=True)
    (folder / "kustomization.yaml").write_text(
        "\n".join(line[4:] for line in lines[start + 1 :] if line.startswith("#   ")) + "\n"
    )
    built = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True
    )
    docs = load_all(built.stdout)
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"ghcr.io/my-org/{root.name}@{digest}"
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config["data"]["APP_VERSION"] == "v1.2"


# Compose and Cloud Run have no previews, so no preview repository to refuse.
NO_PREVIEWS = ("compose", "cloudrun")


@pytest.mark.parametrize(
    "combo",
    [c for c in COMBOS if c["platform"] not in NO_PREVIEWS],
    ids=[i for c, i in zip(COMBOS, IDS, strict=True) if c["platform"] not in NO_PREVIEWS],
)
def test_release_environments_refuse_preview_images(
    project: Any, tripwire: Path, combo: dict[str, Any]
) -> None:
    # Preview builds come from branches; their repository never reaches a release.
    root = project(combo)
    preview_image = f"ghcr.io/my-org/{root.name}/preview:{TAG}@sha256:{'ab' * 32}"
    for env in ("staging", "production"):
        result = run_script(
            root,
            "deploy.sh",
            "--env",
            env,
            "--image",
            preview_image,
            "--dry-run",
            path_first=tripwire,
        )
        assert result.returncode == 2, result.stderr
        assert "refusing the preview image" in result.stderr
    allowed = run_script(
        root,
        "deploy.sh",
        "--env",
        "preview",
        "--pr",
        "4",
        "--image",
        preview_image,
        "--dry-run",
        path_first=tripwire,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert not (tripwire / "calls").exists()


@pytest.mark.parametrize("platform", ["kubernetes", "fly", "compose"])
def test_django_allowed_hosts_come_from_the_real_host(
    template_src: Path, tmp_path: Path, tripwire: Path, platform: str
) -> None:
    # The ConfigMap said localhost,127.0.0.1,[::1]: probes passed, real requests got 400.
    from helpers import render

    root = render(
        template_src,
        tmp_path / f"django-{platform}",
        language="python",
        framework="django",
        platform=platform,
        strategy="rolling",
    )
    image = f"ghcr.io/my-org/django-{platform}:{TAG}"
    missing = run_script(
        root,
        "deploy.sh",
        "--env",
        "production",
        "--image",
        image,
        "--dry-run",
        path_first=tripwire,
        env={"APP_URL": ""},
    )
    assert missing.returncode == 2
    assert "APP_URL" in missing.stderr
    result = run_script(
        root,
        "deploy.sh",
        "--env",
        "production",
        "--image",
        image,
        "--dry-run",
        path_first=tripwire,
        env={"APP_URL": "https://shop.example.com/"},
    )
    assert result.returncode == 0, result.stderr
    expected = {
        "kubernetes": "#         - ALLOWED_HOSTS=shop.example.com",
        "fly": "--env ALLOWED_HOSTS=shop.example.com,django-fly.fly.dev",
        "compose": "ALLOWED_HOSTS=shop.example.com",
    }[platform]
    assert expected in result.stdout
    assert not (tripwire / "calls").exists()
