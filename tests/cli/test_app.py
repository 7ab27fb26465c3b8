import json
import subprocess
import sys

from cruddur_ops import __version__
from cruddur_ops.cli.app import app, hoist_global_flags
from tests.conftest import no_result


def test_global_flags_may_follow_the_command():
    assert hoist_global_flags(["ddb", "seed", "--prod", "x.yaml"]) == ["--prod", "ddb", "seed", "x.yaml"]
    assert hoist_global_flags(["ddb", "scan", "--endpoint-url", "http://h.invalid:1", "-o", "json"]) == [
        "--endpoint-url", "http://h.invalid:1", "ddb", "scan", "-o", "json"]
    assert hoist_global_flags(["ddb", "scan", "--region=eu-west-1"]) == ["--region=eu-west-1", "ddb", "scan"]
    assert hoist_global_flags(["x", "--", "--prod"]) == ["x", "--", "--prod"]


def test_help_lists_the_groups(cli):
    out = cli("--help").stdout
    for group in ("db", "ddb", "rds", "cognito", "local"):
        assert f"  {group} " in out


def test_version(cli):
    assert cli("--version").stdout.strip() == f"cruddur {__version__}"


def _walk(command, path=()):
    import typer.main

    click_cmd = typer.main.get_command(command) if isinstance(command, typer.Typer) else command
    yield path, click_cmd
    for name, sub in getattr(click_cmd, "commands", {}).items():
        yield from _walk(sub, path + (name,))


def test_every_command_has_help_with_an_example():
    missing = []
    for path, command in _walk(app):
        if not path:
            continue
        if getattr(command, "commands", None):  # a group: a help line is enough
            if not (command.help or "").strip():
                missing.append(" ".join(path) + " (no help)")
            continue
        if "Example:" not in (command.help or ""):
            missing.append(" ".join(path))
    assert not missing, f"commands without help or an example: {missing}"


def test_an_error_the_user_can_fix_is_one_line_on_stderr(cli, aws_env, tmp_path):
    result = cli("ddb", "schema-load", tmp_path / "nope.yaml", ok=False)
    assert result.exit_code == 3  # input
    assert no_result(result.stdout)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope.yaml" in lines[0] and "file not found" in lines[0]
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(cli, aws_env, tmp_path):
    result = cli("--debug", "ddb", "schema-load", tmp_path / "nope.yaml", ok=False)
    assert result.exit_code == 3
    assert "Traceback" in result.stderr


def test_writes_to_a_non_local_endpoint_are_refused_before_any_request(cli, aws_env):
    result = cli("ddb", "seed", "--endpoint-url", "http://dynamodb.example.invalid", ok=False)
    assert result.exit_code == 6  # refused by the production guard
    assert "pass --prod" in result.stderr and "dynamodb.example.invalid" in result.stderr


def test_cli_import_stays_light():
    code = "import sys, cruddur_ops.cli.app; print([m for m in ('boto3','botocore','psycopg','yaml','rich') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []


def test_the_root_help_lists_each_group_as_the_group_itself_would():
    """`cruddur --help` prints SHORT_HELP without importing the groups; each line is the loaded command's own."""
    from cruddur_ops.cli.app import LAZY, SHORT_HELP, load_command

    assert list(SHORT_HELP) == list(LAZY)
    width = max(len(name) for name in LAZY)
    for name in LAZY:
        assert SHORT_HELP[name] == load_command(name).get_short_help_str(80 - 6 - width), name


def test_the_root_help_imports_no_group(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from cruddur_ops.cli.app import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('cruddur_ops.cli.') and m not in "
            "('cruddur_ops.cli.app', 'cruddur_ops.cli.render', 'cruddur_ops.cli.errors')), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
