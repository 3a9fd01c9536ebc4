"""Bad input: exit 2, one line naming key, value and what is allowed, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import (
    answers_file,
    assert_one_line_error,
    choices,
    cli,
    frameworks,
    snapshot,
    stacks,
    template_repo,
)

DNS_LABEL = "must be a DNS-1123 label"


def misfits() -> list[tuple[str, str]]:
    """(language, framework) pairs copier.yml does not offer, for every language."""
    offered = set(stacks())
    every = {fw for lang in choices("language") for fw in frameworks(lang)}
    return [
        (lang, fw)
        for lang in choices("language")
        for fw in sorted(every)
        if (lang, fw) not in offered
    ]


BAD_ANSWERS = [
    pytest.param(
        ["service_name=Bad_Name"], ("service_name=Bad_Name", DNS_LABEL), id="service_name-case"
    ),
    pytest.param(["service_name=1abc"], ("service_name=1abc", DNS_LABEL), id="service_name-digit"),
    pytest.param(
        ["service_name=" + "a" * 64], ("service_name=", "at most 63"), id="service_name-long"
    ),
    pytest.param(
        ["language=ruby"],
        ("language=ruby", "must be one of " + ", ".join(choices("language"))),
        id="language-unknown",
    ),
    pytest.param(["port=80"], ("port=80", "from 1024 to 65535"), id="port-low"),
    pytest.param(["port=65536"], ("port=65536", "from 1024 to 65535"), id="port-high"),
    pytest.param(["port=http"], ("port=http", "must be an integer"), id="port-not-int"),
    pytest.param(
        ["platform=compose", "strategy=canary"],
        ("strategy=canary", "platform 'compose' supports strategy: rolling"),
        id="compose-canary",
    ),
    pytest.param(
        ["platform=compose", "strategy=blue-green"],
        ("strategy=blue-green", "supports strategy: rolling"),
        id="compose-blue-green",
    ),
    pytest.param(
        ["platform=cloudrun", "image=ghcr.io/acme/svc"],
        ("image=ghcr.io/acme/svc", "Cloud Run pulls from Artifact Registry", "docker.pkg.dev"),
        id="cloudrun-image-outside-artifact-registry",
    ),
    pytest.param(
        ["platform=cloudrun", "gcp_region=moon"],
        ("gcp_region=moon", "Google Cloud region such as us-central1"),
        id="cloudrun-region",
    ),
    pytest.param(
        ["database=mysql"], ("database=mysql", "must be one of none, postgres"), id="database"
    ),
    pytest.param(
        ["colour=blue"],
        ("unknown answer key 'colour'", "known keys: ", "service_name"),
        id="unknown-key",
    ),
    pytest.param(["language"], ("malformed --data 'language'", "KEY=VALUE"), id="no-equals"),
    pytest.param(["=go"], ("malformed --data '=go'", "KEY=VALUE"), id="empty-key"),
]


@pytest.mark.parametrize(("data", "fragments"), BAD_ANSWERS)
def test_bad_answer_is_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    template_src: Path,
    tmp_path: Path,
    data: list[str],
    fragments: tuple[str, ...],
) -> None:
    dst = tmp_path / "svc"
    args = [arg for item in data for arg in ("--data", item)]
    result = cli(capsys, "new", dst, "--defaults", "--template", template_src, *args)
    assert_one_line_error(result, *fragments)
    assert not dst.exists()
    assert list(tmp_path.iterdir()) == [], "no staging directory may be left behind"


@pytest.mark.parametrize(("language", "framework"), misfits())
def test_framework_must_fit_language(
    capsys: pytest.CaptureFixture[str],
    template_src: Path,
    tmp_path: Path,
    language: str,
    framework: str,
) -> None:
    dst = tmp_path / "svc"
    result = cli(
        capsys,
        "new",
        dst,
        "--defaults",
        "--template",
        template_src,
        "--data",
        f"language={language}",
        "--data",
        f"framework={framework}",
    )
    allowed = ", ".join(frameworks(language))
    assert_one_line_error(result, f"framework={framework}", f"'{language}' allows: {allowed}")
    assert not dst.exists()


def test_bad_answer_leaves_existing_directory_unchanged(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "svc"
    dst.mkdir()
    (dst / "main.py").write_text("print('mine')\n")
    before = snapshot(dst)
    # The folder holds no app detection knows, so the stack is named (test_existing_app.py).
    result = cli(
        capsys,
        "new",
        dst,
        "--defaults",
        "--template",
        template_src,
        "--data",
        "language=node",
        "--data",
        "port=1",
    )
    assert_one_line_error(result, "port=1")
    assert snapshot(dst) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svc"]


def test_invalid_default_names_the_question_to_set(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    # k8s_namespace defaults to service_name but allows 42 characters only.
    long_name = "a" * 50
    result = cli(
        capsys,
        "new",
        tmp_path / "svc",
        "--defaults",
        "--template",
        template_src,
        "--data",
        f"service_name={long_name}",
    )
    assert_one_line_error(result, "invalid default for k8s_namespace", "--data k8s_namespace=")


def test_data_file_answers_and_data_overrides_it(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("language: go\nport: 9090\nplatform: fly\n")
    dst = tmp_path / "svc"
    result = cli(
        capsys,
        "new",
        dst,
        "--defaults",
        "--template",
        template_src,
        "--data-file",
        answers,
        "--data",
        "port=9191",
    )
    assert result.code == 0, result.err
    recorded = answers_file(dst)
    assert (recorded["language"], recorded["port"], recorded["platform"]) == ("go", 9191, "fly")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ("data file not found:",)),
        ("language: [node\n", ("is not valid YAML", "line")),
        ("- language\n", ("must be a YAML mapping",)),
        ("port: 99999\n", ("invalid answer port=99999", "from 1024 to 65535")),
        ("nonsense: 1\n", ("unknown answer key 'nonsense'",)),
        ("service_name:\n", ("invalid answer service_name=null",)),
    ],
    ids=["missing", "not-yaml", "not-mapping", "bad-value", "unknown-key", "null"],
)
def test_bad_data_file(
    capsys: pytest.CaptureFixture[str],
    template_src: Path,
    tmp_path: Path,
    content: str | None,
    fragments: tuple[str, ...],
) -> None:
    data_file = tmp_path / "answers.yml"
    if content is not None:
        data_file.write_text(content)
    dst = tmp_path / "svc"
    result = cli(
        capsys, "new", dst, "--defaults", "--template", template_src, "--data-file", data_file
    )
    assert_one_line_error(result, *fragments)
    assert not dst.exists()


def test_missing_template_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = cli(capsys, "new", tmp_path / "svc", "--defaults", "--template", tmp_path / "nowhere")
    assert_one_line_error(result, "template not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli(capsys, "new", tmp_path / "svc", "--defaults", "--template", empty)
    assert_one_line_error(result, "has no copier.yml")


def test_unknown_vcs_ref_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = template_repo(tmp_path / "tpl")
    result = cli(
        capsys, "new", tmp_path / "svc", "--defaults", "--template", repo, "--vcs-ref", "v9"
    )
    assert_one_line_error(result, "unknown template version 'v9'")
    assert not (tmp_path / "svc").exists()
