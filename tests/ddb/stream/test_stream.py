"""The message-group stream processor (cruddur_ops/ddb/stream.py) and `cruddur ddb stream`, on DynamoDB Local."""

from __future__ import annotations

import json
import threading

import pytest

from cruddur_ops.ddb import stream
from cruddur_ops.ddb.model import GROUP_INDEX, TABLE, group_item, message_item
from cruddur_ops.ddb.typed import to_attrs, to_plain
from cruddur_ops.model import User
from tests.conftest import SCHEMA, no_result

pytestmark = pytest.mark.integration

MIRA = User("3f0b8f4e-2d6a-4c1e-9b57-8e21a4c6d901", "mira", "Mira Castellanos")
TOBI = User("7a2c91d3-5e4b-4f08-a6c2-1d9e3b7f5a22", "tobi", "Tobiah Okafor")
INES = User("c51e0a77-9f3d-4b2a-8e6c-4a7d2f1b9c33", "ines", "Inès Duval")
GROUP = "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"
T0, T1, T2, T3 = (f"2024-03-01T12:00:0{i}+00:00" for i in range(4))


def put(client, item: dict) -> None:
    """A plain put_item, as the app writes."""
    client.put_item(TableName=TABLE, Item=to_attrs(item))


def start_conversation(client, group=GROUP, a=MIRA, b=TOBI, at=T0, text="first") -> None:
    put(client, message_item(group, at, f"m-{at}", text, a))
    put(client, group_item(a, b, group, at, text))
    put(client, group_item(b, a, group, at, text))


def message(client, at: str, text: str, sender=MIRA, group=GROUP) -> None:
    put(client, message_item(group, at, f"m-{at}", text, sender))


def rows(client, group=GROUP) -> list[dict]:
    found = client.query(TableName=TABLE, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
                         ExpressionAttributeValues={":g": {"S": group}})["Items"]
    return sorted((to_plain(i) for i in found), key=lambda r: r["pk"])


