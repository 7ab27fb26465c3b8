"""cruddur_ops.pg.database: masking, the production rule, conninfo building, connecting, psql."""

from __future__ import annotations

import pytest

from cruddur_ops.errors import CruddurError, EngineError, InputError, ProdGuardError
from cruddur_ops.pg.database import DEFAULT_URL, Database, mask_sql, mask_text, mask_url, psql_command
from cruddur_ops.settings import Settings
from tests.pg.fixtures import url_for

SECRET = "s3cr3t-Pw"


@pytest.mark.parametrize("url, masked", [
    (f"postgresql://app:{SECRET}@db.prod.invalid:5432/cruddur", "postgresql://app:***@db.prod.invalid:5432/cruddur"),
    (f"postgres://app:{SECRET}@127.0.0.1/cruddur?sslmode=require", "postgresql://app:***@127.0.0.1/cruddur?sslmode=require"),
    (f"postgresql://app@h.invalid/db?password={SECRET}&sslmode=disable", "postgresql://app:***@h.invalid/db?sslmode=disable"),
    (f"postgresql://app:p%40ss{SECRET}@[::1]:5433/db", "postgresql://app:***@[::1]:5433/db"),
    (f"host=h.invalid user=app password={SECRET} dbname=db", "user=app password=*** dbname=db host=h.invalid"),
])
def test_mask_url_hides_the_password_and_keeps_the_rest(url, masked):
    assert mask_url(url) == masked


def test_mask_url_leaves_a_url_without_password_as_written():
    assert mask_url(DEFAULT_URL) == DEFAULT_URL
    assert mask_url("postgres://u@h.invalid/db") == "postgres://u@h.invalid/db"


@pytest.mark.parametrize("text", [
    f"cannot connect to postgresql://app:{SECRET}@h.invalid/db: refused",
    f"url 'postgresql://app:{SECRET}@h.invalid/db'.",
    f"(postgresql://app:{SECRET}@h.invalid/db?bogus=1)",  # libpq cannot parse it: masked by shape
    f"postgresql://app:se/{SECRET}@h.invalid/db",  # unencoded '/' in the password
    f"postgresql://app:a@{SECRET}@h.invalid/db",  # unencoded '@' in the password
    f"conninfo host=h.invalid password={SECRET} dbname=x",
    f"conninfo host=h.invalid password='{SECRET} with space' dbname=x",
    f"PGPASSWORD={SECRET} psql",
])
def test_mask_text_never_lets_the_password_through(text):
    masked = mask_text(text)
    assert SECRET not in masked
    assert "***" in masked


def test_mask_text_keeps_the_surrounding_text(monkeypatch):
    from cruddur_ops.pg import database

    monkeypatch.setattr(database, "_SECRETS", set())  # passwords other tests' connections remembered ("secret"…)
    assert mask_text(f"at postgresql://u:{SECRET}@h.invalid/db, retrying") == "at postgresql://u:***@h.invalid/db, retrying"
    assert mask_text("nothing secret here") == "nothing secret here"


def test_the_maintenance_database_is_swapped_by_the_parser_not_by_text():
    # the old bin/db ran sed on the URL and stripped every "/cruddur", the host's included
    db = Database.from_url(f"postgresql://cruddur:{SECRET}@cruddur.db.invalid:6543/cruddur?sslmode=require")
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(db.conninfo(db.maintenance_name))
    assert params["dbname"] == "postgres"
    assert params["host"] == "cruddur.db.invalid" and params["port"] == "6543" and params["user"] == "cruddur"
    assert params["sslmode"] == "require" and params["password"] == SECRET
    assert params["connect_timeout"] == "3"
    assert db.describe("postgres") == "postgresql://cruddur:***@cruddur.db.invalid:6543/postgres?sslmode=require"


def test_a_timeout_in_the_url_wins():
    from psycopg.conninfo import conninfo_to_dict

    assert conninfo_to_dict(Database.from_url("postgresql://h.invalid/db?connect_timeout=9").conninfo())["connect_timeout"] == "9"


def test_the_maintenance_database_of_postgres_is_template1():
    assert Database.from_url("postgresql://h.invalid/postgres").maintenance_name == "template1"


