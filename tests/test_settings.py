import pytest

from cruddur_ops.errors import ProdGuardError
from cruddur_ops.settings import Settings, is_loopback_host


@pytest.mark.parametrize("host,local", [
    ("localhost", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
    ("dynamodb.us-east-1.amazonaws.com", False), ("10.0.0.5", False), ("192.168.1.2", False), ("", False),
    ("localhost.example.com", False),
])
def test_loopback_hosts(host, local):
    assert is_loopback_host(host) is local


def test_endpoint_precedence_follows_the_sdk():
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2"}
    assert Settings.from_env(env).endpoint_for("dynamodb") == "http://127.0.0.1:2"
    assert Settings.from_env(env).endpoint_for("cognito-idp") == "http://127.0.0.1:1"
    assert Settings.from_env(env, endpoint_url="http://127.0.0.1:3").endpoint_for("dynamodb") == "http://127.0.0.1:3"
    assert Settings.from_env({}).endpoint_for("dynamodb") is None


def test_region_and_profile_from_flags_then_env():
    env = {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_PROFILE": "dev"}
    s = Settings.from_env(env)
    assert (s.region, s.profile) == ("eu-west-1", "dev")
    assert Settings.from_env({**env, "AWS_REGION": "ca-central-1"}).region == "ca-central-1"
    assert Settings.from_env(env, region="us-west-2", profile="x").region == "us-west-2"


def test_writes_to_production_need_prod():
    aws = Settings.from_env({})
    with pytest.raises(ProdGuardError, match="pass --prod"):
        aws.guard_write("dynamodb", "seed")
    Settings.from_env({}, prod=True).guard_write("dynamodb", "seed")
    Settings.from_env({"AWS_ENDPOINT_URL": "http://localhost:8000"}).guard_write("dynamodb", "seed")
    with pytest.raises(ProdGuardError):
        Settings.from_env({"AWS_ENDPOINT_URL": "http://dynamodb.example.invalid"}).guard_write()


def test_connection_urls():
    env = {"CONNECTION_URL": "postgresql://a@127.0.0.1/cruddur", "PROD_CONNECTION_URL": "postgresql://b@db.invalid/cruddur"}
    assert Settings.from_env(env).connection_url.startswith("postgresql://a@")
    assert Settings.from_env(env, prod=True).connection_url.startswith("postgresql://b@")
    assert Settings.from_env({"DATABASE_URL": "postgresql://c@localhost/x"}).connection_url.startswith("postgresql://c@")


def test_local_clients_get_dummy_credentials_and_a_region():
    client = Settings.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}).dynamodb()
    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
