"""The Node and Python health add-ins, wired into corpus apps that serve no health route yet.

Each test takes a corpus repository, removes its own health route, renders into it,
wires the add-in with exactly the lines `prodready new` printed (and
docs/existing-app.md shows), installs the app's own framework, starts the app the
way it starts itself, and checks the health contract of includes/health.yml: liveness
never looks at dependencies, readiness and the detailed view run the registered
checks, the detailed view's details need the HEALTH_TOKEN bearer token.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import build_tree, cli, git_init_commit, include_yaml, require_tool
from repo_corpus import CORPUS
from servers import free_port
from service_runner import Service, get

HEALTH = include_yaml("health.yml")
PATHS = HEALTH["paths"]
TOKEN = "addin-Token-4c1e"
INSTALL_TIMEOUT = 600


def _variant(kind: str, edits: dict[str, tuple[str, str]]) -> dict[str, str]:
    """A corpus repository with some of its text replaced (each replacement must apply)."""
    files = dict(CORPUS[kind])
    for name, (old, new) in edits.items():
        assert old in files[name], (kind, name, old)
        files[name] = files[name].replace(old, new)
    return files


def _render(
    capsys: pytest.CaptureFixture[str], template_src: Path, repo: Path, files: dict[str, str]
) -> list[str]:
    """Commit the repo, render into it; return the printed wiring lines."""
    build_tree(repo, files)
    git_init_commit(repo)
    result = cli(capsys, "new", repo, "--defaults", "--template", template_src)
    assert result.code == 0, result.err
    printed = result.out.split("Wire the health add-in into the app")[1].splitlines()[1:]
    end = next(i for i, line in enumerate(printed) if line.startswith("Next:"))
    lines = [line.strip() for line in printed[:end]]
    doc = (repo / "docs/existing-app.md").read_text().split("```")[-2].split("\n", 1)[1]
    assert lines == doc.strip().splitlines()
    return lines


def _insert(path: Path, anchor: str, lines: list[str], *, after: bool = True) -> None:
    """Put lines right after (or before) the line holding anchor."""
    text = path.read_text()
    assert anchor in text, (path, anchor)
    head, _, tail = text.partition(anchor)
    line_end = tail.index("\n") + 1
    block = "".join(f"{line}\n" for line in lines)
    if after:
        path.write_text(head + anchor + tail[:line_end] + block + tail[line_end:])
    else:
        start = head.rfind("\n") + 1
        path.write_text(head[:start] + block + head[start:] + anchor + tail)


def _run(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
    )
    assert done.returncode == 0, f"{argv}: {done.stdout[-3000:]}{done.stderr[-3000:]}"


def _npm_install(repo: Path, *packages: str) -> None:
    """The app's own framework, installed without touching its manifest or lockfile."""
    npm = require_tool("npm")
    _run(
        [npm, "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", *packages],
        repo,
    )


def _pip_install(repo: Path, *packages: str) -> None:
    """A virtualenv at .venv with the app's framework (service_runner puts it on PATH)."""
    _run([sys.executable, "-m", "uv", "venv", "-q", "--python", sys.executable, ".venv"], repo)
    _run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "install",
            "-q",
            "--python",
            ".venv/bin/python",
            *packages,
        ],
        repo,
    )


@pytest.fixture
def started() -> Iterator[Callable[[Service], Service]]:
    services: list[Service] = []

    def start(service: Service) -> Service:
        services.append(service.start())
        service.wait_healthy()
        return service

    yield start
    for service in services:
        service.stop()


def assert_health_contract(service: Service) -> None:
    """The contract of includes/health.yml, with one failing check registered as 'db'."""
    base = service.base_url
    live = get(base + PATHS["liveness"])
    assert (live.status, live.json()) == (200, {"status": "ok"})
    ready = get(base + PATHS["readiness"])
    assert (ready.status, ready.json()) == (
        503,
        {"status": "unavailable", "checks": {"db": "error"}},
    )
    public = get(base + PATHS["detailed"])
    assert public.status == 503
    assert public.json() == {"status": "degraded", "checks": {"db": {"status": "error"}}}
    assert sorted(public.json()) == sorted(HEALTH["detailed"]["public_fields"])
    wrong = get(base + PATHS["detailed"], headers={"Authorization": "Bearer not-the-token"})
    assert wrong.json() == public.json()
    full = get(base + PATHS["detailed"], headers={"Authorization": f"Bearer {TOKEN}"})
    body = full.json()
    assert full.status == 503
    assert set(body) == {"status", "timestamp", "version", "uptime", "checks"}
    assert body["version"] == "addin-test"
    db = body["checks"]["db"]
    assert db["status"] == "error" and isinstance(db["latency_ms"], int | float)
    # The check's message is shown to the token's holder only, without the URL it quoted.
    assert "refused" in db["message"] and "secret@" not in db["message"]


