"""Deploy, fail, roll back: scripts/deploy.sh and rollback.sh against a stateful fake cluster.

Each scenario deploys two good releases, then a third that fails at one point, runs
the pipeline's own failure handling (`rollback.sh --to previous`) and asserts which
image serves afterwards: the last good one, never two releases back.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import fake_flyctl
import fake_kubectl
from delivery import Renders, combo_id
from helpers import require_tool

pytestmark = pytest.mark.xdist_group("release-scenarios")

K8S = [
    {"platform": "kubernetes", "strategy": "rolling", "k8s_rollouts": "argo"},
    {"platform": "kubernetes", "strategy": "canary", "k8s_rollouts": "argo"},
    {"platform": "kubernetes", "strategy": "blue-green", "k8s_rollouts": "argo"},
    {"platform": "kubernetes", "strategy": "canary", "k8s_rollouts": "native"},
    {"platform": "kubernetes", "strategy": "blue-green", "k8s_rollouts": "native"},
]
K8S_IDS = [combo_id(c) for c in K8S]


def digest_image(root: Path, n: int) -> str:
    """Release n of the service, by digest as the pipelines deploy it."""
    return f"ghcr.io/my-org/{root.name}@sha256:{n:064x}"


@pytest.fixture(scope="module")
def project(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    renders = Renders(template_src, tmp_path_factory.mktemp("scenarios"))
    return lambda combo: renders(combo_id(combo), **combo)


class Cluster:
    """The fake cluster one scenario runs against."""

    def __init__(self, root: Path, folder: Path) -> None:
        self.root = root
        self.bin = fake_kubectl.install(folder)
        self.env = {
            "STUB_DIR": str(folder),
            "REAL_KUBECTL": require_tool("kubectl"),
            "PATH": f"{folder}:{os.environ['PATH']}",
            "ROLLOUT_WAIT_SECONDS": "5",
        }

    def run(self, script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.root / "scripts" / script), *args],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env, **env},
            check=False,
            timeout=120,
        )

    def deploy(self, n: int, **env: str) -> subprocess.CompletedProcess[str]:
        image = digest_image(self.root, n)
        return self.run("deploy.sh", "--env", "production", "--image", image, **env)

    def rollback(self, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run("rollback.sh", "--env", "production", "--to", "previous", *extra, **env)

    @property
    def state(self) -> dict[str, Any]:
        return fake_kubectl.load(self.bin)

    def serving(self) -> str | None:
        return fake_kubectl.serving(self.state, self.root.name)

    def calls(self) -> list[str]:
        path = self.bin / "calls"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(scope="module")
def two_releases(project: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The cluster state after two good releases, deployed once per combination."""
    states: dict[str, str] = {}

    def get(combo: dict[str, Any]) -> str:
        key = combo_id(combo)
        if key not in states:
            root = project(combo)
            cluster = Cluster(root, tmp_path_factory.mktemp("cluster"))
            for n in (1, 2):
                result = cluster.deploy(n)
                assert result.returncode == 0, result.stderr
            assert cluster.serving() == digest_image(root, 2)
            states[key] = (cluster.bin / "state.json").read_text()
        return states[key]

    return get


