"""A small service repository that passes every `prodready check`, and one mutation per check.

`GOOD` is a Node/Express service on Kubernetes, Fly and Compose at once, with a
GitHub pipeline: every check has something to look at. `FAILING` maps each
check ID to changes (path -> new content, or None to delete) that make that
check, and only that concern, fail.
"""

from __future__ import annotations

D64 = "a" * 64
SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"

DOCKERFILE = f"""\
# syntax=docker/dockerfile:1
FROM node:22.12.0-alpine3.21@sha256:{D64} AS build
WORKDIR /app
COPY package.json ./
RUN npm ci \\
    --no-audit
COPY src ./src
RUN npm run build

FROM node:22.12.0-alpine3.21@sha256:{D64} AS runtime
ENV NODE_ENV=production PORT=3000
COPY --from=build /app/dist ./dist
USER 10001:10001
HEALTHCHECK --interval=30s CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/server.js"]
"""

SERVER = """\
import express from 'express';
import helmet from 'helmet';
import cors from 'cors';
import rateLimit from 'express-rate-limit';
import pino from 'pino';
import { z } from 'zod';

const config = z.object({ PORT: z.coerce.number(), ORIGINS: z.string() }).parse(process.env);
const logger = pino();
const app = express();
app.use(helmet());
app.use(cors({ origin: config.ORIGINS.split(',') }));
app.use(rateLimit({ windowMs: 60000, limit: 100 }));
app.get('/health', (_req, res) => res.json({ status: 'ok' }));
app.get('/health/ready', (_req, res) => res.json({ status: 'ok' }));
app.get('/metrics', (_req, res) => res.send(''));
const server = app.listen(config.PORT, () => logger.info('listening'));
process.on('SIGTERM', () => server.close());
"""

PACKAGE_JSON = """\
{"name": "svc", "dependencies": {"express": "5.0.0", "helmet": "8.0.0", "cors": "2.8.5",
 "express-rate-limit": "7.0.0", "pino": "9.0.0", "prom-client": "15.0.0", "zod": "3.0.0"}}
"""

CONTAINER = f"""\
        - name: app
          image: ghcr.io/acme/svc@sha256:{D64}
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 256Mi}}
          startupProbe:
            httpGet: {{path: /health, port: 3000}}
          livenessProbe:
            httpGet: {{path: /health, port: 3000}}
          readinessProbe:
            httpGet: {{path: /health/ready, port: 3000}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
"""

DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc
spec:
  selector:
    matchLabels: {{app: svc}}
  template:
    metadata:
      labels: {{app: svc}}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {{type: RuntimeDefault}}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels: {{app: svc}}
      containers:
{CONTAINER}"""

OBJECTS = {
    "deploy/k8s/pdb.yaml": """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: svc}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: svc}
""",
    "deploy/k8s/hpa.yaml": """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: svc}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: svc}
  minReplicas: 2
  maxReplicas: 10
""",
    "deploy/k8s/networkpolicy.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: svc}
spec:
  podSelector:
    matchLabels: {app: svc}
  policyTypes: [Ingress]
""",
}

FLY_TOML = """\
app = "svc"
kill_signal = "SIGTERM"

[http_service]
  internal_port = 3000
  force_https = true
  min_machines_running = 2

  [[http_service.checks]]
    path = "/health/ready"
    interval = "10s"

[[vm]]
  memory = "256mb"
"""

COMPOSE = f"""\
services:
  app:
    build: .
    image: ghcr.io/acme/svc:${{IMAGE_TAG:-dev}}
    restart: unless-stopped
    read_only: true
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    healthcheck:
      test: ["CMD", "node", "dist/healthcheck.js"]
    deploy:
      resources:
        limits: {{memory: 256M}}
    depends_on:
      migrate: {{condition: service_completed_successfully}}
  migrate:
    build: .
    command: ["node", "dist/migrate.js"]
    restart: "no"
  postgres:
    image: postgres:16.6-alpine3.21@sha256:{D64}
    restart: unless-stopped
"""

CI = f"""\
name: CI
on: [pull_request, workflow_call]
permissions: {{}}
jobs:
  test:
    runs-on: ubuntu-24.04
    permissions: {{contents: read}}
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
      - run: npm ci
      - run: npm test
"""


def deploy_workflow(production_needs: str = "staging", environment: bool = True) -> str:
    """The deploy workflow; its production job's needs and environment vary per fixture."""
    env = "    environment: production\n" if environment else ""
    return f"""\
name: Deploy
on:
  push:
    branches: [main]
permissions: {{}}
jobs:
  checks:
    uses: ./.github/workflows/ci.yml
    permissions: {{contents: read}}
  staging:
    needs: checks
    runs-on: ubuntu-24.04
    environment: staging
    permissions: {{contents: read}}
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
      - run: scripts/deploy.sh --env staging
  production:
    needs: {production_needs}
    runs-on: ubuntu-24.04
{env}    permissions: {{contents: read}}
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
      - run: scripts/deploy.sh --env production
"""


