"""Sorts model failures into retryable and not, for Temporal's retry policy (the SDK itself never retries)."""

from __future__ import annotations

import email.utils
import time
from datetime import timedelta
from typing import Any

import anthropic
from temporalio.exceptions import ApplicationError

RETRYABLE_STATUSES = frozenset({408, 409, 429, 529})
RETRYABLE_ERROR_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


def _retry_after(headers: Any) -> timedelta | None:
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return timedelta(milliseconds=float(ms))
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return timedelta(seconds=float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw)
        return timedelta(seconds=max(0.0, parsed.timestamp() - time.time()))


def _error_type(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return str(error["type"])
    return None


def to_application_error(exc: anthropic.AnthropicError) -> ApplicationError:
    """408/409/429/5xx/529, overloaded mid-stream errors and dropped connections retry; other 4xx do not."""
    if isinstance(exc, anthropic.APIConnectionError):  # includes timeouts
        return ApplicationError(f"model connection failed: {exc}", type="ModelConnectionError")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        error_type = _error_type(exc.body)
        if status == 200:  # an `event: error` inside a stream that had started
            retryable = error_type in RETRYABLE_ERROR_TYPES
        else:
            retryable = status in RETRYABLE_STATUSES or status >= 500
        return ApplicationError(
            f"model answered {status} {error_type or ''}: {exc.message}".strip(),
            type=f"ModelHTTP{status}",
            non_retryable=not retryable,
            next_retry_delay=_retry_after(exc.response.headers) if retryable else None,
        )
    return ApplicationError(f"model call failed: {exc}", type="ModelError", non_retryable=True)
