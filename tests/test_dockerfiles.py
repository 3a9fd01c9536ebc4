"""The rendered Dockerfiles: hadolint-clean, hardened, and consistent with the rendered project.

Without a Docker engine, the build stages' RUN commands are replayed natively
(paths such as /opt/venv and /out moved into a temporary folder) to prove they
work against the files the template renders.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pathspec
import pytest

from dockerfile_model import Stage, flag, parse_stages
from helpers import REPO_ROOT, render, require_tool, stacks
from service_runner import toolchain_path

VERSIONS = (REPO_ROOT / "includes" / "versions.jinja").read_text()
APP_UID = int(re.search(r"app_uid = (\d+)", VERSIONS).group(1))  # type: ignore[union-attr]
MANIFESTS = {
    "package.json",
    "package-lock.json",
    "requirements.txt",
    "requirements-dev.txt",
    "go.mod",
    "go.sum",
}
INSTALL_COMMANDS = ("npm ci", "uv pip install", "pip install", "go mod download")
# A pinned image names an exact version (1.23.4, 22.12.0, 3.12.8) or a digest.
PINNED = re.compile(r":[^/]*\d+\.\d+[^/]*$|@sha256:[0-9a-f]{64}$")

COMBOS = [
    pytest.param(language, framework, database, id=f"{language}-{framework}-{database}")
    for language, framework in stacks()
    for database in ("none", "postgres")
]


@pytest.fixture(scope="module")
def projects(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One rendered project per (language, framework, database), port 9090 to catch defaults."""
    root = tmp_path_factory.mktemp("dockerfiles")
    rendered = {}
    for param in COMBOS:
        language, framework, database = param.values
        rendered[param.id] = render(
            template_src,
            root / str(param.id),
            language=language,
            framework=framework,
            database=database,
            port=9090,
        )
    return rendered


def stages_of(
    projects: dict[str, Path], language: str, framework: str, database: str
) -> tuple[Path, list[Stage]]:
    project = projects[f"{language}-{framework}-{database}"]
    return project, parse_stages(project / "Dockerfile")


