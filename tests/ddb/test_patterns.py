"""cruddur_ops/ddb/patterns.py: declared access patterns — validation, Query requests, and running them."""

from pathlib import Path

import pytest

from cruddur_ops.ddb import patterns, schema
from cruddur_ops.errors import CruddurError, SchemaError
from tests.conftest import SCHEMA

BAD = Path(__file__).resolve().parent.parent / "bad_patterns"
GROUP = "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"  # mira and tobi in seeds/conversations.yaml


def _write(tmp_path, text: str, name="table.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


OPS_SCHEMA = """\
TableName: pattern-ops
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {AttributeName: pk, AttributeType: S}
  - {AttributeName: sk, AttributeType: S}
KeySchema:
  - {AttributeName: pk, KeyType: HASH}
  - {AttributeName: sk, KeyType: RANGE}
AccessPatterns:
  prefix: {key: {pk: "P#{p}"}, sort: {begins_with: "{prefix}"}}
  range: {key: {pk: "P#{p}"}, sort: {between: ["{low}", "{high}"]}}
  eq: {key: {pk: "P#{p}"}, sort: {"=": "{at}"}}
  lt: {key: {pk: "P#{p}"}, sort: {"<": "{at}"}}
  le: {key: {pk: "P#{p}"}, sort: {"<=": "{at}"}}
  gt: {key: {pk: "P#{p}"}, sort: {">": "{at}"}}
  ge: {key: {pk: "P#{p}"}, sort: {">=": "{at}"}}
  newest: {key: {pk: "P#{p}"}, newest_first: true, limit: 2}
---
"""

SCORES_SCHEMA = """\
TableName: pattern-scores
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {AttributeName: player, AttributeType: S}
  - {AttributeName: score, AttributeType: N}
KeySchema:
  - {AttributeName: player, KeyType: HASH}
  - {AttributeName: score, KeyType: RANGE}
AccessPatterns:
  above: {key: {player: "{player}"}, sort: {">": "{min}"}}
"""


# --- declarations ----------------------------------------------------------------------------------------
def test_project_schema_declares_the_app_patterns():
    (table,) = schema.read([SCHEMA]).tables
    assert list(table.patterns) == ["get-conversation", "list-conversations", "conversation-rows", "messages-since"]
    a, b, rows, since = (table.patterns[n] for n in table.patterns)
    assert (a.key_template, a.newest_first, a.reverse, a.limit) == ("MSG#{message_group_uuid}", True, True, 20)
    assert (b.key_template, b.newest_first, b.sort_op) == ("GRP#{user_uuid}", True, None)  # no year filter
    assert (rows.index, rows.key_attr, rows.parameters) == ("message-group-sk-index", "message_group_uuid", ["message_group_uuid"])
    assert (since.sort_attr, since.sort_op, since.parameters) == ("sk", ">=", ["message_group_uuid", "since"])


def test_access_patterns_are_stripped_from_the_create_table_request():
    (table,) = schema.read([SCHEMA]).tables
    assert "AccessPatterns" not in table.request
    assert "AccessPatterns" not in schema.create_request(table)


@pytest.mark.parametrize("file, line, field, pattern, message", [
    ("unknown_index.yaml", 12, "AccessPatterns.by-group.index", "by-group", "unknown index 'group-index' on table bad-unknown-index (indexes: none)"),
    ("key_not_partition_key.yaml", 12, "AccessPatterns.by-time.key", "by-time", "'sk' is not the partition key of table bad-key-attribute (it is 'pk')"),
    ("index_key_not_partition_key.yaml", 19, "AccessPatterns.rows-of-group.key", "rows-of-group", "'pk' is not the partition key of index group-index (it is 'group')"),
    ("sort_without_sort_key.yaml", 11, "AccessPatterns.recent.sort", "recent", "table bad-sort-condition has no sort key"),
    ("unknown_field.yaml", 13, "AccessPatterns.latest.newest_frist", "latest", "unknown field 'newest_frist'"),
    ("bad_template.yaml", 10, "AccessPatterns.broken.key.pk", "broken", "bad template 'GRP#{user_uuid'"),
])
def test_bad_declaration_names_file_line_pattern_and_field(file, line, field, pattern, message):
    path = BAD / file
    with pytest.raises(SchemaError) as err:
        schema.read([SCHEMA, path])
    text = str(err.value)
    assert text.startswith(f"{path}:{line}: {field}: pattern '{pattern}': ")
    assert message in text


@pytest.mark.parametrize("decl, message", [
    ("x: {key: {pk: '{a}', sk: '{b}'}}", "key must be one 'attribute: template' pair"),
    ("x: {key: {pk: }}", "expected a value or a template"),
    ("x: {key: {pk: '{0}'}}", "bad placeholder"),
    ("x: {key: {pk: '{a!r}'}}", "bad placeholder"),
    ("x: {key: {pk: '{a}'}, sort: {like: 'b'}}", "sort must be one of begins_with | between"),
    ("x: {key: {pk: '{a}'}, sort: {between: ['a']}}", "between takes [low, high]"),
    ("x: {key: {pk: '{a}'}, limit: 0}", "limit must be a whole number"),
    ("x: {key: {pk: '{a}'}, newest_first: 'yes'}", "newest_first must be true or false"),
    ("x: [not, a, mapping]", "expected a mapping with at least 'key'"),
])
def test_other_bad_declarations(tmp_path, decl, message):
    path = _write(tmp_path, OPS_SCHEMA.split("AccessPatterns:")[0] + "AccessPatterns:\n  " + decl + "\n")
    with pytest.raises(SchemaError, match="AccessPatterns.x") as err:
        schema.read([path])
    assert message in str(err.value)


def test_a_literal_brace_is_allowed_when_doubled(tmp_path):
    path = _write(tmp_path, OPS_SCHEMA.split("AccessPatterns:")[0] + "AccessPatterns:\n  x: {key: {pk: 'J#{{{a}}}'}}\n")
    pattern = schema.read([path]).tables[0].patterns["x"]
    assert pattern.parameters == ["a"]
    assert patterns.build_request(pattern, {"a": "1"})["ExpressionAttributeValues"][":pk"] == {"S": "J#{1}"}


def test_a_name_declared_for_two_tables_is_ambiguous(tmp_path):
    one = _write(tmp_path, OPS_SCHEMA.split("---")[0], "one.yaml")
    two = _write(tmp_path, OPS_SCHEMA.split("---")[0].replace("pattern-ops", "pattern-ops-2"), "two.yaml")
    tables = schema.read([one, two]).tables
    with pytest.raises(CruddurError, match="'eq' is declared for more than one table: pattern-ops .*pattern-ops-2"):
        patterns.find(tables, "eq")
    with pytest.raises(CruddurError, match=r"no access pattern 'nope' \(declared: eq, eq, ge"):
        patterns.find(tables, "nope")


# --- requests ----------------------------------------------------------------------------------------------
@pytest.fixture
def ops(tmp_path):
    return schema.read([_write(tmp_path, OPS_SCHEMA.split("---")[0])]).tables[0].patterns


@pytest.mark.parametrize("name, params, expression, values", [
    ("prefix", {"prefix": "2024-02"}, "#pk = :pk AND begins_with(#sk, :sk0)", {":sk0": "2024-02"}),
    ("range", {"low": "a", "high": "b"}, "#pk = :pk AND #sk BETWEEN :sk0 AND :sk1", {":sk0": "a", ":sk1": "b"}),
    ("eq", {"at": "a"}, "#pk = :pk AND #sk = :sk0", {":sk0": "a"}),
    ("lt", {"at": "a"}, "#pk = :pk AND #sk < :sk0", {":sk0": "a"}),
    ("le", {"at": "a"}, "#pk = :pk AND #sk <= :sk0", {":sk0": "a"}),
    ("gt", {"at": "a"}, "#pk = :pk AND #sk > :sk0", {":sk0": "a"}),
    ("ge", {"at": "a"}, "#pk = :pk AND #sk >= :sk0", {":sk0": "a"}),
])
def test_request_for_each_sort_condition(ops, name, params, expression, values):
    request = patterns.build_request(ops[name], {"p": "1", **params})
    assert request == {
        "TableName": "pattern-ops", "KeyConditionExpression": expression,
        "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
        "ExpressionAttributeValues": {":pk": {"S": "P#1"}, **{k: {"S": v} for k, v in values.items()}},
        "ScanIndexForward": True, "ReturnConsumedCapacity": "INDEXES",
    }


def test_request_limit_direction_index_and_table_override():
    (table,) = schema.read([SCHEMA]).tables
    a = patterns.build_request(table.patterns["get-conversation"], {"message_group_uuid": "g"})
    assert (a["ScanIndexForward"], a["Limit"], "IndexName" in a) == (False, 20, False)
    assert patterns.build_request(table.patterns["get-conversation"], {"message_group_uuid": "g"}, limit=3)["Limit"] == 3
    rows = patterns.build_request(table.patterns["conversation-rows"], {"message_group_uuid": "g"}, table="copy")
    assert (rows["TableName"], rows["IndexName"], "Limit" in rows) == ("copy", "message-group-sk-index", False)
    assert rows["ExpressionAttributeNames"] == {"#pk": "message_group_uuid"}


def test_missing_and_unknown_parameters_are_named(ops):
    with pytest.raises(CruddurError, match=r"pattern 'range' needs parameter 'high' \(pass --param high=…\)"):
        patterns.build_request(ops["range"], {"p": "1", "low": "a"})
    with pytest.raises(CruddurError, match="pattern 'eq' has no parameter 'when' \\(it takes: p, at\\)"):
        patterns.build_request(ops["eq"], {"p": "1", "at": "a", "when": "x"})


def test_number_keys_are_sent_as_numbers(tmp_path):
    pattern = schema.read([_write(tmp_path, SCORES_SCHEMA)]).tables[0].patterns["above"]
    request = patterns.build_request(pattern, {"player": "ann", "min": "9"})
    assert request["ExpressionAttributeValues"] == {":pk": {"S": "ann"}, ":sk0": {"N": "9"}}


# --- running: paging logic on a stub, then the real engine ---------------------------------------------------
class PagedStub:
    """Answers Query with pages of ``page`` items (like DynamoDB's 1 MB cut) and records every call."""

    def __init__(self, total: int, page: int):
        self.items = [{"pk": {"S": "P"}, "sk": {"S": f"{i:03d}"}} for i in range(total)]
        self.page, self.calls = page, []

    def query(self, **call):
        self.calls.append(call)
        start = int(call["ExclusiveStartKey"]["sk"]["S"]) + 1 if "ExclusiveStartKey" in call else 0
        end = min(start + self.page, start + call.get("Limit", 10**9), len(self.items))
        out = {"Items": self.items[start:end], "ConsumedCapacity": {"CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}}
        if end < len(self.items):
            out["LastEvaluatedKey"] = self.items[end - 1]
        return out


def test_run_follows_pages_until_the_limit():
    stub = PagedStub(total=25, page=10)
    result = patterns.run(stub, {"TableName": "t", "Limit": 23})
    assert [i["sk"] for i in result.items] == [f"{i:03d}" for i in range(23)]
    assert result.pages == 3 and result.capacity.total == 3.0 and result.capacity.requests == 3
    assert [c["Limit"] for c in stub.calls] == [23, 13, 3]  # never asks for more than it still needs
    assert "ExclusiveStartKey" not in stub.calls[0] and stub.calls[2]["ExclusiveStartKey"]["sk"] == {"S": "019"}


def test_run_without_limit_reads_every_page_and_reverse_flips_the_order():
    result = patterns.run(PagedStub(total=25, page=10), {"TableName": "t"}, reverse=True)
    assert result.count == 25 and result.pages == 3
    assert result.items[0]["sk"] == "024" and result.items[-1]["sk"] == "000"


@pytest.mark.integration
def test_sort_conditions_on_dynamodb_local(ddb, tmp_path):
    path = _write(tmp_path, OPS_SCHEMA.split("---")[0])
    read = schema.read([path])
    schema.load(ddb, read.tables)
    keys = ["2024-01-05", "2024-02-10", "2024-02-20", "2024-03-01", "2025-01-01"]
    for sk in keys + ["2024-02-15"]:
        ddb.put_item(TableName="pattern-ops", Item={"pk": {"S": "P#1" if sk != "2024-02-15" else "P#2"}, "sk": {"S": sk}})
    found = {}
    for name, params in [("prefix", {"prefix": "2024-02"}), ("range", {"low": "2024-02-01", "high": "2024-03-01"}),
                         ("eq", {"at": "2024-03-01"}), ("lt", {"at": "2024-02-20"}), ("le", {"at": "2024-02-20"}),
                         ("gt", {"at": "2024-03-01"}), ("ge", {"at": "2024-03-01"}), ("newest", {})]:
        result = patterns.run_pattern(ddb, read.tables[0].patterns[name], {"p": "1", **params})
        found[name] = [i["sk"] for i in result.items]
    assert found == {
        "prefix": ["2024-02-10", "2024-02-20"],
        "range": ["2024-02-10", "2024-02-20", "2024-03-01"],  # between is inclusive
        "eq": ["2024-03-01"],
        "lt": ["2024-01-05", "2024-02-10"],
        "le": ["2024-01-05", "2024-02-10", "2024-02-20"],
        "gt": ["2025-01-01"],
        "ge": ["2024-03-01", "2025-01-01"],
        "newest": ["2025-01-01", "2024-03-01"],
    }


@pytest.mark.integration
def test_number_sort_key_compares_numerically_on_dynamodb_local(ddb, tmp_path):
    read = schema.read([_write(tmp_path, SCORES_SCHEMA)])
    schema.load(ddb, read.tables)
    for score in (2, 9, 10, 100):
        ddb.put_item(TableName="pattern-scores", Item={"player": {"S": "ann"}, "score": {"N": str(score)}})
    result = patterns.run_pattern(ddb, read.tables[0].patterns["above"], {"player": "ann", "min": "9"})
    assert [i["score"] for i in result.items] == [10, 100]  # "10" < "9" as text; 10 > 9 as numbers


@pytest.mark.integration
def test_limit_across_pages_on_dynamodb_local(ddb, tmp_path):
    read = schema.read([_write(tmp_path, OPS_SCHEMA.split("---")[0])])
    schema.load(ddb, read.tables)
    blob = "x" * 100_000  # 15 items of ~100 KB: DynamoDB cuts a page at 1 MB, so ~10 per page
    for i in range(15):
        ddb.put_item(TableName="pattern-ops", Item={"pk": {"S": "P#big"}, "sk": {"S": f"{i:03d}"}, "blob": {"S": blob}})
    pattern = read.tables[0].patterns["ge"]
    limited = patterns.run_pattern(ddb, pattern, {"p": "big", "at": "000"}, limit=12)
    assert (limited.count, limited.pages) == (12, 2)
    assert [i["sk"] for i in limited.items] == [f"{i:03d}" for i in range(12)]
    everything = patterns.run_pattern(ddb, pattern, {"p": "big", "at": "000"})
    assert (everything.count, everything.pages) == (15, 2)
    assert everything.capacity.total > limited.capacity.total > 100  # ~0.5 RCU per 4 KB read


@pytest.mark.integration
def test_conversation_rows_returns_exactly_the_two_group_rows(messages_table):
    from cruddur_ops.ddb import seed
    from cruddur_ops.seeds import seedfile
    from tests.conftest import SEED

    parsed = seedfile.read(SEED)
    seed.seed(messages_table, parsed, parsed.users)
    (table,) = schema.read([SCHEMA]).tables
    result = patterns.run_pattern(messages_table, table.patterns["conversation-rows"], {"message_group_uuid": GROUP})
    assert result.count == 2
    assert {i["message_group_uuid"] for i in result.items} == {GROUP}
    assert {i["user_handle"] for i in result.items} == {"mira", "tobi"}
    assert all(i["pk"].startswith("GRP#") for i in result.items)
    assert result.capacity.indexes == {"message-group-sk-index": result.capacity.total}
