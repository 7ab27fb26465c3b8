"""The production guards judge the target the request will really reach (issue 13):

- PostgreSQL: every host libpq will use — the URL or DSN with PGHOST, PGHOSTADDR, PGSERVICE / service files,
  ``service=``, ``host=`` / ``hostaddr=`` applied — is local, or the write is refused before connecting;
- AWS: the host urllib3 will send to (an ambiguous URL — backslash, user info, NFKC forms — is never local), and
  the endpoint the SDK takes from the AWS config file (a profile's ``endpoint_url``, its ``services`` section);
- on production every destructive action needs the typed name at a terminal: ``--yes`` alone is refused.

Hosts are ``.invalid`` names (RFC 6761, they never resolve) and a spy records every boto3 call and psycopg
connection, failing each, so nothing can leave.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cruddur_ops.cli.app import app
from tests.conftest import SCHEMA, SEED
from tests.test_prod_guards import GROUP, spy  # noqa: F401  (fixture)

PROD_HOST = "prod-db.example.invalid"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# --- PostgreSQL ---------------------------------------------------------------------------------------------------
def _service_file(tmp_path) -> str:
    path = tmp_path / "pg_service.conf"
    path.write_text(f"[cruddur-prod]\nhost={PROD_HOST}\ndbname=cruddur\n\n[cruddur-local]\nhost=127.0.0.1\n")
    return str(path)


PG_WAYS = {  # name: (CONNECTION_URL, extra environment, the host the refusal names)
    "PGHOST": ("postgresql:///cruddur", {"PGHOST": PROD_HOST}, f"{PROD_HOST} (from PGHOST)"),
    "PGHOST list": ("postgresql:///cruddur", {"PGHOST": f"127.0.0.1,{PROD_HOST}"}, f"{PROD_HOST} (from PGHOST)"),
    "PGHOSTADDR": ("postgresql:///cruddur", {"PGHOSTADDR": "192.0.2.10"}, "192.0.2.10 (from PGHOSTADDR)"),
    "PGHOSTADDR over a loopback host": ("postgresql://127.0.0.1/cruddur", {"PGHOSTADDR": "192.0.2.10"},
                                        "192.0.2.10 (from PGHOSTADDR)"),
    "PGSERVICE": ("postgresql:///cruddur", {"PGSERVICE": "cruddur-prod", "PGSERVICEFILE": "{services}"},
                  f"{PROD_HOST} (from service 'cruddur-prod'"),
    "service=": ("postgresql:///cruddur?service=cruddur-prod", {"PGSERVICEFILE": "{services}"},
                 f"{PROD_HOST} (from service 'cruddur-prod'"),
    "keyword service=": ("service=cruddur-prod dbname=cruddur", {"PGSERVICEFILE": "{services}"},
                         f"{PROD_HOST} (from service 'cruddur-prod'"),
    "unknown service": ("postgresql:///cruddur?service=nowhere", {"PGSERVICEFILE": "{services}"},
                        "the host of service 'nowhere'"),
    "host=": (f"postgresql:///cruddur?host={PROD_HOST}", {}, PROD_HOST),
    "hostaddr=": ("postgresql://127.0.0.1/cruddur?hostaddr=192.0.2.10", {}, "192.0.2.10"),
    "keyword host=": (f"host={PROD_HOST} dbname=cruddur", {}, PROD_HOST),
    "two hosts": (f"postgresql://127.0.0.1,{PROD_HOST}/cruddur", {}, PROD_HOST),
    "*.localhost": ("postgresql://db.localhost/cruddur", {}, "db.localhost"),
}
# One guard judges every write client (Settings.writable / Settings.client(write=...)); which commands ask for
# one is proved over the whole command tree by tests/test_command_tree_guard.py. So the ways a host can be named
# are checked here against samples, not against a hand-kept list of every writing command.
PG_COMMANDS = [
    (["db", "drop", "--yes"], "drop database cruddur"),
    (["cognito", "update-user-ids", "--pool-id", "us-east-1_Example"], "update users.cognito_user_id"),
]


@pytest.mark.parametrize("way", list(PG_WAYS))
@pytest.mark.parametrize("argv,action", PG_COMMANDS, ids=[" ".join(a[:2]) for a, _ in PG_COMMANDS])
def test_postgres_guard_judges_every_host_libpq_will_use(way, argv, action, aws_env, spy, tmp_path):
    url, extra, named = PG_WAYS[way]
    aws_env.setenv("CONNECTION_URL", url)
    for name, value in extra.items():
        aws_env.setenv(name, value.replace("{services}", _service_file(tmp_path)))
    aws_env.setenv("HOME", str(tmp_path))
    result = run(*argv)
    assert result.exit_code == 6, (result.stdout, result.stderr, result.exception)  # refused by the production guard
    line = one_error_line(result)
    assert line.startswith(f"Error: refusing to {action} on ") and named in line and "pass --prod" in line
    assert spy.pg == [] and spy.aws == []  # refused before connecting


def test_the_issues_example_is_refused_before_connecting(aws_env, spy):
    aws_env.setenv("CONNECTION_URL", "postgresql:///cruddur")
    aws_env.setenv("PGHOST", PROD_HOST)
    result = run("db", "drop", "--yes")
    assert result.exit_code == 6 and spy.pg == []
    assert one_error_line(result) == (
        f"Error: refusing to drop database cruddur on postgresql:///cruddur: {PROD_HOST} (from PGHOST) is not a "
        "local host; pass --prod to act on production")


@pytest.mark.parametrize("url,extra", [
    ("postgresql:///cruddur", {}),
    ("postgresql:///cruddur", {"PGHOST": "/var/run/postgresql"}),
    ("postgresql:///cruddur", {"PGHOST": "127.0.0.1,localhost,::1"}),
    ("postgresql:///cruddur?service=cruddur-local", {"PGSERVICEFILE": "{services}"}),
])
def test_loopback_and_sockets_stay_local(url, extra, aws_env, spy, tmp_path):
    aws_env.setenv("CONNECTION_URL", url)
    for name, value in extra.items():
        aws_env.setenv(name, value.replace("{services}", _service_file(tmp_path)))
    result = run("db", "create")
    assert spy.pg == ["connect"], result.stderr  # not refused: it went on to connect (and the spy failed it)
    assert result.exit_code == 8 and "refusing" not in result.stderr


def test_the_connection_goes_where_the_guard_looked(aws_env, monkeypatch):
    """libpq gets the judged host, hostaddr and port explicitly: its own environment cannot move it elsewhere."""
    from psycopg.conninfo import conninfo_to_dict

    from cruddur_ops.pg.database import Database
    from cruddur_ops.settings import Settings

    monkeypatch.setenv("CONNECTION_URL", "postgresql://postgres@127.0.0.1:5432/cruddur")
    db = Database.from_settings(Settings.from_env())
    params = conninfo_to_dict(db.conninfo())
    assert (params["host"], params["hostaddr"], params["port"]) == ("127.0.0.1", "", "5432")


# --- AWS: the host urllib3 will send to ----------------------------------------------------------------------------
AMBIGUOUS = [
    "http://PROD\\@127.0.0.1:8000",
    "http://prod.example.invalid\\@127.0.0.1:8000",
    "http://prod.example.invalid@127.0.0.1:8000",
    "http://prod.example.invalid\uff20127.0.0.1:8000",
    "http://db.localhost:8000",
]
AWS_WRITES = [  # samples (see PG_COMMANDS): one DynamoDB and one EC2 write
    ["ddb", "drop", "cruddur-messages", "--yes"],
    ["rds", "update-sg-rule", "--ip", "203.0.113.7", "--group-id", "sg-0abc", "--rule-id", "sgr-0def"],
]


@pytest.mark.parametrize("endpoint", AMBIGUOUS)
@pytest.mark.parametrize("argv", AWS_WRITES, ids=[" ".join(a[:3]) for a in AWS_WRITES])
def test_an_endpoint_urllib3_reads_otherwise_is_production(endpoint, argv, aws_env, spy):
    result = run("--endpoint-url", endpoint, *argv)
    assert result.exit_code == 6, (result.stdout, result.stderr, result.exception)
    line = one_error_line(result)
    assert line.startswith("Error: refusing to ") and ("ambiguous" in line or "not a local endpoint" in line)
    assert spy.aws == []


@pytest.mark.parametrize("endpoint", AMBIGUOUS[:4])
@pytest.mark.parametrize("argv", [["ddb", "drop", "cruddur-messages", "--yes", "--prod"], ["ddb", "list-tables"],
                                  ["ddb", "seed", str(SEED), "--users-from", "yaml", "--prod"]])
def test_an_ambiguous_endpoint_is_never_sent_even_with_prod(endpoint, argv, aws_env, spy):
    result = run("--endpoint-url", endpoint, *argv)
    assert result.exit_code in (3, 6), (result.stdout, result.stderr, result.exception)
    assert "ambiguous" in one_error_line(result) or "refusing the endpoint" in result.stderr
    assert spy.aws == []


# --- AWS: the endpoint the SDK takes from the config file -----------------------------------------------------------
def _aws_config(tmp_path, text: str) -> str:
    path = tmp_path / "aws-config"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("config,profile,service_argv", [
    ("[default]\nregion = us-east-1\nendpoint_url = http://ddb.example.invalid:8000\n", None,
     ["ddb", "drop", "cruddur-messages", "--yes"]),
    ("[profile team]\nregion = us-east-1\nservices = team-endpoints\n\n[services team-endpoints]\n"
     "dynamodb =\n  endpoint_url = http://ddb.example.invalid:8000\n", "team", ["ddb", "drop", "cruddur-messages", "--yes"]),
    ("[profile team]\nregion = us-east-1\nservices = team-endpoints\n\n[services team-endpoints]\n"
     "ec2 =\n  endpoint_url = http://ddb.example.invalid:8000\n", "team",
     ["rds", "update-sg-rule", "--ip", "203.0.113.7", "--rule-id", "sgr-0def"]),
])
def test_the_config_files_endpoint_is_the_one_judged_and_named(config, profile, service_argv, aws_env, spy, tmp_path):
    aws_env.setenv("AWS_CONFIG_FILE", _aws_config(tmp_path, config))
    if profile:
        aws_env.setenv("AWS_PROFILE", profile)
    result = run(*service_argv)
    assert result.exit_code == 6, (result.stdout, result.stderr, result.exception)
    line = one_error_line(result)
    assert "on http://ddb.example.invalid:8000: it is not a local endpoint" in line, line
    assert spy.aws == []


@pytest.mark.integration
def test_a_profile_pointing_at_a_local_engine_is_local(aws_env, ddb_local, tmp_path):
    """The profile's endpoint_url is DynamoDB Local: writes need no --prod and land there."""
    from cruddur_ops.settings import Settings

    aws_env.setenv("AWS_CONFIG_FILE", _aws_config(tmp_path, f"[profile dev]\nregion = us-east-1\n"
                                                            f"endpoint_url = {ddb_local}\naws_access_key_id = dev\n"
                                                            "aws_secret_access_key = dev\n"))
    aws_env.setenv("AWS_PROFILE", "dev")
    name = "cruddur-guards-profile"
    yaml_file = tmp_path / "t.yaml"
    yaml_file.write_text(SCHEMA.read_text().replace("cruddur-messages", name))
    result = run("ddb", "schema-load", str(yaml_file), "-o", "json")
    assert result.exit_code == 0, result.stderr
    client = Settings.from_env({"AWS_ENDPOINT_URL": ddb_local}).dynamodb()
    assert name in client.list_tables()["TableNames"]
    assert run("ddb", "drop", name, "--yes").exit_code == 0
    assert name not in client.list_tables()["TableNames"]


