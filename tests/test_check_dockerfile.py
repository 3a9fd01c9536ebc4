"""prodready's own Dockerfile reader agrees with BuildKit's parser (the `dockerfile` binding)."""

from __future__ import annotations

from pathlib import Path

import dockerfile
import pytest

from check_fixtures import DOCKERFILE, FAILING
from docs_helpers import Renders
from helpers import stacks
from prodready._check._dockerfile import parse, split_pairs

TRICKY = """\
# escape=`
FROM --platform=$BUILDPLATFORM golang:1.23 AS build
ARG TARGETOS `
    TARGETARCH
# a comment between instructions
RUN --mount=type=cache,target=/root/.cache `
    # a comment inside a continuation
    go build ./... `

    && echo done
COPY <<EOF /etc/app.conf
FROM not-an-instruction
EOF
RUN <<-SCRIPT
\techo heredoc
\tSCRIPT
FROM scratch
USER 65532:65532
ENTRYPOINT ["/server"]
"""


def _binding(text: str) -> list[tuple[str, int, int, dict[str, str]]]:
    out = []
    for command in dockerfile.parse_string(text):
        flags = {}
        for flag in command.flags:
            name, _, value = flag.removeprefix("--").partition("=")
            flags[name] = value
        out.append((command.cmd.upper(), command.start_line, command.end_line, flags))
    return out


def _ours(text: str) -> list[tuple[str, int, int, dict[str, str]]]:
    instructions, _stages = parse(text)
    return [(i.cmd, i.line, i.end_line, i.flags) for i in instructions]


@pytest.mark.parametrize(
    "text",
    [DOCKERFILE, TRICKY, FAILING["PR-IMG-002"]["Dockerfile"]],
    ids=["fixture", "escape-heredoc-comments", "single-stage"],
)
def test_reader_matches_buildkit_on_fixtures(text: str) -> None:
    assert _ours(text) == _binding(text)


@pytest.mark.parametrize(("language", "framework"), stacks())
def test_reader_matches_buildkit_on_rendered_dockerfiles(
    renders: Renders, language: str, framework: str
) -> None:
    answers = {"language": language, "database": "postgres", "cache": "redis"}
    if language != "go":
        answers["framework"] = framework
    text = (Path(renders.get(**answers)) / "Dockerfile").read_text()
    assert _ours(text) == _binding(text)


def test_stages_resolve_global_build_arguments() -> None:
    _, stages = parse("ARG BASE=node:22\nFROM ${BASE} AS build\nFROM build\n")
    assert [(s.base, s.name) for s in stages] == [("node:22", "build"), ("build", None)]


@pytest.mark.parametrize(
    ("value", "pairs"),
    [
        ('A=1 B="two words"', {"A": "1", "B": "two words"}),
        ("LEGACY value with spaces", {"LEGACY": "value with spaces"}),
        ("TOKEN", {"TOKEN": ""}),
    ],
)
def test_env_and_arg_pairs(value: str, pairs: dict[str, str]) -> None:
    assert split_pairs(value) == pairs
