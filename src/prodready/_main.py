"""The two things prodready does: render a new project, and update one."""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import copier
import yaml
from copier.errors import DirtyLocalWarning
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import SandboxedEnvironment

from . import _git
from ._answers import check_answers, copier_errors, load_data_file
from ._fit import Fit, fit_existing
from ._plan import Action, PlannedFile, apply_plan, make_plan, raise_on_conflicts
from ._releases import parse_version
from ._source import (
    check_local,
    is_checkout,
    is_local_git_repo,
    is_remote,
    read_questions,
    release_source,
    template_source,
)
from ._update import ANSWERS_FILE, UpdateResult, run_update, set_recorded_source
from .errors import (
    DirtyRepoError,
    NotAProjectError,
    NoTerminalError,
    TemplateError,
    UpdateError,
    UserError,
)

__all__ = ["NewResult", "UpdateResult", "new_project", "update_project"]
# How many uncommitted paths a DirtyRepoError lists before "...".
_SHOWN_CHANGES = 10


@dataclass(frozen=True)
class NewResult:
    """What `new_project` did (or, with `pretend`, would do).

    Attributes:
        dst: The destination directory.
        template: The template source rendered.
        plan: Every rendered file and what happened to it.
        answers: The answers recorded in `.copier-answers.yml`.
        message: The template's after-copy message, rendered ('' if none).
        pretend: Whether nothing was written.
        notes: Things worth knowing that are not errors (one line each).
        fit: How the render was fitted to the app already in `dst` (None
            when `dst` held no app).

    """

    dst: Path
    template: str
    plan: list[PlannedFile]
    answers: dict[str, Any]
    message: str = ""
    pretend: bool = False
    notes: tuple[str, ...] = ()
    fit: Fit | None = None

    def count(self, action: Action) -> int:
        """How many files the plan gives `action`."""
        return sum(1 for item in self.plan if item.action is action)


def new_project(  # noqa: PLR0913 - mirrors the CLI's flags one to one
    dst: Path | str,
    data: Mapping[str, Any] | None = None,
    *,
    defaults: bool = False,
    data_file: Path | str | None = None,
    pretend: bool = False,
    overwrite: bool = False,
    skip_existing: bool = False,
    template: str | None = None,
    vcs_ref: str | None = None,
    interactive: bool | None = None,
    ignore_detected: bool = False,
    on_fit: Callable[[Fit], None] | None = None,
) -> NewResult:
    """Render the template into a new or existing directory.

    A destination that already holds an app is detected first: what was found
    becomes the answers not given explicitly (recorded with `existing_app`),
    a given answer that contradicts the app is refused, and the app's own files
    (entrypoints, dependency manifests, lockfiles, README.md) are kept even
    with `overwrite`.

    The render goes to a fresh staging directory named like `dst` first, so a
    bad answer, a failed render or a conflict leaves `dst` exactly as it was.
    A new `dst` is staged beside itself and moved into place with one rename;
    an existing one gets the rendered files copied in, after its conflicts
    were dealt with.

    Args:
        dst: Destination directory; its name is the default service name.
        data: Answers by question key; they win over `data_file`.
        defaults: Use the default for every question not answered.
        data_file: YAML file with a mapping of answers.
        pretend: Plan only; write nothing.
        overwrite: Replace existing files whose content differs.
        skip_existing: Keep existing files whose content differs.
        template: Template source (path or git URL); default `template_source()`.
        vcs_ref: Git tag, branch or commit of the template to render.
        interactive: Whether questions may be asked; default: stdin is a terminal.
        ignore_detected: Let given answers win over what was detected in `dst`.
        on_fit: Called with the fit to the app in `dst`, before anything is
            rendered or written (the CLI prints it).

    Returns:
        What was (or would be) written.

    Raises:
        AnswerError: An answer is unknown or not allowed, contradicts the app
            in `dst`, or `dst` holds files but no app and no language was given.
        ConflictError: Existing files differ and neither `overwrite` nor
            `skip_existing` was given.
        DirtyRepoError: `dst` is in a git work tree with uncommitted changes.
        NoTerminalError: Questions would be asked without a terminal.
        TemplateError: The template cannot be found or fetched.
        UserError: `dst` is not a directory, or contradictory options.

    """
    if overwrite and skip_existing:
        raise UserError("--overwrite and --skip-existing contradict each other; pass one")
    # Resolved like Copier's own default for service_name (`realpath | basename`).
    dst = Path(dst).expanduser().resolve()
    if dst.exists() and not dst.is_dir():
        raise UserError(f"destination {dst} exists and is not a directory")
    answers = _gather_answers(data, data_file)
    fit = fit_existing(dst, answers, ignore_detected=ignore_detected)
    if fit is not None:
        answers = _report_fit(fit, on_fit)
    src = template or template_source()
    check_local(src)
    if not is_remote(src):
        # Recorded in .copier-answers.yml: it must still resolve from elsewhere.
        src = str(Path(src).expanduser().absolute())
    if vcs_ref is None and is_checkout(src) and is_local_git_repo(Path(src)):
        # The CLI and the template of a checkout belong together: render what
        # is checked out (dirty edits included), not the latest tag.
        vcs_ref = "HEAD"
    history = Path(tempfile.mkdtemp(prefix="prodready-history-"))
    try:
        read_src, releases = release_source(src, history / "template")
        return _new_project(
            dst,
            answers,
            src=read_src,
            recorded_src=releases.source if releases and releases.source else src,
            defaults=defaults,
            pretend=pretend,
            overwrite=overwrite,
            skip_existing=skip_existing,
            vcs_ref=vcs_ref,
            interactive=interactive,
            fit=fit,
        )
    finally:
        shutil.rmtree(history, ignore_errors=True)


