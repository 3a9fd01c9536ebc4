"""Go services: go.mod (module path, go/toolchain lines, router), main packages, port, env."""

from __future__ import annotations

import posixpath
import re

from ._collect import Findings
from ._model import Confidence
from ._ports import listen_port_var
from ._repo import Repo

__all__ = ["detect_go"]

# Module path prefixes of the routers prodready recognises; net/http is the fallback.
_FRAMEWORKS = (
    ("github.com/go-chi/chi", "chi"),
    ("github.com/gin-gonic/gin", "gin"),
    ("github.com/labstack/echo", "echo"),
    ("github.com/gofiber/fiber", "fiber"),
    ("github.com/gorilla/mux", "gorilla"),
)
_DEFAULT_PORTS = {"gin": 8080, "echo": 1323, "fiber": 3000}
_MODULE = re.compile(r"^module\s+(\S+)", re.M)
_GO_LINE = re.compile(r"^go\s+(\d+\.\d+(?:\.\d+)?)", re.M)
_TOOLCHAIN = re.compile(r"^toolchain\s+go(\d+\.\d+(?:\.\d+)?)", re.M)
# What a main package that serves HTTP calls.
_SERVES = re.compile(r"ListenAndServe|http\.Server\{|\.Run\(|\.Start\(|\.Listen\(")
_PACKAGE_MAIN = re.compile(r"^package\s+main\b", re.M)
_ENV = re.compile(
    r"""os\.(?:Getenv|LookupEnv)\(\s*"([A-Z_][A-Z0-9_]*)"|`[^`]*\b(?:env|envconfig)"""
    r""":"([A-Z_][A-Z0-9_]*)[",]"""
)
_ENV_HELPER = re.compile(r"\b\w*(?:[Ee]nv|ENV)\w*\(\s*\"([A-Z_][A-Z0-9_]*)\"\s*,\s*\"?([^\")]*)")
_ENV_TAG_DEFAULT = re.compile(
    r"""(?:env|envconfig):"([A-Z_]*PORT)"[^`]*?(?:envDefault|default):"(\d{2,5})\""""
)
_PORT_LITERAL = re.compile(
    r"""(?:Addr:\s*|ListenAndServe(?:TLS)?\(\s*|\.(?:Run|Start|Listen)\(\s*)"(?:[\w.]*):(\d{2,5})\""""
)
_HEALTH = re.compile(
    r"""\.(?:HandleFunc|Handle|Get|GET|Head|HEAD|Any|Method|Route)\(\s*(?:"(?:GET|HEAD)\s+|[\w.]+,\s*")?"?"""
    r"""(/[\w/-]*(?:health|healthz|livez|readyz|ready|alive|ping|status)[\w/-]*)\"""",
    re.I,
)


def detect_go(repo: Repo, found: Findings) -> bool:
    """Record what go.mod and the Go code say; False when there is no go.mod."""
    text = repo.text("go.mod")
    if text is None:
        return False
    found.add("language", "go", "go.mod", None, "high", "go.mod")
    found.add("dependency_files", "go.mod", "go.mod", None, "high", "Go module")
    found.add("package_manager", "go", "go.mod", None, "high", "Go modules")
    if repo.exists("go.sum"):
        found.add("lockfile", "go.sum", "go.sum", None, "high", "module checksums")
    for pattern, how in ((_TOOLCHAIN, "toolchain line"), (_GO_LINE, "go line")):
        match = pattern.search(text)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            found.add("language_version", match.group(1), "go.mod", line, "high", how)
    module = _MODULE.search(text)
    if module:
        line = text.count("\n", 0, module.start()) + 1
        found.add("module_path", module.group(1), "go.mod", line, "high", "module line")
    _framework(found, text)
    sources = [name for name in repo.with_suffix(".go") if not name.endswith("_test.go")]
    _main_packages(repo, found, sources)
    found.add("install_command", "go mod download", "go.mod", None, "high", "Go modules")
    found.add("build_command", "go build ./...", "go.mod", None, "high", "Go modules")
    tests = repo.with_suffix("_test.go")
    if tests:
        found.add("test_command", "go test ./...", tests[0], None, "high", "_test.go files")
    for config in (".golangci.yml", ".golangci.yaml", ".golangci.toml"):
        if repo.exists(config):
            found.add(
                "lint_command", "golangci-lint run", config, None, "high", "golangci-lint config"
            )
    _port(repo, found, sources)
    _env_and_health(repo, found, sources)
    return True


