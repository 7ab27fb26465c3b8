"""pg/appmigrations.py: the app's Python migrations, read without running them, beside dbmate files, and agreement
with the app's own ``bin/db/migrate`` (a stand-in written here from its description) in both directions."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import psycopg
import pytest

from cruddur_ops.errors import InputError
from cruddur_ops.pg import appmigrations, migrate
from cruddur_ops.pg.database import Database
from tests.pg.fixtures import new_db, url_for  # noqa: F401  (fixtures)

USERS = """\
-- migrate:up
CREATE TABLE public.users (uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), handle text NOT NULL);

-- migrate:down
DROP TABLE public.users;
"""

# the app's style: a class with static methods returning SQL; module-level code that cruddur must never run
ADD_BIO = '''\
from pathlib import Path
import os

Path(os.environ.get("APP_MIGRATION_MARKER", "/dev/null")).write_text("imported")


class AddBioColumnMigration:
    @staticmethod
    def migrate_sql():
        data = """
        ALTER TABLE public.users ADD COLUMN bio text;
        """
        return data

    @staticmethod
    def rollback_sql():
        """Undo it."""
        return "ALTER TABLE public.users DROP COLUMN bio;"

    def migrate():
        from lib.db import db  # the app's own module: never imported by cruddur
        db.query_commit(AddBioColumnMigration.migrate_sql(), {})


migration = AddBioColumnMigration
'''

HANDLE_INDEX = """\
-- migrate:up
CREATE INDEX users_handle_idx ON public.users (handle);

