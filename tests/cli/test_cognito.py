"""`cruddur cognito …` on moto_server (Cognito) and the real PostgreSQL server (users)."""

from __future__ import annotations

import json

import pytest

from tests.aws.fixtures import make_pool, sub_of
from tests.pg.fixtures import PASSWORD

FILLERS = [{"username": f"filler{i:02d}", "preferred_username": f"filler{i:02d}"} for i in range(62)]


def test_list_users_prints_every_page(cli, aws):
    client = aws("cognito-idp")
    pool = make_pool(client, FILLERS + [{"username": "nameless"}])
    doc = cli.json("cognito", "list-users", "--pool-id", pool)
    assert set(doc) == {"pool_id", "count", "users"} and doc["pool_id"] == pool and doc["count"] == 63
    nameless = next(u for u in doc["users"] if u["username"] == "nameless")
    assert nameless["preferred_username"] is None and nameless["sub"] == sub_of(client, pool, "nameless")


def test_list_users_takes_the_pool_from_the_environment(cli, aws, aws_env):
    pool = make_pool(aws("cognito-idp"), [{"username": "ada", "preferred_username": "ada"}])
    aws_env.setenv("AWS_COGNITO_USER_POOL_ID", pool)
    table = cli("cognito", "list-users", "-o", "table")
    assert f"Users of {pool}" in table.stdout and "ada" in table.stdout and "1 user(s)" in table.stdout


def test_an_empty_pool_says_so_and_exits_0(cli, aws):
    pool = make_pool(aws("cognito-idp"), [])
    result = cli("cognito", "list-users", "--pool-id", pool, "-o", "json")
    assert json.loads(result.stdout)["count"] == 0 and f"no users: user pool {pool} is empty" in result.stderr


def test_subs_stay_whole_in_a_100_column_table(cli, aws, aws_env):
    client = aws("cognito-idp")
    people = [{"username": f"9f{i}c1e2a-7b3d-4e5f-8a9b-0c1d2e3f4a5b", "preferred_username": f"reader{i}",
               "email": f"reader{i}@cruddur.test"} for i in range(3)]
    pool = make_pool(client, people)
    aws_env.setenv("COLUMNS", "100")
    text = cli("cognito", "list-users", "--pool-id", pool, "-o", "table").stdout
    lines = text.splitlines()
    for person in people:
        sub = sub_of(client, pool, person["username"])
        assert any(sub in line for line in lines) and any(person["username"] in line for line in lines), text
    assert all(len(line.rstrip()) <= 100 for line in lines)


def test_no_pool_is_a_clear_error(cli, moto_env):
    result = cli("cognito", "list-users", ok=False)
    assert result.exit_code == 1 and "pass --pool-id or set AWS_COGNITO_USER_POOL_ID" in result.stderr


def test_a_missing_pool_is_a_clear_error(cli, moto_env):
    result = cli("cognito", "list-users", "--pool-id", "us-east-1_missing", ok=False)
    assert result.exit_code == 4 and "no Cognito user pool 'us-east-1_missing'" in result.stderr
    assert "ddb schema-load" not in result.stderr


