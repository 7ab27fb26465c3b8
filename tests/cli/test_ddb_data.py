"""Any table's data on DynamoDB Local: import/export in every format, query, items by key, truncate,
delete-items and copy, through the real CLI."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.conftest import no_result
from tests.ddb.test_typed import EVERY_TYPE, normal

pytestmark = pytest.mark.integration

TABLE = "orders"


def create_orders(client, name: str = TABLE) -> None:
    """An e-commerce table of its own: pk (S) + sk (N), a GSI on status (S) + sk."""
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "status", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-status", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                               {"AttributeName": "sk", "KeyType": "RANGE"}]}])


@pytest.fixture
def orders(ddb):
    create_orders(ddb)
    return ddb


def all_items(client, table: str = TABLE) -> list[dict]:
    items = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items += page["Items"]
    return sorted((normal(i) for i in items), key=lambda i: (i["pk"]["S"], Decimal(i["sk"]["N"])))


def put_orders(client, n: int, table: str = TABLE) -> None:
    for i in range(n):
        client.put_item(TableName=table, Item={"pk": {"S": f"CUSTOMER#{i % 3}"}, "sk": {"N": str(i)},
                                               "status": {"S": "open" if i % 2 else "shipped"},
                                               "total": {"N": f"{i}.25"}})


def every_type_items() -> list[dict]:
    items = []
    for i in range(3):
        item = dict(EVERY_TYPE)
        item["pk"] = {"S": f"ORDER#{i}"}
        item["sk"] = {"N": str(i)}
        items.append(item)
    return items


@pytest.mark.parametrize("fmt", ["jsonl", "json", "dynamodb-json"])
def test_export_then_import_is_exact_for_every_type(orders, cli, tmp_path, fmt):
    for item in every_type_items():
        orders.put_item(TableName=TABLE, Item=item)
    before = all_items(orders)
    out = tmp_path / f"orders.{ 'json' if fmt == 'json' else 'jsonl'}"
    result = cli("ddb", "export", TABLE, "--format", fmt, "--out", out)
    assert result.stdout == "" and "3 items exported" in result.stderr
    if fmt == "dynamodb-json":
        assert all(list(json.loads(line)) == ["Item"] for line in out.read_text().splitlines())
    cli("ddb", "truncate", TABLE, "--yes")
    assert all_items(orders) == []
    doc = cli.json("ddb", "import", TABLE, out, "--format", fmt)
    assert doc["items"] == doc["items_written"] == 3
    assert all_items(orders) == before


def test_export_to_stdout_streams_jsonl_by_default(orders, cli):
    put_orders(orders, 30)
    result = cli("ddb", "export", TABLE, "--segments", "3")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 30 and {line["sk"] for line in lines} == set(range(30))
    assert lines[0]["total"] == float(f"{lines[0]['sk']}.25")


def test_csv_with_quoted_commas_and_types(orders, cli, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text('pk,sk,name,qty,gift\n'
                    '"CUSTOMER#1",1,"Smith, John ""JJ""",3,true\n'
                    'CUSTOMER#1,2,"Line one\nline two",,false\n')
    doc = cli.json("ddb", "import", TABLE, path, "--types", "qty=N,gift=BOOL")
    assert doc["items_written"] == 2
    items = all_items(orders)
    assert items[0] == {"pk": {"S": "CUSTOMER#1"}, "sk": {"N": "1"}, "name": {"S": 'Smith, John "JJ"'},
                        "qty": {"N": "3"}, "gift": {"BOOL": True}}
    assert items[1]["name"] == {"S": "Line one\nline two"} and "qty" not in items[1]  # empty cell: no attribute

    out = tmp_path / "back.csv"
    cli("ddb", "export", TABLE, "--out", out)
    lines = out.read_text().splitlines()
    assert lines[0] == "pk,sk,gift,name,qty"
    assert lines[1] == 'CUSTOMER#1,1,true,"Smith, John ""JJ""",3'


