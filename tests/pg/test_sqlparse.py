"""pg/sqlparse.py: a linear splitter with the server's grammar; what would commit inside a migration is refused
before anything runs, with file and line (issue 25)."""

from __future__ import annotations

import time

import psycopg
import pytest

from cruddur_ops.errors import InputError
from cruddur_ops.pg import migrate
from cruddur_ops.pg.sqlparse import Statement, execute, split_statements


def _migration(tmp_path, up: str, header: str = "-- migrate:up"):
    path = tmp_path / "20260101000000_x.sql"
    path.write_text(f"{header}\n{up}\n-- migrate:down\n")
    return path


def test_an_8_mb_migration_splits_in_seconds(tmp_path):
    rows = "\n".join(f"INSERT INTO t (a, b) VALUES ({i}, 'café; -- not a comment $$ {i}');" for i in range(110_000))
    path = _migration(tmp_path, "CREATE TABLE t (a int, b text);\n" + rows)
    assert path.stat().st_size > 8_000_000
    started = time.perf_counter()
    mig = migrate.parse(path)
    elapsed = time.perf_counter() - started
    assert len(mig.up.statements) == 110_001
    last = mig.up.statements[-1]
    assert last.line == 110_002 and last.text.startswith("INSERT INTO t (a, b) VALUES (109999, 'café;")
    assert elapsed < 20, f"{elapsed:.1f} s"  # ~2 s here; the old splitter took 114 s


def test_lines_skip_comments_and_a_syntax_error_names_its_line(tmp_path):
    statements = split_statements("-- one\n/* two; */\nSELECT 1;\n\n  SELECT\n 2 -- end")
    assert [(s.line, s.text) for s in statements] == [(3, "SELECT 1"), (5, "SELECT\n 2 -- end")]
    with pytest.raises(InputError, match=r"m\.sql:3: syntax error at or near \"SELEC\""):
        split_statements("SELECT 1;\n\nSELEC 2;", path="m.sql")


@pytest.mark.parametrize("up, line, message", [
    ("CREATE TABLE a (id int);\nCOMMIT;", 3, "transaction control (COMMIT)"),
    ("CREATE TABLE a (id int);\n  /* x */ ROLLBACK;", 3, "transaction control (ROLLBACK)"),
    ("START TRANSACTION;", 2, "transaction control (START)"),
    ("CREATE TABLE a (id int);\nSAVEPOINT s;", 3, "transaction control (SAVEPOINT)"),
    # the trial's attack: with the setting off, '\'' ends the string early and the COMMIT in it runs
    ("SET standard_conforming_strings = off;\nSELECT 'a\\''; COMMIT; SELECT ''';", 2, "standard_conforming_strings may not be changed"),
    ("SELECT set_config('standard_conforming_strings', 'off', false);", 2, "standard_conforming_strings may not be changed"),
])
def test_what_would_commit_or_change_the_reading_is_refused_with_its_line(tmp_path, up, line, message):
    path = _migration(tmp_path, up)
    with pytest.raises(InputError) as err:
        migrate.parse(path)
    assert str(err.value).startswith(f"{path}:{line}: {message}")


def test_transaction_control_is_allowed_where_the_section_runs_without_one(tmp_path):
    path = _migration(tmp_path, "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;", header="-- migrate:up transaction:false")
    assert [s.keyword for s in migrate.parse(path).up.statements] == ["BEGIN", "CREATE", "COMMIT"]


def test_words_that_look_like_transaction_control_are_not(tmp_path):
    path = _migration(tmp_path, "CREATE TABLE ends (begin_at int, commit text);\nPREPARE q AS SELECT 1;\n"
                                "SELECT 'COMMIT';")
    assert len(migrate.parse(path).up.statements) == 3


@pytest.mark.integration
def test_a_text_the_server_reads_as_two_statements_is_refused(pg_conn):
    with pg_conn.cursor() as cur, pytest.raises(psycopg.errors.SyntaxError, match="multiple commands"):
        execute(cur, Statement("SELECT 1; COMMIT", 0, 1))
    pg_conn.rollback()


@pytest.mark.integration
def test_migrations_read_strings_as_the_splitter_did_when_the_database_defaults_off(new_db, tmp_path):
    from cruddur_ops.pg import admin
    from cruddur_ops.pg.database import Database
    from tests.pg.fixtures import url_for

    db = Database.from_url(url_for(new_db))
    admin.create_database(db)
    with psycopg.connect(url_for(new_db), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {new_db} SET standard_conforming_strings = off")
    folder = tmp_path / "m"
    folder.mkdir()
    # read with the setting on (as split): one string holding a backslash and the word COMMIT
    (folder / "20260101000000_x.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (v text);\nINSERT INTO t VALUES ('a\\'); INSERT INTO t VALUES ('; COMMIT; --');\n"
        "SELECT 1/0;\n-- migrate:down\nDROP TABLE t;\n")
    with pytest.raises(InputError, match=r"_x\.sql:4: division by zero.*rolled back"):
        migrate.up(db, folder)
    with psycopg.connect(url_for(new_db)) as conn:
        assert conn.execute("SELECT to_regclass('t') IS NULL").fetchone()[0]  # nothing of it was kept


def test_a_parse_error_is_one_line():
    with pytest.raises(InputError) as err:
        split_statements("SELECT 1;\nSELECT 'unterminated;\n" + "SELECT 1;\n" * 50, path="m.sql")
    assert "\n" not in str(err.value) and str(err.value).startswith("m.sql:2: unterminated quoted string")
    assert len(str(err.value)) < 250
