"""Reports of a check result: a table for people, JSON for scripts, SARIF for code scanning.

`codequality` is GitLab's Code Quality report (a subset of the Code Climate
format): GitLab has no report type that reads SARIF, so its merge request
widget gets this one.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._model import Check, Finding, Result, Severity

__all__ = ["FORMATS", "render"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/prodready/prodready#prodready-check"
JSON_VERSION = 1


def _table(result: Result, version: str) -> str:
    del version
    lines: list[str] = []
    by_check: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_check.setdefault(finding.check_id, []).append(finding)
    ordered = sorted(by_check, key=lambda cid: (-result.check(cid).severity, cid))
    for check_id in ordered:
        check = result.check(check_id)
        lines.append(f"{check.severity.label.upper():<8} {check.id}  {check.title}")
        for finding in by_check[check_id]:
            mark = "accepted: " + finding.accepted if finding.accepted else ""
            lines.append(f"  {finding.where}: {finding.message}")
            if mark:
                lines.append(f"    ({mark})")
        lines += _wrapped("why", check.why)
        lines += _wrapped("fix", check.fix)
        lines.append("")
    errors, warnings = result.count(Severity.ERROR), result.count(Severity.WARNING)
    accepted = sum(1 for f in result.findings if f.accepted)
    summary = f"{errors} error(s), {warnings} warning(s)"
    if accepted:
        summary += f", {accepted} accepted"
    lines.append(f"{summary} from {len(result.checks)} checks on {result.root}")
    return "\n".join(lines) + "\n"


def _wrapped(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        text, width=96, initial_indent=f"  {label}: ", subsequent_indent=" " * (len(label) + 4)
    )


def _json(result: Result, version: str) -> str:
    document = {
        "version": JSON_VERSION,
        "tool": {"name": "prodready", "version": version},
        "root": result.root,
        "summary": {
            "errors": result.count(Severity.ERROR),
            "warnings": result.count(Severity.WARNING),
            "accepted": sum(1 for f in result.findings if f.accepted),
            "checks": len(result.checks),
        },
        "findings": [
            {
                "id": f.check_id,
                "severity": result.check(f.check_id).severity.label,
                "title": result.check(f.check_id).title,
                "message": f.message,
                "file": f.file,
                "line": f.line,
                "why": result.check(f.check_id).why,
                "fix": result.check(f.check_id).fix,
                "accepted": f.accepted,
            }
            for f in result.findings
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _rule(check: Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "name": "".join(word.capitalize() for word in check.title.split()),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.why},
        "help": {"text": check.fix},
        "defaultConfiguration": {"level": check.severity.label},
        "properties": {"tags": ["production-readiness", check.area]},
    }


def _sarif(result: Result, version: str) -> str:
    index = {check.id: i for i, check in enumerate(result.checks)}
    # Code scanning needs a file for every result: a finding about something the
    # repository lacks is shown on its README (or its first file).
    root = Path(result.root)
    anchor = _anchor(result)
    results = []
    for finding in result.findings:
        check = result.check(finding.check_id)
        region = {"startLine": finding.line} if finding.line else None
        location: dict[str, Any] = {
            "artifactLocation": {"uri": finding.file or anchor, "uriBaseId": "%SRCROOT%"}
        }
        if region:
            location["region"] = region
        entry: dict[str, Any] = {
            "ruleId": check.id,
            "ruleIndex": index[check.id],
            "level": check.severity.label,
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": location}],
            "partialFingerprints": {
                "prodready/v1": f"{check.id}:{finding.file or ''}:{finding.message}"
            },
        }
        if finding.accepted:
            entry["suppressions"] = [{"kind": "external", "justification": finding.accepted}]
        results.append(entry)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "prodready",
                        "version": version,
                        "informationUri": INFO_URI,
                        "rules": [_rule(check) for check in result.checks],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _anchor(result: Result) -> str:
    """Return the file that stands for findings about something the repository lacks."""
    return "README.md" if (Path(result.root) / "README.md").is_file() else "."


# GitLab's Code Quality severities: info, minor, major, critical, blocker.
_CODEQUALITY_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "minor"}


def _codequality(result: Result, version: str) -> str:
    del version
    issues = []
    for finding in result.open:
        check = result.check(finding.check_id)
        path = finding.file or _anchor(result)
        key = f"{check.id}\0{path}\0{finding.message}"
        issues.append(
            {
                "type": "issue",
                "check_name": check.id,
                "description": f"{check.id} {finding.message}. {check.fix}",
                "categories": ["Security" if check.area == "security" else "Bug Risk"],
                "severity": _CODEQUALITY_SEVERITY[check.severity],
                "fingerprint": hashlib.sha256(key.encode()).hexdigest()[:32],
                "location": {"path": path, "lines": {"begin": finding.line or 1}},
            }
        )
    return json.dumps(issues, indent=2) + "\n"


FORMATS: dict[str, Callable[[Result, str], str]] = {
    "table": _table,
    "json": _json,
    "sarif": _sarif,
    "codequality": _codequality,
}


def render(result: Result, fmt: str, version: str) -> str:
    """Return the result in one of `FORMATS` ('table', 'json', 'sarif', 'codequality')."""
    return FORMATS[fmt](result, version)
