"""BatchWriter's requests: consumed capacity asked for by default, and not at all with ``capacity=False``."""

from __future__ import annotations

from cruddur_ops.ddb import seed as seeding
from cruddur_ops.ddb.typed import to_attrs
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


def _requests(parsed) -> list[dict]:
    """Every item the seed plans, as batch PutRequests (the seed itself now also reads and uses transactions for
    the group rows, so the writer is driven directly here)."""
    users = {u.handle: u for u in parsed.users}
    return [{"PutRequest": {"Item": to_attrs(item)}} for item in seeding.plan_items(seeding.plan(parsed, users), users)]


def test_capacity_is_asked_for_and_added_up(tmp_path):
    parsed = seedfile.read(write_seed(tmp_path / "s.yaml", conversations=2, messages=30))
    client = Recorder()
    stats = seeding.BatchWriter(client, "cruddur-messages", workers=2).write(_requests(parsed))
    assert {c["ReturnConsumedCapacity"] for c in client.calls} == {"INDEXES"}
    assert stats.capacity.to_dict() == {"total": 128.0, "table": 64.0,
                                        "indexes": {"message-group-sk-index": 64.0},
                                        "source": "reported"}


def test_without_capacity_nothing_is_asked_and_none_is_reported(tmp_path):
    parsed = seedfile.read(write_seed(tmp_path / "s.yaml", conversations=2, messages=30))
    client = Recorder()
    stats = seeding.BatchWriter(client, "cruddur-messages", workers=2, capacity=False).write(_requests(parsed))
    assert client.calls and all("ReturnConsumedCapacity" not in c for c in client.calls)
    assert sum(len(c["RequestItems"]["cruddur-messages"]) for c in client.calls) == stats.written == 64


def test_the_engine_makes_its_own_one_attempt_client_from_the_callers(monkeypatch):
    from cruddur_ops.ddb import batch as engine
    from cruddur_ops.settings import Settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    theirs = Settings.from_env().dynamodb()
    writer = engine.BatchWriter(theirs, "t")
    ours = writer.client
    assert ours is not theirs and ours.meta.endpoint_url == theirs.meta.endpoint_url == "http://127.0.0.1:9"
    assert ours.meta.region_name == theirs.meta.region_name
    assert ours.meta.config.retries["total_max_attempts"] == 1
    # botocore bakes validation into the client's serializer (meta.config does not show it)
    assert type(ours._serializer).__name__ != "ParamValidationDecorator"
    assert type(theirs._serializer).__name__ == "ParamValidationDecorator"
    assert theirs.meta.config.retries.get("total_max_attempts") != 1  # the caller's reads keep botocore's retries
    assert ours._request_signer._credentials is theirs._request_signer._credentials
    fake = object()
    assert engine.engine_client(fake) is fake  # a test's fake is used as it is
