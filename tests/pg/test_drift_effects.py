"""pg/drift.py's cheap check, without an engine: what each migration leaves behind, read from pglast's AST."""

from __future__ import annotations

from cruddur_ops.pg import drift
from cruddur_ops.pg.sqlparse import split_statements


def _mig(file: str, sql: str):
    section = type("Section", (), {"statements": split_statements(sql)})
    return type("Mig", (), {"file": file, "up": section})


def _alive(*sqls: str) -> dict[tuple[str, str], str]:
    return drift.expected_objects([_mig(f"{n}.sql", sql) for n, sql in enumerate(sqls, 1)])


def test_create_table_as_gives_the_table_and_the_columns_it_can_name():
    alive = _alive("CREATE TABLE app.recent AS SELECT u.handle, a.created_at AS at, count(*) AS n, now() "
                   "FROM users u JOIN activities a ON a.user_uuid = u.uuid GROUP BY 1, 2;\n"
                   "CREATE TABLE listed (h, c) AS SELECT handle, created_at, bio FROM users;\n"
                   "SELECT handle INTO TABLE handles FROM users;\n"
                   "CREATE TABLE everything AS SELECT * FROM users;")
    assert sorted(alive) == [
        ("column", "app.recent.at"), ("column", "app.recent.handle"), ("column", "app.recent.n"),
        ("column", "public.handles.handle"),
        ("column", "public.listed.bio"), ("column", "public.listed.c"), ("column", "public.listed.h"),
        ("table", "app.recent"), ("table", "public.everything"), ("table", "public.handles"),
        ("table", "public.listed")]


def test_materialized_view_is_a_view_and_its_index_goes_with_it():
    alive = _alive("CREATE MATERIALIZED VIEW IF NOT EXISTS stats AS SELECT count(*) AS n FROM users;\n"
                   "CREATE UNIQUE INDEX stats_n ON stats (n);\n"
                   "CREATE MATERIALIZED VIEW old_stats AS SELECT 1 AS one;\n"
                   "CREATE INDEX old_stats_one ON old_stats (one);",
                   "ALTER MATERIALIZED VIEW stats RENAME TO user_stats;\n"
                   "DROP MATERIALIZED VIEW old_stats;")
    assert alive == {("view", "public.user_stats"): "1.sql", ("index", "public.stats_n"): "1.sql"}


def test_renames_of_tables_and_columns_follow_every_spelling():
    alive = _alive('CREATE TABLE "Crew" (id int, "Full Name" text, bio text);\n'
                   'CREATE INDEX crew_bio ON "Crew" (bio);',
                   'ALTER TABLE public."Crew" RENAME COLUMN "Full Name" TO display_name;\n'
                   'ALTER TABLE IF EXISTS "Crew" RENAME bio TO about;\n'
                   'ALTER TABLE "Crew" RENAME TO crew;')
    assert alive == {("table", "public.crew"): "1.sql", ("column", "public.crew.id"): "1.sql",
                     ("column", "public.crew.display_name"): "1.sql", ("column", "public.crew.about"): "1.sql",
                     ("index", "public.crew_bio"): "1.sql"}
    # unquoted names fold to lower case, quoted ones keep theirs: "Crew" and crew are two tables
    assert ("table", "public.Crew") in _alive('CREATE TABLE "Crew" (id int);', "DROP TABLE crew;")


def test_alter_table_rename_to_renames_a_view_or_sequence_too():
    alive = _alive("CREATE VIEW v AS SELECT 1 AS one;\nCREATE SEQUENCE s;",
                   "ALTER TABLE v RENAME TO w;\nALTER TABLE s RENAME TO t;\nALTER VIEW w SET SCHEMA archive;")
    assert sorted(alive) == [("sequence", "public.t"), ("view", "archive.w")]


def test_several_subcommands_of_one_alter_table():
    alive = _alive("CREATE TABLE users (uuid uuid, handle text, legacy text);",
                   "ALTER TABLE ONLY users ADD COLUMN bio text, ADD COLUMN IF NOT EXISTS avatar text,\n"
                   "  DROP COLUMN legacy, ADD CONSTRAINT users_handle UNIQUE (handle), ADD birthday date;")
    assert sorted(alive) == [
        ("column", "public.users.avatar"), ("column", "public.users.bio"), ("column", "public.users.birthday"),
        ("column", "public.users.handle"), ("column", "public.users.uuid"), ("table", "public.users")]
    assert alive[("column", "public.users.bio")] == "2.sql"


def test_drops_of_several_objects_and_of_a_schema():
    alive = _alive("CREATE SCHEMA audit;\nCREATE TABLE audit.log (id int);\nCREATE SEQUENCE audit.ids;\n"
                   "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\n"
                   "CREATE INDEX c_id ON c (id);\nCREATE SEQUENCE seq;\nCREATE VIEW v AS SELECT 1 AS one;",
                   "DROP TABLE IF EXISTS a, public.b CASCADE;\nDROP SCHEMA audit CASCADE;\n"
                   "DROP INDEX CONCURRENTLY IF EXISTS public.c_id;\nDROP SEQUENCE seq;\nDROP VIEW v;")
    assert sorted(alive) == [("column", "public.c.id"), ("table", "public.c")]


def test_search_path_and_qualified_names():
    alive = _alive('SET search_path TO "$user", app, public;\nCREATE TABLE things (id int);\n'
                   "CREATE INDEX things_id ON things (id);\nCREATE TABLE public.kept (id int);\n"
                   "RESET search_path;\nCREATE TABLE plain (id int);")
    assert sorted(k for k in alive if k[0] != "column") == [
        ("index", "app.things_id"), ("table", "app.things"), ("table", "public.kept"), ("table", "public.plain")]


def test_do_blocks_functions_and_temporary_objects_are_not_expected():
    alive = _alive("DO $$ BEGIN EXECUTE 'CREATE TABLE hidden (id int)'; END $$;\n"
                   "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ CREATE TABLE inner_t (id int) $$;\n"
                   "CREATE TEMP TABLE scratch (id int);\nCREATE TEMPORARY VIEW tv AS SELECT 1;\n"
                   "CREATE INDEX ON users (handle);\n"
                   "-- CREATE TABLE commented_out (id int);\n"
                   "INSERT INTO users (handle) VALUES ('CREATE TABLE in_a_string (id int)');")
    assert alive == {}
