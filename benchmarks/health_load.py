"""Throughput and p99 latency of each rendered service's health endpoints.

For every language and framework: render with Postgres and Redis, build with the
project's own commands, start it against real local servers, and drive
`/health` and `/health/detailed` with wrk. Next to them, a bare hello-world
handler on the same framework and runtime (no middleware, no logging, no
metrics) gives the ceiling. Target (issue 3): the health handler keeps at least
90% of the bare handler's throughput.

    python benchmarks/health_load.py [--seconds 5] [--connections 32] [--only node-express]

Needs wrk (Debian package `wrk`) and what the test suite installs (bash scripts/test.sh).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import copy_template, render, stacks
from servers import Postgres, Redis, free_port
from service_runner import Service, container_command, run_step

TOKEN = "benchmark-health-token-0123"

# Bare handlers: the same framework and server as the rendered service, nothing else.
BARE_APPS = {
    "express": (
        "bare.cjs",
        """
        const app = require("express")();
        app.get("/", (_req, res) => { res.json({ status: "ok" }); });
        app.listen(Number(process.env.PORT), "0.0.0.0");
        """,
        ["node", "bare.cjs"],
    ),
    "fastify": (
        "bare.cjs",
        """
        const app = require("fastify")();
        app.get("/", async () => ({ status: "ok" }));
        app.listen({ port: Number(process.env.PORT), host: "0.0.0.0" });
        """,
        ["node", "bare.cjs"],
    ),
    "fastapi": (
        "bare_app.py",
        """
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        async def hello() -> dict[str, str]:
            return {"status": "ok"}
        """,
        ["gunicorn", "--config", "gunicorn.conf.py", "bare_app:app"],
    ),
    "flask": (
        "bare_app.py",
        """
        from flask import Flask

        app = Flask(__name__)


        @app.get("/")
        def hello() -> dict[str, str]:
            return {"status": "ok"}
        """,
        ["gunicorn", "--config", "gunicorn.conf.py", "bare_app:app"],
    ),
    "django": (
        "bare_app.py",
        """
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application
        from django.http import JsonResponse
        from django.urls import path

        settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="x" * 50)
        urlpatterns = [path("", lambda request: JsonResponse({"status": "ok"}))]
        application = get_wsgi_application()
        """,
        ["gunicorn", "--config", "gunicorn.conf.py", "bare_app:application"],
    ),
    "stdlib": (
        "bare/main.go",
        """
        package main

        import (
            "net/http"
            "os"
        )

        func main() {
            http.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
                w.Header().Set("Content-Type", "application/json")
                _, _ = w.Write([]byte(`{"status":"ok"}`))
            })
            _ = http.ListenAndServe(":"+os.Getenv("PORT"), nil)
        }
        """,
        ["./bare-server"],
    ),
}


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> tuple[float, str]:
    """Requests per second and the p99 latency wrk reports for one URL."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # The latency distribution's own line: "75.99%" in the thread stats must not match.
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    return rps, p99


def start_bare(project: Path, language: str, framework: str, env: dict[str, str]) -> Service:
    """Write and start the bare hello-world app inside the built project."""
    filename, source, argv = BARE_APPS[framework]
    path = project / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    if language == "go":
        go = shutil.which("go") or "go"
        subprocess.run([go, "build", "-o", "bare-server", "./bare"], cwd=project, check=True)
    return Service(project, language, argv, env, free_port()).start()


def wait_root(service: Service) -> None:
    """Wait for the bare app's only route."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(service.base_url + "/", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bare app did not start:\n{service.output()}")


def main() -> None:
    """Build, start and measure every stack; print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", help="one stack, e.g. node-express")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="health-bench-"))
    src = copy_template(work / "template")
    postgres, redis = Postgres().init(), Redis().start()
    rows = []
    try:
        for language, framework in stacks():
            name = f"{language}-{framework}"
            if args.only and args.only != name:
                continue
            project = render(
                src,
                work / name,
                language=language,
                framework=framework,
                database="postgres",
                cache="redis",
            )
            run_step(project, language, "install")
            run_step(project, language, "build")
            env = {
                "DATABASE_URL": postgres.url,
                "REDIS_URL": redis.url,
                "HEALTH_TOKEN": TOKEN,
                "APP_ENV": "production",
                "LOG_LEVEL": "info",
                "SECRET_KEY": "k" * 60,
            }
            bare = start_bare(project, language, framework, env)
            wait_root(bare)
            bare_rps, bare_p99 = wrk(bare.base_url + "/", args.seconds, args.connections, {})
            bare.stop()
            service = Service(project, language, container_command(project), env, free_port())
            service.start().wait_healthy()
            for path, headers in (
                ("/health", {}),
                ("/health/detailed", {"Authorization": f"Bearer {TOKEN}"}),
            ):
                rps, p99 = wrk(service.base_url + path, args.seconds, args.connections, headers)
                rows.append((name, path, rps, p99, rps / bare_rps * 100))
            rows.append((name, "bare /", bare_rps, bare_p99, 100.0))
            service.stop()
    finally:
        postgres.destroy()
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'stack':18} {'endpoint':18} {'req/s':>10} {'p99':>10} {'% of bare':>10}")
    for name, path, rps, p99, share in rows:
        print(f"{name:18} {path:18} {rps:10.0f} {p99:>10} {share:9.1f}%")


if __name__ == "__main__":
    main()
