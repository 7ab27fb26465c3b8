"""The error edge (cruddur_ops/cli/errors.py): one line per error, the kind's own exit status (README "Exit codes"),
the service, endpoint and resource that failed with a hint for that service, and with ``--output json`` one error
document on stdout. Real engines: DynamoDB Local, moto_server for Cognito and EC2.
"""

from __future__ import annotations

import json

import pytest

from cruddur_ops import errors
from tests.aws.fixtures import aws, make_security_group, moto_endpoint, moto_env  # noqa: F401  (fixtures)
from tests.conftest import SCHEMA

FILES_NOTES = ("seed file: ", "schema files: ", "migrations: ")  # which default files are used: a note, not the error


def one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(FILES_NOTES)]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_every_kind_has_its_own_code_and_status():
    kinds = [errors.CruddurError, errors.InputError, errors.NotFoundError, errors.ConflictError,
             errors.ProdGuardError, errors.ConfirmationError, errors.Declined, errors.EngineError,
             errors.ServiceError, errors.AuthError, errors.Interrupted]
    assert len({k.code for k in kinds}) == len(kinds)
    assert len({k.exit_code for k in kinds}) == len(kinds)
    assert errors.SchemaError.exit_code == errors.SeedError.exit_code == errors.InputError.exit_code == 3
    assert errors.TableDiffersError.code == "conflict"


def test_input_is_3(cli, aws_env, tmp_path):
    result = cli("ddb", "schema-load", tmp_path / "nope.yaml", ok=False)
    assert result.exit_code == 3 and "nope.yaml" in one_line(result)


def test_production_is_6_and_unconfirmed_is_7(cli, aws_env, ddb_env):
    refused = cli("ddb", "seed", "--endpoint-url", "http://dynamodb.example.invalid", ok=False)
    assert refused.exit_code == 6 and "pass --prod" in one_line(refused)
    unconfirmed = cli("ddb", "drop", "cruddur-messages", ok=False)  # no terminal, no --yes
    assert unconfirmed.exit_code == 7 and "no terminal to ask on; pass --yes" in one_line(unconfirmed)


@pytest.mark.integration
def test_ddb_drop_of_a_missing_table_is_4_and_names_it(cli, ddb):
    result = cli("ddb", "drop", "nope", "--yes", ok=False)
    assert result.exit_code == 4
    line = one_line(result)
    assert line.startswith("Error: DynamoDB table nope not found (DynamoDB DeleteTable on http://127.0.0.1:")
    assert "schema-load" not in line and "list-tables" in line


@pytest.mark.integration
def test_not_found_with_output_json_is_also_a_document_on_stdout(cli, ddb):
    result = cli("ddb", "describe", "nope", "--output", "json", ok=False)
    assert result.exit_code == 4
    doc = json.loads(result.stdout)
    assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message", "hint"}
    assert doc["error"]["code"] == "not_found" and "table nope not found" in doc["error"]["message"]
    assert doc["error"]["hint"] == "create it with `cruddur ddb schema-load`"
    assert one_line(result).startswith("Error: DynamoDB table nope not found")


def test_input_with_output_json(cli, aws_env, tmp_path):
    result = cli("ddb", "schema-load", tmp_path / "nope.yaml", "-o", "json", ok=False)
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["code"] == "input"
    without = cli("ddb", "schema-load", tmp_path / "nope.yaml", ok=False)
    assert json.loads(without.stdout)["error"]["code"] == "input"  # piped, no -o: JSON for errors as for results


