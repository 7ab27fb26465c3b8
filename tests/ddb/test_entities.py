"""cruddur_ops/ddb/entities.py and mcp_format.py: Entities declared in schema files, checked when read."""

import json
from pathlib import Path

import pytest

from cruddur_ops.ddb import entities, mcp_format, schema
from cruddur_ops.errors import SchemaError
from tests.conftest import SCHEMA

HERE = Path(__file__).resolve().parent / "entities"
MCP = HERE / "schema.json"

TABLE = """\
TableName: shop
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {AttributeName: pk, AttributeType: S}
  - {AttributeName: sk, AttributeType: S}
  - {AttributeName: gpk, AttributeType: S}
KeySchema:
  - {AttributeName: pk, KeyType: HASH}
  - {AttributeName: sk, KeyType: RANGE}
GlobalSecondaryIndexes:
  - IndexName: by-status
    KeySchema: [{AttributeName: gpk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
    Projection: {ProjectionType: ALL}
Entities:
"""


def _read(tmp_path, entities_yaml: str):
    path = tmp_path / "shop.yaml"
    path.write_text(TABLE + entities_yaml)
    return schema.read([path]).tables[0]


GOOD = """\
  Customer:
    keys: {pk: "CUST#{customer_id}", sk: PROFILE}
    attributes:
      customer_id: {type: uuid, required: true}
      email: {type: email, required: true}
  Order:
    keys: {pk: "CUST#{customer_id}", sk: "ORDER#{placed_at}#{order_id}"}
    indexes:
      by-status: {gpk: "STATUS#{status}"}
    attributes:
      customer_id: {type: uuid, required: true}
      order_id: {type: uuid, required: true}
      placed_at: {type: timestamp, required: true}
      status: {type: enum, values: [open, paid], required: true}
      lines: {type: list, items: {type: map, members: {sku: string, qty: integer}}}
    generate: {parent: Customer, per_parent: [0, 4]}
"""


def test_entities_are_read_beside_the_patterns_and_stripped_from_create_table(tmp_path):
    spec = _read(tmp_path, GOOD)
    assert list(spec.entities) == ["Customer", "Order"]
    order = spec.entities["Order"]
    assert order.keys["sk"].render({"placed_at": "2026-01-02", "order_id": "o1"}) == "ORDER#2026-01-02#o1"
    assert order.keys["sk"].match("ORDER#2026-01-02#o1") == {"placed_at": "2026-01-02", "order_id": "o1"}
    # the index's sort key is the table's own: implied
    assert {a: t.text for a, t in order.indexes["by-status"].items()} == {"gpk": "STATUS#{status}", "sk": order.keys["sk"].text}
    assert order.attributes["lines"].items.members["qty"].type == "integer"
    assert order.parent == "Customer" and order.per_parent == (0, 4)
    assert "Entities" not in spec.request


@pytest.mark.parametrize("decl, line, where, message", [
    # an index key the entity never fills
    ("""\
  Order:
    keys: {pk: "O#{id}", sk: "X"}
    indexes:
      by-status: {sk: "X"}
    attributes: {id: string}
""", 18, "Entities.Order.indexes.by-status", "index by-status's key 'gpk' is never filled"),
    # a template field that is not an attribute
    ("""\
  Order:
    keys: {pk: "O#{order_id}", sk: "X"}
    attributes: {id: string}
""", 16, "Entities.Order.keys.pk", "template field 'order_id' of pk is not an attribute of Order"),
    # two entities whose keys cannot be told apart
    ("""\
  Order:
    keys: {pk: "O#{id}", sk: "{at}"}
    attributes: {id: string, at: timestamp}
  Refund:
    keys: {pk: "O#{id}", sk: "R#{at}"}
    attributes: {id: string, at: timestamp}
""", 18, "Entities.Refund", "entities 'Order' and 'Refund' cannot be told apart by their keys"),
    ("""\
  Order:
    keys: {pk: "O#{id}", sk: "X"}
    attributes: {id: {type: strng}}
""", 17, "Entities.Order.attributes.id.type", "type must be one of"),
    ("""\
  Order:
    keys: {pk: "O#{id}", sk: "X", gpk: "Y"}
    attributes: {id: string}
""", 16, "Entities.Order.keys.gpk", "'gpk' is not a key of table shop"),
    ("""\
  Order:
    keys: {pk: "O#{id}", sk: "X"}
    attributes: {id: string}
    generate: {parent: Nobody}
""", 18, "Entities.Order.generate.parent", "parent 'Nobody' is not an entity of table shop"),
])
def test_bad_entities_name_file_line_and_field(tmp_path, decl, line, where, message):
    with pytest.raises(SchemaError) as exc:
        _read(tmp_path, decl)
    text = str(exc.value)
    assert text.startswith(f"{tmp_path / 'shop.yaml'}:{line}: {where}: "), text
    assert message in text


def test_a_pattern_may_name_its_entity_and_an_unknown_one_is_an_error(tmp_path):
    spec = _read(tmp_path, GOOD + """\
AccessPatterns:
  orders-of:
    key: {pk: "CUST#{customer_id}"}
    sort: {begins_with: "ORDER#"}
    entity: Order
""")
    assert spec.patterns["orders-of"].entity == "Order"
    with pytest.raises(SchemaError, match=r"shop.yaml:\d+: AccessPatterns.orders-of.entity: .*unknown entity 'Ordr'"):
        _read(tmp_path, GOOD + "AccessPatterns:\n  orders-of:\n    key: {pk: \"CUST#{customer_id}\"}\n    entity: Ordr\n")


