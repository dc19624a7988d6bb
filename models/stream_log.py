"""Facts about the turn stream log shared by its writers (activities) and its readers (the API)."""

from __future__ import annotations

# pg_notify channel; the payload is "<turn id>:<last seq written>".
TURN_EVENTS_CHANNEL = "turn_events"
# Chunks after which a turn's stream has nothing more to say.
TERMINAL_CHUNK_TYPES = frozenset({"finish", "abort", "error"})
# pg_notify channel for stop requests; the payload is the turn id. The fast path of a stop: Temporal's own
# cancellation reaches an activity only at its next heartbeat, seconds later.
TURN_CONTROL_CHANNEL = "turn_control"
# ApplicationError type an activity raises when a stop request ended it.
TURN_STOPPED_ERROR = "TurnStopped"
