"""cruddur and the Cruddur app agree on a table that has lived (issue 15), on DynamoDB Local.

``App`` below is a small client of our own that reads and writes ``cruddur-messages`` the way the app does:
its item shapes, its inbox query ``pk = GRP#<me> AND begins_with(sk, <current year>)``, its ``create_message``
that writes a naive ``datetime.now().isoformat()`` timestamp (the stream processor then moves the group rows)
and its ``create_message_group`` that writes the message and both group rows.
"""

from __future__ import annotations

import json
import textwrap
import threading
import uuid as uuidlib
from datetime import UTC, datetime

import pytest

from cruddur_ops.ddb import grouprows
from cruddur_ops.ddb import seed as seeding
from cruddur_ops.ddb.model import TABLE, group_item, message_item
from cruddur_ops.ddb.typed import to_attrs, to_plain
from cruddur_ops.errors import SeedError
from cruddur_ops.model import User
from cruddur_ops.seeds import seedfile
from tests.pg.fixtures import PASSWORD

pytestmark = pytest.mark.integration

SEED = """\
users:
  - {handle: wren, display_name: Wren Halvorsen}
  - {handle: oki, display_name: Oki Mbeki}
  - {handle: lumi, display_name: Lumi Sato}
conversations:
  - between: [wren, oki]
    messages:
      - wren: Is the kettle on the third floor fixed?
      - oki: It whistles now. Progress.
      - wren: A whistling kettle is a feature.
  - between: [oki, lumi]
    messages:
      - oki: Lunch at the noodle place?
      - lumi: Only if we sit outside.
  - between: [lumi, wren]
    messages:
      - lumi: Your plant is leaning toward the window again.
      - wren: It knows where the sun is.
"""


class App:
    """The Cruddur app's DynamoDB calls, as its backend makes them (boto3 client, typed attribute values)."""

    def __init__(self, client, table: str = TABLE):
        self.client, self.table = client, table

    def list_message_groups(self, my_user_uuid: str) -> list[dict]:
        year = str(datetime.now().year)
        response = self.client.query(
            TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :year)",
            ScanIndexForward=False, Limit=20,
            ExpressionAttributeValues={":pk": {"S": f"GRP#{my_user_uuid}"}, ":year": {"S": year}})
        return [to_plain(i) for i in response["Items"]]

    def list_messages(self, message_group_uuid: str) -> list[dict]:
        response = self.client.query(
            TableName=self.table, KeyConditionExpression="pk = :pk", ScanIndexForward=False,
            ExpressionAttributeValues={":pk": {"S": f"MSG#{message_group_uuid}"}})
        return [to_plain(i) for i in response["Items"]]

    def create_message(self, message_group_uuid: str, message: str, me: User) -> dict:
        created_at = datetime.now().isoformat()  # naive, as the app writes it
        item = message_item(message_group_uuid, created_at, str(uuidlib.uuid4()), message, me)
        self.client.put_item(TableName=self.table, Item=to_attrs(item))
        return item

    def create_message_group(self, message: str, me: User, other: User) -> tuple[str, list[dict]]:
        group, now = str(uuidlib.uuid4()), datetime.now().isoformat()
        items = [group_item(me, other, group, now, message), group_item(other, me, group, now, message),
                 message_item(group, now, str(uuidlib.uuid4()), message, me)]
        for item in items:
            self.client.put_item(TableName=self.table, Item=to_attrs(item))
        return group, items


def all_items(client) -> list[dict]:
    return [i for p in client.get_paginator("scan").paginate(TableName=TABLE) for i in p["Items"]]


def write_seed(tmp_path, text: str = SEED):
    path = tmp_path / "seed.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def assert_inboxes_agree(app: App, seed: seedfile.SeedFile) -> None:
    """Every user's inbox (through the app's year filter) lists each of their conversations once, at its newest
    message."""
    for user in seed.users:
        inbox = app.list_message_groups(user.uuid)
        groups = [row["message_group_uuid"] for row in inbox]
        mine = {c.group_uuid for c in seed.conversations if user.handle in c.between}
        assert sorted(groups) == sorted(mine), f"{user.handle}'s inbox: {groups}"
        for row in inbox:
            newest = app.list_messages(row["message_group_uuid"])[0]
            assert (row["sk"], row["message"]) == (newest["sk"], newest["message"])


