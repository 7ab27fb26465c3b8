"""cruddur_ops/ddb/validate.py and generate.py on DynamoDB Local: a design no one here wrote (an AWS MCP
schema.json with two tables and three GSIs) loads, is filled with 10,000 generated items that validate, and
planted bad items are each reported with their key."""

import json
import time
from pathlib import Path

from cruddur_ops.ddb import schema, validate
from tests.conftest import SCHEMA

MCP = Path(__file__).resolve().parent / "entities" / "schema.json"


def test_a_foreign_design_loads_generates_validates_and_reports_planted_items(ddb, cli):
    loaded = cli.json("ddb", "schema-load", MCP)
    assert {t["name"]: t["status"] for t in loaded["tables"]} == {"lending-library": "created", "fleet-telemetry": "created"}
    assert {t["name"]: sorted(t["indexes"]) for t in loaded["tables"]} == {
        "lending-library": ["books-by-author", "loans-by-status"], "fleet-telemetry": ["devices-by-site"]}
    assert ddb.describe_time_to_live(TableName="lending-library")["TimeToLiveDescription"]["AttributeName"] == "expires_at"

    lib = cli.json("ddb", "generate", "lending-library", "--count", "6000", "--seed", "7", "--schema", MCP)
    fleet = cli.json("ddb", "generate", "fleet-telemetry", "--count", "4000", "--seed", "7", "--schema", MCP)
    assert lib["items_written"] + fleet["items_written"] == 10_000
    assert set(lib["by_entity"]) == {"Member", "Loan", "Book"} and set(fleet["by_entity"]) == {"Device", "Reading"}

    report = cli.json("ddb", "validate", "lending-library", "--schema", MCP)
    assert report["problems"] == []
    assert report["items_checked"] == 6000 and report["by_entity"] == lib["by_entity"]
    assert set(report) == {"table", "items_checked", "by_entity", "problems"}
    report = cli.json("ddb", "validate", "fleet-telemetry", "--schema", MCP)
    assert (report["items_checked"], report["problems"]) == (4000, [])

    # planted: a wrong sort-key template, a missing required attribute, a number where a string belongs,
    # a TTL in milliseconds
    member = "0d9f4f6e-1c1e-4b8e-9a37-5d7c1b2a3e40"
    ddb.put_item(TableName="lending-library", Item={
        "pk": {"S": f"MEMBER#{member}"}, "sk": {"S": "LON#17"}, "member_id": {"S": member}})
    ddb.put_item(TableName="lending-library", Item={
        "pk": {"S": "BOOK#9780000000002"}, "sk": {"S": "DETAILS"}, "isbn": {"S": "9780000000002"},
        "author": {"S": "Ada Quill"}, "author_pk": {"S": "AUTHOR#Ada Quill"}, "pages": {"N": "120"}})
    ddb.put_item(TableName="lending-library", Item={
        "pk": {"S": f"MEMBER#{member}"}, "sk": {"S": "PROFILE"}, "member_id": {"S": member},
        "full_name": {"N": "42"}, "email": {"S": "ada@example.invalid"}, "card_active": {"BOOL": True}})
    loan = "5b0c2f8e-7d1a-4c3b-8e2f-9a6d4c1b0e71"
    ddb.put_item(TableName="lending-library", Item={
        "pk": {"S": f"MEMBER#{member}"}, "sk": {"S": f"LOAN#{loan}"}, "member_id": {"S": member},
        "loan_id": {"S": loan}, "isbn": {"S": "9780000000002"}, "status": {"S": "open"},
        "due_date": {"S": "2026-03-01T00:00:00+00:00"}, "renewals": {"N": "0"},
        "status_pk": {"S": "STATUS#open"}, "due_sk": {"S": "2026-03-01T00:00:00+00:00"},
        "expires_at": {"N": str(int(time.time() * 1000))}})
    result = cli("ddb", "validate", "lending-library", "--schema", MCP, "-o", "json", ok=False)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["items_checked"] == 6004
    problems = {(p["key"]["sk"], p["field"]): p for p in report["problems"]}
    assert len(report["problems"]) == 4, report["problems"]
    wrong_sk = problems[("LON#17", "sk")]
    assert wrong_sk["key"] == {"pk": f"MEMBER#{member}", "sk": "LON#17"}
    assert "does not follow Loan's template 'LOAN#{loan_id}'" in wrong_sk["problem"]
    missing = problems[("DETAILS", "title")]
    assert (missing["key"]["pk"], missing["entity"], missing["problem"]) == ("BOOK#9780000000002", "Book", "required attribute is missing")
    assert problems[("PROFILE", "full_name")]["problem"] == "expected a string, got a number"
    assert "milliseconds" in problems[(f"LOAN#{loan}", "expires_at")]["problem"]


def test_generate_is_deterministic_and_children_refer_to_parents_that_exist(cli, aws_env):
    def run(seed: str) -> list[dict]:
        out = cli("ddb", "generate", "lending-library", "--count", "300", "--seed", seed, "--dry-run",
                  "-o", "jsonl", "--schema", MCP).stdout
        return [json.loads(line) for line in out.splitlines()]

    first, again, other = run("3"), run("3"), run("4")
    assert first == again and first != other and len(first) == 300
    members = {i["member_id"] for i in first if i["sk"] == "PROFILE"}
    books = {i["isbn"] for i in first if i["sk"] == "DETAILS"}
    loans = [i for i in first if i["sk"].startswith("LOAN#")]
    assert loans and members and books
    assert all(loan["member_id"] in members for loan in loans)  # under a member made before it
    assert all(loan["isbn"] in books for loan in loans)  # a book that was made
    assert all(loan["status_pk"] == f"STATUS#{loan['status']}" for loan in loans)  # index keys from the templates


def test_the_apps_items_are_checked_by_its_shipped_entities(messages_table):
    ddb = messages_table
    ddb.put_item(TableName="cruddur-messages", Item={
        "pk": {"S": "MSG#4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"}, "sk": {"S": "2026-01-01T00:00:00.000000+00:00"},
        "message_uuid": {"S": "9a1b2c3d-0000-4000-8000-000000000001"}, "message": {"S": "hi"},
        "user_uuid": {"S": "9a1b2c3d-0000-4000-8000-000000000002"}, "user_display_name": {"S": "Ana"},
        "user_handle": {"S": "ana"},
        "message_group_uuid": {"S": "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"}})  # a message in the group index
    ddb.put_item(TableName="cruddur-messages", Item={"pk": {"S": "USR#x"}, "sk": {"S": "y"}})
    (spec,) = schema.read([SCHEMA]).tables
    report = validate.validate(ddb, spec).to_dict()
    assert report["by_entity"] == {"Message": 1}
    found = {(p["key"]["pk"], p["field"]): p["problem"] for p in report["problems"]}
    assert found[("MSG#4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611", "message_group_uuid")] == \
        "the item lands in index message-group-sk-index, which Message does not use"
    assert found[("USR#x", None)].startswith("no entity matches this item")


def test_ttl_values_that_never_expire_anything():
    now = 1_800_000_000
    assert validate.ttl_problem(now + 3600, now) is None
    assert "milliseconds" in validate.ttl_problem(now * 1000, now)
    assert "not a number" in validate.ttl_problem("2027-01-01", now)
    assert "five years ahead" in validate.ttl_problem(now + 6 * 365 * 86400, now)
    assert "never deletes" in validate.ttl_problem(now - 6 * 365 * 86400, now)
