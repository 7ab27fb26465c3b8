"""BatchWriter's requests: consumed capacity asked for by default, and not at all with ``capacity=False``."""

from __future__ import annotations

from cruddur_ops.ddb import seed as seeding
from cruddur_ops.seeds import seedfile
from tests.ddb.test_throttling import write_seed


class Recorder:
    def __init__(self):
        self.calls: list[dict] = []

    def batch_write_item(self, **kwargs):
        self.calls.append(kwargs)
        (table, requests), = kwargs["RequestItems"].items()
        if "ReturnConsumedCapacity" not in kwargs:
            return {}
        units = float(len(requests))
        return {"ConsumedCapacity": [{"TableName": table, "CapacityUnits": 2 * units, "Table": {"CapacityUnits": units},
                                      "GlobalSecondaryIndexes": {"message-group-sk-index": {"CapacityUnits": units}}}]}


def test_capacity_is_asked_for_and_added_up(tmp_path):
    parsed = seedfile.read(write_seed(tmp_path / "s.yaml", conversations=2, messages=30))
    client = Recorder()
    result = seeding.seed(client, parsed, parsed.users, workers=2)
    assert {c["ReturnConsumedCapacity"] for c in client.calls} == {"INDEXES"}
    assert result.to_dict()["consumed_capacity"] == {"total": 128.0, "table": 64.0,
                                                    "indexes": {"message-group-sk-index": 64.0},
                                                    "source": "reported"}


def test_without_capacity_nothing_is_asked_and_none_is_reported(tmp_path):
    parsed = seedfile.read(write_seed(tmp_path / "s.yaml", conversations=2, messages=30))
    client = Recorder()
    result = seeding.seed(client, parsed, parsed.users, workers=2, capacity=False)
    assert client.calls and all("ReturnConsumedCapacity" not in c for c in client.calls)
    assert sum(len(c["RequestItems"]["cruddur-messages"]) for c in client.calls) == result.items_written == 64
    assert result.capacity is None and result.to_dict()["consumed_capacity"] is None
