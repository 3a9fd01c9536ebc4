"""Where the template comes from, and what questions it asks."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ._releases import ReleaseList, ensure_tags, load_releases, unpack_bundle
from .errors import TemplateError

__all__ = [
    "HISTORY_BUNDLE",
    "is_local_git_repo",
    "local_history",
    "read_questions",
    "release_source",
    "template_source",
]

ENV_VAR = "PRODREADY_TEMPLATE"
_CONFIG_NAMES = ("copier.yml", "copier.yaml")
# A wheel carries the template here (see pyproject.toml's force-include).
_BUNDLED = Path(__file__).resolve().parent / "_template"
# A wheel carries the template's release history here: a git bundle of every release tag.
HISTORY_BUNDLE = _BUNDLED / "history.bundle"
# When running from a checkout, the repository root holds copier.yml.
_CHECKOUT = Path(__file__).resolve().parents[2]
# Copier accepts these as remote sources; anything else is a local path.
_REMOTE = re.compile(r"^(gh:|gl:|git\+|git@|https?://|ssh://|git://|file://)")


def template_source() -> str:
    """Find the template to render when no `--template` is given.

    Returns, in order of preference: `$PRODREADY_TEMPLATE`; the repository
    checkout the package runs from; the copy of the template a wheel carries.

    Returns:
        A local path or a Copier-style URL.

    Raises:
        TemplateError: None of these exists (a broken installation).

    """
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return from_env
    for root in (_CHECKOUT, _BUNDLED):
        if _config_file(root) is not None:
            return str(root)
    raise TemplateError(
        f"no template found: set ${ENV_VAR} or pass --template "
        f"(looked in {_CHECKOUT} and {_BUNDLED})"
    )


def is_checkout(src: str) -> bool:
    """Whether src is the repository checkout this package runs from."""
    return not is_remote(src) and Path(src).resolve() == _CHECKOUT


def is_remote(src: str) -> bool:
    """Whether Copier will fetch src over git rather than read a local folder."""
    return bool(_REMOTE.match(src))


def is_local_git_repo(path: Path) -> bool:
    """Whether path is the top of a git work tree (a `.git` folder or worktree file)."""
    return (path / ".git").exists()


def check_local(src: str) -> None:
    """Fail early, in one line, when a local template source cannot be used.

    Raises:
        TemplateError: src is a local path without a copier.yml.

    """
    if is_remote(src):
        return
    root = Path(src).expanduser()
    if not root.is_dir():
        raise TemplateError(f"template not found: {src} is not a directory")
    if _config_file(root) is None:
        raise TemplateError(f"not a Copier template: {src} has no copier.yml")


def read_questions(src: str, vcs_ref: str | None) -> dict[str, Any] | None:
    """Read the questions of a local template, keyed by answer key.

    Reads copier.yml at `vcs_ref` when one is given and the source is a git
    repository, else from the working tree (which is what Copier renders
    for `HEAD` too, dirty changes included).

    Args:
        src: Template source, as passed to Copier.
        vcs_ref: Git reference to read the questions at, if any.

    Returns:
        The questions (settings, whose keys start with '_', left out), or
        None when the source is remote and cannot be read without fetching it.

    Raises:
        TemplateError: copier.yml cannot be read or parsed.

    """
    if is_remote(src):
        return None
    root = Path(src).expanduser()
    text = _read_config(root, vcs_ref)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TemplateError(f"{root}: copier.yml is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise TemplateError(f"{root}: copier.yml is not a mapping of questions")
    return {key: value for key, value in data.items() if not str(key).startswith("_")}


def _read_config(root: Path, vcs_ref: str | None) -> str:
    config = _config_file(root)
    if config is None:
        raise TemplateError(f"not a Copier template: {root} has no copier.yml")
    if vcs_ref in (None, "HEAD") or not is_local_git_repo(root):
        return config.read_text(encoding="utf-8")
    if vcs_ref.startswith("-"):
        raise TemplateError(
            f"invalid template version {vcs_ref!r}: must be a git tag, branch or commit"
        )
    result = subprocess.run(
        ["git", "-C", str(root), "show", f"{vcs_ref}:{config.name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise TemplateError(f"unknown template version {vcs_ref!r} in {root}")
    return result.stdout


def _config_file(root: Path) -> Path | None:
    for name in _CONFIG_NAMES:
        if (root / name).is_file():
            return root / name
    return None


def local_history(src: str, dest: Path) -> tuple[Path, ReleaseList] | None:
    """Find a local git repository with the release history of the template src names.

    A project records its template by the public URL of its release list
    (`source` in releases.yml); that URL is served from, in order: the
    template `$PRODREADY_TEMPLATE` names, the checkout this package runs from,
    the history a wheel carries (unpacked into dest). A local template path
    serves itself. Each gets the release tags it lacks.

    Args:
        src: The template source a project recorded (`_src_path`).
        dest: Where to unpack the wheel's history if that is the one used.

    Returns:
        The repository and its release list, or None (Copier fetches src itself).

    Raises:
        TemplateError: A release list is broken, or a tag contradicts it.

    """
    from_env = os.environ.get(ENV_VAR, "").strip()
    roots = [Path(from_env).expanduser()] if from_env and not is_remote(from_env) else []
    roots.append(_CHECKOUT)
    if not is_remote(src) and Path(src).expanduser().is_dir():
        roots.insert(0, Path(src).expanduser())
    for root in roots:
        releases = load_releases(root) if is_local_git_repo(root) else None
        if releases is not None and (src in (releases.source, str(root))):
            ensure_tags(root, releases)
            return root, releases
    bundled = load_releases(_BUNDLED) if HISTORY_BUNDLE.is_file() else None
    if bundled is not None and src == bundled.source:
        return unpack_bundle(HISTORY_BUNDLE, dest), bundled
    return None


def release_source(src: str, dest: Path) -> tuple[str, ReleaseList | None]:
    """Return the source to render src from, and its release list when it has one.

    The template a wheel carries renders from the release history it carries
    (unpacked into dest), so the project records a release; a local git
    template with a release list gets its missing tags first.

    Raises:
        TemplateError: A release list is broken, or a tag contradicts it.

    """
    if is_remote(src):
        return src, None
    root = Path(src)
    if root.resolve() == _BUNDLED and HISTORY_BUNDLE.is_file():
        return str(unpack_bundle(HISTORY_BUNDLE, dest)), load_releases(_BUNDLED)
    releases = load_releases(root) if is_local_git_repo(root) else None
    if releases is not None:
        ensure_tags(root, releases)
    return src, releases
