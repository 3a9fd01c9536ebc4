"""A corpus of existing service repositories, written as {path: content} trees.

Each tree is shaped like a real public service of its kind (the layouts, manifests
and lockfile headers those tools write), small enough to read. `build_repo`
writes one into a directory and commits it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from helpers import build_tree, git_init_commit


def _json(data: object) -> str:
    return json.dumps(data, indent=2) + "\n"


def _dedent(files: dict[str, str]) -> dict[str, str]:
    return {name: textwrap.dedent(text).lstrip("\n") for name, text in files.items()}


EXPRESS_TS_NPM = _dedent(
    {
        "package.json": _json(
            {
                "name": "billing-api",
                "version": "1.4.0",
                "private": True,
                "engines": {"node": ">=18.17"},
                "scripts": {
                    "build": "tsc -p tsconfig.build.json",
                    "start": "node dist/index.js",
                    "dev": "ts-node-dev src/index.ts",
                    "test": "jest",
                    "lint": "eslint src --ext .ts",
                },
                "dependencies": {"express": "^4.18.2", "dotenv": "^16.3.1", "pg": "^8.11.3"},
                "devDependencies": {
                    "@types/express": "^4.17.21",
                    "@types/jest": "^29.5.12",
                    # Pinned, as the lockfile of a repo of its age pins it: today's
                    # @types/node needs a newer TypeScript.
                    "@types/node": "20.11.0",
                    "@types/pg": "8.10.9",
                    "jest": "^29.7.0",
                    "ts-jest": "^29.1.1",
                    "typescript": "^4.1.6",
                },
                "jest": {"preset": "ts-jest", "testEnvironment": "node"},
            }
        ),
        "package-lock.json": _json(
            {"name": "billing-api", "version": "1.4.0", "lockfileVersion": 3, "packages": {}}
        ),
        ".nvmrc": "v20.11.1\n",
        "tsconfig.json": """
            {
              // shared by the editor and jest
              "compilerOptions": {
                "target": "es2019",
                "module": "commonjs",
                "strict": true,
                "esModuleInterop": true,
                "skipLibCheck": true
              }
            }
            """,
        "tsconfig.build.json": """
            {
              "extends": "./tsconfig.json",
              "compilerOptions": { "outDir": "./dist", "rootDir": "src" },
              "exclude": ["test"]
            }
            """,
        "src/index.ts": """
            import 'dotenv/config';
            import { createApp } from './app';

            const port = Number(process.env.SERVER_PORT ?? 4000);
            createApp().listen(port, () => console.log(`billing-api on ${port}`));
            """,
        "src/app.ts": """
            import express from 'express';
            import { healthRouter } from './routes/health';
            import { pool } from './db';

            export function createApp() {
              const app = express();
              app.use(express.json());
              app.use(healthRouter);
              app.get('/invoices', async (_req, res) => {
                const { rows } = await pool.query('select id from invoices');
                res.json(rows);
              });
              return app;
            }
            """,
        "src/routes/health.ts": """
            import { Router } from 'express';

            export const healthRouter = Router();
            healthRouter.get('/health-check', (_req, res) => res.json({ ok: true }));
            """,
        "src/db.ts": """
            import { Pool } from 'pg';

            export const pool = new Pool({ connectionString: process.env.DATABASE_URL });
            export const logLevel = process.env['LOG_LEVEL'] || 'info';
            """,
        "test/app.test.ts": """
            import { createApp } from '../src/app';

            test('creates an app', () => {
              expect(process.env.TEST_ONLY_FLAG).toBeUndefined();
              expect(createApp()).toBeDefined();
            });
            """,
        ".gitignore": "node_modules/\ndist/\n.env\n",
        "README.md": "# billing-api\n\nInvoices for the shop.\n",
    }
)

FASTIFY_NO_LOCKFILE = _dedent(
    {
        "package.json": _json(
            {
                "name": "catalog",
                "version": "0.3.0",
                "main": "server.js",
                "scripts": {"test": 'echo "Error: no test specified" && exit 1'},
                "dependencies": {"fastify": "^4.26.0", "@fastify/cors": "^9.0.1"},
            }
        ),
        ".npmrc": "package-lock=false\n",
        ".gitignore": "node_modules\npackage-lock.json\n",
        "server.js": """
            'use strict'
            const fastify = require('fastify')({ logger: true })

            fastify.register(require('@fastify/cors'))
            fastify.get('/livez', async () => ({ status: 'ok' }))
            fastify.get('/products', async () => [])

            fastify.listen({ port: process.env.PORT || 3100, host: '0.0.0.0' }, (err) => {
              if (err) { fastify.log.error(err); process.exit(1) }
            })
            """,
    }
)

EXPRESS_PNPM = _dedent(
    {
        "package.json": _json(
            {
                "name": "notifier",
                "type": "module",
                "packageManager": "pnpm@9.1.4",
                "scripts": {"start": "node index.js", "test": "node --test"},
                "dependencies": {"express": "^4.19.2"},
            }
        ),
        "pnpm-lock.yaml": "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n",
        ".node-version": "20\n",
        "index.js": """
            import express from 'express';

            const app = express();
            app.get('/healthz', (req, res) => res.send('ok'));
            app.post('/notify', (req, res) => res.status(202).end());
            app.listen(8080);
            const token = process.env.SLACK_TOKEN;
            export default app;
            """,
        "test/notify.test.js": """
            import { test } from 'node:test';
            import assert from 'node:assert';

            test('truth', () => assert.ok(true));
            """,
    }
)

GO_CHI = _dedent(
    {
        "go.mod": """
            module gitlab.example.com/team/orders

            go 1.22

            toolchain go1.22.5

            require github.com/go-chi/chi/v5 v5.0.12
            """,
        "go.sum": (
            "github.com/go-chi/chi/v5 v5.0.12 h1:9euLV5sTrTNTRUU9POmDUvfxyj6LAABLUcEWO+JJb4s=\n"
            "github.com/go-chi/chi/v5 v5.0.12/go.mod h1:DslCQbL2OYiznFReuXYUmQ2hGd1aDpCnlMNITLSKoi8=\n"
        ),
        "cmd/orders-api/main.go": """
            package main

            import (
            \t"log"
            \t"net/http"

            \t"gitlab.example.com/team/orders/internal/config"
            \t"gitlab.example.com/team/orders/internal/httpapi"
            )

            func main() {
            \tcfg := config.Load()
            \tlog.Printf("listening on :%s", cfg.Port)
            \tlog.Fatal(http.ListenAndServe(":"+cfg.Port, httpapi.Router()))
            }
            """,
        "cmd/migrate/main.go": """
            package main

            import "fmt"

            func main() { fmt.Println("migrations applied") }
            """,
        "internal/config/config.go": """
            package config

            import "os"

            // Config is read from the environment once at start-up.
            type Config struct {
            \tPort        string
            \tDatabaseURL string
            }

            func getEnv(key, fallback string) string {
            \tif value, ok := os.LookupEnv(key); ok {
            \t\treturn value
            \t}
            \treturn fallback
            }

            // Load reads the configuration.
            func Load() Config {
            \treturn Config{
            \t\tPort:        getEnv("SERVER_PORT", "9090"),
            \t\tDatabaseURL: os.Getenv("ORDERS_DATABASE_URL"),
            \t}
            }
            """,
        "internal/config/config_test.go": """
            package config

            import "testing"

            func TestDefaultPort(t *testing.T) {
            \tt.Setenv("SERVER_PORT", "")
            \tif got := getEnv("UNSET_FOR_TEST", "9090"); got != "9090" {
            \t\tt.Fatalf("got %q", got)
            \t}
            }
            """,
        "internal/httpapi/router.go": """
            package httpapi

            import (
            \t"net/http"

            \t"github.com/go-chi/chi/v5"
            )

            // Router serves the orders API.
            func Router() http.Handler {
            \tr := chi.NewRouter()
            \tr.Get("/livez", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
            \tr.Get("/orders", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("[]")) })
            \treturn r
            }
            """,
        "Makefile": "build:\n\tgo build ./...\n",
    }
)

FASTAPI_POETRY = _dedent(
    {
        "pyproject.toml": """
            [tool.poetry]
            name = "quotes"
            version = "0.1.0"
            description = "Quotes service"
            authors = ["Team <team@example.com>"]
            packages = [{ include = "quotes" }]

            [tool.poetry.dependencies]
            python = "^3.10"
            fastapi = "^0.110.0"
            uvicorn = { extras = ["standard"], version = "^0.29.0" }

            [tool.poetry.group.dev.dependencies]
            pytest = "^8.1"
            httpx = "^0.27"

            [build-system]
            requires = ["poetry-core"]
            build-backend = "poetry.core.masonry.api"
            """,
        "poetry.lock": '# This file is automatically @generated by Poetry 1.8.2 and should not be changed by hand.\npackage = []\n\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.10"\n',
        ".python-version": "3.10.13\n",
        "quotes/__init__.py": "",
        "quotes/main.py": """
            import os

            from fastapi import FastAPI

            app = FastAPI(title="quotes")
            API_KEY = os.getenv("QUOTES_API_KEY")


            @app.get("/health")
            def health() -> dict[str, str]:
                return {"status": "ok"}
            """,
        "tests/test_main.py": """
            import os

            def test_env_is_not_an_app_var():
                assert os.environ.get("ONLY_IN_TESTS") is None
            """,
    }
)

DJANGO_SPLIT_REQUIREMENTS = _dedent(
    {
        "requirements/base.txt": "Django==4.2.11\npsycopg2-binary==2.9.9\ngunicorn==21.2.0\n",
        "requirements/prod.txt": "-r base.txt\nsentry-sdk==1.45.0\n",
        "requirements/dev.txt": "-r base.txt\npytest-django==4.8.0\n",
        "runtime.txt": "python-3.9.18\n",
        "Procfile": "release: python manage.py migrate\nweb: gunicorn mysite.wsgi --bind 0.0.0.0:$PORT --log-file -\n",
        "manage.py": """
            #!/usr/bin/env python
            import os
            import sys


            def main():
                os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
                from django.core.management import execute_from_command_line

                execute_from_command_line(sys.argv)


            if __name__ == "__main__":
                main()
            """,
        "mysite/__init__.py": "",
        "mysite/settings.py": """
            import os

            SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
            DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
            ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")
            ROOT_URLCONF = "mysite.urls"
            INSTALLED_APPS = ["django.contrib.contenttypes", "polls"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
            """,
        "mysite/urls.py": """
            from django.http import HttpResponse
            from django.urls import include, path

            urlpatterns = [
                path("healthz/", lambda request: HttpResponse("ok")),
                path("polls/", include("polls.urls")),
            ]
            """,
        "mysite/wsgi.py": """
            import os

            from django.core.wsgi import get_wsgi_application

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
            application = get_wsgi_application()
            """,
        "polls/__init__.py": "",
        "polls/urls.py": "urlpatterns = []\n",
    }
)

FLASK_PIP_TOOLS = _dedent(
    {
        "requirements.in": "flask>=3.0\ngunicorn\n",
        "requirements.txt": """
            #
            # This file is autogenerated by pip-compile with Python 3.11
            # by the following command:
            #
            #    pip-compile requirements.in
            #
            blinker==1.7.0
                # via flask
            flask==3.0.3
                # via -r requirements.in
            gunicorn==22.0.0
                # via -r requirements.in
            """,
        "requirements-dev.in": "-c requirements.txt\npytest\n",
        "gunicorn.conf.py": 'bind = "0.0.0.0:5050"\nworkers = 2\n',
        "shortener/__init__.py": """
            import os

            from flask import Flask


            def create_app():
                app = Flask(__name__)
                app.config["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://localhost")

                @app.route("/ping")
                def ping():
                    return "pong"

                return app
            """,
        "wsgi.py": "from shortener import create_app\n\napplication = create_app()\n",
    }
)

UV_PROJECT = _dedent(
    {
        "pyproject.toml": """
            [project]
            name = "inventory"
            version = "2.0.0"
            requires-python = ">=3.12"
            dependencies = ["starlette>=0.37", "uvicorn>=0.29"]

            [tool.uv]
            dev-dependencies = ["pytest>=8"]

            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"
            """,
        "uv.lock": 'version = 1\nrequires-python = ">=3.12"\n',
        "src/inventory/__init__.py": "",
        "src/inventory/app.py": """
            import os

            from starlette.applications import Starlette
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route


            async def ready(request):
                return PlainTextResponse("ok")

            app = Starlette(routes=[Route("/ready", ready)])
            PORT = int(os.environ.get("PORT", "8001"))
            """,
    }
)

KOA_WITH_DOCKER_AND_CI = _dedent(
    {
        "package.json": _json(
            {
                "name": "gateway",
                "scripts": {"start": "node src/server.js", "test": "mocha"},
                "dependencies": {"koa": "^2.15.0", "@koa/router": "^12.0.1"},
                "devDependencies": {"mocha": "^10.4.0"},
            }
        ),
        "yarn.lock": "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n",
        "src/server.js": """
            const Koa = require('koa');
            const Router = require('@koa/router');

            const app = new Koa();
            const router = new Router();
            router.get('/status', (ctx) => { ctx.body = 'ok'; });
            app.use(router.routes());
            app.listen(process.env.HTTP_PORT || 8081);
            """,
        "Dockerfile": """
            FROM node:20-alpine
            WORKDIR /app
            COPY package.json yarn.lock ./
            RUN yarn install --frozen-lockfile --production
            COPY src ./src
            EXPOSE 8081
            CMD ["node", "src/server.js"]
            """,
        ".github/workflows/ci.yml": """
            name: CI
            on:
              push:
                branches: [main]
              pull_request:
            jobs:
              test:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@v4
                  - run: yarn install --frozen-lockfile
                  - run: yarn test
            """,
        "test/status.test.js": """
            const assert = require('assert');

            describe('gateway', () => {
              it('has a start script', () => {
                assert.strictEqual(require('../package.json').scripts.start, 'node src/server.js');
              });
            });
            """,
        "k8s/deployment.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: gateway
            spec:
              template:
                spec:
                  containers:
                    - name: gateway
                      image: registry.example.com/gateway:latest
                      readinessProbe:
                        httpGet:
                          path: /status
                          port: 8081
            """,
    }
)

CORPUS: dict[str, dict[str, str]] = {
    "express-ts-npm": EXPRESS_TS_NPM,
    "fastify-no-lockfile": FASTIFY_NO_LOCKFILE,
    "express-pnpm": EXPRESS_PNPM,
    "go-chi-cmd": GO_CHI,
    "fastapi-poetry": FASTAPI_POETRY,
    "django-split-requirements": DJANGO_SPLIT_REQUIREMENTS,
    "flask-pip-tools": FLASK_PIP_TOOLS,
    "starlette-uv": UV_PROJECT,
    "koa-docker-ci": KOA_WITH_DOCKER_AND_CI,
}


def build_repo(root: Path, kind: str, *, commit: bool = True) -> Path:
    """Write one corpus repository into root (and commit it, as a team's repo would be)."""
    build_tree(root, CORPUS[kind])
    if commit:
        git_init_commit(root)
    return root
