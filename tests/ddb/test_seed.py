"""Seeding: the plan (unit) and the writes on DynamoDB Local (integration)."""

import json
import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from cruddur_ops.ddb import seed as seeding
from cruddur_ops.errors import SeedError
from cruddur_ops.model import group_uuid_for, user_uuid_for
from cruddur_ops.seeds import seedfile
from tests.conftest import SEED

SMALL = """\
users:
  - {handle: ana, display_name: Ana Alves}
  - {handle: bo, display_name: "Bo Ek", uuid: 11111111-2222-4333-8444-555555555555}
  - {handle: cy, display_name: Cy Young}
conversations:
  - between: [ana, bo]
    start: 2024-02-28T23:58:00+00:00
    messages:
      - ana: first
      - bo: "second: with a colon"
      - ana: third, over midnight
  - between: [cy, ana]
    messages:
      - cy: floating one
      - ana: floating two
"""


def write(tmp_path, text=SMALL, name="seed.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


NOW = datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC)


def test_plan_items_follow_the_apps_contract(tmp_path):
    seed = seedfile.read(write(tmp_path))
    users = {u.handle: u for u in seed.users}
    assert users["ana"].uuid == user_uuid_for("ana") and users["bo"].uuid == "11111111-2222-4333-8444-555555555555"
    planned = seeding.plan(seed, users, NOW)
    items = list(seeding.plan_items(planned, users))
    assert len(items) == 5 + 4  # one item per message, two group rows per conversation

    group = group_uuid_for("ana", "bo")
    messages = [i for i in items if i["pk"] == f"MSG#{group}"]
    assert [m["sk"] for m in messages] == ["2024-02-28T23:58:00.000000+00:00", "2024-02-28T23:59:00.000000+00:00",
                                           "2024-02-29T00:00:00.000000+00:00"]
    assert set(messages[0]) == {"pk", "sk", "message_uuid", "message", "user_uuid", "user_display_name", "user_handle"}
    assert messages[1]["user_handle"] == "bo" and messages[1]["message"] == "second: with a colon"

    ana_row = next(i for i in items if i["pk"] == f"GRP#{users['ana'].uuid}" and i["message_group_uuid"] == group)
    assert ana_row == {"pk": f"GRP#{users['ana'].uuid}", "sk": "2024-02-29T00:00:00.000000+00:00", "message_group_uuid": group,
                       "message": "third, over midnight", "user_uuid": users["bo"].uuid,
                       "user_display_name": "Bo Ek", "user_handle": "bo"}


def test_without_start_a_conversation_ends_just_before_now(tmp_path):
    seed = seedfile.read(write(tmp_path))
    users = {u.handle: u for u in seed.users}
    floating = seeding.plan(seed, users, NOW)[1]
    assert floating.timestamps == ["2025-01-01T11:58:30.000000+00:00", "2025-01-01T11:59:30.000000+00:00"]
    assert all(datetime.fromisoformat(t) < NOW for t in floating.timestamps)


def test_start_offsets_are_kept_in_utc(tmp_path):
    seed = seedfile.read(write(tmp_path, SMALL.replace("2024-02-28T23:58:00+00:00", "2024-02-29T01:58:00+02:00")))
    users = {u.handle: u for u in seed.users}
    assert seeding.plan(seed, users, NOW)[0].timestamps[0] == "2024-02-28T23:58:00.000000+00:00"


def test_group_rows_that_would_collide_are_an_error(tmp_path):
    text = SMALL.replace("  - between: [cy, ana]\n", "  - between: [cy, ana]\n    start: 2024-02-28T23:59:00+00:00\n")
    seed = seedfile.read(write(tmp_path, text))
    with pytest.raises(SeedError, match="both end at 2024-02-29T00:00:00.000000\\+00:00 for 'ana'"):
        seeding.plan(seed, {u.handle: u for u in seed.users}, NOW)


def test_the_project_seed_is_valid():
    seed = seedfile.read(SEED)
    assert len(seed.users) >= 5 and len(seed.conversations) >= 5
    seeding.plan(seed, {u.handle: u for u in seed.users})


def test_dry_run_sends_nothing(cli, aws_env, tmp_path):
    doc = cli.json("ddb", "seed", write(tmp_path), "--dry-run", "--endpoint-url", "http://127.0.0.1:9")
    assert doc["dry_run"] and doc["items"] == 9 and doc["messages"] == 5 and doc["group_rows"] == 4
    assert doc["plan"][0]["last_at"] == "2024-02-29T00:00:00.000000+00:00"


# --- on DynamoDB Local -----------------------------------------------------------------------------
def all_items(client):
    pages = client.get_paginator("scan").paginate(TableName="cruddur-messages")
    return [i for p in pages for i in p["Items"]]


