import json

import pytest

from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.ddb.scan import iter_scan
from cruddur_ops.ddb.seed import BatchWriter

pytestmark = pytest.mark.integration

BIG = "x" * 4000  # ~4 KB items: 400 of them make 1.6 MB, several 1 MB scan pages


@pytest.fixture
def big_table(messages_table):
    writer = BatchWriter(messages_table, "cruddur-messages", workers=4)
    writer.write({"PutRequest": {"Item": {"pk": {"S": f"MSG#g{i % 7}"}, "sk": {"S": f"2024-01-01T00:{i:04d}"},
                                          "message": {"S": BIG}, "n": {"N": str(i)}}}} for i in range(400))
    return messages_table


def test_scan_reads_every_page(big_table, cli):
    doc = cli.json("ddb", "scan")
    assert doc["count"] == 400 and doc["scanned_count"] == 400
    assert doc["consumed_capacity"]["total"] > 0
    item = doc["items"][0]
    assert isinstance(item["n"], int) and isinstance(item["sk"], str)  # plain values, not {"S": …}


def test_scan_pages(big_table):
    capacity = Capacity()
    items = list(iter_scan(big_table, "cruddur-messages", capacity=capacity))
    assert len(items) == 400 and capacity.requests >= 2  # more than 1 MB: several pages


def test_parallel_segments_see_each_item_once(big_table):
    items = list(iter_scan(big_table, "cruddur-messages", segments=4))
    assert sorted(i["n"] for i in items) == list(range(400))


def test_limit_and_jsonl(big_table, cli):
    assert cli.json("ddb", "scan", "--limit", "5")["count"] == 5
    result = cli("ddb", "scan", "--output", "jsonl", "--limit", "250", "--segments", "2")
    lines = result.stdout.splitlines()
    assert len(lines) == 250 and all(json.loads(line)["message"] == BIG for line in lines)
    assert "read capacity units" in result.stderr
