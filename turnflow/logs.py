"""Logging of the turnflow processes: plain text for a terminal, or one JSON object per line for a log pipeline,
each carrying the turn, chat, session, account and trace ids it knows."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace

from models.log_context import log_ids

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Extras the Temporal SDK's workflow and activity loggers attach to their records.
_TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity")


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **log_ids(),
        }
        for extra in _TEMPORAL_EXTRAS:
            details = getattr(record, extra, None)
            if isinstance(details, dict):
                entry.setdefault("workflowId", details.get("workflow_id"))
                if "activity_type" in details:
                    entry["activity"] = details["activity_type"]
                    entry["attempt"] = details.get("attempt")
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["traceId"] = trace.format_trace_id(span.trace_id)
            entry["spanId"] = trace.format_span_id(span.span_id)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps({k: v for k, v in entry.items() if v is not None}, default=str)


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    """Raises ValueError for an unknown level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.captureWarnings(True)  # a library's warning is a line like the others, not raw text on stderr
