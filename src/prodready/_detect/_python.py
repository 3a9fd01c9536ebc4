"""Python services: manifests and lockfiles of every common tool, the app object, port and env."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ._collect import Findings
from ._ports import listen_port_var
from ._repo import Repo
from ._text import key_line, load_toml

__all__ = ["default_port", "detect_python"]

# Most specific first: FastAPI depends on Starlette.
_FRAMEWORKS = ("django", "fastapi", "flask", "starlette")
_DEFAULT_PORTS = {"django": 8000, "fastapi": 8000, "starlette": 8000, "flask": 5000}
_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "manage.py", "requirements.in")
_RUNNERS = {"poetry": "poetry run ", "uv": "uv run ", "pdm": "pdm run ", "pipenv": "pipenv run "}
_INSTALL = {
    "poetry": "poetry install --no-interaction",
    "uv": "uv sync --frozen",
    "pdm": "pdm install --frozen-lockfile",
    "pipenv": "pipenv install --deploy --dev",
}
_LOCKS = (
    ("poetry.lock", "poetry"),
    ("uv.lock", "uv"),
    ("pdm.lock", "pdm"),
    ("Pipfile.lock", "pipenv"),
)
_UNLOCKED_INSTALL = {
    "poetry": "poetry install --no-interaction",
    "uv": "uv sync",
    "pdm": "pdm install",
    "pipenv": "pipenv install --dev",
}
# Which requirements file holds what production installs, best first.
_PROD_REQUIREMENTS = (
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements.txt",
    "requirements/base.txt",
    "requirements/common.txt",
)
_REQ_NAME = re.compile(r"^[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)", re.M)
_REQ_INCLUDE = re.compile(r"^[ \t]*-(?:r|c|-requirement|-constraint)[\s=]+(\S+)", re.M)
_APP_OBJECT = re.compile(r"^(\w+)\s*(?::\s*[\w.]+\s*)?=\s*(FastAPI|Flask|Starlette)\(", re.M)
_APP_FROM_FACTORY = re.compile(
    r"^(\w+)\s*=\s*(?:[\w.]+\.)?(?:create_app|make_app|app_factory)\(\s*\)", re.M
)
_APP_FACTORY = re.compile(r"^def\s+(create_app|make_app|app_factory)\s*\(", re.M)
_SETTINGS_MODULE = re.compile(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)['\"]")
_ENV = re.compile(
    r"""(?:os\.environ\[\s*|os\.environ\.get\(\s*|os\.getenv\(\s*|environ\.get\(\s*|"""
    r"""\benv(?:\.\w+)?\(\s*)['"]([A-Z_][A-Z0-9_]*)['"]"""
)
_PORT_ENV_DEFAULT = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|environ\.get)\(\s*['"]([A-Z_]*PORT)['"]\s*,\s*['"]?(\d{2,5})"""
)
_PORT_CALL = re.compile(r"""\.run\([^)]*?\bport\s*=\s*(\d{2,5})""", re.S)
_GUNICORN_BIND = re.compile(r"""^bind\s*=\s*\[?\s*['"][^'"]*:(\d{2,5})['"]""", re.M)
_HEALTH = re.compile(
    r"""(?:@\w+\.(?:get|head|route|api_route)\(\s*|\b(?:re_)?path\(\s*r?|\bRoute\(\s*)['"]\^?"""
    r"""(/?[\w/-]*(?:health|healthz|livez|readyz|ready|alive|ping|status)[\w/-]*?)/?\$?['"]""",
    re.I,
)


def detect_python(repo: Repo, found: Findings) -> bool:
    """Record what the Python manifests and code say; False when nothing marks a Python app."""
    requirements = _requirements_files(repo)
    if not requirements and not any(repo.exists(name) for name in _MARKERS):
        return False
    pyproject = load_toml(repo.text("pyproject.toml"))
    found.add(
        "language", "python", _first_marker(repo, requirements), None, "high", "Python manifest"
    )
    _version(repo, found, pyproject)
    deps = _dependencies(repo, found, pyproject, requirements)
    manager = _package_manager(repo, found, pyproject, requirements)
    framework = _framework(found, deps)
    sources = [name for name in repo.with_suffix(".py") if not _is_test(name)]
    _app_module(repo, found, framework, sources)
    _layout(repo, found)
    _commands(repo, found, manager, deps, framework)
    _port(repo, found, sources)
    for hit in repo.search(_ENV, sources):
        found.hit("env_vars", hit.group(1), hit, "high", "os.environ / getenv / env()")
    for hit in repo.search(_HEALTH, sources):
        path = hit.group(1).rstrip("/")
        found.hit(
            "health_path",
            path if path.startswith("/") else f"/{path}",
            hit,
            "medium",
            "route in code",
        )
    _derive_start(found, gunicorn="gunicorn" in deps)
    return True


def _is_test(name: str) -> bool:
    base = posixpath.basename(name)
    parts = name.split("/")[:-1]
    return base.startswith("test_") or base == "conftest.py" or "tests" in parts or "test" in parts


def _first_marker(repo: Repo, requirements: list[str]) -> str:
    for name in (*_MARKERS, *requirements):
        if repo.exists(name):
            return name
    return requirements[0]


def _requirements_files(repo: Repo) -> list[str]:
    return [
        name
        for name in repo.files
        if re.fullmatch(r"(requirements[\w.-]*\.(txt|in)|requirements/[\w.-]+\.(txt|in))", name)
    ]


def _version(repo: Repo, found: Findings, pyproject: dict[str, Any]) -> None:
    text = repo.text("pyproject.toml") or ""
    requires = pyproject.get("project", {}).get("requires-python")
    if requires:
        line = key_line(text, "requires-python")
        found.add(
            "language_version", str(requires), "pyproject.toml", line, "high", "requires-python"
        )
    poetry_python = (
        pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    )
    if poetry_python:
        line = key_line(text, "python", after="tool.poetry.dependencies")
        found.add(
            "language_version",
            str(poetry_python),
            "pyproject.toml",
            line,
            "high",
            "tool.poetry.dependencies.python",
        )
    for name, pattern in (
        (".python-version", r"^[ \t]*(\d+\.\d+(?:\.\d+)?)"),
        ("runtime.txt", r"^[ \t]*python-(\d+\.\d+(?:\.\d+)?)"),
    ):
        match = re.search(pattern, repo.text(name) or "", re.M)
        if match:
            line = (repo.text(name) or "").count("\n", 0, match.start()) + 1
            found.add("language_version", match.group(1), name, line, "high", name)
    pipfile = load_toml(repo.text("Pipfile"))
    pipfile_python = pipfile.get("requires", {}).get("python_version")
    if pipfile_python:
        line = key_line(repo.text("Pipfile") or "", "python_version")
        found.add(
            "language_version",
            str(pipfile_python),
            "Pipfile",
            line,
            "high",
            "requires.python_version",
        )


def _dependencies(
    repo: Repo, found: Findings, pyproject: dict[str, Any], requirements: list[str]
) -> dict[str, tuple[str, int | None]]:
    """Map every dependency name (lowercased) to the file and line that lists it."""
    deps: dict[str, tuple[str, int | None]] = {}
    text = repo.text("pyproject.toml") or ""
    listed = _pyproject_requirements(pyproject)
    for item in listed:
        match = _REQ_NAME.match(item)
        if match and match.group(1).lower() != "python":
            name = match.group(1).lower()
            deps.setdefault(name, ("pyproject.toml", _line_naming(text, match.group(1))))
    pipfile_text = repo.text("Pipfile")
    pipfile = load_toml(pipfile_text)
    for section in ("packages", "dev-packages"):
        for name in pipfile.get(section, {}):
            deps.setdefault(name.lower(), ("Pipfile", _line_naming(pipfile_text or "", name)))
    for name in _ordered_requirements(repo, requirements):
        req_text = repo.text(name) or ""
        for match in _REQ_NAME.finditer(req_text):
            line = req_text.count("\n", 0, match.start()) + 1
            deps.setdefault(match.group(1).lower(), (name, line))
    return deps


def _pyproject_requirements(pyproject: dict[str, Any]) -> list[str]:
    """List every requirement pyproject.toml names (PEP 621, dependency groups, uv, pdm, Poetry)."""
    project = pyproject.get("project", {})
    tool = pyproject.get("tool", {})
    listed: list[str] = list(project.get("dependencies", []))
    groups = [
        *project.get("optional-dependencies", {}).values(),
        *pyproject.get("dependency-groups", {}).values(),
        tool.get("uv", {}).get("dev-dependencies", []),
        *tool.get("pdm", {}).get("dev-dependencies", {}).values(),
    ]
    for group in groups:
        listed += [item for item in group if isinstance(item, str)]
    poetry = tool.get("poetry", {})
    listed += list(poetry.get("dependencies", {}))
    listed += list(poetry.get("dev-dependencies", {}))
    for group in poetry.get("group", {}).values():
        listed += list(group.get("dependencies", {}))
    return listed


def _line_naming(text: str, name: str) -> int | None:
    match = re.search(rf"""(?:^[ \t]*|["']){re.escape(name)}\b""", text, re.M | re.I)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _ordered_requirements(repo: Repo, requirements: list[str]) -> list[str]:
    """Order requirement files: the production one first, then each file it includes (-r/-c)."""
    start = next((name for name in _PROD_REQUIREMENTS if repo.exists(name)), None)
    ordered: list[str] = []
    pending = [start] if start else []
    pending += [name for name in requirements if name != start]
    while pending:
        name = pending.pop(0)
        if name in ordered:
            continue
        ordered.append(name)
        for match in _REQ_INCLUDE.finditer(repo.text(name) or ""):
            included = posixpath.normpath(posixpath.join(posixpath.dirname(name), match.group(1)))
            if repo.exists(included) and included not in ordered:
                pending.insert(0, included)
    return ordered


def _package_manager(
    repo: Repo, found: Findings, pyproject: dict[str, Any], requirements: list[str]
) -> str:
    return (
        _locked_manager(repo, found)
        or _declared_manager(repo, found, pyproject)
        or _pip(repo, found, requirements)
    )


def _locked_manager(repo: Repo, found: Findings) -> str | None:
    for lock, manager in _LOCKS:
        if repo.exists(lock):
            manifest = "Pipfile" if manager == "pipenv" else "pyproject.toml"
            found.add("package_manager", manager, lock, None, "high", "lockfile")
            found.add("lockfile", lock, lock, None, "high", "lockfile")
            found.add("dependency_files", manifest, manifest, None, "high", manager)
            found.add("install_command", _INSTALL[manager], lock, None, "high", manager)
            return manager
    return None


def _declared_manager(repo: Repo, found: Findings, pyproject: dict[str, Any]) -> str | None:
    """Find a manager the manifest names, without its lockfile (installs cannot be frozen)."""
    tool = pyproject.get("tool", {})
    for manager in ("poetry", "uv", "pdm"):
        if manager in tool:
            line = key_line(repo.text("pyproject.toml") or "", f"tool.{manager}")
            how = f"[tool.{manager}], no lockfile"
            found.add("package_manager", manager, "pyproject.toml", line, "high", how)
            found.add("dependency_files", "pyproject.toml", "pyproject.toml", None, "high", manager)
            command = _UNLOCKED_INSTALL[manager]
            found.add("install_command", command, "pyproject.toml", None, "medium", how)
            return manager
    if repo.exists("Pipfile"):
        found.add("package_manager", "pipenv", "Pipfile", None, "high", "Pipfile, no lockfile")
        found.add("dependency_files", "Pipfile", "Pipfile", None, "high", "pipenv")
        command = _UNLOCKED_INSTALL["pipenv"]
        found.add("install_command", command, "Pipfile", None, "medium", "pipenv")
        return "pipenv"
    return None


def _pip(repo: Repo, found: Findings, requirements: list[str]) -> str:
    """Record plain pip or pip-tools: requirement files (compiled or not), or package metadata."""
    ordered = _ordered_requirements(repo, [name for name in requirements if name.endswith(".txt")])
    compiled = [name for name in ordered if "pip-compile" in (repo.text(name) or "")[:2000]]
    sources = [name for name in requirements if name.endswith(".in")]
    manager = "pip-tools" if compiled or sources else "pip"
    if compiled or sources:
        where = (compiled or sources)[0]
        how = "pip-compile output or .in files"
        found.add("package_manager", manager, where, None, "high", how)
        if compiled:
            found.add("lockfile", compiled[0], compiled[0], None, "high", "compiled by pip-compile")
    elif ordered:
        found.add("package_manager", manager, ordered[0], None, "high", "requirements file")
    else:
        how = "PEP 621 project, no lockfile"
        found.add("package_manager", manager, "pyproject.toml", None, "medium", how)
    for name in ordered:
        found.add("dependency_files", name, name, None, "high", "requirements file")
    if ordered:
        command = f"pip install -r {ordered[0]}"
        found.add("install_command", command, ordered[0], None, "high", "production requirements")
    elif repo.exists("pyproject.toml") or repo.exists("setup.py"):
        manifest = "pyproject.toml" if repo.exists("pyproject.toml") else "setup.py"
        found.add("dependency_files", manifest, manifest, None, "high", "package metadata")
        found.add("install_command", "pip install .", manifest, None, "medium", "package metadata")
    return manager


def _framework(found: Findings, deps: dict[str, tuple[str, int | None]]) -> str | None:
    for framework in _FRAMEWORKS:
        if framework in deps:
            file, line = deps[framework]
            found.add("framework", framework, file, line, "high", f"dependency {framework}")
            return framework
    return None


def _module_of(path: str) -> str:
    module = path.removesuffix(".py").removeprefix("src/").replace("/", ".")
    return module.removesuffix(".__init__")


def _app_module(repo: Repo, found: Findings, framework: str | None, sources: list[str]) -> None:
    if framework == "django":
        _django(repo, found, sources)
        return
    for hit in repo.search(_APP_OBJECT, sources):
        kind = hit.group(2).lower()
        if (
            framework is None
            or kind == framework
            or (framework == "fastapi" and kind == "starlette")
        ):
            found.hit(
                "app_module",
                f"{_module_of(hit.file)}:{hit.group(1)}",
                hit,
                "high",
                f"{hit.group(2)}() object",
            )
    for hit in repo.search(_APP_FROM_FACTORY, sources):
        found.hit(
            "app_module",
            f"{_module_of(hit.file)}:{hit.group(1)}",
            hit,
            "high",
            "app built by a factory",
        )
    for hit in repo.search(_APP_FACTORY, sources):
        found.hit(
            "app_module", f"{_module_of(hit.file)}:{hit.group(1)}()", hit, "medium", "app factory"
        )


def _django(repo: Repo, found: Findings, sources: list[str]) -> None:
    hit = repo.first(_SETTINGS_MODULE, ["manage.py", *sources])
    if hit:
        found.hit(
            "package_layout",
            f"django project {hit.group(1).split('.')[0]}",
            hit,
            "high",
            "DJANGO_SETTINGS_MODULE",
        )
    for kind, function in (("wsgi", "get_wsgi_application"), ("asgi", "get_asgi_application")):
        for name in sources:
            if posixpath.basename(name) == f"{kind}.py" and function in (repo.text(name) or ""):
                found.add(
                    "app_module",
                    f"{_module_of(name)}:application",
                    name,
                    None,
                    "high",
                    f"Django {kind} module",
                )


def _layout(repo: Repo, found: Findings) -> None:
    for name in repo.files:
        parts = name.split("/")
        if parts[-1] != "__init__.py" or parts[0] in {"tests", "test", "docs"}:
            continue
        if parts[0] == "src" and len(parts) == 3:
            found.add("package_layout", f"src/{parts[1]}", name, None, "high", "src layout")
        elif len(parts) == 2:
            found.add("package_layout", parts[0], name, None, "medium", "flat layout")


def _commands(
    repo: Repo,
    found: Findings,
    manager: str,
    deps: dict[str, tuple[str, int | None]],
    framework: str | None,
) -> None:
    runner = _RUNNERS.get(manager, "")
    pyproject_text = repo.text("pyproject.toml") or ""
    uses_pytest = "pytest" in deps or repo.exists("pytest.ini") or "[tool.pytest" in pyproject_text
    if uses_pytest:
        where = deps.get(
            "pytest", ("pytest.ini" if repo.exists("pytest.ini") else "pyproject.toml", None)
        )
        found.add(
            "test_command", f"{runner}pytest", where[0], where[1], "high", "pytest configured"
        )
    elif framework == "django" and repo.exists("manage.py"):
        found.add(
            "test_command",
            f"{runner}python manage.py test",
            "manage.py",
            None,
            "medium",
            "Django test runner",
        )
    for tool, command, config in (
        ("ruff", "ruff check .", "ruff.toml"),
        ("flake8", "flake8", ".flake8"),
    ):
        if tool in deps or repo.exists(config) or f"[tool.{tool}" in pyproject_text:
            where = deps.get(tool, (config if repo.exists(config) else "pyproject.toml", None))
            found.add(
                "lint_command",
                f"{runner}{command}",
                where[0],
                where[1],
                "high",
                f"{tool} configured",
            )
            break


def _port(repo: Repo, found: Findings, sources: list[str]) -> None:
    for hit in repo.search(_PORT_ENV_DEFAULT, sources):
        if listen_port_var(hit.group(1)):
            found.hit("port_env", hit.group(1), hit, "high", "environ with a default")
            found.hit("port", int(hit.group(2)), hit, "high", "code: env default")
    config = [
        name
        for name in repo.files
        if posixpath.basename(name) in {"gunicorn.conf.py", "gunicorn_config.py"}
    ]
    for hit in repo.search(_GUNICORN_BIND, config):
        found.hit("port", int(hit.group(1)), hit, "high", "config: gunicorn bind")
    for hit in repo.search(_PORT_CALL, sources):
        found.hit("port", int(hit.group(1)), hit, "medium", "code: run(port=...)")
    for hit in repo.search(_ENV, sources):
        if listen_port_var(hit.group(1)):
            found.hit("port_env", hit.group(1), hit, "medium", "environ")
            break


def default_port(framework: str | None) -> int | None:
    """Return the port a Python framework's development server defaults to."""
    return _DEFAULT_PORTS.get(framework or "")


def _derive_start(found: Findings, *, gunicorn: bool) -> None:
    """Derive a production start command from the app module when no file gives one."""
    app = found.value("app_module")
    framework = found.value("framework")
    if found.has("start_command") or not app:
        return
    port = found.value("port", default_port(framework) or 8000)
    if framework in {"fastapi", "starlette"}:
        command = f"uvicorn {app} --host 0.0.0.0 --port {port}"
    elif gunicorn:
        command = f"gunicorn {app} --bind 0.0.0.0:{port}"
    elif framework == "flask":
        command = f"flask --app {app} run --host 0.0.0.0 --port {port}"
    else:
        command = f"python manage.py runserver 0.0.0.0:{port}"
    found.add("start_command", command, None, None, "low", "derived from the app module")
