"""Times taken from requests, as UTC and within range, so a far-off time answers 422 instead of failing in the
database driver."""

from __future__ import annotations

from datetime import UTC, datetime

from api.problems import ProblemError


def utc_moment(moment: datetime, field: str) -> datetime:
    """A time without an offset is read as UTC; one whose UTC reading falls outside years 1-9999 is refused."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ProblemError(422, "validation-error", f"{field}: the time is out of range", field=field) from exc
