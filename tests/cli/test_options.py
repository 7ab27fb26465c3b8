"""The one confirmation for destructive actions (cli/options.py: confirm_destructive), at a real terminal (a pty):
locally a question (`--yes` skips it), on production the typed name; a "no" is one plain line with status 10.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CRUDDUR = Path(sys.executable).with_name("cruddur")


def at_a_terminal(argv: list[str], answer: str) -> subprocess.CompletedProcess:
    """Run cruddur with a pty as stdin, answering ``answer`` to its prompt."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([str(CRUDDUR), *argv], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ))
        os.write(master, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_answering_no_locally_is_declined_not_an_error(messages_table):
    result = at_a_terminal(["ddb", "drop", "cruddur-messages"], "n")
    assert result.returncode == 10, result.stderr
    assert "not done: drop table cruddur-messages (declined)" in result.stderr and "Error" not in result.stderr
    assert "cruddur-messages" in messages_table.list_tables()["TableNames"]


def test_on_production_the_typed_name_decides(messages_table):
    wrong = at_a_terminal(["--prod", "ddb", "drop", "cruddur-messages", "--yes"], "cruddur")
    assert wrong.returncode == 10, wrong.stderr
    assert "Type 'cruddur-messages'" in wrong.stderr and "did not match 'cruddur-messages'" in wrong.stderr
    assert "cruddur-messages" in messages_table.list_tables()["TableNames"]
    right = at_a_terminal(["--prod", "ddb", "drop", "cruddur-messages"], "cruddur-messages")
    assert right.returncode == 0, right.stderr
    assert "cruddur-messages" not in messages_table.list_tables()["TableNames"]


def test_the_helper_is_one_call_for_both_engines(aws_env):
    from cruddur_ops.cli.options import confirm_destructive
    from cruddur_ops.errors import ConfirmationError, ProdGuardError
    from cruddur_ops.settings import Settings

    confirm_destructive(False, "truncate cruddur-messages", "cruddur-messages", yes=True)  # local: --yes skips
    with pytest.raises(ConfirmationError):  # local, no terminal, no --yes
        confirm_destructive(False, "truncate cruddur-messages", "cruddur-messages", yes=False)
    with pytest.raises(ProdGuardError, match="--yes alone"):
        confirm_destructive(True, "migrate down", "cruddur", yes=True)
    aws = Settings.from_env({"AWS_REGION": "us-east-1"})  # no endpoint: AWS itself is production
    with pytest.raises(ProdGuardError, match="'cruddur-messages'"):
        confirm_destructive(aws, "delete items of cruddur-messages", "cruddur-messages", yes=True)
