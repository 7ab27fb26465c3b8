"""The one timestamp parser and formatter: read any ISO 8601 spelling with an offset, write aware UTC with microseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse(value: Any) -> datetime:
    """An ISO 8601 timestamp with a UTC offset; ValueError saying what is wrong otherwise."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"'{value}' is not an ISO 8601 timestamp (e.g. 2024-02-28T23:50:00+00:00)") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"'{value}' has no UTC offset; write it as e.g. 2024-02-28T23:50:00+00:00")
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"'{value}' falls outside the years 1 to 9999 once converted to UTC") from None
    return parsed


def format_utc(moment: datetime | None = None) -> str:
    """``moment`` (default: now) as aware UTC with microseconds: ``2026-12-01T05:50:31.000000+00:00``."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("a message time needs a timezone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
