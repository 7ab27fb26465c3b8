"""One codec for every format: an item holding every DynamoDB type writes to CSV, JSON, JSON lines, DynamoDB JSON
and Workbench TableData and reads back unchanged — in the library, and through the real commands (scan/query/get
``-o``, ``export --format``, ``import``, ``model export --with-data``)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from cruddur_ops.cli import render
from cruddur_ops.ddb import export, query, transfer, typed

ALL = {
    "pk": {"S": "ALL#1"},
    "sk": {"N": "7"},
    "text": {"S": 'naïve, "quoted"\nline\r\nand a bare \r carriage return'},
    "empty": {"S": ""},
    "formula": {"S": "=HYPERLINK(\"http://127.0.0.1\")"},
    "int": {"N": "-42"},
    "frac": {"N": "0.1"},
    "long": {"N": "12345678901234567890123456789012345678"},
    "past_double": {"N": "9007199254740993"},
    "huge": {"N": "9.9999999999999999999999999999999999999E+125"},
    "tiny": {"N": "1E-130"},
    "blob": {"B": bytes(range(256))},
    "no_bytes": {"B": b""},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nothing": {"NULL": True},
    "tags": {"SS": ["red", "blue"]},
    "scores": {"NS": ["1.5", "2", "-0.25", "12345678901234567890123456789012345678"]},
    "blobs": {"BS": [b"\x00", b"\xff\xfe"]},
    "map": {"M": {"n": {"N": "1.5"}, "l": {"L": [{"N": "2.25"}, {"S": ""}, {"M": {}}, {"NS": ["0.5"]}]},
                  "$ss": {"S": "looks typed"}}},
    "tricky": {"M": {"$n": {"S": "a map whose only key starts with $"}}},
    "list": {"L": [{"N": "0.5"}, {"L": []}, {"BOOL": False}, {"NULL": True}, {"B": b"\x01"}]},
}
KEYS = query.TableKeys("everything", query.Key("pk", "S", "sk", "N"), {}, {"pk": "S", "sk": "N"}, {})


def exact(item: dict) -> dict:
    """Sets as sets, numbers by value (``1E-130`` and ``1e-130`` are one number: DynamoDB stores one form)."""
    from decimal import Decimal

    def canon(av):
        ((kind, value),) = av.items()
        if kind == "N":
            return {"N": Decimal(value)}
        if kind == "NS":
            return {"NS": sorted(Decimal(v) for v in value)}
        if kind in ("SS", "BS"):
            return {kind: sorted(value)}
        if kind == "M":
            return {"M": {k: canon(v) for k, v in value.items()}}
        if kind == "L":
            return {"L": [canon(v) for v in value]}
        return av

    return {k: canon(v) for k, v in item.items()}


def read_back(tmp_path: Path, text: str, fmt: str, types: dict[str, str] | None = None) -> list[dict]:
    path = tmp_path / "file"
    path.write_text(text, encoding="utf-8", newline="")
    source = transfer.Source.open(str(path))
    return [item for _, _, item in transfer.read_items(source, fmt, KEYS, types)]


def test_csv_round_trip_is_exact_for_every_type(tmp_path):
    out = io.StringIO()
    written = typed.write_csv([typed.to_plain(ALL)], out, keys=("pk", "sk"))
    header = out.getvalue().split("\n", 1)[0].split(",")
    assert header[:2] == ["pk", "sk"] and header[2:] == sorted(header[2:])  # keys first, then alphabetically
    assert written.types["frac"] == "N" and written.types["yes"] == "BOOL" and written.types["blob"] == "B"
    assert written.types["empty"] == "JSON" and written.types["map"] == "JSON" and "text" not in written.types
    assert '"naïve, ""quoted""\nline\r\nand a bare \r carriage return"' in out.getvalue()  # the bare \r is quoted
    (back,) = read_back(tmp_path, out.getvalue(), "csv", written.types)
    assert exact(back) == exact(ALL)


def test_json_jsonl_dynamodb_json_and_workbench_round_trips_are_exact(tmp_path):
    plain = typed.to_plain(ALL)
    assert exact(read_back(tmp_path, typed.dumps(plain) + "\n", "jsonl")[0]) == exact(ALL)
    assert exact(read_back(tmp_path, json.dumps({"items": [typed.jsonable(plain)]}, indent=2), "json")[0]) == exact(ALL)
    assert exact(read_back(tmp_path, typed.to_dynamodb_json(ALL) + "\n", "dynamodb-json")[0]) == exact(ALL)
    model = {"ModelName": "m", "DataModel": [{"TableName": "everything", "TableData": [export._typed_item(plain)]}]}
    assert exact(read_back(tmp_path, json.dumps(model), "json")[0]) == exact(ALL)


def test_output_json_keeps_every_number_exact():
    doc = json.loads(render.to_json({"items": [typed.to_plain(ALL)]}))
    item = doc["items"][0]
    assert item["past_double"] == {"$n": "9007199254740993"}  # a double would print ...992
    assert item["long"] == {"$n": "12345678901234567890123456789012345678"}
    assert item["huge"] == {"$n": "9.9999999999999999999999999999999999999E+125"}
    assert item["int"] == -42 and item["frac"] == 0.1 and item["map"]["n"] == 1.5
    assert json.loads(render.to_json({"n": 2 ** 60})) == {"n": {"$n": str(2 ** 60)}}
    assert exact(typed.to_attrs(item)) == exact(ALL)


def test_csv_of_fractions_inside_sets_lists_and_maps_does_not_crash():
    out = io.StringIO()
    typed.write_csv([{"pk": "a", "nums": {"$ns": [1.5]}, "m": {"n": 1.5}, "l": [0.25]}], out, keys=("pk",))
    assert out.getvalue() == 'pk,l,m,nums\na,[0.25],"{""n"": 1.5}","{""$ns"": [1.5]}"\n'


def test_csv_safe_neutralises_formula_cells_only_when_asked():
    rows = [{"pk": p} for p in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain")]
    out = io.StringIO()
    typed.write_csv(rows, out, keys=("pk",), safe=True)
    assert out.getvalue().split("\n")[1:-1] == ["'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "\"'\rx\"", "plain"]
    out = io.StringIO()
    typed.write_csv(rows[:1], out, keys=("pk",))
    assert out.getvalue() == "pk\n=1+2\n"


def test_other_results_keep_their_column_order():
    out = io.StringIO()
    typed.write_csv([{"name": "b", "items": 2}, {"name": "a", "status": None, "items": 1}], out)
    assert out.getvalue() == "name,items,status\nb,2,\na,1,\n"


# --- through the commands ---------------------------------------------------------------------------------
SCHEMA = """\
TableName: everything
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {AttributeName: pk, AttributeType: S}
  - {AttributeName: sk, AttributeType: N}
