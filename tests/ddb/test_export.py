"""cruddur_ops/ddb/export.py and `cruddur ddb model export`: CloudFormation (round-trips) and NoSQL Workbench."""

import json
from datetime import UTC, datetime

import pytest
import yaml

from cruddur_ops.ddb import export, schema
from tests.conftest import SCHEMA, no_result

RICH = """\
# A provisioned table with an LSI, encryption, tags and no stream: the CreateTable fields an export must carry.
TableName: export-orders
BillingMode: PROVISIONED
ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 3}
AttributeDefinitions:
  - {AttributeName: customer, AttributeType: S}
  - {AttributeName: ordered_at, AttributeType: S}
  - {AttributeName: total, AttributeType: N}
  - {AttributeName: status, AttributeType: S}
KeySchema:
  - {AttributeName: customer, KeyType: HASH}
  - {AttributeName: ordered_at, KeyType: RANGE}
LocalSecondaryIndexes:
  - IndexName: by-total
    KeySchema:
      - {AttributeName: customer, KeyType: HASH}
      - {AttributeName: total, KeyType: RANGE}
    Projection: {ProjectionType: KEYS_ONLY}
GlobalSecondaryIndexes:
  - IndexName: by-status
    KeySchema:
      - {AttributeName: status, KeyType: HASH}
      - {AttributeName: ordered_at, KeyType: RANGE}
    Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [total]}
    ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 1}
SSESpecification: {Enabled: true, SSEType: KMS}
Tags:
  - {Key: owner, Value: data-team}
StreamSpecification: {StreamEnabled: false}
AccessPatterns:
  orders-of:
    key: {customer: "{customer}"}
    sort: {between: ["{from}", "{to}"]}
    newest_first: true
  open-orders:
    index: by-status
    key: {status: "OPEN"}
"""


@pytest.fixture
def rich(tmp_path):
    path = tmp_path / "orders.yaml"
    path.write_text(RICH)
    return path


def _normalised(request: dict) -> dict:
    """A CreateTable request with its equivalent spellings made equal (a disabled stream is no stream)."""
    request = dict(request)
    stream = request.get("StreamSpecification")
    if stream is not None and not stream.get("StreamEnabled", True):
        request.pop("StreamSpecification")
    return request


# --- CloudFormation -------------------------------------------------------------------------------------------
def test_cloudformation_template_of_the_project_schema():
    tables = schema.read([SCHEMA]).tables
    result = export.cloudformation(tables)
    doc = result.document
    assert doc["AWSTemplateFormatVersion"] == "2010-09-09"
    (rid, resource), = doc["Resources"].items()
    assert rid == "CruddurMessagesTable" and resource["Type"] == "AWS::DynamoDB::Table"
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}  # CloudFormation has no StreamEnabled
    assert props["GlobalSecondaryIndexes"][0]["IndexName"] == "message-group-sk-index"
    assert "AccessPatterns" not in props
    raw = yaml.safe_load(SCHEMA.read_text())
    assert resource["Metadata"]["AccessPatterns"] == raw["AccessPatterns"]  # the declarations, as written
    assert doc["Outputs"]["CruddurMessagesTableStreamArn"]["Value"] == {"Fn::GetAtt": ["CruddurMessagesTable", "StreamArn"]}
    assert result.summary() == {"format": "cloudformation", "tables": ["cruddur-messages"],
                                "patterns": list(raw["AccessPatterns"]), "notes": []}