def all_group_rows(client, user: User) -> list[dict]:
    found = client.query(TableName=TABLE, KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": "GRP#" + user.uuid}})["Items"]
    return [to_plain(i) for i in found]


def stream_records(client) -> list[dict]:
    """Every record of the table's stream, as GetRecords returns them."""
    streams = _streams_client()
    arn = stream.stream_arn(client, TABLE)
    records = []
    for shard in stream.describe_stream(streams, arn)["shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            if not page["Records"]:
                break
            records += page["Records"]
            iterator = page.get("NextShardIterator")
    return records


def _streams_client():
    import os

    from cruddur_ops.settings import Settings

    return Settings.from_env(endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"]).client("dynamodbstreams")


def insert_record(at: str, text: str, group=GROUP, sender=MIRA) -> dict:
    return {"eventName": "INSERT", "dynamodb": {"NewImage": to_attrs(message_item(group, at, f"m-{at}", text, sender))}}


# --- the acceptance path: the app's put_item, then `stream process` ------------------------------------------
def test_process_moves_both_rows_to_a_message_put_by_the_app_and_a_rerun_changes_nothing(messages_table, cli):
    client = messages_table
    start_conversation(client)
    message(client, T1, "the newest one", sender=TOBI)

    result = cli("ddb", "stream", "process", "--output", "json")
    doc = json.loads(result.stdout)
    # 3 items of the conversation + the new message, then the processor's own moves (2 deletes, 2 puts),
    # which land in the stream too and are read before the shard is caught up: skipped, as any Lambda would
    assert doc["records"] == 8 and doc["applied"] == 1 and doc["rows_moved"] == 2
    assert {k: v for k, v in doc["skipped_by_reason"].items() if v} == {"not_message": 4, "not_newer": 1, "remove": 2}
    assert doc["skipped"] == 7 and doc["interrupted"] is False and doc["shards"] >= 1
    assert doc["stream_arn"].startswith("arn:aws:dynamodb:") and doc["table"] == TABLE
    assert {c["pk"] for c in doc["changes"]} == {"GRP#" + MIRA.uuid, "GRP#" + TOBI.uuid}
    assert all(c["from_sk"] == T0 and c["to_sk"] == T1 for c in doc["changes"])
    assert result.stderr.count("moved GRP#") == 2  # a line per applied change, on stderr only

    after = rows(client)
    assert [(r["sk"], r["message"]) for r in after] == [(T1, "the newest one")] * 2
    # every other field kept, shape unchanged
    assert after == sorted([group_item(MIRA, TOBI, GROUP, T1, "the newest one"),
                            group_item(TOBI, MIRA, GROUP, T1, "the newest one")], key=lambda r: r["pk"])
    assert len(all_group_rows(client, MIRA)) == 1 and len(all_group_rows(client, TOBI)) == 1  # old rows gone

    again = cli.json("ddb", "stream", "process")
    assert (again["records"], again["applied"], again["rows_moved"], again["skipped"]) == (0, 0, 0, 0)
    assert rows(client) == after

    message(client, T2, "later")  # a restart reads on from the checkpoint: only the new record
    third = cli.json("ddb", "stream", "process")
    assert (third["records"], third["applied"], third["rows_moved"]) == (1 + 4, 1, 2)
    assert {r["sk"] for r in rows(client)} == {T2}


def test_a_batch_applies_every_insert_in_order_and_skips_remove_and_modify(messages_table):
    client = messages_table
    start_conversation(client)
    message(client, T1, "one")
    message(client, T2, "two")
    client.delete_item(TableName=TABLE, Key=to_attrs({"pk": "MSG#" + GROUP, "sk": T1}))   # REMOVE
    message(client, T2, "two, edited")                                                     # MODIFY
    message(client, T3, "three")
    records = stream_records(client)
    assert [r["eventName"] for r in records].count("REMOVE") == 1

    summary = stream.apply_records(client, records)

    assert summary.records == len(records) == 8
    assert summary.applied == 3 and summary.rows_moved == 6
    assert summary.skipped["remove"] == 1 and summary.skipped["modify"] == 1
    assert summary.skipped["not_message"] == 2 and summary.skipped["not_newer"] == 1  # T0's own message
    per_row = [(c.from_sk, c.to_sk) for c in summary.changes if c.pk == "GRP#" + MIRA.uuid]
    assert per_row == [(T0, T1), (T1, T2), (T2, T3)]  # one record after the other, in order
    assert [(r["sk"], r["message"]) for r in rows(client)] == [(T3, "three")] * 2
    doc = summary.to_dict()
    assert set(doc) == {"records", "applied", "rows_moved", "skipped", "skipped_by_reason", "changes",
                        "changes_omitted", "collisions"}
    assert set(doc["skipped_by_reason"]) == set(stream.SKIP_REASONS)


def test_an_older_message_never_moves_a_row_backwards(messages_table):
    client = messages_table
    start_conversation(client, at=T2, text="newer")
    summary = stream.apply_records(client, [insert_record(T3, "newest"), insert_record(T1, "late arrival")])
    assert summary.applied == 1 and summary.skipped["not_newer"] == 1
    assert {(r["sk"], r["message"]) for r in rows(client)} == {(T3, "newest")}


def test_a_processor_with_a_stale_view_of_a_row_loses_the_race_cleanly(messages_table):
    client = messages_table
    start_conversation(client, at=T0)
    stale = client.query(TableName=TABLE, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
                         ExpressionAttributeValues={":g": {"S": GROUP}})["Items"][0]
    stream.apply_records(client, [insert_record(T2, "two")])  # another processor moves the rows on

    # the stale view says T0; the message at T1 is older than where the row really is: nothing moves
    move = stream.move_row(client, TABLE, stale, T1, "one")
    assert move.outcome == "not_newer" and move.sk == T2
    # a newer message moves it from where it really is, not from the stale T0
    move = stream.move_row(client, TABLE, stale, T3, "three")
    assert move.outcome == "moved" and move.change.from_sk == T2
    owner = User(stale["pk"]["S"][4:], "", "")
    assert [(r["sk"], r["message"]) for r in all_group_rows(client, owner)] == [(T3, "three")]


def test_concurrent_processors_end_on_the_newest_message(messages_table):
    client = messages_table
    start_conversation(client, at="2024-03-01T12:00:00+00:00")
    times = [f"2024-03-01T12:{m:02d}:00+00:00" for m in range(1, 21)]
    batches = [[insert_record(t, f"at {t}") for t in times[k::4][::-1]] for k in range(4)]  # each newest first
    errors = []

    def work(batch):
        try:
            stream.apply_records(client, batch)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {(r["sk"], r["message"]) for r in rows(client)} == {(times[-1], f"at {times[-1]}")}
    assert len(all_group_rows(client, MIRA)) == 1 and len(all_group_rows(client, TOBI)) == 1


def test_a_row_never_overwrites_another_conversations_row_at_the_same_sk(messages_table):
    client = messages_table
    start_conversation(client, at=T0)
    other_group = "0c9a3f61-1111-4e6b-9a05-c2d8e1f7a612"
    start_conversation(client, group=other_group, a=MIRA, b=INES, at=T1, text="hello ines")
    summary = stream.apply_records(client, [insert_record(T1, "same second")])
    # tobi's row moves; mira's would land on her row of the conversation with ines, so it stays
    assert summary.applied == 1 and summary.rows_moved == 1
    assert summary.collisions == [{"message_group_uuid": GROUP, "pk": "GRP#" + MIRA.uuid, "sk": T0, "message_sk": T1}]
    assert {r["message"] for r in rows(client, other_group)} == {"hello ines"}


def test_records_that_are_not_message_inserts_are_counted_not_applied(messages_table):
    records = [
        {"eventName": "INSERT", "dynamodb": {"NewImage": to_attrs(group_item(MIRA, TOBI, GROUP, T1, "x"))}},
        {"eventName": "INSERT", "dynamodb": {"Keys": to_attrs({"pk": "MSG#" + GROUP, "sk": T1})}},  # KEYS_ONLY
        {"eventName": "INSERT", "dynamodb": {"NewImage": to_attrs({"pk": "MSG#" + GROUP, "sk": T1})}},
        {"eventName": "REMOVE", "dynamodb": {"Keys": to_attrs({"pk": "MSG#" + GROUP, "sk": T1})}},
        insert_record(T1, "to a group without rows", group="0c9a3f61-2222-4e6b-9a05-c2d8e1f7a613"),
    ]
    summary = stream.apply_records(messages_table, records)
    assert summary.records == 5 and summary.applied == 0
    assert {k: v for k, v in summary.skipped.items() if v} == {
        "not_message": 1, "no_new_image": 1, "malformed": 1, "remove": 1, "no_group_rows": 1}


# --- reading the stream ------------------------------------------------------------------------------------
def test_status_shows_the_arn_shards_and_checkpoint(messages_table, cli):
    start_conversation(messages_table)
    before = cli.json("ddb", "stream", "status")
    assert before["stream_arn"] == stream.stream_arn(messages_table, TABLE)
    assert before["view_type"] == "NEW_IMAGE" and before["status"] == "ENABLED"
    assert before["shards"] and all(s["checkpoint"] is None for s in before["shards"])
    assert before["checkpoint_file"].endswith("stream-checkpoints.json")

    cli.json("ddb", "stream", "process")
    after = cli.json("ddb", "stream", "status")
    (shard,) = [s for s in after["shards"] if s["checkpoint"]]
    assert set(shard) == {"shard_id", "parent_shard_id", "open", "starting_sequence_number", "ending_sequence_number",
                          "checkpoint", "done", "checkpoint_at"}
    saved = json.loads(open(after["checkpoint_file"]).read())
    assert saved["streams"][after["stream_arn"]]["shards"][shard["shard_id"]]["sequence_number"] == shard["checkpoint"]


def test_follow_ends_cleanly_on_ctrl_c_with_checkpoints_saved(messages_table, cli, monkeypatch):
    client = messages_table
    start_conversation(client)
    message(client, T1, "one")

    def ctrl_c(seconds):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(stream.reader.time, "sleep", ctrl_c)  # the first idle poll is "pressed Ctrl-C"
        result = cli("ddb", "stream", "process", "--follow", "--output", "json")
    doc = json.loads(result.stdout)
    assert doc["interrupted"] is True and doc["follow"] is True
    assert doc["records"] == 4 + 4 and doc["applied"] == 1
    assert "Ctrl-C" in result.stderr
    assert cli.json("ddb", "stream", "process")["records"] == 0  # the checkpoint was saved


def test_follow_picks_up_messages_written_while_it_runs(messages_table, tmp_path):
    client = messages_table
    start_conversation(client)
    writes = iter([T1, T2])
    polls = []

    def sleep(seconds):  # between polls, the app writes the next message
        polls.append(seconds)
        at = next(writes, None)
        if at:
            message(client, at, f"at {at}")

    store = stream.Checkpoints(tmp_path / "cp.json")
    run = stream.process_stream(client, _streams_client(), TABLE, store, follow=True, poll_interval=0.01,
                                sleep=sleep, should_stop=lambda r: len(polls) >= 3)
    assert run.summary.applied == 2 and {r["sk"] for r in rows(client)} == {T2}


def test_from_latest_skips_what_is_already_in_the_stream(messages_table, tmp_path):
    client = messages_table
    start_conversation(client)
    message(client, T1, "old news")
    store = stream.Checkpoints(tmp_path / "cp.json")
    run = stream.process_stream(client, _streams_client(), TABLE, store, start="latest")
    assert run.summary.records == 0 and {r["sk"] for r in rows(client)} == {T0}


def test_a_table_without_a_stream_is_a_clear_error(ddb, cli):
    from cruddur_ops.ddb import schema

    (spec,) = schema.read([SCHEMA]).tables  # the app's design, without its stream
    spec.request.pop("StreamSpecification")
    schema.load(ddb, [spec])
    result = cli("ddb", "stream", "process", ok=False)
    assert result.exit_code == 4 and no_result(result.stdout)
    assert "no stream enabled" in result.stderr and "StreamViewType" in result.stderr


def test_process_refuses_a_production_endpoint_without_prod(aws_env, cli):
    result = cli("ddb", "stream", "process", "--endpoint-url", "https://dynamodb.aws.invalid", ok=False)
    assert result.exit_code == 6 and "--prod" in result.stderr
