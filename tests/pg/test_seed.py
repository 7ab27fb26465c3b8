"""cruddur_ops.pg.seed: idempotent seeding of users and activities with the seed file's uuids."""

from __future__ import annotations

import pytest

from cruddur_ops.pg import schema
from cruddur_ops.pg import seed as pgseed
from cruddur_ops.seeds import activities as activities_file
from cruddur_ops.seeds import seedfile


@pytest.mark.integration
def test_seed_inserts_the_files_users_with_their_uuids_and_a_rerun_adds_nothing(pg_conn, schema_sql, seed_file):
    schema.load(pg_conn, schema_sql)
    seed = seedfile.read(seed_file)
    handles = {u.handle for u in seed.users}
    activities = activities_file.parse_activities(seed.activities, handles, seed_file)
    activities += activities_file.read_activities(seed_file.with_name("activities.yaml"), handles)

    first = pgseed.seed(pg_conn, seed.users, activities)
    assert first == {"users": {"inserted": 3, "existing": 0}, "activities": {"inserted": 3, "existing": 0}, "mismatched": []}
    rows = dict(pg_conn.execute("SELECT handle, uuid::text FROM users").fetchall())
    assert rows == {u.handle: u.uuid for u in seed.users}
    assert rows["ada"] == "0a0a0a0a-1111-4222-8333-444444444401"

    second = pgseed.seed(pg_conn, seed.users, activities)
    assert second["users"] == {"inserted": 0, "existing": 3}
    assert second["activities"] == {"inserted": 0, "existing": 3}
    assert pg_conn.execute("SELECT count(*) FROM activities").fetchone()[0] == 3
    created = pg_conn.execute(
        "SELECT a.created_at FROM activities a JOIN users u ON u.uuid = a.user_uuid WHERE u.handle = 'bo'").fetchone()[0]
    assert created.isoformat().startswith("2024-01-03T10:00:00")


@pytest.mark.integration
def test_a_handle_taken_by_another_uuid_is_reported_not_overwritten(pg_conn, schema_sql, seed_file):
    schema.load(pg_conn, schema_sql)
    pg_conn.execute("INSERT INTO users (uuid, handle, display_name) VALUES ('99999999-9999-4999-8999-999999999999', 'ada', 'Other Ada')")
    report = pgseed.seed(pg_conn, seedfile.read(seed_file).users, [])
    assert report["users"] == {"inserted": 2, "existing": 1}
    assert report["mismatched"] == [{
        "handle": "ada", "seed_uuid": "0a0a0a0a-1111-4222-8333-444444444401",
        "database_uuid": "99999999-9999-4999-8999-999999999999", "database_handle_of_seed_uuid": None}]
    assert pg_conn.execute("SELECT display_name FROM users WHERE handle = 'ada'").fetchone()[0] == "Other Ada"
