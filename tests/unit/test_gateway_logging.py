"""The gateway keeps the logging its process set up: JSON lines at LOG_LEVEL, as every service.

Litestar's default logging configuration replaced the root handler with a plain-text one at
INFO, so the gateway's lines could not be parsed by the log shipper, LOG_LEVEL was ignored and
every request's access line was formatted in a separate thread (docs/performance.md #34).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from gateway.app import create_app
from services.runtime import logs
from services.runtime.settings import Settings


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_gateway_leaves_the_processes_json_logging_and_level_alone(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("gateway", "WARNING", as_json=True)
    create_app(Settings())
    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert [type(h.formatter) for h in root.handlers] == [logs.JsonFormatter]
    logging.getLogger("gateway.access").info("GET / 200")  # below LOG_LEVEL: not written
    # uvicorn adds a coloured copy of its messages for its own formatter; it has no place in JSON
    logging.getLogger("gateway.access").warning(
        "slow %s", "GET /", extra={"route": "/", "color_message": "\x1b[1mslow\x1b[0m %s"}
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["process"] == "gateway" and record["msg"] == "slow GET /" and record["route"] == "/"
    assert "color_message" not in record