def _new_project(  # noqa: PLR0913
    dst: Path,
    answers: dict[str, Any],
    *,
    src: str,
    recorded_src: str,
    defaults: bool,
    pretend: bool,
    overwrite: bool,
    skip_existing: bool,
    vcs_ref: str | None,
    interactive: bool | None,
    fit: Fit | None,
) -> NewResult:
    questions = read_questions(src, vcs_ref)
    if questions is not None:
        check_answers(answers, questions)
    _require_terminal(defaults=defaults, interactive=interactive)
    if dst.exists() and not pretend:
        _refuse_dirty(dst)

    stage_root = _staging_root(dst)
    try:
        staged = stage_root / dst.name
        with (
            copier_errors(answers, src, TemplateError),
            warnings.catch_warnings(record=True) as seen,
        ):
            warnings.simplefilter("always", DirtyLocalWarning)
            worker = copier.run_copy(
                src,
                staged,
                data=answers,
                defaults=defaults,
                vcs_ref=vcs_ref,
                unsafe=True,
                quiet=True,
            )
        notes = _notes(seen, src)
        if questions is None:
            check_answers(answers, worker.template.questions_data)
        if recorded_src != src:
            set_recorded_source(staged, recorded_src)
        recorded = _read_answers(staged)
        notes += _unreleased_note(recorded, recorded_src)
        plan = make_plan(
            staged,
            dst,
            overwrite=overwrite,
            skip_existing=skip_existing,
            record=ANSWERS_FILE,
            protected=fit.is_protected if fit else None,
        )
        message = _render_message(worker.template.message_after_copy, worker.answers.combined)
        if fit is not None and recorded.get("health_addin"):
            message = _with_wiring(message, staged)
        if not pretend:
            raise_on_conflicts(plan, dst)
            _write(plan, staged, dst)
    finally:
        shutil.rmtree(stage_root, ignore_errors=True)
    return NewResult(dst, recorded_src, plan, recorded, message, pretend, notes, fit)


def update_project(  # noqa: PLR0913 - mirrors the CLI's flags one to one
    path: Path | str = ".",
    *,
    data: Mapping[str, Any] | None = None,
    defaults: bool = False,
    pretend: bool = False,
    vcs_ref: str | None = None,
    conflict: Literal["inline", "rej"] = "inline",
    interactive: bool | None = None,
) -> UpdateResult:
    """Update a rendered project to a newer template version, keeping the user's edits.

    Wraps `copier.run_update`, run in a scratch clone of the repository: the
    project is re-rendered from the version it was rendered from and from the
    new one, and the difference is merged with the team's edits. Answers
    already given are kept (renamed keys follow the release list); only new
    questions are asked (or defaulted). The result is applied to the project
    in one step, staged in its index; an error or an interrupt before that
    leaves the project as it was.

    Args:
        path: The project (holding `.copier-answers.yml`), inside a git work tree.
        data: Answers to change or to give to new questions.
        defaults: Use the default for every new question.
        pretend: Run the same update in the scratch clone and report its
            plan; the project is left untouched.
        vcs_ref: Template version to update to; default: the latest tag (else HEAD).
        conflict: Mark conflicts inline (`inline`) or in `.rej` files (`rej`).
        interactive: Whether questions may be asked; default: stdin is a terminal.

    Returns:
        What changed (or would change): files, renames, answers, conflicts,
        files kept for the team, the changelog.

    Raises:
        AnswerError: An answer is unknown or not allowed.
        DirtyRepoError: The work tree has uncommitted changes.
        NoTerminalError: Questions would be asked without a terminal.
        NotAProjectError: `path` holds no `.copier-answers.yml`.
        TemplateError: The recorded template cannot be found or fetched.
        UpdateError: Not a git work tree, or Copier refused the update.

    """
    path = Path(path).expanduser().absolute()
    if not (path / ANSWERS_FILE).is_file():
        raise NotAProjectError(
            f"{path} has no {ANSWERS_FILE}: it was not rendered by prodready "
            "(render it with 'prodready new')"
        )
    if not _git.is_work_tree(path):
        raise UpdateError(
            f"{path} is not in a git repository; updates merge through git: "
            "run 'git init && git add -A && git commit' first"
        )
    _refuse_dirty(path)
    recorded = _read_answers(path)
    src = recorded.get("_src_path")
    if not isinstance(src, str) or not src:
        raise NotAProjectError(f"{path / ANSWERS_FILE} records no template source (_src_path)")
    if not recorded.get("_commit"):
        raise UpdateError(
            f"{path} was rendered from {src}, which is not a git repository, so there is no "
            "version to update from; render with --template <git repo or URL> to allow updates"
        )
    _require_terminal(defaults=defaults, interactive=interactive)
    return run_update(
        path,
        recorded,
        answers=dict(data or {}),
        defaults=defaults,
        pretend=pretend,
        vcs_ref=vcs_ref,
        conflict=conflict,
    )


