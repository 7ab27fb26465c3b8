"""pg/lint.py and `cruddur db migrate lint`: planted dangerous changes are found at their lines, safe ones pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cruddur_ops import defaults
from cruddur_ops.errors import InputError
from cruddur_ops.pg import lint

CREATE_TEAMS = """\
-- migrate:up
CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL, owner uuid NOT NULL);
CREATE INDEX teams_name_idx ON teams (name);
ALTER TABLE teams ADD CONSTRAINT teams_owner_fk FOREIGN KEY (owner) REFERENCES users (uuid);

-- migrate:down
DROP TABLE teams;
"""

DANGEROUS = """\
-- migrate:up
ALTER TABLE users ADD COLUMN age int NOT NULL;
CREATE INDEX users_email_idx ON users (email);
ALTER TABLE activities ADD CONSTRAINT fk_user
  FOREIGN KEY (user_uuid) REFERENCES users (uuid);
ALTER TABLE activities ADD CONSTRAINT short CHECK (length(message) < 1000);
ALTER TABLE activities ALTER COLUMN message TYPE varchar(100);
ALTER TABLE users DROP COLUMN bio;
DROP TABLE old_things;
ALTER TABLE users RENAME COLUMN handle TO username;
ALTER TABLE activities RENAME TO posts;
CREATE INDEX CONCURRENTLY users_handle_idx ON users (handle);
"""

SAFE_INDEX = """\
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;
"""

SAFE_COLUMNS = """\
-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0, ADD COLUMN serial_no bigserial NOT NULL;
ALTER TABLE activities ADD CONSTRAINT fk2 FOREIGN KEY (user_uuid) REFERENCES users (uuid) NOT VALID;
ALTER TABLE activities VALIDATE CONSTRAINT fk2;

-- migrate:down
ALTER TABLE activities DROP CONSTRAINT fk2;
ALTER TABLE users DROP COLUMN score, DROP COLUMN serial_no;
"""

WAIVED = """\
-- migrate:up
-- cruddur:allow drop-column, missing-down  (legacy was unused since release 12)
SET statement_timeout = '5s';
ALTER TABLE users DROP COLUMN legacy;
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in [("20260101000000_create_teams.sql", CREATE_TEAMS), ("20260102000000_dangerous.sql", DANGEROUS),
                       ("20260103000000_safe_index.sql", SAFE_INDEX), ("20260104000000_safe_columns.sql", SAFE_COLUMNS),
                       ("20260105000000_waived.sql", WAIVED)]:
        (folder / name).write_text(text)
    return folder


def _found(result) -> dict[str, list[tuple[int, str, str]]]:
    out: dict[str, list] = {}
    for f in result.findings:
        out.setdefault(Path(f.file).name, []).append((f.line, f.rule, f.level))
    return out


def test_the_planted_changes_are_found_at_their_lines_and_the_safe_ones_pass(folder):
    result = lint.lint([folder])
    assert _found(result) == {"20260102000000_dangerous.sql": [
        (1, "missing-down", "warning"),
        (2, "missing-lock-timeout", "warning"),
        (2, "not-null-without-default", "error"),
        (3, "index-not-concurrent", "error"),
        (4, "constraint-not-valid", "error"),  # the statement's first line
        (6, "constraint-not-valid", "error"),
        (7, "column-type-rewrite", "error"),
        (8, "drop-column", "error"),
        (9, "drop-table", "error"),
        (10, "rename-column", "error"),
        (11, "rename-table", "error"),
        (12, "concurrently-in-transaction", "error"),
    ]}
    assert result.waived == 2 and result.errors == 10


def test_a_waiver_names_its_rule_and_an_unknown_name_is_reported(tmp_path):
    path = tmp_path / "20260101000000_x.sql"
    path.write_text("-- migrate:up\n-- cruddur:allow drop-colum\nALTER TABLE users DROP COLUMN legacy;\n"
                    "-- migrate:down\n")
    findings, waived = lint.lint_file(path)
    assert [(f.line, f.rule) for f in findings] == [(2, "unknown-waiver"), (3, "drop-column"), (3, "missing-lock-timeout")]
    assert waived == 0
    findings, waived = lint.lint_file(path, frozenset({"drop-column", "missing-lock-timeout"}))
    assert [f.rule for f in findings] == ["unknown-waiver"] and waived == 2


