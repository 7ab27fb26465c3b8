"""The launcher's gate: a DynamoDB Local started with a key answers only requests signed with it (issue 25)."""

import secrets

import boto3
import pytest
from botocore.exceptions import ClientError

from cruddur_ops.local import dynamodb_local

pytestmark = pytest.mark.integration


def _client(endpoint: str, key: str):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key="anything")


def test_a_keyed_engine_refuses_every_other_access_key(home):
    key = secrets.token_hex(16)
    engine = dynamodb_local.start(home, port=dynamodb_local.free_port(8760, home), in_memory=True, key=key)
    try:
        assert key.encode() not in b"".join(dynamodb_local.cmdline(engine.pid))  # never in argv
        owner = _client(engine.endpoint, key)
        owner.create_table(TableName="private", AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                           KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
        for other in ("testing", "local", key[:-1], key + "x"):
            with pytest.raises(ClientError) as refused:
                _client(engine.endpoint, other).list_tables()
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        assert owner.list_tables()["TableNames"] == ["private"]
    finally:
        dynamodb_local.stop_pid(engine.pid)


def test_local_up_keys_its_engine_and_env_and_cruddur_use_the_key(home, cli, aws_env):
    up = cli("local", "up", "--postgres", "off", "--port", dynamodb_local.free_port(8770, home))
    try:
        engine = dynamodb_local.running(home)
        assert engine is not None and engine.keyed
        key = dynamodb_local.access_key(home)
        assert key and (home / dynamodb_local.KEY_FILE).stat().st_mode & 0o777 == 0o600
        env = cli("local", "env").stdout
        assert f"export AWS_ACCESS_KEY_ID={key}" in env and key not in up.stderr
        with pytest.raises(ClientError) as refused:  # what another account (without the key) gets
            _client(engine.endpoint, "testing").list_tables()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", engine.endpoint)  # AWS_ACCESS_KEY_ID is still "testing"
        cli("ddb", "schema-load")  # cruddur signs with the data dir's key for its own engine
        assert "cruddur-messages" in _client(engine.endpoint, key).list_tables()["TableNames"]
        shown = cli("local", "status", "-o", "json").stdout
        assert '"cruddur-messages"' in shown  # status reads the tables with the key too
    finally:
        cli("local", "down")
