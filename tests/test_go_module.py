"""The Go service's module: a supported Go, the same in go.mod, the image and CI; go.sum pinned.

These read rendered files only (no Go needed). Building, `go mod verify`,
`go vet` and the generated tests run in test_go_service.py and
test_service_contract.py.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from dockerfile_model import parse_stages
from docs_helpers import Renders
from helpers import REPO_ROOT, choices

sys.path.insert(0, str(REPO_ROOT / "tools"))
import refresh_go_sum

# The oldest Go line still supported: Go supports its two newest releases, 1.27 and 1.26
# (1.25 ended when 1.27 came out in August 2026). Raise it when 1.28 ships.
OLDEST_SUPPORTED_GO = (1, 26)
GO_SUM_LINE = re.compile(r"^(\S+) (v\S+?)(/go\.mod)? h1:[A-Za-z0-9+/]{43}=$")
DIRECT = {
    "github.com/jackc/pgx/v5": "database",
    "github.com/redis/go-redis/v9": "cache",
    "github.com/prometheus/client_golang": None,
}

COMBOS = [
    pytest.param(database, cache, id=f"{database}-{cache}")
    for database in choices("database")
    for cache in choices("cache")
]


def version(text: str) -> tuple[int, ...]:
    """1.26.11 -> (1, 26, 11)."""
    return tuple(int(part) for part in text.split("."))


def go_line(project: Path) -> str:
    """The `go` directive of the rendered go.mod."""
    lines = (project / "go.mod").read_text().splitlines()
    return next(line.split()[1] for line in lines if line.startswith("go "))


def requirements(project: Path) -> dict[str, str]:
    """Every module go.mod requires, direct or indirect: {path: version}."""
    found = {}
    for line in (project / "go.mod").read_text().splitlines():
        match = re.match(r"^(?:\t|require )(\S+) (v\S+)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_go_mod_the_image_and_ci_use_the_same_supported_go(renders: Renders) -> None:
    project = renders.get(language="go", ci="github")
    line = go_line(project)
    assert version(line)[:2] >= OLDEST_SUPPORTED_GO, f"go {line} is out of support"
    builder = parse_stages(project / "Dockerfile")[0].base
    match = re.fullmatch(r"golang:(\d+\.\d+\.\d+)-bookworm", builder)
    assert match, builder
    image = match.group(1)
    # The image builds go.mod's language version: same line, a patch at least as new.
    assert version(image)[:2] == version(line)[:2], (image, line)
    assert version(image) >= version(line)
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    setup = [
        step
        for job in ci["jobs"].values()
        for step in job["steps"]
        if "setup-go" in str(step.get("uses", ""))
    ]
    assert setup and all(step["with"]["go-version"] == image for step in setup), setup


@pytest.mark.parametrize(("database", "cache"), COMBOS)
def test_go_sum_pins_every_required_module(renders: Renders, database: str, cache: str) -> None:
    project = renders.get(language="go", database=database, cache=cache)
    required = requirements(project)
    for module, answer in DIRECT.items():
        wanted = answer is None or {"database": database, "cache": cache}[answer] != "none"
        assert (module in required) == wanted, (module, required)
    lines = (project / "go.sum").read_text().splitlines()
    assert lines, "go.sum is empty"
    summed: dict[tuple[str, str], set[bool]] = {}
    for line in lines:
        match = GO_SUM_LINE.match(line)
        assert match, f"not a go.sum line: {line!r}"
        summed.setdefault((match.group(1), match.group(2)), set()).add(bool(match.group(3)))
    # Each required module: the hash of its go.mod and of its content.
    for module, pinned in required.items():
        assert summed.get((module, pinned)) == {True, False}, f"go.sum lacks {module} {pinned}"


def test_the_stored_go_sums_cover_every_combination() -> None:
    stored = json.loads((REPO_ROOT / "includes" / "go" / "modules.json").read_text())
    expected = {
        f"{database}-{cache}" for database in choices("database") for cache in choices("cache")
    }
    assert set(stored["combinations"]) == expected
    assert "tools/refresh_go_sum.py" in stored["note"]


def test_existing_apps_keep_their_own_go_sum(renders: Renders) -> None:
    project = renders.get(language="go", framework="stdlib", existing_app=True)
    assert not (project / "go.sum").exists()
    assert not (project / "go.mod").exists()


def test_the_health_add_in_for_existing_apps_imports_the_standard_library_only() -> None:
    # It is copied into the app's own module: a third-party import would change its go.mod.
    for path in (REPO_ROOT / "template" / "internal" / "health").glob("*.go"):
        block = re.search(r"^import \(\n(.*?)^\)", path.read_text(), re.M | re.S)
        assert block, path
        imports = re.findall(r'"([^"]+)"', block.group(1))
        third_party = [name for name in imports if "." in name.split("/")[0]]
        assert imports and not third_party, (path.name, third_party)


def test_the_refresh_tool_reads_both_layouts_go_mod_tidy_writes() -> None:
    # One requirement: `require x v` on one line; several: a block; indirect ones marked.
    single = "module m\n\ngo 1.26.0\n\nrequire github.com/a/b v1.2.3\n"
    block = (
        "module m\n\ngo 1.26.0\n\nrequire (\n"
        "\tgithub.com/a/b v1.2.3\n\tgithub.com/c/d/v9 v9.0.1\n)\n"
        "\nrequire (\n\tgolang.org/x/sys v0.48.0 // indirect\n)\n"
    )
    assert refresh_go_sum.requirements(single) == ("1.26.0", {"github.com/a/b": "v1.2.3"}, [])
    assert refresh_go_sum.requirements(block) == (
        "1.26.0",
        {"github.com/a/b": "v1.2.3", "github.com/c/d/v9": "v9.0.1"},
        ["golang.org/x/sys v0.48.0"],
    )