@pytest.mark.integration
def test_seed_twice_leaves_the_same_items(messages_table, cli, tmp_path, monkeypatch):
    moments = [datetime.now(UTC)]

    class Clock(datetime):  # the seed's "now", moved by the test instead of by sleeping
        @classmethod
        def now(cls, tz=None):
            return moments[-1].astimezone(tz)

    monkeypatch.setattr(seeding, "datetime", Clock)
    path = write(tmp_path)
    first = cli.json("ddb", "seed", path)
    assert first["items_written"] == 9 and first["conversations"] == 2
    assert first["consumed_capacity"]["total"] > 0 and "cost" in first["consumed_capacity"]
    cost = first["consumed_capacity"]["cost"]  # the run's cost, and what a million such items cost
    assert cost["usd_per_million_items"] == pytest.approx(cost["usd"] / 9 * 1_000_000, rel=1e-3)
    assert "usd_per_million_calls" not in cost
    keys = sorted((i["pk"]["S"], i["sk"]["S"]) for i in all_items(messages_table))
    moments.append(moments[-1] + timedelta(seconds=1))  # "now" moves on, so the floating conversation gets new keys
    second = cli.json("ddb", "seed", path)
    assert second["stale_deleted"] == 4  # the floating conversation moved: its 2 messages and 2 group rows
    after = all_items(messages_table)
    assert len(after) == 9
    fixed = [k for k in keys if "2024-" in k[1]]
    assert fixed == sorted(k for k in ((i["pk"]["S"], i["sk"]["S"]) for i in after) if "2024-" in k[1])


@pytest.mark.integration
def test_the_gsi_holds_group_rows_only(messages_table, cli, tmp_path):
    cli.json("ddb", "seed", write(tmp_path))
    group = group_uuid_for("ana", "bo")
    rows = messages_table.query(TableName="cruddur-messages", IndexName="message-group-sk-index",
                                KeyConditionExpression="message_group_uuid = :g",
                                ExpressionAttributeValues={":g": {"S": group}})["Items"]
    assert sorted(r["pk"]["S"][:4] for r in rows) == ["GRP#", "GRP#"]
    index_count = sum(p["Count"] for p in messages_table.get_paginator("scan").paginate(
        TableName="cruddur-messages", IndexName="message-group-sk-index"))
    assert index_count == 4


@pytest.mark.integration
def test_unknown_handle_writes_nothing(messages_table, cli, tmp_path):
    result = cli("ddb", "seed", write(tmp_path, SMALL.replace("between: [cy, ana]", "between: [cy, zed]")), ok=False)
    assert result.exit_code == 3 and "unknown handle 'zed'" in result.stderr
    assert all_items(messages_table) == []


@pytest.mark.integration
def test_seed_into_a_missing_table_says_how_to_create_it(ddb, cli, tmp_path):
    result = cli("ddb", "seed", write(tmp_path), ok=False)
    assert result.exit_code == 4 and "schema-load" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.integration
def test_seed_output_table_on_stdout_progress_elsewhere(messages_table, cli, tmp_path):
    result = cli("ddb", "seed", write(tmp_path), "-o", "table")
    assert "items written" in result.stdout and "Consumed write capacity" in result.stdout
    assert "cost of this run" in result.stdout and "per million items" in result.stdout
    assert "per million calls" not in result.stdout
    assert json.loads(cli("ddb", "seed", write(tmp_path), "-o", "json").stdout)["items_written"] == 9


@pytest.mark.integration
def test_computed_capacity_matches_what_dynamodb_reports(messages_table, tmp_path):
    """On a fresh table, the write units worked out from item sizes equal DynamoDB's own report."""
    from cruddur_ops.ddb import schema
    from tests.conftest import SCHEMA

    long_text = SMALL.replace("      - bo: \"second: with a colon\"", "      - bo: \"" + "é" * 1500 + "\"")  # a 3 KB item
    seed = seedfile.read(write(tmp_path, long_text))
    reported = seeding.seed(messages_table, seed, seed.users, capacity="reported").capacity
    schema.drop(messages_table, "cruddur-messages")
    schema.load(messages_table, schema.read([SCHEMA]).tables)
    computed = seeding.seed(messages_table, seed, seed.users, capacity="computed").capacity
    assert computed.source == "computed" and reported.source == "reported"
    assert (computed.total, computed.table, computed.indexes) == (reported.total, reported.table, reported.indexes)
    # the message of 3,000+ bytes costs 4 units, the 4 other messages 1 each; the 4 group rows are transactional
    # writes (one row per user per conversation, kept with its clean-up in one transaction): 2 units each
    assert computed.table == 4 + 4 + 4 * 2


