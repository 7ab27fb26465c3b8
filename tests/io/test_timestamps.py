"""cruddur_ops.io.timestamps: read any ISO 8601 spelling with an offset; write aware UTC with microseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cruddur_ops.io import timestamps


@pytest.mark.parametrize("text", ["2024-02-28T23:50:00+00:00", "2024-02-28T23:50:00Z", "2024-02-29T01:50:00+02:00",
                                  "2024-02-28T23:50:00.000000+00:00", "2024-02-28 23:50:00+00:00"])
def test_every_iso_spelling_with_an_offset_is_the_same_moment(text):
    assert timestamps.parse(text) == datetime(2024, 2, 28, 23, 50, tzinfo=UTC)


@pytest.mark.parametrize("value, message", [
    ("2024-02-28T23:50:00", "has no UTC offset"),
    (datetime(2024, 2, 28, 23, 50), "has no UTC offset"),
    ("yesterday", "is not an ISO 8601 timestamp"),
])
def test_a_time_without_an_offset_or_not_a_time_says_what_is_wrong(value, message):
    with pytest.raises(ValueError, match=message):
        timestamps.parse(value)


def test_written_times_are_utc_with_microseconds():
    moment = datetime(2026, 12, 1, 7, 50, 31, tzinfo=timezone(timedelta(hours=2)))
    assert timestamps.format_utc(moment) == "2026-12-01T05:50:31.000000+00:00"
    assert timestamps.parse(timestamps.format_utc()).tzinfo is not None
    with pytest.raises(ValueError, match="needs a timezone"):
        timestamps.format_utc(datetime(2026, 12, 1))
