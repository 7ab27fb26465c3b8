"""Patterns C and D (cruddur_ops/ddb/messages.py) through `cruddur ddb pattern create-message-group|create-message`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cruddur_ops.ddb import messages
from cruddur_ops.ddb.model import GROUP_INDEX, TABLE
from cruddur_ops.ddb.seed import iso
from cruddur_ops.ddb.typed import to_plain
from cruddur_ops.model import User
from tests.conftest import SEED, no_result

MESSAGE_KEYS = {"pk", "sk", "message_uuid", "message", "user_uuid", "user_display_name", "user_handle"}
GROUP_KEYS = {"pk", "sk", "message_group_uuid", "message", "user_uuid", "user_display_name", "user_handle"}
MIRA_UUID = "3f0b8f4e-2d6a-4c1e-9b57-8e21a4c6d901"
TOBI_UUID = "7a2c91d3-5e4b-4f08-a6c2-1d9e3b7f5a22"
SEEDED_GROUP = "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"  # mira and tobi in seeds/conversations.yaml


def test_created_at_is_utc_with_offset_and_sorts_after_the_same_seeded_second():
    moment = datetime(2024, 3, 1, 12, 0, 0, 250, tzinfo=UTC)
    stamp = messages.timestamp(moment)
    assert stamp == "2024-03-01T12:00:00.000250+00:00"
    # the seed writes the same form (issue 15: aware UTC with microseconds everywhere), so string order is time order
    assert iso(moment) == stamp < iso(datetime(2024, 3, 1, 12, 0, 1, tzinfo=UTC))
    assert iso(datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)) == "2024-03-01T12:00:00.000000+00:00" < stamp
    with pytest.raises(ValueError):
        messages.timestamp(datetime(2024, 3, 1))


integration = pytest.mark.integration  # all but the first test use DynamoDB Local


def items(client) -> list[dict]:
    return [to_plain(i) for i in client.scan(TableName=TABLE)["Items"]]


def group_rows(client, group: str) -> list[dict]:
    found = client.query(TableName=TABLE, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
                         ExpressionAttributeValues={":g": {"S": group}})["Items"]
    return sorted((to_plain(i) for i in found), key=lambda r: r["pk"])


@integration
def test_pattern_c_writes_one_message_and_both_group_rows(messages_table, cli):
    doc = cli.json("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "tobi",
                   "--message", "Hi Tobi!", "--users-from", "yaml")
    assert set(doc) == {"pattern", "table", "message_group_uuid", "created_at", "message", "group_rows",
                        "items_written", "users_from", "consumed_capacity"}
    assert doc["pattern"] == "create-message-group" and doc["items_written"] == 3 and doc["users_from"] == "yaml"
    used = doc["consumed_capacity"]
    assert used["table"] >= 3 and used["indexes"]["message-group-sk-index"] >= 2  # the group rows land in the GSI
    assert used["total"] == used["table"] + used["indexes"]["message-group-sk-index"] and used["cost"]["usd"] > 0
    group, at = doc["message_group_uuid"], doc["created_at"]
    assert at.endswith("+00:00") and datetime.fromisoformat(at).tzinfo is not None

    message = doc["message"]
    assert set(message) == MESSAGE_KEYS
    assert message["pk"] == f"MSG#{group}" and message["sk"] == at and message["user_handle"] == "mira"
    assert message["user_uuid"] == MIRA_UUID and message["user_display_name"] == "Mira Castellanos"
    rows = {r["pk"]: r for r in doc["group_rows"]}
    assert all(set(r) == GROUP_KEYS for r in rows.values())
    assert rows[f"GRP#{MIRA_UUID}"]["user_handle"] == "tobi" and rows[f"GRP#{TOBI_UUID}"]["user_handle"] == "mira"
    assert {(r["sk"], r["message"], r["message_group_uuid"]) for r in rows.values()} == {(at, "Hi Tobi!", group)}

    stored = sorted(items(messages_table), key=lambda i: i["pk"])
    assert stored == sorted([message, *doc["group_rows"]], key=lambda i: i["pk"])


@integration
def test_pattern_c_for_two_people_who_already_talk_points_at_pattern_d(messages_table, cli):
    first = cli.json("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "tobi", "--message", "one")
    for handle, other in (("mira", "tobi"), ("tobi", "mira")):
        result = cli("ddb", "pattern", "create-message-group", "--handle", handle, "--other-handle", other,
                     "--message", "two", ok=False)
        assert result.exit_code == 5 and no_result(result.stdout)
        assert first["message_group_uuid"] in result.stderr and "create-message --group" in result.stderr
    assert len(items(messages_table)) == 3


@integration
def test_pattern_d_writes_the_message_and_moves_both_rows(messages_table, cli):
    group = cli.json("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "tobi",
                     "--message", "Hi Tobi!")["message_group_uuid"]
    doc = cli.json("ddb", "pattern", "create-message", "--group", group, "--handle", "tobi", "--message", "Hi Mira!")
    assert set(doc) == {"pattern", "table", "message_group_uuid", "created_at", "message", "group_rows",
                        "rows_moved", "users_from", "consumed_capacity"}
    assert doc["pattern"] == "create-message" and doc["rows_moved"] == 2
    # the message, then a delete and a put for each of the two rows (in the table and in the GSI)
    assert doc["consumed_capacity"]["table"] >= 5 and doc["consumed_capacity"]["indexes"]["message-group-sk-index"] >= 4
    at = doc["created_at"]
    assert set(doc["message"]) == MESSAGE_KEYS and doc["message"]["user_handle"] == "tobi"
    assert doc["message"]["pk"] == f"MSG#{group}" and doc["message"]["sk"] == at
    assert [set(r) for r in doc["group_rows"]] == [{"pk", "sk", "user_handle", "outcome", "from_sk"}] * 2
    assert all(r["outcome"] == "moved" and r["sk"] == at and r["from_sk"] < at for r in doc["group_rows"])

    rows = group_rows(messages_table, group)
    assert [(r["sk"], r["message"]) for r in rows] == [(at, "Hi Mira!")] * 2
    assert all(set(r) == GROUP_KEYS for r in rows)
    conversation = cli.json("ddb", "pattern", "get-conversation", "--group", group)
    assert [m["message"] for m in conversation["items"]] == ["Hi Tobi!", "Hi Mira!"]


@integration
def test_pattern_d_on_a_seeded_conversation_brings_it_to_the_top(messages_table, cli):
    cli.json("ddb", "seed", SEED)
    doc = cli.json("ddb", "pattern", "create-message", "--group", SEEDED_GROUP, "--handle", "mira", "--message", "Still on?")
    assert doc["rows_moved"] == 2
    newest = cli.json("ddb", "pattern", "list-conversations", "--user-uuid", MIRA_UUID)["items"][0]
    assert newest["message_group_uuid"] == SEEDED_GROUP and newest["message"] == "Still on?"


@integration
def test_pattern_d_refuses_a_sender_who_is_not_in_the_conversation(messages_table, cli):
    group = cli.json("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "tobi",
                     "--message", "just us")["message_group_uuid"]
    result = cli("ddb", "pattern", "create-message", "--group", group, "--handle", "ines", "--message", "hi!", ok=False)
    assert result.exit_code == 3 and no_result(result.stdout)
    assert "'ines' is not a participant" in result.stderr and "mira" in result.stderr and "tobi" in result.stderr
    assert len(items(messages_table)) == 3  # nothing written


@integration
def test_pattern_d_errors_for_an_unknown_group_or_handle(messages_table, cli):
    result = cli("ddb", "pattern", "create-message", "--group", "00000000-0000-4000-8000-000000000000",
                 "--handle", "mira", "--message", "anyone?", ok=False)
    assert result.exit_code == 4 and "no conversation" in result.stderr and "create-message-group" in result.stderr
    result = cli("ddb", "pattern", "create-message", "--group", SEEDED_GROUP, "--handle", "zed", "--message", "x", ok=False)
    assert result.exit_code == 4 and "unknown handle 'zed'" in result.stderr and "conversations.yaml" in result.stderr
    assert items(messages_table) == []


@integration
def test_users_from_db_resolves_handles_through_postgresql_users(messages_table, cli, monkeypatch):
    import cruddur_ops.pg.users as pg_users

    db_users = [User("11111111-1111-4111-8111-111111111111", "mira", "Mira (from PostgreSQL)"),
                User("22222222-2222-4222-8222-222222222222", "zed", "Zed Only-In-Db")]
    monkeypatch.setattr(pg_users, "fetch_users", lambda database: db_users, raising=False)
    doc = cli.json("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "zed",
                   "--message", "hi", "--users-from", "db")
    assert doc["users_from"] == "db"
    assert doc["message"]["user_uuid"] == db_users[0].uuid and doc["message"]["user_display_name"] == "Mira (from PostgreSQL)"
    assert {r["pk"] for r in doc["group_rows"]} == {f"GRP#{u.uuid}" for u in db_users}


@integration
def test_pattern_c_writes_nothing_on_a_production_endpoint_without_prod(aws_env, cli):
    result = cli("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "tobi",
                 "--message", "hi", "--endpoint-url", "https://dynamodb.aws.invalid", ok=False)
    assert result.exit_code == 6 and "--prod" in result.stderr


@integration
def test_table_output_goes_to_stdout_and_json_is_one_document(messages_table, cli):
    result = cli("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "tobi",
                 "--message", "table please", "--output", "table")
    assert "New conversation" in result.stdout and "table please" in result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)
