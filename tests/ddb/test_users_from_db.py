"""DynamoDB with the users from PostgreSQL: seed --users-from db and list-conversations --handle."""

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def db_users(pg_env, seed_file, cli):
    cli("db", "setup", seed_file, "--yes")
    import psycopg

    with psycopg.connect(pg_env) as conn:
        return {h: str(u) for h, u in conn.execute("SELECT handle, uuid FROM users").fetchall()}


def test_seed_takes_uuids_from_postgres_by_default(messages_table, db_users, seed_file, cli):
    doc = cli.json("ddb", "seed", seed_file)
    assert doc["users_from"] == "db" and doc["items_written"] == 4
    rows = cli.json("ddb", "pattern", "list-conversations", "--handle", "ada")
    assert rows["parameters"] == {"user_uuid": db_users["ada"]}
    assert [(r["user_handle"], r["user_uuid"]) for r in rows["items"]] == [("bo", db_users["bo"])]


def test_a_handle_missing_from_postgres_writes_nothing(messages_table, db_users, pg_env, seed_file, cli):
    import psycopg

    with psycopg.connect(pg_env, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE handle = 'bo'")
    result = cli("ddb", "seed", seed_file, ok=False)
    assert result.exit_code == 3 and "unknown handle 'bo'" in result.stderr
    assert messages_table.scan(TableName="cruddur-messages")["Count"] == 0


def test_an_unknown_handle_is_a_clear_error(messages_table, db_users, cli):
    result = cli("ddb", "pattern", "list-conversations", "--handle", "nobody", ok=False)
    assert result.exit_code == 4 and "no user with handle 'nobody'" in result.stderr
    assert "Pa55-w0rd" not in result.stderr


def test_yaml_users_can_still_be_chosen(messages_table, db_users, seed_file, cli):
    assert cli.json("ddb", "seed", seed_file, "--users-from", "yaml")["users_from"] == "yaml"