def test_a_bad_line_in_the_middle_writes_nothing(orders, cli, tmp_path):
    path = tmp_path / "orders.jsonl"
    lines = [json.dumps({"pk": f"C#{i}", "sk": i}) for i in range(60)]
    lines[31] = json.dumps({"pk": "C#31", "sk": "thirty-one"})
    path.write_text("\n".join(lines) + "\n")
    result = cli("ddb", "import", TABLE, path, ok=False)
    assert result.exit_code != 0 and no_result(result.stdout)
    assert result.stderr.strip() == (f"Error: {path}:32: sk: must be N (a key of orders), not S "
                                     "(1 of 60 items would be refused by DynamoDB; nothing written)")
    assert all_items(orders) == []

    lines[31] = '{"pk": "C#31", "sk": 31'
    path.write_text("\n".join(lines) + "\n")
    result = cli("ddb", "import", TABLE, path, ok=False)
    assert result.stderr.startswith(f"Error: {path}:32: not JSON:")
    assert all_items(orders) == []


def test_bad_csv_cell_and_duplicate_keys_name_the_line(orders, cli, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("pk,sk,qty\nA,1,2\nA,x,3\n")
    result = cli("ddb", "import", TABLE, path, ok=False)
    assert result.stderr.strip() == f"Error: {path}:3: sk: 'x' is not a number"
    path.write_text("pk,sk\nA,1\nB,1\nA,1\n")
    result = cli("ddb", "import", TABLE, path, ok=False)
    assert result.stderr.strip() == (f"Error: {path}:4: the same key (pk=A, sk=1) as line 2; each key is written "
                                     "once (1 of 3 items would be refused by DynamoDB; nothing written)")
    assert all_items(orders) == []


def test_dry_run_counts_items_and_write_units_and_writes_nothing(orders, cli, tmp_path):
    path = tmp_path / "o.json"
    path.write_text(json.dumps([{"pk": "A", "sk": i, "status": "open", "note": "x" * 1500} for i in range(4)]))
    doc = cli.json("ddb", "import", TABLE, path, "--dry-run")
    assert doc["dry_run"] is True and doc["items"] == 4 and doc["format"] == "json"
    # 2 KB items: 2 units in the table and 2 in the by-status index each
    assert doc["write_units"]["total"] == 16 and doc["write_units"]["indexes"] == {"by-status": 8}
    assert doc["write_units"]["cost"]["usd"] > 0
    assert all_items(orders) == []


def test_import_reads_stdin(orders, cli):
    text = "\n".join(json.dumps({"pk": "S", "sk": i}) for i in range(5)) + "\n"
    doc = cli.json("ddb", "import", TABLE, "-", input=text)
    assert doc["items_written"] == 5 and doc["format"] == "jsonl" and doc["file"] == "<stdin>"
    assert len(all_items(orders)) == 5


def test_rate_caps_write_units_per_second(ddb, cli, tmp_path):
    ddb.create_table(TableName="plain", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"i{n}"}) for n in range(150)) + "\n")
    doc = cli.json("ddb", "import", "plain", path, "--rate", "50")
    assert doc["items_written"] == 150 and doc["rate"] == 50
    # a bucket of 50 units a second, full at the start: 100 more units take at least 2 s
    assert doc["seconds"] >= 1.8


def test_rerunning_an_import_completes_it_and_changes_nothing_else(orders, cli, tmp_path):
    path = tmp_path / "o.jsonl"
    path.write_text("\n".join(json.dumps({"pk": "A", "sk": i, "v": i}) for i in range(40)) + "\n")
    for i in range(0, 40, 3):  # as if an earlier import stopped part way
        orders.put_item(TableName=TABLE, Item={"pk": {"S": "A"}, "sk": {"N": str(i)}, "v": {"N": str(i)}})
    doc = cli.json("ddb", "import", TABLE, path)
    assert doc["items_written"] == 40
    assert [i["v"]["N"] for i in all_items(orders)] == [str(i) for i in range(40)]


