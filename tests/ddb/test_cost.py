"""cruddur_ops/ddb/cost.py, analyze.py and ttl.py on DynamoDB Local."""

import json
import threading
import time
from pathlib import Path

import pytest

from cruddur_ops.ddb import cost, ttl
from cruddur_ops.errors import ConflictError

MCP = Path(__file__).resolve().parent / "entities" / "schema.json"
PRICES = Path(__file__).resolve().parents[2] / "cruddur_ops" / "data" / "prices.json"
MEMBER = "2c4e6a80-1b3d-4f5a-9c7e-0a2b4c6d8e10"


def _library(ddb, cli):
    cli("ddb", "schema-load", MCP)
    ddb.put_item(TableName="lending-library", Item={
        "pk": {"S": f"MEMBER#{MEMBER}"}, "sk": {"S": "PROFILE"}, "member_id": {"S": MEMBER},
        "full_name": {"S": "Ada Quill"}, "email": {"S": "ada@example.invalid"}, "card_active": {"BOOL": True}})
    for n in range(3):
        loan = f"5b0c2f8e-7d1a-4c3b-8e2f-9a6d4c1b0e7{n}"
        ddb.put_item(TableName="lending-library", Item={
            "pk": {"S": f"MEMBER#{MEMBER}"}, "sk": {"S": f"LOAN#{loan}"}, "member_id": {"S": MEMBER},
            "loan_id": {"S": loan}, "isbn": {"S": "9780000000002"}, "status": {"S": "open"},
            "due_date": {"S": f"2026-03-0{n + 1}T00:00:00+00:00"}, "renewals": {"N": "0"},
            "status_pk": {"S": "STATUS#open"}, "due_sk": {"S": f"2026-03-0{n + 1}T00:00:00+00:00"},
            "note": {"S": "x" * 1500}})  # 2 KB: 2 write units a put, in the table and again in the GSI


def test_pattern_cost_matches_a_hand_calculation(ddb, cli):
    _library(ddb, cli)
    doc = cli.json("ddb", "pattern", "cost", "--table", "lending-library", "--schema", MCP,
                   "--rps", "member-profile=10", "--rps", "member-loans=4", "--rps", "Loan=2")
    prices = json.loads(PRICES.read_text())
    (table,) = doc["tables"]
    patterns = {p["pattern"]: p for p in table["patterns"]}
    month = prices["hours_per_month"] * 3600
    standard = prices["table_classes"]["STANDARD"]
    # one profile of < 4 KB, eventually consistent: 0.5 read units, as DynamoDB reported it
    profile = patterns["member-profile"]
    assert profile["read_units_per_call"] == 0.5 and profile["parameters"] == {"member_id": MEMBER}
    assert profile["monthly_usd"]["STANDARD"] == pytest.approx(0.5 * 10 * month / 1e6 * standard["read_request_unit_per_million"])
    loans = patterns["member-loans"]
    assert loans["items"] == 3 and loans["read_units_per_call"] == 1.0  # three 2 KB loans: 6 KB -> 2 × 4 KB, halved
    assert loans["monthly_usd"]["STANDARD"] == pytest.approx(1.0 * 4 * month / 1e6 * 0.125)
    loan = next(e for e in table["entities"] if e["entity"] == "Loan")
    assert loan["write_units_per_put"] == {"table": 2.0, "indexes": {"loans-by-status": 2.0}, "total": 4.0}
    assert loan["gsi_write_amplification"] == 2.0
    assert loan["monthly_usd"]["STANDARD"] == pytest.approx(4.0 * 2 * month / 1e6 * standard["write_request_unit_per_million"])
    totals = table["totals"]["STANDARD"]["on_demand"]
    assert totals["reads"] == pytest.approx(sum(p["monthly_usd"]["STANDARD"] for p in table["patterns"]))
    assert totals["writes"] == pytest.approx(loan["monthly_usd"]["STANDARD"])
    # provisioned at 70 % utilization: ceil((0.5 × 10 + 1 × 4) / 0.7) = 13 RCU, ceil(4 × 2 / 0.7) = 12 WCU
    provisioned = table["totals"]["STANDARD"]["provisioned"]
    assert (provisioned["rcu"], provisioned["wcu"]) == (13, 12)
    assert provisioned["reads"] == pytest.approx(13 * standard["rcu_hour"] * prices["hours_per_month"])
    assert table["cheapest"]["table_class"] in ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
    assert doc["prices"]["source"].endswith("prices.json") and doc["prices"]["as_of"] == prices["as_of"]


def test_pattern_cost_refuses_an_unknown_rate_name(ddb, cli):
    cli("ddb", "schema-load", MCP)
    result = cli("ddb", "pattern", "cost", "--schema", MCP, "--rps", "nobody=3", ok=False)
    assert result.exit_code == 3
    assert "--rps nobody: not a pattern or entity" in result.stderr


def test_analyze_finds_hot_keys_and_unused_indexes(ddb, cli):
    _library(ddb, cli)
    doc = cli.json("ddb", "analyze", "lending-library", "--schema", MCP)
    assert doc["items"] == 4 and doc["partitions"] == 1
    assert doc["hot_keys"][0]["key"] == f"MEMBER#{MEMBER}" and doc["hot_keys"][0]["share_of_items"] == 1.0
    indexes = {i["name"]: i for i in doc["indexes"]}
    assert indexes["loans-by-status"]["items"] == 3 and indexes["loans-by-status"]["hot_keys"][0]["key"] == "STATUS#open"
    assert doc["unused_indexes"] == []  # both GSIs are read by a declared pattern
    assert doc["item_collections"] is None  # no LSI: no 10 GB cap


