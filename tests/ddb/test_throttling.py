"""Throttling: UnprocessedItems and throughput errors are retried until every item is written exactly once; when
DynamoDB accepts nothing for --give-up-after seconds, seed stops, says how many of how many items were written, and
a rerun completes the rest.

The engine is the real DynamoDB Local; a thin wrapper in front of its client refuses part of each batch on purpose.
"""

from __future__ import annotations

import functools
import json
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from cruddur_ops.ddb import seed as seeding
from cruddur_ops.seeds import seedfile
from cruddur_ops.settings import Settings

pytestmark = pytest.mark.integration

TABLE = "cruddur-messages"


def write_seed(path, conversations: int = 6, messages: int = 48):
    """``conversations`` × (``messages`` + 2 group rows) items, with fixed starts."""
    handles = [f"p{i:02d}" for i in range(conversations + 1)]
    lines = ["users:"] + [f"  - {{handle: {h}, display_name: Person {h}}}" for h in handles] + ["conversations:"]
    for c in range(conversations):
        a, b = handles[c], handles[c + 1]
        start = (datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=2 * c)).isoformat()
        lines += [f"  - between: [{a}, {b}]", f"    start: {start}", "    messages:"]
        lines += [f"      - {(a, b)[i % 2]}: message {c}-{i}" for i in range(messages)]
    path.write_text("\n".join(lines) + "\n")
    return path


def keys_of(request: dict) -> tuple[str, str]:
    item = request["PutRequest"]["Item"]
    return item["pk"]["S"], item["sk"]["S"]


class Throttling:
    """Forwards a random part of every batch to the real client and hands the rest back as UnprocessedItems;
    sometimes raises ProvisionedThroughputExceededException / ThrottlingException instead (sending nothing).

    After ``budget`` items it forwards nothing more, as a table that stays throttled would.
    """

    def __init__(self, real, *, seed: int = 7, error_rate: float = 0.2, budget: int | None = None):
        self.real = real
        self.rng = random.Random(seed)
        self.error_rate = error_rate
        self.budget = budget
        self.forwarded: Counter = Counter()
        self.calls = self.errors = self.unprocessed = 0
        self.lock = threading.Lock()

    def batch_write_item(self, RequestItems, **kwargs):
        with self.lock:
            self.calls += 1
            if self.rng.random() < self.error_rate:
                self.errors += 1
                code = self.rng.choice(["ProvisionedThroughputExceededException", "ThrottlingException"])
                raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, "BatchWriteItem")
            (table, requests), = RequestItems.items()
            shuffled = list(requests)
            self.rng.shuffle(shuffled)
            take = self.rng.randint(0, len(shuffled))
            if self.budget is not None:
                take = min(take, self.budget - sum(self.forwarded.values()))
            sent, kept = shuffled[:take], shuffled[take:]
            self.forwarded.update(keys_of(r) for r in sent)
            self.unprocessed += len(kept)
        response = self.real.batch_write_item(RequestItems={table: sent}, **kwargs) if sent else {}
        if kept:
            response["UnprocessedItems"] = {table: kept}
        return response

    def __getattr__(self, name):
        return getattr(self.real, name)


FAST = 100_000  # items/s: the pace (tested in test_retry_budget.py) stays out of the way of these tests


class FakeTime:
    """The writer's clock and sleep: a backoff moves the clock on at once, so "nothing accepted for N seconds"
    comes after N seconds of backoff, with no real time spent and nothing raced."""

    def __init__(self):
        self.now = 0.0
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += max(seconds, 0.0)


def table_keys(client) -> list[tuple[str, str]]:
    keys = []
    for page in client.get_paginator("scan").paginate(TableName=TABLE, ProjectionExpression="pk, sk"):
        keys += [(i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]]
    return keys


def planned_keys(path) -> set[tuple[str, str]]:
    parsed = seedfile.read(path)
    users = {u.handle: u for u in parsed.users}
    return {(i["pk"], i["sk"]) for i in seeding.plan_items(seeding.plan(parsed, users), users)}


