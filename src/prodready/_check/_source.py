"""The service's own source code: its languages, its files and the paths it serves.

This is a static look, not a parser per framework: a path counts as served when
it appears as a string literal in the service's (non-test) source, the way
Express, Fastify, FastAPI, Flask, Django and Go's ServeMux all register routes
(`app.get('/health')`, `path("health/ready")`, `mux.HandleFunc("GET /metrics")`),
or in a table of path constants they read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._repo import Repo

__all__ = ["Source", "normalise_path"]

# Manifests that say which language a directory holds.
_MARKERS = {
    "package.json": "node",
    "go.mod": "go",
    "pyproject.toml": "python",
    "requirements.txt": "python",
    "setup.py": "python",
    "manage.py": "python",
}
_SUFFIXES = {
    "node": (".ts", ".js", ".mjs", ".cjs", ".tsx", ".jsx"),
    "go": (".go",),
    "python": (".py",),
}
_TEST_PARTS = frozenset({"test", "tests", "__tests__", "spec", "testdata", "e2e", "migrations"})
_TEST_NAME = re.compile(
    r"(^test_.*\.py$|_test\.(go|py)$|\.(test|spec)\.[cm]?[jt]sx?$|^conftest\.py$)"
)
# Tooling configuration, not the service (eslint.config.js, jest.config.ts, ...).
_CONFIG_NAME = re.compile(r"\.config\.[cm]?[jt]s$|^(gulpfile|Gruntfile)\.")
_STRING = re.compile(r"""(?:"([^"\\\n]{1,200})"|'([^'\\\n]{1,200})'|`([^`\\\n]{1,200})`)""")
_ROUTE_LIKE = re.compile(
    r"^(?:(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) )?\^?/?[\w.\-/{}:<>*]*\$?$"
)


def normalise_path(path: str) -> str:
    """Return a route or probe path compared without method, regex anchors, query or slashes."""
    path = re.sub(r"^(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) ", "", path.strip())
    path = path.split("?", 1)[0].removeprefix("^").removesuffix("$").removesuffix("/?")
    return path.strip("/")


@dataclass(frozen=True)
class Source:
    """The service code of one repository.

    Attributes:
        languages: 'node', 'go' and/or 'python', in that order when several.
        files: The non-test source files of those languages.

    """

    languages: tuple[str, ...]
    files: tuple[str, ...]
    repo: Repo

    @classmethod
    def read(cls, repo: Repo) -> Source:
        """Find the languages (by their manifests) and the service's source files."""
        found = {_MARKERS[name] for name in _MARKERS if repo.named(name)}
        languages = tuple(lang for lang in ("node", "go", "python") if lang in found)
        suffixes = tuple(s for lang in languages for s in _SUFFIXES[lang])
        files = tuple(
            rel
            for rel in repo.files
            if suffixes
            and rel.endswith(suffixes)
            and not _TEST_PARTS.intersection(rel.split("/")[:-1])
            and not _TEST_NAME.search(rel.rsplit("/", 1)[-1])
            and not _CONFIG_NAME.search(rel.rsplit("/", 1)[-1])
        )
        return cls(languages, files, repo)

    def texts(self) -> list[tuple[str, str]]:
        """(file, text) of every readable source file."""
        out = []
        for rel in self.files:
            text = self.repo.text(rel)
            if text is not None:
                out.append((rel, text))
        return out

    def served_paths(self) -> set[str]:
        """Normalised string literals of the source that look like routes."""
        paths: set[str] = set()
        for _rel, text in self.texts():
            for match in _STRING.finditer(text):
                literal = next(group for group in match.groups() if group is not None)
                if _ROUTE_LIKE.match(literal):
                    paths.add(normalise_path(literal))
        return paths

    def search(self, pattern: re.Pattern[str]) -> tuple[str, int] | None:
        """(file, line) of the first match of pattern in the source, or None."""
        for rel, text in self.texts():
            match = pattern.search(text)
            if match:
                return rel, text.count("\n", 0, match.start()) + 1
        return None

    def dependency_text(self) -> str:
        """Return the dependency manifests concatenated (package.json, go.mod, requirements...)."""
        names = ("package.json", "go.mod", "pyproject.toml", "requirements.txt", "Pipfile")
        parts = [self.repo.text(rel) or "" for rel in self.repo.named(*names)]
        parts += [self.repo.text(rel) or "" for rel in self.repo.matching("requirements*.txt")]
        return "\n".join(parts)
