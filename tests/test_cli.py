"""The `prodready` command: entry points, non-interactive and interactive `new`, sources."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import prodready
from helpers import (
    REPO_ROOT,
    answers_file,
    assert_no_jinja_left,
    assert_one_line_error,
    cli,
    cli_process,
    questions,
    snapshot,
    template_repo,
)
from prodready._releases import load_releases


def test_version_from_module_and_console_script() -> None:
    by_module = cli_process("--version")
    assert by_module.code == 0
    assert by_module.out.startswith(f"prodready {prodready.__version__} (copier ")
    script = shutil.which("prodready")
    assert script, "the prodready console script is not installed"
    by_script = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert by_script.stdout == by_module.out


@pytest.mark.parametrize("command", [[], ["new"], ["update"]], ids=["top", "new", "update"])
def test_help_everywhere(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    from prodready.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: prodready" in capsys.readouterr().out


def test_new_with_defaults_and_data(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "orders"
    result = cli(
        capsys,
        "new",
        dst,
        "--defaults",
        "--template",
        template_src,
        "--data",
        "language=python",
        "--data",
        "framework=flask",
        "--data",
        "port=8081",
    )
    assert result.code == 0, result.err
    assert result.err == ""
    recorded = answers_file(dst)
    assert recorded["service_name"] == "orders", "the folder name is the default service name"
    assert (recorded["language"], recorded["framework"], recorded["port"]) == (
        "python",
        "flask",
        8081,
    )
    assert recorded["platform"] == questions()["platform"]["default"]
    assert_no_jinja_left(dst)
    assert "Wrote" in result.out and "created" in result.out
    assert "Next:" in result.out


def test_pretend_writes_nothing(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "svc"
    result = cli(capsys, "new", dst, "--defaults", "--pretend", "--template", template_src)
    assert result.code == 0, result.err
    planned = [line.split() for line in result.out.splitlines() if line.startswith("  ")]
    assert ["create", "Dockerfile"] in planned
    assert ["create", ".copier-answers.yml"] in planned
    assert "nothing written" in result.out
    assert list(tmp_path.iterdir()) == []


def test_no_terminal_without_defaults_is_refused(template_src: Path, tmp_path: Path) -> None:
    dst = tmp_path / "svc"
    result = cli_process("new", dst, "--template", template_src, "--data", "language=go")
    assert_one_line_error(result, "no terminal to ask questions on", "--defaults")
    assert not dst.exists()


def test_default_template_is_the_checkout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert prodready.template_source() == str(REPO_ROOT)
    dst = tmp_path / "svc"
    result = cli(capsys, "new", dst, "--defaults")
    assert result.code == 0, result.err
    recorded = answers_file(dst)
    if (REPO_ROOT / ".git").exists():
        # A checkout renders what is checked out (HEAD, plus a draft commit of
        # uncommitted edits); _commit lets `update` find that version again, and the
        # project records the public URL of releases.yml, never this checkout's path.
        assert recorded["_src_path"] == load_releases(REPO_ROOT).source
        assert recorded["_commit"]
        if "-g" in recorded["_commit"]:
            assert "which is no release" in result.err
    else:
        assert recorded["_src_path"] == str(REPO_ROOT)


def test_template_from_environment(
    capsys: pytest.CaptureFixture[str],
    template_src: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODREADY_TEMPLATE", str(template_src))
    assert prodready.template_source() == str(template_src)
    result = cli(capsys, "new", tmp_path / "svc", "--defaults")
    assert result.code == 0, result.err
    assert answers_file(tmp_path / "svc")["_src_path"] == str(template_src)


def test_plain_copier_copy_still_works(template_src: Path, tmp_path: Path) -> None:
    dst = tmp_path / "svc"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            str(template_src),
            str(dst),
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    assert_no_jinja_left(dst)
    assert answers_file(dst)["service_name"] == "svc"


def test_cli_and_copier_render_the_same_files(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    import copier

    copier.run_copy(
        str(template_src), tmp_path / "a" / "svc", defaults=True, unsafe=True, quiet=True
    )
    assert (
        cli(capsys, "new", tmp_path / "b" / "svc", "--defaults", "--template", template_src).code
        == 0
    )
    assert snapshot(tmp_path / "a" / "svc") == snapshot(tmp_path / "b" / "svc")


def test_interactive_session_through_a_pty(template_src: Path, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    # Keys to press per question; every other question gets Enter (its default).
    down = "\x1b[B"
    keys = {
        "service_name": "\x15shop-api\r",  # Ctrl-U clears the pre-filled folder name
        "language": down * 2 + "\r",  # node -> go -> python
        "framework": down + "\r",  # fastapi (pre-selected for python) -> django
        "database": down + "\r",  # none -> postgres
    }
    order = list(questions())
    prompts = [re.escape(questions()[key]["help"]) for key in order]
    dst = tmp_path / "svc"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "prodready", "new", str(dst), "--template", str(template_src)],
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 250),
        # pexpect does not answer prompt_toolkit's cursor-position queries.
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"},
    )
    asked: list[str] = []
    try:
        start = 0
        while True:
            # Look only for questions after the last one answered: questionary
            # echoes each answered question once more.
            index = child.expect([*prompts[start:], r"Wrote \d+ file"])
            if index == len(prompts) - start:
                break
            key = order[start + index]
            asked.append(key)
            child.send(keys.get(key, "\r"))
            start += index + 1
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert set(keys) <= set(asked)
    assert "k8s_rollouts" not in asked, "questions whose `when` is false are not asked"
    recorded = answers_file(dst)
    assert recorded["service_name"] == "shop-api"
    assert (recorded["language"], recorded["framework"]) == ("python", "django")
    assert recorded["database"] == "postgres"
    assert recorded["port"] == 8000, "defaults derived from earlier answers are pre-selected"
    assert recorded["platform"] == "kubernetes"


def test_dirty_template_checkout_is_noted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = template_repo(tmp_path / "template")
    (repo / "template" / "EXTRA.md").write_text("uncommitted\n")
    dst = tmp_path / "svc"
    result = cli(capsys, "new", dst, "--defaults", "--template", repo, "--vcs-ref", "HEAD")
    assert result.code == 0, result.err
    assert (dst / "EXTRA.md").is_file()
    # One note for the dirty tree, one for the unreleased commit it records.
    assert all(line.startswith("prodready: note: ") for line in result.err_lines)
    assert sum("uncommitted changes" in line for line in result.err_lines) == 1


def test_relative_template_path_is_recorded_absolute(
    capsys: pytest.CaptureFixture[str],
    template_src: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(template_src.parent)
    dst = tmp_path / "svc"
    assert cli(capsys, "new", dst, "--defaults", "--template", template_src.name).code == 0
    assert answers_file(dst)["_src_path"] == str(template_src)
