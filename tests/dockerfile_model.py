"""A rendered Dockerfile parsed with BuildKit's parser (the `dockerfile` package) into stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dockerfile


@dataclass
class Stage:
    """One build stage: its base image, its name and its instructions."""

    base: str
    name: str | None
    instructions: list[dockerfile.Command] = field(default_factory=list)

    def all(self, cmd: str) -> list[dockerfile.Command]:
        """The stage's instructions of one kind (FROM, RUN, COPY, ...)."""
        return [ins for ins in self.instructions if ins.cmd == cmd]

    def last(self, cmd: str) -> dockerfile.Command | None:
        """The stage's last instruction of one kind, the one in force."""
        found = self.all(cmd)
        return found[-1] if found else None

    def pairs(self, cmd: str) -> dict[str, str]:
        """Key/value instructions (ENV, LABEL, ARG defaults) merged into one mapping."""
        merged: dict[str, str] = {}
        for ins in self.all(cmd):
            if cmd == "ARG":
                for value in ins.value:
                    key, _, default = value.partition("=")
                    merged[key] = default
            else:
                values = list(ins.value)
                merged.update(zip(values[::2], values[1::2], strict=True))
        return merged


def parse_stages(path: Path) -> list[Stage]:
    """Split the Dockerfile at each FROM (global ARGs before the first FROM are dropped)."""
    stages: list[Stage] = []
    for ins in dockerfile.parse_file(str(path)):
        if ins.cmd == "FROM":
            value = list(ins.value)
            name = value[2] if len(value) == 3 and value[1].upper() == "AS" else None
            stages.append(Stage(base=value[0], name=name))
        if stages:
            stages[-1].instructions.append(ins)
    return stages


def flag(ins: dockerfile.Command, name: str) -> str | None:
    """The value of an instruction flag such as --from=build."""
    for raw in ins.flags:
        key, _, value = raw.partition("=")
        if key == f"--{name}":
            return value
    return None
