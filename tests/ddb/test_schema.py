"""schemas: reading CreateTable YAML, lists and CloudFormation; validation; loading on DynamoDB Local."""

import json
import re
import textwrap
from pathlib import Path

import pytest

from cruddur_ops.ddb import schema
from cruddur_ops.errors import SchemaError
from tests.conftest import SCHEMA

TEMPLATES = Path(__file__).parent / "templates"

TABLE = """\
TableName: things
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {AttributeName: id, AttributeType: S}
KeySchema:
  - {AttributeName: id, KeyType: HASH}
"""


def write(tmp_path, text, name="t.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_default_schema_is_the_apps_table():
    (spec,) = schema.read([SCHEMA]).tables
    r = spec.request
    assert spec.name == "cruddur-messages"
    assert spec.key_names() == ("pk", "sk")
    assert spec.key_names("message-group-sk-index") == ("message_group_uuid", "sk")
    assert r["GlobalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "ALL"}
    assert r["BillingMode"] == "PAY_PER_REQUEST"
    assert r["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert "AccessPatterns" not in r and {"get-conversation", "list-conversations"} <= set(spec.patterns)


@pytest.mark.parametrize("text,line,message", [
    (TABLE.replace("AttributeType: S", "AttributeType: STRING"), 4, "AttributeType must be S, N or B, not 'STRING'"),
    (TABLE.replace("{AttributeName: id, KeyType: HASH}", "{AttributeName: pk, KeyType: HASH}"), 6,
     "key attribute 'pk' is missing from AttributeDefinitions"),
    (TABLE + "Colour: blue\n", 7, "unknown field 'Colour'"),
    (TABLE + "ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}\n", 7,
     "ProvisionedThroughput is not allowed with BillingMode PAY_PER_REQUEST"),
    (TABLE.replace("BillingMode: PAY_PER_REQUEST\n", "BillingMode: PROVISIONED\n"), 2, "needs ProvisionedThroughput"),
    ("TableName: [unclosed\n", 2, "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence on line 1)"),
    (TABLE.replace("TableName: things", "TableName: a"), 1, "not a valid table name"),
])
def test_validation_errors_name_file_line_and_field(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(SchemaError) as err:
        schema.read([path])
    assert message in str(err.value)
    assert str(err.value).startswith(f"{path}:{line}:" if line else str(path))


def test_an_unused_attribute_definition_is_an_error(tmp_path):
    path = write(tmp_path, TABLE.replace("  - {AttributeName: id, AttributeType: S}\n",
                                         "  - {AttributeName: id, AttributeType: S}\n  - {AttributeName: extra, AttributeType: N}\n"))
    with pytest.raises(SchemaError, match="'extra' is defined but used by no key schema"):
        schema.read([path])


def test_a_list_of_tables_and_duplicate_names(tmp_path):
    one = "- " + TABLE.replace("\n", "\n  ").rstrip() + "\n"
    two = one + one.replace("things", "others")
    assert [t.name for t in schema.read([write(tmp_path, two)]).tables] == ["things", "others"]
    with pytest.raises(SchemaError, match="duplicate table name 'things'"):
        schema.read([write(tmp_path, one + one, "dup.yaml")])


def test_cloudformation_template_tables_and_stream_shape(tmp_path):
    path = write(tmp_path, """\
        AWSTemplateFormatVersion: "2010-09-09"
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Handler: app.handler, Runtime: python3.12, Environment: {Variables: {T: !Ref Messages}}}
          Bucket:
            Type: AWS::S3::Bucket
          Messages:
            Type: AWS::DynamoDB::Table
            Properties:
              TableName: cf-messages
              BillingMode: PAY_PER_REQUEST
              AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
              KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
              StreamSpecification: {StreamViewType: NEW_IMAGE}
              PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
              SSESpecification: {SSEEnabled: true}
        """)
    read = schema.read([path])
    assert read.ignored_resources == 2
    (spec,) = read.tables
    assert spec.request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert spec.request["SSESpecification"] == {"Enabled": True}
    assert "PointInTimeRecoverySpecification" not in spec.request


def test_one_bad_file_creates_nothing(messages_table, cli, tmp_path):
    good = write(tmp_path, TABLE, "good.yaml")
    bad = write(tmp_path, TABLE.replace("things", "bad-things").replace("AttributeType: S", "AttributeType: X"), "bad.yaml")
    result = cli("ddb", "schema-load", good, bad, ok=False)
    assert result.exit_code == 3 and "bad.yaml:4" in result.stderr
    assert messages_table.list_tables()["TableNames"] == ["cruddur-messages"]


@pytest.mark.integration
def test_schema_load_is_idempotent_and_names_the_default_files(ddb, cli):
    result = cli("ddb", "schema-load", "-o", "json")
    first = json.loads(result.stdout)
    assert [(t["name"], t["status"]) for t in first["tables"]] == [("cruddur-messages", "created")]
    assert first["tables"][0]["indexes"] == ["message-group-sk-index"]
    assert first["files"] == [str(SCHEMA)] and "the app's files shipped in cruddur" in result.stderr
    assert ddb.describe_table(TableName="cruddur-messages")["Table"]["TableStatus"] == "ACTIVE"
    again = cli.json("ddb", "schema-load")
    assert again["tables"][0]["status"] == "exists" and again["differences"] == []


def _put(ddb, n=3):
    for i in range(n):
        ddb.put_item(TableName="cruddur-messages", Item={"pk": {"S": f"MSG#g{i}"}, "sk": {"S": f"2026-01-0{i + 1}"},
                                                         "message_group_uuid": {"S": f"g{i}"}})


def _count(ddb, table="cruddur-messages"):
    return ddb.scan(TableName=table, Select="COUNT")["Count"]


CHANGED = SCHEMA.read_text().replace("BillingMode: PAY_PER_REQUEST", """BillingMode: PROVISIONED
ProvisionedThroughput: {ReadCapacityUnits: 3, WriteCapacityUnits: 4}
DeletionProtectionEnabled: true
TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}""").replace(
    "    Projection: {ProjectionType: ALL}", """    Projection: {ProjectionType: KEYS_ONLY}
    ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 2}
  - IndexName: by-user
    KeySchema:
      - {AttributeName: user_uuid, KeyType: HASH}
    Projection: {ProjectionType: ALL}
    ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}""").replace(
    "  - {AttributeName: message_group_uuid, AttributeType: S}",
    "  - {AttributeName: message_group_uuid, AttributeType: S}\n  - {AttributeName: user_uuid, AttributeType: S}").replace(
    "StreamViewType: NEW_IMAGE", "StreamViewType: NEW_AND_OLD_IMAGES")


@pytest.mark.integration
def test_plan_shows_every_difference_as_a_row_and_writes_nothing_then_update_keeps_items(messages_table, cli, tmp_path):
    ddb = messages_table
    _put(ddb)
    before = ddb.describe_table(TableName="cruddur-messages")["Table"]
    changed = write(tmp_path, CHANGED, "changed.yaml")
    result = cli("ddb", "schema-load", changed, "--plan", "-o", "json", ok=False)
    assert result.exit_code == 5 and "--update" in result.stderr
    doc = json.loads(result.stdout)
    (table,) = doc["tables"]
    assert table["status"] == "update" and table["billing"] == "PAY_PER_REQUEST"  # the table's, not the schema's
    assert table["stream"] == "NEW_IMAGE"
    rows = {r["property"]: (r["table_has"], r["schema_wants"], r["change"]) for r in doc["differences"]}
    assert rows == {
        "billing": ("PAY_PER_REQUEST", "PROVISIONED", "update"),
        "GSI message-group-sk-index": ("message_group_uuid(S) HASH sk(S) RANGE ALL",
                                       "message_group_uuid(S) HASH sk(S) RANGE KEYS_ONLY", "update"),
        "GSI by-user": ("absent", "user_uuid(S) HASH ALL", "update"),
        "stream": ("NEW_IMAGE", "NEW_AND_OLD_IMAGES", "update"),
        "deletion protection": ("off", "on", "update"),
        "TTL": ("off", "expires_at", "update"),
    }
    assert all(r["table"] == "cruddur-messages" for r in doc["differences"])
    after = ddb.describe_table(TableName="cruddur-messages")["Table"]
    assert after["BillingModeSummary"] == before["BillingModeSummary"] and len(after["GlobalSecondaryIndexes"]) == 1
    assert ddb.describe_time_to_live(TableName="cruddur-messages")["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"

    plain = cli("ddb", "schema-load", changed, ok=False)  # no --plan, no --update: reported, exit 1, unchanged
    assert plain.exit_code == 5 and "billing: table has PAY_PER_REQUEST, schema wants PROVISIONED" in plain.stderr

    updated = cli.json("ddb", "schema-load", changed, "--update")
    assert updated["tables"][0]["status"] == "updated"
    assert set(updated["tables"][0]["updates"]) == set(rows)
    t = ddb.describe_table(TableName="cruddur-messages")["Table"]
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 3 and t["DeletionProtectionEnabled"] is True
    assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert {g["IndexName"]: g["Projection"]["ProjectionType"] for g in t["GlobalSecondaryIndexes"]} == \
        {"message-group-sk-index": "KEYS_ONLY", "by-user": "ALL"}
    assert ddb.describe_time_to_live(TableName="cruddur-messages")["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    assert _count(ddb) == 3
    again = cli.json("ddb", "schema-load", changed)
    assert again["tables"][0]["status"] == "exists" and again["differences"] == []
    ddb.update_table(TableName="cruddur-messages", DeletionProtectionEnabled=False)


@pytest.mark.integration
def test_recreate_is_for_keys_shows_items_lost_and_asks(messages_table, cli, tmp_path):
    ddb = messages_table
    _put(ddb)
    changed = write(tmp_path, SCHEMA.read_text().replace("  - {AttributeName: sk, AttributeType: S}",
                                                         "  - {AttributeName: sk, AttributeType: N}"), "keys.yaml")
    planned = cli("ddb", "schema-load", changed, "--plan", "-o", "json", ok=False)
    doc = json.loads(planned.stdout)
    assert doc["tables"][0]["status"] == "recreate" and doc["tables"][0]["items_lost"] == 3
    assert {r["property"]: r["change"] for r in doc["differences"]}["keys"] == "recreate"
    assert "--recreate" in planned.stderr
    updated = cli("ddb", "schema-load", changed, "--update", ok=False)  # keys cannot change in place
    assert updated.exit_code == 5 and _count(ddb) == 3
    refused = cli("ddb", "schema-load", changed, "--recreate", ok=False)  # no terminal, no --yes
    assert refused.exit_code == 7 and "pass --yes" in refused.stderr and _count(ddb) == 3
    recreated = cli.json("ddb", "schema-load", changed, "--recreate", "--yes")
    assert recreated["tables"][0]["status"] == "recreated" and recreated["tables"][0]["items_lost"] == 3
    t = ddb.describe_table(TableName="cruddur-messages")["Table"]
    assert {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}["sk"] == "N"
    assert _count(ddb) == 0


@pytest.mark.integration
def test_a_recreate_whose_new_definition_fails_drops_nothing(messages_table, cli, tmp_path):
    ddb = messages_table
    _put(ddb)
    # A local index on a table without a sort key: CreateTable refuses it; cruddur finds out under a scratch name
    bad = write(tmp_path, """\
        TableName: cruddur-messages
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions:
          - {AttributeName: pk, AttributeType: S}
          - {AttributeName: sk, AttributeType: S}
        KeySchema:
          - {AttributeName: pk, KeyType: HASH}
        LocalSecondaryIndexes:
          - IndexName: by-sk
            KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
            Projection: {ProjectionType: ALL}
        """, "bad.yaml")
    result = cli("ddb", "schema-load", bad, "--recreate", "--yes", ok=False)
    assert result.exit_code == 3 and "the new definition is refused by CreateTable" in result.stderr
    assert "nothing was dropped" in result.stderr
    assert ddb.list_tables()["TableNames"] == ["cruddur-messages"] and _count(ddb) == 3
    invalid = write(tmp_path, SCHEMA.read_text().replace("AttributeType: S}", "AttributeType: X}", 1), "invalid.yaml")
    result = cli("ddb", "schema-load", invalid, "--recreate", "--yes", ok=False)
    assert "invalid.yaml:" in result.stderr and _count(ddb) == 3


@pytest.mark.integration
def test_the_three_public_template_shapes_load_on_dynamodb_local(ddb, cli):
    result = cli("ddb", "schema-load", TEMPLATES / "sam_messages.yaml", TEMPLATES / "secondary_indexes.yaml",
                 TEMPLATES / "single_table.yaml", "--parameter-overrides", "ReadCapacityUnits=6",
                 "--stack-name", "lab", "-o", "json", ok=False)
    assert result.exit_code == 3  # the override names a parameter sam_messages.yaml does not declare
    assert "no parameter 'ReadCapacityUnits'" in result.stderr and ddb.list_tables()["TableNames"] == []

    result = cli("ddb", "schema-load", TEMPLATES / "sam_messages.yaml", TEMPLATES / "secondary_indexes.yaml",
                 TEMPLATES / "single_table.yaml", "--stack-name", "lab", "-o", "json")
    doc = json.loads(result.stdout)
    assert [(t["name"], t["status"], t["logical_id"]) for t in doc["tables"]] == [
        ("MessagesTable", "created", "MessagesTable"), ("lab-readings", "created", "ReadingsTable"),
        ("TicketsTable", "created", "TicketsTable")]
    assert "MessagesTable: no TableName: the table is named by its logical id 'MessagesTable'" in result.stderr
    assert doc["ignored_resources"] == 3
    assert ddb.describe_table(TableName="MessagesTable")["Table"]["DeletionProtectionEnabled"] is False
    readings = ddb.describe_table(TableName="lab-readings")["Table"]
    assert readings["ProvisionedThroughput"]["WriteCapacityUnits"] == 10
    assert readings["LocalSecondaryIndexes"][0]["IndexName"] == "by-level"
    assert readings["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"] == ["level", "unit"]
    assert ddb.describe_table(TableName="TicketsTable")["Table"]["KeySchema"] == [{"AttributeName": "ticket", "KeyType": "HASH"}]


@pytest.mark.integration
def test_a_template_with_one_bad_table_creates_nothing(ddb, cli, tmp_path):
    gsis = "".join(f"                - {{IndexName: idx{i:02d}, KeySchema: [{{AttributeName: pk, KeyType: HASH}}], "
                   "Projection: {ProjectionType: KEYS_ONLY}}\n" for i in range(21))
    path = write(tmp_path, """\
        Resources:
          Good:
            Type: AWS::DynamoDB::Table
            Properties:
              BillingMode: PAY_PER_REQUEST
              AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
              KeySchema: [{AttributeName: pk, KeyType: HASH}]
          Bad:
            Type: AWS::DynamoDB::Table
            Properties:
              BillingMode: PAY_PER_REQUEST
              AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
              KeySchema: [{AttributeName: pk, KeyType: HASH}]
              GlobalSecondaryIndexes:
        """.rstrip(" ") + gsis, "two.yaml")
    result = cli("ddb", "schema-load", path, ok=False)
    assert result.exit_code == 3
    assert f"{path}:14: Resources.Bad.Properties.GlobalSecondaryIndexes: 21 indexes: DynamoDB allows at most 20" in result.stderr
    assert ddb.list_tables()["TableNames"] == []


@pytest.mark.integration
def test_dynamodb_local_says_what_it_cannot_keep(ddb, cli, tmp_path):
    path = write(tmp_path, TABLE + textwrap.dedent("""\
        Tags: [{Key: team, Value: messages}]
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
        TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
        """))
    result = cli("ddb", "schema-load", path, "-o", "json")
    assert "things: not kept by http://127.0.0.1:" in result.stderr
    assert "(the engine refused or dropped them): PointInTimeRecovery, Tags" in result.stderr
    assert json.loads(result.stdout)["tables"][0]["not_supported"] == ["PointInTimeRecovery", "Tags"]
    assert ddb.describe_time_to_live(TableName="things")["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_pitr_and_tags_are_set_compared_and_updated_on_moto(aws, tmp_path):
    client = aws("dynamodb")
    name = f"tagged-{__import__('secrets').token_hex(4)}"
    path = write(tmp_path, TABLE.replace("things", name) + textwrap.dedent("""\
        Tags: [{Key: team, Value: messages}, {Key: tier, Value: gold}]
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
        """))
    (spec,) = schema.read([path]).tables
    (created,) = schema.load(client, [spec], local=False)
    assert created.status == "created" and created.not_supported == []
    live = schema.read_live(client, name)
    assert live.tags == {"team": "messages", "tier": "gold"} and live.pitr is True
    changed = write(tmp_path, TABLE.replace("things", name) + textwrap.dedent("""\
        Tags: [{Key: team, Value: chat}]
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: false}
        """), "changed.yaml")
    (spec,) = schema.read([changed]).tables
    (p,) = schema.plan(client, [spec], local=False)
    rows = {d.property: (d.table_has, d.schema_wants) for d in p.differences}
    assert rows == {"tags": ("team=messages, tier=gold", "team=chat"), "PITR": ("on", "off")}
    (updated,) = schema.load(client, [spec], local=False, update=True)
    assert updated.status == "updated"
    live = schema.read_live(client, name)
    assert live.tags == {"team": "chat"} and live.pitr is False
    assert schema.plan(client, [spec], local=False)[0].action == "leave"


@pytest.mark.parametrize("extra,message", [
    ("LocalSecondaryIndexes:\n" + "".join(f"  - {{IndexName: lsi{i}, KeySchema: [{{AttributeName: id, KeyType: HASH}}, "
     "{AttributeName: id, KeyType: RANGE}], Projection: {ProjectionType: ALL}}\n" for i in range(6)),
     "6 indexes: DynamoDB allows at most 5 LocalSecondaryIndexes"),
    ("GlobalSecondaryIndexes:\n  - {IndexName: gsi1, KeySchema: [{AttributeName: id, KeyType: HASH}], Projection: {ProjectionType: INCLUDE}}\n",
     "ProjectionType INCLUDE needs NonKeyAttributes"),
    ("GlobalSecondaryIndexes:\n  - {IndexName: gsi1, KeySchema: [{AttributeName: id, KeyType: HASH}], Projection: {ProjectionType: INCLUDE, "
     "NonKeyAttributes: [" + ", ".join(f"a{i}" for i in range(101)) + "]}}\n",
     "101 NonKeyAttributes across the table's indexes; DynamoDB allows at most 100"),
    ("GlobalSecondaryIndexes:\n  - {IndexName: g, KeySchema: [{AttributeName: id, KeyType: HASH}], Projection: {ProjectionType: ALL}}\n",
     "'g' is not a valid index name"),
    ("GlobalSecondaryIndexes:\n  - {IndexName: [a, b], KeySchema: [{AttributeName: id, KeyType: HASH}], Projection: {ProjectionType: ALL}}\n",
     "each index needs an IndexName (text), got a list"),
    ("TableClass: COLD\n", "TableClass: must be one of STANDARD, STANDARD_INFREQUENT_ACCESS, not 'COLD'"),
    ("DeletionProtectionEnabled: 1\n", "DeletionProtectionEnabled: expected true or false, got 1"),
    ("OnDemandThroughput: {MaxReadRequestUnits: true}\n", "a boolean is not a number"),
])
def test_dynamodb_limits_and_types_are_file_line_errors(tmp_path, extra, message):
    path = write(tmp_path, TABLE + extra)
    with pytest.raises(SchemaError) as err:
        schema.read([path])
    assert message in str(err.value) and str(err.value).startswith(f"{path}:")


@pytest.mark.parametrize("old,new,message", [
    ("{AttributeName: id, KeyType: HASH}", "{AttributeName: {name: id}, KeyType: HASH}",
     "KeySchema[0].AttributeName: AttributeName must be an attribute name (text), got a mapping"),
    ("{AttributeName: id, AttributeType: S}", "{AttributeName: [id], AttributeType: S}",
     "AttributeDefinitions[0].AttributeName: AttributeName must be text, got a list"),
    ("BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED\nProvisionedThroughput: {ReadCapacityUnits: true, WriteCapacityUnits: 1}",
     "ReadCapacityUnits must be a whole number ≥ 1, not the boolean true (a boolean is not a number)"),
    ("BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED\nProvisionedThroughput: {ReadCapacityUnits: 40001, WriteCapacityUnits: 1}",
     "ReadCapacityUnits 40,001 is over the per-table maximum of 40,000"),
])
def test_a_list_or_map_where_a_name_belongs_is_an_error_not_a_traceback(tmp_path, old, new, message):
    path = write(tmp_path, TABLE.replace(old, new))
    with pytest.raises(SchemaError, match=re.escape(message)):
        schema.read([path])


def test_fields_come_from_botocores_model_and_ttl_pitr_are_accepted(tmp_path):
    path = write(tmp_path, TABLE + "GlobalTableSettingsReplicationMode: ENABLED\n"
                 "TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}\n"
                 "PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}\n")
    (spec,) = schema.read([path]).tables
    assert spec.request["GlobalTableSettingsReplicationMode"] == "ENABLED"
    assert spec.ttl == {"AttributeName": "expires_at", "Enabled": True} and spec.pitr is True
    assert "TimeToLiveSpecification" not in spec.request


def test_a_nosql_workbench_model_is_read_as_tables(tmp_path):
    model = {"ModelName": "shop", "DataModel": [{
        "TableName": "carts", "BillingMode": "PAY_PER_REQUEST",
        "KeyAttributes": {"PartitionKey": {"AttributeName": "owner", "AttributeType": "S"},
                          "SortKey": {"AttributeName": "added_at", "AttributeType": "S"}},
        "NonKeyAttributes": [{"AttributeName": "sku", "AttributeType": "S"}, {"AttributeName": "qty", "AttributeType": "N"}],
        "GlobalSecondaryIndexes": [{"IndexName": "by-sku", "KeyAttributes": {"PartitionKey": {"AttributeName": "sku", "AttributeType": "S"}},
                                    "Projection": {"ProjectionType": "KEYS_ONLY"}}]}]}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    (spec,) = schema.read([path]).tables
    assert spec.name == "carts" and spec.key_names() == ("owner", "added_at") and spec.key_names("by-sku") == ("sku", None)
    assert {a["AttributeName"] for a in spec.request["AttributeDefinitions"]} == {"owner", "added_at", "sku"}


@pytest.mark.integration
def test_drop_list_and_describe(messages_table, cli):
    tables = cli.json("ddb", "list-tables")
    assert tables["tables"][0]["name"] == "cruddur-messages" and tables["tables"][0]["indexes"] == ["message-group-sk-index"]
    described = cli.json("ddb", "describe", "cruddur-messages")["table"]
    assert described["keys"] == "pk(S) HASH sk(S) RANGE"
    assert described["stream"]["enabled"] and described["stream"]["view_type"] == "NEW_IMAGE"
    assert described["billing"] == "PAY_PER_REQUEST"
    refused = cli("ddb", "drop", "cruddur-messages", ok=False)
    assert refused.exit_code == 7 and "--yes" in refused.stderr
    assert messages_table.list_tables()["TableNames"] == ["cruddur-messages"]
    cli("ddb", "drop", "cruddur-messages", "--yes")
    assert messages_table.list_tables()["TableNames"] == []
    missing = cli("ddb", "describe", "cruddur-messages", ok=False)
    assert missing.exit_code == 4 and "schema-load" in missing.stderr


@pytest.mark.integration
def test_drift_rows_in_the_table_output(messages_table, cli, tmp_path):
    changed = write(tmp_path, SCHEMA.read_text().replace("BillingMode: PAY_PER_REQUEST",
                                                         "BillingMode: PAY_PER_REQUEST\nDeletionProtectionEnabled: true"))
    result = cli("ddb", "schema-load", changed, "--plan", "-o", "table", ok=False)
    assert result.exit_code == 5
    assert "Differences" in result.stdout and "table has" in result.stdout
    differences = result.stdout.split("Differences", 1)[1]
    row = next(line for line in differences.splitlines() if "deletion protection" in line)
    assert re.search(r"cruddur-messages\W+deletion protection\W+off\W+on\W+update", row), row
    assert messages_table.describe_table(TableName="cruddur-messages")["Table"].get("DeletionProtectionEnabled") is False


@pytest.mark.integration
def test_describe_shows_ttl_include_attributes_and_gsi_throughput(ddb, cli):
    ddb.create_table(
        TableName="carts", BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 2},
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "state", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by-state", "KeySchema": [{"AttributeName": "state", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total", "owner"]},
            "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 1}}],
        LocalSecondaryIndexes=[{
            "IndexName": "by-state-local", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                         {"AttributeName": "state", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    ddb.update_time_to_live(TableName="carts", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    d = cli.json("ddb", "describe", "carts")["table"]
    assert d["ttl"] == {"status": "ENABLED", "attribute": "expires_at"}
    gsi = next(i for i in d["indexes"] if i["name"] == "by-state")
    assert gsi["projection"] == "INCLUDE" and gsi["non_key_attributes"] == ["total", "owner"]
    assert gsi["provisioned"] == {"read": 3, "write": 1}
    lsi = next(i for i in d["indexes"] if i["name"] == "by-state-local")
    assert lsi["kind"] == "LSI" and lsi["projection"] == "KEYS_ONLY" and lsi["provisioned"] is None
    assert d["provisioned"] == {"read": 5, "write": 2} and d["table_class"] == "STANDARD"
    assert set(d) >= {"sse", "deletion_protection", "point_in_time_recovery", "stream", "unavailable"}
    text = cli("ddb", "describe", "carts", "-o", "table").stdout
    for shown in ("ENABLED (expires_at)", "INCLUDE (total, owner)", "read 3, write 1", "table class"):
        assert shown in " ".join(text.split()) or shown in text, shown


@pytest.mark.integration
def test_a_global_table_template_loads_on_dynamodb_local_and_reports_what_it_left_out(ddb, cli, tmp_path):
    from tests.io.test_cloudformation import GLOBAL_TABLE

    path = tmp_path / "ledger.yaml"
    path.write_text(GLOBAL_TABLE)
    result = cli("ddb", "schema-load", path, "-o", "json")
    doc = json.loads(result.stdout)
    assert [t["name"] for t in doc["tables"]] == ["ledger-ledger"]
    assert "replicas in eu-west-1 are not created" in result.stderr
    assert "not applied by cruddur: " in result.stderr and "Replicas (eu-west-1)" in result.stderr
    d = cli.json("ddb", "describe", "ledger-ledger")["table"]
    assert d["ttl"] == {"status": "ENABLED", "attribute": "purge_at"}
    assert d["indexes"][0]["non_key_attributes"] == ["amount"] and d["provisioned"] == {"read": 4, "write": 2}
    assert d["stream"]["view_type"] == "NEW_AND_OLD_IMAGES"


@pytest.mark.integration
def test_a_failed_account_id_lookup_is_an_error_not_a_made_up_account(cli, aws_env, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
                    "      TableName: !Sub 'orders-${AWS::AccountId}'\n      BillingMode: PAY_PER_REQUEST\n"
                    "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n"
                    "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n")
    result = cli("--endpoint-url", "http://ddb.cruddur.invalid", "ddb", "schema-load", path, "--plan", ok=False)
    assert result.exit_code in (8, 11), result.stderr
    assert "AWS::AccountId" in result.stderr and "--parameter-overrides AWS::AccountId=" in result.stderr
    assert "000000000000" not in result.stdout


def test_moto_on_loopback_keeps_pitr_and_tags_the_address_is_no_verdict(moto_env, cli, tmp_path):
    """An engine is known by what it answers: moto listens on 127.0.0.1 like DynamoDB Local, yet keeps PITR and
    tags, so schema-load applies them and reports nothing as not kept (issue 19)."""
    from cruddur_ops.settings import Settings

    name = f"kept-{__import__('secrets').token_hex(4)}"
    path = write(tmp_path, TABLE.replace("things", name) + textwrap.dedent("""\
        Tags: [{Key: team, Value: messages}]
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
        """))
    result = cli("ddb", "schema-load", path, "-o", "json")
    assert json.loads(result.stdout)["tables"][0]["not_supported"] == []
    assert "not kept" not in result.stderr
    client = Settings.from_env().dynamodb()
    backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    assert client.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "messages"}]


def test_copy_carries_pitr_and_tags_to_an_engine_that_keeps_them(moto_env, cli, tmp_path):
    """copy attempts what schema-load attempts: moto on 127.0.0.1 gets the source's PITR and tags."""
    from cruddur_ops.settings import Settings

    name = f"src-{__import__('secrets').token_hex(4)}"
    path = write(tmp_path, TABLE.replace("things", name) + textwrap.dedent("""\
        Tags: [{Key: team, Value: messages}]
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
        """))
    cli("ddb", "schema-load", path)
    doc = json.loads(cli("ddb", "copy", name, f"{name}-copy", "-o", "json").stdout)
    assert doc["created"] is True and doc["not_kept"] == []
    client = Settings.from_env().dynamodb()
    backups = client.describe_continuous_backups(TableName=f"{name}-copy")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    arn = client.describe_table(TableName=f"{name}-copy")["Table"]["TableArn"]
    assert client.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "messages"}]
