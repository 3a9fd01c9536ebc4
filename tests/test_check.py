"""`prodready check`: every check fails on a tree built to fail it and passes on a good one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from check_fixtures import FAILING, GITLAB_BASE, GITLAB_FAILING, GOOD, Mutation
from helpers import assert_one_line_error, build_tree, cli
from prodready import Severity, check_repository
from prodready._check import CHECKS


def tree(root: Path, *mutations: Mutation) -> Path:
    """GOOD with the mutations applied (None deletes a file)."""
    files: dict[str, str | None] = dict(GOOD)
    for mutation in mutations:
        files.update(mutation)
    return build_tree(root, {rel: text for rel, text in files.items() if text is not None})


def found(root: Path) -> dict[str, list[str]]:
    """Check ID -> the places it found something."""
    out: dict[str, list[str]] = {}
    for finding in check_repository(root).findings:
        out.setdefault(finding.check_id, []).append(finding.where)
    return out


def test_the_good_repository_passes_every_check(tmp_path: Path) -> None:
    assert found(tree(tmp_path)) == {}


def test_the_good_gitlab_repository_passes_every_check(tmp_path: Path) -> None:
    assert found(tree(tmp_path, GITLAB_BASE)) == {}


def test_every_check_has_a_failing_fixture() -> None:
    # A check that no fixture makes fail could be one that cannot fail.
    assert set(FAILING) == set(CHECKS)


@pytest.mark.parametrize("check_id", sorted(FAILING))
def test_each_check_fails_on_its_fixture(tmp_path: Path, check_id: str) -> None:
    result = found(tree(tmp_path, FAILING[check_id]))
    assert check_id in result, result


@pytest.mark.parametrize("check_id", sorted(GITLAB_FAILING))
def test_pipeline_checks_fail_on_gitlab_fixtures(tmp_path: Path, check_id: str) -> None:
    result = found(tree(tmp_path, GITLAB_BASE, GITLAB_FAILING[check_id]))
    assert check_id in result, result


@pytest.mark.parametrize(
    ("check_id", "where"),
    [
        ("PR-IMG-003", "Dockerfile:2"),
        ("PR-IMG-005", "Dockerfile:10"),
        ("PR-IMG-008", "Dockerfile:11"),
        ("PR-K8S-004", "deploy/k8s/deployment.yaml:32"),
        ("PR-K8S-011", "deploy/k8s/deployment.yaml:23"),
        ("PR-FLY-002", "fly.toml:10"),
        ("PR-CI-005", ".github/workflows/ci.yml:9"),
        ("PR-SEC-004", "src/aws.ts:1"),
    ],
)
def test_findings_point_at_the_file_and_line(tmp_path: Path, check_id: str, where: str) -> None:
    assert where in found(tree(tmp_path, FAILING[check_id]))[check_id]


def test_every_check_says_why_and_how_to_fix() -> None:
    for check in CHECKS.values():
        assert check.title and len(check.why) > 30 and len(check.fix) > 20, check.id
        assert check.area in check.run.__module__ or check.area in ("fly", "compose"), check.id


def test_fixes_name_the_prodready_answer_where_one_renders_it() -> None:
    answered = [check.id for check in CHECKS.values() if "answer" in check.fix]
    assert {"PR-K8S-005", "PR-FLY-003", "PR-CMP-002", "PR-CI-001", "PR-IMG-001"} <= set(answered)


def test_a_probe_on_a_path_the_code_serves_passes_even_through_django_style_routes(
    tmp_path: Path,
) -> None:
    # Django registers "health/ready" without the leading slash; Go writes "GET /health/ready".
    root = tree(
        tmp_path,
        {
            "package.json": None,
            "src/server.ts": None,
            "test/server.test.ts": None,
            "requirements.txt": "django\ngunicorn\nprometheus-client\nstructlog\n",
            "app/urls.py": (
                'urlpatterns = [path("health", v.live), path("health/ready", v.ready)]\n'
            ),
        },
    )
    assert "PR-K8S-004" not in found(root)


def test_accepted_exceptions_are_reported_but_do_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, FAILING["PR-IMG-005"])
    assert cli(capsys, "check", root).code == 1
    (root / ".prodready-check.yml").write_text(
        "accept:\n  - id: PR-IMG-005\n    reason: The base image drops privileges itself.\n"
    )
    result = cli(capsys, "check", root, "--format", "json")
    assert result.code == 0, result.out
    document = json.loads(result.out)
    [finding] = document["findings"]
    assert finding["id"] == "PR-IMG-005"
    assert finding["accepted"] == "The base image drops privileges itself."
    assert document["summary"] == {"errors": 0, "warnings": 0, "accepted": 1, "checks": len(CHECKS)}


def test_an_exception_limited_to_a_path_accepts_only_findings_there(tmp_path: Path) -> None:
    root = tree(
        tmp_path, FAILING["PR-SEC-004"], {"lib/k.ts": "const k = 'AKIAIOSFODNN7EXAMPLQ';\n"}
    )
    (root / ".prodready-check.yml").write_text(
        "accept:\n  - id: PR-SEC-004\n    path: src/*\n    reason: A revoked test key.\n"
    )
    findings = [f for f in check_repository(root).findings if f.check_id == "PR-SEC-004"]
    assert {(f.file, f.accepted) for f in findings} == {
        ("src/aws.ts", "A revoked test key."),
        ("lib/k.ts", None),
    }


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("accept:\n  - id: PR-NOPE-001\n    reason: x\n", "unknown check ID 'PR-NOPE-001'"),
        ("accept:\n  - id: PR-IMG-005\n", "needs a reason"),
        ("accept:\n  - id: PR-IMG-005\n    reason: '  '\n", "needs a reason"),
        ("accept:\n  - id: PR-IMG-005\n    reason: x\n    until: 2027\n", "only the keys"),
        ("ignore: []\n", "one key, 'accept'"),
        ("accept: [\n", "not valid YAML"),
    ],
)
def test_a_bad_exceptions_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    root = tree(tmp_path)
    (root / ".prodready-check.yml").write_text(content)
    assert_one_line_error(cli(capsys, "check", root), ".prodready-check.yml", fragment)


def test_exit_status_follows_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warning_only = tree(tmp_path / "w", FAILING["PR-K8S-007"])
    assert CHECKS["PR-K8S-007"].severity is Severity.WARNING
    assert cli(capsys, "check", warning_only).code == 0
    assert cli(capsys, "check", warning_only, "--fail-on", "warning").code == 1
    assert cli(capsys, "check", tree(tmp_path / "g"), "--fail-on", "warning").code == 0


def test_only_and_skip_choose_the_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, FAILING["PR-IMG-005"], FAILING["PR-CI-005"])
    only = json.loads(cli(capsys, "check", root, "--format", "json", "--only", "PR-CI-005").out)
    assert {f["id"] for f in only["findings"]} == {"PR-CI-005"}
    assert only["summary"]["checks"] == 1
    skipped = cli(capsys, "check", root, "--skip", "PR-IMG-005", "PR-CI-005")
    assert skipped.code == 0, skipped.out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--only", "PR-IMG-999"], "unknown check ID 'PR-IMG-999'"),
        (["--skip", "img-001"], "unknown check ID 'img-001'"),
    ],
)
def test_unknown_check_ids_are_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    assert_one_line_error(cli(capsys, "check", tree(tmp_path), *args), fragment)


def test_a_missing_path_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(cli(capsys, "check", tmp_path / "nope"), "is not a directory")


def test_the_table_names_id_place_why_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "check", tree(tmp_path, FAILING["PR-IMG-005"]))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].split() == ["ERROR", "PR-IMG-005", *CHECKS["PR-IMG-005"].title.split()]
    assert lines[1].strip().startswith("Dockerfile:10: ")
    assert lines[2].strip().startswith("why: ") and any(
        line.strip().startswith("fix: ") for line in lines
    )
    assert lines[-1].startswith(f"1 error(s), 0 warning(s) from {len(CHECKS)} checks")


def test_list_shows_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys, "check", "--list")
    assert [line.split()[0] for line in result.out.splitlines()] == list(CHECKS)


def _ids_in_readme_table() -> set[str]:
    """Check IDs the README's comparison table names, with `A to B` ranges expanded."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme.split("## Checking a repository", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    ids: set[str] = set()
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[-1]
        for prefix, start, end in re.findall(
            r"(PR-[A-Z0-9]+)-(\d{3})(?: to (?:PR-[A-Z0-9]+-)?(\d{3}))?", cell
        ):
            last = int(end) if end else int(start)
            ids |= {f"{prefix}-{n:03d}" for n in range(int(start), last + 1)}
    return ids


def test_readme_comparison_table_names_every_check_and_no_other() -> None:
    assert _ids_in_readme_table() == set(CHECKS)