def _env_and_health(repo: Repo, found: Findings, sources: list[str]) -> None:
    for hit in repo.search(_ENV, sources):
        found.hit("env_vars", hit.group(1) or hit.group(2), hit, "high", "os.Getenv or env tag")
    for hit in repo.search(_ENV_HELPER, sources):
        found.hit("env_vars", hit.group(1), hit, "medium", "env helper call")
    for hit in repo.search(_HEALTH, sources):
        found.hit("health_path", hit.group(1), hit, "medium", "route in code")


def _commands(repo: Repo, found: Findings) -> None:
    found.add("install_command", "go mod download", "go.mod", None, "high", "Go modules")
    found.add("build_command", "go build ./...", "go.mod", None, "high", "Go modules")
    tests = repo.with_suffix("_test.go")
    if tests:
        found.add("test_command", "go test ./...", tests[0], None, "high", "_test.go files")
    for config in (".golangci.yml", ".golangci.yaml", ".golangci.toml"):
        if repo.exists(config):
            how = "golangci-lint config"
            found.add("lint_command", "golangci-lint run", config, None, "high", how)


def _framework(found: Findings, text: str) -> None:
    for prefix, framework in _FRAMEWORKS:
        match = re.search(rf"^[ \t]*(?:require\s+)?{re.escape(prefix)}(?:/v\d+)?\s", text, re.M)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            found.add("framework", framework, "go.mod", line, "high", f"requires {prefix}")
            return
    found.add("framework", "stdlib", "go.mod", None, "medium", "no router required: net/http")


def _main_packages(repo: Repo, found: Findings, sources: list[str]) -> None:
    dirs: dict[str, str] = {}
    for hit in repo.search(_PACKAGE_MAIN, sources):
        folder = posixpath.dirname(hit.file)
        dirs.setdefault(f"./{folder}" if folder else ".", hit.file)
    for package, file in sorted(dirs.items()):
        found.add("main_packages", package, file, None, "high", "package main")
    if not dirs:
        return
    serving = sorted(
        package
        for package in dirs
        if any(
            _SERVES.search(repo.text(name) or "") for name in sources if _in_package(name, package)
        )
    )
    chosen = _serving_package(serving or sorted(dirs))
    confidence: Confidence
    if len(dirs) == 1:
        confidence, how = "high", "the only main package"
    elif len(serving) == 1:
        confidence, how = "high", "the only main package that starts a server"
    else:
        confidence, how = "medium", "main package named like a server"
    found.add("start_command", chosen, dirs[chosen], None, confidence, how)


def _in_package(file: str, package: str) -> bool:
    return posixpath.dirname(file) == package.removeprefix("./").removeprefix(".")


def _serving_package(packages: list[str]) -> str:
    """Pick the main package most likely to be the server, among several."""
    for name in ("server", "api", "service", "web", "http", "app"):
        for package in packages:
            if name in posixpath.basename(package).split("-"):
                return package
    cmd = [package for package in packages if package.startswith("./cmd/")]
    return (cmd or packages)[0]


def _port(repo: Repo, found: Findings, sources: list[str]) -> None:
    for hit in repo.search(_ENV_TAG_DEFAULT, sources):
        if listen_port_var(hit.group(1)):
            found.hit("port_env", hit.group(1), hit, "high", "env tag with a default")
            found.hit("port", int(hit.group(2)), hit, "high", "code: env default")
    for hit in repo.search(_ENV_HELPER, sources):
        name, default = hit.group(1), hit.group(2).lstrip(":")
        if listen_port_var(name):
            found.hit("port_env", name, hit, "high", "env helper call")
            if default.isdigit():
                found.hit("port", int(default), hit, "high", "code: env default")
    for hit in repo.search(_PORT_LITERAL, sources):
        found.hit("port", int(hit.group(1)), hit, "medium", "code: listen address")
    for hit in repo.search(_ENV, sources):
        name = hit.group(1) or hit.group(2)
        if listen_port_var(name):
            found.hit("port_env", name, hit, "medium", "os.Getenv")


def default_port(framework: str | None) -> int | None:
    """Return the port a Go router's examples listen on (8080 for net/http by convention)."""
    return _DEFAULT_PORTS.get(framework or "", 8080)