def test_cloudformation_properties_use_cloudformation_spellings(rich):
    props = export.cloudformation(schema.read([rich]).tables).document["Resources"]["ExportOrdersTable"]["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert "StreamSpecification" not in props  # disabled stream: no property at all
    assert props["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}
    assert props["LocalSecondaryIndexes"][0]["IndexName"] == "by-total"
    assert props["Tags"] == [{"Key": "owner", "Value": "data-team"}]


def test_logical_ids_are_alphanumeric_and_unique():
    taken: set[str] = set()
    ids = [export.logical_id(n, taken) for n in ("cruddur-messages", "cruddur.messages", "9lives", "a_b-c")]
    assert ids == ["CruddurMessagesTable", "CruddurMessagesTable2", "T9livesTable", "ABCTable"]


@pytest.mark.parametrize("syntax, suffix", [("yaml", ".yaml"), ("json", ".json")])
def test_cloudformation_export_reads_back_as_the_same_tables(tmp_path, rich, syntax, suffix):
    source = schema.read([SCHEMA, rich]).tables
    path = tmp_path / f"template{suffix}"
    path.write_text(export.dump(export.cloudformation(source).document, syntax))
    again = schema.read([path])
    assert again.ignored_resources == 0
    assert [_normalised(schema.create_request(t)) for t in again.tables] == \
           [_normalised(schema.create_request(t)) for t in source]


def test_every_property_round_trips_and_logical_ids_are_kept(tmp_path):
    source = tmp_path / "stack.yaml"
    source.write_text("""\
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: kept-orders
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
      SSESpecification: {SSEEnabled: true}
      Tags: [{Key: team, Value: shop}]
      DeletionProtectionEnabled: true
      TableClass: STANDARD_INFREQUENT_ACCESS
""")
    tables = schema.read([source]).tables
    doc = export.cloudformation(tables).document
    assert list(doc["Resources"]) == ["Orders"]
    props = doc["Resources"]["Orders"]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    path = tmp_path / "again.yaml"
    path.write_text(export.dump(doc, "yaml"))
    (again,) = schema.read([path]).tables
    (first,) = tables
    assert (again.request, again.ttl, again.pitr, again.logical_id) == (first.request, first.ttl, first.pitr, "Orders")


# --- NoSQL Workbench ------------------------------------------------------------------------------------------------
def test_workbench_model_of_the_project_schema():
    now = datetime(2024, 3, 1, 14, 5, tzinfo=UTC)
    result = export.workbench(schema.read([SCHEMA]).tables, now=now)
    doc = result.document
    assert doc["ModelName"] == "cruddur-messages"
    assert doc["ModelMetadata"] | {"Description": None} == {
        "Author": "", "DateCreated": "Mar 01, 2024, 02:05 PM", "DateLastModified": "Mar 01, 2024, 02:05 PM",
        "Description": None, "AWSService": "Amazon DynamoDB", "Version": "3.0"}
    assert "conversation-rows (cruddur-messages index message-group-sk-index)" in doc["ModelMetadata"]["Description"]
    (table,) = doc["DataModel"]
    assert table["KeyAttributes"] == {"PartitionKey": {"AttributeName": "pk", "AttributeType": "S"},
                                      "SortKey": {"AttributeName": "sk", "AttributeType": "S"}}
    assert table["NonKeyAttributes"] == [{"AttributeName": "message_group_uuid", "AttributeType": "S"}]
    assert table["GlobalSecondaryIndexes"] == [{
        "IndexName": "message-group-sk-index",
        "KeyAttributes": {"PartitionKey": {"AttributeName": "message_group_uuid", "AttributeType": "S"},
                          "SortKey": {"AttributeName": "sk", "AttributeType": "S"}},
        "Projection": {"ProjectionType": "ALL"}}]
    assert table["BillingMode"] == "PAY_PER_REQUEST" and "ProvisionedCapacitySettings" not in table
    assert table["TableData"] == [] and table["DataAccess"] == {"MySql": {}}
    facets = {f["FacetName"]: f for f in table["TableFacets"]}
    # one facet per declared entity: its key templates as the aliases, what its items carry (ddb/model.py)
    assert list(facets) == ["GroupRow", "Message"]
    assert facets["Message"]["KeyAttributeAlias"] == {"PartitionKeyAlias": "MSG#{message_group_uuid}",
                                                      "SortKeyAlias": "{created_at}"}
    assert facets["GroupRow"]["KeyAttributeAlias"] == {"PartitionKeyAlias": "GRP#{owner_uuid}",
                                                       "SortKeyAlias": "{last_message_at}"}
    assert facets["Message"]["NonKeyAttributes"] == ["message_uuid", "message", "user_uuid",
                                                     "user_display_name", "user_handle"]
    assert facets["GroupRow"]["NonKeyAttributes"] == ["message_group_uuid", "message", "user_uuid",
                                                      "user_display_name", "user_handle"]
    assert result.notes == ["cruddur-messages: one facet per entity (GroupRow, Message); the access patterns are "
                            "in the model's description"]


def test_workbench_model_of_a_provisioned_table_with_an_lsi(rich):
    result = export.workbench(schema.read([rich]).tables, name="orders")
    (table,) = result.document["DataModel"]
    assert result.document["ModelName"] == "orders"
    assert table["ProvisionedCapacitySettings"] == {"ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}}
    assert [a["AttributeName"] for a in table["NonKeyAttributes"]] == ["total", "status"]
    assert table["TableFacets"][0]["KeyAttributeAlias"] == {"PartitionKeyAlias": "{customer}",
                                                            "SortKeyAlias": "ordered_at between {from} and {to}"}
    assert any("local index by-total not exported" in n for n in result.notes)
    assert any(n.startswith("open-orders: not exported as a facet") for n in result.notes)


# --- the command -----------------------------------------------------------------------------------------------------
def test_export_to_stdout_is_the_document_alone(cli, aws_env):
    result = cli("ddb", "model", "export")
    template = yaml.safe_load(result.stdout)
    assert list(template["Resources"]) == ["CruddurMessagesTable"]
    model = cli("ddb", "model", "export", "--format", "workbench", "--schema", SCHEMA)
    assert json.loads(model.stdout)["DataModel"][0]["TableName"] == "cruddur-messages"
    assert "one facet per entity (GroupRow, Message)" in " ".join(model.stderr.split())


def test_export_out_file_syntax_follows_the_suffix(cli, aws_env, tmp_path):
    out = tmp_path / "template.json"
    result = cli("ddb", "model", "export", "--out", out)
    assert result.stdout == ""
    note = " ".join(result.stderr.split())  # rich wraps stderr notes at the console width
    assert note.endswith(f"wrote {out}: 1 table(s) (cruddur-messages), 4 access pattern(s) as resource Metadata")
    assert "the app's files shipped in cruddur" in note  # the default files are named
    assert json.loads(out.read_text())["Resources"]["CruddurMessagesTable"]["Type"] == "AWS::DynamoDB::Table"
    forced = tmp_path / "template.txt"
    cli("ddb", "model", "export", "--out", forced, "--syntax", "json")
    assert json.loads(forced.read_text()) == json.loads(out.read_text())


def test_export_errors(cli, aws_env, tmp_path):
    result = cli("ddb", "model", "export", "--format", "workbench", "--syntax", "yaml", ok=False)
    assert result.exit_code == 3 and "NoSQL Workbench imports JSON models only" in result.stderr
    result = cli("ddb", "model", "export", "--format", "excel", ok=False)
    assert result.exit_code == 2
    result = cli("ddb", "model", "export", "--out", tmp_path / "missing-dir" / "t.yaml", ok=False)
    assert result.exit_code == 3 and "cannot write" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("TableName: x\n")
    result = cli("ddb", "model", "export", "--schema", bad, ok=False)
    assert result.exit_code == 3 and no_result(result.stdout) and f"{bad}" in result.stderr


# --- the round trip on DynamoDB Local ----------------------------------------------------------------------------------
def _shape(client, name: str) -> dict:
    """What describe_table says about a table, minus what changes from one creation to the next."""
    t = client.describe_table(TableName=name)["Table"]

    def throughput(d):
        p = d.get("ProvisionedThroughput") or {}
        return (p.get("ReadCapacityUnits"), p.get("WriteCapacityUnits"))

    def index(i):
        return {"keys": i["KeySchema"], "projection": i["Projection"], "throughput": throughput(i)}

    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in t["AttributeDefinitions"]),
        "keys": t["KeySchema"],
        "billing": (t.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
        "throughput": throughput(t),
        "gsi": {i["IndexName"]: index(i) for i in t.get("GlobalSecondaryIndexes") or []},
        "lsi": {i["IndexName"]: {"keys": i["KeySchema"], "projection": i["Projection"]} for i in t.get("LocalSecondaryIndexes") or []},
        "stream": t.get("StreamSpecification"),
        "deletion_protection": t.get("DeletionProtectionEnabled"),
    }


@pytest.mark.integration
def test_schema_load_of_the_export_creates_the_same_tables(cli, ddb, rich, tmp_path):
    cli("ddb", "schema-load", SCHEMA, rich)
    names = sorted(ddb.list_tables()["TableNames"])
    before = {n: _shape(ddb, n) for n in names}
    template = tmp_path / "exported.yaml"
    cli("ddb", "model", "export", "--schema", SCHEMA, "--schema", rich, "--out", template)
    for name in names:
        cli("ddb", "drop", name, "--yes")
    assert ddb.list_tables()["TableNames"] == []
    loaded = cli.json("ddb", "schema-load", template)
    assert sorted(t["name"] for t in loaded["tables"]) == names
    assert {t["status"] for t in loaded["tables"]} == {"created"}
    assert {n: _shape(ddb, n) for n in names} == before
    assert before["export-orders"]["lsi"] and before["cruddur-messages"]["stream"]["StreamViewType"] == "NEW_IMAGE"
    # and the exported template still declares the patterns for `pattern list`
    patterns = yaml.safe_load(template.read_text())["Resources"]["ExportOrdersTable"]["Metadata"]["AccessPatterns"]
    assert patterns["orders-of"]["sort"] == {"between": ["{from}", "{to}"]}


@pytest.mark.integration
def test_workbench_with_data_fills_table_data_from_the_table(cli, messages_table):
    ddb = messages_table
    ddb.put_item(TableName="cruddur-messages", Item={
        "pk": {"S": "MSG#g1"}, "sk": {"S": "2026-01-01T00:00:00.000000+00:00"}, "message_uuid": {"S": "m1"},
        "message": {"S": "hello"}, "user_uuid": {"S": "u1"}, "user_display_name": {"S": "Ana"}, "user_handle": {"S": "ana"},
        "edits": {"N": "2"}})
    ddb.put_item(TableName="cruddur-messages", Item={"pk": {"S": "GRP#u2"}, "sk": {"S": "2026-01-01T00:00:00.000000+00:00"},
                                                     "message_group_uuid": {"S": "g1"}, "message": {"S": "hello"}})
    doc = json.loads(cli("ddb", "model", "export", "--format", "workbench", "--with-data", "5").stdout)
    (table,) = doc["DataModel"]
    assert len(table["TableData"]) == 2
    assert {"pk": {"S": "MSG#g1"}}.items() <= next(i for i in table["TableData"] if i["pk"]["S"].startswith("MSG#")).items()
    facets = {f["FacetName"]: f for f in table["TableFacets"]}
    assert "edits" in facets["Message"]["NonKeyAttributes"]  # what the items really carry, beside the declared
    assert "edits" not in facets["GroupRow"]["NonKeyAttributes"]