@pytest.fixture
def cluster(
    project: Any, two_releases: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Cluster:
    """Two good releases deployed: release 2 serves, release 1 ran before it."""
    cluster = Cluster(project(request.param), tmp_path / "bin")
    (cluster.bin / "state.json").write_text(two_releases(request.param))
    return cluster


@pytest.mark.parametrize("cluster", K8S, ids=K8S_IDS, indirect=True)
def test_a_failed_migration_rolls_nothing_back(cluster: Cluster) -> None:
    # Before traffic moves: the old `--to previous` took release 2 back to release 1.
    failed = cluster.deploy(3, FAKE_FAIL_MIGRATION="1")
    assert failed.returncode == 1
    assert "migrations failed" in failed.stderr
    rolled = cluster.rollback()
    assert rolled.returncode == 0, rolled.stderr
    assert "nothing to roll back" in rolled.stderr
    assert cluster.serving() == digest_image(cluster.root, 2)


@pytest.mark.parametrize("cluster", K8S, ids=K8S_IDS, indirect=True)
def test_a_release_that_never_gets_healthy_leaves_the_last_good_one(cluster: Cluster) -> None:
    bad = digest_image(cluster.root, 3)
    failed = cluster.deploy(3, FAKE_BAD_IMAGES=bad)
    assert failed.returncode == 1
    rolled = cluster.rollback(FAKE_BAD_IMAGES=bad)
    assert rolled.returncode == 0, rolled.stderr
    assert cluster.serving() == digest_image(cluster.root, 2)
    # Nothing re-rolls the bad version later: the desired state is release 2 again.
    rollout = fake_kubectl.get(cluster.state, "Rollout", cluster.root.name)
    if rollout:
        assert fake_kubectl.image_of(rollout) == digest_image(cluster.root, 2)
        assert rollout["status"]["phase"] == "Healthy"


@pytest.mark.parametrize("cluster", K8S, ids=K8S_IDS, indirect=True)
def test_a_failed_smoke_test_after_promotion_returns_to_the_release_before(
    cluster: Cluster,
) -> None:
    deployed = cluster.deploy(3)
    assert deployed.returncode == 0, deployed.stderr
    assert cluster.serving() == digest_image(cluster.root, 3)
    rolled = cluster.rollback()
    assert rolled.returncode == 0, rolled.stderr
    assert cluster.serving() == digest_image(cluster.root, 2)
    # A second rollback finds the target serving already: idempotent, never release 1.
    again = cluster.rollback()
    assert again.returncode == 0, again.stderr
    assert "nothing to roll back" in again.stderr
    assert cluster.serving() == digest_image(cluster.root, 2)


@pytest.mark.parametrize("cluster", K8S[1:3], ids=K8S_IDS[1:3], indirect=True)
def test_argo_promoted_release_that_is_progressing_is_rolled_back_not_aborted(
    cluster: Cluster,
) -> None:
    # Release 2 is fully promoted, but its pods crash-loop (or the HPA scales out):
    # Argo says Progressing. The old script aborted (nothing to abort) and undid
    # without promoting, leaving blue-green waiting and canary walking its steps.
    state = cluster.state
    state["Rollout"][cluster.root.name]["status"]["phase"] = "Progressing"
    fake_kubectl.save(cluster.bin, state)
    rolled = cluster.rollback()
    assert rolled.returncode == 0, rolled.stderr
    assert not [c for c in cluster.calls() if "argo rollouts abort" in c]
    assert cluster.serving() == digest_image(cluster.root, 1)


@pytest.mark.parametrize("cluster", K8S, ids=K8S_IDS, indirect=True)
def test_rollback_dry_run_reads_the_live_state_and_changes_nothing(cluster: Cluster) -> None:
    before = json.dumps(cluster.state, sort_keys=True)
    calls = len(cluster.calls())
    dry = cluster.rollback("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert json.dumps(cluster.state, sort_keys=True) == before
    made = cluster.calls()[calls:]
    assert made and all(c.startswith("kubectl get ") for c in made), made
    # It names the real target and what it would run to get there.
    assert digest_image(cluster.root, 1) in dry.stderr
    assert "\n+ kubectl " in "\n" + dry.stdout


@pytest.mark.parametrize("cluster", K8S[:1], ids=K8S_IDS[:1], indirect=True)
def test_a_redeploy_of_the_serving_image_keeps_the_record(cluster: Cluster) -> None:
    again = cluster.deploy(2)
    assert again.returncode == 0, again.stderr
    rolled = cluster.rollback()
    assert rolled.returncode == 0, rolled.stderr
    assert cluster.serving() == digest_image(cluster.root, 1)


def test_rollback_without_a_record_refuses_to_guess(project: Any, tmp_path: Path) -> None:
    cluster = Cluster(project(K8S[0]), tmp_path / "bin")
    assert cluster.deploy(1).returncode == 0
    result = cluster.rollback()
    assert result.returncode == 1
    assert "no rollback record" in result.stderr
    assert cluster.serving() == digest_image(cluster.root, 1)


# --- Fly.io ---------------------------------------------------------------------

FLY = {"platform": "fly", "strategy": "canary"}


class FlyApp(Cluster):
    """The fake Fly app one scenario runs against (flyctl and jq on PATH)."""

    def __init__(self, root: Path, folder: Path) -> None:
        require_tool("jq")
        self.root = root
        self.bin = fake_flyctl.install(folder)
        self.env = {"STUB_DIR": str(folder), "PATH": f"{folder}:{os.environ['PATH']}"}

    def flyctl(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / "flyctl"), *args], env={**os.environ, **self.env}, check=True
        )

    def serving(self) -> str | None:
        return fake_flyctl.serving(fake_flyctl.load(self.bin))


