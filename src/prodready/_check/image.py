"""Image checks: the Dockerfile and its .dockerignore."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._context import Context, Dockerfile
from ._dockerfile import Stage, split_pairs
from ._model import Hit, Severity
from ._registry import check

__all__: list[str] = []

_RENDER = "`prodready new . --skip-existing` renders one (answer `language`)"
SECRET_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH_KEY)",
    re.IGNORECASE,
)
# Names that hold where a secret is, not the secret itself.
_SECRET_POINTER = re.compile(r"_(FILE|PATH|DIR|NAME|ID|URL_ENV)$", re.IGNORECASE)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_tag(image: str) -> str | None:
    """Return the tag of an image reference (None when it has none); a digest is not a tag."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _bases(ctx: Context) -> Iterator[tuple[Dockerfile, Stage]]:
    """Stages that start from an image (not from an earlier stage or scratch)."""
    for dockerfile in ctx.dockerfiles:
        names: set[str] = set()
        for stage in dockerfile.stages:
            if stage.base.lower() not in names and stage.base != "scratch":
                yield dockerfile, stage
            if stage.name:
                names.add(stage.name.lower())


@check(
    "PR-IMG-001",
    "image",
    Severity.ERROR,
    title="A Dockerfile builds the service image",
    why="Every platform prodready targets runs a container image; without a Dockerfile the "
    "image is whatever a buildpack guesses, unpinned and unreviewed.",
    fix=f"Add a multi-stage Dockerfile; {_RENDER}.",
)
def dockerfile_present(ctx: Context) -> Iterator[Hit]:
    """Check that the repository has a Dockerfile (or Containerfile)."""
    if not ctx.dockerfiles:
        yield Hit("no Dockerfile or Containerfile in the repository")


@check(
    "PR-IMG-002",
    "image",
    Severity.WARNING,
    title="The Dockerfile is multi-stage",
    why="A single stage ships compilers, dev dependencies and build caches: a bigger image "
    "with more vulnerabilities to patch.",
    fix="Build in one stage and copy only the runtime artifacts into a final stage "
    f"(FROM ... AS runtime); {_RENDER}.",
)
def multi_stage(ctx: Context) -> Iterator[Hit]:
    """Each Dockerfile has a build stage and a separate final stage."""
    for dockerfile in ctx.dockerfiles:
        if len(dockerfile.stages) < 2:
            yield Hit("single-stage build", dockerfile.file, dockerfile.stages[0].line)


@check(
    "PR-IMG-003",
    "image",
    Severity.ERROR,
    title="Base images have an explicit version tag",
    why="`latest` or no tag means every build may start from a different image: builds are "
    "not reproducible and a rollback does not roll back the base.",
    fix="Pin an exact tag such as node:22.12.0-alpine3.21 (prodready pins its base images in "
    "includes/versions.jinja).",
)
def base_tagged(ctx: Context) -> Iterator[Hit]:
    """FROM images carry a tag other than latest (or a digest)."""
    for dockerfile, stage in _bases(ctx):
        tag = image_tag(stage.base)
        if "$" in stage.base:
            yield Hit(
                f"base image {stage.base!r} depends on a build argument without a default",
                dockerfile.file,
                stage.line,
            )
        elif tag == "latest" or (tag is None and not _DIGEST.search(stage.base)):
            yield Hit(
                f"base image {stage.base!r} is not pinned to a version", dockerfile.file, stage.line
            )


@check(
    "PR-IMG-004",
    "image",
    Severity.WARNING,
    title="Base images are pinned by digest",
    why="A tag can be moved to another image; only a digest guarantees the build starts "
    "from the bytes that were reviewed and scanned.",
    fix="Append the digest: FROM image:tag@sha256:<digest>, and let Dependabot or Renovate "
    "update both together.",
)
def base_digest(ctx: Context) -> Iterator[Hit]:
    """FROM images carry a sha256 digest."""
    for dockerfile, stage in _bases(ctx):
        if "$" not in stage.base and not _DIGEST.search(stage.base):
            yield Hit(
                f"base image {stage.base!r} is pinned by tag only", dockerfile.file, stage.line
            )


def _final_user(dockerfile: Dockerfile) -> tuple[str | None, int]:
    """Return the user the final stage runs as (following stages it is built FROM) and its line."""
    by_name = {stage.name.lower(): stage for stage in dockerfile.stages if stage.name}
    stage = dockerfile.final
    seen: set[int] = set()
    while stage is not None and id(stage) not in seen:
        seen.add(id(stage))
        user = stage.last("USER")
        if user is not None:
            return user.value.strip(), user.line
        stage = by_name.get(stage.base.lower())
    final = dockerfile.final
    return None, final.line if final else 1


def _base_is_nonroot(image: str) -> bool:
    """Distroless ':nonroot' images run as UID 65532 without a USER line."""
    return ":nonroot" in image or "-nonroot" in image


@check(
    "PR-IMG-005",
    "image",
    Severity.ERROR,
    title="The image does not run as root",
    why="A process running as root inside the container turns any code-execution bug into "
    "root on the container, one kernel bug away from the node.",
    fix=f"Add `USER 10001:10001` to the final stage; {_RENDER}.",
)
def non_root(ctx: Context) -> Iterator[Hit]:
    """Check that the final stage sets a USER other than root."""
    for dockerfile in ctx.dockerfiles:
        user, line = _final_user(dockerfile)
        final = dockerfile.final
        if user is None:
            if final is not None and not _base_is_nonroot(final.base):
                yield Hit(
                    "the final stage has no USER: the container runs as root", dockerfile.file, line
                )
        elif user.split(":", 1)[0] in ("root", "0"):
            yield Hit(f"USER {user} runs the container as root", dockerfile.file, line)


