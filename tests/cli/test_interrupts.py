"""SIGINT / SIGTERM during seed, import and export: the workers stop, one line on stderr says what was written and
that a rerun completes it, exit status 130 / 143; the table holds exactly what the line says.

The work never races the test: it talks to DynamoDB Local through tests/holding_proxy.py, which lets a few calls
through and then holds the next ones until the signal has been taken."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.cli.test_ddb_data import create_orders
from tests.ddb.test_throttling import write_seed
from tests.holding_proxy import HoldingProxy, wait_delivered

pytestmark = pytest.mark.integration


def count(client, table: str) -> int:
    return sum(p["Count"] for p in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))


def start(args: list[str], endpoint: str, tmp_path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("CONNECTION_URL", "DATABASE_URL")}
    env.update(AWS_ENDPOINT_URL_DYNAMODB=endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", CRUDDUR_HOME=str(tmp_path / "home"))
    return subprocess.Popen([sys.executable, "-m", "cruddur_ops", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def interrupt_when_held(args: list[str], ddb_local: str, tmp_path, target: str, passes: int,
                        signum: int) -> tuple[int, str, str]:
    """Run ``cruddur ARGS`` through a proxy that holds call ``passes + 1`` of ``target``; once it is held (the
    work is mid-way and cannot finish), send ``signum``, wait until the process has taken it, then let the held
    calls through."""
    proxy = HoldingProxy(ddb_local, target, passes)
    try:
        proc = start(args, proxy.url, tmp_path)
        try:
            proxy.wait_held()
            assert proc.poll() is None
            proc.send_signal(signum)
            wait_delivered(proc.pid, signum)
            proxy.release()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    finally:
        proxy.close()
    return proc.returncode, out, err


def test_sigint_mid_seed_says_what_was_written_and_a_rerun_completes(messages_table, ddb_local, tmp_path):
    path = write_seed(tmp_path / "big.yaml", conversations=10, messages=98)  # 1,000 items
    rc, out, err = interrupt_when_held(["ddb", "seed", str(path), "--workers", "2", "--output", "json"], ddb_local,
                                       tmp_path, "BatchWriteItem", 4, signal.SIGINT)
    assert rc == 130 and out == ""
    line = err.strip().splitlines()[-1]
    m = re.fullmatch(r"interrupted: ([\d,]+) of 1,000 items written to cruddur-messages; run the same seed again "
                     r"to complete it \(seeding is idempotent\)", line)
    assert m, err
    written = int(m.group(1).replace(",", ""))
    assert 0 < written < 1_000 and count(messages_table, "cruddur-messages") == written
    assert "Traceback" not in err

    proc = start(["ddb", "seed", str(path), "--output", "json"], ddb_local, tmp_path)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert count(messages_table, "cruddur-messages") == 1_000


def test_sigterm_mid_import_then_the_same_import_completes(ddb, ddb_local, tmp_path):
    create_orders(ddb)
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps({"pk": f"C#{i % 97}", "sk": i, "note": "n" * 200}) + "\n" for i in range(2_000)))
    rc, out, err = interrupt_when_held(["ddb", "import", "orders", str(path), "--workers", "2"], ddb_local, tmp_path,
                                       "BatchWriteItem", 4, signal.SIGTERM)
    assert rc == 143 and out == ""
    m = re.fullmatch(r"interrupted: ([\d,]+) of 2,000 items written to orders; run the same import again to "
                     r"complete it", err.strip().splitlines()[-1])
    assert m, err
    assert count(ddb, "orders") == int(m.group(1).replace(",", ""))

    proc = start(["ddb", "import", "orders", str(path), "--output", "json"], ddb_local, tmp_path)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert json.loads(out)["items_written"] == 2_000 and count(ddb, "orders") == 2_000


def test_sigint_mid_export_leaves_no_partial_file(ddb, ddb_local, tmp_path):
    create_orders(ddb)
    for i in range(0, 3000, 25):
        ddb.batch_write_item(RequestItems={"orders": [
            {"PutRequest": {"Item": {"pk": {"S": f"C#{j}"}, "sk": {"N": str(j)}, "note": {"S": "x" * 200}}}}
            for j in range(i, i + 25)]})
    out_file = tmp_path / "orders.jsonl"
    # the first Scan page (1,000 items) goes through and is written to the .partial file; the second is held
    rc, _, err = interrupt_when_held(["ddb", "export", "orders", "--out", str(out_file), "--segments", "1"],
                                     ddb_local, tmp_path, "Scan", 1, signal.SIGINT)
    assert rc == 130, err
    assert re.fullmatch(r"interrupted: ([\d,]+ items )?exported from orders; run it again to export the whole table",
                        err.strip().splitlines()[-1]), err
    assert not out_file.exists() and not (tmp_path / "orders.jsonl.partial").exists()
