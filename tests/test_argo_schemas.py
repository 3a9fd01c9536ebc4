"""Rendered Rollouts and AnalysisTemplates against the Argo Rollouts CRDs, strictly.

kubernetes-validate skips custom resources. The CRDs' openAPIV3Schema, with unknown
fields rejected, stands in for the API server of the oldest supported controller
(the minimum deploy.sh checks) and the newest.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from delivery import Renders, combo_id, load_all
from helpers import require_tool

pytestmark = pytest.mark.xdist_group("argo-schemas")

SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "schemas" / "argo-rollouts"
VERSIONS = ("v1.7.2", "v1.9.1")
CRDS = {"Rollout": "rollout-crd.yaml", "AnalysisTemplate": "analysis-template-crd.yaml"}
COMBOS = [
    {"platform": "kubernetes", "strategy": strategy, "k8s_rollouts": "argo"}
    for strategy in ("canary", "blue-green")
]


def strict(schema: Any) -> Any:
    """The schema with additionalProperties false wherever properties are listed and
    unknown fields are not preserved, as the API server prunes/rejects them."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        if out.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        return out
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def crd_schema(version: str, kind: str) -> dict[str, Any]:
    path = SCHEMAS / version / CRDS[kind]
    if not path.exists():
        pytest.fail(f"missing {path}: ../shared/schemas must sit beside the clone")
    crd = yaml.safe_load(path.read_text())
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = strict(served["schema"]["openAPIV3Schema"])
    # metadata is validated by the API server's ObjectMeta, not the CRD.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


@pytest.fixture(scope="module")
def built(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    renders = Renders(template_src, tmp_path_factory.mktemp("argo"))
    kubectl = require_tool("kubectl")

    def get(combo: dict[str, Any]) -> list[dict[str, Any]]:
        root = renders(combo_id(combo), **combo)
        docs: list[dict[str, Any]] = []
        for overlay in ("staging", "production", "preview"):
            out = subprocess.run(
                [kubectl, "kustomize", str(root / "deploy" / "k8s" / "overlays" / overlay)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            docs += load_all(out)
        return docs

    return get


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("combo", COMBOS, ids=[combo_id(c) for c in COMBOS])
def test_rollouts_and_analysis_templates_match_the_crds_strictly(
    built: Any, combo: dict[str, Any], version: str
) -> None:
    docs = [d for d in built(combo) if d["kind"] in CRDS]
    assert any(d["kind"] == "Rollout" for d in docs)
    for doc in docs:
        validator = jsonschema.Draft7Validator(crd_schema(version, doc["kind"]))
        errors = [
            f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(doc)
        ]
        assert not errors, f"{doc['kind']} {doc['metadata']['name']} ({version}):\n" + "\n".join(
            errors[:10]
        )


def test_the_strict_schema_rejects_what_the_oldest_controller_does_not_know(built: Any) -> None:
    # The check can fail: a field unknown to the CRD is an error, not ignored.
    rollout = next(d for d in built(COMBOS[0]) if d["kind"] == "Rollout")
    rollout = yaml.safe_load(yaml.safe_dump(rollout))
    rollout["spec"]["strategy"]["canary"]["notAField"] = True
    validator = jsonschema.Draft7Validator(crd_schema("v1.7.2", "Rollout"))
    assert any("notAField" in e.message for e in validator.iter_errors(rollout))
