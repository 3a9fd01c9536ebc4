"""Security checks a static look can answer: CORS, rate limits, headers, secrets, scanning."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._context import Context
from ._model import Hit, Severity
from ._registry import check
from .pipeline import jobs

__all__: list[str] = []

_CORS_ANY = re.compile(
    r"Access-Control-Allow-Origin['\"]?\s*[,:=]\s*['\"]\*['\"]"
    r"|\borigin\s*:\s*(['\"]\*['\"]|true\b)"
    r"|allow_origins\s*=\s*\[\s*['\"]\*['\"]"
    r"|CORS_(ALLOW_ALL_ORIGINS|ORIGIN_ALLOW_ALL)\s*=\s*True"
    r"|AllowedOrigins:\s*\[\]string\{\s*\"\*\""
    r"|AllowAllOrigins:\s*true"
    r"|\bcors\(\s*\)"
    r"|\bCORS\(\s*app\s*\)",
)
_RATE_LIMIT = re.compile(
    r"express-rate-limit|rate-limiter-flexible|@fastify/rate-limit|fastify-rate-limit"
    r"|slowapi|django-ratelimit|django_ratelimit|flask-limiter|flask_limiter|DEFAULT_THROTTLE_RATES"
    r"|golang\.org/x/time/rate|didip/tollbooth|go-chi/httprate|ulule/limiter"
    r"|limit-rps|limit-rpm|rate-limit|ratelimit",
    re.IGNORECASE,
)
# A library that sets all three headers, or each header by name.
_HEADER_LIBS = re.compile(
    r"\bhelmet\b|@fastify/helmet|flask-talisman|flask_talisman|unrolled/secure|django-csp"
)
_HEADERS = {
    "Content-Security-Policy": re.compile(
        r"Content-Security-Policy|CSP_DEFAULT_SRC|CONTENT_SECURITY_POLICY"
    ),
    "Strict-Transport-Security": re.compile(r"Strict-Transport-Security|SECURE_HSTS_SECONDS"),
    "X-Frame-Options": re.compile(r"X-Frame-Options|X_FRAME_OPTIONS|frame-ancestors"),
}
_TOKENS = re.compile(
    r"(?P<aws>AKIA[0-9A-Z]{16})"
    r"|(?P<github>\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,}))"
    r"|(?P<slack>\bxox[baprs]-[A-Za-z0-9-]{10,})"
    r"|(?P<key>-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----)"
    r"|(?P<stripe>\b[sr]k_live_[0-9a-zA-Z]{20,})"
    r"|(?P<google>\bAIza[0-9A-Za-z_-]{35})"
)
_ASSIGNED = re.compile(
    r"(?i)\b[\w.-]*(password|passwd|secret|api_?key|private_?key|auth_?token|access_?token)\b"
    r"['\"]?\s*[:=]\s*['\"](?P<value>[^'\"\s]{8,})['\"]"
)
_URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/\s'\"@]+:(?P<value>[^@/\s'\"$]{4,})@")
_PLACEHOLDER = re.compile(
    r"^(<.*>|\$.*|\{\{.*|%\(.*|\[.*|(pass(word)?|passwd|secret|pwd|user|token)\]?"
    r"|.*(change-?me|example|placeholder|dummy|your[_-]|xxx|\*\*\*"
    r"|redacted|not-?a-?secret|insecure-?default).*)$",
    re.IGNORECASE,
)
_SCANNED_SUFFIXES = (
    ".py",
    ".js",
    ".ts",
    ".mjs",
    ".cjs",
    ".go",
    ".java",
    ".rb",
    ".php",
    ".cs",
    ".json",
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".conf",
    ".env",
    ".properties",
    ".tf",
    ".sh",
    ".xml",
    ".pem",
    ".key",
    "Dockerfile",
)
_NOT_SCANNED = re.compile(
    r"(^|/)(tests?|__tests__|spec|testdata|fixtures|examples?)/|\.(example|sample|template|dist)$"
    r"|(^|/)(package-lock\.json|yarn\.lock|pnpm-lock\.yaml|go\.sum|poetry\.lock|uv\.lock)$"
    r"|_test\.go$|\.(test|spec)\.[jt]s$|(^|/)test_[^/]*\.py$"
)
_SCANNERS = re.compile(
    r"npm audit|pnpm audit|yarn (npm )?audit|pip-audit|safety check|govulncheck|trivy|grype|snyk"
    r"|osv-scanner|dependency-check|dependency-review-action|Dependency-Scanning"
    r"|codeql-action/analyze"
)
_SCANNING_CONFIG = (
    ".github/dependabot.yml",
    ".github/dependabot.yaml",
    "renovate.json",
    "renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
    ".github/renovate.json",
    ".github/renovate.json5",
    ".gitlab/renovate.json",
)


def _has_code(ctx: Context) -> bool:
    return bool(ctx.source.files)


@check(
    "PR-SEC-001",
    "security",
    Severity.ERROR,
    title="CORS does not allow every origin",
    why="`Access-Control-Allow-Origin: *` (or reflecting any origin) lets any website call "
    "the API from a visitor's browser.",
    fix="List the allowed origins explicitly (from configuration, per environment).",
)
def cors(ctx: Context) -> Iterator[Hit]:
    """No wildcard CORS in the service's code."""
    for rel, text in ctx.source.texts():
        for match in _CORS_ANY.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield Hit(f"CORS allows any origin: {match.group(0).strip()}", rel, line)


