"""Kubernetes output: every strategy and language builds, validates and passes extra checks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from delivery import (
    ARGO_KINDS,
    HEALTH,
    KUBERNETES_VERSION,
    Renders,
    combo_id,
    dockerfile_uid,
    image_tag,
    load_all,
    migrate_command,
    plain_var_names,
    secret_var_names,
    strategies,
)
from helpers import REPO_ROOT, choices, include_yaml, questions, require_tool

# One worker renders this module's projects once (scripts/test.sh runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("kubernetes")

OVERLAYS = ("staging", "production", "preview")
DEFAULT_PORTS = {"node": 3000, "python": 8000, "go": 8080}
CHECKOV_SKIPS = yaml.safe_load((REPO_ROOT / "tests" / "checkov-skips.yaml").read_text())
# Where the test setup keeps checkov, in its own virtualenv (its pins clash with ours).
CHECKOV_VENV = Path(os.environ.get("CHECKOV_VENV", REPO_ROOT / ".tools" / "checkov-venv"))

# Every strategy (and way of running it) x every language, with Postgres and Redis,
# plus the variants that change the manifests' shape.
COMBOS: list[dict[str, Any]] = [
    {"language": language, "strategy": strategy, "k8s_rollouts": rollouts}
    for strategy, rollouts in strategies("kubernetes")
    for language in choices("language")
] + [
    {"language": "python", "framework": "django", "strategy": "rolling", "k8s_rollouts": "argo"},
    {
        "language": "go",
        "strategy": "canary",
        "k8s_rollouts": "native",
        "database": "none",
        "cache": "none",
        "cpu_limit": "500m",
        "min_replicas": 3,
        "max_replicas": 7,
    },
    {
        "language": "node",
        "strategy": "canary",
        "k8s_rollouts": "argo",
        "database": "none",
        "prometheus_url": "http://prometheus.monitoring.svc:9090",
    },
]
IDS = [combo_id(combo) for combo in COMBOS]
assert len(set(IDS)) == len(IDS), "combination ids name the rendered projects: keep them unique"


def answers_of(combo: dict[str, Any]) -> dict[str, Any]:
    """The answers a combination is rendered with."""
    return {"platform": "kubernetes", "database": "postgres", "cache": "redis", **combo}


def expected_of(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers with the defaults the checks compare against filled in."""
    min_replicas = answers.get("min_replicas", questions()["min_replicas"]["default"])
    return {
        "cpu_limit": questions()["cpu_limit"]["default"],
        "min_replicas": min_replicas,
        "max_replicas": max(min_replicas * 5, 10),
        **answers,
    }