def test_truncate_refuses_without_yes_and_without_a_terminal(orders, cli):
    put_orders(orders, 10)
    result = cli("ddb", "truncate", TABLE, ok=False)
    assert result.exit_code != 0
    assert "refusing to truncate orders without confirmation: no terminal to ask on; pass --yes" in result.stderr
    assert len(all_items(orders)) == 10

    doc = cli.json("ddb", "truncate", TABLE, "--yes")
    assert doc["items"] == doc["items_deleted"] == 10
    assert all_items(orders) == []
    assert TABLE in orders.list_tables()["TableNames"]  # the table stays


def test_truncate_on_production_refuses_yes_alone_before_any_request(aws_env, cli):
    result = cli("--prod", "--endpoint-url", "http://prod-ddb.example.invalid", "ddb", "truncate", TABLE, "--yes",
                 ok=False)
    assert result.exit_code == 6
    assert ("refusing to truncate orders on production (http://prod-ddb.example.invalid) with --yes alone: "
            "on production, type the name 'orders' at a terminal") in result.stderr
    result = cli("--endpoint-url", "http://prod-ddb.example.invalid", "ddb", "truncate", TABLE, "--yes", ok=False)
    assert "pass --prod" in result.stderr


def test_delete_items_deletes_what_the_query_selects(orders, cli):
    put_orders(orders, 30)  # CUSTOMER#0 holds sk 0, 3, ..., 27
    result = cli("ddb", "delete-items", TABLE, "CUSTOMER#0", "--sort", "between 3 and 12", ok=False)
    assert "no terminal to ask on" in result.stderr and len(all_items(orders)) == 30
    doc = cli.json("ddb", "delete-items", TABLE, "CUSTOMER#0", "--sort", "between 3 and 12", "--yes")
    assert doc["items_deleted"] == 4
    left = {int(i["sk"]["N"]) for i in all_items(orders) if i["pk"]["S"] == "CUSTOMER#0"}
    assert left == {0, 15, 18, 21, 24, 27}


def test_query_with_sort_conditions_index_filter_projection_and_limit(orders, cli):
    put_orders(orders, 30)
    doc = cli.json("ddb", "query", TABLE, "CUSTOMER#1", "--sort", ">= 10", "--desc")
    assert [i["sk"] for i in doc["items"]] == [28, 25, 22, 19, 16, 13, 10]
    doc = cli.json("ddb", "query", TABLE, "CUSTOMER#1", "--limit", "2")
    assert [i["sk"] for i in doc["items"]] == [1, 4] and doc["count"] == 2
    doc = cli.json("ddb", "query", TABLE, "open", "--index", "by-status", "--sort", "< 6", "--projection", "pk,sk")
    assert doc["items"] == [{"pk": "CUSTOMER#1", "sk": 1}, {"pk": "CUSTOMER#0", "sk": 3}, {"pk": "CUSTOMER#2", "sk": 5}]
    doc = cli.json("ddb", "query", TABLE, "CUSTOMER#2", "--filter", "#t > :t", "--name", "#t=total",
                   "--value", ":t=20")
    assert [i["sk"] for i in doc["items"]] == [20, 23, 26, 29]
    assert doc["scanned_count"] == 10
    result = cli("ddb", "query", TABLE, "CUSTOMER#9", "--output", "table")
    assert "no items with pk = CUSTOMER#9" in result.stdout


def test_query_explain_prints_the_request_and_the_aws_cli_equivalent(orders, cli):
    doc = cli.json("ddb", "query", TABLE, "CUSTOMER#1", "--sort", "between 1 and 9", "--explain")
    assert doc["request"] == {
        "TableName": "orders", "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :sk1 AND :sk2",
        "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
        "ExpressionAttributeValues": {":pk": {"S": "CUSTOMER#1"}, ":sk1": {"N": "1"}, ":sk2": {"N": "9"}}}
    prefix = "aws dynamodb query --cli-input-json '"
    assert doc["aws_cli"].startswith(prefix) and json.loads(doc["aws_cli"][len(prefix):-1]) == doc["request"]
    doc = cli.json("ddb", "query", TABLE, "CUSTOMER#1", "--sort", "begins_with 1", "--explain")
    assert "begins_with(#sk, :sk)" in doc["request"]["KeyConditionExpression"]


