"""Fitting a render to an app the destination already holds.

When `prodready new` renders into a directory with an app in it, detection
supplies the answers (stack, commands, port, health path, env var names), an
explicit answer that contradicts the app is refused, and the app's own files
are protected from `--overwrite`.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ._detect import Detection, Finding, detect
from ._detect._repo import Repo
from .errors import AnswerError

__all__ = ["ANSWER_KEYS", "Fit", "fit_existing"]

ANSWERS_FILE = ".copier-answers.yml"

# Detection key -> answer key, for the answers an existing app supplies.
ANSWER_KEYS = {
    "language": "language",
    "framework": "framework",
    "port": "port",
    "package_manager": "package_manager",
    "lockfile": "lockfile",
    "language_version": "runtime_version",
    "install_command": "install_command",
    "build_command": "build_command",
    "start_command": "start_command",
    "test_command": "test_command",
    "lint_command": "lint_command",
    "build_output": "build_output",
    "module_path": "go_module",
    "app_module": "app_module",
    "health_path": "health_path",
    "port_env": "port_env",
}
# Frameworks the template has answers for; any other detected one is 'other'.
_FRAMEWORKS = {
    "node": {"express", "fastify", "koa", "hono"},
    "python": {"fastapi", "django", "flask"},
    "go": {"stdlib", "chi", "gin", "echo"},
}
# Answers checked against the app: giving another value is an error (unless
# ignore_detected), when detection is at least this sure of them.
_CHECKED = ("language", "framework", "package_manager", "go_module", "port")
# The app's own files: never replaced, even with --overwrite. Detection adds the
# entrypoints, requirement files and lockfile it found.
_TEAM_OWNED = (
    "README.md",
    "LICENSE*",
    "Makefile",
    ".gitignore",
    ".dockerignore",
    ".env.example",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "bun.lock",
    "bun.lockb",
    "tsconfig*.json",
    "go.mod",
    "go.sum",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
    "pdm.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
    "manage.py",
    "requirements*.txt",
    "requirements*.in",
    "requirements/*",
    "Procfile",
    "conftest.py",
)
_PROTECTED_KEYS = (
    "dependency_files",
    "lockfile",
    "start_command",
    "app_module",
    "main_packages",
    "dockerfiles",
    "ci_workflows",
    "manifests",
)


@dataclass(frozen=True)
class Fit:
    """How a render fits the app already in its destination.

    Attributes:
        detection: What was detected.
        answers: Detected answers overlaid with the ones given: what Copier gets.
        detected: The answers that came from detection (shown to the user).
        protected: Glob patterns of the app's files (relative, '/'-separated)
            that are never replaced.

    """

    detection: Detection
    answers: dict[str, Any]
    detected: dict[str, Any]
    protected: tuple[str, ...]

    def is_protected(self, rel: str) -> bool:
        """Whether a path is the app's own and must never be replaced."""
        return any(fnmatch.fnmatchcase(rel, pattern) for pattern in self.protected)

    def source(self, answer: str) -> Finding | None:
        """Return the finding an answer came from (None for one not detected)."""
        for key, name in ANSWER_KEYS.items():
            if name == answer:
                return self.detection.first(key)
        return None