ROLLBACK_WORKFLOW = f"""\
name: Rollback
on: workflow_dispatch
permissions: {{}}
jobs:
  rollback:
    runs-on: ubuntu-24.04
    environment: production
    permissions: {{contents: read}}
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
      - run: kubectl rollout undo deployment/svc
"""

RUNBOOK = """\
# Rollback runbook

## Roll back

Run the Rollback workflow.

## Database migrations

Migrations are expand/contract, so the previous release runs against the new schema and a
rollback needs no down migration.
"""

OPERATIONS = """\
# Operations

- [x] On-call: the escalation path is the team's PagerDuty schedule, then the platform lead.
- [x] Backups: daily snapshots with 30 days retention; restore drill every quarter.
"""

GITLAB_CI = """\
stages: [test, staging, production]
test:
  stage: test
  image: node:22.12.0-alpine3.21
  script: [npm ci, npm test]
deploy-staging:
  stage: staging
  image: alpine:3.21.0
  environment: staging
  script: [scripts/deploy.sh --env staging]
deploy-production:
  stage: production
  image: alpine:3.21.0
  environment: {name: production}
  when: manual
  script: [scripts/deploy.sh --env production]
rollback-production:
  stage: production
  image: alpine:3.21.0
  environment: {name: production}
  when: manual
  script: [scripts/rollback.sh --env production]
"""

CLOUDRUN_SERVICE = f"""\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: svc
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/minScale: "2"
        autoscaling.knative.dev/maxScale: "10"
    spec:
      serviceAccountName: svc-run@acme-prod.iam.gserviceaccount.com
      containers:
        - image: us-docker.pkg.dev/acme-prod/svc/svc@sha256:{D64}
          ports:
            - containerPort: 3000
          env:
            - name: LOG_LEVEL
              value: info
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {{name: svc-database-url, key: latest}}
          resources:
            limits: {{cpu: "1", memory: 256Mi}}
          startupProbe:
            httpGet: {{path: /health/ready, port: 3000}}
          livenessProbe:
            httpGet: {{path: /health, port: 3000}}
"""

GOOD: dict[str, str] = {
    "package.json": PACKAGE_JSON,
    "src/server.ts": SERVER,
    "test/server.test.ts": "import '../src/server';\n",
    "Dockerfile": DOCKERFILE,
    ".dockerignore": ".git\n.env*\n!.env.example\nnode_modules/\n",
    "deploy/k8s/deployment.yaml": DEPLOYMENT,
    **OBJECTS,
    "fly.toml": FLY_TOML,
    "compose.yaml": COMPOSE,
    "deploy/cloudrun/service.yaml": CLOUDRUN_SERVICE,
    ".github/workflows/ci.yml": CI,
    ".github/workflows/deploy.yml": deploy_workflow(),
    ".github/workflows/rollback.yml": ROLLBACK_WORKFLOW,
    ".github/dependabot.yml": "version: 2\nupdates: []\n",
    "docs/runbooks/rollback.md": RUNBOOK,
    "docs/operations.md": OPERATIONS,
    "migrations/0001_init.sql": "CREATE TABLE t (id int);\n",
    ".env.example": "DATABASE_URL=postgres://app:change-me@localhost:5432/app\n",
    "README.md": "# svc\n",
}

Mutation = dict[str, str | None]


def _replace(path: str, old: str, new: str) -> Mutation:
    assert old in GOOD[path], (path, old)
    return {path: GOOD[path].replace(old, new)}


def _deployment(old: str, new: str) -> Mutation:
    return _replace("deploy/k8s/deployment.yaml", old, new)


_NO_PROBES = {
    kind: _deployment(f"          {kind}:\n            httpGet: {{path: {path}, port: 3000}}\n", "")
    for kind, path in (
        ("startupProbe", "/health"),
        ("livenessProbe", "/health"),
        ("readinessProbe", "/health/ready"),
    )
}

