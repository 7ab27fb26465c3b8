"""DynamoDB's export to S3 and import from S3 (moto), and exports read as an input (folders laid out as AWS writes
them, an s3:// prefix, one .gz data file) into DynamoDB Local."""

from __future__ import annotations

import gzip
import json
import secrets
from pathlib import Path

import pytest

from cruddur_ops.ddb import s3 as s3mod
from cruddur_ops.settings import Settings

ITEMS = [
    {"pk": {"S": "USER#1"}, "sk": {"S": "PROFILE"}, "name": {"S": "Ada"}, "n": {"N": "12345678901234567890123456789012345678"},
     "f": {"N": "1.5"}, "tags": {"SS": ["a", "b"]}, "nums": {"NS": ["1", "2.25"]}, "bin": {"B": b"\x00\xff"},
     "none": {"NULL": True}, "ok": {"BOOL": True}, "m": {"M": {"x": {"L": [{"N": "3.75"}, {"S": ""}]}}}},
    {"pk": {"S": "USER#1"}, "sk": {"S": "ORDER#2026-12-01"}, "total": {"N": "9.99"}},
    {"pk": {"S": "USER#2"}, "sk": {"S": "PROFILE"}, "name": {"S": "Grace"}},
]


def _create(client, name: str, *, pitr: bool) -> None:
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    if pitr:
        client.update_continuous_backups(TableName=name,
                                         PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


def _all(client, name: str) -> list[dict]:
    items = []
    for page in client.get_paginator("scan").paginate(TableName=name):
        items += page["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def _schema_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "orders.yaml"
    path.write_text(f"""TableName: {name}
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {{AttributeName: pk, AttributeType: S}}
  - {{AttributeName: sk, AttributeType: S}}
KeySchema:
  - {{AttributeName: pk, KeyType: HASH}}
  - {{AttributeName: sk, KeyType: RANGE}}
""", encoding="utf-8")
    return path


@pytest.fixture
def moto_aws(moto_env):
    settings = Settings.from_env()
    return settings.client("dynamodb"), settings.client("s3")


# --- on moto: export to S3, import from S3 -------------------------------------------------------------------
def test_a_pitr_table_exports_to_s3_and_imports_back_into_a_new_table(moto_aws, cli, tmp_path):
    ddb, s3 = moto_aws
    table, bucket = f"orders-{secrets.token_hex(3)}", f"exports-{secrets.token_hex(3)}"
    _create(ddb, table, pitr=True)
    for item in ITEMS:
        ddb.put_item(TableName=table, Item=item)
    s3.create_bucket(Bucket=bucket)

    doc = cli.json("ddb", "export", table, "--s3", f"s3://{bucket}/nightly")
    assert doc["status"] == "COMPLETED" and doc["table"] == table and doc["item_count"] == 3
    assert doc["export_arn"].startswith("arn:aws:dynamodb:") and doc["s3"] == f"s3://{bucket}/nightly"
    assert doc["cost"]["usd_per_gb"] == 0.10 and doc["cost"]["usd"] >= 0 and doc["billed_size_bytes"] > 0

    status = cli.json("ddb", "export", "status", doc["export_arn"])
    assert status["status"] == "COMPLETED" and status["item_count"] == 3

    restored = f"{table}-restored"
    done = cli.json("ddb", "import", "--s3", f"s3://{bucket}/nightly", "--new-table", restored,
                    "--schema", str(_schema_file(tmp_path, table)))
    assert done["status"] == "COMPLETED" and done["imported_items"] == 3 and done["errors"] == 0
    assert done["table"] == restored
    assert _all(ddb, restored) == _all(ddb, table)


def test_export_without_pitr_is_refused_with_the_fix(moto_aws, cli):
    ddb, s3 = moto_aws
    table = f"nopitr-{secrets.token_hex(3)}"
    _create(ddb, table, pitr=False)
    result = cli("ddb", "export", table, "--s3", "s3://somewhere/x", ok=False)
    assert result.exit_code == 5
    assert "point-in-time recovery" in result.stderr and f"cruddur ddb audit {table} --fix" in result.stderr


def test_no_wait_returns_the_arn_at_once(moto_aws, cli):
    ddb, s3 = moto_aws
    table, bucket = f"orders-{secrets.token_hex(3)}", f"exports-{secrets.token_hex(3)}"
    _create(ddb, table, pitr=True)
    s3.create_bucket(Bucket=bucket)
    doc = cli.json("ddb", "export", table, "--s3", f"s3://{bucket}/later", "--no-wait")
    assert doc["export_arn"].startswith("arn:") and doc["seconds"] is None


def test_import_into_an_existing_table_is_a_conflict(moto_aws, cli, tmp_path):
    ddb, s3 = moto_aws
    table, bucket = f"orders-{secrets.token_hex(3)}", f"exports-{secrets.token_hex(3)}"
    _create(ddb, table, pitr=False)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="x/data/a.json.gz", Body=gzip.compress(b'{"Item": {"pk": {"S": "a"}, "sk": {"S": "b"}}}\n'))
    result = cli("ddb", "import", "--s3", f"s3://{bucket}/x", "--new-table", table,
                 "--schema", str(_schema_file(tmp_path, table)), ok=False)
    assert result.exit_code == 5 and "already exists" in result.stderr


def test_import_from_s3_needs_both_options(cli, aws_env):
    result = cli("ddb", "import", "--s3", "s3://b/p", ok=False)
    assert result.exit_code == 1 and "--new-table" in result.stderr
    result = cli("ddb", "import", "--s3", "b/p", "--new-table", "t", ok=False)
    assert result.exit_code == 3 and "s3://bucket/prefix" in result.stderr


def test_an_incremental_export_needs_its_period(cli, aws_env):
    result = cli("ddb", "export", "t", "--s3", "s3://b/p", "--incremental", "--from", "2026-12-01T00:00:00Z", ok=False)
    assert result.exit_code == 3 and "--from and --to" in result.stderr


# --- a folder laid out as AWS writes it ------------------------------------------------------------------
def _line(doc: dict) -> str:
    def wire(item):
        return {k: ({"B": __import__("base64").b64encode(v["B"]).decode()} if "B" in v else v) for k, v in item.items()}
    return json.dumps({k: wire(v) if isinstance(v, dict) and k != "Metadata" else v for k, v in doc.items()})


def _write_export(root: Path, export_id: str, kind: str, when: str, lines: list[dict], *, since: str | None = None,
                  manifest: bool = True) -> Path:
    folder = root / "AWSDynamoDB" / export_id
    data = folder / "data"
    data.mkdir(parents=True)
    half = len(lines) // 2 or 1
    files = []
    for chunk in (lines[:half], lines[half:]):
        if not chunk:
            continue
        name = f"{secrets.token_hex(8)}.json.gz"
        (data / name).write_bytes(gzip.compress("".join(_line(doc) + "\n" for doc in chunk).encode()))
        files.append({"itemCount": len(chunk), "md5Checksum": "x", "etag": "y",
                      "dataFileS3Key": f"exports/AWSDynamoDB/{export_id}/data/{name}"})
    if manifest:
        summary = {"version": "2023-08-01", "exportArn": f"arn:aws:dynamodb:us-east-1:000000000000:table/t/export/{export_id}",
                   "exportType": kind, "outputFormat": "DYNAMODB_JSON", "itemCount": len(lines),
                   "manifestFilesS3Key": f"exports/AWSDynamoDB/{export_id}/manifest-files.json"}
        if kind == "FULL_EXPORT":
            summary["exportTime"] = when
        else:
            summary.update(exportFromTime=since, exportToTime=when, outputView="NEW_AND_OLD_IMAGES")
        (folder / "manifest-summary.json").write_text(json.dumps(summary))
        (folder / "manifest-files.json").write_text("".join(json.dumps(f) + "\n" for f in files))
    return folder


def _aws_layout(tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    # an older full export that must not be applied (the newer one replaces it)
    _write_export(root, "01733000000000-aaaaaaaa", "FULL_EXPORT", "2026-12-01T00:00:00Z",
                  [{"Item": {"pk": {"S": "STALE"}, "sk": {"S": "x"}}}])
    _write_export(root, "01733100000000-bbbbbbbb", "FULL_EXPORT", "2026-12-02T00:00:00Z", [{"Item": i} for i in ITEMS])
    changes = [
        {"Metadata": {"WriteTimestampMicros": {"N": "1733200000000000"}}, "Keys": {"pk": {"S": "USER#2"}, "sk": {"S": "PROFILE"}},
         "OldImage": ITEMS[2], "NewImage": {**ITEMS[2], "name": {"S": "Grace H."}}},
        {"Metadata": {"WriteTimestampMicros": {"N": "1733200000000001"}}, "Keys": {"pk": {"S": "USER#1"}, "sk": {"S": "ORDER#2026-12-01"}},
         "OldImage": ITEMS[1]},
        {"Metadata": {"WriteTimestampMicros": {"N": "1733200000000002"}}, "Keys": {"pk": {"S": "USER#3"}, "sk": {"S": "PROFILE"}},
         "NewImage": {"pk": {"S": "USER#3"}, "sk": {"S": "PROFILE"}, "name": {"S": "Linus"}}},
    ]
    _write_export(root, "01733200000000-cccccccc", "INCREMENTAL_EXPORT", "2026-12-03T00:00:00Z", changes,
                  since="2026-12-02T00:00:00Z")
    # a second incremental on top: USER#3 renamed again, USER#1's order comes back
    _write_export(root, "01733300000000-dddddddd", "INCREMENTAL_EXPORT", "2026-12-04T00:00:00Z", [
        {"Metadata": {"WriteTimestampMicros": {"N": "1733300000000000"}}, "Keys": {"pk": {"S": "USER#3"}, "sk": {"S": "PROFILE"}},
         "NewImage": {"pk": {"S": "USER#3"}, "sk": {"S": "PROFILE"}, "name": {"S": "Linus T."}}},
        {"Metadata": {"WriteTimestampMicros": {"N": "1733300000000001"}}, "Keys": {"pk": {"S": "USER#1"}, "sk": {"S": "ORDER#2026-12-01"}},
         "NewImage": {**ITEMS[1], "total": {"N": "10.50"}}},
    ], since="2026-12-03T00:00:00Z")
    return root


def _expected() -> list[dict]:
    return sorted([
        ITEMS[0],
        {**ITEMS[1], "total": {"N": "10.5"}},
        {**ITEMS[2], "name": {"S": "Grace H."}},
        {"pk": {"S": "USER#3"}, "sk": {"S": "PROFILE"}, "name": {"S": "Linus T."}},
    ], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def _normalized(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        fixed = {}
        for k, v in item.items():
            if "NS" in v or "SS" in v:
                (kind, values), = v.items()
                v = {kind: sorted(values)}
            fixed[k] = v
        out.append(fixed)
    return out


def test_the_order_of_exports_is_newest_full_then_incrementals(tmp_path):
    parts = s3mod.find_exports(_aws_layout(tmp_path), "exports")
    assert [(p.kind, p.ends) for p in parts] == [("FULL_EXPORT", "2026-12-02T00:00:00Z"),
                                                  ("INCREMENTAL_EXPORT", "2026-12-03T00:00:00Z"),
                                                  ("INCREMENTAL_EXPORT", "2026-12-04T00:00:00Z")]


def test_an_aws_export_folder_with_incrementals_imports_into_dynamodb_local_exactly(ddb, cli, tmp_path):
    _create(ddb, "orders", pitr=False)
    doc = cli.json("ddb", "import", "orders", str(_aws_layout(tmp_path)))
    assert [e["type"] for e in doc["exports"]] == ["FULL_EXPORT", "INCREMENTAL_EXPORT", "INCREMENTAL_EXPORT"]
    assert doc["puts"] == 3 + 2 + 2 and doc["deletes"] == 1
    assert doc["items_written"] == 7 and doc["items_deleted"] == 1
    assert _normalized(_all(ddb, "orders")) == _normalized(_expected())


def test_a_bad_record_anywhere_writes_nothing_and_names_its_file_and_line(ddb, cli, tmp_path):
    _create(ddb, "orders", pitr=False)
    root = _aws_layout(tmp_path)
    _write_export(root, "01733400000000-eeeeeeee", "INCREMENTAL_EXPORT", "2026-12-05T00:00:00Z", [
        {"Metadata": {}, "Keys": {"pk": {"S": "USER#9"}, "sk": {"S": "PROFILE"}}, "NewImage": {"pk": {"S": "USER#9"}}},
    ], since="2026-12-04T00:00:00Z")
    result = cli("ddb", "import", "orders", str(root), ok=False)
    assert result.exit_code == 3
    assert "01733400000000-eeeeeeee/data/" in result.stderr and ":1: sk: missing" in result.stderr
    assert _all(ddb, "orders") == []


def test_one_gzipped_data_file_imports(ddb, cli, tmp_path):
    _create(ddb, "orders", pitr=False)
    path = tmp_path / "part-0001.json.gz"
    path.write_bytes(gzip.compress("".join(_line({"Item": i}) + "\n" for i in ITEMS).encode()))
    doc = cli.json("ddb", "import", "orders", str(path))
    assert doc["items_written"] == 3
    assert _normalized(_all(ddb, "orders")) == _normalized(sorted(ITEMS, key=lambda i: (i["pk"]["S"], i["sk"]["S"])))


def test_a_gzip_bomb_is_refused(ddb, cli, tmp_path, monkeypatch):
    _create(ddb, "orders", pitr=False)
    monkeypatch.setattr(s3mod, "MAX_INFLATE_FLOOR", 1024 * 1024)
    path = tmp_path / "bomb.json.gz"
    path.write_bytes(gzip.compress(b" " * (20 * 1024 * 1024)))
    result = cli("ddb", "import", "orders", str(path), ok=False)
    assert result.exit_code == 3 and "gzip bomb" in result.stderr
    assert _all(ddb, "orders") == []


def test_an_export_under_an_s3_prefix_comes_home_into_dynamodb_local(ddb, moto_endpoint, cli, tmp_path, aws_env):
    """The production table brought home in two commands: the export's prefix on S3 (moto), the table on
    DynamoDB Local."""
    aws_env.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    s3 = Settings.from_env().client("s3")
    bucket = f"home-{secrets.token_hex(3)}"
    s3.create_bucket(Bucket=bucket)
    root = _aws_layout(tmp_path)
    for path in root.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"exports/{path.relative_to(root)}")
    _create(ddb, "orders", pitr=False)
    doc = cli.json("ddb", "import", "orders", f"s3://{bucket}/exports")
    assert doc["items_written"] == 7 and doc["items_deleted"] == 1
    assert _normalized(_all(ddb, "orders")) == _normalized(_expected())


def test_dry_run_writes_nothing(ddb, cli, tmp_path):
    _create(ddb, "orders", pitr=False)
    doc = cli.json("ddb", "import", "orders", str(_aws_layout(tmp_path)), "--dry-run")
    assert doc["dry_run"] is True and doc["puts"] == 7
    assert _all(ddb, "orders") == []