def test_ttl_sweep_deletes_what_dynamodb_would_have(ddb, cli):
    cli("ddb", "schema-load", MCP)
    now = int(time.time())
    for name, expires in (("gone", now - 60), ("kept", now + 3600), ("millis", now * 1000), ("ancient", now - 6 * 365 * 86400)):
        ddb.put_item(TableName="lending-library", Item={"pk": {"S": f"X#{name}"}, "sk": {"S": "Y"},
                                                          "expires_at": {"N": str(expires)}})
    ddb.put_item(TableName="lending-library", Item={"pk": {"S": "X#text"}, "sk": {"S": "Y"}, "expires_at": {"S": "0"}})
    dry = cli.json("ddb", "ttl", "sweep", "lending-library", "--dry-run")
    assert (dry["expired"], dry["deleted"]) == (1, 0)
    doc = cli.json("ddb", "ttl", "sweep", "lending-library")
    assert (doc["attribute"], doc["expired"], doc["deleted"]) == ("expires_at", 1, 1)
    left = sorted(i["pk"]["S"] for i in ddb.scan(TableName="lending-library")["Items"])
    assert left == ["X#ancient", "X#kept", "X#millis", "X#text"]


def test_ttl_sweep_needs_ttl_on_and_refuses_production_without_prod(ddb, cli, monkeypatch):
    ddb.create_table(TableName="no-ttl", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    with pytest.raises(ConflictError, match="TTL is not enabled on no-ttl"):
        ttl.sweep(ddb, "no-ttl")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.example.invalid")
    result = cli("ddb", "ttl", "sweep", "no-ttl", ok=False)
    assert result.exit_code == 6 and "refusing to delete expired items of no-ttl" in result.stderr


def test_the_background_sweeper_sweeps_each_round_until_stopped(ddb, cli):
    cli("ddb", "schema-load", MCP)
    ddb.put_item(TableName="lending-library", Item={"pk": {"S": "X#gone"}, "sk": {"S": "Y"},
                                                      "expires_at": {"N": str(int(time.time()) - 5)}})
    stop = threading.Event()
    rounds: list = []

    def on_round(results):
        rounds.append({r.table: r.deleted for r in results})
        stop.set()  # the test decides when the loop ends: after its first round

    assert ttl.sweep_forever(ddb, every=0.01, stop=stop, on_round=on_round) == 1
    assert rounds == [{"lending-library": 1, "fleet-telemetry": 0}]
    assert ddb.scan(TableName="lending-library")["Count"] == 0


def test_monthly_prices_need_table_classes(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"region": "eu-west-1", "as_of": "2025-01-01",
                                "on_demand": {"read_request_unit_per_million": 0.14, "write_request_unit_per_million": 0.7}}))
    with pytest.raises(Exception, match="table_classes: the monthly cost needs prices per table class"):
        cost.MonthlyPrices.load(path)


def test_the_background_process_sweeps_until_stopped(ddb, cli, ddb_env, tmp_path):
    import os

    from cruddur_ops.local._proc import pid_alive

    cli("ddb", "schema-load", MCP)
    ddb.put_item(TableName="lending-library", Item={"pk": {"S": "X#gone"}, "sk": {"S": "Y"},
                                                      "expires_at": {"N": str(int(time.time()) - 5)}})
    pid = ttl.start_background(tmp_path, ddb_env, 0.2, dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while ddb.scan(TableName="lending-library")["Count"] and time.monotonic() < deadline:
            time.sleep(0.2)  # waits for the sweeper's work to show, up to a minute
        assert ddb.scan(TableName="lending-library")["Count"] == 0
        assert (tmp_path / "ttl-sweep.pid").read_text() == str(pid)
    finally:
        assert ttl.stop_background(tmp_path)
    assert not pid_alive(pid) and not (tmp_path / "ttl-sweep.pid").exists()
    assert "lending-library: 1 expired item(s) deleted" in (tmp_path / "ttl-sweep.log").read_text()


def test_analyze_sizes_item_collections_when_an_lsi_caps_them(ddb, cli):
    ddb.create_table(
        TableName="with-lsi", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "at")],
        LocalSecondaryIndexes=[{"IndexName": "by-at", "Projection": {"ProjectionType": "ALL"},
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}]}])
    for n in range(5):
        ddb.put_item(TableName="with-lsi", Item={"pk": {"S": "hot"}, "sk": {"S": str(n)}, "at": {"S": f"t{n}"}})
    ddb.put_item(TableName="with-lsi", Item={"pk": {"S": "cold"}, "sk": {"S": "0"}})
    doc = cli.json("ddb", "analyze", "with-lsi")
    assert [(k["key"], k["items"]) for k in doc["hot_keys"]] == [("hot", 5), ("cold", 1)]
    (hot, cold) = doc["item_collections"]
    assert hot["key"] == "hot" and hot["bytes"] > cold["bytes"] > 0  # the table's items and the LSI's, per key
    assert 0 < hot["share_of_10_gb"] < 1e-6
    assert doc["unused_indexes"] is None  # no declared patterns for this table: nothing to judge