@pytest.mark.integration
def test_update_user_ids_matches_across_pages_and_reports_the_rest(cli, aws, pg_env, pg_conn, seed_file):
    cli("db", "schema-load")
    cli("db", "seed", seed_file)  # users ada, bo, cy
    client = aws("cognito-idp")
    # ada's account is the 63rd: it is only on ListUsers' second page
    pool = make_pool(client, FILLERS + [{"username": "ada-account", "preferred_username": "ada", "confirmed": True},
                                        {"username": "bo-without-name"}])
    ada_sub = sub_of(client, pool, "ada-account")

    dry = cli("cognito", "update-user-ids", "--pool-id", pool, "--dry-run", "-o", "json")
    plan = json.loads(dry.stdout)
    assert set(plan) == {"pool_id", "database", "dry_run", "relink", "rows_changed", "unlinked", "updates", "relinks",
                         "already_right", "not_linkable", "conflicts", "unmatched_cognito_users",
                         "users_without_cognito", "without_preferred_username"}
    assert plan["dry_run"] is True and plan["rows_changed"] == 0
    assert [(u["handle"], u["cognito_user_id"], u["previous"]) for u in plan["updates"]] == [("ada", ada_sub, "MOCK")]
    assert pg_conn.execute("SELECT cognito_user_id FROM users WHERE handle = 'ada'").fetchone()[0] == "MOCK"

    applied = cli("cognito", "update-user-ids", "--pool-id", pool, "-o", "json")
    doc = json.loads(applied.stdout)
    assert doc["rows_changed"] == 1 and [u["handle"] for u in doc["updates"]] == ["ada"]
    assert [u["handle"] for u in doc["users_without_cognito"]] == ["bo", "cy"]
    assert [u["username"] for u in doc["without_preferred_username"]] == ["bo-without-name"]
    assert len(doc["unmatched_cognito_users"]) == len(FILLERS)
    assert "bo-without-name has no preferred_username" in applied.stderr
    assert PASSWORD not in applied.stdout + applied.stderr
    assert pg_conn.execute("SELECT cognito_user_id FROM users WHERE handle = 'ada'").fetchone()[0] == ada_sub

    again = cli.json("cognito", "update-user-ids", "--pool-id", pool)
    assert again["updates"] == [] and [u["handle"] for u in again["already_right"]] == ["ada"] and again["rows_changed"] == 0


@pytest.mark.integration
def test_update_user_ids_on_a_remote_database_needs_prod(cli, aws, aws_env):
    pool = make_pool(aws("cognito-idp"), [{"username": "ada", "preferred_username": "ada"}])
    aws_env.setenv("CONNECTION_URL", f"postgresql://app:{PASSWORD}@db.prod.invalid/cruddur")
    result = cli("cognito", "update-user-ids", "--pool-id", pool, ok=False)
    assert result.exit_code == 6 and "pass --prod" in result.stderr and PASSWORD not in result.stderr


def _link(pg_conn, handle: str) -> str | None:
    return pg_conn.execute("SELECT cognito_user_id FROM users WHERE handle = %s", [handle]).fetchone()[0]


@pytest.mark.integration
def test_a_disabled_unconfirmed_account_never_takes_over_an_existing_link(cli, aws, pg_env, pg_conn, seed_file):
    """The review's case: ada's account renamed its preferred_username, a disabled, unconfirmed one took 'ada'."""
    cli("db", "schema-load")
    cli("db", "seed", seed_file)
    client = aws("cognito-idp")
    pool = make_pool(client, [{"username": "ada-account", "preferred_username": "ada-renamed", "confirmed": True},
                              {"username": "intruder", "preferred_username": "ada", "enabled": False}])
    ada_sub = sub_of(client, pool, "ada-account")
    pg_conn.execute("UPDATE users SET cognito_user_id = %s WHERE handle = 'ada'", [ada_sub])

    for extra in ([], ["--relink", "--yes"]):
        result = cli("cognito", "update-user-ids", "--pool-id", pool, *extra, "-o", "json")
        doc = json.loads(result.stdout)
        assert doc["rows_changed"] == 0 and doc["updates"] == doc["relinks"] == []
        assert [(r["handle"], r["username"]) for r in doc["not_linkable"]] == [("ada", "intruder")]
        assert "Cognito user intruder is disabled; not linked" in result.stderr
        assert _link(pg_conn, "ada") == ada_sub


