"""cruddur_ops.seeds.activities: the activities file, validated with file, line and field; stable uuids."""

from __future__ import annotations

import pytest

from cruddur_ops.errors import SeedError
from cruddur_ops.seeds import activities as activities_file
from cruddur_ops.seeds import seedfile


def _activities(tmp_path, body: str):
    path = tmp_path / "activities.yaml"
    path.write_text(body, encoding="utf-8")
    return lambda: activities_file.read_activities(path, {"ada", "bo"})


def test_activities_get_stable_uuids(tmp_path):
    read = _activities(tmp_path, "activities:\n  - {handle: ada, message: hi}\n  - {handle: bo, message: hi}\n")
    first, second = read(), read()
    assert [a.uuid for a in first] == [a.uuid for a in second]
    assert first[0].uuid != first[1].uuid


@pytest.mark.parametrize("body, message", [
    ("activities:\n  - {handle: ada, message: ok}\n  - {handle: zed, message: hi}\n",
     r"activities\.yaml:3: activities\[1\]\.handle: unknown handle 'zed'"),
    ("activities:\n  - handle: ada\n    message: " + "x" * 281 + "\n", r":3: activities\[0\]\.message: message of 281 characters"),
    ("activities:\n  - {handle: ada, message: hi, created_at: 2024-01-01T00:00:00}\n", r"has no UTC offset"),
    ("activities:\n  - {handle: ada}\n", r"missing required field 'message'"),
    ("activities:\n  - {handle: ada, message: hi, likes: 3}\n", r"unknown field 'likes'"),
    ("stuff: []\n", r"unknown field 'stuff'"),
])
def test_bad_activities_name_file_line_and_field(tmp_path, body, message):
    with pytest.raises(SeedError, match=message):
        _activities(tmp_path, body)()


def test_the_shipped_activities_fit_the_shipped_seed_file():
    from cruddur_ops import defaults

    seed = seedfile.read(defaults.seed_file())
    activities = activities_file.read_activities(defaults.seeds_dir() / "activities.yaml", {u.handle for u in seed.users})
    assert len(activities) >= 3
