"""`cruddur doctor`: every check's fault planted on the real engines (DynamoDB Local, a scratch PostgreSQL
database), reported, and — where `--fix` offers it — cleared."""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from cruddur_ops.ddb import seed as seeding
from cruddur_ops.ddb.model import TABLE, group_item, message_item
from cruddur_ops.ddb.typed import to_attrs
from cruddur_ops.local.dynamodb_local import free_port
from cruddur_ops.model import User
from cruddur_ops.seeds import seedfile
from tests.conftest import SCHEMA, no_result
from tests.pg.fixtures import PASSWORD

pytestmark = pytest.mark.integration


@dataclass
class World:
    client: object
    url: str
    seed_file: Path
    seed: seedfile.SeedFile

    def user(self, handle: str) -> User:
        return next(u for u in self.seed.users if u.handle == handle)

    def sql(self, statement: str, params=()):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def group_rows(self) -> list[dict]:
        items = self.client.scan(TableName=TABLE)["Items"]
        return [i for i in items if i["pk"]["S"].startswith("GRP#")]


@pytest.fixture
def world(messages_table, pg_env, seed_file) -> World:
    """DynamoDB Local and a scratch PostgreSQL database, both set up and seeded from one small seed file
    (ada, bo, cy; one conversation between ada and bo)."""
    from cruddur_ops.pg.database import Database
    from cruddur_ops.pg.setup import setup_database

    setup_database(Database.from_url(pg_env), seed_path=seed_file)
    seed = seedfile.read(seed_file)
    seeding.seed(messages_table, seed, seed.users)
    return World(messages_table, pg_env, seed_file, seed)


def run(cli, world: World, *args: str):
    """`cruddur doctor` on the world; returns (result, document, checks by name)."""
    result = cli("doctor", "--seed", world.seed_file, "--output", "json", *args, ok=False)
    assert result.exit_code in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    return result, doc, {c["name"]: c for c in doc["checks"]}


def test_a_healthy_world_passes_with_one_row_per_check(cli, world):
    result, doc, checks = run(cli, world)
    assert result.exit_code == 0 and doc["ok"] is True
    assert list(checks) == ["dynamodb-endpoint", "dynamodb-table", "postgres", "seed-handles", "cognito-user-ids",
                            "item-shapes", "message-timestamps", "duplicate-group-rows", "group-rows-current",
                            "group-rows-year", "group-row-users", "duplicate-conversations", "orphan-conversations",
                            "blocking-sessions"]
    assert {n: c["status"] for n, c in checks.items() if c["status"] != "ok"} == {"cognito-user-ids": "warn"}
    assert set(doc) == {"ok", "summary", "endpoint", "table", "database", "seed_file", "scan", "checks", "fixes"}
    assert doc["summary"] == {"ok": 13, "warn": 1, "fail": 0, "n/a": 0}
    assert checks["item-shapes"]["found"].startswith("4 items follow the app's entities (2 GroupRow, 2 Message)")
    assert doc["scan"] == {"items": 4, "max_items": 100_000, "truncated": False}
    assert PASSWORD not in result.stdout + result.stderr and ":***@" in doc["database"]
    assert "scanned 4 items" in result.stderr


# --- 1. endpoint ------------------------------------------------------------------------------------------------
def test_an_unreachable_dynamodb_fails_and_its_checks_are_not_applicable(cli, world, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port(8990)}")
    result, doc, checks = run(cli, world)
    assert result.exit_code == 1 and "1 check(s) failed: dynamodb-endpoint" in result.stderr
    assert checks["dynamodb-endpoint"]["status"] == "fail"
    assert "cannot reach" in checks["dynamodb-endpoint"]["found"] and "cruddur local up" in checks["dynamodb-endpoint"]["fix"]
    for name in ("dynamodb-table", "message-timestamps", "group-rows-current", "duplicate-conversations"):
        assert checks[name]["status"] == "n/a"
    assert checks["postgres"]["status"] == "ok" and doc["scan"] is None


def test_production_without_region_or_credentials_fails(cli, world, monkeypatch, tmp_path):
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    _, _, checks = run(cli, world)
    assert checks["dynamodb-endpoint"]["status"] == "fail"
    assert "(production): no AWS region" in checks["dynamodb-endpoint"]["found"]
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    _, _, checks = run(cli, world)
    assert "region eu-west-1: no AWS credentials" in checks["dynamodb-endpoint"]["found"]