ENV = {"HEALTH_TOKEN": TOKEN, "APP_VERSION": "addin-test"}
NODE_FAILING_CHECK = (
    "health.registerCheck('db', () => { throw new Error('refused by postgres://u:secret@db/x'); });"
)
PY_FAILING = "def _db():\n    raise ConnectionError('refused by postgres://u:secret@db/x')\n"


# --- Node ----------------------------------------------------------------------


def test_express_esm_app(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    node = require_tool("node")
    files = _variant(
        "express-pnpm",
        {
            "index.js": ("app.get('/healthz', (req, res) => res.send('ok'));\n", ""),
        },
    )
    files["index.js"] = files["index.js"].replace(
        "app.listen(8080)", "app.listen(process.env.PORT)"
    )
    repo = tmp_path / "notifier"
    lines = _render(capsys, template_src, repo, files)
    assert (repo / "health-contract.mjs").is_file()
    _insert(repo / "index.js", "import express from 'express';", [lines[0]])
    _insert(repo / "index.js", "const app = express();", [*lines[1:], NODE_FAILING_CHECK])
    _npm_install(repo, "express@4")
    port = free_port()
    service = started(Service(repo, "node", [node, "index.js"], ENV, port))
    assert_health_contract(service)


def test_fastify_commonjs_app(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    node = require_tool("node")
    files = _variant(
        "fastify-no-lockfile",
        {"server.js": ("fastify.get('/livez', async () => ({ status: 'ok' }))\n", "")},
    )
    repo = tmp_path / "catalog"
    lines = _render(capsys, template_src, repo, files)
    assert (repo / "health-contract.cjs").is_file()
    wiring = [line.replace("mountHealth(app)", "mountHealth(fastify)") for line in lines]
    _insert(repo / "server.js", "const fastify = require('fastify')", [*wiring, NODE_FAILING_CHECK])
    _npm_install(repo, "fastify@4", "@fastify/cors@9")
    service = started(Service(repo, "node", [node, "server.js"], ENV, free_port()))
    assert_health_contract(service)


KOA_APP = {
    "package.json": '{\n  "name": "gateway",\n  "scripts": {"start": "node src/server.js"},\n'
    '  "dependencies": {"koa": "^2.15.0"}\n}\n',
    "src/server.js": "const Koa = require('koa');\n\nconst app = new Koa();\n"
    "app.use(async (ctx) => { ctx.body = 'hello'; });\n"
    "app.listen(process.env.PORT || 3000);\n",
}


def test_koa_app(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    node = require_tool("node")
    repo = tmp_path / "gateway"
    lines = _render(capsys, template_src, repo, KOA_APP)
    assert (repo / "src/health-contract.cjs").is_file()
    _insert(repo / "src/server.js", "const app = new Koa();", [*lines, NODE_FAILING_CHECK])
    _npm_install(repo, "koa@2")
    service = started(Service(repo, "node", [node, "src/server.js"], ENV, free_port()))
    assert_health_contract(service)
    assert get(service.base_url + "/anything").body == "hello"


HONO_APP = {
    "package.json": '{\n  "name": "edge",\n  "type": "module",\n'
    '  "scripts": {"start": "node server.js"},\n'
    '  "dependencies": {"hono": "^4.6.0", "@hono/node-server": "^1.13.0"}\n}\n',
    "server.js": "import { Hono } from 'hono';\nimport { serve } from '@hono/node-server';\n\n"
    "const app = new Hono();\napp.get('/', (c) => c.text('hello'));\n"
    "serve({ fetch: app.fetch, port: Number(process.env.PORT || 3000) });\n",
}


def test_hono_app(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    node = require_tool("node")
    repo = tmp_path / "edge"
    lines = _render(capsys, template_src, repo, HONO_APP)
    assert (repo / "health-contract.mjs").is_file()
    _insert(repo / "server.js", "import { Hono } from 'hono';", [lines[0]])
    _insert(repo / "server.js", "const app = new Hono();", [*lines[1:], NODE_FAILING_CHECK])
    _npm_install(repo, "hono@4", "@hono/node-server@1")
    service = started(Service(repo, "node", [node, "server.js"], ENV, free_port()))
    assert_health_contract(service)


def test_express_typescript_app_compiles_with_its_own_typescript(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    node = require_tool("node")
    files = _variant(
        "express-ts-npm",
        {
            "src/app.ts": ("  app.use(healthRouter);\n", ""),
            "src/routes/health.ts": (
                "healthRouter.get('/health-check', (_req, res) => res.json({ ok: true }));\n",
                "",
            ),
            # pg's newest type declarations need TypeScript 5; the driver is beside the point.
            "src/db.ts": (
                "import { Pool } from 'pg';\n",
                "class Pool {\n  constructor(_: object) {}\n"
                "  query(_: string) { return Promise.resolve({ rows: [] }); }\n}\n",
            ),
        },
    )
    repo = tmp_path / "billing-api"
    lines = _render(capsys, template_src, repo, files)
    assert (repo / "src/health-contract.ts").is_file()
    _insert(repo / "src/app.ts", "import express from 'express';", [lines[0]])
    _insert(repo / "src/app.ts", "const app = express();", [*lines[1:], NODE_FAILING_CHECK])
    # The repo's own TypeScript range (^4.1.6) with type packages of its time (a lockfile
    # would pin them; today's @types/node needs TypeScript 5), no test tooling.
    _npm_install(
        repo,
        "typescript@^4.1.6",
        "express@4",
        "@types/express@4.17.21",
        "@types/express-serve-static-core@4.17.41",
        "@types/node@20.11.0",
        "dotenv@16",
    )
    _run([node, "node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], repo)
    env = {**ENV, "SERVER_PORT": str(port := free_port())}
    service = started(Service(repo, "node", [node, "dist/index.js"], env, port))
    assert_health_contract(service)


# --- Python --------------------------------------------------------------------


def test_fastapi_app(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    files = _variant(
        "fastapi-poetry", {"quotes/main.py": ('@app.get("/health")', '@app.get("/quotes")')}
    )
    repo = tmp_path / "quotes"
    lines = _render(capsys, template_src, repo, files)
    assert (repo / "quotes/health_contract.py").is_file()
    register = [
        "from quotes.health_contract import register_check",
        PY_FAILING,
        'register_check("db", _db)',
    ]
    _insert(repo / "quotes/main.py", 'app = FastAPI(title="quotes")', [*lines, *register])
    _pip_install(repo, "fastapi", "uvicorn")
    port = free_port()
    argv = [str(repo / ".venv/bin/uvicorn"), "quotes.main:app", "--port", str(port)]
    assert_health_contract(started(Service(repo, "python", argv, ENV, port)))


def test_flask_app_factory(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    files = _variant(
        "flask-pip-tools", {"shortener/__init__.py": ('@app.route("/ping")', '@app.route("/p")')}
    )
    repo = tmp_path / "shortener"
    lines = _render(capsys, template_src, repo, files)
    assert (repo / "shortener/health_contract.py").is_file()
    wiring = [f"    {line}" for line in lines]
    register = [
        "    from shortener.health_contract import register_check",
        '    register_check("db", _db)',
    ]
    _insert(repo / "shortener/__init__.py", "    app = Flask(__name__)", [*wiring, *register])
    _insert(
        repo / "shortener/__init__.py", "def create_app():", PY_FAILING.splitlines(), after=False
    )
    _pip_install(repo, "flask", "gunicorn")
    port = free_port()
    argv = [str(repo / ".venv/bin/gunicorn"), "wsgi:application", "--bind", f"127.0.0.1:{port}"]
    assert_health_contract(started(Service(repo, "python", argv, ENV, port)))


def test_django_project(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, started
) -> None:
    files = _variant(
        "django-split-requirements",
        {"mysite/urls.py": ('    path("healthz/", lambda request: HttpResponse("ok")),\n', "")},
    )
    repo = tmp_path / "mysite"
    lines = _render(capsys, template_src, repo, files)
    assert (repo / "mysite/health_contract.py").is_file()
    register = [
        "from mysite.health_contract import register_check",
        PY_FAILING,
        'register_check("db", _db)',
    ]
    urls = repo / "mysite/urls.py"
    urls.write_text(urls.read_text() + "\n".join([*lines, *register]) + "\n")
    _pip_install(repo, "django<5", "gunicorn")
    port = free_port()
    env = {
        **ENV,
        "DJANGO_SECRET_KEY": "test-only",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    argv = [str(repo / ".venv/bin/gunicorn"), "mysite.wsgi", "--bind", f"127.0.0.1:{port}"]
    assert_health_contract(started(Service(repo, "python", argv, env, port)))
