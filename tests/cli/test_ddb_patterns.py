"""`cruddur ddb pattern …`: list, run, --explain, the app's patterns A and B, and the cost column."""

import json
from pathlib import Path

import pytest

from tests.conftest import SCHEMA, SEED, no_result

BAD = Path(__file__).resolve().parent.parent / "bad_patterns"
GROUP = "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"  # mira <-> tobi, 6 messages from 2026-02-28T23:50 (START)
# The shipped seed places its conversations relative to now; these tests pin one with a fixed start (a seed-file
# feature), in the aware-UTC-with-microseconds form cruddur writes.
START = "start: 2026-02-28T23:50:00+00:00"
MIRA = "3f0b8f4e-2d6a-4c1e-9b57-8e21a4c6d901"


@pytest.fixture
def wide(monkeypatch):
    """A wide terminal for rich, so table cells are not wrapped mid-word."""
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def seeded(ddb_env, tmp_path_factory):
    """cruddur-messages with the project's seed; reused while it is intact (these tests only read)."""
    from cruddur_ops.ddb import schema, seed
    from cruddur_ops.seeds import seedfile
    from cruddur_ops.settings import Settings

    client = Settings.from_env().dynamodb()
    pinned = tmp_path_factory.mktemp("seed") / "conversations.yaml"
    pinned.write_text(SEED.read_text("utf-8").replace(f"    message_group_uuid: {GROUP}\n",
                                                      f"    message_group_uuid: {GROUP}\n    {START}\n"), "utf-8")
    parsed = seedfile.read(pinned)
    assert parsed.conversations[0].start is not None
    expected = parsed.message_count + 2 * len(parsed.conversations)
    try:
        intact = client.scan(TableName="cruddur-messages", Select="COUNT")["Count"] == expected and \
            _all_messages(client)[:1] == ["2026-02-28T23:50:00.000000+00:00"]
    except client.exceptions.ResourceNotFoundException:
        intact = False
    if not intact:
        for name in client.list_tables()["TableNames"]:
            client.delete_table(TableName=name)
        schema.load(client, schema.read([SCHEMA]).tables)
        seed.seed(client, parsed, parsed.users)
    return client


