"""The `prodready` command: a thin layer over `new_project` and `update_project`.

Each subcommand maps its flags to keyword arguments of the library function.
`main` is the one place that turns a `UserError` into a one-line message and
exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from ._check import CHECKS, FORMATS, Severity, check_repository, render
from ._detect import KEYS, MULTI_KEYS, Detection, detect
from ._plan import Action
from .errors import UserError

if TYPE_CHECKING:
    from ._fit import Fit
    from ._main import NewResult, UpdateResult

__all__ = ["main"]

EXIT_USER_ERROR = 2
# Conflicts, kept files or dropped answers: the update (or its preview) needs the team.
EXIT_CONFLICTS = 1
EXIT_FINDINGS = 1
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; default `sys.argv[1:]`.

    Returns:
        The exit status: 0 on success, 1 when an update left conflicts,
        2 for anything the user can fix (bad input, conflicts, dirty repo).

    """
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UserError as error:
        _print_error(error, sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("\nprodready: aborted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


# Copier takes about a second to import: `new` and `update` import it when they
# run, so `check` and `--version` start fast.
def _run_new(args: argparse.Namespace) -> int:
    # Imported here: Copier is slow to import and `detect` does not need it.
    from ._answers import parse_data  # noqa: PLC0415
    from ._main import new_project  # noqa: PLC0415

    result = new_project(
        args.path,
        parse_data(args.data),
        defaults=args.defaults,
        data_file=args.data_file,
        pretend=args.pretend,
        overwrite=args.overwrite,
        skip_existing=args.skip_existing,
        template=args.template,
        vcs_ref=args.vcs_ref,
        ignore_detected=args.ignore_detected,
        on_fit=lambda fit: _report_fit(fit, sys.stdout),
    )
    _report_new(result, sys.stdout)
    return 0


def _run_update(args: argparse.Namespace) -> int:
    from ._answers import parse_data  # noqa: PLC0415 - Copier loads only when needed
    from ._main import update_project  # noqa: PLC0415

    result = update_project(
        args.path,
        data=parse_data(args.data),
        defaults=args.defaults,
        pretend=args.pretend,
        vcs_ref=args.vcs_ref,
        conflict=args.conflict,
    )
    _report_update(result, sys.stdout)
    return EXIT_CONFLICTS if result.needs_attention else 0


def _run_check(args: argparse.Namespace) -> int:
    if args.list:
        for check in CHECKS.values():
            print(f"{check.id}  {check.severity.label:<7}  {check.title}", file=sys.stdout)
        return 0
    result = check_repository(args.path, only=args.only, skip=args.skip)
    sys.stdout.write(render(result, args.format, __version__))
    return EXIT_FINDINGS if result.fails(Severity[args.fail_on.upper()]) else 0


def _run_detect(args: argparse.Namespace) -> int:
    detection = detect(args.path)
    if args.json:
        json.dump(detection.to_json(), sys.stdout, indent=2)
        print()
    else:
        _report_detection(detection, sys.stdout)
    return 0


def _report_detection(detection: Detection, out: TextIO) -> None:
    where = _shown(detection.root)
    if not detection.known:
        print(
            f"No service detected in {where}: no package.json, go.mod or Python manifest "
            "(pyproject.toml, requirements*.txt, setup.py, Pipfile, manage.py).",
            file=out,
        )
    else:
        print(f"Detected in {where}:", file=out)
    for key in KEYS:
        findings = detection.findings.get(key, ())
        shown = findings if key in MULTI_KEYS else findings[:1]
        for index, finding in enumerate(shown):
            label = key if index == 0 else ""
            print(
                f"  {label:<17} {finding.value!s:<34} {finding.where} "
                f"({finding.confidence}: {finding.how})",
                file=out,
            )


def _report_fit(fit: Fit, out: TextIO) -> None:
    """Say what was detected in the destination, before anything is written."""
    where = _shown(fit.detection.root)
    print(f"Detected an existing {fit.detection.language} app in {where}; fitting to it:", file=out)
    for answer, value in fit.detected.items():
        if answer == "existing_app":
            continue
        finding = fit.source(answer)
        shown = ", ".join(value) if isinstance(value, list) else value
        shown = "(none)" if shown in ("", []) else shown
        origin = f"  [{finding.where}, {finding.confidence}]" if finding else ""
        given = "  [your answer wins]" if fit.answers.get(answer) != value else ""
        print(f"  {answer:<16} {shown!s}{origin}{given}", file=out)
    print(
        "These are recorded in .copier-answers.yml; change one with --data KEY=VALUE. "
        "Your app's entrypoint, manifests, lockfiles and README.md are never replaced.",
        file=out,
    )


def _report_new(result: NewResult, out: TextIO) -> None:
    for note in result.notes:
        print(f"prodready: note: {note}", file=sys.stderr)
    where = _shown(result.dst)
    stack = _stack(result.answers)
    if result.pretend:
        width = max((len(action.value) for action in Action), default=0)
        for item in result.plan:
            print(f"  {item.action.value:<{width}}  {item.path}", file=out)
        print(f"Pretend: nothing written to {where}. {_counts(result)}.", file=out)
        conflicts = result.count(Action.CONFLICT)
        if conflicts:
            print(
                f"{conflicts} conflict(s): a real run stops before writing anything; "
                "pass --overwrite or --skip-existing",
                file=out,
            )
        return
    written = result.count(Action.CREATE) + result.count(Action.OVERWRITE)
    print(f"Wrote {written} file(s) to {where} ({_counts(result)}).", file=out)
    print(result.message or f"Rendered {stack}. Next: review {where}, then commit it.", file=out)


def _report_update(result: UpdateResult, out: TextIO) -> None:
    where = _shown(result.path)
    versions = f"{result.old_commit or '?'} -> {result.new_commit or '?'}"
    if result.changelog:
        print(f"Changelog ({versions}):", file=out)
        for line in result.changelog:
            print(f"  {line}", file=out)
    if not result.changed:
        print(f"{where} is up to date with the template ({versions}); nothing changed.", file=out)
        return
    verb = "Would update" if result.pretend else "Updated"
    print(f"{verb} {where} ({versions}): {len(result.changed)} path(s) changed.", file=out)
    renamed = [f"{old} -> {new}" for old, new in result.renamed]
    dropped = [f"{key}: {value!r}" for key, value in result.dropped_answers.items()]
    sections = (
        ("created", result.created, ""),
        ("modified", result.modified, ""),
        ("deleted (the template dropped them; you had not edited them)", result.deleted, ""),
        ("renamed (your edits moved along)", renamed, ""),
        ("answers", result.answers, ""),
        (
            "kept: you edited them, the new version no longer renders them",
            result.kept,
            "decide what to keep, then delete them",
        ),
        (
            "answers dropped: no longer questions, and no release renamed them",
            dropped,
            "read the changelog; pass the value again with --data NEW_KEY=VALUE",
        ),
        ("conflict(s) between your edits and the template", result.conflicts, "resolve them"),
    )
    for title, items, todo in sections:
        if items:
            count = f"{len(items)} " if title.startswith("conflict") else ""
            print(f"{count}{title}:", file=out)
            for item in items:
                print(f"  {item}", file=out)
            if todo and not result.pretend:
                print(f"  -> {todo}", file=out)
    if result.pretend:
        if result.needs_attention:
            print("A real run would exit 1: the items above need you.", file=out)
        return
    print("Next: review with 'git diff --cached' (the update is staged), then commit.", file=out)


def _counts(result: NewResult) -> str:
    labels = {
        Action.CREATE: "created",
        Action.OVERWRITE: "overwritten",
        Action.SKIP: "kept (yours)",
        Action.IDENTICAL: "already identical",
        Action.CONFLICT: "conflicting",
    }
    if result.pretend:
        labels = {
            Action.CREATE: "to create",
            Action.OVERWRITE: "to overwrite",
            Action.SKIP: "to keep (yours)",
            Action.IDENTICAL: "already identical",
            Action.CONFLICT: "conflicting",
        }
    parts = [
        f"{result.count(action)} {label}"
        for action, label in labels.items()
        if result.count(action)
    ]
    return ", ".join(parts) or "no files"


def _stack(answers: dict[str, object]) -> str:
    name = answers.get("service_name", "the service")
    language = answers.get("language", "?")
    framework = answers.get("framework")
    stack = f"{language}/{framework}" if framework else str(language)
    return f"{name} ({stack} on {answers.get('platform', '?')})"


def _shown(path: Path) -> str:
    """Path relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def _print_error(error: UserError, err: TextIO) -> None:
    colour = err.isatty() and "NO_COLOR" not in os.environ
    prefix = "\x1b[31;1mprodready: error:\x1b[0m" if colour else "prodready: error:"
    print(f"{prefix} {error}", file=err)
    for line in error.details:
        print(f"  {line}", file=err)


def _version() -> str:
    try:
        copier_version = version("copier")
    except PackageNotFoundError:
        copier_version = "unknown"
    return f"prodready {__version__} (copier {copier_version})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prodready",
        description="Render production deployment scaffolding into a new or existing service repo.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    new = commands.add_parser(
        "new",
        help="render the template into a new or existing directory",
        description=(
            "Render the template into PATH. On a terminal, questions are asked; with --defaults "
            "nothing is asked. Existing files are never replaced silently: conflicts stop the "
            "command before anything is written, unless --overwrite or --skip-existing is given."
        ),
    )
    new.add_argument(
        "path",
        metavar="PATH",
        type=Path,
        help="destination directory (its name is the default service_name)",
    )
    _answer_flags(new)
    new.add_argument(
        "--pretend", action="store_true", help="list what would be written; write nothing"
    )
    clash = new.add_mutually_exclusive_group()
    clash.add_argument(
        "--overwrite", action="store_true", help="replace existing files that differ"
    )
    clash.add_argument(
        "--skip-existing", action="store_true", help="keep existing files that differ"
    )
    new.add_argument(
        "--template",
        metavar="SRC",
        help="template path or git URL (default: the bundled template; $PRODREADY_TEMPLATE)",
    )
    new.add_argument("--vcs-ref", metavar="REF", help="git tag, branch or commit of the template")
    new.add_argument(
        "--ignore-detected",
        action="store_true",
        help="let --data answers win where they contradict the app detected in PATH",
    )
    new.set_defaults(run=_run_new)

    detect_cmd = commands.add_parser(
        "detect",
        help="show what service a repository holds (language, framework, commands, port ...)",
        description=(
            "Detect the service in PATH: language and version, framework, package manager and "
            "lockfile, build/start/test commands, port, env vars, health route, and existing "
            "Dockerfiles, CI and manifests. Each finding names the file and line it came from "
            "and how sure it is. --json prints the schema documented in the README."
        ),
    )
    detect_cmd.add_argument(
        "path",
        metavar="PATH",
        nargs="?",
        type=Path,
        default=Path(),
        help="repository directory (default: .)",
    )
    detect_cmd.add_argument(
        "--json", action="store_true", help="print JSON (stable schema, see schema_version)"
    )
    detect_cmd.set_defaults(run=_run_detect)

    update = commands.add_parser(
        "update",
        help="update a rendered project to a newer template version",
        description=(
            "Update the project at PATH from the template it was rendered from, merging the "
            "template's changes with your edits through git. The work tree must be clean. "
            "Exit status 1 means conflicts were left to resolve."
        ),
    )
    update.add_argument(
        "path",
        metavar="PATH",
        nargs="?",
        type=Path,
        default=Path(),
        help="project directory (default: .)",
    )
    _answer_flags(update, data_file=False)
    update.add_argument(
        "--pretend", action="store_true", help="update a throwaway clone and list what would change"
    )
    update.add_argument(
        "--vcs-ref",
        metavar="REF",
        help="template version to update to (default: latest tag, else HEAD)",
    )
    update.add_argument(
        "--conflict",
        choices=("inline", "rej"),
        default="inline",
        help="mark conflicts inline (default) or in .rej files",
    )
    update.set_defaults(run=_run_update)
    _check_parser(commands)
    return parser


def _check_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="audit a repository against the production-readiness checklist",
        description=(
            "Check the repository at PATH (rendered by prodready or not): image, manifests, "
            "pipeline, app code, docs and security. Exit status 0 when no finding reaches "
            "--fail-on, 1 when one does, 2 for bad input. Accepted exceptions, each with a "
            "reason, go in .prodready-check.yml."
        ),
    )
    check.add_argument(
        "path",
        metavar="PATH",
        nargs="?",
        type=Path,
        default=Path(),
        help="repository root (default: .)",
    )
    check.add_argument(
        "--format", choices=tuple(FORMATS), default="table", help="output format (default: table)"
    )
    check.add_argument(
        "--only",
        metavar="ID",
        nargs="+",
        action="extend",
        default=[],
        help="run only these check IDs",
    )
    check.add_argument(
        "--skip",
        metavar="ID",
        nargs="+",
        action="extend",
        default=[],
        help="do not run these check IDs",
    )
    check.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="lowest severity that makes the exit status 1 (default: error)",
    )
    check.add_argument("--list", action="store_true", help="list the checks and exit")
    check.set_defaults(run=_run_check)


def _answer_flags(parser: argparse.ArgumentParser, *, data_file: bool = True) -> None:
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="ask nothing; use the default for every unanswered question",
    )
    parser.add_argument(
        "--data",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="answer a question (repeatable), e.g. --data language=go",
    )
    if data_file:
        parser.add_argument(
            "--data-file",
            metavar="FILE",
            type=Path,
            help="YAML file mapping question keys to answers",
        )
