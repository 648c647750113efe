"""Logs never carry personal fields, from our own code or from a library's logger."""

import json
import logging

import pytest
import structlog

from shared.logging import configure_logging


@pytest.fixture(autouse=True)
def logging_outlives_the_capture():
    """configure_logging binds the stdout of the moment: here capsys's, closed after each test. Bind the
    session's again, or every later test of this process that logs writes to a closed file (and an
    exception inside a running event loop leaves that loop marked as running for the tests after it)."""
    yield
    configure_logging("test")


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_personal_fields_are_redacted_at_any_depth(capsys):
    configure_logging("test")
    structlog.get_logger().info(
        "contact.saved", email="ana@example.com", note="wrote to ana@example.com",
        people=[{"display_name": "Ana", "id": "p1"}], detail={"to": "bo@example.com", "reason": "mail bo@example.com"},
    )
    [line] = lines(capsys)
    assert line["email"] == "[redacted]"
    assert line["note"] == "wrote to [email]"
    assert line["people"] == [{"display_name": "[redacted]", "id": "p1"}]
    assert line["detail"] == {"to": "[redacted]", "reason": "mail [email]"}


def test_library_log_lines_are_json_and_scrubbed(capsys):
    configure_logging("test")
    logging.getLogger("some.library").warning("POST https://hooks.acme.test/jane.doe@acme.com/token123 failed")
    [line] = lines(capsys)
    assert line["event"] == "POST https://hooks.acme.test/[redacted] failed"
    assert line["service"] == "test" and line["level"] == "warning"


def test_http_client_request_lines_are_not_logged_at_info(capsys):
    configure_logging("test")
    logging.getLogger("httpx").info("HTTP Request: POST https://hooks.acme.test/x")
    assert lines(capsys) == []
