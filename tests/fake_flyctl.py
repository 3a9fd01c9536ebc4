"""A stateful stand-in for flyctl for scenario tests.

The app's releases (newest first, as `flyctl releases --json` lists them) and machines
live in `$STUB_DIR/fly.json`. A deploy of an image listed in `$FAKE_BAD_IMAGES`, or any
deploy while `$FAKE_FAIL_RELEASE_COMMAND=1`, is recorded as a `failed` release and the
machines keep their image (Fly's canary and blue-green strategies, and a failed
release_command, leave the old machines serving). `secrets set` makes a restart-only
release with the same image. Every call is appended to `$STUB_DIR/calls`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def install(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flyctl").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{__file__}" "$@"\n')
    (folder / "flyctl").chmod(0o755)
    return folder


def load(folder: Path) -> dict[str, Any]:
    path = folder / "fly.json"
    return json.loads(path.read_text()) if path.exists() else {"releases": [], "machines": []}


def serving(state: dict[str, Any]) -> str | None:
    images = {m["config"]["image"] for m in state["machines"] if m["state"] == "started"}
    return " ".join(sorted(images)) or None


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def release(state: dict[str, Any], status: str, image: str) -> None:
    version = len(state["releases"]) + 1
    state["releases"].insert(0, {"Version": version, "Status": status, "ImageRef": image})


def main(args: list[str]) -> int:
    folder = Path(os.environ["STUB_DIR"])
    with (folder / "calls").open("a") as calls:
        calls.write("flyctl " + " ".join(args) + "\n")
    state = load(folder)
    code = 0
    if args[0] == "releases":
        print(json.dumps(state["releases"]))
    elif args[:2] in (["machine", "list"], ["machines", "list"]):
        print(json.dumps(state["machines"]))
    elif args[0] == "deploy":
        image = option(args, "--image") or ""
        bad = image in os.environ.get("FAKE_BAD_IMAGES", "").split(",")
        if bad or os.environ.get("FAKE_FAIL_RELEASE_COMMAND") == "1":
            release(state, "failed", image)
            code = 1
        else:
            release(state, "complete", image)
            state["machines"] = [{"state": "started", "config": {"image": image}}] * 2
    elif args[:2] == ["secrets", "set"]:
        current = serving(state) or ""
        release(state, "complete", current)
    (folder / "fly.json").write_text(json.dumps(state))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