def test_get_put_update_delete_by_key(orders, cli):
    doc = cli.json("ddb", "put", TABLE, '{"pk": "C#1", "sk": 7, "tags": {"$ss": ["a"]}, "n": 1}')
    assert doc["action"] == "put" and doc["consumed_capacity"]["total"] > 0
    doc = cli.json("ddb", "get", TABLE, "C#1", "7")
    assert doc["item"] == {"pk": "C#1", "sk": 7, "n": 1, "tags": {"$ss": ["a"]}}
    result = cli("ddb", "put", TABLE, '{"pk": "C#1", "sk": 7}', "--condition", "attribute_not_exists(pk)", ok=False)
    assert "condition 'attribute_not_exists(pk)' is false" in result.stderr
    doc = cli.json("ddb", "update", TABLE, "C#1", "7", "--set", "status=shipped", "--add", "n=2",
                   "--remove", "tags")
    assert doc["item"] == {"pk": "C#1", "sk": 7, "n": 3, "status": "shipped"}
    result = cli("ddb", "get", TABLE, "C#1", "x", ok=False)
    assert "key sk is of type N: 'x' is not a number" in result.stderr
    result = cli("ddb", "delete", TABLE, "C#1", "7", ok=False)
    assert "no terminal to ask on" in result.stderr
    doc = cli.json("ddb", "delete", TABLE, "C#1", "7", "--yes")
    assert doc["item"]["status"] == "shipped"
    result = cli("ddb", "get", TABLE, "C#1", "7", ok=False)
    assert result.exit_code != 0 and "no item with pk=C#1, sk=7 in orders" in result.stderr


def test_jsonl_and_csv_on_read_commands(orders, cli):
    put_orders(orders, 6)
    lines = cli("ddb", "query", TABLE, "CUSTOMER#0", "--output", "jsonl").stdout.splitlines()
    assert [json.loads(line)["sk"] for line in lines] == [0, 3]
    csv_text = cli("ddb", "scan", TABLE, "--output", "csv").stdout.splitlines()
    assert csv_text[0].split(",")[:2] == ["pk", "sk"] and len(csv_text) == 7
    tables = cli("ddb", "list-tables", "--output", "jsonl").stdout.splitlines()
    assert json.loads(tables[0])["name"] == TABLE


def test_scan_sends_limit_and_shows_100_rows_in_table_mode(orders, cli):
    put_orders(orders, 130)
    doc = cli.json("ddb", "scan", TABLE, "--limit", "1")
    assert doc["count"] == 1 and doc["scanned_count"] == 1
    assert doc["consumed_capacity"]["total"] <= 1  # one item read, not a 1 MB page
    doc = cli.json("ddb", "scan", TABLE, "--limit", "10", "--segments", "4")
    assert doc["count"] == 10 and doc["scanned_count"] < 130
    result = cli("ddb", "scan", TABLE, "--output", "table")
    assert "orders: 100 items of 130" in result.stdout
    assert "30 more items not shown" in " ".join(result.stdout.split())


def test_copy_between_two_dynamodb_local_processes(orders, cli, tmp_path):
    from cruddur_ops.local import dynamodb_local
    from cruddur_ops.settings import Settings
    from tests.conftest import ENGINE_HOME

    orders.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    put_orders(orders, 80)
    for item in every_type_items():
        orders.put_item(TableName=TABLE, Item=item)
    other = dynamodb_local.start(ENGINE_HOME, port=dynamodb_local.free_port(8760), in_memory=True)
    try:
        doc = cli.json("ddb", "copy", TABLE, "orders-copy", "--to-endpoint", other.endpoint, "--segments", "3")
        assert doc["created"] is True and doc["items_written"] == 83 and doc["source"] == TABLE
        dest = Settings.from_env(endpoint_url=other.endpoint).dynamodb()
        assert all_items(dest, "orders-copy") == all_items(orders)
        d = dest.describe_table(TableName="orders-copy")["Table"]
        assert [i["IndexName"] for i in d["GlobalSecondaryIndexes"]] == ["by-status"]
        assert {k["AttributeName"] for k in d["KeySchema"]} == {"pk", "sk"}
        assert dest.describe_time_to_live(TableName="orders-copy")["TimeToLiveDescription"]["AttributeName"] == "expires"
        doc = cli.json("ddb", "copy", TABLE, "orders-copy", "--to-endpoint", other.endpoint)
        assert doc["created"] is False and doc["items_written"] == 83  # a rerun overwrites by key
        result = cli("ddb", "copy", TABLE, TABLE, ok=False)
        assert "onto itself" in result.stderr
    finally:
        dynamodb_local.stop_pid(other.pid)


