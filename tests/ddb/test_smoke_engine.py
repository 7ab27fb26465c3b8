import pytest

pytestmark = pytest.mark.integration


def test_seed_then_list_conversations(messages_table, cli, tmp_path):
    from tests.conftest import SEED

    doc = cli.json("ddb", "seed", SEED)
    assert doc["items_written"] == doc["messages"] + doc["group_rows"]
    again = cli.json("ddb", "seed", SEED)
    assert again["items_written"] == doc["items_written"]
    scan = cli.json("ddb", "scan")
    assert scan["count"] == doc["items_written"]