def _all_messages(client, group=GROUP):
    items = client.query(TableName="cruddur-messages", KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": f"MSG#{group}"}})["Items"]
    return [i["sk"]["S"] for i in items]


# --- pattern list ------------------------------------------------------------------------------------------
def test_pattern_list_json(cli, aws_env):
    doc = cli.json("ddb", "pattern", "list")
    assert doc["count"] == 4
    by_name = {p["name"]: p for p in doc["patterns"]}
    assert set(by_name) == {"get-conversation", "list-conversations", "conversation-rows", "messages-since"}
    rows = by_name["conversation-rows"]
    assert rows["table"] == "cruddur-messages" and rows["index"] == "message-group-sk-index"
    assert rows["key"] == {"message_group_uuid": "{message_group_uuid}"} and rows["parameters"] == ["message_group_uuid"]
    assert by_name["messages-since"]["sort"] == {"sk": {">=": "{since}"}}
    assert by_name["list-conversations"]["description"].startswith("A user's conversations")
    assert set(rows) == {"name", "table", "index", "key", "sort", "parameters", "newest_first", "reverse", "limit",
                         "description", "source", "entity"}
    assert rows["entity"] == "GroupRow"  # the entity it returns (schemas/cruddur-messages.yaml)


def test_pattern_list_table(cli, aws_env, wide):
    result = cli("ddb", "pattern", "list", "--schema", SCHEMA, "--output", "table")
    for text in ("Access patterns", "get-conversation", "message-group-sk-index", "pk = MSG#{message_group_uuid}",
                 "sk >= {since}"):
        assert text in result.stdout
    assert result.stderr == ""


def test_pattern_list_of_a_bad_file_is_an_error(cli, aws_env):
    result = cli("ddb", "pattern", "list", "--schema", BAD / "unknown_index.yaml", ok=False)
    assert result.exit_code == 3 and no_result(result.stdout)
    assert "unknown_index.yaml:12: AccessPatterns.by-group.index: pattern 'by-group'" in result.stderr


# --- pattern run -------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_run_with_params_returns_items_and_capacity(cli, seeded):
    doc = cli.json("ddb", "pattern", "run", "messages-since", "--param", f"message_group_uuid={GROUP}",
                   "-p", "since=2026-02-28T23:53")
    sks = [i["sk"] for i in doc["items"]]
    assert sks == sorted(s for s in _all_messages(seeded) if s >= "2026-02-28T23:53")
    assert doc["count"] == 3 and doc["pattern"] == "messages-since" and doc["index"] is None
    assert doc["parameters"] == {"message_group_uuid": GROUP, "since": "2026-02-28T23:53"}
    assert doc["consumed_capacity"]["total"] > 0 and doc["pages"] == 1


@pytest.mark.integration
def test_one_instant_in_three_spellings_gives_one_answer(cli, seeded):
    answers = []
    for since in ("2026-02-28T23:53:00+00:00", "2026-02-28T23:53:00Z", "2026-03-01T00:53:00+01:00"):
        doc = cli.json("ddb", "pattern", "run", "messages-since", "-p", f"message_group_uuid={GROUP}", "-p", f"since={since}")
        answers.append([i["sk"] for i in doc["items"]])
    assert answers[0] == answers[1] == answers[2] and len(answers[0]) == 3
    assert answers[0][0] == "2026-02-28T23:53:00.000000+00:00"


def test_explain_shows_the_normalized_timestamp(cli, aws_env):
    doc = cli.json("ddb", "pattern", "run", "messages-since", "-p", "message_group_uuid=g",
                   "-p", "since=2026-03-01T00:53:00+01:00", "--explain")
    assert doc["ExpressionAttributeValues"][":sk0"] == {"S": "2026-02-28T23:53:00.000000+00:00"}


@pytest.mark.integration
def test_run_gsi_pattern_returns_exactly_the_two_group_rows(cli, seeded):
    doc = cli.json("ddb", "pattern", "run", "conversation-rows", "-p", f"message_group_uuid={GROUP}")
    assert doc["count"] == 2 and doc["index"] == "message-group-sk-index"
    assert sorted(i["user_handle"] for i in doc["items"]) == ["mira", "tobi"]
    assert {i["message_group_uuid"] for i in doc["items"]} == {GROUP}
    assert list(doc["consumed_capacity"]["indexes"]) == ["message-group-sk-index"]


@pytest.mark.integration
def test_run_limit(cli, seeded):
    doc = cli.json("ddb", "pattern", "run", "messages-since", "-p", f"message_group_uuid={GROUP}", "-p", "since=2024",
                   "--limit", "2")
    assert [i["sk"] for i in doc["items"]] == sorted(_all_messages(seeded))[:2]


def test_missing_parameter_is_an_error_naming_it(cli, aws_env):
    result = cli("ddb", "pattern", "run", "messages-since", "-p", f"message_group_uuid={GROUP}", ok=False)
    assert result.exit_code == 3 and no_result(result.stdout)
    assert "pattern 'messages-since' needs parameter 'since' (pass --param since=…)" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["nope"], "no access pattern 'nope' (declared: conversation-rows, get-conversation, list-conversations, messages-since)"),
    (["conversation-rows", "-p", "group=1"], "pattern 'conversation-rows' has no parameter 'group' (it takes: message_group_uuid)"),
    (["conversation-rows", "-p", "message_group_uuid"], "--param takes name=value, got 'message_group_uuid'"),
])
def test_bad_run_arguments(cli, aws_env, args, message):
    result = cli("ddb", "pattern", "run", *args, ok=False)
    assert result.exit_code == (4 if args == ["nope"] else 3) and no_result(result.stdout)
    assert message in result.stderr


@pytest.mark.integration
def test_run_table_output_shows_items_and_cost(cli, seeded, wide):
    result = cli("ddb", "pattern", "run", "conversation-rows", "-p", f"message_group_uuid={GROUP}", "-o", "table")
    out = result.stdout
    assert "conversation-rows (2 items" in out and "Consumed capacity" in out
    assert "index message-group-sk-index" in out
    assert "cost per call" in out and "per million calls" in out
    assert "Cost at on-demand prices (read request units, us-east-1, as of" in out


