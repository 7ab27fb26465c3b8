"""`cruddur local demo`: the README's first command, from a fresh data dir, with and without PostgreSQL."""

import json

import pytest

from cruddur_ops.local import pgcluster
from cruddur_ops.local._proc import free_port
from tests.pg.fixtures import PASSWORD

pytestmark = pytest.mark.integration


def _demo(cli, *args):
    try:
        result = cli("local", "demo", "--output", "json", *args)
    finally:
        cli("local", "down")
    return result, json.loads(result.stdout)


def _assert_shape(doc):
    assert set(doc) == {"endpoint", "tables", "postgres", "postgres_error", "users_from", "seed", "user",
                        "conversations", "conversation"}
    assert doc["endpoint"].startswith("http://127.0.0.1:")
    assert [t["name"] for t in doc["tables"]] == ["cruddur-messages"]
    assert doc["seed"]["conversations"] > 0 and doc["seed"]["items_written"] > 0
    groups = doc["conversations"]
    assert groups["count"] == len(groups["items"]) > 0
    assert all(i["pk"] == f"GRP#{doc['user']['uuid']}" for i in groups["items"])
    assert groups["consumed_capacity"]["total"] > 0
    conversation = doc["conversation"]
    assert conversation["message_group_uuid"] == groups["items"][0]["message_group_uuid"]
    assert conversation["count"] == len(conversation["items"]) > 0
    assert all(i["pk"] == f"MSG#{conversation['message_group_uuid']}" for i in conversation["items"])
    assert conversation["consumed_capacity"]["total"] > 0


def test_demo_seeds_dynamodb_with_the_users_of_postgres(home, pg_env, cli):
    import psycopg

    result, doc = _demo(cli)
    _assert_shape(doc)
    assert doc["users_from"] == "db" and doc["postgres_error"] is None
    assert "DynamoDB Local keeps running" in result.stderr and "`cruddur local down` stops it" in result.stderr
    assert doc["postgres"]["kind"] == "server" and doc["postgres"]["source"] == "CONNECTION_URL"
    assert PASSWORD not in result.stdout + result.stderr and ":***@" in doc["postgres"]["url"]
    with psycopg.connect(pg_env) as conn:
        uuid = conn.execute("SELECT uuid::text FROM users WHERE handle = %s", [doc["user"]["handle"]]).fetchone()[0]
    assert doc["user"]["uuid"] == uuid


def test_demo_without_postgres_says_so_and_seeds_from_the_yaml_users(home, cli, monkeypatch):
    monkeypatch.setattr(pgcluster, "find_binaries", lambda env: None)
    monkeypatch.setenv("CONNECTION_URL", f"postgresql://postgres@127.0.0.1:{free_port(5750)}/cruddur")
    result, doc = _demo(cli)
    _assert_shape(doc)
    assert doc["users_from"] == "yaml" and doc["postgres"] is None
    assert "apt-get install -y postgresql" in doc["postgres_error"]
    assert "going on without PostgreSQL" in result.stderr
