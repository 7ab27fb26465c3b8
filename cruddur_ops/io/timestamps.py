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


def looks_like_timestamp(value: str) -> bool:
    """``value`` is an ISO 8601 date-time (any spelling: ``Z``, an offset, a space, basic format)."""
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return False
    return isinstance(parsed, datetime) and len(str(value).strip()) > 10


def normalize(value: Any) -> str:
    """Any ISO 8601 spelling of an instant in the form cruddur writes (aware UTC, microseconds), so that string
    comparison with stored timestamps is time comparison: ``…23:53:00Z``, ``…23:53:00+00:00`` and
    ``2024-02-29T00:53:00+01:00`` are all ``2024-02-28T23:53:00.000000+00:00``. A time without an offset is
    taken as UTC (as the app's naive timestamps sort)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_utc(parsed)