def doctor_failures(pg_env, seed_path) -> dict[str, str]:
    from cruddur_ops.doctor import diagnose
    from cruddur_ops.pg.database import Database
    from cruddur_ops.pg.setup import setup_database
    from cruddur_ops.settings import Settings

    setup_database(Database.from_url(pg_env), seed_path=seed_path)
    report = diagnose(Settings.from_env(), seed_path=seed_path)
    return {c.name: c.found for c in report.findings if c.status == "fail"}


def test_seed_app_message_stream_process_reseed(messages_table, cli, tmp_path, pg_env):
    path = write_seed(tmp_path)
    seed = seedfile.read(path)
    users = {u.handle: u for u in seed.users}
    app = App(messages_table)
    cli.json("ddb", "seed", path, "--users-from", "yaml")
    assert_inboxes_agree(app, seed)

    wren_oki = seed.conversations[0].group_uuid
    sent = app.create_message(wren_oki, "Fixed it myself. It hums now.", users["oki"])
    run = cli.json("ddb", "stream", "process", "--checkpoints", tmp_path / "cp.json")
    assert run["collisions"] == []
    assert_inboxes_agree(app, seed)
    assert app.list_message_groups(users["oki"].uuid)[0]["sk"] == sent["sk"]

    again = cli.json("ddb", "seed", path, "--users-from", "yaml")
    assert again["conversations"] == 3
    assert_inboxes_agree(app, seed)
    assert sent in [{k: m[k] for k in sent} for m in app.list_messages(wren_oki)]  # the app's message stays
    assert app.list_message_groups(users["oki"].uuid)[0]["sk"] == sent["sk"]  # the rows stay at it

    # a stream run after the reseed moves nothing back and reports no collision
    run = cli.json("ddb", "stream", "process", "--checkpoints", tmp_path / "cp.json")
    assert run["collisions"] == []
    assert_inboxes_agree(app, seed)
    assert doctor_failures(pg_env, path) == {}


