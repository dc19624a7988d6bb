"""API key format and hashing, shared by the API (checking keys) and the CLI (issuing them)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "tf_"


@dataclass(frozen=True)
class NewKey:
    raw: str
    prefix: str
    key_hash: str


def hash_key(raw: str) -> str:
    """SHA-256 suffices: keys carry 256 bits of randomness, so there is nothing to brute-force."""
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_key() -> NewKey:
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(raw=raw, prefix=raw[:10], key_hash=hash_key(raw))