@check(
    "PR-IMG-006",
    "image",
    Severity.WARNING,
    title="USER is a numeric UID",
    why="Kubernetes `runAsNonRoot` can only verify a numeric user; a user name makes the "
    "kubelet refuse the pod or forces you to drop the check.",
    fix="Use the numeric form, e.g. `USER 10001:10001`, creating that UID in the image.",
)
def numeric_user(ctx: Context) -> Iterator[Hit]:
    """Check that the final USER is numeric."""
    for dockerfile in ctx.dockerfiles:
        user, line = _final_user(dockerfile)
        if user is not None and not user.split(":", 1)[0].isdigit():
            yield Hit(f"USER {user} is a name, not a numeric UID", dockerfile.file, line)


@check(
    "PR-IMG-007",
    "image",
    Severity.ERROR,
    title="Something checks the container's health",
    why="Without a HEALTHCHECK or platform probes, a hung process keeps receiving traffic "
    "and a broken release is reported as deployed.",
    fix="Add a HEALTHCHECK to the final stage, or probes in the platform config "
    "(prodready renders both; answer `platform`).",
)
def healthcheck(ctx: Context) -> Iterator[Hit]:
    """Check that the image has a HEALTHCHECK, or the platform config probes it."""
    if (
        ctx.workloads
        or ctx.cloudrun_services
        or any(_fly_checks(cfg) for _, cfg in ctx.fly_configs)
        or any(
            "healthcheck" in service
            for defs in ctx.compose_services.values()
            for _, service in defs
        )
    ):
        return
    for dockerfile in ctx.dockerfiles:
        final = dockerfile.final
        check_ins = final.last("HEALTHCHECK") if final else None
        if check_ins is None or check_ins.value.upper().startswith("NONE"):
            yield Hit(
                "no HEALTHCHECK in the final stage and no platform probes",
                dockerfile.file,
                final.line if final else None,
            )


def _fly_checks(config: dict[str, object]) -> bool:
    """Whether a fly.toml defines any health check."""
    from .platforms import fly_checks  # noqa: PLC0415 - platforms imports this module

    return bool(fly_checks(config))


@check(
    "PR-IMG-008",
    "image",
    Severity.ERROR,
    title="No secrets in ENV or ARG",
    why="ENV values and build arguments are stored in the image's history and metadata: "
    "anyone who can pull the image can read them.",
    fix="Inject secrets at run time (Kubernetes Secrets, `fly secrets set`, an env file) and "
    "use `RUN --mount=type=secret` for build-time secrets.",
)
def no_secrets(ctx: Context) -> Iterator[Hit]:
    """No ENV or ARG with a secret-looking name carries a value."""
    for dockerfile in ctx.dockerfiles:
        for ins in dockerfile.instructions:
            if ins.cmd not in ("ENV", "ARG"):
                continue
            for name, value in split_pairs(ins.value).items():
                if not SECRET_NAME.search(name) or _SECRET_POINTER.search(name):
                    continue
                if ins.cmd == "ARG" or value:
                    yield Hit(
                        f"{ins.cmd} {name} puts a secret into the image", dockerfile.file, ins.line
                    )


# What a .dockerignore must keep out of the build context, by language.
_IGNORED = {
    None: (".git", ".env"),
    "node": ("node_modules",),
    "python": (".venv", "__pycache__"),
}


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore pattern (filepath.Match plus '**') as a regular expression."""
    out = []
    index = 0
    pattern = pattern.strip().strip("/")
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            if pattern.startswith("/", index):
                out[-1] = "(?:.*/)?"
                index += 1
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
        index += 1
    return re.compile("".join(out) + "(?:/.*)?$")


def ignored(patterns: list[str], path: str) -> bool:
    """Whether a .dockerignore with these lines keeps `path` out of the context."""
    result = False
    for raw in patterns:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if _ignore_regex(line.removeprefix("!")).match(path):
            result = not negate
    return result


@check(
    "PR-IMG-009",
    "image",
    Severity.ERROR,
    title=".dockerignore keeps .git, .env and dependency folders out",
    why="Whatever is in the build context can end up in the image: .env files leak secrets, "
    ".git leaks history, and host dependency folders break reproducible installs.",
    fix="Add them to .dockerignore; `prodready new . --skip-existing` renders a broad one.",
)
def dockerignore(ctx: Context) -> Iterator[Hit]:
    """Each Dockerfile's context has a .dockerignore covering the essentials."""
    for dockerfile in ctx.dockerfiles:
        folder = dockerfile.file.rpartition("/")[0]
        rel = f"{folder}/.dockerignore" if folder else ".dockerignore"
        own = f"{dockerfile.file}.dockerignore"
        source = own if ctx.repo.exists(own) else rel
        text = ctx.repo.text(source) if ctx.repo.exists(source) else None
        if text is None:
            yield Hit(f"no .dockerignore beside {dockerfile.file}", dockerfile.file)
            continue
        wanted = [*_IGNORED[None]]
        for language in ctx.source.languages:
            wanted += _IGNORED.get(language, ())
        missing = [path for path in wanted if not ignored(text.splitlines(), path)]
        if missing:
            yield Hit(f".dockerignore does not exclude {', '.join(missing)}", source)
