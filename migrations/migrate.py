"""Carry a project across one template release: the one migration every release uses.

copier.yml's `_migrations` runs this for each release that renames or removes an
answer key or a rendered file, once before and once after Copier updates the
project (Copier exports STAGE and VERSION_CURRENT; the working directory is the
project). What to do is read from releases.yml beside this folder, so a release
is migrated by listing it there, never by writing another script:

- before: renamed answer keys are renamed in .copier-answers.yml (the value the
  team chose is kept); renamed files are moved with `git mv`, so the team's
  edits follow the file and Copier merges the template's changes into them.
- after: a removed file the team edited since the last render or update is
  restored from HEAD, with a note: the team decides what to keep.

It runs under the Python that runs Copier (`{{ _copier_python }}`) and needs
only PyYAML, which Copier itself depends on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ANSWERS = Path(".copier-answers.yml")
RELEASES = Path(__file__).resolve().parents[1] / "releases.yml"


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in the project."""
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check)


def release(version: str) -> dict[str, object]:
    """Return the releases.yml entry of `version` (with or without its leading "v")."""
    wanted = version.removeprefix("v")
    for entry in yaml.safe_load(RELEASES.read_text(encoding="utf-8"))["releases"]:
        if str(entry["version"]) == wanted:
            return dict(entry)
    raise SystemExit(f"migrate.py: {RELEASES} lists no release {version}")


def rename_answers(renames: dict[str, str]) -> None:
    """Rename answer keys in place, keeping every other line of the answers file."""
    if not renames or not ANSWERS.is_file():
        return
    text = ANSWERS.read_text(encoding="utf-8")
    for old, new in renames.items():
        if re.search(rf"^{re.escape(new)}:", text, re.M):
            continue
        text = re.sub(rf"^{re.escape(old)}:", f"{new}:", text, flags=re.M)
    ANSWERS.write_text(text, encoding="utf-8")
    # Copier refuses a dirty project and reads the answers from the index's tree.
    git("add", "--", str(ANSWERS))


def move_files(renames: dict[str, str]) -> None:
    """`git mv` each renamed file the project still has, so its edits follow it."""
    for old, new in renames.items():
        if Path(old).is_file() and not Path(new).exists():
            Path(new).parent.mkdir(parents=True, exist_ok=True)
            git("mv", "--", old, new)
            print(f"migrate: moved {old} to {new}", file=sys.stderr)


def last_template_commit() -> str | None:
    """Return the commit that last recorded a render or update (it changed the answers)."""
    found = git("log", "-1", "--format=%H", "--", str(ANSWERS), check=False).stdout.strip()
    return found or None


def keep_edited(removed: list[str]) -> None:
    """Restore each removed file the team edited since the last render or update."""
    base = last_template_commit()
    for path in removed:
        if Path(path).exists() or git("cat-file", "-e", f"HEAD:{path}", check=False).returncode:
            continue
        edited = base is None or git("diff", "--quiet", base, "HEAD", "--", path, check=False)
        if base is not None and not edited.returncode:
            continue
        content = git("show", f"HEAD:{path}").stdout
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content, encoding="utf-8")
        print(
            f"migrate: kept {path}: the template no longer renders it, but you edited it; "
            "delete it once nothing in it is needed",
            file=sys.stderr,
        )


def main() -> None:
    """Run the migration stage Copier asks for."""
    entry = release(os.environ["VERSION_CURRENT"])
    stage = os.environ["STAGE"]
    if stage == "before":
        rename_answers(dict(entry.get("renamed_answers") or {}))
        move_files(dict(entry.get("renamed_files") or {}))
    elif stage == "after":
        keep_edited(list(entry.get("removed_files") or []))


if __name__ == "__main__":
    main()
