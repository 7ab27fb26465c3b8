"""schemas: reading CreateTable YAML, lists and CloudFormation; validation; loading on DynamoDB Local."""

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
    assert result.exit_code == 1 and "bad.yaml:4" in result.stderr
    assert messages_table.list_tables()["TableNames"] == ["cruddur-messages"]


@pytest.mark.integration
def test_schema_load_is_idempotent_and_reports_differences(ddb, cli, tmp_path):
    first = cli.json("ddb", "schema-load")
    assert [(t["name"], t["status"]) for t in first["tables"]] == [("cruddur-messages", "created")]
    assert first["tables"][0]["indexes"] == ["message-group-sk-index"]
    assert ddb.describe_table(TableName="cruddur-messages")["Table"]["TableStatus"] == "ACTIVE"
    again = cli.json("ddb", "schema-load")
    assert again["tables"][0]["status"] == "exists"

    changed = write(tmp_path, SCHEMA.read_text().replace("ProjectionType: ALL", "ProjectionType: KEYS_ONLY"))
    result = cli("ddb", "schema-load", changed, "-o", "json", ok=False)
    assert result.exit_code == 1
    doc = __import__("json").loads(result.stdout)
    assert doc["tables"][0]["status"] == "differs"
    assert "GSI message-group-sk-index" in doc["tables"][0]["differences"][0]
    assert "--recreate" in result.stderr

    refused = cli("ddb", "schema-load", changed, "--recreate", ok=False)  # no terminal, no --yes
    assert refused.exit_code == 1 and "pass --yes" in refused.stderr
    recreated = cli.json("ddb", "schema-load", changed, "--recreate", "--yes")
    assert recreated["tables"][0]["status"] == "recreated"
    gsi = ddb.describe_table(TableName="cruddur-messages")["Table"]["GlobalSecondaryIndexes"][0]
    assert gsi["Projection"]["ProjectionType"] == "KEYS_ONLY"


@pytest.mark.integration
def test_drop_list_and_describe(messages_table, cli):
    tables = cli.json("ddb", "list-tables")
    assert tables["tables"][0]["name"] == "cruddur-messages" and tables["tables"][0]["indexes"] == ["message-group-sk-index"]
    described = cli.json("ddb", "describe", "cruddur-messages")["table"]
    assert described["keys"] == "pk(S) HASH sk(S) RANGE"
    assert described["stream"]["enabled"] and described["stream"]["view_type"] == "NEW_IMAGE"
    assert described["billing"] == "PAY_PER_REQUEST"
    refused = cli("ddb", "drop", "cruddur-messages", ok=False)
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    assert messages_table.list_tables()["TableNames"] == ["cruddur-messages"]
    cli("ddb", "drop", "cruddur-messages", "--yes")
    assert messages_table.list_tables()["TableNames"] == []
    missing = cli("ddb", "describe", "cruddur-messages", ok=False)
    assert missing.exit_code == 1 and "schema-load" in missing.stderr