def lambda_event(item: dict, sequence: int) -> dict:
    attrs = to_attrs(item)
    return {"Records": [{
        "eventID": f"ev{sequence}", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"ApproximateCreationDateTime": 1796000000.0, "Keys": {"pk": attrs["pk"], "sk": attrs["sk"]},
                     "NewImage": attrs, "SequenceNumber": str(sequence), "SizeBytes": 200,
                     "StreamViewType": "NEW_IMAGE"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/stream/2026-01-01T00:00:00.000"}]}


def test_seed_app_message_lambda_handler_reseed(messages_table, cli, tmp_path, pg_env):
    from cruddur_ops import stream as lambda_stream

    path = write_seed(tmp_path)
    seed = seedfile.read(path)
    users = {u.handle: u for u in seed.users}
    app = App(messages_table)
    cli.json("ddb", "seed", path, "--users-from", "yaml")

    oki_lumi = seed.conversations[1].group_uuid
    sent = app.create_message(oki_lumi, "Outside it is. Bring a jumper.", users["lumi"])
    response = lambda_stream.handler(lambda_event(sent, 1), None)
    assert response["batchItemFailures"] == [] and response["summary"]["rows_moved"] == 2
    assert response["summary"]["collisions"] == []

    cli.json("ddb", "seed", path, "--users-from", "yaml")
    assert_inboxes_agree(app, seed)
    # the same record delivered again (Lambda retries) changes nothing
    again = lambda_stream.handler(lambda_event(sent, 1), None)
    assert again["summary"]["rows_moved"] == 0 and again["summary"]["collisions"] == []
    assert_inboxes_agree(app, seed)
    assert doctor_failures(pg_env, path) == {}


def test_duplicates_left_by_an_old_writer_are_removed_by_the_next_move(messages_table):
    """Two rows of one (user, conversation), as an earlier cruddur left them: the stream processor's move keeps one."""
    from cruddur_ops.ddb import stream

    ana, bo = User(str(uuidlib.uuid4()), "ana", "Ana"), User(str(uuidlib.uuid4()), "bo", "Bo")
    group = str(uuidlib.uuid4())
    old, older, new = "2026-01-02T10:00:00.000000+00:00", "2026-01-01T10:00:00.000000+00:00", "2026-01-03T10:00:00.000000+00:00"
    for sk in (old, older):
        for a, b in ((ana, bo), (bo, ana)):
            messages_table.put_item(TableName=TABLE, Item=to_attrs(group_item(a, b, group, sk, f"at {sk}")))
    messages_table.put_item(TableName=TABLE, Item=to_attrs(message_item(group, new, "m", "newest", ana)))
    moves = stream.apply_message(messages_table, TABLE, group, new, "newest")
    assert [m.outcome for m in moves] == ["moved", "moved"] and all(m.deleted == 2 for m in moves)
    rows = grouprows.rows_by_owner(messages_table, TABLE, group)
    assert {pk: [r["sk"]["S"] for r in found] for pk, found in rows.items()} == {
        f"GRP#{ana.uuid}": [new], f"GRP#{bo.uuid}": [new]}


def test_the_seed_never_moves_a_row_behind_a_newer_app_message(messages_table, tmp_path):
    path = write_seed(tmp_path)
    seed = seedfile.read(path)
    users = {u.handle: u for u in seed.users}
    seeding.seed(messages_table, seed, seed.users)
    group = seed.conversations[2].group_uuid
    later = datetime(datetime.now(UTC).year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC).isoformat()  # the newest
    item = message_item(group, later, str(uuidlib.uuid4()), "from the app", users["lumi"])
    messages_table.put_item(TableName=TABLE, Item=to_attrs(item))  # no stream processor running
    result = seeding.seed(messages_table, seed, seed.users)
    assert result.conversations == 3
    app = App(messages_table)
    assert app.list_message_groups(users["wren"].uuid)[0]["sk"] == later  # the seed put the rows at the newest
    assert_inboxes_agree(app, seed)


def test_two_seeds_of_the_same_file_at_once_lose_and_duplicate_nothing(messages_table, tmp_path):
    convs = "\n".join(f"  - between: [u{i}, u{i + 1}]\n    messages:\n      - u{i}: hello {i}\n      - u{i + 1}: hi {i}"
                      for i in range(0, 60))
    people = "\n".join(f"  - {{handle: u{i}, display_name: User {i}}}" for i in range(61))
    path = write_seed(tmp_path, f"users:\n{people}\nconversations:\n{convs}\n")
    seed = seedfile.read(path)
    errors = []

    def run():
        try:
            seeding.seed(messages_table, seed, seed.users, workers=4)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    app = App(messages_table)
    assert_inboxes_agree(app, seed)
    for conv in seed.conversations:  # each message once: the two runs' copies never both survive
        assert len(app.list_messages(conv.group_uuid)) == 2
    assert len(all_items(messages_table)) == 60 * 2 + 60 * 2


def test_a_seeded_timestamp_parses_with_the_apps_format(messages_table, tmp_path):
    path = write_seed(tmp_path)
    seed = seedfile.read(path)
    seeding.seed(messages_table, seed, seed.users)
    items = [to_plain(i) for i in messages_table.scan(TableName=TABLE)["Items"]]
    assert items
    for item in items:
        parsed = datetime.strptime(item["sk"], "%Y-%m-%dT%H:%M:%S.%f%z")  # the app's scripts' parser
        assert parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0
        assert item["sk"].endswith("+00:00") and len(item["sk"]) == len("2026-12-01T05:50:31.000000+00:00")
        assert item["sk"].startswith(str(datetime.now(UTC).year))


def test_the_whole_item_is_checked_against_400_kb_before_anything_is_written(messages_table, tmp_path):
    name = "N" * 30_000
    text = "x" * (400 * 1024 - 20_000)  # the message alone fits; with a display name the items do not
    path = write_seed(tmp_path, f"""\
users:
  - {{handle: ana, display_name: {name}}}
  - {{handle: lumi, display_name: Lumi}}
  - {{handle: bo, display_name: Bo}}
conversations:
  - between: [bo, ana]
    messages:
      - bo: hi there
  - between: [ana, lumi]
    messages:
      - ana: {text}
  - {{between: [bo, lumi], messages: [{{bo: fine}}]}}
""")
    seed = seedfile.read(path)
    with pytest.raises(SeedError) as err:
        seeding.seed(messages_table, seed, seed.users)
    message = str(err.value)
    assert f"{path}:11:" in message and "conversations[1].messages[0].ana" in message
    assert "over DynamoDB's 400 KB item limit" in message and "display names included" in message
    assert messages_table.scan(TableName=TABLE)["Items"] == []  # checked before the first write


def test_unknown_handle_names_postgresql_as_the_source(cli, tmp_path, pg_env, messages_table):
    from cruddur_ops.pg.database import Database
    from cruddur_ops.pg.setup import setup_database

    path = write_seed(tmp_path)
    setup_database(Database.from_url(pg_env), seed_path=path)
    (tmp_path / "other").mkdir()
    other = write_seed(tmp_path / "other", SEED.replace("lumi", "zoe"))  # zoe is in this file's users:
    result = cli("ddb", "seed", other, ok=False)
    assert result.exit_code != 0 and "unknown handle 'zoe'" in result.stderr
    assert "PostgreSQL users table at" in result.stderr and "--users-from yaml" in result.stderr
    assert "cruddur db seed" in result.stderr and PASSWORD not in result.stderr
    assert all_items(messages_table) == []


def test_patterns_c_and_d_read_users_from_the_given_seed_file(messages_table, cli, tmp_path):
    path = write_seed(tmp_path)
    doc = cli.json("ddb", "pattern", "create-message-group", "--users-from", "yaml", "--seed", path,
                   "--handle", "wren", "--other-handle", "lumi", "--message", "hello from a file")
    assert doc["users_from"] == "yaml"
    doc = cli.json("ddb", "pattern", "create-message", "--users-from", "yaml", "--seed", path,
                   "--group", doc["message_group_uuid"], "--handle", "lumi", "--message", "hi back")
    assert doc["rows_moved"] == 2
    result = cli("ddb", "pattern", "create-message", "--users-from", "yaml", "--seed", path,
                 "--group", doc["message_group_uuid"], "--handle", "mira", "--message", "?", ok=False)
    assert result.exit_code != 0 and f"the seed file {path}" in result.stderr


def test_doctor_reports_and_fixes_duplicate_group_rows(messages_table, cli, tmp_path, pg_env):
    path = write_seed(tmp_path)
    seed = seedfile.read(path)
    users = {u.handle: u for u in seed.users}
    seeding.seed(messages_table, seed, seed.users)
    group = seed.conversations[0].group_uuid
    rows = grouprows.rows_by_owner(messages_table, TABLE, group)
    stale = dict(rows[f"GRP#{users['wren'].uuid}"][0])  # an older copy, as a writer at another time left it
    stale["sk"] = {"S": f"{datetime.now(UTC).year}-01-01T00:00:00.000000+00:00"}
    messages_table.put_item(TableName=TABLE, Item=stale)
    from cruddur_ops.pg.database import Database
    from cruddur_ops.pg.setup import setup_database

    setup_database(Database.from_url(pg_env), seed_path=path)
    result = cli("doctor", "--seed", path, "--output", "json", ok=False)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    dup = checks["duplicate-group-rows"]
    assert result.exit_code == 1 and dup["status"] == "fail" and dup["fixable"]
    assert "written at different times by different writers" in dup["found"]
    assert checks["group-rows-current"]["status"] == "ok"  # the newest row of each is current
    result = cli("doctor", "--seed", path, "--fix", "--yes", "--output", "json", ok=False)
    doc = json.loads(result.stdout)
    assert {c["name"]: c["status"] for c in doc["checks"]}["duplicate-group-rows"] == "ok"
    assert_inboxes_agree(App(messages_table), seed)
