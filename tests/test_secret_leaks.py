"""No password ever reaches the output: every connection-string form through every command that reads one.

Each form carries its own secret (for a password with a space, each of its words is a secret of its own); every
`db`, `doctor`, `local` and `cognito update-user-ids` command runs with it, plainly and with ``--debug -o json``,
and stdout, stderr and any traceback are searched for every secret. Nothing here reaches beyond loopback: AWS
calls go to a closed local port, PostgreSQL is the test server on 127.0.0.1:5432.
"""

from __future__ import annotations

from cruddur_ops.pg import database
from tests.pg.fixtures import url_for

SECRET = "Hunter2pw"  # the review's own example; each form below adds its own suffix


def _forms(db: str, tmp_path) -> list[tuple[str, str, list[str]]]:
    """(name, connection string, the secrets it holds)."""
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text(f"[cruddurleak]\nhost=127.0.0.1\nport=5432\nuser=postgres\ndbname={db}\n"
                            f"password={SECRET}Svc\n", encoding="utf-8")
    service_file.chmod(0o600)
    return [
        ("url", url_for(db, f"{SECRET}Url"), [f"{SECRET}Url"]),
        ("url, no server", f"postgresql://postgres:{SECRET}Down@127.0.0.1:1/cruddur", [f"{SECRET}Down"]),
        ("url, password in the query", f"postgresql://postgres@127.0.0.1:5432/{db}?password={SECRET}Qry",
         [f"{SECRET}Qry"]),
        ("url, raw '&' in the query's password", f"postgresql://postgres@127.0.0.1:5432/{db}?password={SECRET}Amp&Tail5",
         [f"{SECRET}Amp", "Tail5"]),
        ("url, percent-encoded", url_for(db, f"{SECRET}%40Pct%2Fx"), [f"{SECRET}%40Pct", f"{SECRET}@Pct"]),
        ("url, malformed percent-encoding", f"postgresql://u:{SECRET}%ZZ@127.0.0.1/{db}", [f"{SECRET}%ZZ", SECRET]),
        ("url, raw '@' in the password", f"postgresql://u:{SECRET}At@Tail9@127.0.0.1/{db}", [f"{SECRET}At", "Tail9"]),
        ("url, raw '/' in the password", f"postgresql://u:{SECRET}Sl/Tail8@127.0.0.1/{db}", [f"{SECRET}Sl", "Tail8"]),
        ("keyword dsn", f"host=127.0.0.1 port=5432 user=postgres password={SECRET}Kw dbname={db}", [f"{SECRET}Kw"]),
        ("keyword dsn, quoted with a space", f"host=127.0.0.1 user=postgres password='{SECRET}Q two7' dbname={db}",
         [f"{SECRET}Q", "two7"]),
        ("keyword dsn, unquoted with a space", f"host=127.0.0.1 password={SECRET}Sp words7 dbname={db}",
         [f"{SECRET}Sp", "words7"]),
        ("keyword dsn, a space before '='", f"host=127.0.0.1 password=first6 {SECRET}Eq=x", ["first6", f"{SECRET}Eq"]),
        ("keyword dsn, unterminated quote", f"host=127.0.0.1 password='{SECRET}Open dbname={db}", [f"{SECRET}Open"]),
        ("service", "service=cruddurleak", [f"{SECRET}Svc"]),
    ]


def _commands(seed_file) -> list[list[str]]:
    return [
        ["db", "status"],
        ["db", "sessions"],
        ["db", "kill-all", "--yes"],
        ["db", "create"],
        ["db", "schema-load"],
        ["db", "seed", str(seed_file)],
        ["db", "setup", "--seed", str(seed_file)],
        ["db", "drop"],
        ["db", "connect", "--", "-c", "select 1"],
        ["doctor"],
        ["local", "status"],
        ["local", "env"],
        ["local", "down"],
        ["cognito", "update-user-ids", "--pool-id", "us-east-1_leakcheck", "--dry-run"],
        ["cognito", "update-user-ids", "--pool-id", "us-east-1_leakcheck"],
    ]


# (global flags, output): a table, a JSON document, and a JSON document with tracebacks
VARIANTS = [([], ["-o", "table"]), ([], ["-o", "json"]), (["--debug"], ["-o", "json"])]


def test_no_connection_string_form_leaks_its_password_through_any_command(cli, aws_env, scratch_db, seed_file,
                                                                          tmp_path):
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # Cognito and DynamoDB: refused at once, locally
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    aws_env.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
    aws_env.setenv("PGCONNECT_TIMEOUT", "2")
    leaks = []
    runs = 0
    for name, conninfo, secrets in _forms(scratch_db, tmp_path):
        aws_env.setenv("CONNECTION_URL", conninfo)
        for command in _commands(seed_file):
            for variant, output in VARIANTS:
                if command[:2] == ["db", "connect"] and output[1] == "json" and not variant:
                    continue
                database._SECRETS.clear()  # each run starts as a fresh process would
                result = cli(*variant, *command, *(output if command[:2] != ["db", "connect"] else []),
                             input="n\n", ok=False)
                runs += 1
                text = result.stdout + result.stderr + (repr(result.exception) if result.exception else "")
                for secret in secrets:
                    if secret in text:
                        leaks.append(f"{name}: cruddur {' '.join(variant + command + output)} shows {secret!r}:\n"
                                     + "\n".join(line for line in text.splitlines() if secret in line)[:400])
    assert runs > 300
    assert not leaks, "\n\n".join(leaks)