# --- 2. table -----------------------------------------------------------------------------------------------------
def test_a_missing_table_fails_and_fix_creates_it(cli, world):
    world.client.delete_table(TableName=TABLE)
    result, _, checks = run(cli, world)
    assert result.exit_code == 1
    assert checks["dynamodb-table"]["status"] == "fail" and checks["dynamodb-table"]["fixable"]
    assert "ddb schema-load" in checks["dynamodb-table"]["fix"]
    assert checks["group-rows-current"]["status"] == "n/a"
    _, doc, checks = run(cli, world, "--fix", "--yes")
    assert doc["fixes"] == [{"name": "dynamodb-table", "applied": True, "result": f"table {TABLE} created"}]
    assert checks["dynamodb-table"]["status"] == "ok"


def test_a_table_without_the_gsi_fails_with_the_difference(cli, world):
    world.client.delete_table(TableName=TABLE)
    world.client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    _, _, checks = run(cli, world)
    table = checks["dynamodb-table"]
    assert table["status"] == "fail" and not table["fixable"]
    assert "GSI message-group-sk-index: missing from the table" in table["found"] and "stream is off" in table["found"]
    assert "--recreate" in table["fix"]


def test_a_table_without_its_stream_warns_and_fix_enables_it(cli, world):
    from cruddur_ops.ddb import schema

    spec = schema.read([SCHEMA]).tables[0]
    request = {k: v for k, v in schema.create_request(spec).items() if k != "StreamSpecification"}
    world.client.delete_table(TableName=TABLE)
    world.client.create_table(**request)
    result, _, checks = run(cli, world)
    assert result.exit_code == 0  # a warning is not a failure
    assert checks["dynamodb-table"]["status"] == "warn" and checks["dynamodb-table"]["fixable"]
    assert "stream is off" in checks["dynamodb-table"]["found"]
    _, doc, checks = run(cli, world, "--fix", "--yes")
    assert doc["fixes"][0]["applied"] and checks["dynamodb-table"]["status"] == "ok"
    stream = world.client.describe_table(TableName=TABLE)["Table"]["StreamSpecification"]
    assert stream == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


# --- 3. PostgreSQL ----------------------------------------------------------------------------------------------------
def test_an_unreachable_postgres_fails_and_the_user_checks_are_not_applicable(cli, world, monkeypatch):
    monkeypatch.setenv("CONNECTION_URL", f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port(5800)}/cruddur")
    result, _, checks = run(cli, world)
    assert result.exit_code == 1 and PASSWORD not in result.stdout + result.stderr
    assert checks["postgres"]["status"] == "fail" and "refused" in checks["postgres"]["found"]
    assert "cruddur local up" in checks["postgres"]["fix"] and not checks["postgres"]["fixable"]
    for name in ("seed-handles", "cognito-user-ids", "group-row-users", "blocking-sessions"):
        assert checks[name]["status"] == "n/a"
    assert checks["group-rows-current"]["status"] == "ok"


def test_a_missing_users_table_fails_and_fix_sets_the_database_up(cli, world):
    world.sql("DROP TABLE users CASCADE")
    _, _, checks = run(cli, world)
    assert checks["postgres"]["status"] == "fail" and "no users table" in checks["postgres"]["found"]
    assert checks["postgres"]["fixable"] and checks["seed-handles"]["status"] == "n/a"
    result, doc, checks = run(cli, world, "--fix", "--yes")
    assert result.exit_code == 0 and doc["fixes"][0]["name"] == "postgres" and doc["fixes"][0]["applied"]
    assert checks["postgres"]["status"] == "ok" and world.sql("SELECT count(*) FROM users") == [(3,)]


# --- 4. seed handles -----------------------------------------------------------------------------------------------------
def test_a_seed_handle_missing_from_users_fails_and_fix_inserts_it(cli, world):
    world.sql("DELETE FROM users WHERE handle = 'cy'")
    _, _, checks = run(cli, world)
    handles = checks["seed-handles"]
    assert handles["status"] == "fail" and handles["details"] == [{"handle": "cy"}] and handles["fixable"]
    assert "cruddur db seed" in handles["fix"]
    _, doc, checks = run(cli, world, "--fix", "--yes")
    assert doc["fixes"] == [{"name": "seed-handles", "applied": True, "result": "inserted 1 user(s): cy"}]
    assert checks["seed-handles"]["status"] == "ok"
    assert world.sql("SELECT uuid::text FROM users WHERE handle = 'cy'") == [(world.user("cy").uuid,)]


