"""The template's releases: the tracked release list, its git tags and its changelog.

`releases.yml` (beside copier.yml) maps each PEP 440 version to a commit and says
what changed. Copier finds versions through `v<version>` tags; tags do not
travel with every clone, so `ensure_tags` creates the missing ones from the list.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from .errors import TemplateError

__all__ = [
    "RELEASES_FILE",
    "Release",
    "ReleaseList",
    "build_bundle",
    "ensure_tags",
    "load_releases",
    "parse_releases",
    "parse_version",
    "record_release",
    "unpack_bundle",
]

RELEASES_FILE = "releases.yml"


@dataclass(frozen=True)
class Release:
    """One release of the template.

    Attributes:
        version: Its PEP 440 version.
        commit: The full commit id its tag points at; None while the release
            commit itself is being written (see `record_release`).
        changes: What changed, one line each.
        renamed_answers: Old answer key to new key.
        removed_answers: Answer keys that are gone.
        renamed_files: Old rendered path to new path.
        removed_files: Rendered paths the release drops.
        actions: What a team must do by hand after updating.

    """

    version: Version
    commit: str | None
    changes: tuple[str, ...] = ()
    renamed_answers: dict[str, str] = field(default_factory=dict)
    removed_answers: tuple[str, ...] = ()
    renamed_files: dict[str, str] = field(default_factory=dict)
    removed_files: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """Return the git tag Copier looks for."""
        return f"v{self.version}"

    def changelog(self) -> list[str]:
        """Return the release's entry as lines a team reads before updating."""
        lines = [f"{self.tag}:"]
        lines += [f"  - {change}" for change in self.changes]
        lines += [f"  - answer '{old}' is now '{new}'" for old, new in self.renamed_answers.items()]
        lines += [f"  - answer '{key}' is gone" for key in self.removed_answers]
        lines += [f"  - {old} moved to {new}" for old, new in self.renamed_files.items()]
        lines += [f"  - {path} is no longer rendered" for path in self.removed_files]
        lines += [f"  - TO DO: {action}" for action in self.actions]
        return lines


@dataclass(frozen=True)
class ReleaseList:
    """Every release, oldest first, and where projects record the template as coming from.

    Attributes:
        source: The public URL of the template repository.
        releases: The releases, oldest first.

    """

    source: str
    releases: tuple[Release, ...]

    def between(self, old: str | None, new: str | None) -> list[Release]:
        """List the releases after version `old` up to and including `new`, oldest first."""
        low, high = parse_version(old), parse_version(new)
        return [
            release
            for release in self.releases
            if (low is None or release.version > low) and (high is None or release.version <= high)
        ]

    def renamed_answers(self, old: str | None, new: str | None) -> dict[str, str]:
        """Map each old answer key to its key at version `new`, following chains of renames."""
        renames: dict[str, str] = {}
        for release in self.between(old, new):
            for first, current in list(renames.items()):
                renames[first] = release.renamed_answers.get(current, current)
            for key, target in release.renamed_answers.items():
                renames.setdefault(key, target)
        return renames

    def removed_answers(self, old: str | None, new: str | None) -> set[str]:
        """Return the answer keys some release between `old` and `new` removes on purpose."""
        return {key for release in self.between(old, new) for key in release.removed_answers}

    @property
    def latest(self) -> Release | None:
        """Return the newest release, if any."""
        return self.releases[-1] if self.releases else None

    def find(self, commit: str) -> Release | None:
        """Return the release whose commit is `commit` (a full id), if any."""
        return next((release for release in self.releases if release.commit == commit), None)


def parse_version(ref: str | None) -> Version | None:
    """Return the PEP 440 version of a tag like `v0.2.0` or `v0.2.0-3-gabc1234` (or None)."""
    if not ref:
        return None
    try:
        return Version(ref.split("-", 1)[0] if "-g" in ref else ref)
    except InvalidVersion:
        return None


def load_releases(root: Path) -> ReleaseList | None:
    """Read `releases.yml` from a template root (None when it has none).

    Raises:
        TemplateError: The file is not a valid release list.

    """
    path = root / RELEASES_FILE
    if not path.is_file():
        return None
    return parse_releases(path.read_text(encoding="utf-8"), str(path))


