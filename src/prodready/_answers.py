"""Answers: parse them from the command line, check them, explain Copier's complaints."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from copier.errors import UserMessageError
from plumbum import ProcessExecutionError

from .errors import AnswerError, TemplateError, UserError

__all__ = ["check_answers", "copier_errors", "load_data_file", "parse_data"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The messages Copier's answer validation raises as ValueError.
_VALIDATION = re.compile(r"^Validation error for question '(?P<key>[^']+)': (?P<why>.*)$", re.S)
_CHOICE = re.compile(r"^Invalid choice for '(?P<key>[^']+)': (?P<why>.*)$", re.S)
_NOT_IN = re.compile(r"^(?P<value>.*) is not in (?P<allowed>\[.*\])$", re.S)
_REQUIRED = re.compile(r'^Question "(?P<key>[^"]+)" is required$')
_UNKNOWN_REF = re.compile(r"^Unknown revision: '(?P<ref>.*)'$")
_INT_LIKE = re.compile(r"^[+-]?\d+$")


def parse_data(items: Iterable[str]) -> dict[str, str]:
    """Parse `--data KEY=VALUE` arguments.

    Values stay strings: Copier casts them to each question's type.

    Raises:
        AnswerError: An item has no '=' or its key is not a valid name.

    """
    data: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise AnswerError(
                f"malformed --data {item!r}: expected KEY=VALUE, e.g. --data port=8080"
            )
        data[key] = value
    return data


def load_data_file(path: Path) -> dict[str, Any]:
    """Read answers from a YAML file holding a mapping of question keys to answers.

    Raises:
        AnswerError: The file is missing, unreadable, not YAML or not a mapping.

    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnswerError(f"data file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnswerError(f"cannot read data file {path}: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise AnswerError(f"data file {path} is not valid YAML{line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise AnswerError(f"data file {path} must be a YAML mapping of question keys to answers")
    return data


def check_answers(data: Mapping[str, Any], questions: Mapping[str, Any]) -> None:
    """Reject keys that are not questions and values Copier could not even cast.

    Copier ignores unknown keys silently and reports a bad integer without
    naming the question, so both are caught here, before anything renders.

    Raises:
        AnswerError: On the first offending key, in the order given.

    """
    for key, value in data.items():
        if key not in questions:
            known = ", ".join(sorted(questions))
            raise AnswerError(f"unknown answer key {key!r}; known keys: {known}")
        question = questions[key] if isinstance(questions[key], dict) else {}
        if value is None:
            raise AnswerError(f"invalid answer {key}=null: needs a value")
        kind = question.get("type")
        if kind == "int" and not _is_int(value):
            raise AnswerError(f"invalid answer {key}={_show(value)}: must be an integer")
        if kind == "float" and not _is_float(value):
            raise AnswerError(f"invalid answer {key}={_show(value)}: must be a number")


@contextmanager
def copier_errors(data: Mapping[str, Any], src: str, error: type[UserError]) -> Iterator[None]:
    """Turn what Copier raises for bad input into one-line prodready errors.

    Args:
        data: The answers passed to Copier (to name the offending value).
        src: The template source (to name it in fetch errors).
        error: The class for Copier's own user-facing refusals.

    Raises:
        AnswerError: An answer failed a validator or is not an allowed choice.
        TemplateError: The template could not be fetched or checked out.
        UserError: Any other refusal of Copier's, as `error`.

    """
    try:
        yield
    except ValueError as exc:
        translated = _from_value_error(str(exc), data, src)
        if translated is None:
            raise
        raise translated from None
    except UserMessageError as exc:
        raise error(_one_line(str(exc))) from None
    except ProcessExecutionError as exc:
        stderr = [line for line in str(exc.stderr).splitlines() if line.strip()]
        why = _one_line(stderr[-1]) if stderr else f"git exited with {exc.retcode}"
        raise TemplateError(f"cannot fetch template {src}: {why}") from None


def _from_value_error(message: str, data: Mapping[str, Any], src: str) -> UserError | None:
    """Translate one of Copier's ValueErrors (None for any other ValueError: a bug)."""
    for pattern in (_VALIDATION, _CHOICE):
        match = pattern.match(message)
        if match:
            key, why = match["key"], _one_line(match["why"])
            not_in = _NOT_IN.match(why)
            if not_in:
                why = "must be one of " + ", ".join(map(str, _literal_list(not_in["allowed"])))
            if key in data:
                return AnswerError(f"invalid answer {key}={_show(data[key])}: {why}")
            return AnswerError(
                f"invalid default for {key} (derived from other answers): {why}; "
                f"set it with --data {key}=VALUE"
            )
    match = _REQUIRED.match(message)
    if match:
        return AnswerError(f"missing answer {match['key']}: pass --data {match['key']}=VALUE")
    match = _UNKNOWN_REF.match(message)
    if match:
        return TemplateError(f"unknown template version {match['ref']!r} in {src}")
    if message == "Local template must be a directory.":
        return TemplateError(f"template not found: {src} is not a directory")
    return None


def _literal_list(text: str) -> list[Any]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return [text]
    return list(value) if isinstance(value, list) else [value]


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (
        isinstance(value, str) and bool(_INT_LIKE.match(value.strip()))
    )


def _is_float(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _show(value: Any) -> str:
    """Show a value as the user typed it, on one line."""
    return _one_line(value if isinstance(value, str) else yaml.safe_dump(value).strip())


def _one_line(text: str) -> str:
    return " ".join(text.split())
