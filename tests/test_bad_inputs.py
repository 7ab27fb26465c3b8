"""The bad input corpus: every file in ``tests/bad_inputs/`` fails with exactly the error ``expected.yaml`` names
(file, line, field, reason), exit code 1, one line on stderr, no traceback, and nothing written.

``seed_*`` files go to ``cruddur ddb seed`` (into an existing, empty ``cruddur-messages``), ``schema_*`` files to
``cruddur ddb schema-load`` (the list of tables must stay as it was). ``*.in`` files are templates the test
expands (a 500 KB message is not worth checking in).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cruddur_ops.cli.app import app
from cruddur_ops.settings import Settings
from tests.conftest import SCHEMA, no_result

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
TEMPLATES = {"seed_500kb_message.yaml": lambda text: text.replace("{big}", "x" * 512_000)}


def corpus_file(name: str, tmp_path: Path) -> Path:
    if name in TEMPLATES:
        path = tmp_path / name
        path.write_text(TEMPLATES[name]((CORPUS / f"{name}.in").read_text(encoding="utf-8")), encoding="utf-8")
        return path
    return CORPUS / name


def test_the_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.iterdir() if p.name.startswith(("seed_", "schema_"))}
    on_disk = {n.removesuffix(".in") for n in on_disk}
    assert on_disk == set(EXPECTED), "every bad input needs its expected error, and every expectation its file"
    assert len(EXPECTED) >= 15
    assert {n.split("_")[0] for n in EXPECTED} == {"seed", "schema"}


@pytest.fixture(scope="module")
def engine(ddb_local):
    """The session's DynamoDB Local with an empty ``cruddur-messages``, made once for the whole corpus."""
    from cruddur_ops.ddb import schema

    env = {"AWS_ENDPOINT_URL_DYNAMODB": ddb_local, "AWS_REGION": "us-east-1"}
    client = Settings.from_env(env=env).dynamodb()
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)
    schema.load(client, schema.read([SCHEMA]).tables)
    return client


def item_count(client) -> int:
    return sum(p["Count"] for p in client.get_paginator("scan").paginate(TableName="cruddur-messages", Select="COUNT"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_fails_with_its_exact_error_and_writes_nothing(name, engine, ddb_env, tmp_path):
    expected = EXPECTED[name]
    path = corpus_file(name, tmp_path)
    files = [CORPUS / before for before in expected.get("before", [])] + [path]
    if name.startswith("seed_"):
        args = ["ddb", "seed", *map(str, files), "--users-from", "yaml"]
    else:
        args = ["ddb", "schema-load", *map(str, files)]
    tables, items = engine.list_tables()["TableNames"], item_count(engine)

    result = CliRunner().invoke(app, args)

    where = f"{path}:{expected['line']}" if expected.get("line") else f"{path}"
    message = expected["message"].replace("{dir}", str(CORPUS))
    assert result.exit_code == 3, result.output
    assert no_result(result.stdout)
    assert result.stderr == f"Error: {where}: {message}\n"
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert engine.list_tables()["TableNames"] == tables  # schema-load created nothing
    assert item_count(engine) == items == 0  # seed wrote nothing
