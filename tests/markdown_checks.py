"""Structural checks for rendered Markdown: fenced blocks, links, anchors and Mermaid diagrams.

No Mermaid parser runs without a browser here, so `mermaid_errors` checks the subset of the grammar
the docs use (flowchart and sequenceDiagram): headers, node shapes, arrows and block nesting.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
_INLINE_CODE = re.compile(r"`[^`]*`")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced code block: its info string (language), body and first body line number."""

    info: str
    body: str
    line: int


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced code block of a Markdown document, in order."""
    blocks: list[CodeBlock] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(
            rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]
        ):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        blocks.append(CodeBlock(match["info"].strip(), "\n".join(body), i + 2))
        i = j + 1
    return blocks


def prose(text: str) -> str:
    """The document without its fenced code blocks and inline code spans."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match["fence"]
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        out.append(_INLINE_CODE.sub("", line))
    return "\n".join(out)


def relative_links(text: str) -> list[str]:
    """Targets of the document's links that point into the repository (no scheme, no mail)."""
    return [
        m["target"]
        for m in _LINK.finditer(prose(text))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", m["target"])
    ]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a Markdown document's ATX headings."""
    return {
        github_slug(m.group(1))
        for m in re.finditer(r"^#{1,6} +(.+?) *#*$", prose(text), re.MULTILINE)
    }


@dataclass(frozen=True)
class BrokenLink:
    """A relative link that leads nowhere: its target, the project path it names, and why."""

    target: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.target}: {self.reason}"


def broken_links(doc: Path, root: Path) -> list[BrokenLink]:
    """Relative links of doc whose file, folder or heading anchor does not exist under root."""
    problems = []
    root = root.resolve()
    for target in relative_links(doc.read_text()):
        path_part, _, fragment = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc.resolve()
        if not dest.is_relative_to(root):
            problems.append(BrokenLink(target, str(dest), "outside the project"))
            continue
        rel = dest.relative_to(root).as_posix() + ("/" if path_part.endswith("/") else "")
        if not dest.exists():
            problems.append(BrokenLink(target, rel, f"{rel} does not exist"))
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest.read_text()):
            problems.append(BrokenLink(target, rel, f"no heading #{fragment} in {rel}"))
    return problems


# --- Mermaid -------------------------------------------------------------------

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
# Label text: quoted (anything but a quote) or bare (no brackets, quotes or pipes).
_LABEL = r'(?:"[^"]*"|[^\[\](){}"|]+)'
_SHAPES = [
    (r"\(\[", r"\]\)"),
    (r"\[\[", r"\]\]"),
    (r"\[\(", r"\)\]"),
    (r"\(\(", r"\)\)"),
    (r"\[/", r"/\]"),
    (r"\[\\", r"\\\]"),
    (r"\[", r"\]"),
    (r"\(", r"\)"),
    (r"\{", r"\}"),
    (r">", r"\]"),
]
_SHAPE = "|".join(f"{o}{_LABEL}{c}" for o, c in _SHAPES)
_NODE = re.compile(rf"\s*(?P<id>{_ID})(?P<shape>{_SHAPE})?\s*")
_ARROW = re.compile(
    r"\s*(?:<)?(?:-{2,}>|-{3,}|-\.+->|-\.+-|={2,}>|={3,}|-{2,}[xo])"
    r"(?:\|(?P<text>[^|]*)\|)?\s*"
)
_TEXT_ARROW = re.compile(r"\s*--\s+(?P<text>[^->][^>]*?)\s+-->\s*")
_FLOW_KEYWORDS = re.compile(
    r"^(?:%%.*|direction (?:TB|TD|BT|RL|LR)|classDef .+|class .+|style .+|linkStyle .+|click .+)$"
)
_RESERVED_IDS = {"end", "subgraph", "graph", "flowchart"}

_PARTICIPANT = re.compile(rf"^(?:participant|actor) +{_ID}(?: +as +.+)?$")
_MESSAGE = re.compile(rf"^{_ID} *(?:-{{1,2}}>>|-{{1,2}}>|-{{1,2}}x|-{{1,2}}\)) *[+-]?{_ID} *: *.+$")
_NOTE = re.compile(rf"^[Nn]ote +(?:(?:left|right) of +{_ID}|over +{_ID}(?: *, *{_ID})?) *: *.+$")
_SEQ_OPEN = re.compile(r"^(?:loop|alt|opt|par|critical|break|rect|box)\b.*$")
_SEQ_MIDDLE = re.compile(r"^(?:else|and|option)\b.*$")
_SEQ_OTHER = re.compile(
    rf"^(?:autonumber.*|(?:activate|deactivate|create participant|destroy) +{_ID}|%%.*)$"
)