def _unreleased_note(recorded: Mapping[str, Any], src: str) -> tuple[str, ...]:
    """Warn when the recorded version is no release, so teammates may not find it."""
    commit = str(recorded.get("_commit") or "")
    if not commit or (parse_version(commit) is not None and "-g" not in commit):
        return ()
    return (
        f"rendered from template commit {commit}, which is no release: teammates can update "
        f"this project only once that commit is pushed to {src}",
    )


def _report_fit(fit: Fit, on_fit: Callable[[Fit], None] | None) -> dict[str, Any]:
    """Pass the fit on to whoever shows it; return the answers it makes."""
    if on_fit is not None:
        on_fit(fit)
    return dict(fit.answers)


def _gather_answers(data: Mapping[str, Any] | None, data_file: Path | str | None) -> dict[str, Any]:
    """Answers from the data file, overridden by explicit data."""
    answers: dict[str, Any] = {}
    if data_file is not None:
        answers.update(load_data_file(Path(data_file).expanduser()))
    answers.update(data or {})
    return answers


def _require_terminal(*, defaults: bool, interactive: bool | None) -> None:
    """Refuse to let Copier prompt where nobody can answer.

    Without a terminal Copier would stop with an EOF error half-way through
    its questions; saying so up front is kinder.
    """
    if defaults:
        return
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise NoTerminalError(
            "no terminal to ask questions on; "
            "pass --defaults, and --data/--data-file to set answers"
        )


def _refuse_dirty(path: Path) -> None:
    if not _git.is_work_tree(path):
        return
    changed = _git.changed_paths(path)
    if changed:
        shown = changed[:_SHOWN_CHANGES]
        if len(changed) > len(shown):
            shown.append(f"... and {len(changed) - len(shown)} more")
        raise DirtyRepoError(
            f"{path} has uncommitted changes; commit or stash first", details=shown
        )


def _notes(seen: list[warnings.WarningMessage], src: str) -> tuple[str, ...]:
    """Turn the warnings worth passing on into notes; re-issue the others."""
    notes: list[str] = []
    for warning in seen:
        if issubclass(warning.category, DirtyLocalWarning):
            notes.append(
                f"the template at {src} has uncommitted changes; they were rendered, but "
                "'prodready update' cannot find this draft version again: commit them first"
            )
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return tuple(notes)


def _staging_root(dst: Path) -> Path:
    """Make the directory a render is staged in.

    A new destination is staged beside itself, so one rename on the same
    filesystem moves it into place. An existing one gets files copied in, so
    its staging can live anywhere (and needs no write access to its parent).
    """
    if dst.exists():
        return Path(tempfile.mkdtemp(prefix="prodready-"))
    parent = _existing(dst.parent)
    try:
        return Path(tempfile.mkdtemp(prefix=f".prodready-{dst.name}-", dir=parent))
    except PermissionError:
        raise UserError(f"cannot create {dst}: no permission to write in {parent}") from None


def _write(plan: list[PlannedFile], staged: Path, dst: Path) -> None:
    """Move a new render into place, or copy the planned files into an existing folder."""
    try:
        if dst.exists():
            apply_plan(plan, staged, dst)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            staged.rename(dst)
    except PermissionError as error:
        raise UserError(f"cannot write {error.filename or dst}: permission denied") from None


def _existing(path: Path) -> Path:
    """Return the nearest folder at or above path that exists."""
    while not path.is_dir():
        path = path.parent
    return path


def _read_answers(project: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as error:
        raise NotAProjectError(f"{project / ANSWERS_FILE} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise NotAProjectError(f"{project / ANSWERS_FILE} is not a mapping of answers")
    return data


def _render_message(message: str, answers: Mapping[str, Any]) -> str:
    """Render the template's after-copy message with the answers ('' if it fails)."""
    if not message:
        return ""
    try:
        return SandboxedEnvironment().from_string(message).render(answers).strip()
    except JinjaTemplateError:
        return ""


def _with_wiring(message: str, staged: Path) -> str:
    """Return the message with the add-in's wiring lines under its "Wire" line.

    The lines come from the rendered docs/existing-app.md, so its macro is their one source.
    """
    try:
        doc = (staged / "docs/existing-app.md").read_text(encoding="utf-8")
    except OSError:
        return message
    block = doc.partition("## The health add-in")[2].partition("```")[2].partition("\n")[2]
    wiring = [f"  {line}" if line else "" for line in block.partition("```")[0].splitlines()]
    lines = message.splitlines()
    at = next(
        (i for i, line in enumerate(lines) if line.startswith("Wire the health add-in")), None
    )
    if at is None:
        return message
    return "\n".join([*lines[: at + 1], *wiring, *lines[at + 1 :]])


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