@pytest.fixture
def fly_app(project: Any, tmp_path: Path) -> FlyApp:
    app = FlyApp(project(FLY), tmp_path / "bin")
    for n in (1, 2):
        result = app.deploy(n)
        assert result.returncode == 0, result.stderr
    assert app.serving() == digest_image(app.root, 2)
    return app


def test_fly_rollback_after_a_secret_rotation_goes_to_the_previous_image(
    fly_app: FlyApp,
) -> None:
    # `fly secrets set` made a restart-only release of the current image; the old
    # rollback took it for "previous", reported success and changed nothing.
    fly_app.flyctl("secrets", "set", "API_KEY=rotated", "--app", fly_app.root.name)
    rolled = fly_app.rollback()
    assert rolled.returncode == 0, rolled.stderr
    assert fly_app.serving() == digest_image(fly_app.root, 1)


def test_fly_failed_deploy_rolls_nothing_back(fly_app: FlyApp) -> None:
    # A failed release_command: Fly records the release as failed, nothing moved.
    failed = fly_app.deploy(3, FAKE_FAIL_RELEASE_COMMAND="1")
    assert failed.returncode == 1
    rolled = fly_app.rollback()
    assert rolled.returncode == 0, rolled.stderr
    assert "nothing to roll back" in rolled.stderr
    assert fly_app.serving() == digest_image(fly_app.root, 2)


def test_fly_failed_smoke_test_returns_to_the_release_before(fly_app: FlyApp) -> None:
    assert fly_app.deploy(3).returncode == 0
    fly_app.flyctl("secrets", "set", "API_KEY=rotated", "--app", fly_app.root.name)
    rolled = fly_app.rollback()
    assert rolled.returncode == 0, rolled.stderr
    assert fly_app.serving() == digest_image(fly_app.root, 2)
    dry = fly_app.rollback("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert fly_app.serving() == digest_image(fly_app.root, 2)


@pytest.mark.parametrize("combo", K8S[1:3], ids=K8S_IDS[1:3])
def test_argo_rollouts_older_than_1_7_is_refused_before_anything_changes(
    project: Any, tmp_path: Path, combo: dict[str, Any]
) -> None:
    cluster = Cluster(project(combo), tmp_path / "bin")
    result = cluster.deploy(1, FAKE_ARGO_BEFORE_1_7="1")
    assert result.returncode == 1
    assert "older than 1.7" in result.stderr
    assert not [c for c in cluster.calls() if c.startswith(("kubectl apply", "kubectl annotate"))]
    assert cluster.serving() is None


# --- what the docs promise ----------------------------------------------------------


@pytest.mark.parametrize("combo", [K8S[0], FLY], ids=[K8S_IDS[0], combo_id(FLY)])
def test_the_runbook_says_a_workflow_rollback_waits_for_reviewers(
    project: Any, combo: dict[str, Any]
) -> None:
    # The runbook said nobody approves a rollback; the workflow waits for reviewers.
    runbook = (project(combo) / "docs" / "runbooks" / "rollback.md").read_text()
    assert "Nobody needs to approve" not in runbook
    assert "required reviewers" in runbook
    assert "changes nothing and says so" in runbook


def test_fly_toml_does_not_promise_machines_on_demand(project: Any) -> None:
    text = (project(FLY) / "fly.toml").read_text()
    assert "starts more on demand" not in text
    assert "only\n  # starts stopped ones" in text
