"""A throwaway release history of this template: v0.1.0, v0.2.0 and v0.3.0.

Built from this repository's template (copier.yml, template/, includes/,
migrations/), the way a maintainer cuts releases (README: "Releasing the
template"): each release commit carries its releases.yml entry, then
`record_release` writes its commit and tags it.

- v0.2.0 changes content (.dockerignore, docs/deployment.md), renames
  docs/runbooks/rollback.md to docs/runbooks/rolling-back.md (and edits its
  title), removes docs/production-readiness.md, and renames the answer key
  k8s_namespace to kube_namespace, with the migration copier.yml points at.
- v0.3.0 changes content again and adds docs/upgrading.md.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from helpers import REPO_ROOT, copy_template, git, git_commit_all
from prodready._releases import record_release

MIGRATION = (
    "  - version: v{version}\n"
    '    command: ["{{{{ _copier_python }}}}", '
    '"{{{{ _copier_conf.src_path }}}}/migrations/migrate.py"]\n'
    "    when: \"{{{{ _stage in ['before', 'after'] }}}}\"\n"
)
V2_DOCKERIGNORE = "# v0.2.0: build context kept small\n"
V2_DEPLOYMENT = "Release v0.2.0 added this paragraph.\n\n"
V3_DOCKERIGNORE = "# v0.3.0: second header line\n"
V3_UPGRADING = "# Upgrading\n\nAdded in v0.3.0.\n"
RENAMED = ("docs/runbooks/rollback.md", "docs/runbooks/rolling-back.md")
REMOVED = "docs/production-readiness.md"
RENAMED_KEY = ("k8s_namespace", "kube_namespace")


def releases_header(source: str) -> str:
    return f"source: {source}\n\nreleases:\n"


def build_history(repo: Path, source: str, *, extra_migration: str = "") -> Path:
    """Build the three-release history in repo; its projects record `source` as their template.

    Args:
        repo: Where the template repository goes (created).
        source: The public URL releases.yml names.
        extra_migration: More `_migrations` entries for v0.2.0 (a test's slow step).

    """
    copy_template(repo)
    shutil.copytree(REPO_ROOT / "migrations", repo / "migrations")
    git(repo, "init", "-q", "-b", "main")
    releases = repo / "releases.yml"
    releases.write_text(
        releases_header(source)
        + "  - version: 0.1.0\n    changes:\n      - First release of the test history.\n"
    )
    git_commit_all(repo, "template 0.1.0")
    record_release(repo, "0.1.0")

    _prepend(repo / "template/.dockerignore.jinja", V2_DOCKERIGNORE)
    _prepend(repo / "template/docs/deployment.md.jinja", V2_DEPLOYMENT)
    old, new = (repo / "template" / f"{name}.jinja" for name in RENAMED)
    git(repo, "mv", str(old), str(new))
    new.write_text(new.read_text().replace("# ", "# Rolling back: ", 1))
    git(repo, "rm", "-q", f"template/{REMOVED}.jinja")
    rename_key(repo, *RENAMED_KEY)
    _set_migrations(repo, MIGRATION.format(version="0.2.0") + extra_migration)
    with releases.open("a") as handle:
        handle.write(
            "  - version: 0.2.0\n"
            "    changes:\n"
            "      - A smaller build context.\n"
            "    renamed_answers:\n"
            f"      {RENAMED_KEY[0]}: {RENAMED_KEY[1]}\n"
            "    renamed_files:\n"
            f"      {RENAMED[0]}: {RENAMED[1]}\n"
            "    removed_files:\n"
            f"      - {REMOVED}\n"
            "    actions:\n"
            "      - Move your readiness notes into docs/deployment.md.\n"
        )
    git_commit_all(repo, "template 0.2.0")
    record_release(repo, "0.2.0")

    _prepend(repo / "template/.dockerignore.jinja", V3_DOCKERIGNORE)
    (repo / "template/docs/upgrading.md").write_text(V3_UPGRADING)
    with releases.open("a") as handle:
        handle.write("  - version: 0.3.0\n    changes:\n      - An upgrading guide.\n")
    git_commit_all(repo, "template 0.3.0")
    record_release(repo, "0.3.0")
    return repo


def _prepend(path: Path, text: str) -> None:
    path.write_text(text + path.read_text())


def rename_key(repo: Path, old: str, new: str) -> None:
    word = re.compile(rf"\b{old}\b")
    for path in [
        repo / "copier.yml",
        *(repo / "template").rglob("*"),
        *(repo / "includes").rglob("*"),
    ]:
        if path.is_file():
            text = path.read_text()
            if word.search(text):
                path.write_text(word.sub(new, text))


def _set_migrations(repo: Path, entries: str) -> None:
    config = repo / "copier.yml"
    config.write_text(config.read_text().replace("_migrations: []\n", f"_migrations:\n{entries}"))