# --- one production policy: the typed name, not --yes ----------------------------------------------------------------
@pytest.mark.integration
def test_prod_ddb_drop_with_yes_alone_is_refused_and_the_table_stays(messages_table, cli):
    result = cli("--prod", "ddb", "drop", "cruddur-messages", "--yes", ok=False)
    assert result.exit_code == 6
    line = one_error_line(result)
    assert "--yes alone" in line and "type the name 'cruddur-messages' at a terminal" in line
    assert "cruddur-messages" in messages_table.list_tables()["TableNames"]
    assert cli("ddb", "drop", "cruddur-messages", "--yes").exit_code == 0  # locally --yes skips the question


@pytest.mark.integration
def test_prod_schema_load_recreate_with_yes_alone_is_refused(messages_table, cli, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(SCHEMA.read_text().replace("message-group-sk-index", "another-index"))
    result = cli("--prod", "ddb", "schema-load", other, "--recreate", "--yes", ok=False)
    assert result.exit_code == 6 and "--yes alone" in one_error_line(result)
    indexes = messages_table.describe_table(TableName="cruddur-messages")["Table"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == ["message-group-sk-index"]


@pytest.mark.parametrize("argv,resource", [
    (["db", "drop", "--yes"], "cruddur"),
    (["db", "kill-all", "--yes"], "cruddur"),
    (["db", "schema-load", "--reset", "--yes"], "cruddur"),
    (["ddb", "drop", "cruddur-messages", "--yes"], "cruddur-messages"),
    (["ddb", "schema-load", str(SCHEMA), "--recreate", "--yes"], "cruddur-messages"),
    (["rds", "stop", "--instance-id", "cruddur-db", "--yes"], "cruddur-db"),
])
def test_every_destructive_action_on_production_needs_the_typed_name(argv, resource, aws_env, spy):
    aws_env.setenv("PROD_CONNECTION_URL", f"postgresql://app@{PROD_HOST}:5432/cruddur")
    aws_env.setenv("AWS_ENDPOINT_URL", "http://aws.example.invalid")
    result = run("--prod", *argv)
    assert result.exit_code == 6, (result.stdout, result.stderr, result.exception)
    line = one_error_line(result)
    assert "--yes alone" in line and f"'{resource}'" in line
    assert spy.aws == [] and spy.pg == []  # before any request