def _flowchart_statement(line: str) -> str | None:
    """Why one flowchart statement is malformed, or None when it parses."""
    pos = 0
    expect_node = True
    saw_node = False
    while pos < len(line):
        if expect_node:
            match = _NODE.match(line, pos)
            if not match:
                return f"expected a node at {line[pos:]!r}"
            if match["id"] in _RESERVED_IDS:
                return f"node id {match['id']!r} is a Mermaid keyword"
            saw_node = True
        else:
            match = _ARROW.match(line, pos) or _TEXT_ARROW.match(line, pos)
            if not match:
                return f"expected an arrow at {line[pos:]!r}"
        if match.end() == pos:
            return f"cannot parse {line[pos:]!r}"
        pos = match.end()
        expect_node = not expect_node
    if not saw_node or expect_node:
        return "an arrow must end at a node"
    return None


def _flowchart_errors(lines: list[tuple[int, str]]) -> list[str]:
    errors: list[str] = []
    depth = 0
    for number, line in lines:
        if line == "end":
            depth -= 1
            if depth < 0:
                errors.append(f"line {number}: 'end' without 'subgraph'")
                depth = 0
        elif line.startswith("subgraph "):
            depth += 1
            title = line.removeprefix("subgraph ").strip()
            if not re.fullmatch(rf"{_ID}(?:\s*\[{_LABEL}\])?|{_LABEL}", title):
                errors.append(f"line {number}: bad subgraph title {title!r}")
        elif not _FLOW_KEYWORDS.match(line):
            for statement in filter(None, (s.strip() for s in line.split(";"))):
                problem = _flowchart_statement(statement)
                if problem:
                    errors.append(f"line {number}: {problem}")
    if depth:
        errors.append(f"{depth} 'subgraph' block(s) never closed with 'end'")
    return errors


def _sequence_errors(lines: list[tuple[int, str]]) -> list[str]:
    errors: list[str] = []
    depth = 0
    for number, line in lines:
        if line == "end":
            depth -= 1
            if depth < 0:
                errors.append(f"line {number}: 'end' without an open block")
                depth = 0
        elif _SEQ_OPEN.match(line):
            depth += 1
        elif _SEQ_MIDDLE.match(line):
            if depth == 0:
                errors.append(f"line {number}: {line.split()[0]!r} outside a block")
        elif not (
            _PARTICIPANT.match(line)
            or _MESSAGE.match(line)
            or _NOTE.match(line)
            or _SEQ_OTHER.match(line)
        ):
            errors.append(f"line {number}: not a sequence statement: {line!r}")
    if depth:
        errors.append(f"{depth} block(s) never closed with 'end'")
    return errors


def mermaid_errors(source: str) -> list[str]:
    """Why a Mermaid diagram is malformed: [] for a well-formed flowchart or sequenceDiagram."""
    lines = [(n, raw.strip()) for n, raw in enumerate(source.splitlines(), 1) if raw.strip()]
    if not lines:
        return ["empty diagram"]
    (_, header), body = lines[0], lines[1:]
    if re.fullmatch(r"(?:flowchart|graph) (?:TB|TD|BT|RL|LR)", header):
        errors = _flowchart_errors(body)
    elif header == "sequenceDiagram":
        errors = _sequence_errors(body)
    else:
        return [f"unknown diagram header {header!r} (want 'flowchart LR|TD' or 'sequenceDiagram')"]
    if not body:
        errors.append("diagram has no statements")
    return errors


def flowchart_edges(source: str) -> set[tuple[str, str]]:
    """The (from, to) node-id pairs of a flowchart that mermaid_errors accepts."""
    edges: set[tuple[str, str]] = set()
    for raw in source.splitlines()[1:]:
        line = raw.strip()
        if (
            not line
            or line in {"end"}
            or line.startswith("subgraph ")
            or _FLOW_KEYWORDS.match(line)
        ):
            continue
        for statement in filter(None, (s.strip() for s in line.split(";"))):
            ids: list[str] = []
            pos = 0
            expect_node = True
            while pos < len(statement):
                match = (
                    _NODE.match(statement, pos)
                    if expect_node
                    else (_ARROW.match(statement, pos) or _TEXT_ARROW.match(statement, pos))
                )
                assert match, statement
                if expect_node:
                    ids.append(match["id"])
                pos = match.end()
                expect_node = not expect_node
            edges.update(itertools.pairwise(ids))
    return edges


def node_labels(source: str) -> dict[str, str]:
    """Node id -> label text (quotes removed) for every node defined with a shape."""
    labels: dict[str, str] = {}
    for match in re.finditer(rf"(?<![\w\"])(?P<id>{_ID})(?P<shape>{_SHAPE})", source):
        labels[match["id"]] = match["shape"].strip("[](){}>/\\").strip('"')
    return labels