# --- 5. Cognito ids -----------------------------------------------------------------------------------------------------------
def test_placeholder_cognito_ids_are_reported_with_the_command_that_fixes_them(cli, world):
    world.sql("UPDATE users SET cognito_user_id = gen_random_uuid()::text")
    world.sql("UPDATE users SET cognito_user_id = 'MOCK' WHERE handle = 'ada'")
    world.sql("UPDATE users SET cognito_user_id = '' WHERE handle = 'bo'")
    result, _, checks = run(cli, world)
    cognito = checks["cognito-user-ids"]
    assert result.exit_code == 0 and cognito["status"] == "warn" and not cognito["fixable"]
    assert cognito["details"] == [{"handle": "ada", "cognito_user_id": "MOCK"}, {"handle": "bo", "cognito_user_id": ""}]
    assert cognito["fix"] == "copy the pool's subs into users: `cruddur cognito update-user-ids`"


# --- 6. timestamps --------------------------------------------------------------------------------------------------------------
def test_naive_and_future_message_times_fail(cli, world):
    group = world.seed.conversations[0].group_uuid
    ada = world.user("ada")
    for sk in ("2024-03-01T12:00:00", "2999-01-01T00:00:00+00:00"):
        world.client.put_item(TableName=TABLE, Item=to_attrs(message_item(group, sk, str(uuidlib.uuid4()), "hi", ada)))
    result, _, checks = run(cli, world)
    stamps = checks["message-timestamps"]
    assert result.exit_code == 1 and stamps["status"] == "fail"
    assert "1 naive (no UTC offset), 1 in the future" in stamps["found"]
    assert {(d["sk"], d["kind"], d["problem"]) for d in stamps["details"]} == {
        ("2024-03-01T12:00:00", "message", "naive (no UTC offset)"),
        ("2999-01-01T00:00:00+00:00", "message", "in the future")}


# --- 7. group rows behind ----------------------------------------------------------------------------------------------------------
def test_group_rows_behind_the_last_message_fail_and_fix_moves_them_like_the_stream_processor(cli, world):
    from cruddur_ops.ddb.messages import timestamp

    group = world.seed.conversations[0].group_uuid
    created_at = timestamp()
    item = message_item(group, created_at, str(uuidlib.uuid4()), "written by the app, no stream running", world.user("bo"))
    world.client.put_item(TableName=TABLE, Item=to_attrs(item))  # as the app does it
    result, _, checks = run(cli, world)
    rows = checks["group-rows-current"]
    assert result.exit_code == 1 and rows["status"] == "fail" and rows["fixable"]
    assert "stream processor is not running" in rows["found"] and len(rows["details"]) == 2
    assert "cruddur ddb stream process" in rows["fix"]

    result, doc, checks = run(cli, world, "--fix", "--yes")
    assert result.exit_code == 0
    assert doc["fixes"] == [{"name": "group-rows-current", "applied": True,
                             "result": "moved 2 group row(s) to their last message"}]
    assert checks["group-rows-current"]["status"] == "ok"
    assert {(r["sk"]["S"], r["message"]["S"]) for r in world.group_rows()} == {(created_at, item["message"])}


def test_fix_without_yes_and_without_a_terminal_changes_nothing(cli, world):
    from cruddur_ops.ddb.messages import timestamp

    group = world.seed.conversations[0].group_uuid
    world.client.put_item(TableName=TABLE, Item=to_attrs(
        message_item(group, timestamp(), str(uuidlib.uuid4()), "unseen", world.user("bo"))))
    before = world.group_rows()
    result = cli("doctor", "--seed", world.seed_file, "--fix", ok=False)
    assert result.exit_code == 7 and "without confirmation" in result.stderr and no_result(result.stdout)
    assert world.group_rows() == before


# --- 8. group rows naming unknown users -------------------------------------------------------------------------------------------
def test_a_group_row_whose_user_is_not_in_users_fails(cli, world):
    conversation = world.seed.conversations[0]
    ghost = User(str(uuidlib.uuid4()), "ghost", "Ghost")
    last = max(world.group_rows(), key=lambda r: r["sk"]["S"])
    world.client.put_item(TableName=TABLE, Item=to_attrs(group_item(
        ghost, world.user("ada"), conversation.group_uuid, last["sk"]["S"], last["message"]["S"])))
    result, _, checks = run(cli, world)
    users = checks["group-row-users"]
    assert result.exit_code == 1 and users["status"] == "fail"
    assert users["details"] == [{"pk": f"GRP#{ghost.uuid}", "sk": last["sk"]["S"], "field": "owner (pk)",
                                 "uuid": ghost.uuid, "user_handle": None}]
    assert "--users-from db" in users["fix"]
    assert checks["group-rows-current"]["status"] == "ok"


