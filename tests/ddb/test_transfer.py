"""ddb/transfer.py and ddb/query.py without an engine: format detection, the --sort grammar, and key typing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cruddur_ops.ddb import query, transfer
from cruddur_ops.errors import InputError

KEYS = query.TableKeys("orders", query.Key("pk", "S", "sk", "N"), {"by-bin": query.Key("blob", "B")},
                       {"pk": "S", "sk": "N", "blob": "B"}, {})


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