def fit_existing(
    dst: Path, given: Mapping[str, Any], *, ignore_detected: bool = False
) -> Fit | None:
    """Fit the render to the app in dst, or None when dst holds no app to fit.

    dst holds none when it does not exist, is empty (a `.git` folder aside),
    or was rendered by prodready as a new service before.

    Args:
        dst: The destination directory.
        given: The answers given explicitly (--data, --data-file).
        ignore_detected: Let given answers win over what was detected.

    Returns:
        The fit, or None.

    Raises:
        AnswerError: dst holds files but no recognisable app and no language
            was given; or a given answer contradicts the app.

    """
    if not dst.is_dir() or not any(entry.name != ".git" for entry in dst.iterdir()):
        return None
    if _rendered_as_new_service(dst):
        return None
    detection = detect(dst)
    if not detection.known:
        if "language" in given:
            return None
        raise AnswerError(
            f"nothing detected in {dst}: no package.json, go.mod or Python manifest "
            "(pyproject.toml, requirements*.txt, setup.py, Pipfile, manage.py); give the stack "
            "with --data language=node|go|python (and --data framework=...), "
            "or render into an empty directory"
        )
    detected = detected_answers(detection)
    if not ignore_detected:
        _refuse_contradictions(detection, detected, given, dst)
    answers = {**detected, **given}
    if "ci_workflow" not in given and answers.get("ci", "github") != detected.get("ci", "github"):
        answers["ci_workflow"] = own_ci(detection, answers.get("ci", "github"))
    if answers.get("health_addin") and "health_addin_file" not in answers:
        # The add-in asked for where the app serves its own health route: placed as detected.
        addin_file = health_addin_file(detection, str(answers.get("framework")))
        if addin_file:
            answers["health_addin_file"] = addin_file
    protected = [*_TEAM_OWNED]
    for key in _PROTECTED_KEYS:
        protected += [f.file for f in detection.findings.get(key, ()) if f.file]
    return Fit(detection, answers, detected, tuple(dict.fromkeys(protected)))


def detected_answers(detection: Detection) -> dict[str, Any]:
    """Turn what was detected into template answers (existing_app mode)."""
    answers: dict[str, Any] = {"existing_app": True}
    for key, answer in ANSWER_KEYS.items():
        value = detection.value(key)
        if value is not None:
            answers[answer] = value
    language = detection.language
    if answers.get("framework") not in _FRAMEWORKS[language]:
        answers["framework"] = "other"
    if not 1024 <= int(answers.get("port", 0)) <= 65535:
        answers.pop("port", None)
    env_vars = [name for name in detection.values("env_vars") if isinstance(name, str)]
    answers["env_vars"] = list(dict.fromkeys(env_vars))
    workflows = [str(path) for path in detection.values("ci_workflows")]
    # A repository on GitLab CI only gets its deploy jobs for GitLab.
    if ".gitlab-ci.yml" in workflows and not any(
        path.startswith(".github/workflows/") for path in workflows
    ):
        answers["ci"] = "gitlab"
    answers["ci_workflow"] = own_ci(detection, answers.get("ci", "github"))
    answers["git_ignored"] = git_ignored(detection.root)
    # Where the app serves its own health route, manifests probe it and the add-in is left out.
    addin_file = health_addin_file(detection, answers["framework"])
    answers["health_addin"] = detection.first("health_path") is None and addin_file is not None
    if answers["health_addin"] and addin_file:
        answers["health_addin_file"] = addin_file
    return answers


def health_addin_file(detection: Detection, framework: str) -> str | None:
    """Where the health add-in goes in the app's layout ('' for Go: internal/health).

    None when the framework has no add-in. Node: beside the code (src/ for
    TypeScript, the start script's folder for JavaScript), as .ts, .mjs or .cjs
    after the app's module system. Python: health_contract.py in the package that
    holds the app object (the Django project's package). Named apart from the
    template's own health modules (src/health.ts, app/health.py): an app laid out
    like the template must not get both.
    """
    language = detection.language
    if framework not in _FRAMEWORKS.get(language, set()) or framework == "other":
        return None
    if language == "go":
        return ""
    if language == "node":
        path = _node_addin_file(detection)
    else:
        package = _python_package_dir(detection)
        path = "" if package is None else f"{package}/health_contract.py".lstrip("/")
    # A module of that name is the app's own: no add-in rather than a clash.
    return path if path and not (detection.root / path).exists() else None


