"""ddb/transfer.py and ddb/query.py without an engine: format detection, the --sort grammar, and key typing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cruddur_ops.ddb import query, transfer
from cruddur_ops.errors import InputError

KEYS = query.TableKeys("orders", query.Key("pk", "S", "sk", "N"), {"by-bin": query.Key("blob", "B")},
                       {"pk": "S", "sk": "N", "blob": "B"},
                       {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]})


@pytest.mark.parametrize("name, head, fmt", [
    ("a.jsonl", '{"pk": "x"}\n', "jsonl"),
    ("a.jsonl", '{"Item": {"pk": {"S": "x"}}}\n', "dynamodb-json"),
    ("a.json", '[{"pk": "x"}]', "json"),
    ("a.json", '{"table": "t", "items": [{"pk": "x"}]}', "json"),
    ("a.csv", "pk,sk\n", "csv"),
    ("", '  [\n{"pk": 1}]', "json"),
    ("", '{"Item": {}}\n', "dynamodb-json"),
    ("", '{"pk": "x"}\n', "jsonl"),
    ("", "pk,sk\nA,1\n", "csv"),
])
def test_format_from_the_extension_else_the_content(name, head, fmt):
    assert transfer.detect_format(Path(name), head) == fmt


@pytest.mark.parametrize("text, parsed", [
    ("= 5", ("=", ["5"])), ("<=2024-01", ("<=", ["2024-01"])), ("> a b", (">", ["a b"])),
    ("between 1 and 9", ("between", ["1", "9"])), ("BETWEEN a and z", ("between", ["a", "z"])),
    ("begins_with ORDER#2024", ("begins_with", ["ORDER#2024"])),
])
def test_sort_conditions(text, parsed):
    assert query.parse_sort(text) == parsed


def test_an_unknown_sort_operator_says_which_are_known():
    with pytest.raises(InputError, match="expected OP VALUE with OP one of =, <, <=, >, >="):
        query.parse_sort("~ 5")


def test_keys_are_typed_from_the_key_schema():
    assert query.item_key(KEYS, "CUSTOMER#1", "42") == {"pk": {"S": "CUSTOMER#1"}, "sk": {"N": "42"}}
    with pytest.raises(InputError, match="has a sort key"):
        query.item_key(KEYS, "CUSTOMER#1", None)
    request = query.build_query(KEYS, "AAE=", index="by-bin")
    assert request["ExpressionAttributeValues"] == {":pk": {"B": b"\x00\x01"}}
    assert query.wire_request(request)["ExpressionAttributeValues"] == {":pk": {"B": "AAE="}}
    with pytest.raises(InputError, match="--sort: index by-bin has no sort key"):
        query.build_query(KEYS, "AAE=", index="by-bin", sort="= x")


# --- what a developer's own files look like ---------------------------------------------------------------
@pytest.mark.parametrize("name, head, fmt", [
    ("a.json", '{\n  "pk": "x",\n  "sk": 1\n}\n', "json"),  # one pretty-printed item
    ("", '{\n  "items": [\n', "json"),  # `ddb scan -o json`
    ("", '{"orders": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]}', "json"),  # a BatchWriteItem request file
    ("a.json", '{"ModelName": "m", "DataModel": []}', "json"),  # a Workbench model
    ("a.jsonl.gz", '{"pk": "x"}\n', "jsonl"),
    ("a.json", '{"pk": "x"}\n{"pk": "y"}\n', "jsonl"),  # JSON lines named .json
    ("", '{\n  "Item": {"pk": {"S": "x"}}\n}', "json"),  # one pretty-printed DynamoDB JSON item
])
def test_format_of_documents_and_lines(name, head, fmt):
    assert transfer.detect_format(Path(name), head) == fmt


def items_of(tmp_path, text: str, keys=KEYS, name: str = "f.json") -> tuple[list[dict], list[str]]:
    path = tmp_path / name
    path.write_text(text)
    source = transfer.Source.open(str(path))
    fmt = transfer.detect_format(path, source.head())
    plan = transfer.plan_import(source, fmt, keys)
    return [i for _, _, i in transfer.read_items(source, fmt, keys)], plan.notes


def test_pretty_printed_json_array_object_and_items(tmp_path):
    import json

    one = {"pk": "A", "sk": 1, "note": "x"}
    assert items_of(tmp_path, json.dumps(one, indent=2))[0] == [
        {"pk": {"S": "A"}, "sk": {"N": "1"}, "note": {"S": "x"}}]
    assert len(items_of(tmp_path, json.dumps([one, {**one, "sk": 2}], indent=4))[0]) == 2
    assert len(items_of(tmp_path, json.dumps({"table": "orders", "items": [one]}, indent=2))[0]) == 1


def test_batch_write_item_request_files(tmp_path):
    import json

    def put(n):
        return {"PutRequest": {"Item": {"pk": {"S": f"A{n}"}, "sk": {"N": str(n)}}}}

    items, notes = items_of(tmp_path, json.dumps({"orders": [put(1), put(2)]}, indent=2))
    assert [i["pk"]["S"] for i in items] == ["A1", "A2"] and notes == []
    items, notes = items_of(tmp_path, json.dumps({"RequestItems": {"Orders-prod": [put(1)]}}))
    assert len(items) == 1 and notes == ["the file's BatchWriteItem request is for table Orders-prod: its items go into orders"]
    items, notes = items_of(tmp_path, json.dumps({"orders": [put(1)], "audit": [put(9), put(8)]}))
    assert len(items) == 1 and notes == ["the file's BatchWriteItem request also holds audit: only orders's items are imported"]
    with pytest.raises(InputError, match=r"names the tables a, b, not orders; import into one of them"):
        items_of(tmp_path, json.dumps({"a": [put(1)], "b": [put(2)]}))
    with pytest.raises(InputError, match=r"orders\[1\]: a DeleteRequest; an import only puts items"):
        items_of(tmp_path, json.dumps({"orders": [put(1), {"DeleteRequest": {"Key": {"pk": {"S": "x"}}}}]}))


def test_gzip_is_read_through_and_a_bomb_is_refused(tmp_path):
    import gzip
    import time

    path = tmp_path / "orders.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"pk": "A", "sk": 1}\n') + gzip.compress(b'{"pk": "B", "sk": 2}\n'))  # two members
    source = transfer.Source.open(str(path))
    assert source.compressed and transfer.detect_format(path, source.head()) == "jsonl"
    assert [i["pk"]["S"] for _, _, i in transfer.read_items(source, "jsonl", KEYS)] == ["A", "B"]
    source.close()
    assert not source.real.exists()

    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb", compresslevel=6) as f:
        for _ in range(64):
            f.write(b"\0" * (1 << 20))  # 64 MiB of zeros in ~64 KB
    started = time.monotonic()
    with pytest.raises(InputError, match="decompresses to over 200 times its size"):
        transfer.Source.open(str(bomb))
    assert time.monotonic() - started < 2
    assert not list(tmp_path.glob("cruddur-import-*"))

    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(b'{"pk": "A", "sk": 1}\n' * 100)[:-12])
    with pytest.raises(InputError, match="cut short"):
        transfer.Source.open(str(cut))


def test_a_fifo_is_read_once_without_seeking(tmp_path):
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    text = '{\n  "items": [{"pk": "A", "sk": 1}, {"pk": "B", "sk": 2}]\n}\n'

    def feed():
        with open(fifo, "w") as f:
            f.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    source = transfer.Source.open(str(fifo))  # blocks until the writer opens its end
    writer.join()
    assert source.spooled
    fmt = transfer.detect_format(source.path, source.head())
    assert fmt == "json"
    plan = transfer.plan_import(source, fmt, KEYS)
    assert plan.items == 2
    assert len(list(transfer.read_items(source, fmt, KEYS))) == 2  # read twice: check, then write
    source.close()


def test_deep_json_is_one_error_not_a_traceback(tmp_path):
    with pytest.raises(InputError, match="nested too deep"):
        items_of(tmp_path, '{"pk": "A", "sk": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", name="f.jsonl")
    with pytest.raises(InputError, match=r"f.jsonl:1: not JSON: NaN is not a number DynamoDB stores"):
        items_of(tmp_path, '{"pk": "A", "sk": NaN}\n', name="f.jsonl")


def test_a_first_line_longer_than_the_sniffed_head_is_still_json_lines(tmp_path):
    import json

    lines = [json.dumps({"pk": f"A{i}", "sk": i, "note": "x" * 200_000}) for i in range(2)]
    items, _ = items_of(tmp_path, "\n".join(lines) + "\n", name="big")
    assert [i["pk"]["S"] for i in items] == ["A0", "A1"]


DESCRIBED = {  # a DescribeTable "Table" with everything CreateTable can carry over
    "TableName": "orders", "TableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/orders",
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 2, "NumberOfDecreasesToday": 0},
    "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}, "IndexStatus": "ACTIVE",
                                "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}}],
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": "arn:aws:kms:us-east-1:000000000000:key/k"},
    "TableClassSummary": {"TableClass": "STANDARD_INFREQUENT_ACCESS"},
}


def test_the_create_request_of_a_described_table_with_and_without_its_stream():
    request = transfer.create_request_from(DESCRIBED, "copy")
    assert request["TableName"] == "copy" and request["BillingMode"] == "PROVISIONED"
    assert request["ProvisionedThroughput"] == {"ReadCapacityUnits": 3, "WriteCapacityUnits": 2}
    assert request["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert request["SSESpecification"]["KMSMasterKeyId"].endswith("key/k")
    assert request["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    quiet = transfer.create_request_from(DESCRIBED, "orders", stream=False)  # what a snapshot keeps: the stream beside it
    assert "StreamSpecification" not in quiet and quiet == {k: v for k, v in request.items()
                                                           if k != "StreamSpecification"} | {"TableName": "orders"}
    assert transfer.stream_view(DESCRIBED) == "NEW_IMAGE" and transfer.stream_view({"TableName": "t"}) is None
