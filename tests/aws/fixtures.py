"""moto_server on a loopback port for the Cognito, EC2 and RDS tests (a plugin: ``pytest_plugins`` in tests/conftest.py).

The server is not reset between tests (EC2's backend takes a second to come back after a reset): every
test makes its own pool, group and instance under a fresh name instead.
"""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(scope="session")
def moto_endpoint():
    """One ThreadedMotoServer for the session (the module is a plugin, so there is one copy of the fixture)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_env(aws_env, moto_endpoint):
    """AWS_ENDPOINT_URL on the moto server; returns the endpoint."""
    aws_env.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def aws(moto_env):
    """Clients on the moto server, made by the tool's own factory: ``aws("ec2")``."""
    from cruddur_ops.settings import Settings

    settings = Settings.from_env()
    return settings.client


def make_pool(cognito, users: list[dict]) -> str:
    """A user pool holding ``users`` ({username, preferred_username?, email?, confirmed?, enabled?}); returns its id.

    Users are left as AdminCreateUser makes them (FORCE_CHANGE_PASSWORD) unless ``confirmed`` (a permanent
    password: CONFIRMED); ``enabled: False`` disables one."""
    pool = cognito.create_user_pool(PoolName=f"cruddur-test-{secrets.token_hex(4)}")["UserPool"]["Id"]
    for user in users:
        attrs = [{"Name": "email", "Value": user.get("email", f"{user['username']}@cruddur.test")}]
        if user.get("preferred_username"):
            attrs.append({"Name": "preferred_username", "Value": user["preferred_username"]})
        cognito.admin_create_user(UserPoolId=pool, Username=user["username"], UserAttributes=attrs,
                                  MessageAction="SUPPRESS")
        if user.get("confirmed"):
            cognito.admin_set_user_password(UserPoolId=pool, Username=user["username"], Password="Xy7!long-enough",
                                            Permanent=True)
        if user.get("enabled") is False:
            cognito.admin_disable_user(UserPoolId=pool, Username=user["username"])
    return pool


def sub_of(cognito, pool: str, username: str) -> str:
    attrs = cognito.admin_get_user(UserPoolId=pool, Username=username)["UserAttributes"]
    return next(a["Value"] for a in attrs if a["Name"] == "sub")


def make_security_group(ec2) -> str:
    return ec2.create_security_group(GroupName=f"cruddur-rds-{secrets.token_hex(4)}", Description="cruddur test")["GroupId"]


def make_instance(rds, instance_id: str | None = None) -> str:
    instance_id = instance_id or f"cruddur-db-{secrets.token_hex(4)}"
    rds.create_db_instance(
        DBInstanceIdentifier=instance_id, Engine="postgres", EngineVersion="15.4", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="root", MasterUserPassword="dontshowme1",
    )
    return instance_id
