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
