"""Fixtures of the local-engine tests: a private data dir that shares the installed DynamoDB Local."""

import pytest

from cruddur_ops.local import dynamodb_local
from tests.conftest import ENGINE_HOME


@pytest.fixture
def home(aws_env, tmp_path, ddb_local):
    """A private data dir that shares the machine's installed engine (no second download)."""
    home = tmp_path / "home"
    home.mkdir()
    installed = dynamodb_local.install_dir(ENGINE_HOME).parent
    (home / "dynamodb-local").symlink_to(installed, target_is_directory=True)
    aws_env.setenv("CRUDDUR_HOME", str(home))
    return home