@pytest.mark.parametrize("url, local", [
    ("postgresql://postgres@127.0.0.1/db", True),
    ("postgresql://postgres@localhost/db", True),
    ("postgresql://postgres@[::1]/db", True),
    ("postgresql:///db", True),  # local socket
    ("postgresql:///db?host=/var/run/postgresql", True),
    ("postgresql://u@10.0.0.5/db", False),
    ("postgresql://u@cruddur.abc.rds.invalid/db", False),
    ("postgresql://u@localhost,db.prod.invalid/db", False),
])
def test_only_loopback_and_sockets_are_local(url, local):
    assert Database.from_url(url).is_local is local


def test_writing_to_a_remote_database_needs_prod_and_the_message_hides_the_password():
    db = Database.from_url(f"postgresql://u:{SECRET}@db.prod.invalid/cruddur")
    with pytest.raises(ProdGuardError) as err:
        db.guard_write(prod=False, action="drop database cruddur")
    assert "--prod" in str(err.value) and "db.prod.invalid" in str(err.value) and SECRET not in str(err.value)
    db.guard_write(prod=True, action="drop database cruddur")


def test_settings_pick_the_url():
    assert Database.from_settings(Settings.from_env({})).url == DEFAULT_URL
    assert Database.from_settings(Settings.from_env({})).source == "default"
    env = {"DATABASE_URL": "postgresql://a@h.invalid/one", "PROD_CONNECTION_URL": "postgresql://b@h.invalid/two"}
    assert Database.from_settings(Settings.from_env(env)).name == "one"
    assert Database.from_settings(Settings.from_env({**env, "CONNECTION_URL": "postgresql://c@h.invalid/three"})).source == "CONNECTION_URL"
    prod = Database.from_settings(Settings.from_env(env, prod=True))
    assert (prod.name, prod.source) == ("two", "PROD_CONNECTION_URL")
    with pytest.raises(CruddurError, match="PROD_CONNECTION_URL"):
        Database.from_settings(Settings.from_env({"CONNECTION_URL": "postgresql://h.invalid/db"}, prod=True))


def test_an_unparseable_url_is_an_input_error_without_the_password():
    with pytest.raises(InputError) as err:
        Database.from_url(f"postgresql://u:{SECRET}@h.invalid/db?bogus=1")
    assert SECRET not in str(err.value) and "bogus" in str(err.value)


def test_a_url_without_database_name_cannot_be_created():
    with pytest.raises(InputError, match="names no database"):
        Database.from_url("postgresql://u@h.invalid").require_name()


def test_psql_gets_the_password_through_the_environment(tmp_path):
    fake = tmp_path / "psql"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    db = Database.from_url(f"postgresql://u:{SECRET}@127.0.0.1:5432/cruddur")
    argv, env = psql_command(db, ["-c", "select 1"], {"PATH": str(tmp_path)})
    assert argv[0] == str(fake) and argv[-2:] == ["-c", "select 1"]
    assert not any(SECRET in a for a in argv)
    assert env["PGPASSWORD"] == SECRET
    assert "dbname=cruddur" in argv[2]


def test_psql_missing_is_a_clear_error(tmp_path):
    with pytest.raises(EngineError, match="psql not found"):
        psql_command(Database.from_url(DEFAULT_URL), [], {"PATH": str(tmp_path)})


@pytest.mark.integration
def test_a_refused_connection_names_the_masked_url_and_a_hint():
    db = Database.from_url(f"postgresql://postgres:{SECRET}@127.0.0.1:1/cruddur")
    with pytest.raises(EngineError) as err:
        db.connect()
    text = str(err.value)
    assert SECRET not in text and "postgresql://postgres:***@127.0.0.1:1/cruddur" in text
    assert "is PostgreSQL running" in text


@pytest.mark.integration
def test_a_missing_database_suggests_creating_it(scratch_db):
    db = Database.from_url(url_for(f"{scratch_db}_missing"))
    with pytest.raises(EngineError, match="cruddur db create"):
        db.connect()


@pytest.mark.integration
def test_connections_identify_themselves(pg_url):
    with Database.from_url(pg_url).connect() as conn:
        assert conn.execute("SHOW application_name").fetchone()[0] == "cruddur"


