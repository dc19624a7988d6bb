"""Facts about the turn stream log shared by its writers (activities) and its readers (the API)."""

from __future__ import annotations

# pg_notify channel; the payload is "<turn id>:<last seq written>".
TURN_EVENTS_CHANNEL = "turn_events"
# Chunks after which a turn's stream has nothing more to say.
TERMINAL_CHUNK_TYPES = frozenset({"finish", "abort", "error"})