PROD = "http://dynamodb.example.invalid"


@pytest.mark.parametrize("argv, action", [
    (["ddb", "import", TABLE, "FILE"], "import into orders"),
    (["ddb", "put", TABLE, '{"pk": "a", "sk": 1}'], "put an item into orders"),
    (["ddb", "update", TABLE, "a", "1", "--set", "x=1"], "update an item in orders"),
    (["ddb", "delete", TABLE, "a", "1", "--yes"], "delete an item from orders"),
    (["ddb", "truncate", TABLE, "--yes"], "truncate orders"),
    (["ddb", "delete-items", TABLE, "a", "--yes"], "delete items from orders"),
    (["ddb", "copy", TABLE, TABLE, "--to-endpoint", PROD], "copy into orders"),
], ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else None)
def test_every_write_refuses_production_without_prod(aws_env, cli, tmp_path, argv, action):
    path = tmp_path / "f.jsonl"
    path.write_text('{"pk": "a", "sk": 1}\n')
    argv = [str(path) if a == "FILE" else a for a in argv]
    endpoint = [] if "copy" in argv else ["--endpoint-url", PROD]
    result = cli(*endpoint, *argv, ok=False)
    assert result.exit_code != 0 and no_result(result.stdout)
    assert f"refusing to {action} on {PROD}: it is not a local endpoint; pass --prod" in result.stderr


def test_update_takes_document_paths_and_refuses_overlapping_ones(orders, cli):
    cli.json("ddb", "put", TABLE, '{"pk": "C#1", "sk": 1, "meta": {"tags": ["a", "b"], "x": 1}, "views": 1}')
    doc = cli.json("ddb", "update", TABLE, "C#1", "1", "--set", "meta.tags[0]=z", "--set", "meta.y=2",
                   "--remove", "meta.x", "--add", "views=1", "--set", "`odd.name`=1")
    assert doc["item"] == {"pk": "C#1", "sk": 1, "meta": {"tags": ["z", "b"], "y": 2}, "views": 2, "odd.name": 1}
    for args in (["--add", "views=1", "--add", "views=1"], ["--set", "a=1", "--remove", "a"],
                 ["--set", "meta=1", "--remove", "meta.y"]):
        result = cli("ddb", "update", TABLE, "C#1", "1", *args, ok=False)
        assert result.exit_code == 3
        assert "Two document paths overlap with each other; must remove or rewrite one of these paths" in result.stderr
    assert cli.json("ddb", "get", TABLE, "C#1", "1")["item"]["views"] == 2  # nothing was applied


def test_bad_update_paths_are_refused_before_any_request(cli, aws_env):
    # nothing listens on the endpoint: a request would be exit 8, the refusal is exit 3
    result = cli("--endpoint-url", "http://127.0.0.1:9", "ddb", "update", TABLE, "C#1", "1",
                 "--add", "views=1", "--add", "views=1", ok=False)
    assert result.exit_code == 3 and "path one: [views], path two: [views]" in result.stderr
    result = cli("--endpoint-url", "http://127.0.0.1:9", "ddb", "update", TABLE, "C#1", "1",
                 "--set", "a.b=1", "--set", "a[0]=2", ok=False)
    assert result.exit_code == 3 and "Two document paths conflict with each other" in result.stderr