@pytest.mark.integration
def test_an_existing_link_moves_only_with_relink_and_a_confirmation_listing_it(cli, aws, pg_env, pg_conn, seed_file):
    cli("db", "schema-load")
    cli("db", "seed", seed_file)
    client = aws("cognito-idp")
    pool = make_pool(client, [{"username": "ada-new", "preferred_username": "ada", "confirmed": True},
                              {"username": "bo-account", "preferred_username": "bo", "confirmed": True}])
    ada_sub, bo_sub = sub_of(client, pool, "ada-new"), sub_of(client, pool, "bo-account")
    pg_conn.execute("UPDATE users SET cognito_user_id = 'old-ada-sub' WHERE handle = 'ada'")

    plain = cli("cognito", "update-user-ids", "--pool-id", pool, "-o", "json")
    doc = json.loads(plain.stdout)
    assert doc["rows_changed"] == 1 and [u["handle"] for u in doc["updates"]] == ["bo"]  # an empty link is filled
    assert [(r["handle"], r["previous"], r["cognito_user_id"]) for r in doc["relinks"]] == [("ada", "old-ada-sub", ada_sub)]
    assert "left alone (pass --relink to move them): ada" in plain.stderr
    assert _link(pg_conn, "ada") == "old-ada-sub" and _link(pg_conn, "bo") == bo_sub

    refused = cli("cognito", "update-user-ids", "--pool-id", pool, "--relink", ok=False)  # no terminal, no --yes
    assert refused.exit_code == 7 and "refusing to relink 1 user(s) without confirmation" in refused.stderr
    assert "ada: old-ada-sub -> " + ada_sub + " (Cognito user ada-new)" in refused.stderr
    assert _link(pg_conn, "ada") == "old-ada-sub"

    moved = cli("cognito", "update-user-ids", "--pool-id", pool, "--relink", "--yes", "-o", "json")
    assert json.loads(moved.stdout)["rows_changed"] == 1
    assert "ada: old-ada-sub -> " + ada_sub in moved.stderr
    assert _link(pg_conn, "ada") == ada_sub


@pytest.mark.integration
def test_two_accounts_claiming_one_handle_is_a_conflict_and_nothing_is_written(cli, aws, pg_env, pg_conn, seed_file):
    cli("db", "schema-load")
    cli("db", "seed", seed_file)
    client = aws("cognito-idp")
    pool = make_pool(client, [{"username": "ada-1", "preferred_username": "ada", "confirmed": True},
                              {"username": "ada-2", "preferred_username": "ada"},
                              {"username": "bo-account", "preferred_username": "bo", "confirmed": True}])
    result = cli("cognito", "update-user-ids", "--pool-id", pool, "-o", "json", ok=False)
    assert result.exit_code == 5 and "1 conflict(s) (ada); nothing written" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["rows_changed"] == 0
    assert [(c["handle"], [u["username"] for u in c["cognito_users"]]) for c in doc["conflicts"]] == [
        ("ada", ["ada-1", "ada-2"])]
    assert _link(pg_conn, "ada") == "MOCK" and _link(pg_conn, "bo") == "MOCK"  # bo's clean match waits too


APP_SHAPED_SCHEMA = """\
-- shaped like the app's own schema.sql: cognito_user_id is NOT NULL
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE IF NOT EXISTS public.users (
  uuid UUID DEFAULT uuid_generate_v4() PRIMARY KEY,
  display_name text NOT NULL,
  handle text NOT NULL,
  email text NOT NULL,
  cognito_user_id text NOT NULL,
  created_at TIMESTAMP default current_timestamp NOT NULL
);
CREATE TABLE IF NOT EXISTS public.activities (
  uuid UUID DEFAULT uuid_generate_v4() PRIMARY KEY,
  user_uuid UUID NOT NULL,
  message text NOT NULL,
  replies_count integer DEFAULT 0,
  reposts_count integer DEFAULT 0,
  likes_count integer DEFAULT 0,
  reply_to_activity_uuid integer,
  expires_at TIMESTAMP,
  created_at TIMESTAMP default current_timestamp NOT NULL
);
"""


