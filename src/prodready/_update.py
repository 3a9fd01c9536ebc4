"""`update_project`: carry a project to a newer template release without losing the team's work.

The update runs in a scratch clone of the project's repository, never in the
project: Copier's update, its migrations and prodready's guard all happen
there, so a bad answer, a failed migration, a crash or an interrupt leaves the
project exactly as it was. What the clone ends up with is the plan; a real run
applies it with one `git read-tree` (signals held off while it runs), a
pretend run only reports it. Both share every step up to that point.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import copier
import yaml

from . import _git
from ._answers import check_answers, copier_errors
from ._compile_cache import shared_compilation
from ._guard import DeletionWatch, repair
from ._readme import README, refresh_block
from ._releases import ReleaseList, parse_releases
from ._source import is_remote, local_history, read_questions
from .errors import NotAProjectError, TemplateError, UpdateError

__all__ = ["ANSWERS_FILE", "UpdateResult", "run_update", "set_recorded_source"]

ANSWERS_FILE = ".copier-answers.yml"
# Lines Copier (inline mode) and `git merge-file` put around a conflict.
_MARKERS = (b"<<<<<<< ", b">>>>>>> ")
# Where the scratch clone keeps the finished update for the project to fetch.
_UPDATE_REF = "refs/prodready/update"
_IDENTITY = ("-c", "user.name=prodready", "-c", "user.email=prodready@localhost")


@dataclass(frozen=True)
class UpdateResult:
    """What `update_project` changed (or, with `pretend`, would change).

    Attributes:
        path: The project directory.
        old_commit: Template version the project was rendered from.
        new_commit: Template version it is rendered from now.
        created: New files (tracked: staged in the project's index).
        modified: Files whose content changed.
        deleted: Files the new version no longer renders (and the team never edited).
        renamed: Files moved to a new path (old, new); the team's edits moved along.
        answers: Answer changes, one line each (`key: old -> new`, renames, new questions).
        dropped_answers: Recorded answers whose question no longer exists and
            that no release renamed: key to the value the team had chosen.
        kept: Team-edited files the new version no longer renders, kept as they were.
        conflicts: Paths where the template's change and the team's edit
            collide (marked inline, or left beside a `.rej` file).
        changelog: The changelog of every release between the two versions.
        pretend: Whether the project was left untouched.

    """

    path: Path
    old_commit: str | None
    new_commit: str | None
    created: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    dropped_answers: dict[str, Any] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    changelog: list[str] = field(default_factory=list)
    pretend: bool = False

    @property
    def changed(self) -> list[str]:
        """Every path the update touches, in path order."""
        paths = {*self.created, *self.modified, *self.deleted, *self.kept}
        paths.update(path for pair in self.renamed for path in pair)
        return sorted(paths)

    @property
    def needs_attention(self) -> bool:
        """Whether the team must act before committing (the update exits 1)."""
        return bool(self.conflicts or self.kept or self.dropped_answers)


@dataclass(frozen=True)
class _Source:
    """Where the template is read from, and what the project records."""

    read: str
    recorded: str
    releases: ReleaseList | None


def run_update(  # noqa: PLR0913 - the library function's keywords, passed through
    path: Path,
    recorded: Mapping[str, Any],
    *,
    answers: dict[str, Any],
    defaults: bool,
    pretend: bool,
    vcs_ref: str | None,
    conflict: Literal["inline", "rej"],
) -> UpdateResult:
    """Update the project at path in a scratch clone; apply the result unless `pretend`.

    Raises:
        AnswerError: An answer is unknown or not allowed.
        TemplateError: The recorded template cannot be found or fetched.
        UpdateError: Copier or a migration failed; the project is untouched.

    """
    with contextlib.ExitStack() as stack, _interrupts_unwind():
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prodready-update-")))
        source = _source(str(recorded["_src_path"]), scratch)
        if not is_remote(source.read):
            if not Path(source.read).is_dir():
                raise TemplateError(
                    f"template recorded in {ANSWERS_FILE} not found: {source.recorded}"
                )
            questions = read_questions(source.read, vcs_ref)
            if questions is not None:
                check_answers(answers, questions)
        top = _git.top_level(path)
        subdir = path.resolve().relative_to(top.resolve())
        base = _git.head(top)
        clone = _clone(top, scratch / "work")
        work = clone / subdir
        if source.read != source.recorded:
            set_recorded_source(work, source.read)
            _run(work, "add", "--", ANSWERS_FILE)
            _run(work, *_IDENTITY, "commit", "-q", "--no-verify", "-m", "prodready: local template")
        old = _text(recorded.get("_commit"))
        releases: ReleaseList | None = source.releases
        target = vcs_ref or (releases.latest.tag if releases and releases.latest else None)
        renamed_keys = releases.renamed_answers(old, target) if releases else {}
        for old_key, new_key in renamed_keys.items():
            # Carried across whether or not Copier reloads the migrated answers file.
            if old_key in recorded and new_key not in answers:
                answers[new_key] = recorded[old_key]
        renames = _renamed_files(releases, old, target)
        watch = DeletionWatch(wanted={*renames.values(), README})
        with (
            copier_errors(answers, source.recorded, UpdateError),
            watch.watching(subdir),
            shared_compilation(),
        ):
            copier.run_update(
                work,
                data=answers,
                defaults=defaults,
                vcs_ref=vcs_ref,
                conflict=conflict,
                overwrite=True,
                skip_answered=True,
                unsafe=True,
                quiet=True,
            )
        set_recorded_source(work, source.recorded)
        unmerged = _git.conflicted_paths(work)
        repairs = repair(work, base, watch, renames)
        _refresh_readme(work, watch.renders.get(README))
        # A renamed file was merged again, three-way: Copier's verdict on it no longer holds.
        unmerged = [name for name in unmerged if name not in dict(repairs.merged).values()]
        new_answers = _read_answers(work)
        new = _text(new_answers.get("_commit"))
        _stage_all(work)
        result = _result(
            path=path,
            work=work,
            base=base,
            recorded=recorded,
            new_answers=new_answers,
            renamed_keys=renamed_keys,
            releases=_releases_at(source.read, new) or source.releases,
            conflicts=[*unmerged, *repairs.conflicts],
            kept=repairs.kept,
            pretend=pretend,
        )
        if not pretend:
            _apply(top, clone, subdir, base, result.conflicts)
        return result


def _refresh_readme(work: Path, rendered: bytes | None) -> None:
    """Bring the template-managed block of the team's README.md up to the new release."""
    readme = work / README
    if rendered is None or not readme.is_file():
        return
    current = readme.read_text(encoding="utf-8")
    refreshed = refresh_block(current, rendered.decode("utf-8"))
    if refreshed is not None and refreshed != current:
        readme.write_text(refreshed, encoding="utf-8")


def _source(recorded: str, scratch: Path) -> _Source:
    """Map the recorded template source to one readable here (offline when possible)."""
    history = local_history(recorded, scratch / "history")
    if history is not None:
        return _Source(read=str(history[0]), recorded=recorded, releases=history[1])
    releases = _releases_at(recorded, "HEAD") if not is_remote(recorded) else None
    return _Source(read=recorded, recorded=recorded, releases=releases)


def _releases_at(src: str, ref: str | None) -> ReleaseList | None:
    """Read the release list of a local template repository at ref (None if it has none)."""
    if is_remote(src) or not ref:
        return None
    result = subprocess.run(
        ["git", "-C", src, "show", f"{ref}:releases.yml"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    return parse_releases(result.stdout, f"{src}@{ref}:releases.yml")


def _renamed_files(
    releases: ReleaseList | None, old: str | None, new: str | None
) -> dict[str, str]:
    renames: dict[str, str] = {}
    for release in releases.between(old, new) if releases else []:
        for first, current in list(renames.items()):
            renames[first] = release.renamed_files.get(current, current)
        for key, target in release.renamed_files.items():
            renames.setdefault(key, target)
    return renames


def _result(  # noqa: PLR0913
    *,
    path: Path,
    work: Path,
    base: str,
    recorded: Mapping[str, Any],
    new_answers: Mapping[str, Any],
    renamed_keys: dict[str, str],
    releases: ReleaseList | None,
    conflicts: list[str],
    kept: list[str],
    pretend: bool,
) -> UpdateResult:
    """Read the plan off the scratch clone, whose index holds the whole update."""
    created: list[str] = []
    modified: list[str] = []
    deleted: list[str] = []
    renamed: list[tuple[str, str]] = []
    for status, *paths in _git.staged_changes(work, base):
        if status.startswith("R"):
            renamed.append((paths[0], paths[1]))
        elif status == "A":
            created.append(paths[0])
        elif status == "D":
            deleted.append(paths[0])
        else:
            modified.append(paths[0])
    targets = [new for _old, new in renamed]
    conflicts = sorted(
        {
            *conflicts,
            *(name.removesuffix(".rej") for name in created if name.endswith(".rej")),
            *(name for name in [*created, *modified, *targets] if _has_markers(work / name)),
        }
    )
    old, new = _text(recorded.get("_commit")), _text(new_answers.get("_commit"))
    removed = releases.removed_answers(old, new) if releases else set()
    changes, dropped = _answer_changes(recorded, new_answers, renamed_keys, removed)
    changelog = [
        line
        for release in (releases.between(old, new) if releases else [])
        for line in release.changelog()
    ]
    return UpdateResult(
        path=path,
        old_commit=old,
        new_commit=new,
        created=[name for name in created if name not in kept],
        modified=modified,
        deleted=deleted,
        renamed=renamed,
        answers=changes,
        dropped_answers=dropped,
        kept=kept,
        conflicts=conflicts,
        changelog=changelog,
        pretend=pretend,
    )


def _answer_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    renamed: dict[str, str],
    removed: set[str],
) -> tuple[list[str], dict[str, Any]]:
    """Lines describing each answer change, and the answers dropped without a release saying so."""
    lines: list[str] = []
    dropped: dict[str, Any] = {}
    for key in sorted(k for k in {*before, *after} if not k.startswith("_")):
        if key in renamed and key in before:
            lines.append(f"{key} renamed to {renamed[key]} (value {before[key]!r} carried across)")
        elif key in before and key not in after:
            if key in removed:
                lines.append(f"{key} removed (was {before[key]!r})")
            else:
                dropped[key] = before[key]
        elif key not in before and key not in renamed.values():
            lines.append(f"{key} added: {after[key]!r}")
        elif key in before and before[key] != after[key]:
            lines.append(f"{key}: {before[key]!r} -> {after[key]!r}")
    return lines, dropped


def _apply(top: Path, clone: Path, subdir: Path, base: str, conflicts: list[str]) -> None:
    """Move the scratch clone's update into the project in one `git read-tree`.

    SIGINT and SIGTERM wait until it is done; should git fail half-way, the
    project is reset to where it was.
    """
    commit = _commit_tree(clone)
    _run(clone, "update-ref", _UPDATE_REF, commit)
    _run(top, "fetch", "-q", "--no-tags", str(clone.resolve()), _UPDATE_REF)
    with _signals_held():
        try:
            _run(top, "read-tree", "-m", "-u", base, commit)
            _mark_unmerged(top, subdir, base, conflicts)
        except BaseException:
            _run(top, "reset", "-q", "--hard", base, check=False)
            _run(top, "clean", "-q", "-f", "--", *_new_paths(top, base, commit), check=False)
            raise


def _commit_tree(clone: Path) -> str:
    tree = _run(clone, "write-tree").stdout.strip()
    return _run(clone, *_IDENTITY, "commit-tree", tree, "-m", "prodready update").stdout.strip()


def _new_paths(top: Path, base: str, commit: str) -> list[str]:
    result = _run(top, "diff", "--name-only", "--diff-filter=A", base, commit, check=False)
    return [line for line in result.stdout.splitlines() if line] or ["--"]


def _mark_unmerged(top: Path, subdir: Path, base: str, conflicts: list[str]) -> None:
    """Record conflicted files as unmerged, so `git commit` waits for their resolution."""
    lines: list[str] = []
    for name in conflicts:
        rel = (subdir / name).as_posix()
        staged = _run(top, "ls-files", "-s", "--", rel).stdout.split()
        if len(staged) < 2:
            continue  # a .rej conflict: the file was not merged, nothing to mark
        mode, theirs = staged[0], staged[1]
        lines.append(f"0 {'0' * 40}\t{rel}")
        ours = _run(top, "rev-parse", "-q", "--verify", f"{base}:{rel}", check=False).stdout.strip()
        if ours:
            lines.append(f"{mode} {ours} 2\t{rel}")
        lines.append(f"{mode} {theirs} 3\t{rel}")
    if lines:
        subprocess.run(
            ["git", "-C", str(top), "update-index", "--index-info"],
            input="\n".join(lines) + "\n",
            text=True,
            check=True,
            capture_output=True,
        )


def _stage_all(work: Path) -> None:
    """Stage the whole update, ignored files it created included (a hidden `.rej`)."""
    _run(work, "add", "-A", "--", ".")
    ignored = _run(work, "ls-files", "--others", "--ignored", "--exclude-standard", "--", ".")
    names = [line for line in ignored.stdout.splitlines() if line]
    if names:
        _run(work, "add", "-f", "--", *names)


def _clone(top: Path, dest: Path) -> Path:
    result = subprocess.run(
        ["git", "clone", "--quiet", "--no-checkout", "--", str(top), str(dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise UpdateError(f"cannot clone {top} to update it: {result.stderr.strip()}")
    _run(dest, "checkout", "-q", _git.head(top))
    return dest


def set_recorded_source(project: Path, src: str) -> None:
    """Point a project's answers file at src, keeping every other line as Copier wrote it.

    An update points it at a local copy of the template while Copier runs,
    then back; a render from a release list records its public URL.
    """
    answers = project / ANSWERS_FILE
    lines = answers.read_text(encoding="utf-8").splitlines(keepends=True)
    quoted = yaml.safe_dump(src, default_style=None).removesuffix("\n...\n").strip()
    answers.write_text(
        "".join(
            f"_src_path: {quoted}\n" if line.startswith("_src_path:") else line for line in lines
        ),
        encoding="utf-8",
    )


def _has_markers(path: Path) -> bool:
    try:
        lines = path.read_bytes().splitlines()
    except (IsADirectoryError, FileNotFoundError):
        return False
    return any(line.startswith(_MARKERS[0]) for line in lines) and any(
        line.startswith(_MARKERS[1]) for line in lines
    )


def _read_answers(project: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, yaml.YAMLError):
        raise NotAProjectError(f"the update left no readable {ANSWERS_FILE}") from None
    return data if isinstance(data, dict) else {}


def _run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise UpdateError(f"git {args[0]} failed in {cwd}: {result.stderr.strip()}")
    return result


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@contextlib.contextmanager
def _interrupts_unwind() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so scratch clones are removed on the way out."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM off while the project is written, then let the update finish."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        if received:
            print(
                "prodready: interrupted while writing the update; it was completed first",
                file=sys.stderr,
            )
