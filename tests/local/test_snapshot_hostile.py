"""Snapshots are data (issue 25): a hostile archive runs nothing, a bad one changes nothing, a bomb costs nothing."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.local.test_snapshot import _dump_tables, _fill_dynamodb, _rewrite_member, _rows
from tests.pg.fixtures import new_db, url_for  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def _evil(url: str, marker: Path) -> None:
    """A function that runs COPY … TO PROGRAM only inside a snapshot's scratch database, and a materialized view
    over it: harmless where it is made, code on restore."""
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"""
            CREATE FUNCTION evil() RETURNS int LANGUAGE plpgsql AS $f$
            BEGIN
              IF current_database() LIKE '%\\_\\_snapshot\\_%' THEN
                EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {marker}''';
              END IF;
              RETURN 1;
            END $f$""")
        conn.execute("CREATE MATERIALIZED VIEW evil_view AS SELECT evil() AS x")


@pytest.mark.integration
def test_a_hostile_snapshot_runs_nothing(cli, home, ddb, new_db):
    cli("db", "setup")
    marker = Path(tempfile.gettempdir()) / f"cruddur-snapshot-pwned-{os.getpid()}"
    marker.unlink(missing_ok=True)
    _evil(url_for(new_db), marker)
    cli("local", "snapshot", "save", "hostile")
    assert not marker.exists()
    (home / "snapshot.key").unlink()  # as if the archive came from someone else
    rows = _rows(url_for(new_db))
    try:
        refused = cli("local", "snapshot", "load", "hostile", "--yes", ok=False)
        assert refused.exit_code == 3 and "holds code that would run on load" in refused.stderr
        assert "FUNCTION" in refused.stderr and "--trust-code" in refused.stderr
        # even told to trust it, the dump is restored by a role that may not run programs
        trusted = cli("local", "snapshot", "load", "hostile", "--yes", "--trust-code", ok=False)
        assert trusted.exit_code != 0 and "pg_restore failed" in trusted.stderr
        assert not marker.exists()
        assert _rows(url_for(new_db)) == rows
        with psycopg.connect(url_for("postgres"), connect_timeout=3) as conn:
            assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s",
                                [f"{new_db}__snapshot_%"]).fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'cruddur_restore_%'").fetchone() == (0,)
    finally:
        marker.unlink(missing_ok=True)


@pytest.mark.integration
def test_bad_items_are_refused_before_anything_is_touched(cli, home, ddb, new_db):
    cli("db", "setup")
    _fill_dynamodb(cli, ddb)
    cli("local", "snapshot", "save", "good")
    archive = home / "snapshots" / "good.tar"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.parent.stat().st_mode) == 0o700
    pristine = archive.read_bytes()
    (home / "snapshot.key").unlink()  # a foreign archive: its items are checked one by one
    ddb.put_item(TableName="scratch-orders", Item={"id": {"S": "after"}, "n": {"N": "1"}})
    tables, rows = _dump_tables(ddb), _rows(url_for(new_db))
    with tarfile.open(archive) as tar:
        member = next(t["member"] for t in json.load(tar.extractfile("manifest.json"))["dynamodb"]["tables"]
                      if t["name"] == "scratch-orders")

    def replace_first_line(new: bytes):
        def change(data: bytes) -> bytes:
            lines = gzip.decompress(data).split(b"\n")
            return gzip.compress(b"\n".join([new, *lines[1:]]))
        return change

    for bad, message in [(b'{"Item": {"n": {"N": "3"}}}', "id: missing"), (b"[1, 2]", "not an item"),
                         (b'{"Item": {"id": "plain", "n": {"N": "3"}}}', "not an item (id: expected one typed value"),
                         (b'{"n": {"N": "3"}, "id": {"S": "bare"}}', 'not an item (expected {"Item": {'),
                         (b'{"Item": {"id": {"S": "x"}, "n": {"N": "NaN"}}}', "not an item (n: 'NaN' is not a number"),
                         (b'{"Item": {"id": {"S": "x"}, "n": {"N": "3"}, "b": {"B": "not base64!"}}}',
                          "not an item (b: not valid base64)")]:
        archive.write_bytes(pristine)
        _rewrite_member(archive, member, replace_first_line(bad))
        refused = cli("local", "snapshot", "load", "good", "--yes", ok=False)
        assert refused.exit_code == 3 and message in refused.stderr and "Traceback" not in refused.stderr
        assert _dump_tables(ddb) == tables and _rows(url_for(new_db)) == rows

    def rename(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["dynamodb"]["tables"][0]["definition"]["TableName"] = "elsewhere"
        return json.dumps(manifest).encode()

    archive.write_bytes(pristine)
    _rewrite_member(archive, "manifest.json", rename)
    refused = cli("local", "snapshot", "load", "good", "--yes", ok=False)
    assert refused.exit_code == 3 and "its definition names 'elsewhere'" in refused.stderr
    assert _dump_tables(ddb) == tables and _rows(url_for(new_db)) == rows


def test_a_snapshot_command_refuses_a_data_dir_others_may_write(cli, aws_env, tmp_path):
    data = tmp_path / "shared"
    data.mkdir()
    data.chmod(0o777)
    aws_env.setenv("CRUDDUR_HOME", str(data))
    for args in (["list"], ["rm", "x"], ["load", "x", "--yes"], ["save", "x"]):
        result = cli("local", "snapshot", *args, ok=False)
        assert result.exit_code != 0 and "every user may write to it" in result.stderr, args


BOMB_CHILD = """
import json, sys, tarfile, time
from pathlib import Path
from cruddur_ops.errors import InputError
from cruddur_ops.local import snapshot
path = Path(sys.argv[1])
started = time.perf_counter()
with tarfile.open(path) as tar:
    manifest = json.load(tar.extractfile("manifest.json"))
    try:
        snapshot._check_tables(tar, manifest, path, None)
        outcome = "accepted"
    except InputError as exc:
        outcome = str(exc)
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - started, "peak_kb": peak}))
"""


@pytest.mark.parametrize("line", [b"0" * (1 << 20), b'{"pk": {"S": "a"}}\n'])
def test_a_gzip_bomb_snapshot_is_refused_quickly_in_little_memory(tmp_path, line):
    chunk = gzip.compress(line * ((1 << 20) // len(line)), compresslevel=9)  # 1 MB of text, ~1 kB
    member = chunk * 3400  # gzip members concatenated: one stream of ~3.4 GB
    definition = {"TableName": "t", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}
    manifest = {"format": 1, "name": "bomb", "created_at": "2026-01-01T00:00:00+00:00", "postgres": None,
                "dynamodb": {"endpoint": None, "tables": [{"name": "t", "items": 10 ** 9, "stream": None, "ttl": None,
                                                           "definition": definition, "member": "dynamodb/0000.jsonl.gz"}]}}
    path = tmp_path / "bomb.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in (("manifest.json", json.dumps(manifest).encode()), ("dynamodb/0000.jsonl.gz", member)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    result = json.loads(done.stdout)
    assert "refusing it" in result["outcome"] or "longer than" in result["outcome"], result
    assert result["seconds"] < 2 and time.perf_counter() - started < 10
    assert result["peak_kb"] < 200 * 1024


@pytest.mark.integration
def test_a_load_that_fails_or_is_killed_while_swapping_leaves_the_tables_as_they_were(cli, home, ddb, new_db,
                                                                                     monkeypatch):
    from cruddur_ops.local import snapshot

    cli("db", "setup")
    _fill_dynamodb(cli, ddb)
    cli("local", "snapshot", "save", "good")
    ddb.put_item(TableName="scratch-orders", Item={"id": {"S": "after"}, "n": {"N": "1"}})
    ddb.delete_table(TableName="cruddur-messages")
    tables = _dump_tables(ddb)

    finish = snapshot._finish

    def broken(client, entry, on_note):  # the snapshot's tables fail to finish; putting the old ones back works
        if "scratch" in entry:
            raise RuntimeError("the engine went away")
        finish(client, entry, on_note)

    # a failure in the middle of the swap: the old tables are put back from their backups
    monkeypatch.setattr(snapshot, "_finish", broken)
    failed = cli("local", "snapshot", "load", "good", "--yes", ok=False)
    assert failed.exit_code != 0
    assert _dump_tables(ddb) == tables
    assert not list((home / "snapshots").glob(".load-journal-*"))

    # a kill in the middle of the swap (no chance to clean up): the next `local status` puts them back
    roll_back = snapshot.roll_back
    monkeypatch.setattr(snapshot, "roll_back", lambda *a, **k: None)
    cli("local", "snapshot", "load", "good", "--yes", ok=False)
    assert _dump_tables(ddb) != tables and list((home / "snapshots").glob(".load-journal-*"))
    monkeypatch.setattr(snapshot, "roll_back", roll_back)
    monkeypatch.setattr(snapshot, "_finish", finish)
    status = cli("local", "status", ok=False)
    assert "put back 1 table(s)" in status.stderr
    assert _dump_tables(ddb) == tables
    assert not list((home / "snapshots").glob(".load-journal-*"))
    loaded = cli("local", "snapshot", "load", "good", "--yes", "-o", "json")
    assert sorted(t["name"] for t in json.loads(loaded.stdout)["table_items"]) == ["cruddur-messages", "scratch-orders"]


def test_one_save_or_load_at_a_time_and_status_leaves_a_running_ones_work_alone(cli, aws_env, tmp_path):
    from cruddur_ops.local import snapshot

    data = tmp_path / "home"
    aws_env.setenv("CRUDDUR_HOME", str(data))
    aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # nothing is asked of it
    work = snapshot.private_folder(data) / ".running.load.abc"
    work.mkdir()
    with snapshot.exclusive(data):
        refused = cli("local", "snapshot", "save", "x", ok=False)
        assert refused.exit_code != 0 and "another `cruddur local snapshot save` or `load` is running" in refused.stderr
        cli("local", "status", ok=False)
        assert work.is_dir()  # a running load's work folder is not a leftover
    cli("local", "status", ok=False)
    assert not work.exists()  # once nothing runs, it is one


def test_an_archive_line_is_read_by_the_one_dynamodb_json_reader_in_either_format():
    from cruddur_ops.ddb.typed import TypeMappingError
    from cruddur_ops.local import snapshot

    item = {"pk": {"S": "a"}, "b": {"B": b"\x00\xff"}, "m": {"M": {"bs": {"BS": [b"\x01"]}}}}
    assert snapshot.item_of(b'{"Item": {"pk": {"S": "a"}, "b": {"B": "AP8="}, "m": {"M": {"bs": {"BS": ["AQ=="]}}}}}') == item
    assert snapshot.item_of(b'{"pk":{"S":"a"},"b":{"B":"AP8="},"m":{"M":{"bs":{"BS":["AQ=="]}}}}', 1) == item
    with pytest.raises(TypeMappingError, match="expected"):  # format 2 has no bare items
        snapshot.item_of(b'{"pk": {"S": "a"}}')
    with pytest.raises(TypeMappingError, match="n: 'NaN' is not a number"):
        snapshot.item_of(b'{"pk": {"S": "a"}, "n": {"N": "NaN"}}', 1)