-- migrate:down
DROP INDEX public.users_handle_idx;
"""

LOCATION = '''\
class AddLocationMigration:
    @staticmethod
    def migrate_sql():
        return "ALTER TABLE public.users ADD COLUMN location text;"

    @staticmethod
    def rollback_sql():
        return "ALTER TABLE public.users DROP COLUMN location;"


migration = AddLocationMigration
'''

BIO_FILE = "1681123578345345_add_bio_column.py"  # 2023-04-10, between the two dbmate files
LOCATION_FILE = "1690000000123456_add_location.py"  # 2023-07-22, after both


def app_migrate_script(url: str, folder: Path) -> list[str]:
    """The app's ``bin/db/migrate`` as the bootcamp wrote it (with its later fix): read ``last_successful_run``,
    import and run every file whose leading digits are a greater number, store those digits."""
    ran = []
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        last = int(conn.execute("SELECT last_successful_run FROM public.schema_information LIMIT 1").fetchone()[0])
        for path in sorted(folder.glob("*.py")):
            file_time = int(path.name.split("_", 1)[0])
            if last < file_time:
                spec = importlib.util.spec_from_file_location(path.stem, path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                conn.execute(module.migration.migrate_sql())
                last = file_time
                conn.execute("UPDATE public.schema_information SET last_successful_run = %s WHERE id = 1", [str(last)])
                ran.append(path.name)
    return ran


def test_an_app_file_is_read_without_running_it(tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    monkeypatch.setenv("APP_MIGRATION_MARKER", str(marker))
    path = tmp_path / BIO_FILE
    path.write_text(ADD_BIO)
    mig = appmigrations.parse(path)
    assert (mig.kind, mig.version, mig.name) == ("app", "1681123578345345", "add_bio_column")
    assert [(s.text, s.line) for s in mig.up.statements] == [("ALTER TABLE public.users ADD COLUMN bio text", 11)]
    assert [s.text for s in mig.down.statements] == ["ALTER TABLE public.users DROP COLUMN bio"]
    assert not marker.exists()


@pytest.mark.parametrize("body, message", [
    ("class M:\n    def migrate_sql():\n        return build()\n", ":3: migrate_sql: must return a string literal"),
    ("class M:\n    @classmethod\n    def migrate_sql(cls):\n        return 'SELECT 1'\n", ":2: migrate_sql: only @staticmethod"),
    ("class M:\n    def migrate_sql():\n        x = 'a'\n        print(x)\n        return x\n", ":4: migrate_sql"),
    ("def migrate_sql():\n    return 'x'\n", "no class with a migrate_sql() method"),
    ("class M:\n    def migrate_sql(:\n", ":2: not valid Python"),
    ("class M:\n    def migrate_sql():\n        return 'BEGIN; SELECT 1; COMMIT;'\n", ":3: migrate_sql: transaction control"),
])
def test_files_that_are_not_plain_string_returns_are_refused(tmp_path, body, message):
    path = tmp_path / "1681123578345345_bad.py"
    path.write_text(body)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        appmigrations.parse(path)
    assert str(path) in str(err.value)


def test_timestamps_of_every_form_sort_together():
    versions = ["20230501000000", "1681123578345345", "20230101000000", "1690000000", "002"]
    assert sorted(versions, key=appmigrations.order_key) == [
        "002", "20230101000000", "1681123578345345", "20230501000000", "1690000000"]
    assert appmigrations.not_after("1681123578345345", "1681123600")
    assert not appmigrations.not_after("1681123578345345", "0")


@pytest.fixture
def db(new_db):
    from cruddur_ops.pg import admin

    database = Database.from_url(url_for(new_db))
    admin.create_database(database)
    return database


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20230101000000_users.sql").write_text(USERS)
    (folder / BIO_FILE).write_text(ADD_BIO)
    (folder / "20230501000000_handle_index.sql").write_text(HANDLE_INDEX)
    return folder


def _columns(db) -> list[str]:
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        return [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'users' ORDER BY column_name")]


def _last(db) -> str:
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        return conn.execute("SELECT last_successful_run FROM schema_information WHERE id = 1").fetchone()[0]


@pytest.mark.integration
def test_cruddur_and_the_apps_script_agree_both_ways(db, folder, tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    monkeypatch.setenv("APP_MIGRATION_MARKER", str(marker))
    done = migrate.up(db, folder)
    assert [(r.version, r.name) for r in done.done] == [
        ("20230101000000", "users"), ("1681123578345345", "add_bio_column"), ("20230501000000", "handle_index")]
    assert not marker.exists()  # parsed, never imported
    assert _columns(db) == ["bio", "handle", "uuid"]
    assert _last(db) == "1681123578345345"
    assert app_migrate_script(db.url, folder) == []  # cruddur → app: nothing left for the app's script

    # the app's script applies a newer file of its own; cruddur sees it applied and applies nothing twice
    (folder / LOCATION_FILE).write_text(LOCATION)
    assert app_migrate_script(db.url, folder) == [LOCATION_FILE]
    states = {r.version: r.state for r in migrate.status(db, folder).migrations}
    assert states["1690000000123456"] == "applied"
    assert migrate.up(db, folder).done == []
    assert _columns(db) == ["bio", "handle", "location", "uuid"]

    # reverting goes newest first across both kinds; last_successful_run follows
    back = migrate.down(db, folder, steps=3)
    assert [r.version for r in back.done] == ["1690000000123456", "20230501000000", "1681123578345345"]
    assert _last(db) == "0" and _columns(db) == ["handle", "uuid"]
    states = {r.version: r.state for r in migrate.status(db, folder).migrations}
    assert states == {"20230101000000": "applied", "1681123578345345": "pending", "20230501000000": "pending",
                      "1690000000123456": "pending"}
    # … and the app's script now runs both of its files again, which cruddur then counts as applied
    assert app_migrate_script(db.url, folder) == [BIO_FILE, LOCATION_FILE]
    assert [r.version for r in migrate.up(db, folder).done] == ["20230501000000"]

    # the script's first version stored the time it ran (epoch seconds): every file before then is applied
    migrate.down(db, folder, steps=2)
    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN location text")
        conn.execute("UPDATE schema_information SET last_successful_run = %s", [str(int(time.time()))])
    states = {r.version: r.state for r in migrate.status(db, folder).migrations}
    assert states["1681123578345345"] == states["1690000000123456"] == "applied"


@pytest.mark.integration
def test_an_app_migration_whose_column_is_gone_is_broken(db, folder):
    from cruddur_ops.pg import drift

    migrate.up(db, folder)
    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("ALTER TABLE users DROP COLUMN bio")
    rows = migrate.status(db, folder).migrations
    broken = drift.check_status(db, folder, {r.version: r.state for r in rows})
    assert [(b.file, b.objects) for b in broken] == [(BIO_FILE, ["column public.users.bio"])]
    drift.reapply(db, folder, "1681123578345345")
    assert "bio" in _columns(db)


@pytest.mark.integration
def test_forget_makes_the_app_migrations_pending_too(db, folder):
    migrate.up(db, folder)
    assert migrate.forget(db) == 2  # the two dbmate versions
    assert _last(db) == "0"
    assert {r.state for r in migrate.status(db, folder).migrations} == {"pending"}


@pytest.mark.integration
def test_verify_and_diff_run_the_app_files_with_the_dbmate_ones(db, folder):
    import os

    from cruddur_ops.pg import drift, scratch, verify

    env = {"PATH": os.environ.get("PATH", "")}
    result = verify.verify(db, folder, env, base=None)
    assert [(r.name, r.down, r.up_again) for r in result.migrations] == [
        ("users", "restores", "repeatable"), ("add_bio_column", "restores", "repeatable"),
        ("handle_index", "restores", "repeatable")]
    migrate.up(db, folder)
    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("ALTER TABLE users DROP COLUMN bio")
    differences = drift.schema_diff(db, folder, env, base=None).differences
    assert [(d.kind, d.object, d.migration) for d in differences] == [
        ("missing_column", "column public.users.bio", BIO_FILE)]
    assert scratch.leftovers(db) == []
