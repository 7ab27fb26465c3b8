"""Crash and rerun: DynamoDB Local killed (SIGKILL) in the middle of a large seed, restarted on the same data dir;
the seed fails with one clear line, and running it again leaves exactly the planned items, no duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cruddur_ops.ddb import schema
from cruddur_ops.ddb import seed as seeding
from cruddur_ops.local import dynamodb_local
from cruddur_ops.seeds import seedfile
from cruddur_ops.settings import Settings, default_data_dir
from tests.conftest import SCHEMA
from tests.ddb.test_throttling import write_seed
from tests.holding_proxy import HoldingProxy

pytestmark = pytest.mark.integration

TABLE = "cruddur-messages"


def env_for(endpoint: str, home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("CONNECTION_URL", "DATABASE_URL", "PROD_CONNECTION_URL")}
    env.update(AWS_ENDPOINT_URL_DYNAMODB=endpoint, AWS_REGION="us-east-1", CRUDDUR_HOME=str(home))
    return env


def count(client) -> int:
    return sum(p["Count"] for p in client.get_paginator("scan").paginate(TableName=TABLE, Select="COUNT"))


def keys(client) -> list[tuple[str, str]]:
    out = []
    for page in client.get_paginator("scan").paginate(TableName=TABLE, ProjectionExpression="pk, sk"):
        out += [(i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]]
    return out


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)  # our child: reap it
    except ChildProcessError:
        pass


@pytest.fixture
def engine_on_disk(tmp_path):
    """Start/restart DynamoDB Local on one data dir; stops whatever is left at the end."""
    install = default_data_dir(os.environ)
    data = tmp_path / "dynamodb-data"
    started: list[dynamodb_local.Engine] = []

    def start(port: int | None = None) -> dynamodb_local.Engine:
        engine = dynamodb_local.start(install, port=port or dynamodb_local.free_port(8760), db_path=data)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        dynamodb_local.stop_pid(engine.pid)


def test_engine_killed_mid_seed_then_rerun_leaves_exact_items(engine_on_disk, tmp_path):
    path = write_seed(tmp_path / "seed.yaml", conversations=15, messages=98)  # 1,500 items
    parsed = seedfile.read(path)
    users = {u.handle: u for u in parsed.users}
    want = {(i["pk"], i["sk"]) for i in seeding.plan_items(seeding.plan(parsed, users), users)}
    assert len(want) == 1500

    engine = engine_on_disk()
    env = env_for(engine.endpoint, tmp_path / "home")
    client = Settings.from_env(env=env).dynamodb()
    spec = schema.read([SCHEMA]).tables[0]
    spec.request.pop("StreamSpecification")  # the app's table without its stream: DynamoDB Local writes 5× faster
    schema.load(client, [spec])

    cmd = [sys.executable, "-m", "cruddur_ops", "ddb", "seed", str(path), "--users-from", "yaml", "--output", "json"]
    # The seed talks to the engine through a proxy that lets 40 batches through and holds the next ones: the
    # engine is killed while the seed is mid-way, however fast it runs; then the proxy is gone too.
    proxy = HoldingProxy(engine.endpoint, "BatchWriteItem", passes=40)
    seeding_proc = subprocess.Popen(cmd, env=env_for(proxy.url, tmp_path / "home"), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
    try:
        proxy.wait_held()
        assert seeding_proc.poll() is None
        before = count(client)  # written so far, all of it acknowledged (the rest is held)
        kill(engine.pid)
        proxy.cut()  # held calls: connection reset, as the dead engine's; new ones: refused
        started = time.monotonic()
        out, err = seeding_proc.communicate(timeout=60)
        seconds = time.monotonic() - started
    finally:
        proxy.close()
        if seeding_proc.poll() is None:
            seeding_proc.kill()
            seeding_proc.communicate()

    assert seeding_proc.returncode == 8, err
    assert json.loads(out)["error"]["code"] == "unreachable"  # --output json: the error document
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert proxy.url in lines[0] and "cruddur local up" in lines[0]
    assert seconds < 30  # connect timeouts are short on loopback

    engine = engine_on_disk(engine.port)  # same data dir, same port
    client = Settings.from_env(env=env).dynamodb()
    partial = count(client)
    assert 0 < before <= partial < len(want)  # what was written before the crash survived it, and no more

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = keys(client)
    assert len(found) == len(set(found)) == len(want)
    assert set(found) == want