@check(
    "PR-SEC-002",
    "security",
    Severity.WARNING,
    title="Public endpoints are rate limited",
    why="Without a limit, one client (or a bot) can exhaust the service for everyone and "
    "brute-force whatever it exposes.",
    fix="Add a rate limiter (express-rate-limit, @fastify/rate-limit, slowapi, "
    "django-ratelimit, Flask-Limiter, golang.org/x/time/rate) or limit at the ingress.",
)
def rate_limit(ctx: Context) -> Iterator[Hit]:
    """Check that a rate-limiting library, middleware or ingress annotation is present."""
    if not _has_code(ctx):
        return
    if _RATE_LIMIT.search(ctx.source.dependency_text()) or ctx.source.search(_RATE_LIMIT):
        return
    for obj in ctx.kinds("Ingress", "HTTPRoute", "Gateway"):
        meta = obj.doc.get("metadata") or {}
        if any(_RATE_LIMIT.search(str(key)) for key in (meta.get("annotations") or {})):
            return
    yield Hit("no rate limiting in the service's code, dependencies or ingress")


@check(
    "PR-SEC-003",
    "security",
    Severity.WARNING,
    title="Security headers are set",
    why="Content-Security-Policy, HSTS and X-Frame-Options close off script injection, "
    "protocol downgrades and clickjacking at almost no cost.",
    fix="Use helmet / @fastify/helmet / flask-talisman / Django's SECURE_* settings with "
    "django-csp, or set the three headers in a middleware.",
)
def security_headers(ctx: Context) -> Iterator[Hit]:
    """CSP, HSTS and X-Frame-Options are set by a library or by name."""
    if not _has_code(ctx):
        return
    deps = ctx.source.dependency_text()
    if _HEADER_LIBS.search(deps) or ctx.source.search(_HEADER_LIBS):
        return
    missing = [name for name, pattern in _HEADERS.items() if ctx.source.search(pattern) is None]
    if missing:
        yield Hit(f"no {', '.join(missing)} header in the service's code")


def _scanned(ctx: Context) -> Iterator[str]:
    for rel in ctx.repo.files:
        name = rel.rsplit("/", 1)[-1]
        if (rel.endswith(_SCANNED_SUFFIXES) or name.startswith(".env")) and not _NOT_SCANNED.search(
            rel
        ):
            yield rel


@check(
    "PR-SEC-004",
    "security",
    Severity.ERROR,
    title="No secrets are committed",
    why="A secret in the repository is readable by everyone with access to it, forever: "
    "history keeps it after it is deleted.",
    fix="Remove it, rotate it, and inject it at run time (environment, Kubernetes Secret, "
    "`fly secrets set`); keep only names in .env.example.",
)
def hard_coded_secrets(ctx: Context) -> Iterator[Hit]:
    """No token formats, private keys, literal passwords or credentials in URLs."""
    for rel in _scanned(ctx):
        text = ctx.repo.text(rel)
        if not text:
            continue
        for pattern, label in (
            (_TOKENS, "a credential"),
            (_ASSIGNED, "a literal secret"),
            (_URL_CREDENTIALS, "a password in a URL"),
        ):
            for match in pattern.finditer(text):
                value = match.groupdict().get("value")
                if value is not None and _PLACEHOLDER.match(value):
                    continue
                line = text.count("\n", 0, match.start()) + 1
                yield Hit(f"{label} is committed here", rel, line)


@check(
    "PR-SEC-005",
    "security",
    Severity.WARNING,
    title="Dependencies are scanned for vulnerabilities",
    why="Most vulnerabilities shipped are in dependencies; without scanning nobody hears of "
    "a fixable CVE until it is exploited.",
    fix="Enable Dependabot or Renovate (prodready renders .github/dependabot.yml with "
    "`ci=github`), or run pip-audit, npm audit, govulncheck or Trivy in CI.",
)
def dependency_scanning(ctx: Context) -> Iterator[Hit]:
    """Dependabot, Renovate, or a scanner run by the pipeline."""
    if any(ctx.repo.exists(rel) for rel in _SCANNING_CONFIG):
        return
    texts = [job.text for graph in jobs(ctx) for job in graph.values()]
    texts += [ctx.repo.text(file) or "" for file, _ in [*ctx.github_workflows, *ctx.gitlab_ci]]
    if not any(_SCANNERS.search(text) for text in texts):
        yield Hit("no Dependabot, Renovate or dependency scanner in CI")
