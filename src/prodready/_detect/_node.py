"""Node.js services: package.json, its lockfile, scripts, TypeScript and the code's port and env."""

from __future__ import annotations

import re
from typing import Any

from ._collect import Findings
from ._ports import listen_port_var
from ._repo import Repo
from ._text import key_line, load_json

__all__ = ["detect_node"]

# Most specific first: Nest and Hono apps often carry Express or Fastify too.
_FRAMEWORKS = (
    ("@nestjs/core", "nest"),
    ("hono", "hono"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("express", "express"),
)
_DEFAULT_PORTS = {"express": 3000, "fastify": 3000, "koa": 3000, "nest": 3000, "hono": 3000}
# Checked in this order: a repo holding two lockfiles is most likely mid-migration
# to the less common tool.
_LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm"),
    ("bun.lock", "bun"),
    ("bun.lockb", "bun"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)
_INSTALL = {
    "npm": "npm ci",
    "pnpm": "pnpm install --frozen-lockfile",
    "yarn": "yarn install --frozen-lockfile",
    "bun": "bun install --frozen-lockfile",
}
_NO_LOCK_INSTALL = {
    "npm": "npm install",
    "pnpm": "pnpm install",
    "yarn": "yarn install",
    "bun": "bun install",
}
# `npm init`'s placeholder test script fails on purpose: it is no test command.
_PLACEHOLDER_TEST = re.compile(r"no test specified")
_SOURCE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")

_ENV = re.compile(r"process\.env(?:\.([A-Z_][A-Z0-9_]*)|\[\s*['\"]([A-Z_][A-Z0-9_]*)['\"]\s*\])")
_PORT_ENV_DEFAULT = re.compile(
    r"process\.env(?:\.|\[\s*['\"])([A-Z_]*PORT)(?:['\"]\s*\])?\s*(?:\|\||\?\?)\s*['\"]?(\d{2,5})"
)
_PORT_LISTEN = re.compile(r"\.listen\(\s*(?:\{\s*port:\s*)?(\d{2,5})\b")
_PORT_CONST = re.compile(
    r"\b(?:const|let|var)\s+(?:PORT|port)\s*=\s*(?:Number\()?['\"]?(\d{2,5})\b"
)
_HEALTH = re.compile(
    r"""(?:\.(?:get|all|head|route)\(|@Get\(|url:\s*|path:\s*)\s*['"`]"""
    r"""(/?[\w/-]*(?:health|healthz|livez|readyz|ready|alive|liveness|readiness|ping|status)[\w/-]*)['"`]""",
    re.I,
)


def detect_node(repo: Repo, found: Findings) -> bool:
    """Record what package.json and the code say; False when there is no package.json."""
    text = repo.text("package.json")
    if text is None:
        return False
    pkg = load_json(text)
    deps = {**pkg.get("devDependencies", {}), **pkg.get("dependencies", {})}
    found.add("language", "node", "package.json", None, "high", "package.json")
    found.add("dependency_files", "package.json", "package.json", None, "high", "npm manifest")
    _version(repo, found, pkg, text)
    _framework(found, deps, text)
    manager = _package_manager(repo, found, pkg, text)
    typescript = repo.exists("tsconfig.json") or "typescript" in deps
    if typescript:
        where = "tsconfig.json" if repo.exists("tsconfig.json") else "package.json"
        found.add("typescript", True, where, None, "high", "tsconfig.json or typescript dependency")
        _build_output(repo, found)
    _commands(found, pkg, text, manager)
    sources = [
        name
        for name in repo.with_suffix(*_SOURCE_SUFFIXES)
        if not name.endswith(".d.ts") and not _is_test(name)
    ]
    _port(repo, found, sources)
    for hit in repo.search(_ENV, sources):
        found.hit("env_vars", hit.group(1) or hit.group(2), hit, "high", "process.env")
    for hit in repo.search(_HEALTH, sources):
        path = hit.group(1)
        found.hit(
            "health_path",
            path if path.startswith("/") else f"/{path}",
            hit,
            "medium",
            "route in code",
        )
    return True


def _is_test(name: str) -> bool:
    parts = name.split("/")
    return any(part in {"test", "tests", "__tests__", "spec"} for part in parts[:-1]) or bool(
        re.search(r"\.(test|spec)\.[cm]?[jt]s$", name)
    )


def _version(repo: Repo, found: Findings, pkg: dict[str, Any], text: str) -> None:
    engine = pkg.get("engines", {}).get("node") if isinstance(pkg.get("engines"), dict) else None
    if engine:
        line = key_line(text, "node", after="engines")
        found.add("language_version", str(engine), "package.json", line, "high", "engines.node")
    for name in (".nvmrc", ".node-version", ".tool-versions"):
        content = repo.text(name)
        if not content:
            continue
        for number, raw in enumerate(content.splitlines(), 1):
            entry = raw.strip()
            if name == ".tool-versions":
                if not entry.startswith("nodejs "):
                    continue
                entry = entry.split()[1]
            if entry and not entry.startswith("#"):
                found.add("language_version", entry.removeprefix("v"), name, number, "high", name)
                break
    volta = pkg.get("volta", {}).get("node") if isinstance(pkg.get("volta"), dict) else None
    if volta:
        found.add(
            "language_version",
            str(volta),
            "package.json",
            key_line(text, "node", after="volta"),
            "high",
            "volta.node",
        )


def _framework(found: Findings, deps: dict[str, Any], text: str) -> None:
    for package, framework in _FRAMEWORKS:
        if package in deps:
            line = key_line(text, package)
            found.add("framework", framework, "package.json", line, "high", f"dependency {package}")
            return


def _package_manager(repo: Repo, found: Findings, pkg: dict[str, Any], text: str) -> str:
    declared = str(pkg.get("packageManager") or "").partition("@")[0]
    locked = next(((name, tool) for name, tool in _LOCKFILES if repo.exists(name)), None)
    if declared in _INSTALL:
        line = key_line(text, "packageManager")
        found.add("package_manager", declared, "package.json", line, "high", "packageManager field")
    if locked:
        name, tool = locked
        found.add("package_manager", tool, name, None, "high", "lockfile")
        found.add("lockfile", name, name, None, "high", "lockfile")
    manager = str(found.value("package_manager", "npm"))
    if not found.has("package_manager"):
        found.add("package_manager", "npm", None, None, "low", "no lockfile: npm assumed")
    command = _INSTALL[manager] if locked else _NO_LOCK_INSTALL[manager]
    where = locked[0] if locked else None
    found.add(
        "install_command", command, where, None, "high" if locked else "medium", "package manager"
    )
    return manager


def _build_output(repo: Repo, found: Findings) -> None:
    for name in ("tsconfig.build.json", "tsconfig.json"):
        text = repo.text(name)
        match = re.search(r'"outDir"\s*:\s*"([^"]+)"', text or "")
        if text and match:
            out = match.group(1).removeprefix("./").rstrip("/")
            found.add(
                "build_output",
                out,
                name,
                text.count("\n", 0, match.start()) + 1,
                "high",
                "compilerOptions.outDir",
            )
            return
    found.add("build_output", "dist", None, None, "low", "TypeScript default guess")


def _commands(found: Findings, pkg: dict[str, Any], text: str, manager: str) -> None:
    scripts: dict[str, Any] = pkg["scripts"] if isinstance(pkg.get("scripts"), dict) else {}
    run = "npm run" if manager == "npm" else f"{manager} run"

    def script(key: str, name: str) -> bool:
        body = scripts.get(name)
        if not isinstance(body, str) or (name == "test" and _PLACEHOLDER_TEST.search(body)):
            return False
        line = key_line(text, name, after="scripts")
        found.add(key, f"{run} {name}", "package.json", line, "high", f"scripts.{name}: {body}")
        return True

    script("build_command", "build") or script("build_command", "compile")
    script("test_command", "test")
    script("lint_command", "lint")
    start = scripts.get("start")
    if isinstance(start, str) and start:
        line = key_line(text, "start", after="scripts")
        # Run `node x.js` directly where the script is that simple: PID 1 then gets the signals.
        direct = start if re.fullmatch(r"node\s+[\w./-]+", start) else f"{run} start"
        found.add("start_command", direct, "package.json", line, "high", f"scripts.start: {start}")
    elif isinstance(pkg.get("main"), str):
        line = key_line(text, "main")
        found.add(
            "start_command", f"node {pkg['main']}", "package.json", line, "medium", "main field"
        )


def _port(repo: Repo, found: Findings, sources: list[str]) -> None:
    for hit in repo.search(_PORT_ENV_DEFAULT, sources):
        if not listen_port_var(hit.group(1)):
            continue
        found.hit("port_env", hit.group(1), hit, "high", "process.env with a default")
        found.hit("port", int(hit.group(2)), hit, "high", "code: env default")
    for pattern in (_PORT_LISTEN, _PORT_CONST):
        for hit in repo.search(pattern, sources):
            found.hit("port", int(hit.group(1)), hit, "medium", "code: literal")
    if not found.has("port_env"):
        for hit in repo.search(_ENV, sources):
            name = hit.group(1) or hit.group(2)
            if listen_port_var(name):
                found.hit("port_env", name, hit, "medium", "process.env")
                break


def default_port(framework: str | None) -> int | None:
    """Return the port a Node framework's own examples listen on."""
    return _DEFAULT_PORTS.get(framework or "")
