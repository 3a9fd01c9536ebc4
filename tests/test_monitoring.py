"""Alert rules: valid Prometheus rules on the contract's metric names that fire when they should.

`promtool` (Debian package `prometheus`) checks and unit-tests the rules; without it the structural
checks below still run.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from docs_helpers import NAMESPACE, SERVICE, Renders
from helpers import choices, include_yaml, require_tool

METRICS = include_yaml("health.yml")["metrics"]
ALERT_KINDS = ["HighErrorRate", "HighLatencyP99", "RestartLoop", "HealthEndpointDown"]
PREFIX = "".join(part.capitalize() for part in SERVICE.split("-"))


def _rules(renders: Renders, platform: str) -> tuple[Path, list[dict[str, Any]]]:
    """The rendered project and its rule groups (from the PrometheusRule on Kubernetes)."""
    answers: dict[str, Any] = {"service_name": SERVICE, "platform": platform}
    if platform == "kubernetes":
        answers["k8s_namespace"] = NAMESPACE
    project = renders.get(**answers)
    if platform == "kubernetes":
        rule = yaml.safe_load((project / "deploy/k8s/monitoring/prometheusrule.yaml").read_text())
        assert rule["apiVersion"] == "monitoring.coreos.com/v1"
        assert rule["kind"] == "PrometheusRule"
        return project, rule["spec"]["groups"]
    assert not (project / "deploy" / "k8s").exists()
    return project, yaml.safe_load((project / "monitoring/alerts.yml").read_text())["groups"]


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    pairs = {")": "(", "}": "{", "]": "["}
    for char in re.sub(r'"[^"]*"', "", expr):
        if char in depth:
            depth[char] += 1
        elif char in pairs:
            depth[pairs[char]] -= 1
            if depth[pairs[char]] < 0:
                return False
    return not any(depth.values())


@pytest.mark.parametrize("platform", choices("platform"))
def test_rules_cover_the_four_signals_on_the_contract_metrics(
    renders: Renders, platform: str
) -> None:
    _, groups = _rules(renders, platform)
    rules = {rule["alert"]: rule for group in groups for rule in group["rules"]}
    for kind in ALERT_KINDS:
        assert f"{PREFIX}{kind}" in rules
    for name, rule in rules.items():
        assert _balanced(rule["expr"]), name
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["runbook_url"].endswith("docs/runbooks/rollback.md")
        assert (
            f'job="{SERVICE}"' in rule["expr"]
            or "kube_pod_container_status_restarts_total" in rule["expr"]
        )
        if platform == "kubernetes":
            assert f'namespace="{NAMESPACE}-production"' in rule["expr"]
    assert METRICS["errors_total"] in rules[f"{PREFIX}HighErrorRate"]["expr"]
    assert METRICS["requests_total"] in rules[f"{PREFIX}HighErrorRate"]["expr"]
    assert f"{METRICS['request_duration']}_bucket" in rules[f"{PREFIX}HighLatencyP99"]["expr"]
    assert "histogram_quantile(0.99" in rules[f"{PREFIX}HighLatencyP99"]["expr"]


def test_kubernetes_monitoring_folder_builds_with_kustomize(renders: Renders) -> None:
    kubectl = require_tool("kubectl")
    project, _ = _rules(renders, "kubernetes")
    out = subprocess.run(
        [kubectl, "kustomize", str(project / "deploy/k8s/monitoring")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    docs = list(yaml.safe_load_all(out))
    assert sorted(doc["kind"] for doc in docs) == ["PodMonitor", "PrometheusRule"]
    assert {doc["metadata"]["namespace"] for doc in docs} == {f"{NAMESPACE}-production"}
    monitor = next(doc for doc in docs if doc["kind"] == "PodMonitor")
    # The rules select on the job label, taken from the pod label; "http" is the named port.
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": SERVICE,
        "app.kubernetes.io/component": "server",
    }
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "http"


def _series(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _unit_test(rules: list[dict[str, Any]], platform: str, *, bad: bool) -> dict[str, Any]:
    """A promtool unit test: broken service (every alert fires) or healthy one (none fires)."""
    base = {"job": SERVICE}
    if platform == "kubernetes":
        base["namespace"] = f"{NAMESPACE}-production"
    traffic = {**base, "instance": "a", "method": "GET", "route": "/orders"}
    minutes = 40
    series = [
        # One request per second on instance a; when broken, half of them fail and all are slow.
        {
            "series": METRICS["requests_total"] + _series({**traffic, "status": "200"}),
            "values": f"0+60x{minutes}",
        },
        {
            "series": METRICS["errors_total"] + _series({**traffic, "status": "500"}),
            "values": f"0+{30 if bad else 0}x{minutes}",
        },
        # Probes failing at 503 must not count as errors: they are excluded by route.
        {
            "series": METRICS["errors_total"]
            + _series({**traffic, "route": "/health/ready", "status": "503"}),
            "values": f"0+600x{minutes}",
        },
    ]
    buckets = {"0.5": 0 if bad else 60, "1": 0 if bad else 60, "2.5": 60, "+Inf": 60}
    for le, per_minute in buckets.items():
        labels = {k: v for k, v in traffic.items() if k != "status"}
        series.append(
            {
                "series": f"{METRICS['request_duration']}_bucket" + _series({**labels, "le": le}),
                "values": f"0+{per_minute}x{minutes}",
            }
        )
    series.append(
        {
            "series": "up" + _series({**base, "instance": "a"}),
            "values": f"{0 if bad else 1}x{minutes}",
        }
    )
    if platform == "kubernetes":
        series.append(
            {
                "series": "kube_pod_container_status_restarts_total"
                + _series(
                    {"namespace": base["namespace"], "pod": f"{SERVICE}-abc", "container": "app"}
                ),
                "values": f"0+{1 if bad else 0}x{minutes}",
            }
        )
    else:
        # Instance b restarts every two minutes: its request counter keeps falling back to 0.
        values = " ".join(str(i % 2 if bad else i) for i in range(minutes + 1))
        series.append(
            {
                "series": METRICS["requests_total"]
                + _series({**traffic, "instance": "b", "status": "200"}),
                "values": values,
            }
        )
    by_label = {
        "RestartLoop": {"pod": f"{SERVICE}-abc"} if platform == "kubernetes" else {"instance": "b"},
        "InstanceDown": {"instance": "a"},
    }
    cases = []
    for group in rules:
        for rule in group["rules"]:
            kind = rule["alert"].removeprefix(PREFIX)
            expected = (
                []
                if not bad
                else [
                    {
                        "exp_labels": {**rule["labels"], **by_label.get(kind, {})},
                        "exp_annotations": rule["annotations"],
                    }
                ]
            )
            cases.append({"eval_time": "30m", "alertname": rule["alert"], "exp_alerts": expected})
    return {"interval": "1m", "input_series": series, "alert_rule_test": cases}


@pytest.mark.parametrize("platform", choices("platform"))
def test_promtool_checks_and_unit_tests_the_rules(
    renders: Renders, platform: str, tmp_path: Path
) -> None:
    promtool = require_tool("promtool")
    _, groups = _rules(renders, platform)
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    check = subprocess.run(
        [promtool, "check", "rules", str(rules_file)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tests_file = tmp_path / "rules_test.yml"
    tests_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules_file.name],
                "evaluation_interval": "1m",
                "tests": [
                    _unit_test(groups, platform, bad=True),
                    _unit_test(groups, platform, bad=False),
                ],
            },
            sort_keys=False,
        )
    )
    result = subprocess.run(
        [promtool, "test", "rules", str(tests_file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_staging_is_scraped_too_and_every_monitor_carries_the_operator_label(
    renders: Renders,
) -> None:
    # The PodMonitor existed for production only, without a label kube-prometheus-stack
    # selects: the staging canary analysis and every alert checked nothing.
    kubectl = require_tool("kubectl")
    project = renders.get(
        service_name=SERVICE,
        platform="kubernetes",
        strategy="canary",
        k8s_rollouts="argo",
        k8s_namespace=NAMESPACE,
    )
    for folder, env, kinds in (
        ("deploy/k8s/monitoring", "production", ["PodMonitor", "PrometheusRule"]),
        ("deploy/k8s/monitoring/staging", "staging", ["PodMonitor"]),
    ):
        out = subprocess.run(
            [kubectl, "kustomize", str(project / folder)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        docs = list(yaml.safe_load_all(out))
        assert sorted(doc["kind"] for doc in docs) == kinds
        for doc in docs:
            assert doc["metadata"]["namespace"] == f"{NAMESPACE}-{env}"
            assert doc["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        monitor = next(doc for doc in docs if doc["kind"] == "PodMonitor")
        assert monitor["spec"]["podTargetLabels"] == ["rollouts-pod-template-hash"]


def _condition(expr: str, result: list[float]) -> bool:
    """Evaluate an Argo analysis condition (the expr subset the template uses)."""
    python = expr.replace("&&", " and ").replace("||", " or ").replace("!isNaN", " not isnan")
    python = python.replace("isNaN", "isnan")
    return bool(eval(python, {"len": len, "isnan": math.isnan, "result": result}))  # noqa: S307


def test_canary_analysis_needs_data_and_counts_only_the_services_traffic(
    renders: Renders, tmp_path: Path
) -> None:
    project = renders.get(
        service_name=SERVICE,
        platform="kubernetes",
        strategy="canary",
        k8s_rollouts="argo",
        k8s_namespace=NAMESPACE,
    )
    template = yaml.safe_load((project / "deploy/k8s/base/analysis-template.yaml").read_text())
    (metric,) = template["spec"]["metrics"]
    success, failure = metric["successCondition"], metric.get("failureCondition", "false")
    # No data proves nothing: neither passes nor fails, so the run is inconclusive
    # and the rollout pauses (the old condition passed it).
    assert not _condition(success, []) and not _condition(failure, [])
    assert not _condition(success, [math.nan]) and not _condition(failure, [math.nan])
    assert metric["inconclusiveLimit"] == 0
    assert _condition(success, [0.01]) and not _condition(failure, [0.01])
    assert _condition(failure, [0.5]) and not _condition(success, [0.5])
    # The query, run by promtool on a canary that serves only 200s while its
    # readiness probe answers 503 (draining) and Prometheus scrapes it.
    promtool = require_tool("promtool")
    query = (
        metric["provider"]["prometheus"]["query"]
        .replace("{{args.namespace}}", f"{NAMESPACE}-staging")
        .replace("{{args.canary-hash}}", "abc123")
    )
    pod = {"namespace": f"{NAMESPACE}-staging", "rollouts_pod_template_hash": "abc123"}

    def series(metric_name: str, route: str, status: str, per_minute: int) -> dict[str, str]:
        labels = {**pod, "route": route, "status": status, "method": "GET"}
        return {"series": metric_name + _series(labels), "values": f"0+{per_minute}x20"}

    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    series(METRICS["requests_total"], "/orders", "200", 60),
                    series(METRICS["requests_total"], "/health/ready", "503", 600),
                    series(METRICS["errors_total"], "/health/ready", "503", 600),
                    series(METRICS["requests_total"], "/metrics", "200", 600),
                ],
                "promql_expr_test": [
                    {
                        "expr": query.strip(),
                        "eval_time": "10m",
                        "exp_samples": [{"labels": "{}", "value": 0}],
                    }
                ],
            }
        ],
    }
    # Without any traffic the query has no result (inconclusive), never a 0.
    tests["tests"].append(
        {
            "interval": "1m",
            "input_series": [series(METRICS["requests_total"], "/health/ready", "200", 600)],
            "promql_expr_test": [{"expr": query.strip(), "eval_time": "10m", "exp_samples": []}],
        }
    )
    (tmp_path / "analysis_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", "analysis_test.yml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