@pytest.mark.integration
def test_conflict_is_5(cli, messages_table, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(SCHEMA.read_text().replace("message-group-sk-index", "another-index"))
    result = cli("ddb", "schema-load", other, "-o", "json", ok=False)
    assert result.exit_code == 5 and "differs from its schema" in one_line(result)
    # the command printed its result already: stdout stays that one document, with no error document after it
    assert json.loads(result.stdout)["tables"][0]["status"] == "differs"


def test_unreachable_is_8_with_the_hint_of_that_service(cli, aws_env):
    ddb = cli("--endpoint-url", "http://127.0.0.1:9", "ddb", "list-tables", ok=False)
    assert ddb.exit_code == 8 and one_line(ddb) == (
        "Error: cannot reach http://127.0.0.1:9/: EndpointConnectionError; is DynamoDB Local running? "
        "start it with `cruddur local up`")
    aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8")
    aws_env.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:9")
    cognito = cli("cognito", "list-users", "--pool-id", "us-east-1_Example", ok=False)
    assert cognito.exit_code == 8
    line = one_line(cognito)
    assert "http://127.0.0.1:9" in line and "DynamoDB" not in line and ":8" not in line


def test_no_credentials_is_11(cli, aws_env):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        aws_env.delenv(name)
    aws_env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws_env.setenv("AWS_CONFIG_FILE", "/nonexistent")
    aws_env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    result = cli("--endpoint-url", "http://dynamodb.example.invalid", "ddb", "list-tables", ok=False)
    assert result.exit_code == 11 and "no AWS credentials found" in one_line(result)


@pytest.mark.parametrize("region", ["${AWS_REGION:-us-east-1}", "us east 1", "us-east-1\\"])
def test_a_bad_region_is_one_line(cli, aws_env, region):
    aws_env.setenv("AWS_REGION", region)
    for argv in (["ddb", "list-tables"], ["--endpoint-url", "http://127.0.0.1:9", "ddb", "list-tables"],
                 ["cognito", "list-users", "--pool-id", "x"], ["rds", "status", "--instance-id", "x"]):
        result = cli(*argv, ok=False)
        assert result.exit_code == 3, (argv, result.stderr, result.exception)
        assert region in one_line(result) and "region" in one_line(result)


@pytest.mark.integration
def test_a_bad_parameter_is_one_line_input(cli, ddb):
    result = cli("ddb", "describe", "ab", ok=False)  # a table name has 3 characters at least
    assert result.exit_code == 3 and "DynamoDB table ab: ValidationException" in one_line(result)


def test_botocore_parameter_validation_is_input(aws_env):
    from cruddur_ops.cli.errors import line, translate
    from cruddur_ops.settings import Settings

    s = Settings.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "us-east-1"})
    try:
        s.dynamodb().get_item(TableName="cruddur-messages", Key="pk")  # refused by botocore before any request
    except Exception as exc:
        err = translate(exc, s)
    assert isinstance(err, errors.InputError) and "\n" not in line(err) and "parameter Key" in line(err)


def test_ec2_errors_name_ec2_and_its_endpoint_not_dynamodbs(cli, aws, aws_env, moto_endpoint):
    aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8999")
    result = cli("rds", "update-sg-rule", "--create", "--group-id", "sg-0000000000nope", "--ip", "203.0.113.7", ok=False)
    assert result.exit_code == 4
    line = one_line(result)
    assert "sg-0000000000nope" in line and "8999" not in line and "schema-load" not in line


def test_a_missing_cognito_pool_is_4_without_a_dynamodb_hint(cli, moto_env, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8999")
    result = cli("cognito", "list-users", "--pool-id", "us-east-1_nope0000", ok=False)
    assert result.exit_code == 4
    line = one_line(result)
    assert "us-east-1_nope0000" in line and "schema-load" not in line and "8999" not in line


def test_a_service_error_from_the_traceback_names_service_resource_and_endpoint(moto_env):
    """Errors the library lets through are mapped by class with the failing client's service and parameters."""
    from cruddur_ops.cli.errors import translate
    from cruddur_ops.settings import Settings

    s = Settings.from_env()
    try:
        s.client("cognito-idp").describe_user_pool(UserPoolId="us-east-1_absent000")
    except Exception as exc:
        err = translate(exc, s)
    assert isinstance(err, errors.NotFoundError)
    assert str(err).startswith(f"Cognito user pool us-east-1_absent000 not found (Cognito DescribeUserPool on {moto_env})")
    assert "AWS_COGNITO_USER_POOL_ID" in err.hint and "schema-load" not in err.hint
