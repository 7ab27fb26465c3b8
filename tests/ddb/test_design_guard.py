"""Writes only into the design they were made for: seed, patterns A–D, stream process and pattern run check the
target table's keys and index before the first write or query (DynamoDB Local)."""

import pytest

OTHER = """\
TableName: other-design
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {AttributeName: id, AttributeType: S}
KeySchema:
  - {AttributeName: id, KeyType: HASH}
"""

NO_GSI = """\
TableName: no-gsi
BillingMode: PAY_PER_REQUEST
AttributeDefinitions:
  - {AttributeName: pk, AttributeType: S}
  - {AttributeName: sk, AttributeType: S}
KeySchema:
  - {AttributeName: pk, KeyType: HASH}
  - {AttributeName: sk, KeyType: RANGE}
StreamSpecification: {StreamEnabled: true, StreamViewType: NEW_IMAGE}
"""


@pytest.fixture
def tables(ddb, cli, tmp_path):
    for name, text in (("other.yaml", OTHER), ("nogsi.yaml", NO_GSI)):
        (tmp_path / name).write_text(text)
        cli("ddb", "schema-load", tmp_path / name)
    return ddb


def _count(ddb, table):
    return ddb.scan(TableName=table, Select="COUNT")["Count"]


@pytest.mark.parametrize("table,missing", [
    ("other-design", "missing keys pk/sk (the table has id), index message-group-sk-index (message_group_uuid/sk)"),
    ("no-gsi", "missing index message-group-sk-index (message_group_uuid/sk)"),
])
def test_seed_refuses_a_table_of_another_design_and_writes_nothing(tables, cli, table, missing):
    result = cli("ddb", "seed", "-t", table, ok=False)
    assert result.exit_code == 5
    assert f"{table} is not of the design ddb seed needs: {missing}; nothing was written" in " ".join(result.stderr.split())
    assert _count(tables, table) == 0


def test_patterns_and_stream_refuse_another_design(tables, cli):
    c = cli("ddb", "pattern", "create-message-group", "--handle", "mira", "--other-handle", "tobi", "--message", "hi",
            "-t", "no-gsi", "--users-from", "yaml", ok=False)
    d = cli("ddb", "pattern", "create-message", "--group", "5ae290ed-55d1-47a0-bc6d-fe2bc2700399", "--handle", "mira",
            "--message", "hi", "-t", "no-gsi", "--users-from", "yaml", ok=False)
    a = cli("ddb", "pattern", "get-conversation", "--group", "g", "-t", "other-design", ok=False)
    stream = cli("ddb", "stream", "process", "-t", "no-gsi", ok=False)
    for result in (c, d, a, stream):
        assert result.exit_code == 5 and "nothing was written" in result.stderr, result.stderr
    assert _count(tables, "no-gsi") == 0
    run = cli("ddb", "pattern", "run", "messages-since", "-p", "message_group_uuid=g", "-p", "since=2024",
              "-t", "other-design", ok=False)
    assert run.exit_code == 5 and "missing keys pk/sk (the table has id)" in " ".join(run.stderr.split())
