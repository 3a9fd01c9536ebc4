"""Documentation and operations checks: what the team needs at 3 a.m., written down.

An unticked checklist item (`- [ ] On-call. To do: ...`) is a to-do, not
documentation: such lines are left out before looking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._context import Context
from ._model import Hit, Severity
from ._registry import check

__all__: list[str] = []

_UNTICKED = re.compile(r"^\s*[-*+] \[ \].*(?:\n(?![ \t]*[-*+] |\s*$|\s*#).*)*", re.MULTILINE)
_HEADING = re.compile(r"^(?:#{1,6} |=+$|-+$)?(.*)$", re.MULTILINE)
_ROLLBACK = re.compile(r"roll-?back|roll(ing)? back", re.IGNORECASE)
_ON_CALL = re.compile(
    r"escalation (path|policy|chain)|on-?call (rotation|schedule)|pagerduty|opsgenie"
    r"|incident\.io|grafana oncall",
    re.IGNORECASE,
)
_BACKUP = re.compile(
    r"backups?\b.*\b(schedule|daily|hourly|nightly|retention|retained|point-in-time|pitr"
    r"|pg_dump|pgbackrest|wal-g|barman|snapshot|velero)|"
    r"(schedule|daily|hourly|nightly|retention|point-in-time|pitr|pg_dump|pgbackrest|wal-g"
    r"|barman|snapshot|velero)\b.*\bbackups?\b",
    re.IGNORECASE,
)
_DATABASE = re.compile(
    r"DATABASE_URL|postgres|mysql|mariadb|mongodb|\bpsycopg|\bpg\b|sqlalchemy|prisma",
    re.IGNORECASE,
)
_MIGRATION_DIRS = ("migrations", "alembic", "migrate", "db/migrate")
_RUNBOOK = "prodready renders docs/runbooks/rollback.md"


def _documented(ctx: Context) -> list[tuple[str, str]]:
    """Docs with their unticked checklist items removed."""
    return [(rel, _UNTICKED.sub("", text)) for rel, text in ctx.docs]


def _headings(text: str) -> list[str]:
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


@check(
    "PR-DOC-001",
    "docs",
    Severity.ERROR,
    title="A rollback runbook exists",
    why="During an incident nobody should be working out how to go back: the runbook says "
    "when to roll back, the commands, and how to verify.",
    fix=f"Write docs/runbooks/rollback.md with the platform's commands; {_RUNBOOK}.",
)
def rollback_runbook(ctx: Context) -> Iterator[Hit]:
    """Check that a runbook file or a 'Rollback' heading in the docs."""
    for rel, text in _documented(ctx):
        name = rel.lower()
        if ("runbook" in name and _ROLLBACK.search(text)) or _ROLLBACK.search(name):
            return
        if any(_ROLLBACK.search(h) for h in _headings(text)):
            return
    yield Hit("no rollback runbook (a runbook file or a 'Rollback' section)")


@check(
    "PR-DOC-002",
    "docs",
    Severity.WARNING,
    title="On-call and escalation are documented",
    why="An alert nobody is paged for, or a pager with no next step, turns a short incident "
    "into a long one.",
    fix="Name the on-call rotation and the escalation path (PagerDuty, Opsgenie, a schedule) "
    "in the docs and link them from the alert receivers.",
)
def on_call(ctx: Context) -> Iterator[Hit]:
    """Check that the docs name an on-call rotation or escalation path (outside open to-dos)."""
    if not any(_ON_CALL.search(text) for _, text in _documented(ctx)):
        yield Hit("no on-call rotation or escalation path in the docs")


def _has_migrations(ctx: Context) -> bool:
    return any(
        any(part in _MIGRATION_DIRS for part in rel.split("/")[:-1])
        or rel.endswith("schema.prisma")
        for rel in ctx.repo.files
    )


@check(
    "PR-DOC-003",
    "docs",
    Severity.WARNING,
    title="Migrations have a rollback plan",
    why="Rolling back code is easy; rolling back a schema is not. Without a plan, a bad "
    "migration turns a rollback into data loss.",
    fix="Document how migrations stay backward compatible (expand/contract) and what to do "
    f"when one fails; {_RUNBOOK} (answer `database`).",
)
def migration_plan(ctx: Context) -> Iterator[Hit]:
    """With migrations in the repository, a docs section covers rolling them back."""
    if not _has_migrations(ctx):
        return
    for _rel, text in _documented(ctx):
        if any("migration" in h.lower() for h in _headings(text)) and _ROLLBACK.search(text):
            return
    yield Hit("migrations exist but no doc section says how to roll them back")


def _uses_database(ctx: Context) -> bool:
    if _has_migrations(ctx):
        return True
    names = (".env.example", ".env.sample")
    texts = [ctx.repo.text(rel) or "" for rel in ctx.repo.named(*names)]
    texts.append(ctx.source.dependency_text())
    return any(_DATABASE.search(text) for text in texts) or any(
        "postgres" in str(service.get("image", ""))
        for defs in ctx.compose_services.values()
        for _, service in defs
    )


@check(
    "PR-DOC-004",
    "docs",
    Severity.WARNING,
    title="Database backups are documented",
    why="A backup nobody has restored is a hope, not a backup: the schedule, retention and "
    "restore procedure must be written down before they are needed.",
    fix="Document the backup schedule and retention (or the managed database's "
    "point-in-time recovery) and a tested restore procedure.",
)
def backups(ctx: Context) -> Iterator[Hit]:
    """With a database, the docs describe backups (schedule, retention or PITR)."""
    if _uses_database(ctx) and not any(_BACKUP.search(text) for _, text in _documented(ctx)):
        yield Hit("the service uses a database but no doc describes its backups")
