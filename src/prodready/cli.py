"""The `prodready` command: a thin layer over `new_project` and `update_project`.

Each subcommand maps its flags to keyword arguments of the library function.
`main` is the one place that turns a `UserError` into a one-line message and
exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TextIO

from . import __version__
from ._answers import parse_data
from ._main import NewResult, UpdateResult, new_project, update_project
from ._plan import Action
from .errors import UserError

__all__ = ["main"]

EXIT_USER_ERROR = 2
# Conflicts, kept files or dropped answers: the update (or its preview) needs the team.
EXIT_CONFLICTS = 1
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


def _run_new(args: argparse.Namespace) -> int:
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
    )
    _report_new(result, sys.stdout)
    return 0


def _run_update(args: argparse.Namespace) -> int:
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
    new.set_defaults(run=_run_new)

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
    return parser


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