KeySchema:
  - {AttributeName: pk, KeyType: HASH}
  - {AttributeName: sk, KeyType: RANGE}
"""


@pytest.fixture
def everything(ddb, tmp_path):
    from cruddur_ops.ddb import schema

    path = tmp_path / "everything.yaml"
    path.write_text(SCHEMA)
    schema.load(ddb, schema.read([path]).tables)
    ddb.put_item(TableName="everything", Item=ALL)
    return path


def stored(client) -> list[dict]:
    return [exact(i) for i in client.scan(TableName="everything")["Items"]]


WAYS = {
    "scan -o csv": (["ddb", "scan", "everything", "-o", "csv"], "x.csv"),
    "scan -o json": (["ddb", "scan", "everything", "-o", "json"], "x.json"),
    "scan -o jsonl": (["ddb", "scan", "everything", "-o", "jsonl"], "x.jsonl"),
    "query -o csv": (["ddb", "query", "everything", "ALL#1", "-o", "csv"], "x.csv"),
    "get -o csv": (["ddb", "get", "everything", "ALL#1", "7", "-o", "csv"], "x.csv"),
    "export csv": (["ddb", "export", "everything", "--format", "csv"], "x.csv"),
    "export json": (["ddb", "export", "everything", "--format", "json"], "x.json"),
    "export jsonl": (["ddb", "export", "everything", "--format", "jsonl"], "x.jsonl"),
    "export dynamodb-json": (["ddb", "export", "everything", "--format", "dynamodb-json"], "x.jsonl"),
    "model export --with-data": (["ddb", "model", "export", "--format", "workbench", "--with-data", "5",
                                  "--schema", "{schema}"], "model.json"),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_every_type_survives_each_output_and_import(everything, ddb, cli, tmp_path, way):
    args, name = WAYS[way]
    result = cli(*[a.replace("{schema}", str(everything)) for a in args])
    before = stored(ddb)
    path = tmp_path / name
    path.write_bytes(result.stdout_bytes)  # (click's result.stdout turns \r\n into \n)
    types = re.search(r"read it back with --types (\S+)", result.stderr)
    assert (types is not None) == name.endswith(".csv"), result.stderr
    ddb.delete_item(TableName="everything", Key={"pk": ALL["pk"], "sk": ALL["sk"]})
    doc = cli.json("ddb", "import", "everything", path, *(["--types", types.group(1)] if types else []))
    assert doc["items_written"] == 1
    assert stored(ddb) == before == [exact(ALL)]


def test_get_and_query_output_json_are_exact(everything, cli):
    got = cli.json("ddb", "get", "everything", "ALL#1", "7")["item"]
    assert got["past_double"] == {"$n": "9007199254740993"}
    assert exact(typed.to_attrs(got)) == exact(ALL)
    found = cli.json("ddb", "query", "everything", "ALL#1")["items"]
    assert [exact(typed.to_attrs(i)) for i in found] == [exact(ALL)]


def test_the_validator_draws_the_lines_where_dynamodb_does(everything, ddb):
    from cruddur_ops.ddb import limits
    from tests.ddb.test_limits import nested

    rules = limits.KeyRules("everything", "pk", "sk", {"pk": "S", "sk": "N"})
    cases = [{"pk": {"S": "d"}, "sk": {"N": "1"}, "deep": nested(n)} for n in (31, 32)]
    cases += [{"pk": {"S": "x" * n}, "sk": {"N": "2"}} for n in (2048, 2049)]
    cases += [{"pk": {"S": "n"}, "sk": {"N": text}} for text in ("1" * 38, "1" * 39, "1E-130", "1E-131")]
    for case in cases:
        ours = limits.item_problems(case, rules) == []
        try:
            ddb.put_item(TableName="everything", Item=case)
            theirs = True
        except ddb.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "ValidationException"
            theirs = False
        assert ours == theirs, (case if len(str(case)) < 300 else str(case)[:300])


@pytest.mark.parametrize("args", [["ddb", "export", "everything", "--format", "csv", "--csv-safe"],
                                  ["ddb", "scan", "everything", "-o", "csv", "--csv-safe"]])
def test_csv_safe_through_the_commands(everything, cli, args):
    plain = cli(*args).stdout
    assert "'=HYPERLINK(" in plain
    assert "'=HYPERLINK(" not in cli(*args[:-1]).stdout
