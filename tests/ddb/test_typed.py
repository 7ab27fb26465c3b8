"""The type mapping (ddb/typed.py): plain JSON and DynamoDB JSON, exact both ways for every attribute type."""

from __future__ import annotations

import json

import pytest

from cruddur_ops.ddb import typed

EVERY_TYPE = {
    "pk": {"S": "ORDER#7"},
    "sk": {"N": "3"},
    "text": {"S": "naïve, \"quoted\"\nline"},
    "int": {"N": "-42"},
    "frac": {"N": "0.1"},
    "digits": {"N": "3.1415926535897932384626433832795028841"},  # 38 significant digits
    "huge": {"N": "9.9999999999999999999999999999999999999E+125"},
    "blob": {"B": bytes(range(256))},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"x": {"BOOL": False}}}]},
    "map": {"M": {"nested": {"M": {"deep": {"SS": ["q"]}}}, "$ss": {"S": "looks typed"}}},
    "tricky": {"M": {"$ss": {"S": "a map whose only key starts with $"}}},
    "tags": {"SS": ["red", "blue"]},
    "scores": {"NS": ["1", "2.5", "12345678901234567890123456789012345678"]},
    "blobs": {"BS": [b"\x00", b"\xff\xfe"]},
}


def normal(item: dict) -> dict:
    """Sets compare as sets."""
    out = {}
    for k, v in item.items():
        ((kind, value),) = v.items()
        if kind in ("SS", "NS", "BS"):
            out[k] = {kind: sorted(value)}
        elif kind == "M":
            out[k] = {"M": normal(value)}
        elif kind == "L":
            out[k] = {"L": [normal({"_": e})["_"] for e in value]}
        else:
            out[k] = v
    return out


def test_plain_json_round_trip_is_exact_for_every_type():
    line = typed.dumps(typed.to_plain(EVERY_TYPE))
    assert "\n" not in line
    back = typed.to_attrs(typed.loads(line))
    assert normal(back) == normal(EVERY_TYPE)


def test_plain_json_is_plain_where_json_can_carry_it():
    plain = json.loads(typed.dumps(typed.to_plain(EVERY_TYPE)))
    assert plain["int"] == -42 and isinstance(plain["int"], int)
    assert plain["frac"] == 0.1 and plain["yes"] is True and plain["nothing"] is None
    assert plain["list"] == ["a", 1, {"x": False}]
    assert plain["tags"] == {"$ss": ["blue", "red"]}
    assert plain["blob"] == {"$b64": typed.b64(bytes(range(256)))}
    assert plain["tricky"] == {"$m": {"$ss": "a map whose only key starts with $"}}


def test_numbers_keep_every_digit_and_never_pass_through_a_float():
    line = typed.dumps(typed.to_plain({"n": {"N": "3.1415926535897932384626433832795028841"}}))
    assert line == '{"n": 3.1415926535897932384626433832795028841}'
    assert typed.to_attrs(typed.loads(line)) == {"n": {"N": "3.1415926535897932384626433832795028841"}}
    assert typed.to_attrs({"n": {"$n": "1.000000000000000000000000000000000001"}}) == {
        "n": {"N": "1.000000000000000000000000000000000001"}}


def test_dynamodb_json_is_one_item_object_per_line_as_the_s3_export_writes_it():
    line = typed.to_dynamodb_json(EVERY_TYPE)
    doc = json.loads(line)
    assert list(doc) == ["Item"]
    assert doc["Item"]["blob"] == {"B": typed.b64(bytes(range(256)))}
    assert doc["Item"]["sk"] == {"N": "3"} and doc["Item"]["yes"] == {"BOOL": True}
    assert normal(typed.from_dynamodb_json(typed.loads(line))) == normal(EVERY_TYPE)


@pytest.mark.parametrize("plain, message", [
    ({"tags": {"$ss": []}}, "tags: $ss takes a non-empty list"),
    ({"tags": {"$ss": ["a", "a"]}}, "tags: $ss holds the same value twice"),
    ({"b": {"$b64": "not base64!"}}, "b: not valid base64"),
    ({"m": {"x": {"$nope": 1}}}, "m.x: unknown typed form '$nope'"),
    ({"l": [1, {"$ns": ["x"]}]}, "l[1][0]: 'x' is not a number"),
])
def test_bad_typed_forms_name_the_field(plain, message):
    with pytest.raises(typed.TypeMappingError) as info:
        typed.to_attrs(plain)
    assert str(info.value).startswith(message)


def test_item_size_counts_names_and_values():
    assert typed.item_size({"pk": {"S": "abc"}}) == 5
    assert typed.item_size({"n": {"N": "12345"}, "b": {"BOOL": True}}) == 1 + 4 + 1 + 1