def test_every_item_arrives_exactly_once_through_unprocessed_items_and_throttling(messages_table, tmp_path):
    path = write_seed(tmp_path / "seed.yaml")
    parsed = seedfile.read(path)
    flaky = Throttling(messages_table)
    fake = FakeTime()
    writer = seeding.BatchWriter(flaky, TABLE, workers=4, sleep=fake.sleep, clock=fake.monotonic, min_rate=FAST)

    result = seeding.seed(flaky, parsed, parsed.users, writer=writer)

    want = planned_keys(path)
    assert len(want) == 6 * 50
    assert flaky.unprocessed > 0 and flaky.errors > 0  # the test really throttled
    # each message sent exactly once in a batch; group rows go in transactions (one row per user per conversation)
    messages = {k for k in want if k[0].startswith("MSG#")}
    assert set(flaky.forwarded) == messages and set(flaky.forwarded.values()) == {1}
    keys = table_keys(messages_table)
    assert len(keys) == len(set(keys)) == len(want) and set(keys) == want
    assert result.items_written == len(want)
    assert result.retries >= flaky.errors
    assert result.capacity.total >= len(want)  # consumed capacity of the calls that did write


def test_backoff_is_capped_full_jitter(messages_table):
    waits: list[float] = []
    writer = seeding.BatchWriter(messages_table, TABLE, base_delay=0.05, max_delay=0.4, sleep=waits.append)
    for attempt in range(12):
        writer._backoff(attempt)
    assert all(0 <= w <= min(0.4, 0.05 * 2 ** a) for a, w in enumerate(waits))
    assert max(waits) > 0.05  # grows past the base delay


@pytest.fixture
def throttled_cli(monkeypatch, messages_table):
    """``cruddur`` whose DynamoDB client is wrapped in ``Throttling`` and whose backoff does not sleep."""
    wrappers: list[Throttling] = []
    make = {}

    def dynamodb(self, **kwargs):
        client = Settings.client(self, "dynamodb", **kwargs)
        if make.get("throttle") is None:
            return client
        wrappers.append(Throttling(client, **make["throttle"]))
        return wrappers[-1]

    monkeypatch.setattr(Settings, "dynamodb", dynamodb)
    fake = FakeTime()
    monkeypatch.setattr(seeding, "BatchWriter", functools.partial(seeding.BatchWriter, sleep=fake.sleep,
                                                                  clock=fake.monotonic, min_rate=FAST))
    return make, wrappers


def test_a_table_that_stays_throttled_fails_clearly_and_a_rerun_completes(throttled_cli, cli, tmp_path):
    make, wrappers = throttled_cli
    path = write_seed(tmp_path / "seed.yaml")
    want = planned_keys(path)

    make["throttle"] = {"budget": 120, "error_rate": 0.1}
    result = cli("ddb", "seed", path, "--workers", "1", "--give-up-after", "0.5", "--output", "json", ok=False)

    assert result.exit_code == 9  # service: the table accepted nothing for too long
    assert json.loads(result.stdout)["error"]["code"] == "service"  # --output json: the error document
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0] == ("Error: DynamoDB accepted nothing for 0.5 s: 120 of 300 items written; run the same seed "
                        "again to complete the rest (writes are idempotent by key)")
    client = wrappers[-1].real
    assert len(table_keys(client)) == 120  # what the message says

    make["throttle"] = None  # the table recovers
    doc = cli.json("ddb", "seed", path)
    assert doc["items_written"] == len(want)
    keys = table_keys(client)
    assert len(keys) == len(want) and set(keys) == want


def test_with_many_workers_the_message_counts_exactly_what_was_written(throttled_cli, cli, tmp_path):
    make, wrappers = throttled_cli
    path = write_seed(tmp_path / "seed.yaml")
    make["throttle"] = {"budget": 90, "error_rate": 0.3, "seed": 3}
    result = cli("ddb", "seed", path, "--workers", "8", "--give-up-after", "0.5", ok=False)
    assert result.exit_code == 9 and "Traceback" not in result.stderr
    written = int(result.stderr.split("DynamoDB accepted nothing for 0.5 s: ")[1].split(" of 300 items written")[0])
    assert written == len(table_keys(wrappers[-1].real)) == 90  # in-flight batches finish and are counted

    make["throttle"] = None
    cli("ddb", "seed", path, "--output", "json")
    assert set(table_keys(wrappers[-1].real)) == planned_keys(path)