@pytest.mark.parametrize(("language", "framework", "database"), COMBOS)
def test_hadolint_finds_no_warning(
    projects: dict[str, Path], language: str, framework: str, database: str
) -> None:
    project, _ = stages_of(projects, language, framework, database)
    hadolint = require_tool("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", "-t", "warning", str(project / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("language", "framework", "database"), COMBOS)
def test_final_image_is_hardened(
    projects: dict[str, Path], language: str, framework: str, database: str
) -> None:
    _project, stages = stages_of(projects, language, framework, database)
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    names = {stage.name for stage in stages}
    for stage in stages:
        assert stage.base in names or PINNED.search(stage.base), f"unpinned base image {stage.base}"
        assert not stage.base.endswith(":latest")
    final = stages[-1]

    user = final.last("USER")
    assert user is not None, "the runtime stage must drop root"
    assert re.fullmatch(r"\d+:\d+", user.value[0]), "numeric UID:GID lets runAsNonRoot verify it"
    assert user.value[0] == f"{APP_UID}:{APP_UID}"

    healthcheck = final.last("HEALTHCHECK")
    assert healthcheck is not None and healthcheck.json and healthcheck.value[0] == "CMD"
    for cmd in ("CMD", "ENTRYPOINT"):
        ins = final.last(cmd)
        assert ins is None or ins.json, f"{cmd} in exec form, so PID 1 receives SIGTERM"
    assert final.last("CMD") or final.last("ENTRYPOINT")

    expose = final.last("EXPOSE")
    assert expose is not None and expose.value == ("9090",)
    assert final.pairs("ENV")["PORT"] == "9090"

    labels = final.pairs("LABEL")
    for key in ("source", "revision", "version"):
        assert labels.get(f"org.opencontainers.image.{key}"), f"missing OCI label {key}"


@pytest.mark.parametrize(("language", "framework", "database"), COMBOS)
def test_no_secret_is_baked_into_the_image(
    projects: dict[str, Path], language: str, framework: str, database: str
) -> None:
    _, stages = stages_of(projects, language, framework, database)
    secretish = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL|REDIS_URL", re.IGNORECASE)
    for stage in stages:
        for cmd in ("ENV", "ARG"):
            baked = [name for name in stage.pairs(cmd) if secretish.search(name)]
            assert not baked, f"{cmd} {baked} would ship in the image's metadata"


@pytest.mark.parametrize(("language", "framework", "database"), COMBOS)
def test_dependency_manifests_are_copied_before_source(
    projects: dict[str, Path], language: str, framework: str, database: str
) -> None:
    _, stages = stages_of(projects, language, framework, database)
    installing = [stage for stage in stages if any(_installs(run) for run in stage.all("RUN"))]
    assert installing, "no stage installs dependencies"
    for stage in installing:
        first_install = next(
            i for i, ins in enumerate(stage.instructions) if ins.cmd == "RUN" and _installs(ins)
        )
        copies = [
            ins
            for ins in stage.instructions[:first_install]
            if ins.cmd == "COPY" and not flag(ins, "from")
        ]
        assert copies, f"stage {stage.name}: install before any manifest is copied"
        for copy in copies:
            sources = {Path(src).name for src in copy.value[:-1]}
            assert sources <= MANIFESTS, f"stage {stage.name} copies {sources} before installing"
        for run in stage.all("RUN"):
            if _installs(run):
                assert flag(run, "mount") and "type=cache" in flag(run, "mount"), "cache mount"


@pytest.mark.parametrize(("language", "framework", "database"), COMBOS)
def test_copied_files_exist_and_pass_dockerignore(
    projects: dict[str, Path], language: str, framework: str, database: str
) -> None:
    project, stages = stages_of(projects, language, framework, database)
    ignore = pathspec.PathSpec.from_lines(
        "gitignore", (project / ".dockerignore").read_text().splitlines()
    )
    for stage in stages:
        for copy in stage.all("COPY"):
            if flag(copy, "from"):
                continue
            for src in copy.value[:-1]:
                assert (project / src).exists(), f"COPY {src}: not in the rendered project"
                assert not ignore.match_file(src), f"COPY {src}: excluded by .dockerignore"
    if database == "postgres" and framework != "django":  # Django keeps migrations in app/
        copied = {src for stage in stages for copy in stage.all("COPY") for src in copy.value[:-1]}
        assert any("migrations" in src for src in copied), "migrations must ship in the image"


def test_dockerignore_keeps_secrets_and_clutter_out(projects: dict[str, Path]) -> None:
    project = next(iter(projects.values()))
    ignore = pathspec.PathSpec.from_lines(
        "gitignore", (project / ".dockerignore").read_text().splitlines()
    )
    for path in (
        ".git/config",
        ".env",
        ".env.production",
        "node_modules/x/index.js",
        "dist/server.js",
        ".venv/bin/python",
        "coverage/lcov.info",
        "tests/test_app.py",
        "key.pem",
        ".vscode/settings.json",
    ):
        assert ignore.match_file(path), f"{path} would be sent to the build context"
    assert not ignore.match_file(".env.example")


def test_go_image_is_static_multi_arch_and_distroless(projects: dict[str, Path]) -> None:
    _, stages = stages_of(projects, "go", "stdlib", "none")
    build = next(
        stage for stage in stages if any("go build" in run.value[0] for run in stage.all("RUN"))
    )
    command = next(run.value[0] for run in build.all("RUN") if "go build" in run.value[0])
    for needle in (
        "CGO_ENABLED=0",
        "-trimpath",
        '-ldflags="-s -w"',
        "GOOS=$TARGETOS",
        "GOARCH=$TARGETARCH",
        "./cmd/server",
    ):
        assert needle in command
    assert {"TARGETOS", "TARGETARCH"} <= set(build.pairs("ARG"))
    assert "distroless/static" in stages[-1].base
    assert stages[-1].last("HEALTHCHECK").value[1:] == ("/server", "healthcheck")  # type: ignore[union-attr]


def test_node_runtime_gets_production_dependencies_only(projects: dict[str, Path]) -> None:
    _, stages = stages_of(projects, "node", "express", "none")
    runs = " ".join(run.value[0] for stage in stages for run in stage.all("RUN"))
    assert "npm ci --omit=dev" in runs
    final_copies = [copy for copy in stages[-1].all("COPY") if flag(copy, "from")]
    sources = {flag(copy, "from"): copy.value[0] for copy in final_copies}
    assert sources.get("prod-deps") == "/app/node_modules"


@pytest.mark.parametrize("framework", ["fastapi", "django", "flask"])
def test_python_runs_gunicorn_from_a_uv_built_venv(
    projects: dict[str, Path], framework: str
) -> None:
    project, stages = stages_of(projects, "python", framework, "none")
    runs = [run.value[0] for stage in stages[:-1] for run in stage.all("RUN")]
    assert any("uv venv" in run for run in runs) and any("uv pip install" in run for run in runs)
    assert any("collectstatic" in run for run in runs) == (framework == "django")
    cmd = stages[-1].last("CMD")
    assert cmd is not None and cmd.value[0] == "gunicorn"
    module = cmd.value[-1].split(":")[0]
    assert (project / (module.replace(".", "/") + ".py")).is_file(), (
        f"CMD starts {module}, which is missing"
    )
    assert (project / "gunicorn.conf.py").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(("language", "framework"), stacks())
def test_build_stages_run_natively(
    projects: dict[str, Path], tmp_path: Path, language: str, framework: str
) -> None:
    """Replay every RUN of the build stages in a copy of the project, as BuildKit would."""
    source, stages = stages_of(projects, language, framework, "postgres")
    project = tmp_path / "project"
    shutil.copytree(source, project)
    moved = {"/opt/venv": tmp_path / "opt-venv", "/out": tmp_path / "out"}
    env = {
        **os.environ,
        "PATH": toolchain_path(project, language),
        "TARGETOS": "linux",
        "TARGETARCH": "arm64",
    }
    env.pop("VIRTUAL_ENV", None)
    if language == "python":
        require_tool("uv")
    for stage in stages[:-1]:  # the runtime stage only creates its user and copies
        for ins in stage.instructions:
            if ins.cmd == "ENV":
                env.update({key: _move(value, moved) for key, value in stage.pairs("ENV").items()})
            elif ins.cmd == "RUN":
                result = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", _move(ins.value[0], moved)],
                    cwd=project,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                assert result.returncode == 0, (
                    f"{ins.original}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
                )
    if language == "node":
        assert (project / "dist" / "server.js").is_file()
        assert not (project / "node_modules" / "typescript").exists(), (
            "dev dependencies in the image"
        )
    elif language == "go":
        binary = (tmp_path / "out" / "server").read_bytes()
        assert binary[:4] == b"\x7fELF" and int.from_bytes(binary[18:20], "little") == 183, (
            "not linux/arm64"
        )
    else:
        assert (tmp_path / "opt-venv" / "bin" / "gunicorn").is_file()
        if framework == "django":
            assert (project / "staticfiles").is_dir()


def _installs(run: object) -> bool:
    return any(command in run.value[0] for command in INSTALL_COMMANDS)  # type: ignore[attr-defined]


def _move(text: str, moved: dict[str, Path]) -> str:
    for image_path, native in moved.items():
        text = re.sub(rf"(?<![\w.]){re.escape(image_path)}(?=/|\b|$)", str(native), text)
    return text
