"""cruddur_ops/ddb/capacity.py: adding up ConsumedCapacity and pricing it at on-demand rates."""

import json

import pytest

from cruddur_ops.ddb.capacity import DEFAULT_PRICE_FILE, Capacity, Prices
from cruddur_ops.errors import InputError


def test_capacity_adds_single_responses_and_batch_lists():
    capacity = Capacity("read")
    capacity.add({"CapacityUnits": 1.5, "Table": {"CapacityUnits": 1.0},
                  "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 0.5}}})
    capacity.add([{"CapacityUnits": 2.0, "Table": {"CapacityUnits": 1.0},
                   "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1.0}}}])
    capacity.add(None)
    assert capacity.to_dict() == {"total": 3.5, "table": 2.0, "indexes": {"gsi": 0.5, "lsi": 1.0},
                                  "source": "reported"}


def test_merge_sums_every_part():
    a, b = Capacity("write", total=2, table=1, indexes={"g": 1}, requests=1), Capacity("write", total=3, table=3, requests=2)
    a.merge(b)
    assert (a.total, a.table, a.indexes, a.requests) == (5, 4, {"g": 1}, 3)


def test_bundled_prices_are_the_documented_us_east_1_on_demand_prices():
    prices = Prices.load()
    assert (prices.read_per_million, prices.write_per_million, prices.region) == (0.125, 0.625, "us-east-1")
    assert prices.as_of == json.loads(DEFAULT_PRICE_FILE.read_text())["as_of"]


@pytest.mark.parametrize("kind, units, usd, per_million", [
    ("read", 0.5, 0.0000000625, 0.0625),     # one eventually consistent read of ≤ 4 KB
    ("read", 1.0, 0.000000125, 0.125),
    ("write", 1.0, 0.000000625, 0.625),      # one write of ≤ 1 KB
    ("write", 2.0, 0.00000125, 1.25),        # pattern C's message: one write to the table, one to the GSI
])
def test_cost_per_call_and_per_million_calls(kind, units, usd, per_million):
    cost = Prices.load().cost(kind, units)
    assert cost["usd"] == pytest.approx(usd)
    assert cost["usd_per_million_calls"] == pytest.approx(per_million)
    assert cost["unit"] == f"{kind} request units"
    assert cost["region"] == "us-east-1"


def test_a_run_of_many_writes_is_priced_per_million_items_not_per_call():
    cost = Prices.load().cost("write", 52.0, items=40)  # the seed: 40 items + 12 GSI writes
    assert cost["usd"] == pytest.approx(0.0000325)
    assert cost["usd_per_million_items"] == pytest.approx(0.0000325 / 40 * 1_000_000)  # $0.8125
    assert "usd_per_million_calls" not in cost
    doc = Capacity("write", total=52.0, table=40.0, indexes={"g": 12.0}).to_dict(Prices.load(), items=40)
    assert doc["cost"]["usd_per_million_items"] == pytest.approx(0.8125)


def test_to_dict_prices_the_total_with_the_right_unit():
    doc = Capacity("write", total=4.0, table=2.0, indexes={"g": 2.0}).to_dict(Prices.load())
    assert doc["cost"]["usd_per_million_calls"] == pytest.approx(4 * 0.625)
    assert "cost" not in Capacity("read").to_dict()


def _price_file(tmp_path, doc, name="prices.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_price_file_overrides_prices_region_and_date(tmp_path):
    path = _price_file(tmp_path, {"region": "eu-west-1", "as_of": "2025-01-01",
                                  "on_demand": {"read_request_unit_per_million": 0.1415,
                                                "write_request_unit_per_million": 0.7625}})
    prices = Prices.load(path)
    cost = prices.cost("write", 2)
    assert cost["usd_per_million_calls"] == pytest.approx(1.525)
    assert (cost["region"], cost["as_of"], prices.source) == ("eu-west-1", "2025-01-01", str(path))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a price file"),
    ({"region": "us-east-1", "as_of": "x"}, "missing field 'on_demand'"),
    ({"region": "us-east-1", "as_of": "x", "on_demand": {"read_request_unit_per_million": "cheap",
                                                          "write_request_unit_per_million": 1}}, "not a price file"),
    ({"region": "us-east-1", "as_of": "x", "on_demand": {"read_request_unit_per_million": -1,
                                                          "write_request_unit_per_million": 1}}, "must be a price ≥ 0"),
    ([1, 2], "not a price file"),
])
def test_bad_price_file_is_an_error_naming_the_file(tmp_path, content, message):
    path = _price_file(tmp_path, content)
    with pytest.raises(InputError) as err:
        Prices.load(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_missing_price_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="price file not found"):
        Prices.load(tmp_path / "nope.json")
    with pytest.raises(InputError, match="is a directory"):
        Prices.load(tmp_path)