# --- parse errors name the field and position, never the text ----------------------------------------------------
@pytest.mark.parametrize("url, secrets, message", [
    ("postgresql://u:Hunter2pw%ZZ@127.0.0.1/db", ["Hunter2pw"],
     "cannot parse CONNECTION_URL: malformed percent-encoding in the password (character 25): '%' must be "
     "followed by two hex digits; write a literal '%' as %25"),
    ("postgresql://u@127.0.0.1/db?password=Hunter2pw%Z1", ["Hunter2pw"],
     "cannot parse CONNECTION_URL: malformed percent-encoding in the password parameter (character 47): '%' must "
     "be followed by two hex digits; write a literal '%' as %25"),
    ("host=127.0.0.1 password=two words", ["two", "words"],
     "cannot parse CONNECTION_URL: character 29: a word without '=' after the value of password; a value with "
     "spaces must be quoted: password='…'"),
    ("host=127.0.0.1 password=Hunter2pw words=x", ["Hunter2pw", "words"],
     "cannot parse CONNECTION_URL: character 35: an unknown option name after the value of password"),
    ("host=127.0.0.1 password='Hunter2pw dbname=x", ["Hunter2pw"],
     "cannot parse CONNECTION_URL: character 25: the quoted value of password is not closed with '"),
    ("postgresql://u:Hunter2pw@x@127.0.0.1/db", ["Hunter2pw"],
     "cannot parse CONNECTION_URL: an '@' where libpq does not expect one; in the user or password write '@' as "
     "%40, '/' as %2F, '?' as %3F and '#' as %23"),
    ("postgresql://u:Hunter2pw/x@127.0.0.1/db", ["Hunter2pw"],
     "cannot parse CONNECTION_URL: an '@' where libpq does not expect one; in the user or password write '@' as "
     "%40, '/' as %2F, '?' as %3F and '#' as %23"),
    ("postgresql://u:Hunter2pw@127.0.0.1/db?Hunter2pw=1", [],
     "cannot parse CONNECTION_URL: unknown query parameter 'Hunter2pw'"),  # a name the user wrote there
    ("postgresql://u@127.0.0.1/db?password=Hunter2&pw", ["Hunter2", "pw"],
     "cannot parse CONNECTION_URL: an unknown query parameter after the password parameter (write '&' in a "
     "password as %26)"),
])
def test_a_parse_error_names_the_field_and_position_never_the_text(url, secrets, message):
    with pytest.raises(InputError) as caught:
        Database.from_url(url, "CONNECTION_URL")
    assert str(caught.value) == message
    assert not any(secret in str(caught.value) for secret in secrets)


def test_an_unparseable_keyword_dsn_is_masked_to_its_end():
    assert mask_url("host=h.invalid password=two words") == "host=h.invalid password=***"


@pytest.mark.parametrize("query, shown", [
    ("ALTER ROLE mira PASSWORD 'Hunter2 pw'", "ALTER ROLE mira PASSWORD '***'"),
    ("alter role x with encrypted password 'it''s Hunter2'", "alter role x with encrypted password '***'"),
    ("CREATE ROLE x LOGIN PASSWORD $$Hunter2$$ VALID UNTIL 'infinity'",
     "CREATE ROLE x LOGIN PASSWORD '***' VALID UNTIL 'infinity'"),
    ("CREATE ROLE x PASSWORD $pw$Hunter2$pw$", "CREATE ROLE x PASSWORD '***'"),
    ("ALTER ROLE x PASSWORD E'Hun\\'ter2'", "ALTER ROLE x PASSWORD '***'"),
    ("ALTER ROLE x PASSWORD 'Hunter2 cut short by track_activity_query_s", "ALTER ROLE x PASSWORD '***'"),
    ("SELECT dblink_connect('host=h.invalid password=Hunter2 dbname=d')", "SELECT dblink_connect('host=h.invalid password=*** dbname=d')"),
    ("SELECT 'mysql://app:Hunter2@h.invalid/x', 'postgresql://app:Hunter2@h.invalid/db'", "SELECT 'mysql://app:***@h.invalid/x', 'postgresql://app:***@h.invalid/db'"),
    ("SELECT password_hash FROM accounts", "SELECT password_hash FROM accounts"),
])
def test_mask_sql_hides_password_literals(query, shown):
    assert mask_sql(query) == shown
