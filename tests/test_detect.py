"""Detection: what service an existing repository holds, and where each fact came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import build_tree, cli
from prodready import Detection, detect
from prodready._detect import KEYS, MULTI_KEYS, SCHEMA_VERSION
from repo_corpus import CORPUS, build_repo

# key -> (value, where) per corpus repo; `where` is 'file' or 'file:line' as Finding.where shows it.
EXPECTED: dict[str, dict[str, tuple[Any, str]]] = {
    "express-ts-npm": {
        "language": ("node", "package.json"),
        "language_version": (">=18.17", "package.json:6"),
        "framework": ("express", "package.json:16"),
        "package_manager": ("npm", "package-lock.json"),
        "lockfile": ("package-lock.json", "package-lock.json"),
        "typescript": (True, "tsconfig.json"),
        "build_output": ("dist", "tsconfig.build.json:3"),
        "install_command": ("npm ci", "package-lock.json"),
        "build_command": ("npm run build", "package.json:9"),
        "start_command": ("node dist/index.js", "package.json:10"),
        "test_command": ("npm run test", "package.json:12"),
        "lint_command": ("npm run lint", "package.json:13"),
        "port": (4000, "src/index.ts:4"),
        "port_env": ("SERVER_PORT", "src/index.ts:4"),
        "health_path": ("/health-check", "src/routes/health.ts:4"),
    },
    "fastify-no-lockfile": {
        "language": ("node", "package.json"),
        "framework": ("fastify", "package.json:9"),
        "package_manager": ("npm", "(default)"),
        "install_command": ("npm install", "(default)"),
        "start_command": ("node server.js", "package.json:4"),
        "port": (3100, "server.js:8"),
        "port_env": ("PORT", "server.js:8"),
        "health_path": ("/livez", "server.js:5"),
    },
    "express-pnpm": {
        "language_version": ("20", ".node-version:1"),
        "framework": ("express", "package.json:10"),
        "package_manager": ("pnpm", "package.json:4"),
        "lockfile": ("pnpm-lock.yaml", "pnpm-lock.yaml"),
        "install_command": ("pnpm install --frozen-lockfile", "pnpm-lock.yaml"),
        "start_command": ("node index.js", "package.json:6"),
        "test_command": ("pnpm run test", "package.json:7"),
        "port": (8080, "index.js:6"),
        "health_path": ("/healthz", "index.js:4"),
    },
    "go-chi-cmd": {
        "language": ("go", "go.mod"),
        "language_version": ("1.22.5", "go.mod:5"),
        "framework": ("chi", "go.mod:7"),
        "package_manager": ("go", "go.mod"),
        "lockfile": ("go.sum", "go.sum"),
        "module_path": ("gitlab.example.com/team/orders", "go.mod:1"),
        "start_command": ("./cmd/orders-api", "cmd/orders-api/main.go"),
        "build_command": ("go build ./...", "go.mod"),
        "test_command": ("go test ./...", "internal/config/config_test.go"),
        "port": (9090, "internal/config/config.go:21"),
        "port_env": ("SERVER_PORT", "internal/config/config.go:21"),
        "health_path": ("/livez", "internal/httpapi/router.go:12"),
    },
    "fastapi-poetry": {
        "language": ("python", "pyproject.toml"),
        "language_version": ("^3.10", "pyproject.toml:9"),
        "framework": ("fastapi", "pyproject.toml:10"),
        "package_manager": ("poetry", "poetry.lock"),
        "lockfile": ("poetry.lock", "poetry.lock"),
        "install_command": ("poetry install --no-interaction", "poetry.lock"),
        "test_command": ("poetry run pytest", "pyproject.toml:14"),
        "app_module": ("quotes.main:app", "quotes/main.py:5"),
        "start_command": ("uvicorn quotes.main:app --host 0.0.0.0 --port 8000", "(default)"),
        "package_layout": ("quotes", "quotes/__init__.py"),
        "port": (8000, "(default)"),
        "health_path": ("/health", "quotes/main.py:9"),
    },
    "django-split-requirements": {
        "language": ("python", "manage.py"),
        "language_version": ("3.9.18", "runtime.txt:1"),
        "framework": ("django", "requirements/base.txt:1"),
        "package_manager": ("pip", "requirements/prod.txt"),
        "install_command": ("pip install -r requirements/prod.txt", "requirements/prod.txt"),
        "start_command": ("gunicorn mysite.wsgi --bind 0.0.0.0:$PORT --log-file -", "Procfile:2"),
        "test_command": ("python manage.py test", "manage.py"),
        "app_module": ("mysite.wsgi:application", "mysite/wsgi.py"),
        "package_layout": ("django project mysite", "manage.py:7"),
        "port": (8000, "(default)"),
        "port_env": ("PORT", "Procfile:2"),
        "health_path": ("/healthz", "mysite/urls.py:5"),
    },
    "flask-pip-tools": {
        "framework": ("flask", "requirements.txt:9"),
        "package_manager": ("pip-tools", "requirements.txt"),
        "lockfile": ("requirements.txt", "requirements.txt"),
        "install_command": ("pip install -r requirements.txt", "requirements.txt"),
        "app_module": ("wsgi:application", "wsgi.py:3"),
        "start_command": ("gunicorn wsgi:application --bind 0.0.0.0:5050", "(default)"),
        "test_command": ("pytest", "requirements-dev.in:2"),
        "port": (5050, "gunicorn.conf.py:1"),
        "health_path": ("/ping", "shortener/__init__.py:10"),
    },
    "starlette-uv": {
        "language_version": (">=3.12", "pyproject.toml:4"),
        "framework": ("starlette", "pyproject.toml:5"),
        "package_manager": ("uv", "uv.lock"),
        "lockfile": ("uv.lock", "uv.lock"),
        "install_command": ("uv sync --frozen", "uv.lock"),
        "test_command": ("uv run pytest", "pyproject.toml:8"),
        "app_module": ("inventory.app:app", "src/inventory/app.py:11"),
        "package_layout": ("src/inventory", "src/inventory/__init__.py"),
        "port": (8001, "src/inventory/app.py:12"),
        "health_path": ("/ready", "src/inventory/app.py:11"),
    },
    "koa-docker-ci": {
        "framework": ("koa", "package.json:8"),
        "package_manager": ("yarn", "yarn.lock"),
        "install_command": ("yarn install --frozen-lockfile", "yarn.lock"),
        "start_command": ("node src/server.js", "package.json:4"),
        "port": (8081, "src/server.js:8"),
        "port_env": ("HTTP_PORT", "src/server.js:8"),
        "health_path": ("/status", "src/server.js:6"),
    },
}
# Multi-valued keys: the exact items.
EXPECTED_ITEMS: dict[str, dict[str, list[str]]] = {
    "express-ts-npm": {"env_vars": ["DATABASE_URL", "LOG_LEVEL", "SERVER_PORT"]},
    "go-chi-cmd": {
        "main_packages": ["./cmd/migrate", "./cmd/orders-api"],
        "env_vars": ["ORDERS_DATABASE_URL", "SERVER_PORT"],
        "dockerfiles": [],
        "ci_workflows": [],
    },
    "django-split-requirements": {
        "dependency_files": [
            "requirements/prod.txt",
            "requirements/base.txt",
            "requirements/dev.txt",
        ],
        "env_vars": ["DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"],
        "manifests": ["Procfile"],
    },
    "fastapi-poetry": {"env_vars": ["QUOTES_API_KEY"], "dependency_files": ["pyproject.toml"]},
    "koa-docker-ci": {
        "dockerfiles": ["Dockerfile"],
        "ci_workflows": [".github/workflows/ci.yml"],
        "manifests": ["k8s/deployment.yaml"],
    },
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Detection]:
    root = tmp_path_factory.mktemp("corpus")
    return {kind: detect(build_repo(root / kind, kind, commit=False)) for kind in CORPUS}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_corpus_repo_is_detected_with_sources(corpus: dict[str, Detection], kind: str) -> None:
    detection = corpus[kind]
    got = {}
    for key in EXPECTED[kind]:
        finding = detection.first(key)
        got[key] = (finding.value, finding.where) if finding else None
    assert got == EXPECTED[kind]


@pytest.mark.parametrize("kind", sorted(EXPECTED_ITEMS))
def test_multi_valued_findings_list_every_item(corpus: dict[str, Detection], kind: str) -> None:
    detection = corpus[kind]
    got = {key: detection.values(key) for key in EXPECTED_ITEMS[kind]}
    assert got == EXPECTED_ITEMS[kind]


def test_the_corpus_covers_every_kind_the_issue_names() -> None:
    assert set(EXPECTED) == set(CORPUS)


def test_a_default_is_marked_low_confidence_and_sourceless(corpus: dict[str, Detection]) -> None:
    port = corpus["fastapi-poetry"].first("port")
    assert port is not None
    assert (port.file, port.confidence, port.how) == (None, "low", "framework default")
    lockfile_less = corpus["fastify-no-lockfile"]
    assert lockfile_less.first("lockfile") is None
    manager = lockfile_less.first("package_manager")
    assert manager is not None and manager.confidence == "low"


def test_code_in_tests_and_vendor_is_not_the_apps(corpus: dict[str, Detection]) -> None:
    assert "TEST_ONLY_FLAG" not in corpus["express-ts-npm"].values("env_vars")
    assert "ONLY_IN_TESTS" not in corpus["fastapi-poetry"].values("env_vars")


def test_vendored_go_code_is_not_the_apps(tmp_path: Path) -> None:
    files = dict(CORPUS["go-chi-cmd"])
    files["vendor/github.com/go-chi/chi/v5/chi.go"] = (
        'package chi\n\nvar _ = os.Getenv("VENDORED")\n'
    )
    files["vendor/example.org/tool/main.go"] = "package main\n\nfunc main() {}\n"
    detection = detect(build_tree(tmp_path, files))
    assert "VENDORED" not in detection.values("env_vars")
    assert detection.values("main_packages") == ["./cmd/migrate", "./cmd/orders-api"]


def test_placeholder_npm_test_script_is_no_test_command(corpus: dict[str, Detection]) -> None:
    assert corpus["fastify-no-lockfile"].first("test_command") is None


def test_ci_workflow_reports_its_triggers(corpus: dict[str, Detection]) -> None:
    workflow = corpus["koa-docker-ci"].first("ci_workflows")
    assert workflow is not None
    assert workflow.how == "GitHub Actions: CI (on: push, pull_request)"


def test_kubernetes_probe_path_is_health_evidence(corpus: dict[str, Detection]) -> None:
    paths = [(f.value, f.where) for f in corpus["koa-docker-ci"].findings["health_path"]]
    assert ("/status", "k8s/deployment.yaml:13") in paths


def test_flow_style_probes_are_read_and_never_stall_detection(tmp_path: Path) -> None:
    # The old probe pattern backtracked exponentially on flow-style probes followed by
    # indented lines: detection on this manifest never returned.
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: app\n"
        "          livenessProbe: {httpGet: {path: /livez, port: 8080}}\n"
        + "          readinessProbe: {tcpSocket: {port: 8080}}\n" * 40
        + "".join(f"          env{i}: value\n" for i in range(60))
    )
    files = dict(CORPUS["go-chi-cmd"])
    files["deploy/deployment.yaml"] = manifest
    found = detect(build_tree(tmp_path, files)).findings["health_path"]
    paths = [(f.value, f.where) for f in found]
    assert ("/livez", "deploy/deployment.yaml:8") in paths


def test_dockerfile_expose_is_port_evidence(corpus: dict[str, Detection]) -> None:
    ports = [(f.value, f.how) for f in corpus["koa-docker-ci"].findings["port"]]
    assert (8081, "Dockerfile EXPOSE") in ports


@pytest.mark.parametrize(
    ("files", "key", "value"),
    [
        (
            {"package.json": '{"dependencies": {"@nestjs/core": "10", "express": "4"}}'},
            "framework",
            "nest",
        ),
        ({"package.json": '{"dependencies": {"hono": "4"}}'}, "framework", "hono"),
        (
            {"package.json": '{"dependencies": {"koa": "2"}}', "bun.lockb": ""},
            "package_manager",
            "bun",
        ),
        ({"package.json": '{"dependencies": {}}', "yarn.lock": ""}, "package_manager", "yarn"),
        (
            {"go.mod": "module x\n\ngo 1.21\nrequire github.com/gin-gonic/gin v1.9.1\n"},
            "framework",
            "gin",
        ),
        (
            {
                "go.mod": (
                    "module x\n\ngo 1.21\nrequire (\n\tgithub.com/labstack/echo/v4 v4.11.4\n)\n"
                )
            },
            "framework",
            "echo",
        ),
        (
            {"go.mod": "module x\n\ngo 1.21\nrequire github.com/gofiber/fiber/v2 v2.52.0\n"},
            "framework",
            "fiber",
        ),
        ({"go.mod": "module example.org/svc\n\ngo 1.23\n"}, "framework", "stdlib"),
        ({"go.mod": "module example.org/svc\n\ngo 1.23\n"}, "language_version", "1.23"),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\ndependencies = ["flask"]\n[tool.pdm]\n',
                "pdm.lock": "",
            },
            "package_manager",
            "pdm",
        ),
        (
            {
                "Pipfile": '[packages]\ndjango = "*"\n\n[requires]\npython_version = "3.11"\n',
                "Pipfile.lock": "{}",
            },
            "package_manager",
            "pipenv",
        ),
        (
            {"Pipfile": '[packages]\ndjango = "*"\n\n[requires]\npython_version = "3.11"\n'},
            "language_version",
            "3.11",
        ),
        (
            {"requirements.txt": "fastapi\n", ".python-version": "3.12.2\n"},
            "language_version",
            "3.12.2",
        ),
        (
            {
                "requirements.txt": "-r requirements/base.txt\n",
                "requirements/base.txt": "Flask==3.0\n",
            },
            "framework",
            "flask",
        ),
    ],
)
def test_each_supported_tool_is_recognised(
    tmp_path: Path, files: dict[str, str], key: str, value: str
) -> None:
    assert detect(build_tree(tmp_path, files)).value(key) == value


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"README.md": "# docs only\n", "scripts/deploy.sh": "echo hi\n"},
        {"node_modules/express/package.json": '{"name": "express"}'},
    ],
)
def test_an_unknown_stack_is_reported_as_unknown_never_as_node(
    tmp_path: Path, files: dict[str, str]
) -> None:
    detection = detect(build_tree(tmp_path, files))
    assert detection.language == "unknown"
    assert not detection.known
    assert detection.first("framework") is None
    assert detection.first("port") is None


def test_a_django_app_with_asset_tooling_is_python(tmp_path: Path) -> None:
    files = dict(CORPUS["django-split-requirements"])
    files["package.json"] = '{"devDependencies": {"webpack": "5"}}'
    assert detect(build_tree(tmp_path, files)).language == "python"


def test_dependency_and_virtualenv_trees_are_skipped(tmp_path: Path) -> None:
    files = dict(CORPUS["fastapi-poetry"])
    files[".venv/lib/python3.10/site-packages/x/settings.py"] = 'os.getenv("SITE_PACKAGES_VAR")\n'
    files["env/pyvenv.cfg"] = "home = /usr/bin\n"
    files["env/lib/y.py"] = 'os.getenv("OTHER_VENV_VAR")\n'
    files["node_modules/z/index.js"] = "process.env.NODE_MODULES_VAR\n"
    detection = detect(build_tree(tmp_path, files))
    assert detection.values("env_vars") == ["QUOTES_API_KEY"]


def test_json_output_follows_the_documented_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "svc", "go-chi-cmd", commit=False)
    result = cli(capsys, "detect", repo, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["language"] == "go"
    assert data["root"] == str(repo.resolve())
    assert list(data["findings"]) == [key for key in KEYS if key in data["findings"]]
    for key, findings in data["findings"].items():
        assert key in KEYS
        assert findings, key
        for finding in findings:
            assert set(finding) == {"value", "file", "line", "confidence", "how"}
            assert finding["confidence"] in {"high", "medium", "low"}
            assert finding["file"] is None or (repo / finding["file"]).is_file()
    assert data["findings"]["module_path"][0] == {
        "value": "gitlab.example.com/team/orders",
        "file": "go.mod",
        "line": 1,
        "confidence": "high",
        "how": "module line",
    }


def test_human_output_names_value_source_and_confidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "svc", "express-pnpm", commit=False)
    result = cli(capsys, "detect", repo)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"Detected in {repo.resolve()}:"
    assert any(
        line.split()
        == ["package_manager", "pnpm", "package.json:4", "(high:", "packageManager", "field)"]
        for line in lines
    )


def test_nothing_detected_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = cli(capsys, "detect", build_tree(tmp_path / "docs", {"README.md": "hi\n"}))
    assert result.code == 0
    assert result.out.startswith("No service detected in ")


def test_detect_on_a_missing_path_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = cli(capsys, "detect", tmp_path / "nope")
    assert result.code == 2
    assert result.err_lines == [
        f"prodready: error: cannot detect a service in {tmp_path / 'nope'}: not a directory"
    ]


def test_every_key_shown_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for key in KEYS:
        assert f"`{key}`" in readme, key
    assert "schema_version" in readme
    assert set(KEYS) >= MULTI_KEYS