def test_between_splits_by_the_sort_keys_type(ddb, cli):
    ddb.create_table(
        TableName="notes", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    for sk in ("A", "R and D", "Rock", "S", "T"):
        ddb.put_item(TableName="notes", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    doc = cli.json("ddb", "query", "notes", "p", "--sort", "between R and D and S")  # only one split is in order
    assert [i["sk"] for i in doc["items"]] == ["R and D", "Rock", "S"]
    doc = cli.json("ddb", "query", "notes", "p", "--sort", "between 'R and D' and 'Rock'")
    assert [i["sk"] for i in doc["items"]] == ["R and D", "Rock"]
    result = cli("ddb", "query", "notes", "p", "--sort", "between a and b and c and d", ok=False)
    assert result.exit_code == 3 and "ambiguous" in result.stderr and "quote the bounds" in result.stderr


def test_one_long_number_at_line_251_writes_nothing_and_names_the_line(orders, cli, tmp_path):
    path = tmp_path / "orders.jsonl"
    lines = [json.dumps({"pk": f"C#{i}", "sk": i, "total": f"{i}.5"}) for i in range(1, 301)]
    lines[250] = '{"pk": "C#251", "sk": 251, "total": 123456789012345678901234567890123456789012345}'
    path.write_text("\n".join(lines) + "\n")
    result = cli("ddb", "import", TABLE, path, ok=False)
    assert result.exit_code == 3 and no_result(result.stdout)
    assert result.stderr.strip() == (f"Error: {path}:251: total: 45 significant digits; DynamoDB keeps at most 38 "
                                     "(1 of 300 items would be refused by DynamoDB; nothing written)")
    assert all_items(orders) == []


@pytest.mark.parametrize("bad, why", [
    ({"pk": "A", "sk": 1, "n": {"$n": "1E+200"}}, "n: 1E+200 is too large"),
    ({"pk": "", "sk": 1}, "pk: empty; a key of orders cannot be empty"),
    ({"pk": "A", "sk": 1, "status": ""}, "status: empty; an index key of orders cannot be empty"),
    ({"pk": "x" * 2049, "sk": 1}, "pk: a partition key of 2,049 bytes; DynamoDB's limit is 2,048"),
])
def test_put_refuses_what_dynamodb_would_before_any_write(orders, cli, bad, why):
    result = cli("ddb", "put", TABLE, json.dumps(bad), ok=False)
    assert result.exit_code == 3 and why in result.stderr
    assert all_items(orders) == []


def test_update_refuses_a_number_dynamodb_cannot_store(orders, cli):
    put_orders(orders, 1)
    result = cli("ddb", "update", TABLE, "CUSTOMER#0", "0", "--set", "total=1" + "0" * 30 + "1" + "1" * 10, ok=False)
    assert result.exit_code == 3 and "--set total: 42 significant digits" in result.stderr


def test_import_from_a_pipe_and_process_substitution(orders, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    cruddur = Path(sys.executable).parent / "cruddur"
    text = json.dumps([{"pk": "P", "sk": i} for i in range(30)], indent=2)  # pretty-printed, over many lines
    (tmp_path / "items.json").write_text(text)
    for command in (f"{cruddur} ddb import {TABLE} <(cat items.json) -o json",
                    f"cat items.json | {cruddur} ddb import {TABLE} /dev/stdin -o json",
                    f"gzip -c items.json | {cruddur} ddb import {TABLE} - -o json"):
        orders.delete_table(TableName=TABLE)
        orders.get_waiter("table_not_exists").wait(TableName=TABLE)
        create_orders(orders)
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=os.environ.copy(), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, (command, done.stderr)
        assert json.loads(done.stdout)["items_written"] == 30
        assert len(all_items(orders)) == 30


def test_batch_write_item_file_for_another_table_name(orders, cli, tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"Orders": [{"PutRequest": {"Item": {"pk": {"S": "A"}, "sk": {"N": "1"},
                                                                    "total": {"N": "2.50"}}}}]}, indent=2))
    result = cli("ddb", "import", TABLE, path, "-o", "json")
    assert json.loads(result.stdout)["items_written"] == 1
    assert "the file's BatchWriteItem request is for table Orders: its items go into orders" in result.stderr
    assert all_items(orders) == [{"pk": {"S": "A"}, "sk": {"N": "1"}, "total": {"N": "2.5"}}]