@pytest.mark.integration
def test_the_cli_computes_capacity_on_local_engines(messages_table, cli, tmp_path):
    doc = cli.json("ddb", "seed", write(tmp_path))
    assert doc["consumed_capacity"]["source"] == "computed" and doc["consumed_capacity"]["total"] == 5 + 4 * 2 + 4 * 2  # messages; rows (transactional) in table and GSI
    doc = cli.json("ddb", "seed", write(tmp_path), "--capacity", "reported")
    assert doc["consumed_capacity"]["source"] == "reported" and doc["consumed_capacity"]["total"] > 0


# --- issue 15: placed relative to now, inside the current year -------------------------------------------------------
@pytest.mark.parametrize("now", [
    datetime(2027, 1, 2, 0, 30, tzinfo=UTC),       # 2 January: "the last days" would reach into last year
    datetime(2027, 1, 1, 0, 0, 40, tzinfo=UTC),    # 40 seconds into the year
    datetime(2026, 12, 1, 5, 50, 31, tzinfo=UTC),
])
def test_the_shipped_seed_is_placed_before_now_and_never_straddles_a_new_year(now):
    seed = seedfile.read(SEED)
    assert all(c.start is None for c in seed.conversations)  # the shipped file pins no past year
    planned = seeding.plan(seed, {u.handle: u for u in seed.users}, now)
    stamps = [t for pc in planned for t in pc.timestamps]
    assert len(set(stamps)) == len(stamps) == seed.message_count
    for pc in planned:
        assert pc.timestamps == sorted(pc.timestamps)
    moments = [datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f%z") for t in stamps]
    assert all(m.year == now.year and m < now for m in moments)
    lasts = [datetime.fromisoformat(pc.last_at) for pc in planned]
    assert max(lasts) > now - seeding.LEAD - seeding.STEP  # the newest ends just before now
    if now.day > 3:  # spread over the last days
        assert min(lasts) < now - seeding.SPREAD / 2


@pytest.mark.integration
def test_a_reseed_keeps_the_apps_reply_last(messages_table, cli, tmp_path):
    """The trial's order: seed, the app replies (pattern D, as the app writes it), reseed later."""
    from datetime import timedelta

    from cruddur_ops.ddb import messages as app

    path = write(tmp_path)
    seed_file = seedfile.read(path)
    users = list(seed_file.users)
    first_now = datetime.now(UTC) - timedelta(minutes=10)
    seeding.seed(messages_table, seed_file, users, now=first_now, capacity=False)
    group = group_uuid_for("cy", "ana")
    ana = next(u for u in users if u.handle == "ana")
    reply = app.create_message(messages_table, group, ana, "the app's reply", now=first_now + timedelta(minutes=1))
    result = seeding.seed(messages_table, seed_file, users, capacity=False)  # "now" is ten minutes later
    assert result.pinned == 1

    rows = cli.json("ddb", "pattern", "get-conversation", "--group", group)
    texts = [r["message"] for r in (rows["items"] if isinstance(rows, dict) else rows)]
    assert texts == ["floating one", "floating two", "the app's reply"]
    inbox = [i for i in all_items(messages_table)
             if i["pk"]["S"] == "GRP#" + ana.uuid and i["message_group_uuid"]["S"] == group]
    assert [(i["sk"]["S"], i["message"]["S"]) for i in inbox] == [(reply.created_at, "the app's reply")]
    # a third run moves nothing: every item stays where it is
    before = sorted((i["pk"]["S"], i["sk"]["S"]) for i in all_items(messages_table))
    again = seeding.seed(messages_table, seed_file, users, capacity=False)
    assert again.stale_deleted == 0
    assert sorted((i["pk"]["S"], i["sk"]["S"]) for i in all_items(messages_table)) == before


@pytest.mark.integration
def test_a_seed_line_added_later_still_lands_before_the_apps_reply(messages_table, tmp_path):
    from datetime import timedelta

    from cruddur_ops.ddb import messages as app

    seed_file = seedfile.read(write(tmp_path))
    users = list(seed_file.users)
    first_now = datetime.now(UTC) - timedelta(minutes=10)
    seeding.seed(messages_table, seed_file, users, now=first_now, capacity=False)
    group = group_uuid_for("cy", "ana")
    ana = next(u for u in users if u.handle == "ana")
    app.create_message(messages_table, group, ana, "the app's reply", now=first_now + timedelta(minutes=1))
    longer = seedfile.read(write(tmp_path, SMALL + "      - cy: floating three\n", name="longer.yaml"))
    assert seeding.seed(messages_table, longer, users, capacity=False).pinned == 1
    items = sorted((i for i in all_items(messages_table) if i["pk"]["S"] == "MSG#" + group), key=lambda i: i["sk"]["S"])
    assert [i["message"]["S"] for i in items] == ["floating one", "floating two", "floating three", "the app's reply"]