# Check ID -> the change that makes it fail.
FAILING: dict[str, Mutation] = {
    "PR-IMG-001": {"Dockerfile": None},
    "PR-IMG-002": {
        "Dockerfile": f"FROM node:22.12.0@sha256:{D64}\nUSER 10001\nHEALTHCHECK CMD true\n"
    },
    "PR-IMG-003": _replace(
        "Dockerfile", f"node:22.12.0-alpine3.21@sha256:{D64} AS build", "node AS build"
    ),
    "PR-IMG-004": _replace("Dockerfile", f"@sha256:{D64} AS runtime", " AS runtime"),
    "PR-IMG-005": _replace("Dockerfile", "USER 10001:10001\n", ""),
    "PR-IMG-006": _replace("Dockerfile", "USER 10001:10001", "USER node"),
    "PR-IMG-007": {
        **_replace(
            "Dockerfile", 'HEALTHCHECK --interval=30s CMD ["node", "dist/healthcheck.js"]\n', ""
        ),
        "deploy/k8s/deployment.yaml": None,
        "fly.toml": None,
        "compose.yaml": None,
        "deploy/cloudrun/service.yaml": None,
    },
    "PR-IMG-008": _replace(
        "Dockerfile", "ENV NODE_ENV=production", "ARG NPM_TOKEN\nENV NODE_ENV=production"
    ),
    "PR-IMG-009": {".dockerignore": ".git\nnode_modules/\n"},
    "PR-K8S-001": _NO_PROBES["readinessProbe"],
    "PR-K8S-002": _NO_PROBES["livenessProbe"],
    "PR-K8S-003": _NO_PROBES["startupProbe"],
    "PR-K8S-004": _deployment("{path: /health/ready, port: 3000}", "{path: /readyz, port: 3000}"),
    "PR-K8S-005": _deployment("            limits: {memory: 256Mi}\n", ""),
    "PR-K8S-006": _deployment("            readOnlyRootFilesystem: true\n", ""),
    "PR-K8S-007": {"deploy/k8s/pdb.yaml": None},
    "PR-K8S-008": {"deploy/k8s/hpa.yaml": None},
    "PR-K8S-009": _deployment("topologySpreadConstraints", "x-spread"),
    "PR-K8S-010": {"deploy/k8s/networkpolicy.yaml": None},
    "PR-K8S-011": _deployment(f"ghcr.io/acme/svc@sha256:{D64}", "ghcr.io/acme/svc:latest"),
    "PR-K8S-012": _deployment(f"ghcr.io/acme/svc@sha256:{D64}", "ghcr.io/acme/svc:1.2.3"),
    "PR-FLY-001": _replace(
        "fly.toml",
        '[[http_service.checks]]\n    path = "/health/ready"\n    interval = "10s"\n',
        "",
    ),
    "PR-FLY-002": _replace("fly.toml", 'path = "/health/ready"', 'path = "/healthz"'),
    "PR-FLY-003": _replace("fly.toml", "min_machines_running = 2", "min_machines_running = 1"),
    "PR-FLY-004": _replace("fly.toml", "force_https = true", "force_https = false"),
    "PR-FLY-005": _replace("fly.toml", '[[vm]]\n  memory = "256mb"\n', ""),
    "PR-CR-001": _replace(
        "deploy/cloudrun/service.yaml",
        "          livenessProbe:\n            httpGet: {path: /health, port: 3000}\n",
        "",
    ),
    "PR-CR-002": _replace("deploy/cloudrun/service.yaml", "path: /health/ready", "path: /ready"),
    "PR-CR-003": _replace(
        "deploy/cloudrun/service.yaml", '        autoscaling.knative.dev/maxScale: "10"\n', ""
    ),
    "PR-CR-004": _replace(
        "deploy/cloudrun/service.yaml",
        "svc-run@acme-prod.iam.gserviceaccount.com",
        "123456789-compute@developer.gserviceaccount.com",
    ),
    "PR-CR-005": _replace(
        "deploy/cloudrun/service.yaml",
        "              valueFrom:\n"
        "                secretKeyRef: {name: svc-database-url, key: latest}",
        "              value: postgres://app:hunter2@db:5432/app",
    ),
    "PR-CR-006": _replace(
        "deploy/cloudrun/service.yaml",
        'autoscaling.knative.dev/minScale: "2"',
        'autoscaling.knative.dev/minScale: "0"',
    ),
    "PR-CMP-001": {
        **_replace(
            "compose.yaml",
            '    healthcheck:\n      test: ["CMD", "node", "dist/healthcheck.js"]\n',
            "",
        ),
        **_replace(
            "Dockerfile", 'HEALTHCHECK --interval=30s CMD ["node", "dist/healthcheck.js"]\n', ""
        ),
    },
    "PR-CMP-002": _replace(
        "compose.yaml", "limits: {memory: 256M}", "reservations: {memory: 128M}"
    ),
    "PR-CMP-003": _replace("compose.yaml", "    cap_drop: [ALL]\n", ""),
    "PR-CMP-004": _replace(
        "compose.yaml", "    restart: unless-stopped\n    read_only", "    read_only"
    ),
    "PR-CMP-005": _replace("compose.yaml", f"postgres:16.6-alpine3.21@sha256:{D64}", "postgres"),
    "PR-APP-001": {
        "src/server.ts": GOOD["src/server.ts"]
        .replace("app.get('/health', ", "app.get('/alive', ")
        .replace("app.get('/health/ready', ", "app.get('/ready', ")
    },
    "PR-APP-002": _replace(
        "src/server.ts", "app.get('/health/ready', ", "app.get('/health/deps', "
    ),
    "PR-APP-003": _replace(
        "src/server.ts",
        "z.object({ PORT: z.coerce.number(), ORIGINS: z.string() }).parse(process.env)",
        "{ PORT: process.env.PORT || 3000, ORIGINS: process.env.ORIGINS || '' }",
    ),
    "PR-APP-004": _replace("src/server.ts", "process.on('SIGTERM', () => server.close());\n", ""),
    "PR-APP-005": {
        **_replace("package.json", '"prom-client": "15.0.0", ', ""),
        **_replace("src/server.ts", "app.get('/metrics', (_req, res) => res.send(''));\n", ""),
    },
    "PR-APP-006": {
        **_replace("package.json", '"pino": "9.0.0", ', ""),
        "src/server.ts": GOOD["src/server.ts"]
        .replace("import pino from 'pino';\n", "")
        .replace("const logger = pino();", "const logger = console;"),
    },
    "PR-CI-001": {
        ".github/workflows/ci.yml": None,
        ".github/workflows/deploy.yml": None,
        ".github/workflows/rollback.yml": None,
    },
    "PR-CI-002": {
        ".github/workflows/deploy.yml": deploy_workflow().replace("    needs: checks\n", "")
    },
    "PR-CI-003": {".github/workflows/deploy.yml": deploy_workflow(production_needs="checks")},
    "PR-CI-004": {".github/workflows/deploy.yml": deploy_workflow(environment=False)},
    "PR-CI-005": _replace(
        ".github/workflows/ci.yml", f"actions/checkout@{SHA} # v4.2.2", "actions/checkout@v4"
    ),
    "PR-CI-006": {
        ".github/workflows/ci.yml": None,
        ".github/workflows/deploy.yml": None,
        ".github/workflows/rollback.yml": None,
        ".gitlab-ci.yml": GITLAB_CI.replace("node:22.12.0-alpine3.21", "node"),
    },
    "PR-CI-007": {
        ".github/workflows/ci.yml": CI.replace("permissions: {}\n", "").replace(
            "    permissions: {contents: read}\n", ""
        )
    },
    "PR-CI-008": {".github/workflows/rollback.yml": None},
    "PR-DOC-001": {"docs/runbooks/rollback.md": None},
    "PR-DOC-002": _replace(
        "docs/operations.md", "escalation path is the team's PagerDuty schedule", "team decides"
    ),
    "PR-DOC-003": _replace("docs/runbooks/rollback.md", "## Database migrations", "## Schema"),
    "PR-DOC-004": _replace("docs/operations.md", "- [x] Backups: daily", "- [ ] Backups: daily"),
    "PR-SEC-001": _replace(
        "src/server.ts", "cors({ origin: config.ORIGINS.split(',') })", "cors()"
    ),
    "PR-SEC-002": {
        **_replace("package.json", '"express-rate-limit": "7.0.0", ', ""),
        "src/server.ts": GOOD["src/server.ts"]
        .replace("import rateLimit from 'express-rate-limit';\n", "")
        .replace("app.use(rateLimit({ windowMs: 60000, limit: 100 }));\n", ""),
    },
    "PR-SEC-003": {
        **_replace("package.json", '"helmet": "8.0.0", ', ""),
        "src/server.ts": GOOD["src/server.ts"]
        .replace("import helmet from 'helmet';\n", "")
        .replace("app.use(helmet());\n", ""),
    },
    "PR-SEC-004": {"src/aws.ts": "export const key = 'AKIAIOSFODNN7EXAMPLQ';\n"},
    "PR-SEC-005": {".github/dependabot.yml": None},
}

# GitLab variants of the pipeline checks that read GitLab's own settings.
GITLAB_BASE: Mutation = {
    ".github/workflows/ci.yml": None,
    ".github/workflows/deploy.yml": None,
    ".github/workflows/rollback.yml": None,
    ".gitlab-ci.yml": GITLAB_CI,
}
GITLAB_FAILING: dict[str, Mutation] = {
    "PR-CI-002": {
        ".gitlab-ci.yml": GITLAB_CI.replace("script: [npm ci, npm test]", "script: [npm ci]")
    },
    "PR-CI-003": {
        ".gitlab-ci.yml": GITLAB_CI.replace(
            "stages: [test, staging, production]", "stages: [test, production, staging]"
        )
    },
    "PR-CI-004": {
        ".gitlab-ci.yml": GITLAB_CI.replace(
            "  when: manual\n  script: [scripts/deploy.sh", "  script: [scripts/deploy.sh"
        )
    },
    "PR-CI-008": {
        ".gitlab-ci.yml": GITLAB_CI.split("rollback-production:", maxsplit=1)[0],
    },
}