# --- 9. duplicate conversations ------------------------------------------------------------------------------------------------------
def test_two_conversations_between_the_same_users_are_reported_but_not_a_fault(cli, world):
    ada, bo = world.user("ada"), world.user("bo")
    group, sk = str(uuidlib.uuid4()), "2024-01-01T00:00:00+00:00"
    for item in (message_item(group, sk, str(uuidlib.uuid4()), "again?", ada),
                 group_item(ada, bo, group, sk, "again?"), group_item(bo, ada, group, sk, "again?")):
        world.client.put_item(TableName=TABLE, Item=to_attrs(item))
    result, _, checks = run(cli, world)
    duplicates = checks["duplicate-conversations"]
    # the app's create_message_group starts a new conversation each time: doctor says so, without a warning
    assert result.exit_code == 0 and duplicates["status"] == "ok" and "not a fault" in duplicates["found"]
    assert duplicates["details"] == [{"users": ["ada", "bo"],
                                      "message_group_uuids": sorted([group, world.seed.conversations[0].group_uuid])}]


# --- 10. sessions ---------------------------------------------------------------------------------------------------------------------
def test_fix_never_ends_sessions_end_sessions_names_them_and_asks(cli, world):
    import psycopg

    blocker = psycopg.connect(world.url, autocommit=True, application_name="the-apps-pool")
    try:
        _, _, checks = run(cli, world)
        sessions = checks["blocking-sessions"]
        assert sessions["status"] == "warn" and not sessions["fixable"]
        assert [s["application"] for s in sessions["details"]] == ["the-apps-pool"]
        assert "cruddur doctor --end-sessions" in sessions["fix"] and "application 'the-apps-pool'" in sessions["found"]
        _, doc, checks = run(cli, world, "--fix", "--yes")  # data only: the app's session stays
        assert all(f["name"] != "blocking-sessions" for f in doc["fixes"])
        assert checks["blocking-sessions"]["status"] == "warn"
        assert blocker.execute("SELECT 1").fetchone() == (1,)

        refused = cli("doctor", "--seed", world.seed_file, "--end-sessions", ok=False)  # no terminal, no --yes
        assert refused.exit_code == 7 and "application 'the-apps-pool' from 127.0.0.1:" in refused.stderr
        assert blocker.execute("SELECT 1").fetchone() == (1,)

        result, doc, checks = run(cli, world, "--end-sessions", "--yes")
        (ended,) = doc["fixes"]
        assert ended["name"] == "end-sessions" and ended["applied"] is True
        assert ended["result"].startswith("ended 1 session(s): pid ") and "application 'the-apps-pool'" in ended["result"]
        assert checks["blocking-sessions"]["status"] == "ok"
        with pytest.raises(psycopg.OperationalError):
            blocker.execute("SELECT 1")
    finally:
        blocker.close()


def test_end_sessions_on_a_remote_database_is_refused_before_connecting(cli, aws_env):
    aws_env.setenv("CONNECTION_URL", f"postgresql://app:{PASSWORD}@db.cruddur.invalid/cruddur")
    result = cli("doctor", "--end-sessions", "--yes", ok=False)
    assert result.exit_code == 6 and PASSWORD not in result.stderr


# --- orphan conversations ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("max_items", ["100000", "1"])
def test_orphan_conversations_are_reported_both_ways(cli, world, max_items):
    ada, bo, cy = world.user("ada"), world.user("bo"), world.user("cy")
    lost, empty = str(uuidlib.uuid4()), str(uuidlib.uuid4())
    world.client.put_item(TableName=TABLE, Item=to_attrs(
        message_item(lost, "2024-01-01T00:00:00+00:00", str(uuidlib.uuid4()), "nobody sees me", ada)))
    for row in (group_item(bo, cy, empty, "2024-01-02T00:00:00+00:00", "gone"),
                group_item(cy, bo, empty, "2024-01-02T00:00:00+00:00", "gone")):
        world.client.put_item(TableName=TABLE, Item=to_attrs(row))
    result, _, checks = run(cli, world, "--max-items", max_items)
    orphans = checks["orphan-conversations"]
    if max_items == "1":  # a partial scan: what it suspects is confirmed by a query, the healthy one never reported
        assert "only the first 1 items" in orphans["found"]
        assert {d["message_group_uuid"] for d in orphans.get("details") or []} <= {lost, empty}
        return
    assert result.exit_code == 0 and orphans["status"] == "warn"
    assert "1 conversation(s) have messages but no group row" in orphans["found"]
    assert "1 conversation(s) have group rows but no messages" in orphans["found"]
    by_group = {d["message_group_uuid"]: d for d in orphans["details"]}
    assert by_group[lost]["problem"] == "messages without group rows" and by_group[lost]["messages"] == 1
    assert by_group[empty]["problem"] == "group rows without messages" and len(by_group[empty]["group_rows"]) == 2
    assert checks["group-rows-current"]["status"] == "ok"