@pytest.mark.integration
def test_users_without_an_account_hold_mock_and_admin_created_users_link(cli, aws, pg_env, pg_conn, seed_file, tmp_path):
    schema = tmp_path / "app_schema.sql"
    schema.write_text(APP_SHAPED_SCHEMA)
    cli("db", "schema-load", schema)
    seeded = cli.json("db", "seed", seed_file)  # the column is NOT NULL: a NULL id would fail the insert
    assert seeded["users"]["inserted"] == 3
    assert {h: _link(pg_conn, h) for h in ("ada", "bo", "cy")} == {"ada": "MOCK", "bo": "MOCK", "cy": "MOCK"}

    client = aws("cognito-idp")
    pool = make_pool(client, [{"username": "ada-admin-made", "preferred_username": "ada"},  # FORCE_CHANGE_PASSWORD
                              {"username": "bo-disabled", "preferred_username": "bo", "confirmed": True,
                               "enabled": False}])
    ada_sub = sub_of(client, pool, "ada-admin-made")
    result = cli("cognito", "update-user-ids", "--pool-id", pool, "-o", "json", ok=False)
    assert result.exit_code == 5
    assert "1 user(s) asked for stay unlinked: bo (Cognito user bo-disabled is disabled)" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["rows_changed"] == 1 and [(u["handle"], u["previous"]) for u in doc["updates"]] == [("ada", "MOCK")]
    assert [(u["handle"], u["cognito_user_id"]) for u in doc["unlinked"]] == [("bo", "MOCK")]
    assert _link(pg_conn, "ada") == ada_sub and _link(pg_conn, "bo") == "MOCK"

    asked = cli("cognito", "update-user-ids", "--pool-id", pool, "--handle", "cy", "-o", "json", ok=False)
    assert asked.exit_code == 5 and "cy (no Cognito user has preferred_username 'cy')" in asked.stderr
    assert cli.json("cognito", "update-user-ids", "--pool-id", pool, "--handle", "ada")["unlinked"] == []


@pytest.mark.integration
def test_the_project_file_names_the_placeholder(cli, pg_env, pg_conn, seed_file, tmp_path, monkeypatch):
    (tmp_path / "cruddur.toml").write_text('cognito_placeholder = "NO-ACCOUNT"\n')
    monkeypatch.chdir(tmp_path)
    cli("db", "schema-load")
    cli("db", "seed", seed_file)
    assert _link(pg_conn, "ada") == "NO-ACCOUNT"


@pytest.mark.integration
def test_unconfirmed_self_sign_ups_stay_unlinked_and_reset_required_users_link(cli, aws, pg_env, pg_conn, seed_file):
    cli("db", "schema-load")
    cli("db", "seed", seed_file)  # ada, bo, cy hold MOCK
    client = aws("cognito-idp")
    pool = make_pool(client, [{"username": "ada-account", "preferred_username": "ada", "confirmed": True}])
    app_client = client.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    client.sign_up(ClientId=app_client, Username="cy-signup", Password="Xy7!long-enough",
                   UserAttributes=[{"Name": "preferred_username", "Value": "cy"},
                                   {"Name": "email", "Value": "cy@cruddur.test"}])
    client.admin_update_user_attributes(UserPoolId=pool, Username="ada-account",
                                        UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    client.admin_reset_user_password(UserPoolId=pool, Username="ada-account")
    assert client.admin_get_user(UserPoolId=pool, Username="ada-account")["UserStatus"] == "RESET_REQUIRED"
    assert client.admin_get_user(UserPoolId=pool, Username="cy-signup")["UserStatus"] == "UNCONFIRMED"

    result = cli("cognito", "update-user-ids", "--pool-id", pool, "-o", "json", ok=False)
    assert result.exit_code == 5
    assert "cy (Cognito user cy-signup is an unconfirmed self sign-up)" in result.stderr
    doc = json.loads(result.stdout)
    assert [u["handle"] for u in doc["updates"]] == ["ada"] and doc["rows_changed"] == 1
    assert _link(pg_conn, "ada") == sub_of(client, pool, "ada-account") and _link(pg_conn, "cy") == "MOCK"


@pytest.mark.integration
def test_db_setup_works_with_the_apps_not_null_schema(cli, new_db, seed_file, tmp_path):
    import psycopg

    from tests.pg.fixtures import url_for

    schema = tmp_path / "app_schema.sql"
    schema.write_text(APP_SHAPED_SCHEMA)
    doc = cli.json("db", "setup", seed_file, "--schema", schema)
    assert doc["seed"]["users"]["inserted"] == 3
    with psycopg.connect(url_for(new_db)) as conn:
        rows = conn.execute("SELECT handle, cognito_user_id FROM users ORDER BY handle").fetchall()
    assert rows == [("ada", "MOCK"), ("bo", "MOCK"), ("cy", "MOCK")]
