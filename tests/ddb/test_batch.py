"""The batch engine's one retry budget, seen from the wire: a loopback HTTP proxy in front of DynamoDB Local
throttles BatchWriteItem (or accepts one item per call) and counts every HTTP attempt that reaches it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cruddur_ops.ddb import batch
from cruddur_ops.ddb.scan import iter_pages
from tests.ddb.test_throttling import table_keys, write_seed

pytestmark = pytest.mark.integration

THROTTLED = {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
             "message": "The level of configured provisioned throughput for the table was exceeded."}


class Proxy:
    """Forwards everything to ``upstream``; BatchWriteItem calls go through ``mode``:

    - ``throttle_first=N``: the first N calls get ProvisionedThroughputExceededException (400), sending nothing;
    - ``one_per_call``: only the first request of each batch is forwarded, the rest come back as UnprocessedItems;
    - ``always``: every call is throttled.
    """

    def __init__(self, upstream: str, *, throttle_first: int = 0, one_per_call: bool = False, always: bool = False,
                 throttle_queries: int = 0):
        self.upstream = upstream
        self.throttle_queries, self.queries = throttle_queries, 0  # Query and TransactWriteItems: the seed's reads
        self.throttle_first, self.one_per_call, self.always = throttle_first, one_per_call, always
        self.attempts = 0  # BatchWriteItem HTTP requests received
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                status, payload = proxy.handle(target, body, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amz-crc32", str(zlib.crc32(payload) & 0xFFFFFFFF))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, body: bytes, headers: dict) -> tuple[int, bytes]:
        keep = {k: v for k, v in headers.items() if k.lower() in ("x-amz-target", "content-type", "authorization",
                                                                   "x-amz-date")}
        request = urllib.request.Request(self.upstream, data=body, headers=keep, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def handle(self, target: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        if target.endswith((".Query", ".TransactWriteItems")):
            with self.lock:
                self.queries += 1
                throttle = self.queries <= self.throttle_queries
            return (400, json.dumps(THROTTLED).encode()) if throttle else self.forward(body, headers)
        if not target.endswith(".BatchWriteItem"):
            return self.forward(body, headers)
        with self.lock:
            self.attempts += 1
            throttle = self.always or self.attempts <= self.throttle_first
        if throttle:
            return 400, json.dumps(THROTTLED).encode()
        if not self.one_per_call:
            return self.forward(body, headers)
        doc = json.loads(body)
        (table, requests), = doc["RequestItems"].items()
        doc["RequestItems"] = {table: requests[:1]}
        status, payload = self.forward(json.dumps(doc).encode(), headers)
        answer = json.loads(payload)
        if status == 200 and requests[1:]:
            answer["UnprocessedItems"] = {table: requests[1:]}
        return status, json.dumps(answer).encode()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def proxy(messages_table, ddb_local, aws_env):
    made = []

    def make(**mode) -> Proxy:
        p = Proxy(ddb_local, **mode)
        made.append(p)
        aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", p.endpoint)
        return p

    yield make
    for p in made:
        p.close()


def test_one_http_attempt_per_engine_attempt_under_throttling(proxy, messages_table, cli, tmp_path):
    path = write_seed(tmp_path / "seed.yaml", conversations=2, messages=18)  # 40 items: 2 batches
    p = proxy(throttle_first=5)
    doc = cli.json("ddb", "seed", path, "--workers", "1")
    assert doc["items_written"] == 40 and doc["retries"] == 5
    assert p.attempts == 2 + 5  # no botocore retries under the engine's own: 5 refusals, 2 batches sent
    assert len(table_keys(messages_table)) == 40


def test_a_throttled_query_or_transaction_does_not_end_a_seed(proxy, messages_table, cli, tmp_path):
    """The engine's client makes one attempt per BatchWriteItem; the seed's own Query and TransactWriteItems
    keep botocore's retries (they used to share the engine's no-retry client: one throttled read ended a seed)."""
    path = write_seed(tmp_path / "seed.yaml", conversations=2, messages=18)
    p = proxy(throttle_first=2, throttle_queries=2)
    doc = cli.json("ddb", "seed", path, "--workers", "1")
    assert doc["items_written"] == 40 and len(table_keys(messages_table)) == 40
    assert p.attempts == 2 + 2  # the engine's: one HTTP attempt each, its own retries
    assert p.queries > 2  # the two refused reads were retried by botocore


def test_a_table_that_accepts_one_item_per_call_is_seeded_completely(proxy, messages_table, cli, tmp_path):
    path = write_seed(tmp_path / "seed.yaml", conversations=2, messages=18)
    p = proxy(one_per_call=True)
    started = time.monotonic()
    doc = cli.json("ddb", "seed", path, "--workers", "1", "--give-up-after", "5")
    assert doc["items_written"] == 40
    # each call wrote exactly one message, and the engine kept going; the 4 group rows go in transactions
    # (one row per user per conversation, issue 15), not through the batch engine
    assert p.attempts == 36
    assert len(table_keys(messages_table)) == 40
    assert time.monotonic() - started < 60


def test_nothing_accepted_for_give_up_after_stops_and_says_how_many_of_how_many(proxy, messages_table, cli, tmp_path):
    path = write_seed(tmp_path / "seed.yaml", conversations=2, messages=18)
    p = proxy(always=True)
    started = time.monotonic()
    result = cli("ddb", "seed", path, "--workers", "1", "--give-up-after", "1", ok=False)
    seconds = time.monotonic() - started
    assert result.exit_code == 9  # service
    assert result.stderr.strip() == ("Error: DynamoDB accepted nothing for 1 s: 0 of 40 items written; run the same "
                                     "seed again to complete the rest (writes are idempotent by key)")
    assert 1 <= seconds < 10
    assert 2 <= p.attempts <= 20  # backoff between attempts, one HTTP request each


class Segments:
    """A DynamoDB client (not our code) whose segment 0 fails at once while each other segment's first page is
    in flight until the test lets it answer (and would page forever after)."""

    def __init__(self):
        self.calls: dict[int, int] = {}
        self.answer = threading.Event()

    def scan(self, **args):
        segment = args.get("Segment")
        self.calls[segment] = self.calls.get(segment, 0) + 1
        if segment == 0:
            raise RuntimeError("segment 0 failed")
        assert self.answer.wait(timeout=30), "the test never let the page answer"
        return {"Items": [{"pk": {"S": "x"}}], "LastEvaluatedKey": {"pk": {"S": "x"}}}


def test_a_failing_segment_surfaces_at_once_and_stops_the_others():
    client = Segments()
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="segment 0 failed"):
        for _ in iter_pages(client, "t", segments=4):
            pass
    assert not client.answer.is_set()  # raised while the other segments' pages were still in flight
    client.answer.set()
    for thread in set(threading.enumerate()) - before:
        if thread.name.startswith("scan-"):
            thread.join(timeout=30)
            assert not thread.is_alive(), f"{thread.name} kept scanning"
    assert all(n == 1 for s, n in client.calls.items() if s != 0)  # no segment asked for another page


def test_pace_halves_under_throttling_and_grows_back():
    now = [0.0]
    pace = batch.Pace(min_rate=1.0, clock=lambda: now[0])
    pace.accepted(400, clean=True)
    pace.throttled()
    assert pace.rate == 200  # half of what was accepted in the last second
    now[0] += 0.6
    pace.throttled()
    assert pace.rate == 100
    pace.throttled()  # within the same half second: one decrease only
    assert pace.rate == 100
    pace.accepted(25, clean=True)
    assert pace.rate == 125 and pace.describe() == "125 items/s (throttled)"
