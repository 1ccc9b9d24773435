"""The per-request lines (access and decision): batched on the event loop, yet in order
with every other line, never lost at a clean stop, and silent below their level."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime

import pytest
import structlog

from gymgate import request_lines
from gymgate.logs import InOrderStreamHandler


def logged(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def gate_log() -> logging.Logger:
    log = logging.getLogger("test.request_lines")
    log.setLevel(logging.INFO)
    return log


async def test_lines_wait_for_the_batch_then_come_out_in_order(
    gate_log: logging.Logger, capfd: pytest.CaptureFixture[str]
) -> None:
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        request_lines.write_line(gate_log, "verify", {"result": "allow"})
        request_lines.write_line(gate_log, "request", {"status": 200})
        assert capfd.readouterr().err == ""  # batched, not yet written

        warning = logging.LogRecord("gymgate", logging.WARNING, "", 0, "disk full", None, None)
        InOrderStreamHandler().emit(warning)  # anything else logged writes the batch first
    finally:
        structlog.contextvars.clear_contextvars()

    err = capfd.readouterr().err
    lines = logged("\n".join(err.splitlines()[:2]))
    assert [line["event"] for line in lines[:2]] == ["verify", "request"]
    assert lines[0]["request_id"] == "r-1"
    assert lines[0]["logger"] == "test.request_lines"
    assert "disk full" in err.splitlines()[2]


async def test_a_batch_is_written_by_itself_soon_after(
    gate_log: logging.Logger, capfd: pytest.CaptureFixture[str]
) -> None:
    request_lines.write_line(gate_log, "verify", {"result": "deny"})
    deadline = asyncio.get_running_loop().time() + 5
    text = ""
    while not text and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(request_lines.FLUSH_SECONDS)
        text = capfd.readouterr().err

    assert [line["result"] for line in logged(text)] == ["deny"]


def test_off_the_loop_a_line_is_written_at_once_and_below_its_level_not_at_all(
    gate_log: logging.Logger, capfd: pytest.CaptureFixture[str]
) -> None:
    request_lines.write_line(gate_log, "verify", {"result": "allow"})
    assert [line["event"] for line in logged(capfd.readouterr().err)] == ["verify"]

    gate_log.setLevel(logging.WARNING)
    request_lines.write_line(gate_log, "verify", {"result": "allow"})
    request_lines.flush()
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "moment",
    [1_764_626_400.0, 1_764_626_400.000001, 1_764_626_400.123456, 1_764_626_459.999999],
)
def test_a_line_is_stamped_as_isoformat_would_to_the_microsecond(moment: float) -> None:
    stamped = request_lines.timestamp(moment)
    earlier_second = request_lines.timestamp(moment - 1)  # the cached second moves on

    for text, at in ((stamped, moment), (earlier_second, moment - 1)):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", text), text
        assert abs(datetime.fromisoformat(text).timestamp() - at) < 2e-6
