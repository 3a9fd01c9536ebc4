"""Compile each Jinja source once per update, not once per render.

`copier update` renders the template three times (the old version, the new one
into the project, the new one again for the merge), each with a fresh Jinja
environment, so every file body and every file name is compiled three times;
compiling is half of an update's time. Compilation is deterministic given the
source and the environment's syntax settings, so `shared_compilation` memoizes
it across environments whose settings agree.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from jinja2 import Environment

__all__ = ["shared_compilation"]


def _settings(env: Environment) -> tuple[object, ...]:
    """Everything of an environment that changes the code Jinja generates."""
    return (
        type(env),
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        env.is_async,
        tuple(sorted(env.extensions)),
        # Callables are compared by identity: another environment's never matches.
        env.autoescape if isinstance(env.autoescape, bool) else id(env.autoescape),
        id(env.finalize) if env.finalize is not None else None,
    )


@contextlib.contextmanager
def shared_compilation() -> Iterator[None]:
    """Memoize `Environment.compile` while the block runs (one update)."""
    original: Any = Environment.compile
    cache: dict[tuple[object, ...], Any] = {}

    def compile_once(  # noqa: PLR0913, PLR0917 - Environment.compile's own signature
        self: Environment,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if not isinstance(source, str):
            return original(self, source, name, filename, raw, defer_init)
        key = (_settings(self), source, name, raw, defer_init)
        if key not in cache:
            cache[key] = original(self, source, name, filename, raw, defer_init)
        return cache[key]

    Environment.compile = compile_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        Environment.compile = original  # type: ignore[method-assign]