def test_a_cheap_type_change_is_a_warning_only():
    path = Path("20260101000000_x.sql")
    finding = next(f for f in _lint_text(path, "-- migrate:up\nSET lock_timeout = 1000;\n"
                                          "ALTER TABLE users ALTER COLUMN email TYPE text;\n-- migrate:down\n")
                   if f.rule == "column-type-rewrite")
    assert finding.level == "warning" and "unless the old type is varchar" in finding.message


def _lint_text(name: Path, text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_text(text)
        return lint.lint_file(path)[0]


def test_an_unreadable_migration_is_a_finding_with_its_line_not_a_crash(tmp_path):
    path = tmp_path / "20260101000000_x.sql"
    path.write_text("-- migrate:up\nCREATE TABLE a (id int);\nCOMMIT;\n-- migrate:down\nDROP TABLE a;\n")
    (finding,) = lint.lint_file(path)[0]
    assert (finding.line, finding.rule, finding.level) == (3, "invalid-migration", "error")
    assert finding.message.startswith("transaction control (COMMIT)")


def test_the_shipped_index_migration_is_flagged(tmp_path):
    result = lint.lint([defaults.shipped_dir("migrations")])
    assert ("20230420090000_reply_to_activity_uuid_as_uuid.sql", 20, "index-not-concurrent") in {
        (Path(f.file).name, f.line, f.rule) for f in result.findings}


def test_an_unknown_allow_is_an_input_error(folder):
    with pytest.raises(InputError, match="--allow nope: no such rule"):
        lint.lint([folder], frozenset({"nope"}))


def test_cli_json_shape_and_exit_codes(cli, folder):
    bad = cli("db", "migrate", "lint", folder, "-o", "json", ok=False)
    assert bad.exit_code == 1
    doc = json.loads(bad.stdout)
    assert list(doc) == ["findings"] and len(doc["findings"]) == 12
    assert {tuple(sorted(f)) for f in doc["findings"]} == {("file", "fix", "level", "line", "message", "rule")}
    assert "10 error(s), 2 warning(s), 2 waived" in bad.stderr

    good = cli("db", "migrate", "lint", folder / "20260103000000_safe_index.sql", folder / "20260104000000_safe_columns.sql",
               "-o", "json")
    assert json.loads(good.stdout) == {"findings": []}

    warned = cli("db", "migrate", "lint", folder, "--allow", "not-null-without-default", "--allow", "index-not-concurrent",
                 "-o", "json", ok=False)
    assert warned.exit_code == 1 and len(json.loads(warned.stdout)["findings"]) == 10


def test_constraints_added_with_a_column_or_building_an_index_are_found(tmp_path):
    path = tmp_path / "20260101000000_x.sql"
    path.write_text("-- migrate:up\nSET lock_timeout = '2s';\n"
                    "ALTER TABLE activities ADD COLUMN parent uuid REFERENCES activities (uuid);\n"
                    "ALTER TABLE users ADD CONSTRAINT users_handle_key UNIQUE (handle);\n"
                    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;\n"
                    "ALTER TABLE users ALTER COLUMN email TYPE text USING lower(email);\n"
                    "-- migrate:down\n")
    findings, _ = lint.lint_file(path)
    assert [(f.line, f.rule, f.level) for f in findings] == [
        (3, "constraint-not-valid", "error"), (4, "index-not-concurrent", "error"), (6, "column-type-rewrite", "error")]


def test_concurrently_beside_other_statements_warns_for_dbmate(tmp_path):
    path = tmp_path / "20260101000000_x.sql"
    path.write_text("-- migrate:up transaction:false\nSET lock_timeout = '2s';\n"
                    "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
                    "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY users_email_idx;\n")
    (finding,) = lint.lint_file(path)[0]
    assert (finding.line, finding.rule, finding.level) == (3, "concurrently-in-transaction", "warning")
    assert "dbmate sends the section as one string" in finding.message