# --- bounds -------------------------------------------------------------------------------------------------------------------------------
def test_max_items_bounds_the_scan_and_the_checks_say_so(cli, world):
    result, doc, checks = run(cli, world, "--max-items", "2")
    assert doc["scan"] == {"items": 2, "max_items": 2, "truncated": True}
    assert "only the first 2 items were scanned" in checks["duplicate-conversations"]["found"]
    assert "stopped at --max-items 2" in result.stderr


def test_a_partial_scan_of_a_clean_table_fails_nothing(cli, world):
    from cruddur_ops.ddb.messages import create_message

    group = world.seed.conversations[0].group_uuid
    create_message(world.client, group, world.user("bo"), "one more", table=TABLE)  # the rows move with it
    for n in ("1", "2", "3", "5"):
        result, doc, checks = run(cli, world, "--max-items", n)
        assert result.exit_code == 0 and doc["summary"]["fail"] == 0, (n, checks)
        assert checks["group-rows-current"]["status"] in ("ok", "warn")


def test_naive_app_timestamps_warn_and_name_the_cause(cli, world):
    from datetime import datetime

    group = world.seed.conversations[0].group_uuid
    naive = datetime.now().isoformat()  # as the app writes it
    item = message_item(group, naive, str(uuidlib.uuid4()), "from the app", world.user("bo"))
    world.client.put_item(TableName=TABLE, Item=to_attrs(item))
    from cruddur_ops.ddb import stream

    stream.apply_message(world.client, TABLE, group, naive, "from the app")
    result, doc, checks = run(cli, world)
    stamps = checks["message-timestamps"]
    assert result.exit_code == 0 and stamps["status"] == "warn"
    assert "datetime.now().isoformat() without a timezone" in stamps["found"] and "sort as UTC" in stamps["found"]
    assert checks["group-rows-current"]["status"] == "ok"


def test_group_rows_outside_the_current_year_warn_with_their_number_and_the_fix(cli, world):
    ada, bo = world.user("ada"), world.user("bo")
    group = str(uuidlib.uuid4())
    old = "2024-03-01T12:00:00.000000+00:00"
    world.client.put_item(TableName=TABLE, Item=to_attrs(message_item(group, old, "m", "old", ada)))
    for a, b in ((ada, bo), (bo, ada)):
        world.client.put_item(TableName=TABLE, Item=to_attrs(group_item(a, b, group, old, "old")))
    result, doc, checks = run(cli, world)
    year = checks["group-rows-year"]
    assert year["status"] == "warn" and year["found"].startswith("2 of 4 group row(s) are outside")
    assert "cruddur ddb seed" in year["fix"]


def test_the_table_output_has_one_row_per_check(cli, world):
    result = cli("doctor", "--seed", world.seed_file, "--output", "table")
    for name in ("dynamodb-endpoint", "blocking-sessions", "cognito-user-ids"):
        assert name in result.stdout
    assert "13 ok, 1 warn" in result.stdout


# --- 5b. items against the shipped entities -------------------------------------------------------------------------
def test_items_that_do_not_follow_the_shipped_entities_fail_item_shapes(cli, world):
    group = world.seed.conversations[0].group_uuid
    item = message_item(group, "2026-01-01T00:00:00.000000+00:00", str(uuidlib.uuid4()), "hi", world.user("bo"))
    del item["message_uuid"]  # an old writer forgot it
    world.client.put_item(TableName=TABLE, Item=to_attrs(item))
    world.client.put_item(TableName=TABLE, Item=to_attrs({"pk": "USR#stray", "sk": "x"}))
    result, doc, checks = run(cli, world)
    shapes = checks["item-shapes"]
    assert result.exit_code == 1 and shapes["status"] == "fail"
    assert shapes["found"].startswith("2 item(s) do not follow the app's entities")
    problems = {(d["pk"], d["field"]): d["problem"] for d in shapes["details"]}
    assert problems[(f"MSG#{group}", "message_uuid")] == "required attribute is missing"
    assert problems[("USR#stray", None)].startswith("no entity matches this item")
    assert "cruddur ddb validate cruddur-messages" in shapes["fix"]
