from tests.pg.fixtures import (  # noqa: F401  (fixtures)
    new_db, pg_conn, pg_env, pg_url, schema_sql, scratch_db, seed_file,
)
