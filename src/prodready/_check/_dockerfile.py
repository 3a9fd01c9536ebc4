"""A small Dockerfile reader: instructions with their lines, stages, ENV and ARG pairs.

prodready's runtime stays pure Python, so this does not use the `dockerfile`
package (a binding to BuildKit's Go parser that needs a platform wheel or a Go
toolchain to install). The checks need little: instruction names, flags,
arguments and lines, with BuildKit's rules for the escape directive,
continuation lines, comments inside them and heredocs. The test suite compares
this reader with the BuildKit binding on every rendered Dockerfile and on the
fixtures.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

__all__ = ["Instruction", "Stage", "parse", "split_pairs", "substitute"]

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FLAG = re.compile(r"--([a-z][a-z0-9-]*)(?:=(\S*))?")
_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
# Instructions whose leading `--flag[=value]` words are options, not arguments.
_FLAGGED = frozenset({"FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"})


@dataclass(frozen=True)
class Instruction:
    """One instruction.

    Attributes:
        cmd: The instruction, upper case ('FROM', 'USER', ...).
        flags: Its `--name=value` options (a bare `--name` maps to '').
        value: Its arguments after the flags, continuation lines joined by spaces.
        line: The 1-based line it starts on.
        end_line: The 1-based line it ends on (heredoc bodies included).

    """

    cmd: str
    flags: dict[str, str]
    value: str
    line: int
    end_line: int

    @property
    def words(self) -> list[str]:
        """The arguments split as a shell would (the raw split on bad quoting)."""
        try:
            return shlex.split(self.value, posix=True)
        except ValueError:
            return self.value.split()


@dataclass
class Stage:
    """One build stage: a FROM and the instructions up to the next FROM.

    Attributes:
        base: The image it starts from, build arguments substituted.
        name: Its `AS` name, or None.
        line: The FROM's line.
        instructions: Its instructions, the FROM included.

    """

    base: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def last(self, cmd: str) -> Instruction | None:
        """Return the stage's last instruction of this kind (the one in force), or None."""
        found = [i for i in self.instructions if i.cmd == cmd]
        return found[-1] if found else None


def parse(text: str) -> tuple[list[Instruction], list[Stage]]:
    """Instructions and stages of a Dockerfile.

    FROM images have the defaults of the ARGs declared before the first FROM
    substituted, as BuildKit does.
    """
    instructions = list(_instructions(text))
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.cmd == "FROM":
            words = ins.words
            base = substitute(words[0], global_args) if words else ""
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(base=base, name=name, line=ins.line))
        elif ins.cmd == "ARG" and not stages:
            global_args.update(split_pairs(ins.value))
        if stages:
            stages[-1].instructions.append(ins)
    return instructions, stages


def substitute(text: str, variables: dict[str, str]) -> str:
    """Replace `$NAME` and `${NAME}` (with `:-default`) from variables; unknown ones stay."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if variables.get(name):
            return variables[name]
        default = re.match(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", match.group(0))
        return default.group(1) if default else match.group(0)

    return _VARIABLE.sub(one, text)


def split_pairs(value: str) -> dict[str, str]:
    """ENV or ARG arguments as name -> value ('' for an ARG without default).

    Handles `A=1 B="two words"` and the legacy `ENV NAME value with spaces`.
    """
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    if words and "=" not in words[0] and len(words) > 1:
        return {words[0]: " ".join(words[1:])}
    pairs: dict[str, str] = {}
    for word in words:
        name, _, val = word.partition("=")
        pairs[name] = val
    return pairs


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, joined text) of each instruction, heredoc bodies skipped."""
    lines = text.splitlines()
    escape = "\\"
    index = 0
    # Parser directives: only at the very top, before any other line.
    while index < len(lines):
        directive = _DIRECTIVE.match(lines[index])
        if not directive:
            break
        if directive.group(1).lower() == "escape" and directive.group(2) in ("`", "\\"):
            escape = directive.group(2)
        index += 1
    out: list[tuple[int, int, str]] = []
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index
        parts: list[str] = []
        current = lines[index].rstrip()
        while current.endswith(escape) and index + 1 < len(lines):
            parts.append(current[: -len(escape)].strip())
            index += 1
            # Comment and empty lines inside a continuation are dropped.
            while index + 1 < len(lines) and (
                not lines[index].strip() or lines[index].lstrip().startswith("#")
            ):
                index += 1
            current = lines[index].rstrip()
        parts.append(current.removesuffix(escape).strip())
        joined = " ".join(part for part in parts if part)
        for heredoc in _HEREDOC.finditer(joined):
            index = _skip_heredoc(lines, index + 1, heredoc.group(3), strip=bool(heredoc.group(1)))
        out.append((start + 1, index + 1, joined))
        index += 1
    return out


def _skip_heredoc(lines: list[str], index: int, word: str, *, strip: bool) -> int:
    """Index of the line that ends a heredoc whose body starts at `index`."""
    while index < len(lines):
        line = lines[index].lstrip("\t") if strip else lines[index]
        if line == word:
            return index
        index += 1
    return len(lines) - 1


def _instructions(text: str) -> list[Instruction]:
    found: list[Instruction] = []
    for first, last, joined in _logical_lines(text):
        cmd, _, rest = joined.partition(" ")
        cmd = cmd.upper()
        rest = rest.strip()
        flags: dict[str, str] = {}
        if cmd in _FLAGGED:
            while rest.startswith("--"):
                flag = _FLAG.match(rest)
                if flag is None:
                    break
                flags[flag.group(1)] = flag.group(2) or ""
                rest = rest[flag.end() :].lstrip()
        found.append(Instruction(cmd=cmd, flags=flags, value=rest, line=first, end_line=last))
    return found
