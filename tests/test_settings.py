import pytest

from cruddur_ops.errors import ProdGuardError
from cruddur_ops.settings import Settings, is_loopback_host


@pytest.mark.parametrize("host,local", [
    ("localhost", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
    ("dynamodb.aws.invalid", False), ("10.0.0.5", False), ("192.168.1.2", False), ("", False),
    ("localhost.prod.invalid", False),
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


def test_every_environment_key_has_a_typed_property():
    env = {"DB_INSTANCE_ID": "cruddur-db", "DB_SG_ID": "sg-1", "DB_SG_RULE_ID": "sgr-2", "GITPOD_IP": "198.51.100.1",
           "CODESPACES_IP": "198.51.100.2", "DDB_MESSAGE_TABLE": "messages-staging", "LOG_LEVEL": "debug",
           "AWS_COGNITO_USER_POOL_ID": "us-east-1_Ab", "AWS_ACCESS_KEY_ID": "AKIA"}
    s = Settings.from_env(env)
    assert (s.db_instance_id, s.db_sg_id, s.db_sg_rule_id) == ("cruddur-db", "sg-1", "sgr-2")
    assert s.client_ip == ("GITPOD_IP", "198.51.100.1")  # GITPOD_IP before CODESPACES_IP
    assert Settings.from_env({**env, "CRUDDUR_CLIENT_IP": "203.0.113.9"}).client_ip == ("CRUDDUR_CLIENT_IP", "203.0.113.9")
    assert (s.message_table, s.log_level, s.cognito_pool_id, s.has_access_key) == (
        "messages-staging", "DEBUG", "us-east-1_Ab", True)
    empty = Settings.from_env({})
    assert (empty.db_instance_id, empty.client_ip, empty.message_table, empty.log_level) == (None, None, None, "INFO")


def test_the_connection_url_names_its_source():
    assert Settings.from_env({"CONNECTION_URL": "postgresql://a@x.invalid/y", "DATABASE_URL": "postgresql://b@x.invalid/y"}).connection_url_source == "CONNECTION_URL"
    assert Settings.from_env({"DATABASE_URL": "postgresql://b@x.invalid/y"}).connection_url_source == "DATABASE_URL"
    assert Settings.from_env({}).connection_url_source == "default"
    assert Settings.from_env({}, prod=True).connection_url_source == "PROD_CONNECTION_URL"


def test_streams_follow_a_local_dynamodb_unless_they_have_an_endpoint_of_their_own():
    local = Settings.from_env({"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"})
    assert local.dynamodb_streams().meta.endpoint_url == "http://127.0.0.1:8000"
    own = Settings.from_env({"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
                             "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": "http://127.0.0.1:8001"})
    assert own.dynamodb_streams().meta.endpoint_url == "http://127.0.0.1:8001"
    # A remote DynamoDB endpoint is not borrowed for streams: the SDK's own streams endpoint is used.
    remote = Settings.from_env({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.aws.invalid"})
    sdk_default = Settings.from_env({"AWS_REGION": "eu-west-1"}).dynamodb_streams().meta.endpoint_url
    assert remote.dynamodb_streams().meta.endpoint_url == sdk_default != "https://dynamodb.aws.invalid"