def _node_addin_file(detection: Detection) -> str:
    root = detection.root
    if detection.value("typescript"):
        folder = "src" if any((root / "src").glob("*.ts")) else ""
        return f"{folder}/health-contract.ts".lstrip("/")
    start = str(detection.value("start_command") or "")
    script = next(
        (word for word in start.split()[1:] if word.endswith((".js", ".mjs", ".cjs"))), ""
    )
    folder = script.rpartition("/")[0]
    try:
        manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    esm = script.endswith(".mjs") or (
        isinstance(manifest, dict)
        and manifest.get("type") == "module"
        and not script.endswith(".cjs")
    )
    return f"{folder}/health-contract.{'mjs' if esm else 'cjs'}".lstrip("/")


def _python_package_dir(detection: Detection) -> str | None:
    """Return the folder of the package holding the app (src/pkg, pkg, '' for none), or None."""
    layouts = [str(value) for value in detection.values("package_layout")]
    django = next(
        (value.split()[-1] for value in layouts if value.startswith("django project ")), None
    )
    module = str(detection.value("app_module") or "").partition(":")[0]
    package = django or (module.split(".")[0] if "." in module else None)
    folders = [value for value in layouts if not value.startswith("django project ")]
    if package is None:
        # A single-module app (main.py) gets the add-in beside it.
        return folders[0] if folders else ("" if module else None)
    return next((folder for folder in folders if folder.rpartition("/")[2] == package), package)


def git_ignored(root: Path) -> list[str]:
    """Return what the repository's .gitignore files ignore, as .dockerignore patterns.

    The image is built from what the repository tracks: a git-ignored file (a local
    settings file, a database, build output) must not reach the build context.
    gitignore matches a slash-less pattern at any depth below its file and anchors
    the others to it; .dockerignore anchors everything to the context's root, so
    the former become '<dir>/**/pattern'.
    """
    patterns: list[str] = []
    for rel in Repo(root).files:
        if rel != ".gitignore" and not rel.endswith("/.gitignore"):
            continue
        base = rel.removesuffix(".gitignore")
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = "!" if line.startswith("!") else ""
            pattern = line.removeprefix("!").rstrip("/")
            if not pattern:
                continue
            anchored = "/" in pattern
            pattern = pattern.lstrip("/")
            if not anchored and not pattern.startswith("**/"):
                pattern = f"**/{pattern}"
            patterns.append(f"{negate}{base}{pattern}")
    return list(dict.fromkeys(patterns))


def own_ci(detection: Detection, ci: str) -> str:
    """Name the repo's own CI for the rendered one to follow ('' for none).

    GitHub: the workflow that runs on pushes; deploy.yml chains onto it with
    `workflow_run`, which names workflows by their `name:` (the file path when
    they have none). GitLab: '.gitlab-ci.yml', kept, to include the deploy jobs.
    """
    if ci == "gitlab":
        return ".gitlab-ci.yml" if ".gitlab-ci.yml" in detection.values("ci_workflows") else ""
    for path in detection.values("ci_workflows"):
        if not str(path).startswith(".github/workflows/"):
            continue
        try:
            data = yaml.safe_load((detection.root / path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(data, dict):
            continue
        # YAML 1.1 reads the key `on` as True.
        triggers = data.get("on", data.get(True))
        names = triggers if isinstance(triggers, list | dict) else [triggers]
        if "push" in names:
            return str(data.get("name") or path)
    return ""


def _refuse_contradictions(
    detection: Detection, detected: Mapping[str, Any], given: Mapping[str, Any], dst: Path
) -> None:
    for answer in _CHECKED:
        if answer not in given or answer not in detected:
            continue
        finding = next(
            (detection.first(key) for key, name in ANSWER_KEYS.items() if name == answer), None
        )
        if finding is None or finding.confidence == "low":
            continue
        if str(given[answer]) != str(detected[answer]):
            raise AnswerError(
                f"--data {answer}={given[answer]} contradicts the app in {dst}: found "
                f"{finding.value} ({finding.where}); pass --ignore-detected to use your "
                "answer anyway"
            )


def _rendered_as_new_service(dst: Path) -> bool:
    """Whether dst holds a service prodready rendered as new (its own app, not the team's)."""
    try:
        recorded = yaml.safe_load((dst / ANSWERS_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(recorded, dict) and not recorded.get("existing_app")
