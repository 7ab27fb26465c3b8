"""cruddur_ops.stream.handler: the stream processor as a Lambda, fed Lambda-shaped events, on DynamoDB Local."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cruddur_ops import stream as lambda_stream
from cruddur_ops.ddb.model import GROUP_INDEX, TABLE, group_item, message_item
from cruddur_ops.ddb.typed import to_attrs, to_plain
from cruddur_ops.model import User

MIRA = User("3f0b8f4e-2d6a-4c1e-9b57-8e21a4c6d901", "mira", "Mira Castellanos")
TOBI = User("7a2c91d3-5e4b-4f08-a6c2-1d9e3b7f5a22", "tobi", "Tobiah Okafor")
GROUP = "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/stream/2024-03-01T00:00:00.000"


def lambda_record(event_name: str, item: dict, sequence: int) -> dict:
    """One record exactly as Lambda delivers it from a NEW_IMAGE stream (JSON: numbers, no datetimes)."""
    keys = {"pk": item["pk"], "sk": item["sk"]}
    data = {"ApproximateCreationDateTime": 1709251200.0, "Keys": to_attrs(keys), "SequenceNumber": str(sequence),
            "SizeBytes": 120, "StreamViewType": "NEW_IMAGE"}
    if event_name != "REMOVE":
        data["NewImage"] = to_attrs(item)
    return {"eventID": f"e{sequence}", "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": data, "eventSourceARN": ARN}


def seed_conversation(client, table: str = TABLE) -> None:
    for item in (message_item(GROUP, "2024-03-01T12:00:00+00:00", "m0", "first", MIRA),
                 group_item(MIRA, TOBI, GROUP, "2024-03-01T12:00:00+00:00", "first"),
                 group_item(TOBI, MIRA, GROUP, "2024-03-01T12:00:00+00:00", "first")):
        client.put_item(TableName=table, Item=to_attrs(item))


def rows(client, table: str = TABLE) -> set[tuple[str, str]]:
    found = client.query(TableName=table, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
                         ExpressionAttributeValues={":g": {"S": GROUP}})["Items"]
    return {(to_plain(i)["sk"], to_plain(i)["message"]) for i in found}


@pytest.mark.integration
def test_handler_applies_a_lambda_event(messages_table):
    seed_conversation(messages_table)
    one = message_item(GROUP, "2024-03-01T12:01:00+00:00", "m1", "one", TOBI)
    two = message_item(GROUP, "2024-03-01T12:02:00+00:00", "m2", "two", MIRA)
    event = {"Records": [lambda_record("INSERT", one, 1), lambda_record("INSERT", two, 2),
                         lambda_record("REMOVE", one, 3), lambda_record("MODIFY", two, 4)]}
    for item in (one, two):
        messages_table.put_item(TableName=TABLE, Item=to_attrs(item))

    response = lambda_stream.handler(event, None)

    assert response["batchItemFailures"] == []
    summary = response["summary"]
    assert (summary["records"], summary["applied"], summary["rows_moved"]) == (4, 2, 4)
    assert summary["skipped_by_reason"]["remove"] == 1 and summary["skipped_by_reason"]["modify"] == 1
    assert rows(messages_table) == {("2024-03-01T12:02:00+00:00", "two")}
    json.dumps(response)  # what Lambda returns must serialise

    again = lambda_stream.handler(event, None)  # Lambda retries a batch: nothing changes
    assert again["summary"]["applied"] == 0 and again["summary"]["skipped_by_reason"]["not_newer"] == 2
    assert rows(messages_table) == {("2024-03-01T12:02:00+00:00", "two")}


@pytest.mark.integration
def test_handler_reads_the_table_name_from_the_environment(messages_table, ddb_env, monkeypatch):
    from cruddur_ops.ddb import schema
    from tests.conftest import SCHEMA

    (spec,) = schema.read([SCHEMA]).tables
    spec.request["TableName"] = "messages-staging"
    schema.load(messages_table, [spec])
    monkeypatch.setenv("DDB_MESSAGE_TABLE", "messages-staging")
    seed_conversation(messages_table, "messages-staging")
    newer = message_item(GROUP, "2024-03-01T12:05:00+00:00", "m5", "to staging", TOBI)

    response = lambda_stream.handler({"Records": [lambda_record("INSERT", newer, 9)]}, None)

    assert response["summary"]["applied"] == 1
    assert rows(messages_table, "messages-staging") == {("2024-03-01T12:05:00+00:00", "to staging")}
    assert rows(messages_table) == set()  # cruddur-messages untouched


@pytest.mark.integration
def test_handler_with_an_empty_event_does_nothing(messages_table):
    assert lambda_stream.handler({"Records": []}, None)["summary"]["records"] == 0
    assert lambda_stream.handler({}, None)["batchItemFailures"] == []


def test_the_handler_needs_only_boto3():
    """The deployment package carries cruddur_ops alone: no typer, rich, psycopg or yaml at import time."""
    probe = ("import sys, json, cruddur_ops.stream\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'typer', 'click', 'rich', 'psycopg', 'yaml', 'boto3'})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []  # boto3 itself is imported on the first call
