"""ddb/limits.py: what DynamoDB refuses, found before the first write, named by field, counted."""

from __future__ import annotations

import pytest

from cruddur_ops.ddb import batch, limits
from cruddur_ops.errors import InputError

RULES = limits.KeyRules("orders", "pk", "sk", {"pk": "S", "sk": "N", "status": "S"})


def item(**attrs) -> dict:
    return {"pk": {"S": "A"}, "sk": {"N": "1"}, **attrs}


@pytest.mark.parametrize("text, why", [
    ("1" * 39, "39 significant digits; DynamoDB keeps at most 38"),
    ("123456789012345678901234567890123456789012345", "45 significant digits"),
    ("1E+126", "too large"),
    ("-1E+126", "too large"),
    ("1E-131", "too small"),
    ("NaN", "is not a number DynamoDB stores"),
    ("Infinity", "is not a number DynamoDB stores"),
])
def test_numbers_dynamodb_cannot_store(text, why):
    assert why in limits.number_problem(text)


@pytest.mark.parametrize("text", ["0", "-0.0", "1" * 38, "1" * 38 + "000", "9.9999999999999999999999999999999999999E+125",
                                  "1E-130", "-1E-130", "0.1", "100000000000000000000000000000000000000000"])
def test_numbers_dynamodb_stores(text):
    assert limits.number_problem(text) is None


@pytest.mark.parametrize("bad, field, why", [
    ({"sk": {"N": "1"}}, "pk", "missing, a key of orders"),
    (item(sk={"S": "1"}), "sk", "must be N (a key of orders), not S"),
    (item(status={"N": "1"}), "status", "must be S (an index key of orders), not N"),
    (item(pk={"S": ""}), "pk", "empty; a key of orders cannot be empty"),
    (item(status={"S": ""}), "status", "empty; an index key of orders cannot be empty"),
    (item(pk={"S": "x" * 2049}), "pk", "a partition key of 2,049 bytes; DynamoDB's limit is 2,048"),
    (item(pk={"S": "é" * 1025}), "pk", "a partition key of 2,050 bytes"),
    (item(nums={"NS": ["1", "1" * 40]}), "nums", "40 significant digits"),
    (item(m={"M": {"l": {"L": [{"N": "1E+200"}]}}}), "m.l[0]", "too large"),
    (item(big={"S": "x" * 410_000}), "", "item of 410,"),
])
def test_item_problems_name_the_field(bad, field, why):
    problems = limits.item_problems(bad, RULES)
    assert problems and problems[0][0] == field and why in problems[0][1], problems


def test_a_sort_key_over_1024_bytes():
    rules = limits.KeyRules("t", "pk", "sk", {"pk": "S", "sk": "S"})
    assert limits.item_problems({"pk": {"S": "a"}, "sk": {"S": "x" * 1024}}, rules) == []
    assert limits.item_problems({"pk": {"S": "a"}, "sk": {"B": b"x" * 1025}}, limits.KeyRules("t", "pk", "sk", {"pk": "S", "sk": "B"})) == [
        ("sk", "a sort key of 1,025 bytes; DynamoDB's limit is 1,024")]


def nested(levels: int) -> dict:
    value: dict = {"S": "bottom"}
    for _ in range(levels):
        value = {"M": {"a": value}}
    return value


def test_nesting_over_32_levels():
    """The item is the first level (DynamoDB Local takes 31 maps inside each other, refuses 32: test_codec.py)."""
    assert limits.item_problems(item(deep=nested(31)), RULES) == []
    ((field, why),) = limits.item_problems(item(deep=nested(32)), RULES)
    assert field == "deep" + ".a" * 31 and "nested more than 32 levels" in why


def test_3_and_3_0_are_one_key():
    assert limits.key_of({"pk": {"S": "A"}, "sk": {"N": "3"}}, ("pk", "sk")) == \
        limits.key_of({"pk": {"S": "A"}, "sk": {"N": "3.0"}}, ("pk", "sk"))
    key = batch.key_function(("pk", "sk"))
    assert key({"PutRequest": {"Item": item(sk={"N": "3"})}}) == key({"DeleteRequest": {"Key": item(sk={"N": "30E-1"})}})
    # so the engine never puts both into one BatchWriteItem (DynamoDB refuses "duplicates" in one call)
    batches = list(batch._chunks([{"PutRequest": {"Item": item(sk={"N": n})}} for n in ("3", "3.0", "3.00")], 25, key))
    assert [len(b) for b in batches] == [1, 1, 1]


def test_validate_counts_every_bad_item_and_names_the_first():
    items = [(n, item(sk={"N": str(n)})) for n in range(1, 301)]
    items[250] = (251, item(sk={"N": "251"}, price={"N": "1" * 45}))
    items[260] = (261, item(sk={"N": "261"}, price={"N": "NaN"}))
    items[270] = (271, item(sk={"N": "251.0"}))  # the same key as line 251's item, written another way
    with pytest.raises(InputError) as caught:
        limits.validate(items, RULES, path="orders.jsonl")
    assert str(caught.value) == ("orders.jsonl:251: price: 45 significant digits; DynamoDB keeps at most 38 "
                                 "(2 of 300 items would be refused by DynamoDB; nothing written)")


def test_validate_a_duplicate_key_names_both_lines():
    items = [(1, item(sk={"N": "3"})), (2, item(sk={"N": "3.0"}))]
    with pytest.raises(InputError, match=r"f:2: the same key \(pk=A, sk=3.0\) as line 1; each key is written once"):
        limits.validate(items, RULES, path="f")
    assert limits.validate(items, RULES, unique=False)[0] == 2
