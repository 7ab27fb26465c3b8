"""cli/render.py's table mode: identifiers whole on one line, free text wrapped at words, the pager on a terminal."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import uuid

from rich.console import Console

from cruddur_ops.cli import render
from cruddur_ops.cli.ddb import CONVERSATION_COLUMNS, MESSAGE_COLUMNS
from cruddur_ops.cli.render import Column, Section
from tests.conftest import SCHEMA

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WORDS = ("The ferry to Suomenlinna left without us, so we bought cardamom buns and watched the ice floes drift past "
         "the harbour cranes until the next one came, forty minutes late and nobody minded at all")


def printed(sections: list[Section], width: int) -> str:
    out = io.StringIO()
    render.print_tables(sections, Console(file=out, width=width, soft_wrap=False, highlight=False, color_system=None))
    return out.getvalue()


def ids(n: int) -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"cruddur-render-{i}")) for i in range(n)]


def conversations() -> list[dict]:
    return [{"user_handle": f"handle{i}", "user_display_name": f"Person Number {i} Of The Longer Names",
             "message_group_uuid": group, "sk": f"2024-02-{10 + i}T23:50:00.000000+00:00", "message": WORDS}
            for i, group in enumerate(ids(4))]


def assert_whole_on_one_line(text: str, wanted: list[str]) -> None:
    lines = text.splitlines()
    for value in wanted:
        assert any(value in line for line in lines), f"{value} is not whole on one line of:\n{text}"


def assert_words_whole(text: str, words: str) -> None:
    seen = set(re.findall(r"[\w']+", text))
    assert set(re.findall(r"[\w']+", words)) <= seen, "a word of the free text was cut or dropped"


def test_ids_stay_whole_in_a_100_column_table_and_text_takes_the_rest():
    rows = conversations()
    text = printed([Section("Conversations of mira", CONVERSATION_COLUMNS, rows)], 100)
    assert_whole_on_one_line(text, [r["message_group_uuid"] for r in rows] + [r["sk"] for r in rows])
    assert "group / last message at" in text.splitlines()[1]  # a table (one header line), not records
    assert all(len(line.rstrip()) <= 100 for line in text.splitlines())
    assert_words_whole(text, WORDS)  # the message is wrapped, never cut at 60 or 80 characters
    assert "…" not in text


def test_a_message_table_wraps_text_at_word_boundaries_and_keeps_timestamps_whole():
    rows = [{"sk": f"2024-03-0{i}T08:15:00.000000+00:00", "user_handle": "ines", "message": WORDS} for i in range(1, 4)]
    text = printed([Section("Conversation", MESSAGE_COLUMNS, rows)], 100)
    assert_whole_on_one_line(text, [r["sk"] for r in rows])
    assert_words_whole(text, WORDS)
    message_lines = [line[line.index("ines") + 4:].strip() if "ines" in line else line.strip()
                     for line in text.splitlines()[3:] if line.strip()]
    assert max(len(line) for line in message_lines) > 45  # the text uses the width left, not a fixed 60


def test_subs_arns_and_table_names_never_wrap_in_a_narrow_table():
    subs = ids(3)
    rows = [{"username": f"user{i}", "sub": sub, "arn": f"arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages-{i}",
             "note": WORDS} for i, sub in enumerate(subs)]
    columns = [Column("username", "username"), Column("sub", "sub"), Column("arn", "arn"), Column("note", "note")]
    for width in (100, 70):
        text = printed([Section("Users", columns, rows)], width)
        assert_whole_on_one_line(text, subs + [r["arn"] for r in rows])
        assert_words_whole(text, WORDS)


def test_too_narrow_for_a_table_shows_records_with_ids_whole():
    rows = conversations()
    text = printed([Section("Conversations of mira", CONVERSATION_COLUMNS, rows)], 60)
    assert_whole_on_one_line(text, [r["message_group_uuid"] for r in rows] + [r["sk"] for r in rows])
    assert_words_whole(text, WORDS)
    assert sum(line.startswith("last message ") for line in text.splitlines()) == len(rows)  # a record per row


def test_pattern_list_names_and_keys_are_not_wrapped(cli, aws_env):
    aws_env.setenv("COLUMNS", "100")
    text = cli("ddb", "pattern", "list", "--schema", SCHEMA, "--output", "table").stdout
    lines = text.splitlines()
    for whole in ("get-conversation", "list-conversations", "conversation-rows", "messages-since",
                  "message-group-sk-index", "pk = MSG#{message_group_uuid}", "message_group_uuid = {message_group_uuid}"):
        assert any(whole in line for line in lines), f"{whole!r} wrapped in:\n{text}"
    assert all(len(line.rstrip()) <= 100 for line in lines)


def test_an_error_line_is_not_hard_wrapped(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    message = "security group rule 'sgr-0123456789abcdef0' does not exist (DB_SG_RULE_ID / --rule-id); add one"
    render.error(message)
    assert capsys.readouterr().err == f"Error: {message}\n"


def _on_a_terminal(args: list[str], env: dict, rows: int = 12, cols: int = 100) -> str:
    """Run ``cruddur`` with stdout on a pseudo-terminal of ``rows`` x ``cols``; returns what the terminal showed."""
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    cruddur = os.path.join(os.path.dirname(sys.executable), "cruddur")
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([cruddur, *args], stdin=follower, stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    proc.wait(timeout=30)
    os.close(leader)
    assert proc.returncode == 0, proc.stderr.read().decode()
    return shown.decode(errors="replace")


def test_long_table_output_goes_through_the_pager_only_on_a_terminal(cli, aws_env, tmp_path):
    paged = tmp_path / "paged.txt"
    env = {**os.environ, "PAGER": f"cat > {paged}", "TERM": "xterm"}
    shown = _on_a_terminal(["ddb", "pattern", "list", "--schema", str(SCHEMA), "-o", "table"], env)
    text = paged.read_text()
    assert "get-conversation" in text and "messages-since" in text  # the whole table went to $PAGER
    assert "get-conversation" not in shown

    paged.unlink()
    aws_env.setenv("PAGER", f"cat > {paged}")
    piped = cli("ddb", "pattern", "list", "--schema", SCHEMA, "-o", "table").stdout
    assert "get-conversation" in piped and not paged.exists()  # not a terminal: printed, no pager

    short = _on_a_terminal(["ddb", "pattern", "list", "--schema", str(SCHEMA), "-o", "table"], env, rows=200, cols=160)
    assert "get-conversation" in short and not paged.exists()  # fits on the screen: no pager


def test_an_arn_inside_free_text_stays_whole():
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/stream/2024-02-29T23:59:59.123"
    rows = [{"field": "stream", "value": f"NEW_IMAGE {arn}"}, {"field": "keys", "value": "pk HASH sk RANGE"}]
    for width in (140, 100, 60):
        text = printed([Section("cruddur-messages", [Column("", "field"), Column("", "value")], rows)], width)
        assert_whole_on_one_line(text, [arn])