def parse_releases(text: str, where: str = RELEASES_FILE) -> ReleaseList:
    """Parse the text of a release list.

    Raises:
        TemplateError: It is not YAML, or an entry lacks a version or commit,
            or versions are not strictly increasing.

    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TemplateError(f"{where} is not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
        raise TemplateError(f"{where} must map 'source' and a 'releases' list")
    releases = tuple(_release(entry, where) for entry in data["releases"])
    versions = [release.version for release in releases]
    if versions != sorted(set(versions)):
        raise TemplateError(f"{where}: versions must be unique and listed oldest first")
    return ReleaseList(source=str(data.get("source") or ""), releases=releases)


def _release(entry: Any, where: str) -> Release:
    if not isinstance(entry, dict) or "version" not in entry:
        raise TemplateError(f"{where}: every release needs a 'version'")
    version = parse_version(str(entry["version"]))
    if version is None:
        raise TemplateError(f"{where}: {entry['version']!r} is not a PEP 440 version")

    def strings(key: str) -> tuple[str, ...]:
        return tuple(str(item) for item in entry.get(key) or ())

    def pairs(key: str) -> dict[str, str]:
        return {str(old): str(new) for old, new in (entry.get(key) or {}).items()}

    return Release(
        version=version,
        commit=str(entry["commit"]) if entry.get("commit") else None,
        changes=strings("changes"),
        renamed_answers=pairs("renamed_answers"),
        removed_answers=strings("removed_answers"),
        renamed_files=pairs("renamed_files"),
        removed_files=strings("removed_files"),
        actions=strings("actions"),
    )


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


def ensure_tags(repo: Path, releases: ReleaseList) -> list[str]:
    """Create the release tags a git repository lacks (lightweight tags, nothing pushed).

    Releases whose commit the repository does not hold are left out: a clone
    older than the release cannot tag it.

    Returns:
        The tags created.

    Raises:
        TemplateError: An existing tag points at another commit than the list says.

    """
    existing = _git(repo, "tag", "--list", "v*", "--format=%(refname:short) %(objectname)")
    tags = dict(line.split(" ", 1) for line in existing.stdout.splitlines() if " " in line)
    created: list[str] = []
    for release in releases.releases:
        if release.commit is None:
            continue
        if release.tag in tags:
            target = _git(repo, "rev-parse", f"{release.tag}^{{commit}}").stdout.strip()
            if target != release.commit:
                raise TemplateError(
                    f"tag {release.tag} in {repo} points at {target[:12]}, but "
                    f"{RELEASES_FILE} says {release.commit[:12]}: fix one of them"
                )
            continue
        if _git(repo, "tag", release.tag, release.commit).returncode == 0:
            created.append(release.tag)
    return created


def build_bundle(repo: Path, releases: ReleaseList, out: Path) -> Path:
    """Write a git bundle holding every release tag of repo (and the history behind them).

    Raises:
        TemplateError: The repository lacks a release commit, so the bundle
            would be incomplete.

    """
    ensure_tags(repo, releases)
    missing = [release.tag for release in releases.releases if not _has_tag(repo, release.tag)]
    if missing or not releases.releases:
        what = ", ".join(missing) or "releases"
        raise TemplateError(f"cannot bundle the release history of {repo}: missing {what}")
    refs = [f"refs/tags/{release.tag}" for release in releases.releases]
    result = _git(repo, "bundle", "create", str(out), *refs)
    if result.returncode != 0:
        raise TemplateError(f"git bundle failed in {repo}: {result.stderr.strip()}")
    return out


def unpack_bundle(bundle: Path, dest: Path) -> Path:
    """Turn a release bundle into a git repository with its tags, `main` at the newest.

    Raises:
        TemplateError: The bundle cannot be read.

    """
    steps = (
        ("init", "-q", "-b", "main", str(dest)),
        ("-C", str(dest), "fetch", "-q", str(bundle), "refs/tags/*:refs/tags/*"),
    )
    for step in steps:
        result = subprocess.run(["git", *step], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise TemplateError(f"cannot read the bundled template history: {result.stderr}")
    tags = _git(dest, "tag", "--list", "v*").stdout.split()
    newest = max(tags, key=lambda tag: parse_version(tag) or Version("0"))
    _git(dest, "update-ref", "refs/heads/main", f"{newest}^{{commit}}")
    _git(dest, "reset", "-q", "--hard", "main")
    return dest


def record_release(repo: Path, version: str) -> str:
    """Fill in the commit of a release whose entry the last commit added; tag it.

    A release commit holds its own releases.yml entry (so migrations can read
    it) but cannot hold its own id: this writes that id into the entry and
    commits the result, then tags the release commit.

    Returns:
        The release commit's id.

    Raises:
        TemplateError: releases.yml lists no such version, or already has its commit.

    """
    path = repo / RELEASES_FILE
    text = path.read_text(encoding="utf-8")
    wanted = parse_version(version)
    releases = parse_releases(text, str(path))
    release = next((item for item in releases.releases if item.version == wanted), None)
    if release is None or release.commit is not None:
        raise TemplateError(f"{path} has no release {version} waiting for its commit")
    commit = _git(repo, "rev-parse", "HEAD").stdout.strip()
    entry = re.compile(rf"^(\s*- version: ['\"]?{re.escape(str(wanted))}['\"]?\n)", re.M)
    updated, count = entry.subn(rf"\g<1>    commit: {commit}\n", text)
    if count != 1:
        raise TemplateError(f"{path}: write the entry as '  - version: {wanted}' on its own line")
    path.write_text(updated, encoding="utf-8")
    for step in (
        ("add", RELEASES_FILE),
        ("commit", "-q", "-m", f"Release {wanted}: record its commit in {RELEASES_FILE}"),
        ("tag", release.tag, commit),
    ):
        result = _git(repo, *step)
        if result.returncode != 0:
            raise TemplateError(f"git {step[0]} failed in {repo}: {result.stderr.strip()}")
    return commit


def _has_tag(repo: Path, tag: str) -> bool:
    return _git(repo, "rev-parse", "-q", "--verify", f"refs/tags/{tag}").returncode == 0