def test_the_shipped_schema_declares_the_apps_items():
    (spec,) = schema.read([SCHEMA]).tables
    assert set(spec.entities) == {"GroupRow", "Message"}
    group = spec.entities["GroupRow"]
    assert group.keys["pk"].text == "GRP#{owner_uuid}"
    assert set(group.indexes) == {"message-group-sk-index"}  # by its message_group_uuid attribute
    assert spec.entities["Message"].indexes == {}  # messages carry no message_group_uuid
    assert spec.patterns["list-conversations"].entity == "GroupRow"


def test_an_aws_mcp_schema_is_read_as_tables_entities_and_patterns():
    specs = {s.name: s for s in schema.read([MCP]).tables}
    assert set(specs) == {"lending-library", "fleet-telemetry"}
    library = specs["lending-library"]
    assert [g["IndexName"] for g in library.request["GlobalSecondaryIndexes"]] == ["loans-by-status", "books-by-author"]
    assert library.ttl == {"AttributeName": "expires_at", "Enabled": True}
    assert set(library.entities) == {"Member", "Loan", "Book"}
    assert library.entities["Loan"].indexes["loans-by-status"]["status_pk"].text == "STATUS#{status}"
    due = library.patterns["loans-due-before"]
    assert (due.index, due.sort_op, due.sort_templates, due.entity) == ("loans-by-status", "<", ("{before}",), "Loan")
    assert library.patterns["member-profile"].sort_op == "="
    assert "enrol-member" not in library.patterns  # a PutItem is not a read
    fleet = specs["fleet-telemetry"]
    assert fleet.patterns["readings-since"].sort_templates == ("AT#{since}",)  # the template's prefix, then the value


def test_bad_mcp_schema_names_file_line_and_field(tmp_path):
    doc = json.loads(MCP.read_text())
    doc["tables"][0]["entities"]["Book"]["gsi_mappings"][0]["pk_template"] = "AUTHOR#{writer}"
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(SchemaError) as exc:
        schema.read([path])
    text = str(exc.value)
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if "AUTHOR#{writer}" in row)
    assert text.startswith(f"{path}:{line}: tables[0].entities.Book.gsi_mappings[0].pk_template: ")
    assert "template field 'writer'" in text


def test_the_model_round_trips_through_the_mcp_format(tmp_path):
    specs = schema.read([MCP]).tables
    doc = mcp_format.export(specs)
    path = tmp_path / "again.json"
    path.write_text(json.dumps(doc))
    again = {s.name: s for s in schema.read([path]).tables}
    for spec in specs:
        assert again[spec.name].request == spec.request
        assert {n: e.to_dict()["keys"] for n, e in again[spec.name].entities.items()} == \
            {n: e.to_dict()["keys"] for n, e in spec.entities.items()}


def test_templates_tell_overlaps_apart():
    T = entities.Template
    assert T("USER#{id}").overlaps(T("USER#{id}#X"))
    assert not T("USER#{id}").overlaps(T("ORDER#{id}"))
    assert not T("PROFILE").overlaps(T("LOAN#{id}"))
    assert T("{anything}").overlaps(T("LOAN#{id}"))


def test_model_export_writes_the_apps_entities_in_the_mcp_format(cli, tmp_path):
    out = tmp_path / "schema.json"
    result = cli("ddb", "model", "export", "--format", "entities", "--schema", SCHEMA, "--out", out)
    assert "1 table(s) (cruddur-messages)" in " ".join(result.stderr.split())
    (table,) = json.loads(out.read_text())["tables"]
    assert table["table_config"] == {"table_name": "cruddur-messages", "partition_key": "pk", "sort_key": "sk",
                                     "gsi_list": [{"name": "message-group-sk-index", "partition_key": "message_group_uuid",
                                                   "sort_key": "sk"}]}
    message = table["entities"]["Message"]
    assert (message["pk_template"], message["sk_template"]) == ("MSG#{message_group_uuid}", "{created_at}")
    assert "gsi_mappings" not in message
    assert {f["name"]: f["type"] for f in message["fields"]}["message_uuid"] == "uuid"
    assert [p["name"] for p in message["access_patterns"]] == ["get-conversation", "messages-since"]
    since = message["access_patterns"][1]
    assert since["range_condition"] == ">=" and [p["name"] for p in since["parameters"]] == ["message_group_uuid", "since"]
    assert [s.name for s in schema.read([out]).tables] == ["cruddur-messages"]  # and it reads back


def test_an_mcp_schema_in_the_projects_schemas_folder_is_read_beside_the_yaml(tmp_path, monkeypatch):
    from cruddur_ops import defaults

    folder = tmp_path / "tables"
    folder.mkdir()
    (tmp_path / "cruddur.toml").write_text('schemas = "tables"\n')
    (folder / "app.yaml").write_text(SCHEMA.read_text())
    (folder / "library.json").write_text(MCP.read_text())
    (folder / "notes.json").write_text('{"not": "a schema"}')
    monkeypatch.chdir(tmp_path)
    defaults._cached_project.cache_clear()
    try:
        files = defaults.schema_files()
    finally:
        defaults._cached_project.cache_clear()
    assert [f.name for f in files] == ["app.yaml", "library.json"]
    assert [s.name for s in schema.read(files).tables] == ["cruddur-messages", "lending-library", "fleet-telemetry"]