# --- --explain ---------------------------------------------------------------------------------------------------
def test_explain_sends_nothing(cli, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # nothing listens there
    doc = cli.json("ddb", "pattern", "run", "messages-since", "-p", "message_group_uuid=g", "-p", "since=2024",
                   "--limit", "5", "--explain")
    assert doc == {
        "TableName": "cruddur-messages",
        "KeyConditionExpression": "#pk = :pk AND #sk >= :sk0",
        "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
        "ExpressionAttributeValues": {":pk": {"S": "MSG#g"}, ":sk0": {"S": "2024"}},
        "ScanIndexForward": True,
        "Limit": 5,
        "ReturnConsumedCapacity": "INDEXES",
    }


def test_explain_table_output(cli, aws_env, wide):
    result = cli("ddb", "pattern", "get-conversation", "--group", "g", "--explain", "-o", "table")
    assert "Query for pattern get-conversation (not sent)" in result.stdout
    assert "KeyConditionExpression" in result.stdout and '{":pk": {"S": "MSG#g"}}' in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize("args", [
    ["run", "conversation-rows", "-p", f"message_group_uuid={GROUP}"],
    ["run", "messages-since", "-p", f"message_group_uuid={GROUP}", "-p", "since=2026-02-28T23:52"],
    ["get-conversation", "--group", GROUP, "--limit", "3"],
    ["list-conversations", "--user-uuid", MIRA],
])
def test_explained_request_is_what_boto3_query_accepts(cli, seeded, args):
    request = cli.json("ddb", "pattern", *args, "--explain")
    response = seeded.query(**request)  # the document, as is, is a valid Query request
    sent = cli.json("ddb", "pattern", *args)
    got = [i["sk"]["S"] for i in response["Items"]]
    if args[0] == "get-conversation":
        got.reverse()  # pattern A shows the fetched page oldest first
    assert got == [i["sk"] for i in sent["items"]]
    assert response["ConsumedCapacity"]["CapacityUnits"] == sent["consumed_capacity"]["total"]


# --- the app's patterns A and B -------------------------------------------------------------------------------
@pytest.mark.integration
def test_get_conversation_shows_the_newest_messages_oldest_first(cli, seeded):
    doc = cli.json("ddb", "pattern", "get-conversation", "--group", GROUP, "--limit", "4")
    sks = [i["sk"] for i in doc["items"]]
    assert sks == sorted(_all_messages(seeded))[-4:]  # the newest four, in reading order
    assert doc["items"][-1]["message"] == "Will do. Coffee's on me if it doesn't."
    assert "\n  1. add the new column\n" in doc["items"][1]["message"]  # whole text in JSON, not cut


@pytest.mark.integration
def test_list_conversations_newest_first(cli, seeded):
    doc = cli.json("ddb", "pattern", "list-conversations", "--user-uuid", MIRA)
    sks = [i["sk"] for i in doc["items"]]
    assert sks == sorted(sks, reverse=True) and len(sks) >= 2
    assert all(i["pk"] == f"GRP#{MIRA}" for i in doc["items"])
    assert {i["user_handle"] for i in doc["items"]} >= {"tobi", "ines"}
    assert "mira" not in {i["user_handle"] for i in doc["items"]}  # each row describes the other user


# --- cost ---------------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_cost_at_the_documented_prices(cli, seeded):
    doc = cli.json("ddb", "pattern", "run", "conversation-rows", "-p", f"message_group_uuid={GROUP}")
    capacity = doc["consumed_capacity"]
    cost = capacity["cost"]
    assert cost["usd"] == pytest.approx(capacity["total"] * 0.125 / 1e6)
    assert cost["usd_per_million_calls"] == pytest.approx(capacity["total"] * 0.125)
    assert (cost["unit"], cost["region"]) == ("read request units", "us-east-1")


@pytest.mark.integration
def test_price_file_overrides_the_cost(cli, seeded, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"region": "eu-central-1", "as_of": "2025-06-01", "on_demand": {
        "read_request_unit_per_million": 0.305, "write_request_unit_per_million": 1.525}}))
    doc = cli.json("ddb", "pattern", "run", "conversation-rows", "-p", f"message_group_uuid={GROUP}", "--price-file", prices)
    cost, total = doc["consumed_capacity"]["cost"], doc["consumed_capacity"]["total"]
    assert cost["usd_per_million_calls"] == pytest.approx(total * 0.305)
    assert (cost["region"], cost["as_of"]) == ("eu-central-1", "2025-06-01")