class Built:
    """One rendered project and its three built overlays (parsed)."""

    def __init__(self, project: Path, answers: dict[str, Any]) -> None:
        self.project = project
        self.answers = answers
        self.name = project.name
        self.text: dict[str, str] = {}
        self.docs: dict[str, list[dict[str, Any]]] = {}
        kubectl = require_tool("kubectl")
        for overlay in OVERLAYS:
            result = subprocess.run(
                [kubectl, "kustomize", str(project / "deploy" / "k8s" / "overlays" / overlay)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, f"kustomize {overlay} failed:\n{result.stderr}"
            self.text[overlay] = result.stdout
            self.docs[overlay] = load_all(result.stdout)

    def objects(self, overlay: str, kind: str) -> list[dict[str, Any]]:
        """Every object of one kind in an overlay's output."""
        return [doc for doc in self.docs[overlay] if doc["kind"] == kind]

    def one(self, overlay: str, kind: str, name: str) -> dict[str, Any]:
        """The object of that kind and name (fails when missing)."""
        found = [doc for doc in self.objects(overlay, kind) if doc["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name} missing from {overlay}"
        return found[0]

    def workloads(self, overlay: str) -> list[dict[str, Any]]:
        """The server workloads (Deployments and Rollouts)."""
        return self.objects(overlay, "Deployment") + self.objects(overlay, "Rollout")


@pytest.fixture(scope="module")
def builds(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Render and build a combination on first use; later tests reuse it."""
    renders = Renders(template_src, tmp_path_factory.mktemp("k8s"))
    cache: dict[str, Built] = {}

    def get(combo: dict[str, Any]) -> Built:
        key = combo_id(combo)
        if key not in cache:
            answers = answers_of(combo)
            cache[key] = Built(renders(key, **answers), expected_of(answers))
        return cache[key]

    return get


def pod_specs(built: Built, overlay: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, pod template) of every workload and Job."""
    return [
        (doc["metadata"]["name"], doc["spec"]["template"])
        for doc in built.workloads(overlay) + built.objects(overlay, "Job")
    ]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels-style selector matches a label set."""
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_every_overlay_validates_against_the_pinned_kubernetes(
    builds: Any, combo: dict[str, Any]
) -> None:
    built = builds(combo)
    for overlay in OVERLAYS:
        for doc in built.docs[overlay]:
            if doc["kind"] in ARGO_KINDS:
                continue
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        # Argo's kinds are not in that schema set: their pod template is
        # validated as the PodTemplateSpec it is.
        for rollout in built.objects(overlay, "Rollout"):
            wrapper = {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": rollout["metadata"]["name"]},
                "template": rollout["spec"]["template"],
            }
            kubernetes_validate.validate(wrapper, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_probes_name_the_http_port_and_the_contract_paths(
    builds: Any, combo: dict[str, Any]
) -> None:
    built = builds(combo)
    paths = HEALTH["paths"]
    expected = {
        "startupProbe": paths["liveness"],
        "livenessProbe": paths["liveness"],
        "readinessProbe": paths["readiness"],
    }
    for name, template in pod_specs(built, "production"):
        for container in template["spec"]["containers"]:
            if container["name"] != "app":
                continue
            port_names = {port["name"] for port in container["ports"]}
            assert port_names == {"http"}
            assert (
                container["ports"][0]["containerPort"] == DEFAULT_PORTS[built.answers["language"]]
            )
            for probe, path in expected.items():
                assert container[probe]["httpGet"]["port"] in port_names, f"{name}: {probe} port"
                assert container[probe]["httpGet"]["path"] == path, f"{name}: {probe} path"
            timings = HEALTH["probes"]
            assert (
                container["startupProbe"]["failureThreshold"]
                == timings["startup"]["failure_threshold"]
            )
            assert container["livenessProbe"]["periodSeconds"] == timings["liveness"]["period"]
            assert container["readinessProbe"]["periodSeconds"] == timings["readiness"]["period"]
    assert_service_serves(built.project, {paths["liveness"], paths["readiness"]})


def assert_service_serves(project: Path, paths: set[str]) -> None:
    """Each probe path is a route literal in the rendered service (once its code exists).

    Accepts "/health/ready", "GET /health/ready" (Go's mux) and Django's "health/ready/".
    """
    sources = [
        path
        for folder in ("src", "app", "internal", "cmd")
        if (project / folder).is_dir()
        for path in (project / folder).rglob("*")
        if path.suffix in {".ts", ".js", ".py", ".go"} and "test" not in path.name
    ]
    if not sources:
        return
    code = "\n".join(path.read_text() for path in sources)
    for path in paths:
        route = re.compile(r"[\"'` ]/?" + re.escape(path.lstrip("/")) + r"/?[\"'`]")
        assert route.search(code), f"{path} is probed but the service code never names it"


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_services_hpa_pdb_and_network_policy_target_the_workload(
    builds: Any, combo: dict[str, Any]
) -> None:
    built = builds(combo)
    for overlay in ("staging", "production"):
        pods = {
            doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["labels"]
            for doc in built.workloads(overlay)
        }
        for workload in built.workloads(overlay):
            assert selects(
                workload["spec"]["selector"]["matchLabels"],
                workload["spec"]["template"]["metadata"]["labels"],
            )
        # The main Service and every other one select some server pods, never the Job's.
        for service in built.objects(overlay, "Service"):
            selector = service["spec"]["selector"]
            assert any(selects(selector, labels) for labels in pods.values()), service["metadata"][
                "name"
            ]
            for job in built.objects(overlay, "Job"):
                assert not selects(selector, job["spec"]["template"]["metadata"]["labels"])
            assert service["spec"]["ports"][0]["targetPort"] == "http"
        built.one(overlay, "Service", built.name)
        # Each HPA scales an existing workload; together they cover every one
        # the strategy does not size by script.
        targets = set()
        for hpa in built.objects(overlay, "HorizontalPodAutoscaler"):
            ref = hpa["spec"]["scaleTargetRef"]
            assert ref["name"] in pods
            kind = next(
                doc["kind"]
                for doc in built.workloads(overlay)
                if doc["metadata"]["name"] == ref["name"]
            )
            assert ref["kind"] == kind
            targets.add(ref["name"])
            if overlay == "production":
                assert hpa["spec"]["minReplicas"] == built.answers["min_replicas"]
                assert hpa["spec"]["maxReplicas"] == built.answers["max_replicas"]
        assert targets == set(pods) - {f"{built.name}-canary"}
        pdb = built.one(overlay, "PodDisruptionBudget", built.name)
        assert all(
            selects(pdb["spec"]["selector"]["matchLabels"], labels) for labels in pods.values()
        )
        policy = built.one(overlay, "NetworkPolicy", built.name)
        assert all(
            selects(policy["spec"]["podSelector"]["matchLabels"], labels)
            for labels in pods.values()
        )
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        assert [rule["ports"] for rule in policy["spec"]["ingress"]] == [
            [{"port": "http", "protocol": "TCP"}]
        ]
    # Previews stay small: no autoscaler, no disruption budget, one replica.
    assert not built.objects("preview", "HorizontalPodAutoscaler")
    assert not built.objects("preview", "PodDisruptionBudget")


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_pods_are_hardened_and_sized(builds: Any, combo: dict[str, Any]) -> None:
    built = builds(combo)
    uid = dockerfile_uid(built.project)
    for name, template in pod_specs(built, "production"):
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["serviceAccountName"] == built.name
        pod_context = spec["securityContext"]
        assert pod_context["runAsNonRoot"] is True
        assert pod_context["runAsUser"] == uid, f"{name} runs as another UID than the Dockerfile's"
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsUser"] == uid
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
            resources = container["resources"]
            assert resources["limits"]["memory"] == questions()["memory_limit"]["default"]
            if built.answers["cpu_limit"] == "none":
                assert "cpu" not in resources["limits"]
            else:
                assert resources["limits"]["cpu"] == built.answers["cpu_limit"]
            assert set(resources["requests"]) == {"cpu", "memory"}
            assert image_tag(container["image"]) not in {"", "latest"}
            assert container["image"].startswith(f"ghcr.io/my-org/{built.name}:")
    sa = built.one("production", "ServiceAccount", built.name)
    assert sa["automountServiceAccountToken"] is False


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_shutdown_drains_within_the_grace_period(builds: Any, combo: dict[str, Any]) -> None:
    built = builds(combo)
    defaults = {var["name"]: var.get("default") for var in include_yaml("env-spec.yml")}
    for workload in built.workloads("production"):
        spec = workload["spec"]["template"]["spec"]
        prestop = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert prestop == HEALTH["drain"]["prestop_seconds"]
        needed = (
            prestop
            + int(defaults["SHUTDOWN_DELAY_SECONDS"])
            + int(defaults["SHUTDOWN_TIMEOUT_SECONDS"])
        )
        assert spec["terminationGracePeriodSeconds"] >= needed
        zones = [c["topologyKey"] for c in spec["topologySpreadConstraints"]]
        assert zones == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_config_map_holds_plain_vars_and_secrets_are_only_referenced(
    builds: Any, combo: dict[str, Any]
) -> None:
    built = builds(combo)
    plain = plain_var_names(built.answers) - {"APP_VERSION"}
    secrets = secret_var_names(built.answers)
    for overlay in OVERLAYS:
        (config,) = built.objects(overlay, "ConfigMap")
        assert set(config["data"]) == plain
        assert config["data"]["APP_ENV"] == {"preview": "staging"}.get(overlay, overlay)
        assert not built.objects(overlay, "Secret"), "secret values must never be rendered"
        for name, template in pod_specs(built, overlay):
            container = template["spec"]["containers"][0]
            assert container["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}]
            refs = {
                env["name"]: env["valueFrom"]["secretKeyRef"] for env in container.get("env", [])
            }
            assert set(refs) == set(secrets), name
            for var, ref in refs.items():
                assert ref["name"] == f"{built.name}-secrets"
                assert ref["key"] == var
                assert ref.get("optional", False) is not secrets[var]


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_migration_job_runs_the_migrate_command_with_the_server_image(
    builds: Any, combo: dict[str, Any]
) -> None:
    built = builds(combo)
    jobs = built.objects("production", "Job")
    if built.answers["database"] != "postgres":
        assert not jobs
        return
    (job,) = jobs
    assert job["metadata"]["labels"]["deploy-step"] == "migration"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == migrate_command(built.answers)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    server_images = {
        w["spec"]["template"]["spec"]["containers"][0]["image"]
        for w in built.workloads("production")
    }
    assert server_images == {container["image"]}


@pytest.mark.parametrize("combo", COMBOS, ids=IDS)
def test_every_object_has_a_deploy_step_and_namespace(builds: Any, combo: dict[str, Any]) -> None:
    built = builds(combo)
    namespace = built.answers.get("k8s_namespace", built.name)
    for overlay in OVERLAYS:
        expected_ns = f"{namespace}-pr-0" if overlay == "preview" else f"{namespace}-{overlay}"
        (ns,) = built.objects(overlay, "Namespace")
        assert ns["metadata"]["name"] == expected_ns
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        for doc in built.docs[overlay]:
            step = doc["metadata"]["labels"]["deploy-step"]
            expected = {"Deployment": "workload", "Rollout": "workload", "Job": "migration"}.get(
                doc["kind"], "config"
            )
            assert step == expected, f"{doc['kind']}/{doc['metadata']['name']}"
            if doc["kind"] != "Namespace":
                assert doc["metadata"]["namespace"] == expected_ns


@pytest.mark.parametrize(
    "combo",
    [c for c in COMBOS if c["strategy"] == "rolling"],
    ids=[i for c, i in zip(COMBOS, IDS, strict=True) if c["strategy"] == "rolling"],
)
def test_rolling_update_never_drops_below_the_current_count(
    builds: Any, combo: dict[str, Any]
) -> None:
    built = builds(combo)
    (deployment,) = built.objects("production", "Deployment")
    spec = deployment["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
    }
    assert spec["minReadySeconds"] > 0
    assert spec["progressDeadlineSeconds"] > spec["minReadySeconds"]
    assert "replicas" not in spec, "the HPA owns the replica count"


ARGO = [c for c in COMBOS if c["strategy"] != "rolling" and c["k8s_rollouts"] == "argo"]
NATIVE = [c for c in COMBOS if c["strategy"] != "rolling" and c["k8s_rollouts"] == "native"]


@pytest.mark.parametrize("combo", ARGO, ids=[combo_id(c) for c in ARGO])
def test_argo_rollout_strategy_fields(builds: Any, combo: dict[str, Any]) -> None:
    built = builds(combo)
    for overlay in OVERLAYS:
        assert not built.objects(overlay, "Deployment")
        rollout = built.one(overlay, "Rollout", built.name)
        services = {s["metadata"]["name"] for s in built.objects(overlay, "Service")}
        strategy = rollout["spec"]["strategy"]
        if built.answers["strategy"] == "blue-green":
            blue_green = strategy["blueGreen"]
            assert blue_green["activeService"] == built.name
            assert blue_green["previewService"] == f"{built.name}-preview"
            assert {blue_green["activeService"], blue_green["previewService"]} <= services
            assert blue_green["autoPromotionEnabled"] is False
            assert blue_green["scaleDownDelaySeconds"] >= 30
            continue
        canary = strategy["canary"]
        assert {canary["stableService"], canary["canaryService"]} <= services
        steps = canary["steps"]
        assert [step.get("setWeight") for step in steps[::2]] == [5, 50]
        assert all("pause" in step for step in steps[1::2]) and len(steps) == 4
        (template,) = built.objects(overlay, "AnalysisTemplate")
        assert canary["analysis"]["templates"] == [{"templateName": template["metadata"]["name"]}]
        assert {a["name"] for a in canary["analysis"]["args"]} == {
            a["name"] for a in template["spec"]["args"]
        }
        (metric,) = template["spec"]["metrics"]
        query = metric["provider"]["prometheus"]["query"]
        assert HEALTH["metrics"]["errors_total"] in query
        assert HEALTH["metrics"]["requests_total"] in query
        expected_url = built.answers.get("prometheus_url", questions()["prometheus_url"]["default"])
        assert metric["provider"]["prometheus"]["address"] == expected_url
        # The ConfigMap's hashed name reached the Rollout (kustomize config in base/).
        (config,) = built.objects(overlay, "ConfigMap")
        env_from = rollout["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert env_from == [{"configMapRef": {"name": config["metadata"]["name"]}}]


@pytest.mark.parametrize("combo", NATIVE, ids=[combo_id(c) for c in NATIVE])
def test_native_strategies_use_two_deployments_with_one_pod_template(
    builds: Any, combo: dict[str, Any]
) -> None:
    built = builds(combo)
    deployments = {d["metadata"]["name"]: d for d in built.objects("production", "Deployment")}
    if built.answers["strategy"] == "blue-green":
        names, label, values = (
            [f"{built.name}-blue", f"{built.name}-green"],
            "slot",
            ["blue", "green"],
        )
        service = built.one("production", "Service", built.name)
        assert service["spec"]["selector"]["slot"] == "blue"
        assert (
            built.one("production", "Service", f"{built.name}-preview")["spec"]["selector"]["slot"]
            == "green"
        )
    else:
        names, label, values = [built.name, f"{built.name}-canary"], "track", ["stable", "canary"]
        assert deployments[f"{built.name}-canary"]["spec"]["replicas"] == 0
        # The Service spans both tracks, so the replica ratio splits traffic.
        assert "track" not in built.one("production", "Service", built.name)["spec"]["selector"]
    assert sorted(deployments) == sorted(names)
    templates = []
    for name, value in zip(names, values, strict=True):
        template = json.loads(json.dumps(deployments[name]["spec"]["template"]))
        assert template["metadata"]["labels"].pop(label) == value
        for constraint in template["spec"]["topologySpreadConstraints"]:
            assert constraint["labelSelector"]["matchLabels"].pop(label) == value
        templates.append(template)
    assert templates[0] == templates[1], "the two Deployments' pods must differ only by their label"


def test_checkov_finds_nothing_beyond_the_justified_skips(builds: Any, tmp_path: Path) -> None:
    checkov = CHECKOV_VENV / "bin" / "checkov"
    if not checkov.exists():
        setup_checkov_venv()
    # Checkov knows no Argo Rollout: scan its pod template as a Deployment's.
    for combo in COMBOS:
        built = builds(combo)
        for overlay in OVERLAYS:
            docs = [
                as_deployment(doc) if doc["kind"] == "Rollout" else doc
                for doc in built.docs[overlay]
            ]
            (tmp_path / f"{combo_id(combo)}--{overlay}.yaml").write_text(yaml.safe_dump_all(docs))
    result = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(tmp_path),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-2000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    answers = {combo_id(combo): expected_of(answers_of(combo)) for combo in COMBOS}
    unexpected = []
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0
        assert report["summary"]["passed"] > 0
        for failure in report["results"]["failed_checks"]:
            combo = Path(failure["file_path"]).name.split("--")[0]
            if not skipped(failure["check_id"], answers[combo]):
                unexpected.append(
                    f"{failure['check_id']} {failure['check_name']} in {failure['file_path']} "
                    f"({failure['resource']})"
                )
    assert not unexpected, "\n".join(sorted(set(unexpected)))


def as_deployment(rollout: dict[str, Any]) -> dict[str, Any]:
    """A Rollout as the Deployment checkov can read: same metadata and pod template."""
    spec = {
        k: v for k, v in rollout["spec"].items() if k not in {"strategy", "progressDeadlineAbort"}
    }
    return {**rollout, "apiVersion": "apps/v1", "kind": "Deployment", "spec": spec}


def skipped(check_id: str, answers: dict[str, Any]) -> bool:
    """Whether tests/checkov-skips.yaml excuses a check for these answers."""
    return any(
        skip["id"] == check_id
        and all(answers.get(key) in values for key, values in (skip.get("when") or {}).items())
        for skip in CHECKOV_SKIPS
    )


def test_checkov_skips_are_few_and_justified() -> None:
    assert len(CHECKOV_SKIPS) <= 5
    for skip in CHECKOV_SKIPS:
        assert skip["id"].startswith("CKV")
        assert len(skip["why"].split()) >= 8, f"{skip['id']} needs a real justification"


def setup_checkov_venv() -> None:
    """Create the checkov virtualenv (its dependency pins clash with the suite's own)."""
    if os.environ.get("CI") != "true" and not os.environ.get("PRODREADY_INSTALL_TOOLS"):
        pytest.skip(f"no checkov in {CHECKOV_VENV} (PRODREADY_INSTALL_TOOLS=1 creates it)")
    CHECKOV_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    subprocess.run(
        [str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", "checkov>=3.2,<4"], check=True
    )


# Manifests are read by people too: no duplicate keys, stray blank lines or tabs.
YAMLLINT_CONFIG = (
    "{extends: default, rules: {line-length: {max: 160}, document-start: disable,"
    " truthy: {check-keys: false}}}"
)


def test_manifest_sources_pass_yamllint(builds: Any) -> None:
    yamllint = require_tool("yamllint")
    folders = [
        str(builds(combo).project / "deploy" / "k8s" / part)
        for combo in COMBOS
        for part in ("base", "overlays")
    ]
    result = subprocess.run(
        [yamllint, "--strict", "-d", YAMLLINT_CONFIG, *folders],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
