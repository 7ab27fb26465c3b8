"""One masking routine for SQL text: db sessions and db schema dump never print a credential (issue 25)."""

from __future__ import annotations

import psycopg
import pytest

from cruddur_ops.pg.database import mask_sql
from cruddur_ops.pg.sessions import shown_query
from tests.pg.fixtures import new_db, url_for  # noqa: F401  (fixtures)

FORMS = [
    ("SELECT dblink_connect('host=127.0.0.1 password = ''Sp4ced1'' dbname=d')", "Sp4ced1"),
    ("SELECT dblink_connect('host=127.0.0.1 password=Pl4in2 dbname=d')", "Pl4in2"),
    ("ALTER ROLE app PASSWORD U&'Un1\\0063ode3'", "Un1"),
    ("ALTER ROLE app PASSWORD E'Esc4ped\\'4'", "Esc4ped"),
    ("ALTER ROLE app PASSWORD $q$Doll4r5$q$", "Doll4r5"),
    ("SELECT '{\"user\": \"u\", \"password\": \"Js0nSecret6\"}'::jsonb", "Js0nSecret6"),
    ("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u', password 'M4pping7')", "M4pping7"),
    ("SELECT 'postgresql://app:Ur1Secret8@127.0.0.1/x'", "Ur1Secret8"),
]


@pytest.mark.parametrize("query,secret", FORMS)
def test_every_spelling_of_a_password_is_masked_by_the_one_routine(query, secret):
    assert secret not in mask_sql(query) and "***" in mask_sql(query)
    assert secret not in (shown_query(query) or "")  # db sessions shows queries through it


def test_ordinary_sql_is_left_alone():
    query = "SELECT password_hash FROM users WHERE handle = 'ana'"
    assert mask_sql(query) == query


@pytest.mark.integration
def test_schema_dump_masks_user_mappings_and_connection_strings_unless_asked(cli, new_db):
    cli("db", "setup")
    with psycopg.connect(url_for(new_db), autocommit=True, connect_timeout=3) as conn:
        try:
            conn.execute("CREATE EXTENSION postgres_fdw")
        except psycopg.Error:
            pytest.skip("postgres_fdw (PostgreSQL's contrib) is not installed")
        conn.execute("CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1')")
        conn.execute("CREATE USER MAPPING FOR CURRENT_USER SERVER elsewhere OPTIONS (user 'u', password 'M4pSecret1')")
        conn.execute("CREATE FUNCTION peer() RETURNS text LANGUAGE sql AS "
                     "$f$ SELECT 'host=127.0.0.1 password = ''B0dySecret2'''::text $f$")
    masked = cli("db", "schema", "dump").stdout
    assert "CREATE USER MAPPING" in masked and "CREATE FUNCTION public.peer()" in masked
    assert "M4pSecret1" not in masked and "B0dySecret2" not in masked
    shown = cli("db", "schema", "dump", "--show-secrets").stdout
    assert "M4pSecret1" in shown and "B0dySecret2" in shown
