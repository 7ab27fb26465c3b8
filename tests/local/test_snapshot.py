"""`cruddur local snapshot` on DynamoDB Local and PostgreSQL: save, change everything, load, exactly as it was."""

from __future__ import annotations

import json
import os

import psycopg
import pytest

from cruddur_ops.local import pgcluster, postgres
from cruddur_ops.local._proc import free_port
from cruddur_ops.settings import Settings
from tests.conftest import no_result
from tests.pg.fixtures import PASSWORD, new_db, unavailable, url_for  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

ORDERS = {
    "TableName": "scratch-orders",
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "n", "AttributeType": "N"}],
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
    "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 2},
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}


def _clean(result) -> None:
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr


def _dump_tables(client) -> dict:
    """Every table's definition essentials, stream and items (sorted), as a comparable value."""
    out = {}
    for name in sorted(client.list_tables()["TableNames"]):
        t = client.describe_table(TableName=name)["Table"]
        items = [i for page in client.get_paginator("scan").paginate(TableName=name) for i in page["Items"]]
        out[name] = {
            "keys": t["KeySchema"], "attributes": sorted(t["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
            "gsis": sorted((g["IndexName"], json.dumps(g["KeySchema"])) for g in t.get("GlobalSecondaryIndexes") or []),
            "stream": t.get("StreamSpecification"),
            "billing": (t.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
            "items": sorted(json.dumps(i, sort_keys=True, default=repr) for i in items),
        }
    return out


def _rows(url: str) -> dict:
    with psycopg.connect(url, connect_timeout=3) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM public."{t}"').fetchall())) for t in tables}


def _fill_dynamodb(cli, client) -> None:
    cli("ddb", "schema-load")
    cli("ddb", "seed", "--users-from", "yaml")
    client.create_table(**ORDERS)
    client.put_item(TableName="scratch-orders", Item={"id": {"S": "o-1"}, "n": {"N": "1"}, "blob": {"B": b"\x00\xffraw"},
                                                      "tags": {"SS": ["a", "b"]}, "nested": {"M": {"l": {"L": [{"N": "2"}, {"NULL": True}]}}}})
    for n in range(2, 60):
        client.put_item(TableName="scratch-orders", Item={"id": {"S": f"o-{n % 7}"}, "n": {"N": str(n)}, "bs": {"BS": [bytes([n]), b"z"]}})


def _change_everything(client, url: str) -> None:
    first = client.scan(TableName="cruddur-messages", Limit=3)["Items"]
    for item in first[:2]:
        client.delete_item(TableName="cruddur-messages", Key={"pk": item["pk"], "sk": item["sk"]})
    client.put_item(TableName="cruddur-messages", Item={"pk": {"S": "MSG#intruder"}, "sk": {"S": "2030-01-01"}})
    client.delete_table(TableName="scratch-orders")
    client.create_table(TableName="intruder", AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    client.put_item(TableName="intruder", Item={"k": {"S": "x"}})
    with psycopg.connect(url, connect_timeout=3) as conn:
        conn.execute("UPDATE users SET display_name = 'Changed'")
        conn.execute("INSERT INTO users (handle, display_name) VALUES ('intruder', 'Intruder')")
        conn.execute("DROP TABLE activities")
        conn.execute("CREATE TABLE junk (id int)")


def _roundtrip(cli, client, url: str) -> None:
    tables_before, rows_before = _dump_tables(client), _rows(url)
    assert "scratch-orders" in tables_before and rows_before["users"]

    saved = cli("local", "snapshot", "save", "base", "-o", "json")
    _clean(saved)
    doc = json.loads(saved.stdout)
    assert doc["name"] == "base" and doc["tables"] == len(tables_before)
    assert doc["items"] == sum(len(t["items"]) for t in tables_before.values())
    assert doc["rows"] == sum(len(r) for r in rows_before.values())
    assert {t["name"]: t["stream"] for t in doc["table_items"]}["scratch-orders"] == "NEW_AND_OLD_IMAGES"
    refused = cli("local", "snapshot", "save", "base", ok=False)
    assert refused.exit_code != 0 and "pass --force" in refused.stderr

    _change_everything(client, url)
    assert _dump_tables(client) != tables_before and _rows(url) != rows_before

    asked = cli("local", "snapshot", "load", "base", ok=False)  # no terminal to ask on
    assert asked.exit_code != 0 and "pass --yes" in asked.stderr
    assert "intruder" in client.list_tables()["TableNames"]

    loaded = cli("local", "snapshot", "load", "base", "--yes", "-o", "json")
    _clean(loaded)
    assert sorted(json.loads(loaded.stdout)["dropped_tables"]) == sorted(["cruddur-messages", "intruder"])
    assert _dump_tables(client) == tables_before
    assert _rows(url) == rows_before

    listed = cli.json("local", "snapshot", "list")["snapshots"]
    assert [(s["name"], s["tables"], s["items"], s["rows"]) for s in listed] == [("base", doc["tables"], doc["items"], doc["rows"])]
    assert listed[0]["size_bytes"] > 0 and listed[0]["created_at"].endswith("+00:00")
    cli("local", "snapshot", "rm", "base")
    assert cli.json("local", "snapshot", "list")["snapshots"] == []
    assert cli("local", "snapshot", "rm", "base", ok=False).exit_code != 0


def test_save_change_everything_load_on_a_server_at_connection_url(cli, home, ddb, new_db):
    cli("db", "setup")
    _fill_dynamodb(cli, ddb)
    _roundtrip(cli, ddb, url_for(new_db))


def test_save_change_everything_load_on_the_private_cluster(cli, home, ddb, aws_env):
    if pgcluster.find_binaries(os.environ) is None:
        unavailable("PostgreSQL binaries (initdb, pg_ctl) are not installed")  # fails under CI=true
    try:
        cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", free_port(5750))
        url = pgcluster.running(home).connect_url  # its URL plus the password file (local env's PGPASSFILE)
        assert postgres.current(Settings.from_env()).kind == "private"
        _fill_dynamodb(cli, ddb)
        _roundtrip(cli, ddb, url)
    finally:
        pgcluster.wipe(home)


@pytest.mark.parametrize("variable, value, message", [
    ("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb.prod.invalid:8000", "not a local endpoint"),
    ("CONNECTION_URL", f"postgresql://app:{PASSWORD}@db.prod.invalid:5432/cruddur", "db.prod.invalid is not a local host"),
])
def test_a_non_loopback_endpoint_or_database_is_refused(cli, home, aws_env, variable, value, message):
    aws_env.setenv(variable, value)
    for args in (["save", "x"], ["load", "x", "--yes"]):
        result = cli("local", "snapshot", *args, ok=False)
        _clean(result)
        assert result.exit_code != 0 and no_result(result.stdout)
        assert message in result.stderr, args
    assert cli("local", "snapshot", "save", "x", "--prod", ok=False).exit_code != 0


def test_load_of_an_unknown_snapshot_and_a_bad_name(cli, home):
    assert "no snapshot 'nope'" in cli("local", "snapshot", "load", "nope", "--yes", ok=False).stderr
    assert "snapshot name '../x'" in cli("local", "snapshot", "save", "../x", ok=False).stderr


def _rewrite_member(archive, name: str, change) -> None:
    """Rewrite one member of a snapshot archive with ``change(bytes) -> bytes``."""
    import io
    import tarfile

    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(archive, "w") as tar:
        for member, data in members:
            data = change(data) if member.name == name else data
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def test_a_damaged_archive_changes_nothing(cli, home, ddb, new_db):
    cli("db", "setup")
    _fill_dynamodb(cli, ddb)
    cli("local", "snapshot", "save", "good")
    archive = home / "snapshots" / "good.tar"
    pristine = archive.read_bytes()
    with psycopg.connect(url_for(new_db), autocommit=True, connect_timeout=3) as conn:
        conn.execute("INSERT INTO users (handle, display_name) VALUES ('after', 'After The Snapshot')")
    tables, rows = _dump_tables(ddb), _rows(url_for(new_db))

    # the manifest promises more items than the archive holds: refused before anything is touched
    def more_items(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["dynamodb"]["tables"][0]["items"] += 1
        return json.dumps(manifest).encode()

    _rewrite_member(archive, "manifest.json", more_items)
    refused = cli("local", "snapshot", "load", "good", "--yes", ok=False)
    assert refused.exit_code != 0 and "the manifest says" in refused.stderr

    # a dump pg_restore cannot read: the restore into the new database fails, the database in use stays
    archive.write_bytes(pristine)
    _rewrite_member(archive, "postgres.dump", lambda data: data[: len(data) // 2])
    failed = cli("local", "snapshot", "load", "good", "--yes", ok=False)
    _clean(failed)
    assert failed.exit_code != 0 and "postgres.dump differs from what was saved" in failed.stderr  # signed: caught first
    assert _dump_tables(ddb) == tables and _rows(url_for(new_db)) == rows
    with psycopg.connect(url_for("postgres"), connect_timeout=3) as conn:  # the half-restored copy is gone
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", [f"{new_db}__snapshot_%"]).fetchone() == (0,)


OLD_ITEMS = [  # what the format-1 writer (before ddb/typed.py served snapshots) put on a line: the bare item
    {"id": {"S": "o-1"}, "n": {"N": "1"}, "blob": {"B": b"\x00\xffraw"}, "bs": {"BS": [b"\x01", b"z"]},
     "tags": {"SS": ["a", "b"]}, "ns": {"NS": ["1.5", "12345678901234567890123456789012345678"]},
     "nested": {"M": {"l": {"L": [{"N": "2"}, {"NULL": True}, {"B": b"\x10"}]}, "ok": {"BOOL": False}}},
     "text": {"S": "ünïcode ✓"}},
    {"id": {"S": "o-2"}, "n": {"N": "-0.25"}},
]


def _format_1_archive(home, name: str) -> None:
    """A snapshot as the format-1 code wrote it: compact bare DynamoDB JSON lines (binary as base64), signed."""
    import base64
    import gzip
    import hashlib
    import io
    import tarfile

    from cruddur_ops.local import snapshot

    def b64(value):
        return base64.b64encode(bytes(value)).decode("ascii")

    lines = "".join(json.dumps(i, ensure_ascii=False, separators=(",", ":"), default=b64) + "\n" for i in OLD_ITEMS)
    member = gzip.compress(lines.encode(), compresslevel=1)
    definition = {k: ORDERS[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "ProvisionedThroughput")}
    manifest = {"format": 1, "name": name, "created_at": "2026-01-01T00:00:00.000000+00:00", "postgres": None,
                "dynamodb": {"endpoint": "http://127.0.0.1:1", "tables": [
                    {"name": "scratch-orders", "items": len(OLD_ITEMS), "stream": "NEW_IMAGE", "ttl": None,
                     "definition": {**definition, "BillingMode": "PROVISIONED"}, "member": "dynamodb/0000.jsonl.gz"}]},
                "members": {"dynamodb/0000.jsonl.gz": hashlib.sha256(member).hexdigest()}}
    raw = json.dumps(manifest, indent=2).encode()
    key = snapshot._key(home, create=True)
    folder = snapshot.private_folder(home)
    with tarfile.open(folder / f"{name}.tar", "w") as tar:
        for member_name, data in (("manifest.json", raw), ("signature", snapshot._sign(key, raw).encode()),
                                  ("dynamodb/0000.jsonl.gz", member)):
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_an_archive_of_the_first_format_still_loads(cli, home, ddb):
    ddb.create_table(TableName="intruder", AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    _format_1_archive(home, "old")
    loaded = cli("local", "snapshot", "load", "old", "--yes", "-o", "json")
    assert "was not saved in this data dir" not in loaded.stderr  # signed here: trusted as this data dir's
    doc = json.loads(loaded.stdout)
    assert doc["dropped_tables"] == ["intruder"] and doc["items"] == 2
    assert doc["table_items"] == [{"name": "scratch-orders", "items": 2, "stream": "NEW_IMAGE"}]
    assert ddb.list_tables()["TableNames"] == ["scratch-orders"]
    got = sorted(ddb.scan(TableName="scratch-orders")["Items"], key=lambda i: i["id"]["S"])
    first = dict(got[0])
    assert first.pop("ns")["NS"] and sorted(OLD_ITEMS[0]["ns"]["NS"]) == sorted(got[0]["ns"]["NS"])
    assert first == {k: v for k, v in OLD_ITEMS[0].items() if k != "ns"} and got[1] == OLD_ITEMS[1]
    table = ddb.describe_table(TableName="scratch-orders")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 3


def test_a_saved_table_is_what_ddb_export_writes_and_ddb_import_reads(cli, home, ddb, tmp_path):
    import gzip
    import tarfile

    ddb.create_table(**ORDERS)
    for item in OLD_ITEMS:
        ddb.put_item(TableName="scratch-orders", Item=item)
    saved = cli("local", "snapshot", "save", "s", "-o", "json")
    assert json.loads(saved.stdout)["items"] == 2
    with tarfile.open(home / "snapshots" / "s.tar") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        (entry,) = manifest["dynamodb"]["tables"]
        lines = gzip.decompress(tar.extractfile(entry["member"]).read()).decode()
    assert manifest["format"] == 2 and "StreamSpecification" not in entry["definition"]
    exported = tmp_path / "orders.jsonl"
    cli("ddb", "export", "scratch-orders", "--format", "dynamodb-json", "--out", str(exported))
    assert sorted(lines.splitlines()) == sorted(exported.read_text().splitlines())
    member = tmp_path / "member.jsonl"
    member.write_text(lines)
    ddb.create_table(**{**ORDERS, "TableName": "copy", "StreamSpecification": {"StreamEnabled": False}})
    cli("ddb", "import", "copy", str(member))
    from cruddur_ops.ddb.typed import dumps, to_plain

    def plain(table: str) -> list[str]:
        return sorted(dumps(to_plain(i)) for i in ddb.scan(TableName=table)["Items"])

    assert len(plain("copy")) == 2 and plain("copy") == plain("scratch-orders")