@pytest.mark.integration
def test_bad_price_file_is_an_error_naming_it(cli, seeded, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text('{"region": "us-east-1"}')
    result = cli("ddb", "pattern", "run", "conversation-rows", "-p", f"message_group_uuid={GROUP}",
                 "--price-file", prices, "-o", "json", ok=False)
    assert result.exit_code == 3 and json.loads(result.stdout)["error"]["code"] == "input"
    assert f"{prices}: not a price file" in result.stderr


# --- schema-load validates the declarations first --------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("file, field, pattern", [
    ("unknown_index.yaml", "AccessPatterns.by-group.index", "by-group"),
    ("key_not_partition_key.yaml", "AccessPatterns.by-time.key", "by-time"),
    ("index_key_not_partition_key.yaml", "AccessPatterns.rows-of-group.key", "rows-of-group"),
    ("sort_without_sort_key.yaml", "AccessPatterns.recent.sort", "recent"),
    ("unknown_field.yaml", "AccessPatterns.latest.newest_frist", "latest"),
])
def test_schema_load_with_a_bad_pattern_creates_nothing(cli, ddb, file, field, pattern):
    result = cli("ddb", "schema-load", SCHEMA, BAD / file, ok=False)  # the good file comes first
    assert result.exit_code == 3 and no_result(result.stdout)
    assert f"{BAD / file}:" in result.stderr and field in result.stderr and f"pattern '{pattern}'" in result.stderr
    assert ddb.list_tables()["TableNames"] == []


# --- a query that matches nothing ---------------------------------------------------------------------------
def test_an_unknown_group_is_not_found(cli, seeded):
    from cruddur_ops.errors import NotFoundError

    unknown = "0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4"
    result = cli("ddb", "pattern", "get-conversation", "--group", unknown, "-o", "json", ok=False)
    assert result.exit_code == NotFoundError.exit_code and result.exit_code != 0
    assert json.loads(result.stdout)["error"]["code"] == "not_found"  # with -o json the error is the document
    assert f"no conversation '{unknown}' in cruddur-messages" in result.stderr


def test_an_unknown_user_uuid_is_not_found(cli, seeded):
    from cruddur_ops.errors import NotFoundError

    unknown = "7e6d5c4b-3a29-4f18-9e07-d6c5b4a39281"
    result = cli("ddb", "pattern", "list-conversations", "--user-uuid", unknown, "-o", "json", ok=False)
    assert result.exit_code == NotFoundError.exit_code
    assert json.loads(result.stdout)["error"]["code"] == "not_found"  # with -o json the error is the document
    assert f"no user '{unknown}': not among the users of" in result.stderr and f"GRP#{unknown}" in result.stderr


def test_a_known_conversation_and_user_are_found_as_before(cli, seeded):
    assert cli.json("ddb", "pattern", "get-conversation", "--group", GROUP)["count"] == 6
    assert cli.json("ddb", "pattern", "list-conversations", "--user-uuid", MIRA)["count"] >= 1


def test_an_empty_result_says_what_it_looked_for_and_exits_0(cli, seeded):
    result = cli("ddb", "pattern", "run", "messages-since", "-p", f"message_group_uuid={GROUP}",
                 "-p", "since=2999-01-01T00:00:00+00:00", "-o", "json")
    assert json.loads(result.stdout)["count"] == 0
    assert "no items: pattern messages-since matched nothing" in result.stderr
    # the timestamp as sent: normalized to the table's form (issue 15)
    assert f"'MSG#{GROUP}'" in result.stderr and "'2999-01-01T00:00:00.000000+00:00'" in result.stderr
    assert "in cruddur-messages" in result.stderr


def test_pattern_list_reads_each_file_on_its_own(cli, aws_env, tmp_path):
    needs = tmp_path / "needs_a_parameter.yaml"
    needs.write_text("Parameters:\n  Env: {Type: String}\nResources:\n  T:\n    Type: AWS::DynamoDB::Table\n"
                     "    Properties:\n      TableName: !Sub 'orders-${Env}'\n      BillingMode: PAY_PER_REQUEST\n"
                     "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n"
                     "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n")
    result = cli("ddb", "pattern", "list", "--schema", SCHEMA, "--schema", needs, "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["count"] == 4
    assert [s["file"] for s in doc["skipped_files"]] == [str(needs)]
    assert "parameter 'Env' has no Default and no value" in doc["skipped_files"][0]["reason"]
    assert f"skipped {needs}: " in result.stderr and "--parameter-overrides Env=VALUE" in result.stderr
