"""cruddur_ops.pg.schema: splitting statements, loading in one transaction, errors with file and line."""

from __future__ import annotations

import pytest

from cruddur_ops.errors import InputError
from cruddur_ops.pg import schema
from cruddur_ops.pg.schema import created_tables, split_statements

TRICKY = r'''-- a comment; with a semicolon
SELECT 'a;b';  SELECT E'it\'s;';
CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; /* outer /* nested; */ still; */
CREATE TABLE IF NOT EXISTS "My ""T""".x (a int);
CREATE UNLOGGED TABLE Public.Things (a int)
'''


def test_split_respects_quotes_dollar_quotes_and_comments():
    statements = split_statements(TRICKY)
    assert [s.text for s in statements] == [
        "SELECT 'a;b'",
        "SELECT E'it\\'s;'",
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
        'CREATE TABLE IF NOT EXISTS "My ""T""".x (a int)',
        "CREATE UNLOGGED TABLE Public.Things (a int)",
    ]
    assert [s.line for s in statements] == [2, 2, 3, 4, 5]


def test_created_tables_reads_quoted_and_folded_names():
    assert created_tables(split_statements(TRICKY)) == [('My "T"', "x"), ("public", "things")]


def test_statement_position_maps_to_a_file_line():
    (statement,) = split_statements("\n\nSELECT 1,\n  2,\n  nope")
    assert statement.line == 3
    assert statement.line_at(statement.text.index("nope") + 1) == 5


def test_the_shipped_schema_creates_users_then_activities(schema_sql):
    _, statements = schema.read(schema_sql)
    assert created_tables(statements) == [("public", "users"), ("public", "activities")]


def test_transaction_control_is_refused_with_its_line(tmp_path):
    path = tmp_path / "s.sql"
    path.write_text("CREATE TABLE a (x int);\n\nCOMMIT;\n")
    with pytest.raises(InputError, match=r"s\.sql:3: transaction control"):
        schema.read(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="nope.sql: schema file not found"):
        schema.read(tmp_path / "nope.sql")


# --- on the server ----------------------------------------------------------------------------------------
def _tables(conn) -> set[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()
    return {r[0] for r in rows}


def _columns(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", [table]
    ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.integration
def test_load_creates_the_apps_tables_then_keeps_them(pg_conn, schema_sql):
    first = schema.load(pg_conn, schema_sql)
    assert [(t["name"], t["action"]) for t in first["tables"]] == [("users", "created"), ("activities", "created")]
    assert _columns(pg_conn, "users") == ["uuid", "display_name", "handle", "email", "cognito_user_id", "created_at"]
    assert _columns(pg_conn, "activities") == [
        "uuid", "user_uuid", "message", "replies_count", "reposts_count", "likes_count",
        "reply_to_activity_uuid", "expires_at", "created_at"]
    pg_conn.execute("INSERT INTO users (display_name, handle, email) VALUES ('A', 'a', 'a@x')")
    second = schema.load(pg_conn, schema_sql)
    assert [t["action"] for t in second["tables"]] == ["kept", "kept"]
    assert pg_conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1  # nothing wiped


@pytest.mark.integration
def test_the_apps_own_sql_runs_on_the_schema(pg_conn, schema_sql):
    schema.load(pg_conn, schema_sql)
    # the app's sign-up lambda, CreateActivity and HomeActivities queries
    pg_conn.execute(
        "INSERT INTO public.users (display_name, email, handle, cognito_user_id) VALUES (%s, %s, %s, %s)",
        ["Andrew", "a@x.test", "andrew", "sub-1"])
    uuid = pg_conn.execute(
        """INSERT INTO public.activities (user_uuid, message, expires_at)
           VALUES ((SELECT uuid FROM public.users WHERE users.handle = %(handle)s LIMIT 1), %(message)s, %(expires_at)s)
           RETURNING uuid""", {"handle": "andrew", "message": "hello", "expires_at": None}).fetchone()[0]
    rows = pg_conn.execute(
        """SELECT activities.uuid, users.display_name, users.handle, activities.message, activities.replies_count,
                  activities.reposts_count, activities.likes_count, activities.reply_to_activity_uuid,
                  activities.expires_at, activities.created_at
           FROM public.activities LEFT JOIN public.users ON users.uuid = activities.user_uuid
           ORDER BY activities.created_at DESC""").fetchall()
    assert rows[0][0] == uuid and rows[0][2] == "andrew" and rows[0][4:7] == (0, 0, 0)
    pg_conn.execute("INSERT INTO public.activities (user_uuid, message, reply_to_activity_uuid) "
                    "SELECT user_uuid, 'a reply', uuid FROM public.activities")


@pytest.mark.integration
def test_reset_drops_and_recreates_with_the_rows_it_dropped(pg_conn, schema_sql):
    schema.load(pg_conn, schema_sql)
    pg_conn.execute("INSERT INTO users (display_name, handle) VALUES ('A', 'a'), ('B', 'b')")
    report = schema.load(pg_conn, schema_sql, reset=True)
    assert [(t["name"], t["action"], t["dropped_rows"]) for t in report["tables"]] == [
        ("users", "recreated", 2), ("activities", "recreated", 0)]
    assert pg_conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0


@pytest.mark.integration
def test_the_first_error_names_file_and_line_and_nothing_is_kept(pg_conn, tmp_path):
    path = tmp_path / "broken.sql"
    path.write_text(
        "CREATE TABLE good (id int);\n"
        "\n"
        "CREATE TABLE bad (\n"
        "  id int,\n"
        "  name txet\n"  # line 5: the server reports the position of the unknown type
        ");\n"
        "CREATE TABLE never (id int);\n"
    )
    with pytest.raises(InputError) as err:
        schema.load(pg_conn, path)
    assert str(err.value).startswith(f"{path}:5: type \"txet\" does not exist")
    assert "nothing was changed" in str(err.value)
    assert not {"good", "bad", "never"} & _tables(pg_conn)


@pytest.mark.integration
def test_an_error_without_position_names_the_statements_line(pg_conn, tmp_path):
    path = tmp_path / "dup.sql"
    path.write_text("CREATE TABLE one (id int);\n\n\nCREATE TABLE one (id int);\n")
    with pytest.raises(InputError, match=r"dup\.sql:4: relation \"one\" already exists"):
        schema.load(pg_conn, path)
    assert "one" not in _tables(pg_conn)
