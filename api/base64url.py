"""Unpadded URL-safe base64, the form of the opaque strings the API hands out (cursors, browser tokens)."""

from __future__ import annotations

import base64


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str) -> bytes:
    """Raises ValueError (binascii.Error) on text that is not base64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
