"""Tracing is off unless the standard OTEL_* variables ask for it; JSON log lines carry the ids bound where the work
happens and stay one line even with a traceback."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from models.log_context import bind_log_ids
from turnflow.logs import JsonLogFormatter
from turnflow.tracing import tracing_wanted


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_tracing_follows_the_otel_variables(env: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(env) is wanted


async def test_json_lines_carry_the_bound_ids_of_their_task() -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonLogFormatter())
    log = logging.getLogger("turnflow.test_json_lines")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    async def turn_work() -> None:
        bind_log_ids(turn_id="t-1", chat_id="c-1")
        bind_log_ids(account_id="a-1")
        log.info("step %d done", 1)
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            log.exception("tool failed")

    try:
        await asyncio.create_task(turn_work())
        log.warning("outside the turn")
    finally:
        log.removeHandler(handler)
    first, failure, outside = (json.loads(line) for line in lines.getvalue().splitlines())
    assert first["message"] == "step 1 done" and first["level"] == "INFO" and first["logger"] == log.name
    assert (first["turnId"], first["chatId"], first["accountId"]) == ("t-1", "c-1", "a-1")
    assert failure["level"] == "ERROR" and "ValueError: boom" in failure["exception"]
    assert "turnId" not in outside, "ids bound in a task stay in that task"
