"""The JSON log lines: an error carries its type, message and traceback."""

from __future__ import annotations

import json
import logging

import pytest

from app.logs import configure_logging


def test_an_exception_is_logged_with_type_message_and_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info")  # after capsys took stdout over
    capsys.readouterr()
    try:
        raise ValueError("the reason it failed")  # noqa: TRY301 (the logged exception)
    except ValueError:
        logging.getLogger("app.views").exception("request failed")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert (entry["level"], entry["msg"]) == ("error", "request failed")
    assert entry["logger"] == "app.views"
    assert entry["err"]["type"] == "ValueError"
    assert entry["err"]["message"] == "the reason it failed"
    assert entry["err"]["stack"].startswith("Traceback (most recent call last):")
    assert 'raise ValueError("the reason it failed")' in entry["err"]["stack"]
