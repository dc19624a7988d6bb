"""JSON text for what the import writes, encoded once per row by orjson: at tens of thousands of rows the standard
encoder is a good part of a run's time."""

from __future__ import annotations

import json
from typing import Any

import orjson

from turnflow.importing.legacy_messages import MalformedMessage


def encode(value: Any) -> str:
    """Compact JSON, UUIDs and times as text; integers past 64 bits (orjson refuses them) through the standard
    encoder; a lone surrogate, which PostgreSQL cannot store, makes the value malformed."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        if "surrogates" in str(exc):
            raise MalformedMessage("text is not valid Unicode (a lone surrogate)") from None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
